/*
 * gpu/virgl-abi/abi: init and teardown, capsets, contexts, submits, fences
 * and the entry points of the 1.1 API we do not serve. See virgl-abi.h.
 */
#include "virgl-abi.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

struct va_state va = {.event_fd = -1};

/* ---- logging ---- */

void
va_log_once(const char *what)
{
    /* Keyed by the literal's address: each distinct message prints once. */
    static const char *seen[64];
    static unsigned n_seen;
    for (unsigned i = 0; i < n_seen; i++)
        if (seen[i] == what)
            return;
    if (n_seen < sizeof(seen) / sizeof(seen[0]))
        seen[n_seen++] = what;
    pv_warn("virgl-abi", "%s (logged once)", what);
}

#define UNSUPPORTED(name) va_log_once(name ": not supported by PearVisor's renderer")

/* ---- fence retirements: renderer threads -> QEMU's thread ---- */

struct va_fence {
    uint32_t ctx_id;
    uint32_t ring_idx; /* UINT32_MAX: a context-0 fence (write_fence) */
    uint64_t fence_id;
    struct va_fence *next;
};

static struct {
    pthread_mutex_t lock;
    struct va_fence *head, **tail;
    unsigned n; /* queued since QEMU last took them */
} va_fences = {PTHREAD_MUTEX_INITIALIZER, NULL, &va_fences.head, 0};

static bool
fence_queue(uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id, bool bounded)
{
    struct va_fence *f = malloc(sizeof(*f));
    if (!f) {
        va_log_once("out of memory queueing a fence retirement; the guest may wait forever");
        return true;
    }
    *f = (struct va_fence){.ctx_id = ctx_id, .ring_idx = ring_idx, .fence_id = fence_id};
    pthread_mutex_lock(&va_fences.lock);
    bool full = bounded && va_fences.n >= VA_MAX_QUEUED_FENCES;
    if (!full) {
        *va_fences.tail = f;
        va_fences.tail = &f->next;
        va_fences.n++;
    }
    pthread_mutex_unlock(&va_fences.lock);
    if (full) {
        free(f);
        return false;
    }
    va_kick();
    return true;
}

void
va_fence_push(uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    fence_queue(ctx_id, ring_idx, fence_id, false);
}

bool
va_fence_push_bounded(uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    return fence_queue(ctx_id, ring_idx, fence_id, true);
}

void
va_kick(void)
{
    /* Set before any renderer thread runs, closed after the last has stopped. */
    int efd = __atomic_load_n(&va.event_fd, __ATOMIC_ACQUIRE);
    if (efd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(efd, &one, sizeof(one));
        (void)w; /* a saturated counter is still readable */
    }
}

static struct va_fence *
fences_take(void)
{
    pthread_mutex_lock(&va_fences.lock);
    struct va_fence *list = va_fences.head;
    va_fences.head = NULL;
    va_fences.tail = &va_fences.head;
    va_fences.n = 0;
    pthread_mutex_unlock(&va_fences.lock);
    return list;
}

static void
fences_drop(void)
{
    struct va_fence *f = fences_take();
    while (f) {
        struct va_fence *next = f->next;
        free(f);
        f = next;
    }
}

/* Renderer fence thread: one timeline of one context retired. */
static void
ctx_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
    va_fence_push((uint32_t)(uintptr_t)data, ring_idx, fence_id);
}

VIRGL_EXPORT void
virgl_renderer_poll(void)
{
    if (!va.inited)
        return;
    uint64_t count;
    ssize_t rd = read(va.event_fd, &count, sizeof(count));
    (void)rd; /* EAGAIN: nothing new; the list below is the truth */
    va_be_check(); /* a render process that died: its fences join the list */
    struct va_fence *f = fences_take();
    while (f) {
        struct va_fence *next = f->next;
        if (f->ring_idx == UINT32_MAX) {
            if (va.write_fence)
                va.write_fence(va.cookie, (uint32_t)f->fence_id);
        } else if (va.write_context_fence) {
            va.write_context_fence(va.cookie, f->ctx_id, f->ring_idx, f->fence_id);
        }
        free(f);
        f = next;
    }
}

VIRGL_EXPORT int
virgl_renderer_get_poll_fd(void)
{
    return va.inited ? va.event_fd : -1;
}

