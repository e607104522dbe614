/*
 * gpu/door-process/process: the render process of front door 2, the body
 * of `pearvisor gpu door-process` (see door-process.h for the wire). It
 * loads the renderer and the host driver, enters the syscall filter, then
 * serves the door's requests on PV_DP_REQ_FD until the door closes it, and
 * sends fence retirements, fatal contexts and its counters on
 * PV_DP_EVT_FD.
 */
#include "door-process.h"

#include "log.h"
#include "sandbox.h"
#include <pvgpu/pvgpu.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MOD "door-process"
#define REPORT_MS 100

struct loan {
    void *base;
    size_t size;
    struct loan *next;
};

struct dp_ctx {
    uint32_t id;
    struct pv_ctx *pv;
    struct loan *loans;
    uint8_t *sub; /* a submit arriving in parts */
    uint64_t sub_total, sub_have;
    struct dp_ctx *next;
};

/* The process's one state (a singleton: one door per process). */
static struct {
    struct pv_renderer *r;
    int req, evt;
    struct dp_ctx *ctxs;
    /* the reporter */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, urgent;
    size_t nvals;
    struct pv_dp_evt *msg; /* header, then nvals counters */
    uint64_t *sent;
    bool sent_once;
    uint8_t caps[PV_DP_CHUNK]; /* a capset reply */
} dp_singleton = {.req = PV_DP_REQ_FD, .evt = PV_DP_EVT_FD,
        .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void
send_evt(const struct pv_dp_evt *e, size_t len)
{
    /* One datagram: concurrent senders do not interleave. A door that is
     * gone ends us through the request socket, so a failure is dropped. */
    ssize_t n;
    do
        n = send(dp_singleton.evt, e, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
}

/* ---- counters ---- */

static uint64_t *
vals(void)
{
    return (uint64_t *)(dp_singleton.msg + 1);
}

/* Sends the counters when they changed (always when force). Lock held. */
static void
report_locked(bool force)
{
    pv_renderer_stats_save(dp_singleton.r, vals(), dp_singleton.nvals);
    if (!force && dp_singleton.sent_once && !memcmp(vals(), dp_singleton.sent, dp_singleton.nvals * sizeof(uint64_t)))
        return;
    *dp_singleton.msg = (struct pv_dp_evt){.magic = PV_DP_MAGIC, .op = PV_DP_EVT_STATS,
                                 .count = (uint32_t)dp_singleton.nvals};
    send_evt(dp_singleton.msg, sizeof(*dp_singleton.msg) + dp_singleton.nvals * sizeof(uint64_t));
    memcpy(dp_singleton.sent, vals(), dp_singleton.nvals * sizeof(uint64_t));
    dp_singleton.sent_once = true;
}

static void *
reporter_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dp_singleton.lock);
    while (!dp_singleton.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REPORT_MS * 1000000l;
        if (until.tv_nsec >= 1000000000l) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000l;
        }
        if (!dp_singleton.urgent)
            pthread_cond_timedwait(&dp_singleton.cond, &dp_singleton.lock, &until);
        dp_singleton.urgent = false;
        report_locked(false);
    }
    report_locked(true);
    pthread_mutex_unlock(&dp_singleton.lock);
    return NULL;
}

/* ---- renderer callbacks (renderer threads) ---- */

static void
on_fence(void *data, uint32_t ring_idx, uint64_t fence_id)
{
    const struct dp_ctx *c = data;
    const struct pv_dp_evt e = {.magic = PV_DP_MAGIC, .op = PV_DP_EVT_FENCE, .ctx_id = c->id,
                                .ring_idx = ring_idx, .fence_id = fence_id};
    send_evt(&e, sizeof(e));
}

static void
on_fatal(void *data)
{
    const struct dp_ctx *c = data;
    const struct pv_dp_evt e = {.magic = PV_DP_MAGIC, .op = PV_DP_EVT_FATAL, .ctx_id = c->id};
    send_evt(&e, sizeof(e));
    /* The counters (contexts_fatal) now, not at the next tick. */
    pthread_mutex_lock(&dp_singleton.lock);
    dp_singleton.urgent = true;
    pthread_cond_signal(&dp_singleton.cond);
    pthread_mutex_unlock(&dp_singleton.lock);
}

/* ---- contexts ---- */

