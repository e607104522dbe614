/* gpu/venus/context: contexts, resources, fences. See context.h. */
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "shm.h"

/* How long the fence thread stays awake after a retirement, and how often it
 * looks at a fence before a blocking wait. */
#define FENCE_SPIN_NS 500000ull
#define FENCE_POLLS 64

/* Decoded arguments of one command; far above any real command (shader code, cache data). */
#define CHANNEL_ARENA_LIMIT (64u << 20)

void
pv_channel_init(struct pv_channel *ch, struct pv_ctx *ctx, struct pv_ring *ring)
{
    memset(ch, 0, sizeof(*ch));
    ch->ctx = ctx;
    ch->ring = ring;
    pv_arena_init(&ch->arena, CHANNEL_ARENA_LIMIT);
    char name[16];
    if (ring)
        snprintf(name, sizeof(name), "r%u", ring->ordinal);
    ch->trace = pv_trace_buf_new(ctx->r->trace_fd, ctx->id, ring ? name : "c");
}

void
pv_channel_fini(struct pv_channel *ch)
{
    pv_channel_unpin_to(ch, 0);
    if (ch->reply.res)
        pv_resource_put(ch->reply.res);
    ch->reply.res = NULL;
    pv_arena_fini(&ch->arena);
    free(ch->exec_copy);
    ch->exec_copy = NULL;
    ch->exec_cap = 0;
    pv_trace_buf_free(ch->trace);
    ch->trace = NULL;
}

bool
pv_channel_alive(struct pv_channel *ch)
{
    struct pv_ctx *ctx = ch->ctx;
    if (pv_ctx_is_fatal(ctx))
        return false;
    if (ch->ring && __atomic_load_n(&ch->ring->stop, __ATOMIC_ACQUIRE))
        return false;
    return !ctx->cbs.alive || ctx->cbs.alive(ctx->cbs.data);
}

void
pv_ctx_fatal(struct pv_ctx *ctx, enum pv_fatal_reason reason, const char *why)
{
    /*
     * Mark the rings FATAL and the context fatal under the context lock, so
     * a front door that sees the context fatal and destroys it cannot take a
     * ring off the list before its client was told.
     */
    pthread_mutex_lock(&ctx->lock);
    bool was = atomic_exchange(&ctx->fatal, true);
    for (struct pv_ring *ring = ctx->rings; ring; ring = ring->next)
        pv_ring_set_fatal(ring);
    pthread_mutex_unlock(&ctx->lock);
    if (was)
        return;
    PV_STAT_ADD(ctx->r, contexts_fatal, 1);
    PV_STAT_ADD(ctx->r, fatal_reasons[reason], 1);
    pv_warn("venus", "context %u (%s): fatal (%s): %s; the context is disabled", ctx->id,
            ctx->name, pv_fatal_reason_name(reason), why);
    if (ctx->cbs.fatal)
        ctx->cbs.fatal(ctx->cbs.data);
}

void
pv_ctx_transport_fatal(struct pv_ctx *ctx, const char *why)
{
    if (!pv_ctx_is_fatal(ctx))
        pv_capture_event(ctx, PV_CAPTURE_TRANSPORT_FATAL, 0, 0, 0, 0, NULL, 0);
    pv_ctx_fatal(ctx, PV_FATAL_TRANSPORT, why);
}

bool
pv_ctx_is_fatal(const struct pv_ctx *ctx)
{
    return atomic_load(&((struct pv_ctx *)ctx)->fatal);
}

static void *fence_thread_main(void *arg);

