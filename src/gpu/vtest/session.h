/*
 * gpu/vtest/session: the vtest protocol of one client (one connection): its
 * commands, resources, syncs and its one Venus context, on a renderer. The
 * same code serves a client on a thread of the server (--in-process) and in
 * a render process of its own (render.c).
 *
 * Trust:   every byte read from the client socket is hostile (proto.c
 *          checks the framing); a violation makes the context fatal (or,
 *          before one exists, logs one line) and ends the session.
 * Threads: pv_vtest_session_serve() runs on one thread; the hooks may be
 *          called from renderer threads (fatal) as well.
 * Spec:    docs/venus-protocol.md §1.
 */
#ifndef PV_VTEST_SESSION_H
#define PV_VTEST_SESSION_H

#include <stdint.h>

struct pv_renderer;
struct pv_vtest_session;

/* What the owner of a session hears about it (every member may be NULL). */
struct pv_vtest_session_hooks {
    void *data;
    /* CREATE_RENDERER: the client's name, as sent (log it only sanitized). */
    void (*named)(void *data, const char *name);
    /* The Venus context exists now; `name` as in named(), or "" */
    void (*ctx_created)(void *data, const char *name);
    /* The renderer made the context fatal (any thread; before the socket is shut down). */
    void (*ctx_fatal)(void *data);
};

/*
 * A session for the client on socket `fd` (not taken over: the caller
 * closes it after pv_vtest_session_destroy). `client_id` names it in log
 * lines, `ctx_id` is the id its Venus context will have. 0 or -errno.
 */
int pv_vtest_session_create(struct pv_renderer *r, int fd, uint32_t client_id, uint32_t ctx_id,
                            const struct pv_vtest_session_hooks *hooks,
                            struct pv_vtest_session **out);

/* Reads and runs messages until EOF, a violation or a dead socket. */
void pv_vtest_session_serve(struct pv_vtest_session *s);

/* Destroys the context (no renderer callback runs after it), shuts the socket down, frees. */
void pv_vtest_session_destroy(struct pv_vtest_session *s);

#endif /* PV_VTEST_SESSION_H */
