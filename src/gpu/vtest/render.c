/*
 * gpu/vtest/render: the render process, the body of `pearvisor gpu
 * render-process` (pv_vtest_render_process). One per vtest client: its own
 * renderer and host driver, then the syscall filter (src/common/sandbox.c),
 * then the client's session (session.c), with its counters reported to the
 * server over the channel of render.h.
 *
 * Why the filter goes in after the renderer: the filter is a deny list, so
 * nothing the host driver does later (threads, files, ioctl, JIT memory)
 * depends on the order; loading first keeps the driver's one-time set-up
 * (dlopen, its own probing of the system) out of the filter's way on hosts
 * we have not seen.
 *
 * Threads: the main thread serves the session; one reporter thread sends
 *          the counters every PV_RP_REPORT_MS while they change; the
 *          session's hooks report at once from whatever thread calls them.
 *          One lock guards the channel and what was last sent.
 */
#include "render.h"

#include "session.h"
#include "vtest.h"

#include "clock.h"
#include "log.h"
#include "sandbox.h"
#include <pvgpu/pvgpu.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MOD "vtest"

#ifdef PV_TEST_HOOKS
/* testhook.c, linked only into pearvisor-test-hooks. */
void pv_vtest_test_hook(const char *name, int client_fd);
#endif

struct reporter {
    struct pv_renderer *r;
    int fd;
    pthread_mutex_t lock; /* guards everything below, and sends */
    pthread_cond_t cond;
    bool stop;
    uint32_t flags; /* PV_RP_REPORT_* so far */
    uint32_t sent_flags;
    char name[PV_RP_NAME_SIZE];
    size_t count;
    struct pv_rp_report *msg; /* header, then count counters */
    uint64_t *sent;           /* the counters last sent */
    bool sent_once;
    pthread_t thread;
    bool started;
};

static uint64_t *
msg_vals(struct reporter *rp)
{
    return (uint64_t *)(rp->msg + 1);
}

