/*
 * gpu/vtest/server: the listening socket, one thread per client, and the
 * translation of each vtest command onto renderer.h.
 *
 * Why a thread per client and not one epoll loop: pv_ctx_submit() runs the
 * Venus context channel synchronously, and some of what arrives there
 * blocks by design (vkWaitRingSeqnoMESA waits for a ring to reach a seqno;
 * a large vkCreateDevice takes milliseconds). In one event loop every such
 * wait would stall every other client. A thread per client keeps each
 * client's blocking to itself, keeps the protocol code a straight sequence
 * of blocking reads and writes (as the client is), and costs little at the
 * client counts vtest sees (a handful of processes; capped by max_clients).
 */
#include "vtest.h"

#include "proto.h"
#include "sync.h"

#include "io.h"
#include "log.h"
#include <pvgpu/pvgpu.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MOD "vtest"

/* Blob resources one client may hold (ids stay small: the client indexes a
 * sparse array by them). */
#define MAX_RESOURCES (1u << 18)
/* Payload buffers above this size are released after use. */
#define KEEP_BUF_BYTES (1u << 20)

struct client {
    struct client *next;
    struct pv_vtest_server *srv;
    int fd;
    uint32_t id; /* for log lines only */
    pthread_t thread;
    bool done; /* set (atomically) when the thread has finished */

    bool named; /* CREATE_RENDERER received */
    char *name;
    uint32_t version; /* negotiated protocol version, 0 until asked */
    uint32_t capset_id;
    struct pv_ctx *ctx;
    struct pv_vtest_syncs *syncs;
    uint64_t last_fence;

    void *buf;
    size_t buf_cap;

    /* Resource ids: live[id] for 1 <= id < res_cap; freed ids reused LIFO. */
    uint8_t *res_live;
    uint32_t *res_free;
    uint32_t res_cap;
    uint32_t res_free_count;
    uint32_t res_next;
    uint32_t res_count;
};

struct pv_vtest_server {
    struct pv_renderer *renderer;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd;
    int stop_fd; /* eventfd: stop requested */
    int reap_fd; /* eventfd: a client thread finished */
    bool bound;
    dev_t sock_dev;
    ino_t sock_ino;
    unsigned max_clients;

    pthread_mutex_t lock; /* guards clients, nclients */
    struct client *clients;
    unsigned nclients;
    uint32_t next_client_id;
    uint32_t next_ctx_id;
};

/* ---- socket I/O ------------------------------------------------------- */

/* One dummy byte carrying `passfd` in SCM_RIGHTS, as the client expects. */
static int
send_fd(int fd, int passfd)
{
    char dummy = 0;
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    memset(&ctrl, 0, sizeof(ctrl));
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctrl.buf,
        .msg_controllen = sizeof(ctrl.buf),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &passfd, sizeof(int));
    for (;;) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        return n == 1 ? 0 : -EIO;
    }
}

/* Header {len, id} followed by `dwords` payload dwords. */
static int
reply(struct client *c, uint32_t id, const uint32_t *payload, uint32_t dwords)
{
    uint32_t hdr[PV_VTEST_HDR_DWORDS] = {[PV_VTEST_HDR_LEN] = dwords, [PV_VTEST_HDR_ID] = id};
    int err = pv_io_send_all(c->fd, hdr, sizeof(hdr));
    if (!err && dwords)
        err = pv_io_send_all(c->fd, payload, (size_t)dwords * 4);
    if (err)
        pv_dbg(MOD, "client %u: reply to %s failed: %s", c->id, pv_vtest_cmd_name(id),
               strerror(-err));
    return err;
}

/*
 * One protocol violation; the caller then drops the client. With a context,
 * the renderer makes it fatal for the reason "transport" (its one log line
 * and counter, as for any fatal context); before one exists, only this
 * front door can say it.
 */
__attribute__((format(printf, 2, 3))) static int
violation(struct client *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Once the renderer disabled the context it shut the socket down too: a
     * message cut short by that is not a second error. One line per client. */
    if (c->ctx && pv_ctx_is_fatal(c->ctx))
        pv_dbg(MOD, "client %u: %s (after its context was disabled)", c->id, msg);
    else if (c->ctx)
        pv_ctx_transport_fatal(c->ctx, msg);
    else
        pv_warn(MOD, "client %u: fatal protocol error before it had a context: %s; the client "
                "is dropped", c->id, msg);
    return -EPROTO;
}

