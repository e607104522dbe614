/*
 * gpu/venus/ring: the shared-memory command rings of a Venus context.
 *
 * Trust:   head, tail, status and every byte of the buffer live in memory
 *          the client can write at any time. tail is read once per pass into
 *          a local and checked against the buffer size; the bytes between
 *          our position and that tail are copied out before decoding, so the
 *          decoder never sees them change.
 * Threads: one thread per ring decodes and dispatches. It spins briefly
 *          (yield, then short sleeps) after work, sets IDLE after the ring's
 *          idle timeout and sleeps until vkNotifyRingMESA. The seqno waits
 *          between a ring and the context channel are made in slices and end
 *          when the ring stops, the context is fatal or the client is gone;
 *          the two waiting on each other is detected and fatal.
 * Spec:    docs/venus-protocol.md §4.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "context.h"
#include "log.h"

#define RING_BUFFER_MAX_SIZE (16u << 20)
/* Each ring is a thread and a buffer copy; Mesa uses one per client thread. */
#define RING_MAX_PER_CONTEXT 64

void
pv_ring_set_fatal(struct pv_ring *ring)
{
    atomic_fetch_or(ring->status, VK_RING_STATUS_FATAL_BIT_MESA);
    pthread_mutex_lock(&ring->lock);
    pthread_cond_broadcast(&ring->cond);
    pthread_mutex_unlock(&ring->lock);
}

static void
ring_set_alive(struct pv_ring *ring)
{
    atomic_fetch_or(ring->status, VK_RING_STATUS_ALIVE_BIT_MESA);
}

void
pv_ring_notify(struct pv_ring *ring)
{
    PV_STAT_ADD(ring->ctx->r, ring_notifies, 1);
    pthread_mutex_lock(&ring->lock);
    ring->notified = true;
    pthread_cond_broadcast(&ring->cond);
    pthread_mutex_unlock(&ring->lock);
}

/* Called by the dispatcher after each command: publish progress. */
static void
ring_progress(struct pv_channel *ch, size_t consumed)
{
    struct pv_ring *ring = ch->ring;
    atomic_store_explicit(ring->head, ring->cur + (uint32_t)consumed, memory_order_release);
    if (__atomic_load_n(&ring->head_waiters, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&ring->lock);
        pthread_cond_broadcast(&ring->cond);
        pthread_mutex_unlock(&ring->lock);
    }
}

/*
 * Backoff between polls of an active ring. Clients submit in bursts and
 * often wait on the result right away, so pickup latency is what a dispatch
 * or a token pays: yield for a while (about 50-100 us), then sleep 10, 20,
 * then 40 us at a time (the thread's timers are precise), until the ring's
 * idle timeout puts the thread to sleep for good. The sleeps are timed waits
 * a context-channel seqno wait cuts short (pv_ring_wait_seqno kicks): the
 * client that sends one is waiting for this ring right now.
 */
static void
ring_relax(struct pv_ring *ring, uint32_t iter)
{
    if (iter < 128) {
        sched_yield();
        return;
    }
    uint32_t shift = (iter - 128) / 32;
    struct timespec ts;
    pv_clock_deadline(&ts, 10000ull << (shift > 2 ? 2 : shift));
    uint64_t t0 = ring->chan.trace ? pv_clock_now_ns() : 0;
    pthread_mutex_lock(&ring->lock);
    if (!ring->kick && !ring->stop)
        pthread_cond_timedwait(&ring->cond, &ring->lock, &ts);
    ring->kick = false;
    pthread_mutex_unlock(&ring->lock);
    if (t0)
        pv_trace_span(ring->chan.trace, t0, pv_clock_now_ns(), "ring-sleep", 0);
}

