/*
 * gpu/vtest/session: one client's vtest commands onto renderer.h (see
 * session.h): framing through proto.c, blob resources and their ids, syncs
 * (sync.c), submits and fences, on the client's one Venus context.
 */
#include "session.h"

#include "proto.h"
#include "sync.h"

#include "clock.h"
#include "io.h"
#include "log.h"
#include <pvgpu/pvgpu.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MOD "vtest"

/* Blob resources one client may hold (ids stay small: the client indexes a
 * sparse array by them). */
#define MAX_RESOURCES (1u << 18)
/* Payload buffers above this size are released after use. */
#define KEEP_BUF_BYTES (1u << 20)

struct pv_vtest_session {
    struct pv_renderer *renderer;
    int fd;
    uint32_t id;     /* the client's, for log lines only */
    uint32_t ctx_id; /* its Venus context's */
    struct pv_vtest_session_hooks hooks;

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
reply(struct pv_vtest_session *c, uint32_t id, const uint32_t *payload, uint32_t dwords)
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
violation(struct pv_vtest_session *c, const char *fmt, ...)
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
 * that stays silent is dropped too. The fd stays open until the session
 * has destroyed the context, so it is still ours here.
 */
static void
context_fatal(void *data)
{
    struct pv_vtest_session *c = data;
    if (c->hooks.ctx_fatal)
        c->hooks.ctx_fatal(c->hooks.data);
    shutdown(c->fd, SHUT_RDWR);
}

/*
 * For the renderer's waits: a client that hung up (or was shut down by the
 * server's stop) is gone even while its thread is inside the renderer and
 * cannot read the socket. Its fd stays open until the session is destroyed.
 */
static bool
client_alive(void *data)
{
    struct pv_vtest_session *c = data;
    struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return true;
    return !(p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void
fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
    struct pv_vtest_session *c = data;
    pv_vtest_syncs_retire(c->syncs, ring_idx, fence_id);
}

/*
 * The Venus context, created at CONTEXT_INIT or, as virglrenderer does, by
 * the first command that needs one.
 */
static int
ensure_ctx(struct pv_vtest_session *c)
{
    if (c->ctx)
        return 0;
    if (c->version < PV_VTEST_PROTOCOL_VERSION)
        return violation(c, "context needed before protocol version 3 was agreed");
    if (!c->capset_id)
        c->capset_id = PV_CAPSET_VENUS;

    const struct pv_ctx_callbacks cbs = {
        .data = c, .fence_retired = fence_retired, .fatal = context_fatal, .alive = client_alive};
    int err = pv_ctx_create(c->renderer, c->ctx_id, c->name ? c->name : "", &cbs, &c->ctx);
    if (err) {
        c->ctx = NULL;
        pv_warn(MOD, "client %u: creating its Venus context failed: %s; dropping the client",
                c->id, strerror(-err));
        return err;
    }
    pv_dbg(MOD, "client %u: Venus context %u created", c->id, c->ctx_id);
    if (c->hooks.ctx_created)
        c->hooks.ctx_created(c->hooks.data, c->name ? c->name : "");
    return 0;
}

static int
res_alloc(struct pv_vtest_session *c, uint32_t *out)
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
res_release(struct pv_vtest_session *c, uint32_t id)
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
cmd_protocol_version(struct pv_vtest_session *c, const uint32_t *p)
{
    uint32_t v = p[0] < PV_VTEST_PROTOCOL_VERSION ? p[0] : PV_VTEST_PROTOCOL_VERSION;
    /* Version 1 was withdrawn; virglrenderer answers such clients with 0. */
    if (v == 1)
        v = 0;
    c->version = v;
    return reply(c, PV_VTEST_PROTOCOL_VERSION_CMD, &v, 1);
}

static int
cmd_get_param(struct pv_vtest_session *c, const uint32_t *p)
{
    uint32_t r[2] = {0, 0}; /* {valid, value}: unknown params are "not valid" */
    if (p[0] == PV_VTEST_PARAM_MAX_TIMELINE_COUNT) {
        r[0] = 1;
        r[1] = PV_MAX_TIMELINES;
    }
    return reply(c, PV_VTEST_GET_PARAM, r, 2);
}

static int
cmd_get_capset(struct pv_vtest_session *c, const uint32_t *p)
{
    /* {valid} then the capset, padded to whole dwords. */
    uint32_t r[1 + 1024];
    memset(r, 0, sizeof(r));
    size_t size = pv_renderer_get_capset(c->renderer, p[0], p[1], &r[1], sizeof(r) - 4);
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
cmd_context_init(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_create_blob(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_resource_unref(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_busy_wait(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_sync_create(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_sync_unref(struct pv_vtest_session *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    pv_vtest_sync_unref(c->syncs, p[0]);
    return 0;
}

static int
cmd_sync_read(struct pv_vtest_session *c, const uint32_t *p)
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
cmd_sync_write(struct pv_vtest_session *c, const uint32_t *p)
{
    int err = ensure_ctx(c);
    if (err)
        return err;
    if (pv_vtest_sync_write(c->syncs, p[0], (uint64_t)p[1] | ((uint64_t)p[2] << 32)))
        return violation(c, "SYNC_WRITE of unknown sync %u", p[0]);
    return 0;
}

static int
cmd_sync_wait(struct pv_vtest_session *c, const uint32_t *p, uint32_t len)
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
cmd_submit_cmd2(struct pv_vtest_session *c, const uint32_t *p, uint32_t len)
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
cmd_create_renderer(struct pv_vtest_session *c, const char *name, size_t len)
{
    /* Kept only for the renderer's log lines, which sanitize it. */
    c->name = malloc(len + 1);
    if (!c->name)
        return -ENOMEM;
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->named = true;
    if (c->hooks.named)
        c->hooks.named(c->hooks.data, c->name);
    return 0;
}

static int
dispatch(struct pv_vtest_session *c, uint32_t id, const void *payload, uint32_t len)
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
ensure_buf(struct pv_vtest_session *c, size_t size)
{
    if (size <= c->buf_cap)
        return 0;
    free(c->buf);
    c->buf = malloc(size);
    c->buf_cap = c->buf ? size : 0;
    return c->buf ? 0 : -ENOMEM;
}

void
pv_vtest_session_serve(struct pv_vtest_session *c)
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

        /* With the renderer's timeline on, each message is a span of it. */
        uint64_t t0 = pv_renderer_tracing(c->renderer) ? pv_clock_now_ns() : 0;
        err = dispatch(c, id, c->buf, len);
        if (t0) {
            char what[48];
            snprintf(what, sizeof(what), "vtest-%s", pv_vtest_cmd_name(id));
            pv_renderer_trace_span(c->renderer, c->ctx_id, what, t0, pv_clock_now_ns(), len);
        }
        if (err)
            return;

        if (c->buf_cap > KEEP_BUF_BYTES) {
            free(c->buf);
            c->buf = NULL;
            c->buf_cap = 0;
        }
    }
}


int
pv_vtest_session_create(struct pv_renderer *r, int fd, uint32_t client_id, uint32_t ctx_id,
                        const struct pv_vtest_session_hooks *hooks, struct pv_vtest_session **out)
{
    struct pv_vtest_session *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int err = pv_vtest_syncs_create(PV_MAX_TIMELINES, &c->syncs);
    if (err) {
        free(c);
        return err;
    }
    c->renderer = r;
    c->fd = fd;
    c->id = client_id;
    c->ctx_id = ctx_id;
    if (hooks)
        c->hooks = *hooks;
    c->res_next = 1;
    *out = c;
    return 0;
}

void
pv_vtest_session_destroy(struct pv_vtest_session *c)
{
    if (!c)
        return;
    /* The context first: after pv_ctx_destroy no fence callback can run,
     * so the syncs can go. */
    if (c->ctx)
        pv_ctx_destroy(c->ctx);
    pv_vtest_syncs_destroy(c->syncs);
    free(c->buf);
    free(c->name);
    free(c->res_live);
    free(c->res_free);
    /* The fd stays open (its owner closes it), so it is never reused under a
     * concurrent shutdown(); the client sees EOF now. */
    shutdown(c->fd, SHUT_RDWR);
    free(c);
}