/* ---- per-client state ------------------------------------------------- */

/*
 * The renderer made the context fatal (possibly on a ring thread, while this
 * client's thread waits in read()): end the connection now, so a client
 * that stays silent is dropped too. The fd stays open until the client's
 * thread has destroyed the context, so it is still ours here.
 */
static void
context_fatal(void *data)
{
    struct client *c = data;
    shutdown(c->fd, SHUT_RDWR);
}

/*
 * For the renderer's waits: a client that hung up (or was shut down by the
 * server's stop) is gone even while its thread is inside the renderer and
 * cannot read the socket. Its fd stays open until the client is reaped.
 */
static bool
client_alive(void *data)
{
    struct client *c = data;
    struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return true;
    return !(p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void
fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
    struct client *c = data;
    pv_vtest_syncs_retire(c->syncs, ring_idx, fence_id);
}

/*
 * The Venus context, created at CONTEXT_INIT or, as virglrenderer does, by
 * the first command that needs one.
 */
static int
ensure_ctx(struct client *c)
{
    if (c->ctx)
        return 0;
    if (c->version < PV_VTEST_PROTOCOL_VERSION)
        return violation(c, "context needed before protocol version 3 was agreed");
    if (!c->capset_id)
        c->capset_id = PV_CAPSET_VENUS;

    struct pv_vtest_server *s = c->srv;
    pthread_mutex_lock(&s->lock);
    uint32_t ctx_id = ++s->next_ctx_id;
    pthread_mutex_unlock(&s->lock);

    const struct pv_ctx_callbacks cbs = {
        .data = c, .fence_retired = fence_retired, .fatal = context_fatal, .alive = client_alive};
    int err = pv_ctx_create(s->renderer, ctx_id, c->name ? c->name : "", &cbs, &c->ctx);
    if (err) {
        c->ctx = NULL;
        pv_warn(MOD, "client %u: creating its Venus context failed: %s; dropping the client",
                c->id, strerror(-err));
        return err;
    }
    pv_dbg(MOD, "client %u: Venus context %u created", c->id, ctx_id);
    return 0;
}

static int
res_alloc(struct client *c, uint32_t *out)
{
    if (c->res_count >= MAX_RESOURCES)
        return -ENOSPC;
    uint32_t id = c->res_free_count ? c->res_free[c->res_free_count - 1] : c->res_next;
    if (id >= c->res_cap) {
        uint32_t cap = c->res_cap ? c->res_cap * 2 : 256;
        uint8_t *live = realloc(c->res_live, cap);
        if (!live)
            return -ENOMEM;
        memset(live + c->res_cap, 0, cap - c->res_cap);
        c->res_live = live;
        uint32_t *free_ids = realloc(c->res_free, cap * sizeof(*free_ids));
        if (!free_ids)
            return -ENOMEM;
        c->res_free = free_ids;
        c->res_cap = cap;
    }
    if (c->res_free_count)
        c->res_free_count--;
    else
        c->res_next++;
    c->res_live[id] = 1;
    c->res_count++;
    *out = id;
    return 0;
}

static bool
res_release(struct client *c, uint32_t id)
{
    if (id == 0 || id >= c->res_cap || !c->res_live[id])
        return false;
    c->res_live[id] = 0;
    c->res_free[c->res_free_count++] = id;
    c->res_count--;
    return true;
}

/* ---- commands ------------------------------------------------------------ */

static int
cmd_protocol_version(struct client *c, const uint32_t *p)
{
    uint32_t v = p[0] < PV_VTEST_PROTOCOL_VERSION ? p[0] : PV_VTEST_PROTOCOL_VERSION;
    /* Version 1 was withdrawn; virglrenderer answers such clients with 0. */
    if (v == 1)
        v = 0;
    c->version = v;
    return reply(c, PV_VTEST_PROTOCOL_VERSION_CMD, &v, 1);
}

static int
cmd_get_param(struct client *c, const uint32_t *p)
{
    uint32_t r[2] = {0, 0}; /* {valid, value}: unknown params are "not valid" */
    if (p[0] == PV_VTEST_PARAM_MAX_TIMELINE_COUNT) {
        r[0] = 1;
        r[1] = PV_MAX_TIMELINES;
    }
    return reply(c, PV_VTEST_GET_PARAM, r, 2);
}

static int
cmd_get_capset(struct client *c, const uint32_t *p)
{
    /* {valid} then the capset, padded to whole dwords. */
    uint32_t r[1 + 1024];
    memset(r, 0, sizeof(r));
    size_t size = pv_renderer_get_capset(c->srv->renderer, p[0], p[1], &r[1], sizeof(r) - 4);
    if (size > sizeof(r) - 4) {
        pv_err(MOD, "capset %u is %zu bytes, more than the %zu this server sends", p[0], size,
               sizeof(r) - 4);
        size = 0;
    }
    if (!size)
        return reply(c, PV_VTEST_GET_CAPSET, r, 1);
    r[0] = 1;
    return reply(c, PV_VTEST_GET_CAPSET, r, 1 + (uint32_t)((size + 3) / 4));
}

static int
cmd_context_init(struct client *c, const uint32_t *p)
{
    uint32_t capset_id = p[0];
    if (capset_id == 0)
        return violation(c, "CONTEXT_INIT with capset 0");
    if (c->ctx) {
        /* A repeat with the same capset is harmless (virglrenderer agrees). */
        if (capset_id != c->capset_id)
            return violation(c, "CONTEXT_INIT with capset %u after capset %u", capset_id,
                             c->capset_id);
        return 0;
    }
    if (capset_id != PV_CAPSET_VENUS)
        return violation(c, "CONTEXT_INIT with unsupported capset %u", capset_id);
    c->capset_id = capset_id;
    return ensure_ctx(c);
}

static int
cmd_create_blob(struct client *c, const uint32_t *p)
{
    uint32_t type = p[0], flags = p[1];
    uint64_t size = (uint64_t)p[2] | ((uint64_t)p[3] << 32);
    uint64_t blob_id = (uint64_t)p[4] | ((uint64_t)p[5] << 32);

    int err = ensure_ctx(c);
    if (err)
        return err;
    /* The Venus client only creates HOST3D blobs (docs/venus-protocol.md §1.4). */
    if (type != PV_VTEST_BLOB_TYPE_HOST3D)
        return violation(c, "RESOURCE_CREATE_BLOB of unsupported type %u", type);
    if (size == 0)
        return violation(c, "RESOURCE_CREATE_BLOB of size 0");

    uint32_t res_id;
    err = res_alloc(c, &res_id);
    if (err == -ENOSPC)
        return violation(c, "more than %u resources", MAX_RESOURCES);
    if (err)
        return err;

    int fd = -1;
    uint32_t map_info = 0;
    err = pv_ctx_create_blob(c->ctx, res_id, blob_id, size, flags, &fd, &map_info);
    if (err) {
        res_release(c, res_id);
        /*
         * The client asserts it gets an fd and has no failure path, and
         * virglrenderer closes the connection here too: an honest
         * disconnect beats an answer the client would crash on.
         */
        pv_warn(MOD,
                "client %u: RESOURCE_CREATE_BLOB (size %llu, blob_id %llu, flags 0x%x) failed: "
                "%s; dropping the client",
                c->id, (unsigned long long)size, (unsigned long long)blob_id, flags,
                strerror(-err));
        return err;
    }
    err = reply(c, PV_VTEST_RESOURCE_CREATE_BLOB, &res_id, 1);
    if (!err)
        err = send_fd(c->fd, fd);
    close(fd);
    /* On a send failure the resource stays; pv_ctx_destroy frees it. */
    return err;
}

static int
cmd_resource_unref(struct client *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    /* Unknown ids are ignored, as virglrenderer does. */
    if (res_release(c, p[0]))
        pv_ctx_destroy_resource(c->ctx, p[0]);
    else
        pv_dbg(MOD, "client %u: RESOURCE_UNREF of unknown resource %u ignored", c->id, p[0]);
    return 0;
}

static int
cmd_busy_wait(struct client *c, const uint32_t *p)
{
    /*
     * Clients send {0, 0} right after PING_PROTOCOL_VERSION to learn whether
     * the ping is understood. Blob resources are never "busy" in the GL
     * sense, so every answer is 0; only a real handle before any context is
     * rejected, as in virglrenderer.
     */
    if (p[0] && !c->ctx)
        return violation(c, "RESOURCE_BUSY_WAIT on resource %u before a context", p[0]);
    uint32_t busy = 0;
    return reply(c, PV_VTEST_RESOURCE_BUSY_WAIT, &busy, 1);
}

static int
cmd_sync_create(struct client *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    uint32_t id;
    err = pv_vtest_sync_create(c->syncs, (uint64_t)p[0] | ((uint64_t)p[1] << 32), &id);
    if (err == -ENOSPC)
        return violation(c, "more than %u syncs", PV_VTEST_MAX_SYNCS);
    if (err)
        return err;
    return reply(c, PV_VTEST_SYNC_CREATE, &id, 1);
}

static int
cmd_sync_unref(struct client *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    pv_vtest_sync_unref(c->syncs, p[0]);
    return 0;
}

static int
cmd_sync_read(struct client *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    uint64_t v;
    if (pv_vtest_sync_read(c->syncs, p[0], &v))
        return violation(c, "SYNC_READ of unknown sync %u", p[0]);
    uint32_t r[2] = {(uint32_t)v, (uint32_t)(v >> 32)};
    return reply(c, PV_VTEST_SYNC_READ, r, 2);
}

static int
cmd_sync_write(struct client *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    if (pv_vtest_sync_write(c->syncs, p[0], (uint64_t)p[1] | ((uint64_t)p[2] << 32)))
        return violation(c, "SYNC_WRITE of unknown sync %u", p[0]);
    return 0;
}

static int
cmd_sync_wait(struct client *c, const uint32_t *p, uint32_t len)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    const char *why;
    struct pv_vtest_sync_wait w;
    if (pv_vtest_parse_sync_wait(p, len, &w, &why))
        return violation(c, "%s", why);

    int fd;
    err = pv_vtest_sync_wait(c->syncs, w.flags, w.timeout_ms, w.triples, w.count, &fd);
    if (err == -ENOENT)
        return violation(c, "SYNC_WAIT on an unknown sync");
    if (err == -ENOSPC)
        return violation(c, "more than %u pending SYNC_WAITs", PV_VTEST_MAX_WAITS);
    if (err) {
        pv_warn(MOD, "client %u: SYNC_WAIT failed: %s; dropping the client", c->id,
                strerror(-err));
        return err;
    }
    err = reply(c, PV_VTEST_SYNC_WAIT, NULL, 0);
    if (!err)
        err = send_fd(c->fd, fd);
    close(fd);
    return err;
}