static struct dp_ctx *
ctx_find(uint32_t id)
{
    for (struct dp_ctx *c = dp_singleton.ctxs; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static int
ctx_create(uint32_t id, const char *name, size_t nlen)
{
    if (!id || ctx_find(id))
        return -EEXIST;
    char cname[64];
    size_t n = nlen < sizeof(cname) - 1 ? nlen : sizeof(cname) - 1;
    memcpy(cname, name, n);
    cname[n] = '\0';
    struct dp_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->id = id;
    const struct pv_ctx_callbacks cbs = {.data = c, .fence_retired = on_fence, .fatal = on_fatal};
    int err = pv_ctx_create(dp_singleton.r, id, cname, &cbs, &c->pv);
    if (err) {
        free(c);
        return err;
    }
    c->next = dp_singleton.ctxs;
    dp_singleton.ctxs = c;
    return 0;
}

static void
ctx_free(struct dp_ctx *c)
{
    pv_ctx_destroy(c->pv); /* its threads stop: nothing uses the loans after this */
    for (struct loan *l = c->loans, *next; l; l = next) {
        next = l->next;
        munmap(l->base, l->size);
        free(l);
    }
    free(c->sub);
    free(c);
}

static int
ctx_destroy(uint32_t id)
{
    for (struct dp_ctx **pp = &dp_singleton.ctxs; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct dp_ctx *c = *pp;
            *pp = c->next;
            ctx_free(c);
            return 0;
        }
    }
    return -ENOENT;
}

/* A part of a submit: the parts come in order, each at the offset reached. */
static int
submit_part(struct dp_ctx *c, const struct pv_dp_req *q, const void *data, bool last)
{
    if (q->y == 0) {
        free(c->sub);
        c->sub = NULL;
        c->sub_total = c->sub_have = 0;
        if (q->x > PV_DP_MAX_SUBMIT || (q->x % 4))
            return -EINVAL;
        if (!last || q->len != q->x) {
            c->sub = malloc(q->x ? q->x : 1);
            if (!c->sub)
                return -ENOMEM;
            c->sub_total = q->x;
        }
    }
    if (last && q->y == 0 && q->len == q->x)
        return pv_ctx_submit(c->pv, data, q->len); /* the usual case: one part */
    if (!c->sub || q->x != c->sub_total || q->y != c->sub_have || q->len > q->x - q->y)
        return -EINVAL;
    memcpy(c->sub + c->sub_have, data, q->len);
    c->sub_have += q->len;
    if (!last)
        return 0;
    int err = c->sub_have == c->sub_total ? pv_ctx_submit(c->pv, c->sub, c->sub_total) : -EINVAL;
    free(c->sub);
    c->sub = NULL;
    c->sub_total = c->sub_have = 0;
    return err;
}

static int
import_blob(struct dp_ctx *c, uint32_t res_id, uint64_t size, int fd)
{
    if (fd < 0 || !size || size > SIZE_MAX)
        return -EINVAL;
    struct loan *l = malloc(sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->size = (size_t)size;
    l->base = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (l->base == MAP_FAILED) {
        int err = -errno;
        free(l);
        return err;
    }
    int err = pv_ctx_import_resource(c->pv, res_id, l->base, size);
    if (err) {
        munmap(l->base, l->size);
        free(l);
        return err;
    }
    l->next = c->loans;
    c->loans = l;
    return 0;
}

/* ---- the request loop ---- */

static int
reply(int32_t rc, uint32_t map_info, const void *data, uint32_t len, int fd)
{
    struct pv_dp_rep rep = {.magic = PV_DP_MAGIC, .rc = rc, .map_info = map_info, .len = len};
    struct iovec iov[2] = {{&rep, sizeof(rep)}, {(void *)data, len}};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
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
        n = sendmsg(dp_singleton.req, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* One request: its datagram in buf (n bytes), fd or -1 (ours to close). */
static int
serve_one(const uint8_t *buf, size_t n, int fd)
{
    struct pv_dp_req q;
    if (n < sizeof(q)) {
        pv_err(MOD, "a request of %zu bytes from the door: ending", n);
        return -EPROTO;
    }
    memcpy(&q, buf, sizeof(q));
    const uint8_t *data = buf + sizeof(q);
    if (q.magic != PV_DP_MAGIC || q.len != n - sizeof(q)) {
        pv_err(MOD, "a malformed request from the door (op %u): ending", q.op);
        return -EPROTO;
    }
    struct dp_ctx *c = q.op == PV_DP_HELLO || q.op == PV_DP_CAPSET || q.op == PV_DP_CTX_CREATE
                           ? NULL
                           : ctx_find(q.ctx_id);
    int err = 0;
    switch (q.op) {
    case PV_DP_HELLO:
        return reply(q.a == (uint32_t)getppid() ? 0 : -EPERM, 0, NULL, 0, -1);
    case PV_DP_CAPSET: {
        uint8_t *caps = dp_singleton.caps;
        size_t full = pv_renderer_get_capset(dp_singleton.r, q.a, q.b, caps, PV_DP_CHUNK);
        size_t len = full < PV_DP_CHUNK ? full : PV_DP_CHUNK;
        return reply((int32_t)full, 0, caps, (uint32_t)len, -1);
    }
    case PV_DP_CTX_CREATE:
        return reply(ctx_create(q.ctx_id, (const char *)data, q.len), 0, NULL, 0, -1);
    case PV_DP_CTX_DESTROY:
        return reply(ctx_destroy(q.ctx_id), 0, NULL, 0, -1);
    case PV_DP_SUBMIT_PART:
    case PV_DP_SUBMIT:
        err = c ? submit_part(c, &q, data, q.op == PV_DP_SUBMIT) : -EINVAL;
        return q.op == PV_DP_SUBMIT ? reply(err, 0, NULL, 0, -1) : 0;
    case PV_DP_BLOB: {
        int bfd = -1;
        uint32_t map_info = 0;
        err = c ? pv_ctx_create_blob(c->pv, q.a, q.x, q.y, q.b, &bfd, &map_info) : -EINVAL;
        int rerr = reply(err, map_info, NULL, 0, err ? -1 : bfd);
        if (bfd >= 0)
            close(bfd);
        return rerr;
    }
    case PV_DP_IMPORT:
        err = c ? import_blob(c, q.a, q.y, fd) : -EINVAL;
        return reply(err, 0, NULL, 0, -1);
    case PV_DP_DETACH:
        if (c)
            pv_ctx_destroy_resource(c->pv, q.a);
        return 0;
    case PV_DP_FENCE:
        if (!c || pv_ctx_create_fence(c->pv, q.a, q.x) != 0) {
            /* Never leave the guest waiting on a fence nobody tracks. */
            const struct pv_dp_evt e = {.magic = PV_DP_MAGIC, .op = PV_DP_EVT_FENCE,
                                        .ctx_id = q.ctx_id, .ring_idx = q.a, .fence_id = q.x};
            send_evt(&e, sizeof(e));
        }
        return 0;
    default:
        pv_err(MOD, "unknown request %u from the door: ending", q.op);
        return -EPROTO;
    }
}

static void
serve(void)
{
    const size_t cap = sizeof(struct pv_dp_req) + PV_DP_CHUNK;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return;
    for (;;) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 4)];
        } cm;
        struct iovec iov = {buf, cap};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                           .msg_controllen = sizeof(cm.buf)};
        ssize_t n = recvmsg(dp_singleton.req, &m, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the door closed: QEMU ended or reset the device */
        int fd = -1;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int got;
                memcpy(&got, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                if (fd < 0)
                    fd = got;
                else
                    close(got);
            }
        }
        int err = (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EPROTO
                                                           : serve_one(buf, (size_t)n, fd);
        if (fd >= 0)
            close(fd);
        if (err == -EPROTO || err == -EPIPE || err == -ECONNRESET)
            break;
    }
    free(buf);
}