static void
ring_sleep_until_notified(struct pv_ring *ring)
{
    atomic_fetch_or(ring->status, VK_RING_STATUS_IDLE_BIT_MESA);
    /* Pairs with the client's store of tail and load of status (both seq_cst). */
    uint32_t tail = atomic_load(ring->tail);
    uint64_t t0 = ring->chan.trace ? pv_clock_now_ns() : 0;
    pthread_mutex_lock(&ring->lock);
    if (tail == ring->cur) {
        PV_STAT_ADD(ring->ctx->r, ring_sleeps, 1);
        ring->sleeping = true;
        pthread_cond_broadcast(&ring->cond); /* wake seqno waiters to recheck */
        /*
         * The client stores tail with release order and then loads status;
         * on x86 that load can pass the store, so a client can miss our IDLE
         * just as we miss its tail, and then it sends no notify. That race
         * only exists at the moment we go idle: look again after 1 ms, then
         * sleep for long stretches.
         */
        uint64_t wait_ns = 1000000ull;
        while (!ring->notified && !ring->stop && !pv_ctx_is_fatal(ring->ctx)) {
            struct timespec ts;
            pv_clock_deadline(&ts, wait_ns);
            wait_ns = 1000000000ull;
            pthread_cond_timedwait(&ring->cond, &ring->lock, &ts);
            if (atomic_load(ring->tail) != ring->cur)
                break;
        }
        ring->sleeping = false;
    }
    ring->notified = false;
    pthread_mutex_unlock(&ring->lock);
    atomic_fetch_and(ring->status, ~(uint32_t)VK_RING_STATUS_IDLE_BIT_MESA);
    if (t0)
        pv_trace_span(ring->chan.trace, t0, pv_clock_now_ns(), "ring-sleep", 1);
}

static void *
ring_thread_main(void *arg)
{
    struct pv_ring *ring = arg;
    struct pv_ctx *ctx = ring->ctx;
    uint64_t last_active = pv_clock_now_ns();
    uint32_t iter = 0;
    pthread_setname_np(pthread_self(), "pv-ring"); /* what a leak check or a debugger shows */
    pv_clock_precise_sleeps();

    for (;;) {
        pthread_mutex_lock(&ring->lock);
        bool stop = ring->stop;
        pthread_mutex_unlock(&ring->lock);
        if (stop)
            break;
        if (pv_ctx_is_fatal(ctx)) {
            pthread_mutex_lock(&ring->lock);
            while (!ring->stop)
                pthread_cond_wait(&ring->cond, &ring->lock);
            pthread_mutex_unlock(&ring->lock);
            break;
        }
        uint32_t tail = atomic_load_explicit(ring->tail, memory_order_acquire);
        if (tail == ring->cur) {
            if (pv_clock_now_ns() - last_active >= ring->idle_timeout_ns) {
                ring_sleep_until_notified(ring);
                last_active = pv_clock_now_ns();
                iter = 0;
            } else {
                ring_relax(ring, iter++);
            }
            continue;
        }
        uint32_t size = tail - ring->cur;
        if (size > ring->buf_size || size % 4) {
            pv_ctx_fatal(ctx, PV_FATAL_RING, "ring tail is out of range");
            continue;
        }
        uint32_t pos = ring->cur & (ring->buf_size - 1);
        uint32_t first = ring->buf_size - pos < size ? ring->buf_size - pos : size;
        memcpy(ring->scratch, ring->buf + pos, first);
        memcpy(ring->scratch + first, ring->buf, size - first);
        pv_capture_stream(ctx, "ring", ring->scratch, size);
        pv_capture_event(ctx, PV_CAPTURE_RING_READ, 0, ring->id, 0, 0, ring->scratch, size);
        PV_STAT_ADD(ctx->r, ring_bytes, size);
        bool ok = pv_venus_dispatch_stream(&ring->chan, ring->scratch, size, ring_progress);
        pv_capture_event(ctx, PV_CAPTURE_RING_DONE, ok, ring->id, 0, 0, NULL, 0);
        if (!ok) {
            pv_ctx_fatal(ctx, PV_FATAL_DECODE,
                         ring->chan.arena.used ? "ring command failed to decode"
                                               : "ring command failed");
            continue;
        }
        ring->cur = tail;
        atomic_store_explicit(ring->head, tail, memory_order_release);
        last_active = pv_clock_now_ns();
        iter = 0;
    }
    return NULL;
}