static int
cmd_submit_cmd2(struct client *c, const uint32_t *p, uint32_t len)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    const char *why;
    struct pv_vtest_submit2 sub;
    if (pv_vtest_parse_submit2(p, len, PV_MAX_TIMELINES, &sub, &why))
        return violation(c, "%s", why);

    for (uint32_t i = 0; i < sub.batch_count; i++) {
        struct pv_vtest_batch b;
        pv_vtest_submit2_batch(&sub, i, &b);

        /* Check the syncs first so a bad batch runs nothing. */
        if (pv_vtest_syncs_check(c->syncs, b.syncs, b.sync_count))
            return violation(c, "SUBMIT_CMD2 batch %u names an unknown sync", i);

        if (b.cmd_bytes && pv_ctx_submit(c->ctx, b.cmds, b.cmd_bytes)) {
            pv_info(MOD, "client %u: disconnected (its Venus context was disabled)", c->id);
            return -EPROTO;
        }
        if (!b.sync_count)
            continue;

        if (!(b.flags & PV_VTEST_SUBMIT_FLAG_RING_IDX)) {
            /* No timeline named: the stream has run, so the syncs are due. */
            pv_vtest_syncs_signal(c->syncs, b.syncs, b.sync_count);
            continue;
        }
        /* Queue before creating the fence: it may retire before we return. */
        uint64_t fence_id = ++c->last_fence;
        err = pv_vtest_syncs_queue(c->syncs, b.ring_idx, fence_id, b.syncs, b.sync_count);
        if (err == -ENOSPC)
            return violation(c, "too many submits waiting for their fences");
        if (err)
            return err;
        err = pv_ctx_create_fence(c->ctx, b.ring_idx, fence_id);
        if (err) {
            pv_warn(MOD, "client %u: fence on ring %u failed: %s; dropping the client", c->id,
                    b.ring_idx, strerror(-err));
            return err;
        }
    }
    return 0;
}

