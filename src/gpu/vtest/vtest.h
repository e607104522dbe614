/*
 * gpu/vtest: front door 1, a vtest server that lets unmodified Mesa Venus
 * clients (VN_DEBUG=vtest) drive libpvgpu over a Unix stream socket.
 *
 * Owner:   the vtest front door (src/gpu/vtest/). Review changes with them.
 * Trust:   every byte read from a client socket is hostile. proto.c checks
 *          lengths, ids, offsets and counts before anything is used; a
 *          violation logs one line, destroys that client's Venus context and
 *          closes its connection. Other clients and the server go on.
 * Threads: pv_vtest_server_run() owns the listening socket (one thread);
 *          each client is served by its own thread with blocking I/O (see
 *          server.c for why). Sync counters of a client are shared between
 *          its thread and the renderer threads that retire fences; sync.c
 *          guards them with one lock per client.
 *          pv_vtest_server_stop() may be called from any thread or a signal
 *          handler.
 * Spec:    docs/venus-protocol.md §1.
 */
#ifndef PV_VTEST_H
#define PV_VTEST_H

#include <stdint.h>

struct pv_renderer;
struct pv_vtest_server;

/* Where the socket goes when neither opts nor $VTEST_SOCKET_NAME says. */
#define PV_VTEST_DEFAULT_SOCKET "/tmp/.virgl_test"
#define PV_VTEST_DEFAULT_MAX_CLIENTS 64u

struct pv_vtest_opts {
    /* Socket path; NULL means $VTEST_SOCKET_NAME, else PV_VTEST_DEFAULT_SOCKET. */
    const char *socket_path;
    /* Clients served at once; 0 means PV_VTEST_DEFAULT_MAX_CLIENTS. */
    unsigned max_clients;
};

/*
 * Binds and listens on the socket. Refuses (-EADDRINUSE) a path where a
 * server answers, refuses (-EEXIST) a path that exists and is not a socket,
 * and replaces a stale socket. The renderer must outlive the server.
 * Returns 0 or -errno.
 */
int pv_vtest_server_create(const struct pv_vtest_opts *opts, struct pv_renderer *renderer,
                           struct pv_vtest_server **out);

/* The path the server listens on (valid until destroy). */
const char *pv_vtest_server_path(const struct pv_vtest_server *s);

/*
 * Accepts and serves clients until pv_vtest_server_stop(). Before returning
 * it stops accepting, disconnects every client and destroys their contexts.
 * Returns 0 after a stop request, -errno on a host failure.
 */
int pv_vtest_server_run(struct pv_vtest_server *s);

/* Asks run() to return. Async-signal-safe: one write(2) to an eventfd. */
void pv_vtest_server_stop(struct pv_vtest_server *s);

/* Unlinks the socket (if it is still ours) and frees the server. */
void pv_vtest_server_destroy(struct pv_vtest_server *s);

#endif /* PV_VTEST_H */