int
pv_door_process_main(void)
{
    struct stat st_req, st_evt;
    if (fstat(PV_DP_REQ_FD, &st_req) || !S_ISSOCK(st_req.st_mode) || fstat(PV_DP_EVT_FD, &st_evt) ||
        !S_ISSOCK(st_evt.st_mode)) {
        pv_err(MOD, "no door on fds %d and %d (this command is started by PearVisor's "
               "libvirglrenderer.so.1 inside QEMU, not by hand)", PV_DP_REQ_FD, PV_DP_EVT_FD);
        return 2;
    }
    /* QEMU's end ends us; and of QEMU's descriptors we keep none but ours. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    syscall(SYS_close_range, PV_DP_EVT_FD + 1, ~0u, 0);
    signal(SIGPIPE, SIG_IGN);
    const struct pv_renderer_opts ropts = {.stats_socket = ""}; /* the door serves them */
    int err = pv_renderer_create(&ropts, &dp_singleton.r);
    if (err) {
        pv_err(MOD, "cannot start the Venus renderer: %s", strerror(-err));
        return 1;
    }
    const char *env = getenv("PEARVISOR_NO_SECCOMP");
    if (!(env && !strcmp(env, "1"))) {
        err = pv_sandbox_enter();
        if (err) {
            pv_err(MOD, "cannot enter the sandbox: %s (PEARVISOR_NO_SECCOMP=1 does without)",
                   strerror(-err));
            pv_renderer_destroy(dp_singleton.r);
            return 1;
        }
    }
    dp_singleton.nvals = pv_renderer_stats_save(dp_singleton.r, NULL, 0);
    if (dp_singleton.nvals > PV_DP_MAX_COUNTERS)
        dp_singleton.nvals = PV_DP_MAX_COUNTERS;
    dp_singleton.msg = calloc(1, sizeof(*dp_singleton.msg) + dp_singleton.nvals * sizeof(uint64_t));
    dp_singleton.sent = calloc(dp_singleton.nvals ? dp_singleton.nvals : 1, sizeof(uint64_t));
    pthread_t reporter;
    if (!dp_singleton.msg || !dp_singleton.sent || pthread_create(&reporter, NULL, reporter_main, NULL)) {
        pv_err(MOD, "out of memory or threads at start");
        pv_renderer_destroy(dp_singleton.r);
        return 1;
    }
    serve();
    while (dp_singleton.ctxs) {
        struct dp_ctx *c = dp_singleton.ctxs;
        dp_singleton.ctxs = c->next;
        ctx_free(c);
    }
    pthread_mutex_lock(&dp_singleton.lock);
    dp_singleton.stop = true;
    pthread_cond_signal(&dp_singleton.cond);
    pthread_mutex_unlock(&dp_singleton.lock);
    pthread_join(reporter, NULL);
    pv_renderer_destroy(dp_singleton.r);
    free(dp_singleton.msg);
    free(dp_singleton.sent);
    return 0;
}