static int
cmd_create_renderer(struct client *c, const char *name, size_t len)
{
    /* Kept only for the renderer's log lines, which sanitize it. */
    c->name = malloc(len + 1);
    if (!c->name)
        return -ENOMEM;
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->named = true;
    return 0;
}

static int
dispatch(struct client *c, uint32_t id, const void *payload, uint32_t len)
{
    const uint32_t *p = payload;
    switch (id) {
    case PV_VTEST_CREATE_RENDERER:
        return cmd_create_renderer(c, payload, len);
    case PV_VTEST_PING_PROTOCOL_VERSION:
        return reply(c, PV_VTEST_PING_PROTOCOL_VERSION, NULL, 0);
    case PV_VTEST_PROTOCOL_VERSION_CMD:
        return cmd_protocol_version(c, p);
    case PV_VTEST_GET_PARAM:
        return cmd_get_param(c, p);
    case PV_VTEST_GET_CAPSET:
        return cmd_get_capset(c, p);
    case PV_VTEST_CONTEXT_INIT:
        return cmd_context_init(c, p);
    case PV_VTEST_RESOURCE_CREATE_BLOB:
        return cmd_create_blob(c, p);
    case PV_VTEST_RESOURCE_UNREF:
        return cmd_resource_unref(c, p);
    case PV_VTEST_RESOURCE_BUSY_WAIT:
        return cmd_busy_wait(c, p);
    case PV_VTEST_SYNC_CREATE:
        return cmd_sync_create(c, p);
    case PV_VTEST_SYNC_UNREF:
        return cmd_sync_unref(c, p);
    case PV_VTEST_SYNC_READ:
        return cmd_sync_read(c, p);
    case PV_VTEST_SYNC_WRITE:
        return cmd_sync_write(c, p);
    case PV_VTEST_SYNC_WAIT:
        return cmd_sync_wait(c, p, len);
    case PV_VTEST_SUBMIT_CMD2:
        return cmd_submit_cmd2(c, p, len);
    default:
        /* pv_vtest_check_header() let through only the ids above. */
        return violation(c, "command %u has no handler", id);
    }
}