VIRGL_EXPORT int
virgl_renderer_create_fence(int client_fence_id, uint32_t ctx_id)
{
    (void)ctx_id;
    if (!va.inited)
        return EINVAL; /* this one returns a positive errno, as QEMU expects */
    /*
     * Context-0 fences order work of the GL renderer, which we do not have:
     * nothing is pending behind them, so they retire at the next poll.
     */
    va_fence_push(0, UINT32_MAX, (uint32_t)client_fence_id);
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_context_create_fence(uint32_t ctx_id, uint32_t flags, uint32_t ring_idx,
                                    uint64_t fence_id)
{
    (void)flags; /* MERGEABLE: we deliver every fence, which is allowed */
    if (!va.inited)
        return -EINVAL;
    struct va_ctx *ctx = va_ctx_find(ctx_id);
    if (ctx && va_venus(ctx)) {
        int err = va_be_create_fence(ctx, ring_idx, fence_id);
        if (!err)
            return 0;
        va_log_once("a context fence could not be queued (bad ring index, too many fences "
                    "in flight, or its render process is gone); it retires at once");
    } else {
        va_log_once("a fence for an unknown or non-Venus context retires at once");
    }
    /* Never leave the guest waiting on a fence we cannot track. */
    va_fence_push(ctx_id, ring_idx, fence_id);
    return 0;
}

VIRGL_EXPORT void
virgl_renderer_context_poll(uint32_t ctx_id)
{
    (void)ctx_id;
    virgl_renderer_poll();
}

VIRGL_EXPORT int
virgl_renderer_context_get_poll_fd(uint32_t ctx_id)
{
    (void)ctx_id;
    UNSUPPORTED("virgl_renderer_context_get_poll_fd");
    return -1;
}

/* ---- init, capsets ---- */

/*
 * The renderer, made at first need (QEMU asks for capsets before init). By
 * default the VM's contexts run in a sandboxed render process (remote.c)
 * and va.r only keeps its statistics; PEARVISOR_DOOR_IN_PROCESS=1 runs them
 * in QEMU's own process, as does a door that cannot start its process (said
 * in one line, with the reason: the guest keeps its GPU, without the
 * sandbox).
 */
static struct pv_renderer *
renderer(void)
{
    if (va.r)
        return va.r;
    if (va_be_remote_wanted()) {
        const struct pv_renderer_opts opts = {.flags = PV_RENDERER_STATS_ONLY};
        int err = pv_renderer_create(&opts, &va.r);
        if (!err) {
            va.remote = true;
            if (!va_be_start())
                return va.r;
            va_be_stop(false);
            va.remote = false;
            pv_renderer_destroy(va.r);
            va.r = NULL;
        }
        pv_warn("virgl-abi", "no render process: Venus runs inside QEMU's process, without the "
                "sandbox (PEARVISOR_DOOR_IN_PROCESS=1 chooses this and silences this line)");
    }
    uint64_t t0 = pv_clock_now_ns();
    int err = pv_renderer_create(NULL, &va.r);
    if (err) {
        pv_err("virgl-abi", "PearVisor renderer unavailable: %s", strerror(-err));
        va.r = NULL;
    } else {
        pv_info("virgl-abi", "renderer ready in %.1f ms (host driver loaded and probed)",
                (double)(pv_clock_now_ns() - t0) / 1e6);
    }
    return va.r;
}

VIRGL_EXPORT int
virgl_renderer_init(void *cookie, int flags, struct virgl_renderer_callbacks *cb)
{
    if (!cb || cb->version < 1)
        return -EINVAL;
    /* QEMU's device reset calls reset() and then init() again with the same cookie. */
    if (va.inited && va.cookie != cookie)
        return -EBUSY;
    if (!renderer())
        return -ENODEV;
    if (!va.inited) {
        va.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (va.event_fd < 0)
            return -errno;
    }
    va.cookie = cookie;
    va.flags = flags;
    /* Read only the fields the caller's struct version has. */
    va.write_fence = cb->write_fence;
    va.create_gl_context = cb->create_gl_context;
    va.destroy_gl_context = cb->destroy_gl_context;
    va.make_current = cb->make_current;
    va.write_context_fence = cb->version >= 3 ? cb->write_context_fence : NULL;
    if (!va.inited) {
        pv_info("virgl-abi", "PearVisor libvirglrenderer.so.1 (front door 2) active: Venus on "
                "libpvgpu; flags 0x%x, callbacks v%d", (unsigned)flags, cb->version);
        if (!(flags & VIRGL_RENDERER_VENUS))
            pv_warn("virgl-abi", "init without VIRGL_RENDERER_VENUS: only Venus contexts are "
                    "served (use -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=...)");
        if (flags & VIRGL_RENDERER_ASYNC_FENCE_CB)
            pv_warn("virgl-abi", "ASYNC_FENCE_CB requested; fences are still delivered from "
                    "virgl_renderer_poll() on the caller's thread");
    }
    va.inited = true;
    return 0;
}

/* Full size of capset `set`, 0 when not served. Works before init (QEMU asks at realize). */
static uint32_t
capset_size(uint32_t set)
{
    if (set != PV_CAPSET_VENUS || !renderer())
        return 0;
    return (uint32_t)va_be_capset(set, 0, NULL, 0);
}

VIRGL_EXPORT void
virgl_renderer_get_cap_set(uint32_t set, uint32_t *max_ver, uint32_t *max_size)
{
    /* VIRGL and VIRGL2 (the GL renderer) report nothing: we serve Venus only. */
    uint32_t size = capset_size(set);
    if (max_ver)
        *max_ver = 0;
    if (max_size)
        *max_size = size;
}

VIRGL_EXPORT void
virgl_renderer_fill_caps(uint32_t set, uint32_t version, void *caps)
{
    uint32_t size = capset_size(set);
    if (!caps || !size)
        return;
    va_be_capset(set, version, caps, size);
}

/* ---- contexts ---- */

struct va_ctx *
va_ctx_find(uint32_t ctx_id)
{
    for (struct va_ctx *c = va.ctxs; c; c = c->next)
        if (c->id == ctx_id)
            return c;
    return NULL;
}

VIRGL_EXPORT int
virgl_renderer_context_create_with_flags(uint32_t ctx_id, uint32_t ctx_flags, uint32_t nlen,
                                         const char *name)
{
    if (!va.inited || ctx_id == 0)
        return -EINVAL;
    if (va_ctx_find(ctx_id))
        return -EEXIST;
    /* QEMU passes the guest's 64-byte debug_name with the guest's length. */
    char cname[64] = "";
    if (name && nlen) {
        size_t n = nlen < sizeof(cname) - 1 ? nlen : sizeof(cname) - 1;
        memcpy(cname, name, n);
        cname[n] = '\0';
    }
    struct va_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->id = ctx_id;
    ctx->capset = ctx_flags & VIRGL_RENDERER_CONTEXT_FLAG_CAPSET_ID_MASK;
    if (ctx->capset == PV_CAPSET_VENUS) {
        const struct pv_ctx_callbacks cbs = {.data = (void *)(uintptr_t)ctx_id,
                                             .fence_retired = ctx_fence_retired};
        int err = va_be_ctx_create(ctx, cname, &cbs);
        if (err) {
            free(ctx);
            return err;
        }
    } else {
        /* Kept so attach/detach/fences on it stay quiet; its submits fail. */
        va_log_once("a context for a capset other than Venus was created; its commands will fail");
    }
    ctx->next = va.ctxs;
    va.ctxs = ctx;
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_context_create(uint32_t handle, uint32_t nlen, const char *name)
{
    /* No capset: a GL (VIRGL) context in virglrenderer. */
    return virgl_renderer_context_create_with_flags(handle, 0, nlen, name);
}

static void
ctx_free(struct va_ctx *ctx)
{
    /* After the context is destroyed no renderer thread can touch the loans. */
    va_be_ctx_destroy(ctx);
    va_res_forget_ctx(ctx->id);
    struct va_loan *l = ctx->loans;
    while (l) {
        struct va_loan *next = l->next;
        munmap(l->base, l->size);
        free(l);
        l = next;
    }
    free(ctx);
}

VIRGL_EXPORT void
virgl_renderer_context_destroy(uint32_t handle)
{
    for (struct va_ctx **pp = &va.ctxs; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == handle) {
            struct va_ctx *ctx = *pp;
            *pp = ctx->next;
            ctx_free(ctx);
            return;
        }
    }
}

VIRGL_EXPORT int
virgl_renderer_submit_cmd(void *buffer, int ctx_id, int ndw)
{
    struct va_ctx *ctx = va.inited ? va_ctx_find((uint32_t)ctx_id) : NULL;
    if (!ctx || !va_venus(ctx) || ndw < 0 || (size_t)ndw > VA_MAX_SUBMIT_BYTES / 4 ||
        (ndw && !buffer))
        return -EINVAL;
    if ((uintptr_t)buffer % 4)
        return -EFAULT;
    return va_be_submit(ctx, buffer, (size_t)ndw * 4);
}

VIRGL_EXPORT int
virgl_renderer_submit_cmd2(void *buffer, int ctx_id, int ndw, uint64_t *in_fence_ids,
                           uint32_t num_in_fences)
{
    (void)in_fence_ids;
    if (num_in_fences) {
        UNSUPPORTED("virgl_renderer_submit_cmd2 with in-fences");
        return -EINVAL;
    }
    return virgl_renderer_submit_cmd(buffer, ctx_id, ndw);
}

VIRGL_EXPORT void
virgl_renderer_force_ctx_0(void)
{
    /* No GL renderer to switch to; scanout GL work makes its context current itself. */
}

/* ---- reset, cleanup ---- */

static void
destroy_all(void)
{
    /* Contexts first: their threads stop before the resources they use go. */
    while (va.ctxs) {
        struct va_ctx *ctx = va.ctxs;
        va.ctxs = ctx->next;
        ctx_free(ctx);
    }
    va_res_destroy_all();
    fences_drop();
}

VIRGL_EXPORT void
virgl_renderer_reset(void)
{
    if (va.inited)
        destroy_all();
}

static virgl_log_callback_type log_cb;
static void *log_cb_data;
static virgl_free_data_callback_type log_cb_free;

VIRGL_EXPORT void
virgl_renderer_cleanup(void *cookie)
{
    (void)cookie;
    if (!va.inited)
        return;
    destroy_all();
    va_gl_fini();
    va_be_stop(false);
    close(va.event_fd);
    va.event_fd = -1;
    pv_renderer_destroy(va.r);
    va.r = NULL;
    va.remote = false;
    va.inited = false;
    if (log_cb_free)
        log_cb_free(log_cb_data);
    log_cb = NULL;
    log_cb_free = NULL;
}

/* ---- the rest of the 1.1 API: logging hooks and clean failures ---- */

VIRGL_EXPORT virgl_debug_callback_type
virgl_set_debug_callback(virgl_debug_callback_type cb)
{
    (void)cb; /* our log lines go to stderr */
    return NULL;
}

VIRGL_EXPORT void
virgl_set_log_callback(virgl_log_callback_type cb, void *user_data,
                       virgl_free_data_callback_type free_user_data_cb)
{
    /* Kept only to honour the ownership contract of user_data. */
    if (log_cb_free)
        log_cb_free(log_cb_data);
    log_cb = cb;
    log_cb_data = user_data;
    log_cb_free = free_user_data_cb;
}

VIRGL_EXPORT int
virgl_renderer_execute(void *execute_args, uint32_t execute_size)
{
    (void)execute_args;
    (void)execute_size;
    UNSUPPORTED("virgl_renderer_execute");
    return -EINVAL;
}

VIRGL_EXPORT int
virgl_renderer_export_fence(uint64_t client_fence_id, int *fd)
{
    (void)client_fence_id;
    if (fd)
        *fd = -1;
    UNSUPPORTED("virgl_renderer_export_fence");
    return -EINVAL;
}

/* virglrenderer 1.3's vtest-only entry points: vtest is our own front door. */
VIRGL_EXPORT int
virgl_renderer_attach_fence(int ctx_id, int fence_fd)
{
    (void)ctx_id;
    (void)fence_fd;
    UNSUPPORTED("virgl_renderer_attach_fence");
    return -EOPNOTSUPP;
}

VIRGL_EXPORT int
virgl_renderer_get_fence_fd(uint64_t fence_id)
{
    (void)fence_id;
    UNSUPPORTED("virgl_renderer_get_fence_fd");
    return -EOPNOTSUPP;
}

VIRGL_EXPORT int
virgl_renderer_get_dev_fd(int ctx_id)
{
    (void)ctx_id;
    UNSUPPORTED("virgl_renderer_get_dev_fd");
    return -EOPNOTSUPP;
}

VIRGL_EXPORT int
virgl_renderer_export_signalled_fence(void)
{
    UNSUPPORTED("virgl_renderer_export_signalled_fence");
    return -1;
}

VIRGL_EXPORT int
virgl_renderer_get_fd_for_texture(uint32_t tex_id, int *fd)
{
    (void)tex_id;
    if (fd)
        *fd = -1;
    UNSUPPORTED("virgl_renderer_get_fd_for_texture");
    return -EINVAL;
}

VIRGL_EXPORT int
virgl_renderer_get_fd_for_texture2(uint32_t tex_id, int *fd, int *stride, int *offset)
{
    (void)stride;
    (void)offset;
    return virgl_renderer_get_fd_for_texture(tex_id, fd);
}
