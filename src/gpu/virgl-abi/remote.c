/*
 * gpu/virgl-abi/remote: the door's side of its render process
 * (src/gpu/door-process/door-process.h has the wire and the why). It
 * starts `pearvisor gpu door-process` with posix_spawn, sends it the
 * renderer calls the rest of the door makes (the va_be_* functions of
 * virgl-abi.h, which run the renderer in QEMU's own process instead when
 * PEARVISOR_DOOR_IN_PROCESS=1), reads its events on a thread of its own,
 * and, when it dies, says so in one line, retires every fence its contexts
 * had asked for and marks them lost: the guest's Venus driver sees a lost
 * device and QEMU goes on. The next context starts a new process.
 *
 * Threads: requests and loss handling run on QEMU's thread, like the rest
 *          of the door. The event thread only queues fences (va_fence_push),
 *          adds counters to the statistics-only renderer and, at the end of
 *          its socket, raises `gone` and kicks the door's eventfd.
 */
#include "virgl-abi.h"

#include "door-process.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define MOD "virgl-abi"
/* The longest a request may take (a device's creation or destruction, a
 * context-channel wait behind a long GPU job, all well under it); past it
 * the process is killed, so that QEMU's main loop never stays blocked. */
#define REPLY_TIMEOUT_MS 60000
/* How long a closing process gets to destroy its contexts and exit. */
#define EXIT_WAIT_MS 2000

extern char **environ;

/* ---- which mode, which program ---- */

bool
va_be_remote_wanted(void)
{
    const char *env = getenv("PEARVISOR_DOOR_IN_PROCESS");
    return !(env && !strcmp(env, "1"));
}

static bool
exe_ok(const char *path)
{
    return path[0] && access(path, X_OK) == 0;
}

/* The pearvisor binary: $PEARVISOR_RENDER_EXE, else beside this library in
 * the build tree or an install. */
static bool
find_exe(char *out, size_t size)
{
    const char *env = getenv("PEARVISOR_RENDER_EXE");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return exe_ok(out);
    }
    Dl_info info;
    char dir[PATH_MAX];
    if (!dladdr((void *)&va_be_remote_wanted, &info) || !info.dli_fname ||
        !realpath(info.dli_fname, dir))
        dir[0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    /* Build: BUILD/src/gpu/virgl-abi -> BUILD/src/cli. Installed:
     * PREFIX/LIBDIR/pearvisor -> PREFIX/bin (LIBDIR one or two deep). */
    const char *rel[] = {"../../cli/pearvisor", "../../bin/pearvisor", "../../../bin/pearvisor"};
    for (size_t i = 0; dir[0] && i < sizeof(rel) / sizeof(rel[0]); i++)
        if (snprintf(out, size, "%s/%s", dir, rel[i]) < (int)size && exe_ok(out))
            return true;
    snprintf(out, size, "%s", PV_BINDIR_ABS "/pearvisor");
    return exe_ok(out);
}

/* ---- the event thread ---- */

static void
stats_in(const struct pv_dp_evt *e, const void *body, size_t n)
{
    struct va_remote *rp = &va.rp;
    if (e->count != rp->nvals || n != rp->nvals * sizeof(uint64_t) || !rp->now)
        return; /* another build's counters, or none: only statistics would be wrong */
    memcpy(rp->now, body, n);
    pv_renderer_stats_add(va.r, rp->last, rp->now, rp->nvals);
    memcpy(rp->last, rp->now, n);
}

static void *
events_main(void *arg)
{
    struct va_remote *rp = arg;
    size_t cap = sizeof(struct pv_dp_evt) + PV_DP_MAX_COUNTERS * sizeof(uint64_t);
    uint8_t *buf = malloc(cap);
    while (buf) {
        ssize_t n = recv(rp->evt, buf, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)sizeof(struct pv_dp_evt))
            break; /* the end of the socket: the process has gone, or sent nonsense */
        struct pv_dp_evt e;
        memcpy(&e, buf, sizeof(e));
        if (e.magic != PV_DP_MAGIC)
            break;
        if (e.op == PV_DP_EVT_FENCE && e.ring_idx < PV_MAX_TIMELINES &&
            !va_fence_push_bounded(e.ctx_id, e.ring_idx, e.fence_id)) {
            pv_err(MOD, "render process %d sent %u fence retirements that QEMU has not taken "
                   "yet: it is no longer trusted", (int)rp->pid, VA_MAX_QUEUED_FENCES);
            break;
        }
        else if (e.op == PV_DP_EVT_STATS)
            stats_in(&e, buf + sizeof(e), (size_t)n - sizeof(e));
    }
    free(buf);
    __atomic_store_n(&rp->gone, true, __ATOMIC_RELEASE);
    va_kick();
    return NULL;
}

/* ---- start and stop ---- */