static int
ensure_buf(struct client *c, size_t size)
{
    if (size <= c->buf_cap)
        return 0;
    free(c->buf);
    c->buf = malloc(size);
    c->buf_cap = c->buf ? size : 0;
    return c->buf ? 0 : -ENOMEM;
}

/* Reads and runs messages until EOF, a violation or a dead socket. */
static void
serve(struct client *c)
{
    for (;;) {
        uint32_t hdr[PV_VTEST_HDR_DWORDS];
        int err = pv_io_read_full(c->fd, hdr, sizeof(hdr));
        if (err == 1) {
            pv_dbg(MOD, "client %u: disconnected", c->id);
            return;
        }
        if (err) {
            if (err == -EPIPE)
                violation(c, "message header cut short");
            else
                pv_dbg(MOD, "client %u: read failed: %s", c->id, strerror(-err));
            return;
        }

        uint32_t len = hdr[PV_VTEST_HDR_LEN], id = hdr[PV_VTEST_HDR_ID];
        size_t bytes;
        const char *why;
        if (pv_vtest_check_header(len, id, c->named, &bytes, &why)) {
            violation(c, "%s (id %u, length %u)", why, id, len);
            return;
        }
        /* +1 keeps a zero-length payload pointing at a valid buffer. */
        if (ensure_buf(c, bytes + 1)) {
            pv_warn(MOD, "client %u: no memory for a %zu-byte message; dropping the client",
                    c->id, bytes);
            return;
        }
        err = pv_io_read_full(c->fd, c->buf, bytes);
        if (err) {
            if (err == 1 || err == -EPIPE)
                violation(c, "%s payload cut short (%zu bytes announced)",
                          pv_vtest_cmd_name(id), bytes);
            else
                pv_dbg(MOD, "client %u: read failed: %s", c->id, strerror(-err));
            return;
        }
        pv_dbg(MOD, "client %u: %s (%u)", c->id, pv_vtest_cmd_name(id), len);

        if (dispatch(c, id, c->buf, len))
            return;

        if (c->buf_cap > KEEP_BUF_BYTES) {
            free(c->buf);
            c->buf = NULL;
            c->buf_cap = 0;
        }
    }
}