int
pv_ctx_create(struct pv_renderer *r, uint32_t ctx_id, const char *name,
              const struct pv_ctx_callbacks *cbs, struct pv_ctx **out)
{
    if (r->stats_only)
        return -ENODEV; /* a renderer for statistics only has no host Vulkan */
    struct pv_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->r = r;
    ctx->id = ctx_id;
    pv_log_sanitize(ctx->name, sizeof(ctx->name), name ? name : "unnamed");
    if (cbs)
        ctx->cbs = *cbs;
    int err = pv_objtab_init(&ctx->objs, PV_CTX_MAX_OBJECTS);
    if (err) {
        free(ctx);
        return err;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    pv_clock_cond_init(&ctx->fence_cond);
    pv_clock_cond_init(&ctx->monitor_cond);
    pv_channel_init(&ctx->chan, ctx, NULL);
    ctx->fence_trace = pv_trace_buf_new(r->trace_fd, ctx->id, "f");
    pv_capture_ctx_init(ctx);
    atomic_fetch_add(&r->ctx_count, 1);
    PV_STAT_ADD(r, contexts_created, 1);
    pv_dbg("venus", "context %u (%s) created", ctx->id, ctx->name);
    *out = ctx;
    return 0;
}

void
pv_ctx_destroy(struct pv_ctx *ctx)
{
    if (!ctx)
        return;
    /* Stop the rings first: nothing may dispatch while objects go away. */
    for (;;) {
        pthread_mutex_lock(&ctx->lock);
        struct pv_ring *ring = ctx->rings;
        pthread_mutex_unlock(&ctx->lock);
        if (!ring)
            break;
        pv_ring_destroy(ring);
    }
    pthread_mutex_lock(&ctx->lock);
    /* Also read without the lock (the fence thread between host waits). */
    __atomic_store_n(&ctx->stopping, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&ctx->fence_cond);
    pthread_cond_broadcast(&ctx->monitor_cond);
    pthread_mutex_unlock(&ctx->lock);
    if (ctx->fence_thread_started)
        pthread_join(ctx->fence_thread, NULL);
    pv_trace_buf_free(ctx->fence_trace);
    ctx->fence_trace = NULL;
    if (ctx->monitor_started)
        pthread_join(ctx->monitor_thread, NULL);
    /*
     * Fences still queued may still be signalled by their queue: they go with
     * their devices, after the queues are idle (destroy_all).
     */
    for (uint32_t i = ctx->fence_head; i != ctx->fence_tail; i = (i + 1) % PV_FENCE_QUEUE_MAX) {
        struct pv_fence_req *f = &ctx->fences[i];
        if (f->host) {
            pv_lifetime_adopt_fence(ctx, f->dev, f->host);
            pv_life_put(&f->dev->life);
        }
    }
    ctx->fence_head = ctx->fence_tail;
    pv_venus_destroy_all(ctx);
    pv_channel_fini(&ctx->chan);
    struct pv_resource *res = ctx->resources;
    while (res) {
        struct pv_resource *next = res->next;
        pv_resource_put(res);
        res = next;
    }
    pv_objtab_fini(&ctx->objs);
    pthread_cond_destroy(&ctx->fence_cond);
    pthread_cond_destroy(&ctx->monitor_cond);
    pthread_mutex_destroy(&ctx->lock);
    pv_capture_ctx_fini(ctx);
    atomic_fetch_sub(&ctx->r->ctx_count, 1);
    pv_dbg("venus", "context %u destroyed", ctx->id);
    free(ctx);
}

int
pv_ctx_submit(struct pv_ctx *ctx, const void *cmds, size_t size)
{
    if (pv_ctx_is_fatal(ctx))
        return -EINVAL;
    if (size % 4) {
        pv_ctx_fatal(ctx, PV_FATAL_DECODE, "submit size is not a multiple of 4");
        return -EINVAL;
    }
    pv_capture_stream(ctx, "submit", cmds, size);
    pv_capture_event(ctx, PV_CAPTURE_SUBMIT, 0, 0, 0, 0, cmds, size);
    PV_STAT_ADD(ctx->r, submit_bytes, size);
    uint64_t t0 = ctx->chan.trace ? pv_clock_now_ns() : 0;
    bool ok = pv_venus_dispatch_stream(&ctx->chan, cmds, size, NULL);
    if (t0)
        pv_trace_span(ctx->chan.trace, t0, pv_clock_now_ns(), "submit", size);
    pv_capture_event(ctx, PV_CAPTURE_SUBMIT_DONE, ok, 0, 0, 0, NULL, 0);
    if (!ok || pv_ctx_is_fatal(ctx))
        return -EINVAL;
    return 0;
}

/* ---- resources ---- */

void *
pv_resource_slice(const struct pv_resource *res, uint64_t off, uint64_t len)
{
    if (!res->base || off > res->size || len > res->size - off)
        return NULL;
    return (uint8_t *)res->base + off;
}

void
pv_resource_put(struct pv_resource *res)
{
    if (atomic_fetch_sub(&res->refs, 1) != 1)
        return;
    if (res->kind == PV_RESOURCE_SHM && res->base)
        munmap(res->base, res->size);
    if (res->fd >= 0)
        close(res->fd);
    free(res);
}

struct pv_resource *
pv_ctx_get_resource(struct pv_ctx *ctx, uint32_t res_id)
{
    pthread_mutex_lock(&ctx->lock);
    struct pv_resource *res = ctx->resources;
    while (res && res->id != res_id)
        res = res->next;
    if (res)
        atomic_fetch_add(&res->refs, 1);
    pthread_mutex_unlock(&ctx->lock);
    return res;
}

static int
add_resource(struct pv_ctx *ctx, struct pv_resource *res)
{
    pthread_mutex_lock(&ctx->lock);
    for (struct pv_resource *it = ctx->resources; it; it = it->next) {
        if (it->id == res->id) {
            pthread_mutex_unlock(&ctx->lock);
            return -EEXIST;
        }
    }
    if (res->kind == PV_RESOURCE_SHM) {
        /* Shared memory is the process's memory: every context draws on it. */
        /* Counted as the file the client can map and touch: whole
         * PV_SHM_PAGE_MAX units (pv_shm_round), not the bytes it named. */
        if (ctx->shm_blobs >= PV_CTX_MAX_SHM_BLOBS ||
            pv_shm_round(res->size) > PV_CTX_MAX_SHM_BYTES - ctx->shm_bytes) {
            pthread_mutex_unlock(&ctx->lock);
            return -ENOSPC;
        }
        ctx->shm_blobs++;
        ctx->shm_bytes += pv_shm_round(res->size);
    }
    res->next = ctx->resources;
    ctx->resources = res;
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

/* Largest shared-memory blob one request may create (rings, streams, replies). */
#define PV_SHM_MAX_SIZE (1ull << 30)

static int
create_blob(struct pv_ctx *ctx, uint32_t res_id, uint64_t blob_id, uint64_t size, uint32_t flags,
            int *fd_out, uint32_t *map_info)
{
    if (pv_ctx_is_fatal(ctx))
        return -EINVAL;
    if (map_info)
        *map_info = 0;
    if (blob_id)
        return pv_memory_export(ctx, blob_id, size, flags, fd_out);
    if (!(flags & PV_BLOB_FLAG_MAPPABLE) || !size || size > PV_SHM_MAX_SIZE)
        return -EINVAL;
    struct pv_resource *res = calloc(1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    res->id = res_id;
    res->kind = PV_RESOURCE_SHM;
    res->size = size;
    /* The file is a whole number of the largest pages a client may have
     * (pv_shm_round): a guest with 16 KiB pages asks for 4 KiB multiples
     * sometimes and maps whole pages always. The blob stays `size` long. */
    int err = pv_shm_create("pearvisor-shm", pv_shm_round(size));
    res->fd = err;
    if (err < 0)
        goto fail;
    res->base = pv_shm_map(res->fd, size, 0);
    if (!res->base) {
        err = -errno;
        goto fail;
    }
    atomic_init(&res->refs, 1);
    int fd = fcntl(res->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        goto fail;
    }
    /* The client's fd and our mapping keep the memory; we need no fd of our own. */
    close(res->fd);
    res->fd = -1;
    err = add_resource(ctx, res);
    if (err) {
        close(fd);
        if (err == -ENOSPC)
            pv_ctx_fatal(ctx, PV_FATAL_LIMIT, "the context holds its budget of shared-memory blobs "
                              "(PV_CTX_MAX_SHM_BLOBS, PV_CTX_MAX_SHM_BYTES)");
        goto fail;
    }
    *fd_out = fd;
    PV_STAT_ADD(ctx->r, blobs_created, 1);
    PV_STAT_ADD(ctx->r, blob_bytes, size);
    if (map_info)
        *map_info = 0x1; /* VIRTIO_GPU_MAP_CACHE_CACHED: shared memory is ordinary coherent memory */
    return 0;
fail:
    if (res->base)
        munmap(res->base, size);
    if (res->fd >= 0)
        close(res->fd);
    free(res);
    return err;
}

int
pv_ctx_create_blob(struct pv_ctx *ctx, uint32_t res_id, uint64_t blob_id, uint64_t size,
                   uint32_t flags, int *fd_out, uint32_t *map_info)
{
    int err = create_blob(ctx, res_id, blob_id, size, flags, fd_out, map_info);
    pv_capture_event(ctx, PV_CAPTURE_BLOB, res_id, blob_id, size,
                     flags | (uint64_t)(uint32_t)err << 32, NULL, 0);
    return err;
}

static int
import_resource(struct pv_ctx *ctx, uint32_t res_id, void *base, uint64_t size)
{
    struct pv_resource *res = calloc(1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    res->id = res_id;
    res->kind = PV_RESOURCE_IMPORTED;
    res->base = base;
    res->size = size;
    res->fd = -1;
    atomic_init(&res->refs, 1);
    int err = add_resource(ctx, res);
    if (err)
        free(res);
    return err;
}

int
pv_ctx_import_resource(struct pv_ctx *ctx, uint32_t res_id, void *base, uint64_t size)
{
    int err = import_resource(ctx, res_id, base, size);
    pv_capture_event(ctx, PV_CAPTURE_IMPORT, res_id, 0, size, (uint64_t)(uint32_t)err << 32, NULL,
                     0);
    return err;
}

void
pv_ctx_destroy_resource(struct pv_ctx *ctx, uint32_t res_id)
{
    pv_capture_event(ctx, PV_CAPTURE_UNREF, res_id, 0, 0, 0, NULL, 0);
    pthread_mutex_lock(&ctx->lock);
    struct pv_resource **pp = &ctx->resources;
    while (*pp && (*pp)->id != res_id)
        pp = &(*pp)->next;
    struct pv_resource *res = *pp;
    if (res) {
        *pp = res->next;
        if (res->kind == PV_RESOURCE_SHM) {
            ctx->shm_blobs--;
            ctx->shm_bytes -= pv_shm_round(res->size);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (res)
        pv_resource_put(res);
}

/* ---- fences ---- */

static void
fence_start(struct pv_ctx *ctx)
{
    /* Called with ctx->lock held. */
    if (ctx->fence_thread_started)
        return;
    if (pthread_create(&ctx->fence_thread, NULL, fence_thread_main, ctx) == 0)
        ctx->fence_thread_started = true;
}

/* An unsignalled host fence of dev's: a pooled one, else a new one; NULL on failure. */
static VkFence
fence_get(struct pv_ctx *ctx, struct pv_device *dev)
{
    VkFence fence = VK_NULL_HANDLE;
    pthread_mutex_lock(&dev->fence_pool_lock);
    if (dev->fence_pool_count)
        fence = dev->fence_pool[--dev->fence_pool_count];
    pthread_mutex_unlock(&dev->fence_pool_lock);
    if (fence)
        return fence;
    uint64_t t0 = ctx->chan.trace ? pv_clock_now_ns() : 0;
    const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if (dev->t.CreateFence(dev->host, &fci, NULL, &fence) != VK_SUCCESS)
        fence = VK_NULL_HANDLE;
    if (t0)
        pv_trace_span(ctx->chan.trace, t0, pv_clock_now_ns(), "host-CreateFence", 0);
    return fence;
}

/* A signalled fence back into dev's pool, reset; destroyed when the pool is full. */
static void
fence_put(struct pv_device *dev, VkFence fence)
{
    if (dev->t.ResetFences(dev->host, 1, &fence) == VK_SUCCESS) {
        pthread_mutex_lock(&dev->fence_pool_lock);
        bool kept = dev->fence_pool_count < PV_DEVICE_FENCE_POOL;
        if (kept)
            dev->fence_pool[dev->fence_pool_count++] = fence;
        pthread_mutex_unlock(&dev->fence_pool_lock);
        if (kept)
            return;
    }
    dev->t.DestroyFence(dev->host, fence, NULL);
}

int
pv_ctx_create_fence(struct pv_ctx *ctx, uint32_t ring_idx, uint64_t fence_id)
{
    if (ring_idx >= PV_MAX_TIMELINES)
        return -EINVAL;
    pv_capture_event(ctx, PV_CAPTURE_FENCE, ring_idx, fence_id, 0, 0, NULL, 0);
    struct pv_fence_req req = {.ring_idx = ring_idx, .fence_id = fence_id};
    if (ctx->chan.trace) {
        uint64_t now = pv_clock_now_ns();
        pv_trace_span(ctx->chan.trace, now, now, "fence-create", fence_id);
    }
    struct pv_device *unref = NULL; /* a reference to drop once the lock is released */
    pthread_mutex_lock(&ctx->lock);
    struct pv_queue *q = ctx->timelines[ring_idx];
    /* The pending fence keeps the device (and so the queue) alive; a destroyed one has none. */
    if (q && !pv_ctx_is_fatal(ctx) && pv_life_get(&q->dev->life, true)) {
        struct pv_device *dev = q->dev;
        unref = dev;
        VkFence fence = fence_get(ctx, dev);
        if (fence) {
            /* An empty submit signals the fence once all earlier work on the queue is done. */
            uint64_t t0 = ctx->chan.trace ? pv_clock_now_ns() : 0;
            pthread_mutex_lock(&q->lock);
            VkResult res = dev->t.QueueSubmit(q->host, 0, NULL, fence);
            pthread_mutex_unlock(&q->lock);
            if (t0)
                pv_trace_span(ctx->chan.trace, t0, pv_clock_now_ns(), "host-fence-submit",
                              fence_id);
            if (res == VK_SUCCESS) {
                req.host = fence;
                req.dev = dev;
                unref = NULL;
            } else {
                dev->t.DestroyFence(dev->host, fence, NULL);
            }
        }
    }
    uint32_t next = (ctx->fence_tail + 1) % PV_FENCE_QUEUE_MAX;
    if (next == ctx->fence_head) {
        pthread_mutex_unlock(&ctx->lock);
        if (req.host) {
            /* Submitted: the queue may still signal it. */
            pv_lifetime_adopt_fence(ctx, req.dev, req.host);
            pv_life_put(&req.dev->life);
        }
        if (unref)
            pv_life_put(&unref->life);
        return -EBUSY;
    }
    ctx->fences[ctx->fence_tail] = req;
    /* Atomic: the fence thread's spin reads it without the lock. */
    __atomic_store_n(&ctx->fence_tail, next, __ATOMIC_RELEASE);
    fence_start(ctx);
    pthread_cond_signal(&ctx->fence_cond);
    pthread_mutex_unlock(&ctx->lock);
    if (unref)
        pv_life_put(&unref->life);
    return 0;
}

/*
 * Retires fences in order. A fence of a ring with work waits for its host
 * fence; one without retires at once, but only after the fences queued
 * before it (callers rely on in-order retirement per ring).
 */
static void *
fence_thread_main(void *arg)
{
    struct pv_ctx *ctx = arg;
    pthread_setname_np(pthread_self(), "pv-fence");
    pthread_mutex_lock(&ctx->lock);
    uint64_t last_retired = 0;
    while (!ctx->stopping) {
        if (ctx->fence_head == ctx->fence_tail) {
            /*
             * A client that waits for each submit sends the next fence soon:
             * stay awake a while rather than pay a wake-up (tens to hundreds
             * of microseconds on an idle core) on each one.
             */
            if (pv_clock_now_ns() - last_retired < FENCE_SPIN_NS) {
                /* Without the lock: the front door takes it to queue a fence. */
                uint32_t head = ctx->fence_head; /* only this thread moves it */
                pthread_mutex_unlock(&ctx->lock);
                uint64_t until = last_retired + FENCE_SPIN_NS;
                while (__atomic_load_n(&ctx->fence_tail, __ATOMIC_ACQUIRE) == head &&
                       !__atomic_load_n(&ctx->stopping, __ATOMIC_RELAXED) &&
                       pv_clock_now_ns() < until)
                    sched_yield();
                pthread_mutex_lock(&ctx->lock);
                if (ctx->fence_head == ctx->fence_tail)
                    last_retired = 0; /* the spin is over: sleep until signalled */
                continue;
            }
            pthread_cond_wait(&ctx->fence_cond, &ctx->lock);
            continue;
        }
        struct pv_fence_req req = ctx->fences[ctx->fence_head];
        pthread_mutex_unlock(&ctx->lock);
        if (req.host) {
            uint64_t t0 = ctx->fence_trace ? pv_clock_now_ns() : 0;
            /* Small work is done in microseconds: look before a blocking wait. */
            VkResult res = VK_NOT_READY;
            for (int i = 0; i < FENCE_POLLS && res == VK_NOT_READY; i++) {
                res = req.dev->t.GetFenceStatus(req.dev->host, req.host);
                if (res == VK_NOT_READY)
                    sched_yield();
            }
            if (res != VK_SUCCESS) {
                do {
                    res = req.dev->t.WaitForFences(req.dev->host, 1, &req.host, VK_TRUE,
                                                   100000000ull);
                } while (res == VK_TIMEOUT && !__atomic_load_n(&ctx->stopping, __ATOMIC_RELAXED));
            }
            if (res == VK_TIMEOUT) {
                pthread_mutex_lock(&ctx->lock);
                break; /* stopping: the destroy path frees the fence */
            }
            if (t0)
                pv_trace_span(ctx->fence_trace, t0, pv_clock_now_ns(), "fence-wait", req.fence_id);
            if (res == VK_SUCCESS)
                fence_put(req.dev, req.host);
            else
                req.dev->t.DestroyFence(req.dev->host, req.host, NULL);
            /* May be the device's last reference: its teardown runs here. */
            pv_life_put(&req.dev->life);
        }
        PV_STAT_ADD(ctx->r, fences_retired, 1);
        if (ctx->cbs.fence_retired)
            ctx->cbs.fence_retired(ctx->cbs.data, req.ring_idx, req.fence_id);
        pthread_mutex_lock(&ctx->lock);
        ctx->fence_head = (ctx->fence_head + 1) % PV_FENCE_QUEUE_MAX;
        last_retired = pv_clock_now_ns();
    }
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}