/* Sets ALIVE on every monitored ring of the context, at the smallest period asked for. */
static void *
monitor_thread_main(void *arg)
{
    struct pv_ctx *ctx = arg;
    pthread_setname_np(pthread_self(), "pv-monitor");
    pthread_mutex_lock(&ctx->lock);
    while (!ctx->stopping) {
        for (struct pv_ring *ring = ctx->rings; ring; ring = ring->next)
            if (ring->monitor_period_us)
                ring_set_alive(ring);
        struct timespec ts;
        pv_clock_deadline(&ts, (uint64_t)ctx->monitor_period_us * 1000ull);
        pthread_cond_timedwait(&ctx->monitor_cond, &ctx->lock, &ts);
    }
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

/*
 * [off, off + len) inside the ring's part [base, base + size) of the
 * resource, with its first byte 4-byte aligned in host memory: head, tail
 * and status are atomics, and the resource's own base need not be aligned
 * (a front door may import memory at any address).
 */
static bool
region_ok(const struct pv_resource *res, uint64_t off, uint64_t len, uint64_t base, uint64_t size)
{
    return off >= base && off - base <= size && len <= size - (off - base) &&
           ((uintptr_t)res->base + off) % 4 == 0;
}

static bool
regions_disjoint(const uint64_t (*r)[2], int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (r[i][0] < r[j][0] + r[j][1] && r[j][0] < r[i][0] + r[i][1])
                return false;
    return true;
}

int
pv_ring_create(struct pv_ctx *ctx, uint64_t ring_id, const VkRingCreateInfoMESA *info)
{
    if (pv_ctx_find_ring(ctx, ring_id)) {
        pv_ctx_fatal(ctx, PV_FATAL_RING, "vkCreateRingMESA: ring id in use");
        return -EINVAL;
    }
    unsigned nrings = 0;
    pthread_mutex_lock(&ctx->lock);
    for (struct pv_ring *r = ctx->rings; r; r = r->next)
        nrings++;
    pthread_mutex_unlock(&ctx->lock);
    if (nrings >= RING_MAX_PER_CONTEXT) {
        pv_ctx_fatal(ctx, PV_FATAL_LIMIT, "vkCreateRingMESA: too many rings");
        return -EINVAL;
    }
    struct pv_resource *res = pv_ctx_get_resource(ctx, info->resourceId);
    if (!res || !res->base) {
        if (res)
            pv_resource_put(res);
        pv_ctx_fatal(ctx, PV_FATAL_RING,
                     "vkCreateRingMESA: not a shared-memory resource of this context");
        return -EINVAL;
    }
    uint64_t base = info->offset, size = info->size;
    const uint64_t regions[5][2] = {
        {info->headOffset, 4},   {info->tailOffset, 4},
        {info->statusOffset, 4}, {info->bufferOffset, info->bufferSize},
        {info->extraOffset, info->extraSize},
    };
    bool ok = base <= res->size && size <= res->size - base && info->bufferSize &&
              info->bufferSize <= RING_BUFFER_MAX_SIZE &&
              !(info->bufferSize & (info->bufferSize - 1)) && regions_disjoint(regions, 5);
    for (int i = 0; ok && i < 5; i++)
        ok = region_ok(res, regions[i][0], regions[i][1], base, size);
    if (!ok) {
        pv_resource_put(res);
        pv_ctx_fatal(ctx, PV_FATAL_RING, "vkCreateRingMESA: bad ring layout");
        return -EINVAL;
    }
    uint32_t period = 0;
    for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA) {
            period = ((const VkRingMonitorInfoMESA *)s)->maxReportingPeriodMicroseconds;
            if (!period) {
                pv_resource_put(res);
                pv_ctx_fatal(ctx, PV_FATAL_RING, "vkCreateRingMESA: monitor period 0");
                return -EINVAL;
            }
        }
    }

    struct pv_ring *ring = calloc(1, sizeof(*ring));
    uint8_t *scratch = malloc(info->bufferSize);
    if (!ring || !scratch) {
        free(ring);
        free(scratch);
        pv_resource_put(res);
        return -ENOMEM;
    }
    uint8_t *b = res->base;
    ring->ctx = ctx;
    ring->id = ring_id;
    ring->res = res;
    /*
     * SAFETY: each control word is a 4-byte region inside the resource
     * (region_ok) whose host address is 4-byte aligned, so these atomics are
     * in range and aligned; the client may write them at any time, which is
     * what atomics are for.
     */
    ring->head = (atomic_uint *)(b + info->headOffset);
    ring->tail = (atomic_uint *)(b + info->tailOffset);
    ring->status = (atomic_uint *)(b + info->statusOffset);
    ring->buf = b + info->bufferOffset;
    ring->buf_size = (uint32_t)info->bufferSize;
    ring->extra = b + info->extraOffset;
    ring->extra_size = info->extraSize;
    /* A client-chosen idle timeout only decides when we go to sleep; bound it. */
    ring->idle_timeout_ns = info->idleTimeout > 1000000000ull ? 1000000000ull : info->idleTimeout;
    ring->monitor_period_us = period;
    ring->scratch = scratch;
    ring->cur = atomic_load(ring->head);
    pthread_mutex_lock(&ctx->lock);
    ring->ordinal = ctx->rings_made++;
    pthread_mutex_unlock(&ctx->lock);
    pthread_mutex_init(&ring->lock, NULL);
    pv_clock_cond_init(&ring->cond);
    pv_channel_init(&ring->chan, ctx, ring);

    pthread_mutex_lock(&ctx->lock);
    if (pthread_create(&ring->thread, NULL, ring_thread_main, ring)) {
        pthread_mutex_unlock(&ctx->lock);
        pv_channel_fini(&ring->chan);
        pv_resource_put(res);
        free(scratch);
        free(ring);
        return -EAGAIN;
    }
    ring->next = ctx->rings;
    ctx->rings = ring;
    if (period) {
        if (!ctx->monitor_period_us || period < ctx->monitor_period_us)
            ctx->monitor_period_us = period;
        if (!ctx->monitor_started) {
            if (pthread_create(&ctx->monitor_thread, NULL, monitor_thread_main, ctx) == 0)
                ctx->monitor_started = true;
        }
        ring_set_alive(ring);
        pthread_cond_broadcast(&ctx->monitor_cond);
    }
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

