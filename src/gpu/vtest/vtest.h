/*
 * gpu/vtest: front door 1, a vtest server that lets unmodified Mesa Venus
 * clients (VN_DEBUG=vtest) drive libpvgpu over a Unix stream socket.
 *
 * Owner:   the vtest front door (src/gpu/vtest/). Review changes with them.
 * Trust:   every byte read from a client socket is hostile. proto.c checks
 *          lengths, ids, offsets and counts before anything is used; a
 *          violation logs one line, destroys that client's Venus context and
 *          closes its connection. Other clients and the server go on.
 *          With render processes (opts.render_argv) each client is served
 *          in a process of its own, which loads the host driver, enters a
 *          sandbox (src/common/sandbox.h) and dies alone if the driver
 *          crashes; it is as hostile to the server as its client.
 * Threads: pv_vtest_server_run() owns the listening socket (one thread);
 *          each client is served by its own thread with blocking I/O (see
 *          server.c for why), here or as the main thread of its render
 *          process. Sync counters of a client are shared between its thread
 *          and the renderer threads that retire fences; sync.c guards them
 *          with one lock per client.
 *          pv_vtest_server_stop() may be called from any thread or a signal
 *          handler.
 * Spec:    docs/venus-protocol.md §1.
 */
#ifndef PV_VTEST_H
#define PV_VTEST_H

#include <stdbool.h>
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
    /*
     * NULL: every client is served on a thread of this process, on the
     * renderer given to pv_vtest_server_create. Else each client gets a
     * render process: this argv (NULL-terminated; argv[0] is the path to
     * exec, e.g. "/proc/self/exe") must run pv_vtest_render_process(). The
     * renderer then only sums their statistics (PV_RENDERER_STATS_ONLY is
     * enough), and the server makes its own process non-dumpable (unless
     * no_seccomp): render processes run as the same user.
     */
    char *const *render_argv;
    /* Render processes skip their sandbox (for debugging; also PEARVISOR_NO_SECCOMP=1). */
    bool no_seccomp;
};

/* The descriptors a render process starts with, besides 0, 1 and 2. */
#define PV_VTEST_RENDER_CLIENT_FD 3
#define PV_VTEST_RENDER_CHANNEL_FD 4

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

/*
 * Starts one render process that loads the host's Vulkan driver and enters
 * its sandbox, then ends: before a server with render_argv serves, so that
 * a host that cannot run one fails at once. 0, or -ECHILD (the process
 * logged why) or -errno.
 */
int pv_vtest_render_check(char *const *render_argv, bool no_seccomp);

/*
 * The body of a render process (what render_argv runs): set-up from the
 * server on PV_VTEST_RENDER_CHANNEL_FD, a renderer of its own, the sandbox,
 * then the client on PV_VTEST_RENDER_CLIENT_FD until it leaves. Returns the
 * process's exit status.
 */
int pv_vtest_render_process(void);

#endif /* PV_VTEST_H */