static void *
client_thread(void *arg)
{
    struct client *c = arg;
    serve(c);

    /* The context first: after pv_ctx_destroy no fence callback can run,
     * so the syncs can go. */
    if (c->ctx)
        pv_ctx_destroy(c->ctx);
    c->ctx = NULL;
    pv_vtest_syncs_destroy(c->syncs);
    c->syncs = NULL;
    free(c->buf);
    c->buf = NULL;
    free(c->name);
    c->name = NULL;
    free(c->res_live);
    free(c->res_free);
    c->res_live = NULL;
    c->res_free = NULL;
    /* The fd stays open until the server joins us, so it is never reused
     * under a concurrent shutdown(); the client sees EOF now. */
    shutdown(c->fd, SHUT_RDWR);
    /* A long-running server: hand what this client's threads freed back to
     * the system rather than keep it in per-thread malloc arenas. */
    malloc_trim(0);

    __atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t w = write(c->srv->reap_fd, &one, sizeof(one));
    (void)w;
    return NULL;
}

/* ---- server ------------------------------------------------------------ */

static void
client_free(struct client *c)
{
    close(c->fd);
    free(c);
}

/* Joins and frees finished clients (all of them when `all`). */
static void
reap(struct pv_vtest_server *s, bool all)
{
    for (;;) {
        struct client *found = NULL;
        pthread_mutex_lock(&s->lock);
        for (struct client **pp = &s->clients; *pp; pp = &(*pp)->next) {
            if (all || __atomic_load_n(&(*pp)->done, __ATOMIC_ACQUIRE)) {
                found = *pp;
                *pp = found->next;
                s->nclients--;
                break;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (!found)
            return;
        pthread_join(found->thread, NULL);
        client_free(found);
    }
}

static void
add_client(struct pv_vtest_server *s, int fd)
{
    pthread_mutex_lock(&s->lock);
    bool full = s->nclients >= s->max_clients;
    uint32_t id = ++s->next_client_id;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        pv_warn(MOD, "client %u: refused, already serving %u clients", id, s->max_clients);
        close(fd);
        return;
    }

    struct client *c = calloc(1, sizeof(*c));
    int err = c ? pv_vtest_syncs_create(PV_MAX_TIMELINES, &c->syncs) : -ENOMEM;
    if (err) {
        pv_err(MOD, "client %u: refused: %s", id, strerror(-err));
        free(c);
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->id = id;
    c->res_next = 1;

    /*
     * Client threads (and the renderer threads they start) leave SIGINT and
     * friends to the thread that runs the server.
     */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_mutex_lock(&s->lock);
    err = -pthread_create(&c->thread, NULL, client_thread, c);
    if (!err) {
        c->next = s->clients;
        s->clients = c;
        s->nclients++;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        pv_err(MOD, "client %u: refused, no thread: %s", id, strerror(-err));
        pv_vtest_syncs_destroy(c->syncs);
        client_free(c);
        return;
    }
    pv_dbg(MOD, "client %u: connected", id);
}

/*
 * Makes `path` free for bind(): absent is fine, a stale socket is removed,
 * a live one (someone accepts connections) or a non-socket is refused.
 */
static int
claim_path(const char *path, const struct sockaddr_un *addr)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;

    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    int r = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
    int err = r < 0 ? errno : 0;
    close(probe);
    if (r == 0 || err == EAGAIN) /* EAGAIN: a live server with a full backlog */
        return -EADDRINUSE;
    if (err != ECONNREFUSED)
        return -err;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    pv_info(MOD, "removed stale socket %s", path);
    return 0;
}

int
pv_vtest_server_create(const struct pv_vtest_opts *opts, struct pv_renderer *renderer,
                       struct pv_vtest_server **out)
{
    const char *path = opts ? opts->socket_path : NULL;
    if (!path)
        path = getenv("VTEST_SOCKET_NAME");
    if (!path)
        path = PV_VTEST_DEFAULT_SOCKET;
    if (!path[0])
        return -EINVAL;

    struct pv_vtest_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (strlen(path) >= sizeof(s->path)) {
        free(s);
        return -ENAMETOOLONG;
    }
    strcpy(s->path, path);
    s->renderer = renderer;
    s->max_clients = opts && opts->max_clients ? opts->max_clients : PV_VTEST_DEFAULT_MAX_CLIENTS;
    s->listen_fd = s->stop_fd = s->reap_fd = -1;
    pthread_mutex_init(&s->lock, NULL);

    int err;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stop_fd < 0 || s->reap_fd < 0) {
        err = -errno;
        goto err_free;
    }

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
    err = claim_path(s->path, &addr);
    if (err)
        goto err_free;

    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        err = -errno;
        goto err_free;
    }
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err = -errno;
        goto err_free;
    }
    s->bound = true;
    struct stat st;
    /* Nobody can connect before listen(), so tightening the mode here is not racy. */
    if (chmod(s->path, 0600) < 0 || stat(s->path, &st) < 0) {
        err = -errno;
        goto err_unlink;
    }
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    if (listen(s->listen_fd, 16) < 0) {
        err = -errno;
        goto err_unlink;
    }
    *out = s;
    return 0;