struct pv_ring *
pv_ctx_find_ring(struct pv_ctx *ctx, uint64_t ring_id)
{
    pthread_mutex_lock(&ctx->lock);
    struct pv_ring *ring = ctx->rings;
    while (ring && ring->id != ring_id)
        ring = ring->next;
    pthread_mutex_unlock(&ctx->lock);
    return ring;
}

void
pv_ring_destroy(struct pv_ring *ring)
{
    struct pv_ctx *ctx = ring->ctx;
    pthread_mutex_lock(&ctx->lock);
    struct pv_ring **pp = &ctx->rings;
    while (*pp && *pp != ring)
        pp = &(*pp)->next;
    if (*pp)
        *pp = ring->next;
    pthread_mutex_unlock(&ctx->lock);

    pthread_mutex_lock(&ring->lock);
    __atomic_store_n(&ring->stop, true, __ATOMIC_RELEASE); /* read without the lock by waits */
    pthread_cond_broadcast(&ring->cond);
    pthread_mutex_unlock(&ring->lock);
    pthread_join(ring->thread, NULL);

    pv_channel_fini(&ring->chan);
    pv_resource_put(ring->res);
    pthread_cond_destroy(&ring->cond);
    pthread_mutex_destroy(&ring->lock);
    free(ring->scratch);
    free(ring);
}