static int send_req(const struct pv_dp_req *q, const void *data, int fd);
static int recv_rep(struct pv_dp_rep *rep, void *out, size_t out_size, int *out_fd);

int
va_be_start(void)
{
    struct va_remote *rp = &va.rp;
    va_be_check();
    if (rp->pid > 0)
        return 0;
    char exe[PATH_MAX];
    if (!find_exe(exe, sizeof(exe))) {
        pv_err(MOD, "the render process program was not found (looked beside this library and "
               "at %s; set PEARVISOR_RENDER_EXE to the pearvisor binary)", exe);
        return -ENOENT;
    }
    int req[2], evt[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, req))
        return -errno;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, evt)) {
        int err = -errno;
        close(req[0]), close(req[1]);
        return err;
    }
    /* The child's ends above any number dup2 writes to, so that the
     * duplicates lose CLOEXEC and the originals do not linger. */
    int creq = fcntl(req[1], F_DUPFD_CLOEXEC, 10), cevt = fcntl(evt[1], F_DUPFD_CLOEXEC, 10);
    close(req[1]), close(evt[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, creq, PV_DP_REQ_FD);
    posix_spawn_file_actions_adddup2(&fa, cevt, PV_DP_EVT_FD);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&at, &all);
    char *argv[] = {exe, "gpu", "door-process", NULL};
    pid_t pid;
    int err = creq < 0 || cevt < 0 ? EMFILE : posix_spawn(&pid, exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (creq >= 0)
        close(creq);
    if (cevt >= 0)
        close(cevt);
    if (err) {
        close(req[0]), close(evt[0]);
        pv_err(MOD, "cannot start the render process %s: %s", exe, strerror(err));
        return -err;
    }
    rp->pid = pid;
    rp->req = req[0];
    rp->evt = evt[0];
    rp->gone = false;
    rp->nvals = pv_renderer_stats_save(va.r, NULL, 0);
    free(rp->last);
    free(rp->now);
    rp->last = calloc(rp->nvals, sizeof(uint64_t));
    rp->now = calloc(rp->nvals, sizeof(uint64_t));
    /* QEMU's signals stay with QEMU's threads (as its own helper threads do). */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_SETMASK, &block, &old);
    err = pthread_create(&rp->thread, NULL, events_main, rp);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        va_be_stop(false);
        return -EAGAIN;
    }
    rp->thread_started = true;
    uint64_t t0 = pv_clock_now_ns();
    /* Not request(): a process that never came up is no lost one. */
    const struct pv_dp_req q = {.magic = PV_DP_MAGIC, .op = PV_DP_HELLO,
                                .a = (uint32_t)getpid()};
    struct pv_dp_rep rep = {0};
    err = send_req(&q, NULL, -1);
    if (!err)
        err = recv_rep(&rep, NULL, 0, NULL);
    if (err || rep.rc) {
        pv_err(MOD, "the render process %s did not start (%s)", exe,
               strerror(err ? -err : -rep.rc));
        va_be_stop(false);
        return err ? err : rep.rc;
    }
    rp->gen++;
    pv_info(MOD, "render process %d ready in %.1f ms (host driver loaded, sandboxed): the VM's "
            "Venus contexts run there", (int)pid, (double)(pv_clock_now_ns() - t0) / 1e6);
    return 0;
}

/* Waits for the process until deadline_ms from now (0: not at all); true when reaped. */
static bool
reap(pid_t pid, int *status, int deadline_ms)
{
    uint64_t end = pv_clock_now_ns() + (uint64_t)deadline_ms * 1000000ull;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD))
            return true;
        if (pv_clock_now_ns() >= end)
            return false;
        usleep(2000);
    }
}