err_unlink:
    unlink(s->path);
    s->bound = false;
err_free:
    pv_vtest_server_destroy(s);
    return err;
}

const char *
pv_vtest_server_path(const struct pv_vtest_server *s)
{
    return s->path;
}

/* Closes the listening socket and removes its path if it is still ours. */
static void
stop_listening(struct pv_vtest_server *s)
{
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->bound) {
        struct stat st;
        if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
            unlink(s->path);
        s->bound = false;
    }
}

/* Stops accepting, then ends every client (shutdown() wakes its reads) and
 * waits for their threads. */
static void
end_all_clients(struct pv_vtest_server *s)
{
    stop_listening(s);
    pthread_mutex_lock(&s->lock);
    for (struct client *c = s->clients; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    reap(s, true);
}

int
pv_vtest_server_run(struct pv_vtest_server *s)
{
    int err = 0;
    if (s->listen_fd < 0)
        return -EBADF;

    for (;;) {
        struct pollfd fds[3] = {
            {.fd = s->stop_fd, .events = POLLIN},
            {.fd = s->reap_fd, .events = POLLIN},
            {.fd = s->listen_fd, .events = POLLIN},
        };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            pv_err(MOD, "poll failed: %s", strerror(-err));
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents) {
            uint64_t n;
            ssize_t r = read(s->reap_fd, &n, sizeof(n));
            (void)r;
            reap(s, false);
        }
        if (fds[2].revents & POLLIN) {
            int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                add_client(s, fd);
            } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                       errno == ENOMEM) {
                /* Out of descriptors: back off instead of spinning. */
                pv_warn(MOD, "accept failed: %s", strerror(errno));
                poll(NULL, 0, 100);
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                err = -errno;
                pv_err(MOD, "accept failed: %s", strerror(-err));
                break;
            }
        }
    }

    end_all_clients(s);
    return err;
}

void
pv_vtest_server_stop(struct pv_vtest_server *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->stop_fd, &one, sizeof(one));
    (void)w;
}

void
pv_vtest_server_destroy(struct pv_vtest_server *s)
{
    if (!s)
        return;
    end_all_clients(s);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->reap_fd >= 0)
        close(s->reap_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