/* Wrap-aware "head has reached seqno" on the 32-bit free-running counter. */
static bool
seqno_reached(uint32_t head, uint32_t seqno)
{
    return (int32_t)(head - seqno) >= 0;
}

const char *
pv_ring_wait_seqno(struct pv_ring *ring, struct pv_channel *ch, uint64_t seqno)
{
    const char *why = NULL;
    pthread_mutex_lock(&ring->lock);
    __atomic_add_fetch(&ring->head_waiters, 1, __ATOMIC_ACQ_REL);
    /* The ring thread may be in a poll sleep with the commands already there. */
    ring->kick = true;
    pthread_cond_broadcast(&ring->cond);
    while (!seqno_reached(atomic_load_explicit(ring->head, memory_order_acquire), (uint32_t)seqno)) {
        if (ring->stop || !pv_channel_alive(ch)) {
            why = "vkWaitRingSeqnoMESA: " PV_WAIT_CUT_SHORT;
            break;
        }
        /* Asleep with nothing left to read: the seqno can never come. */
        if (ring->sleeping && atomic_load(ring->tail) == ring->cur) {
            why = "vkWaitRingSeqnoMESA: the ring can never reach the seqno";
            break;
        }
        /*
         * The ring waits for a virtqueue seqno that only this channel can
         * submit, and this channel waits for the ring: neither can move.
         */
        if (ring->vq_wait > __atomic_load_n(&ring->vq_seqno, __ATOMIC_ACQUIRE)) {
            why = "vkWaitRingSeqnoMESA: the ring waits for a virtqueue seqno this wait holds up";
            break;
        }
        struct timespec ts;
        pv_clock_deadline(&ts, 10000000ull);
        pthread_cond_timedwait(&ring->cond, &ring->lock, &ts);
    }
    __atomic_sub_fetch(&ring->head_waiters, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&ring->lock);
    return why;
}

void
pv_ring_submit_vq_seqno(struct pv_ring *ring, uint64_t seqno)
{
    pthread_mutex_lock(&ring->lock);
    if (seqno > __atomic_load_n(&ring->vq_seqno, __ATOMIC_RELAXED))
        __atomic_store_n(&ring->vq_seqno, seqno, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ring->cond);
    pthread_mutex_unlock(&ring->lock);
}

/*
 * A ring waits here for the context channel to catch up (the client's
 * ordering round trip between a TLS ring and the primary ring). The other
 * side is usually microseconds away, so poll for a short while before
 * blocking: a futex wake-up costs more than the whole round trip.
 */
bool
pv_ring_wait_vq_seqno(struct pv_ring *ring, uint64_t seqno)
{
    for (uint32_t i = 0; i < 256; i++) {
        if (__atomic_load_n(&ring->vq_seqno, __ATOMIC_ACQUIRE) >= seqno)
            return true;
        sched_yield();
    }
    bool ok = true;
    pthread_mutex_lock(&ring->lock);
    /* Seen by a context-channel wait on this ring (pv_ring_wait_seqno). */
    ring->vq_wait = seqno;
    pthread_cond_broadcast(&ring->cond);
    while (__atomic_load_n(&ring->vq_seqno, __ATOMIC_RELAXED) < seqno) {
        if (ring->stop || !pv_channel_alive(&ring->chan)) {
            ok = false;
            break;
        }
        struct timespec ts;
        pv_clock_deadline(&ts, PV_WAIT_SLICE_NS);
        pthread_cond_timedwait(&ring->cond, &ring->lock, &ts);
    }
    ring->vq_wait = 0;
    pthread_mutex_unlock(&ring->lock);
    return ok;
}