void
va_be_stop(bool lost)
{
    struct va_remote *rp = &va.rp;
    if (rp->pid <= 0)
        return;
    pid_t pid = rp->pid;
    int status = 0;
    bool died = lost && reap(pid, &status, 500); /* its sockets close just before it ends */
    /* Closing our end ends it: it destroys its contexts and exits. */
    shutdown(rp->req, SHUT_RDWR);
    close(rp->req);
    rp->req = -1;
    if (!died && !reap(pid, &status, lost ? 0 : EXIT_WAIT_MS)) {
        kill(pid, SIGKILL);
        reap(pid, &status, EXIT_WAIT_MS * 5);
    }
    if (rp->thread_started) {
        shutdown(rp->evt, SHUT_RDWR);
        pthread_join(rp->thread, NULL);
        rp->thread_started = false;
    }
    close(rp->evt);
    rp->evt = -1;
    rp->pid = 0;
    if (rp->last)
        pv_renderer_stats_gone(va.r, rp->last, rp->nvals, lost);
    if (!lost)
        return;
    unsigned n = 0;
    for (struct va_ctx *c = va.ctxs; c; c = c->next) {
        if (!c->remote || c->lost || c->gen != rp->gen)
            continue;
        c->lost = true;
        n++;
        /* The guest waits on these; their work will never complete. */
        for (uint32_t ring = 0; ring < PV_MAX_TIMELINES; ring++)
            if (c->fence_rings & (1ull << ring))
                va_fence_push(c->id, ring, c->last_fence[ring]);
    }
    char why[64];
    if (WIFSIGNALED(status))
        snprintf(why, sizeof(why), "killed by signal %d (SIG%s)", WTERMSIG(status),
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    else if (WIFEXITED(status))
        snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(why, sizeof(why), "stopped answering");
    pv_err(MOD, "render process %d %s: fatal (lost) for its %u Venus context(s); QEMU goes on, "
           "the guest sees a lost device, a new context starts a new process", (int)pid, why, n);
}

void
va_be_check(void)
{
    if (va.rp.pid > 0 && __atomic_load_n(&va.rp.gone, __ATOMIC_ACQUIRE))
        va_be_stop(true);
}

/* ---- requests ---- */

static int
send_req(const struct pv_dp_req *q, const void *data, int fd)
{
    struct iovec iov[2] = {{(void *)q, sizeof(*q)}, {(void *)data, q->len}};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = q->len ? 2 : 1};
    if (fd >= 0) {
        memset(&cm, 0, sizeof(cm));
        m.msg_control = cm.buf;
        m.msg_controllen = sizeof(cm.buf);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(va.rp.req, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* One reply: its header, payload (at most out_size bytes kept) and fd. */
static int
recv_rep(struct pv_dp_rep *rep, void *out, size_t out_size, int *out_fd)
{
    struct pollfd p = {.fd = va.rp.req, .events = POLLIN};
    int pr;
    do
        pr = poll(&p, 1, REPLY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    if (pr == 0) {
        pv_err(MOD, "render process %d gave no answer within %d s: killing it", (int)va.rp.pid,
               REPLY_TIMEOUT_MS / 1000);
        kill(va.rp.pid, SIGKILL);
        return -ETIMEDOUT;
    }
    uint8_t buf[sizeof(*rep) + PV_DP_CHUNK];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                       .msg_controllen = sizeof(cm.buf)};
    ssize_t n;
    do
        n = recvmsg(va.rp.req, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int fd = -1;
    for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int got;
            memcpy(&got, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
            if (fd < 0 && out_fd)
                fd = got;
            else
                close(got);
        }
    }
    if (n < (ssize_t)sizeof(*rep) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        if (fd >= 0)
            close(fd);
        return n < 0 ? -errno : -EPIPE;
    }
    memcpy(rep, buf, sizeof(*rep));
    if (rep->magic != PV_DP_MAGIC || rep->len != (size_t)n - sizeof(*rep)) {
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    }
    if (out)
        memcpy(out, buf + sizeof(*rep), rep->len < out_size ? rep->len : out_size);
    if (out_fd)
        *out_fd = fd;
    return 0;
}

/* A request with a reply. A broken channel means a dead (or killed) process: -EPIPE. */
static int
request(const struct pv_dp_req *q0, const void *data, int fd, struct pv_dp_rep *rep, void *out,
        size_t out_size, int *out_fd)
{
    if (va.rp.pid <= 0)
        return -EPIPE;
    struct pv_dp_req q = *q0;
    q.magic = PV_DP_MAGIC;
    int err = send_req(&q, data, fd);
    if (!err)
        err = recv_rep(rep, out, out_size, out_fd);
    if (err) {
        kill(va.rp.pid, SIGKILL); /* whatever it was doing, it is no longer ours */
        va_be_stop(true);
        return -EPIPE;
    }
    return 0;
}

/* A request without a reply. */
static void
tell(const struct pv_dp_req *q0, const void *data)
{
    if (va.rp.pid <= 0)
        return;
    struct pv_dp_req q = *q0;
    q.magic = PV_DP_MAGIC;
    if (send_req(&q, data, -1)) {
        kill(va.rp.pid, SIGKILL);
        va_be_stop(true);
    }
}

/* A remote context whose process is this generation's and alive. */
static bool
live(const struct va_ctx *ctx)
{
    return !ctx->lost && ctx->gen == va.rp.gen && va.rp.pid > 0;
}

/* ---- the renderer calls of the door ---- */

size_t
va_be_capset(uint32_t id, uint32_t version, void *buf, size_t size)
{
    if (!va.remote)
        return pv_renderer_get_capset(va.r, id, version, buf, size);
    if (va_be_start())
        return 0;
    const struct pv_dp_req q = {.op = PV_DP_CAPSET, .a = id, .b = version};
    struct pv_dp_rep rep;
    if (request(&q, NULL, -1, &rep, buf, size, NULL) || rep.rc < 0)
        return 0;
    return (size_t)rep.rc; /* the full size; what was copied is what fitted */
}

int
va_be_ctx_create(struct va_ctx *ctx, const char *name, const struct pv_ctx_callbacks *cbs)
{
    if (!va.remote)
        return pv_ctx_create(va.r, ctx->id, name, cbs, &ctx->pv);
    int err = va_be_start();
    if (err)
        return err;
    const struct pv_dp_req q = {.op = PV_DP_CTX_CREATE, .ctx_id = ctx->id,
                                .len = (uint32_t)strlen(name)};
    struct pv_dp_rep rep;
    err = request(&q, name, -1, &rep, NULL, 0, NULL);
    if (err)
        return -ENODEV;
    if (rep.rc)
        return rep.rc;
    ctx->remote = true;
    ctx->gen = va.rp.gen;
    return 0;
}

void
va_be_ctx_destroy(struct va_ctx *ctx)
{
    if (!ctx->remote) {
        pv_ctx_destroy(ctx->pv);
        return;
    }
    if (!live(ctx))
        return;
    const struct pv_dp_req q = {.op = PV_DP_CTX_DESTROY, .ctx_id = ctx->id};
    struct pv_dp_rep rep;
    request(&q, NULL, -1, &rep, NULL, 0, NULL);
}

int
va_be_submit(struct va_ctx *ctx, const void *cmds, size_t size)
{
    if (!ctx->remote)
        return pv_ctx_submit(ctx->pv, cmds, size);
    if (!live(ctx))
        return -EINVAL; /* as a fatal context answers */
    const uint8_t *p = cmds;
    size_t off = 0;
    do {
        size_t part = size - off < PV_DP_CHUNK ? size - off : PV_DP_CHUNK;
        bool last = off + part == size;
        const struct pv_dp_req q = {.op = last ? PV_DP_SUBMIT : PV_DP_SUBMIT_PART,
                                    .ctx_id = ctx->id, .len = (uint32_t)part, .x = size,
                                    .y = off};
        if (!last) {
            tell(&q, p + off);
            if (!live(ctx))
                return -EINVAL;
        } else {
            struct pv_dp_rep rep;
            if (request(&q, p + off, -1, &rep, NULL, 0, NULL))
                return -EINVAL;
            return rep.rc;
        }
        off += part;
    } while (off < size);
    return -EINVAL;
}

int
va_be_create_blob(struct va_ctx *ctx, uint32_t res_id, uint64_t blob_id, uint64_t size,
                  uint32_t flags, int *fd, uint32_t *map_info)
{
    if (!ctx->remote)
        return pv_ctx_create_blob(ctx->pv, res_id, blob_id, size, flags, fd, map_info);
    if (!live(ctx))
        return -ENODEV;
    const struct pv_dp_req q = {.op = PV_DP_BLOB, .ctx_id = ctx->id, .a = res_id, .b = flags,
                                .x = blob_id, .y = size};
    struct pv_dp_rep rep;
    int got = -1;
    if (request(&q, NULL, -1, &rep, NULL, 0, &got))
        return -ENODEV;
    if (rep.rc || got < 0) {
        if (got >= 0)
            close(got);
        return rep.rc ? rep.rc : -EPROTO;
    }
    *fd = got;
    *map_info = rep.map_info;
    return 0;
}

int
va_be_import_fd(struct va_ctx *ctx, uint32_t res_id, int fd, uint64_t size)
{
    if (!live(ctx))
        return -ENODEV;
    const struct pv_dp_req q = {.op = PV_DP_IMPORT, .ctx_id = ctx->id, .a = res_id, .y = size};
    struct pv_dp_rep rep;
    if (request(&q, NULL, fd, &rep, NULL, 0, NULL))
        return -ENODEV;
    return rep.rc;
}

void
va_be_destroy_resource(struct va_ctx *ctx, uint32_t res_id)
{
    if (!ctx->remote) {
        pv_ctx_destroy_resource(ctx->pv, res_id);
        return;
    }
    if (!live(ctx))
        return;
    const struct pv_dp_req q = {.op = PV_DP_DETACH, .ctx_id = ctx->id, .a = res_id};
    tell(&q, NULL);
}

int
va_be_create_fence(struct va_ctx *ctx, uint32_t ring_idx, uint64_t fence_id)
{
    if (!ctx->remote)
        return pv_ctx_create_fence(ctx->pv, ring_idx, fence_id);
    if (ring_idx >= PV_MAX_TIMELINES || !live(ctx))
        return -EINVAL;
    ctx->fence_rings |= 1ull << ring_idx;
    ctx->last_fence[ring_idx] = fence_id;
    const struct pv_dp_req q = {.op = PV_DP_FENCE, .ctx_id = ctx->id, .a = ring_idx,
                                .x = fence_id};
    tell(&q, NULL);
    return live(ctx) ? 0 : -EINVAL;
}