/* Sends the counters if anything changed since the last report (always when `force`). Lock held. */
static void
send_locked(struct reporter *rp, bool force)
{
    uint64_t *vals = msg_vals(rp);
    pv_renderer_stats_save(rp->r, vals, rp->count);
    if (!force && rp->sent_once && rp->flags == rp->sent_flags &&
        !memcmp(vals, rp->sent, rp->count * sizeof(*vals)))
        return;
    rp->msg->magic = PV_RP_MAGIC;
    rp->msg->flags = rp->flags;
    rp->msg->count = (uint32_t)rp->count;
    memcpy(rp->msg->name, rp->name, sizeof(rp->name));
    size_t bytes = sizeof(*rp->msg) + rp->count * sizeof(*vals);
    for (;;) {
        ssize_t n = send(rp->fd, rp->msg, bytes, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        break; /* a server that went away: PDEATHSIG ends us */
    }
    memcpy(rp->sent, vals, rp->count * sizeof(*vals));
    rp->sent_flags = rp->flags;
    rp->sent_once = true;
}

static void
report(struct reporter *rp, uint32_t add_flags, const char *name)
{
    pthread_mutex_lock(&rp->lock);
    rp->flags |= add_flags;
    if (name)
        pv_log_sanitize(rp->name, sizeof(rp->name), name);
    send_locked(rp, true);
    pthread_mutex_unlock(&rp->lock);
}

static void *
reporter_main(void *arg)
{
    struct reporter *rp = arg;
    pthread_mutex_lock(&rp->lock);
    while (!rp->stop) {
        struct timespec until;
        pv_clock_deadline(&until, (uint64_t)PV_RP_REPORT_MS * 1000000u);
        pthread_cond_timedwait(&rp->cond, &rp->lock, &until);
        if (!rp->stop)
            send_locked(rp, false);
    }
    pthread_mutex_unlock(&rp->lock);
    return NULL;
}

static int
reporter_init(struct reporter *rp, struct pv_renderer *r, int fd)
{
    memset(rp, 0, sizeof(*rp));
    rp->r = r;
    rp->fd = fd;
    rp->count = pv_renderer_stats_save(r, NULL, 0);
    rp->msg = calloc(1, sizeof(*rp->msg) + rp->count * sizeof(uint64_t));
    rp->sent = calloc(rp->count, sizeof(uint64_t));
    if (!rp->msg || !rp->sent) {
        free(rp->msg);
        free(rp->sent);
        return -ENOMEM;
    }
    pthread_mutex_init(&rp->lock, NULL);
    pv_clock_cond_init(&rp->cond);
    return 0;
}

static int
reporter_start(struct reporter *rp)
{
    int err = -pthread_create(&rp->thread, NULL, reporter_main, rp);
    rp->started = !err;
    return err;
}

/* Stops the thread, sends the FINAL report, frees. */
static void
reporter_finish(struct reporter *rp)
{
    if (rp->started) {
        pthread_mutex_lock(&rp->lock);
        rp->stop = true;
        pthread_cond_broadcast(&rp->cond);
        pthread_mutex_unlock(&rp->lock);
        pthread_join(rp->thread, NULL);
    }
    report(rp, PV_RP_REPORT_FINAL, NULL);
    pthread_cond_destroy(&rp->cond);
    pthread_mutex_destroy(&rp->lock);
    free(rp->msg);
    free(rp->sent);
}

/* ---- the session's hooks --------------------------------------------- */

static void
on_named(void *data, const char *name)
{
    (void)data;
#ifdef PV_TEST_HOOKS
    pv_vtest_test_hook(name, PV_VTEST_RENDER_CLIENT_FD);
#else
    (void)name;
#endif
}

static void
on_ctx_created(void *data, const char *name)
{
    report(data, PV_RP_REPORT_CONTEXT, name);
}

/* From a ring thread, too: before the client sees its connection end. */
static void
on_ctx_fatal(void *data)
{
    report(data, PV_RP_REPORT_FATAL, NULL);
}

/* ---- the process ------------------------------------------------------- */

static bool
read_setup(int fd, struct pv_rp_setup *setup)
{
    for (;;) {
        ssize_t n = recv(fd, setup, sizeof(*setup), 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n == (ssize_t)sizeof(*setup) && setup->magic == PV_RP_MAGIC;
    }
}

int
pv_vtest_render_process(void)
{
    const int chan = PV_VTEST_RENDER_CHANNEL_FD, client = PV_VTEST_RENDER_CLIENT_FD;
    /* The server's end ends us: no render process outlives it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pv_rp_setup setup;
    if (!read_setup(chan, &setup)) {
        pv_err(MOD, "render process: no set-up from a vtest server on fd %d (this command is "
               "started by 'pearvisor gpu serve', not by hand)", chan);
        return 2;
    }
    if (getppid() != setup.server_pid)
        return 1; /* the server went before PDEATHSIG was set */
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an error return, not death */

    struct pv_renderer *r;
    const struct pv_renderer_opts ropts = {.stats_socket = ""}; /* the server serves them */
    int err = pv_renderer_create(&ropts, &r);
    if (err) {
        pv_err(MOD, "render process of client %u: cannot start the Venus renderer: %s",
               setup.client_id, strerror(-err));
        return 1;
    }
    const char *env = getenv("PEARVISOR_NO_SECCOMP");
    bool filter = !(setup.flags & PV_RP_SETUP_NO_SECCOMP) && !(env && !strcmp(env, "1"));
    if (filter) {
        err = pv_sandbox_enter();
        if (err) {
            pv_err(MOD, "render process of client %u: cannot enter the sandbox: %s (run the "
                   "server with --no-seccomp to do without)", setup.client_id, strerror(-err));
            pv_renderer_destroy(r);
            return 1;
        }
    }

    struct reporter rp;
    err = reporter_init(&rp, r, chan);
    if (err) {
        pv_renderer_destroy(r);
        return 1;
    }
    if (setup.flags & PV_RP_SETUP_CHECK) {
        reporter_finish(&rp);
        pv_renderer_destroy(r);
        return 0;
    }
    const struct pv_vtest_session_hooks hooks = {
        .data = &rp, .named = on_named, .ctx_created = on_ctx_created, .ctx_fatal = on_ctx_fatal};
    struct pv_vtest_session *s;
    err = reporter_start(&rp);
    if (!err)
        err = pv_vtest_session_create(r, client, setup.client_id, setup.ctx_id, &hooks, &s);
    if (err) {
        pv_err(MOD, "render process of client %u: %s", setup.client_id, strerror(-err));
    } else {
        pv_vtest_session_serve(s);
        pv_vtest_session_destroy(s);
    }
    reporter_finish(&rp);
    pv_renderer_destroy(r);
    close(client);
    close(chan);
    return err ? 1 : 0;
}
