/*
 * gpu/venus/transport: the Venus-only commands that move bytes rather than
 * call Vulkan: rings, reply streams, indirect command streams and the
 * seqno handshakes between the context channel and the rings.
 *
 * Trust:   every resource id, offset and size here is client controlled and
 *          checked with pv_resource_slice(). Commands that belong to one
 *          channel (rings are created through the context channel; waits on
 *          virtqueue seqnos happen on rings) are refused on the other.
 * Spec:    docs/venus-protocol.md §3.6, §3.7 and §4.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"


static bool
on_context_channel(struct pv_channel *ch, struct pv_cs_dec *dec)
{
    if (ch->ring)
        return pv_dispatch_fail_as(dec, PV_FATAL_UNSUPPORTED, "transport command sent on a ring");
    return true;
}

PV_DECLARE_HANDLER(vkCreateRingMESA)
{
    ARGS(vkCreateRingMESA);
    if (!on_context_channel(ch, dec))
        return false;
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateRingMESA without create info");
    return pv_ring_create(ch->ctx, a->ring, a->pCreateInfo) == 0;
}

static struct pv_ring *
find_ring(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id)
{
    struct pv_ring *ring = pv_ctx_find_ring(ch->ctx, id);
    if (!ring)
        pv_dispatch_fail_as(dec, PV_FATAL_RING, "unknown ring");
    return ring;
}

PV_DECLARE_HANDLER(vkDestroyRingMESA)
{
    ARGS(vkDestroyRingMESA);
    if (!on_context_channel(ch, dec))
        return false;
    struct pv_ring *ring = find_ring(ch, dec, a->ring);
    if (!ring)
        return false;
    pv_ring_destroy(ring);
    return true;
}

PV_DECLARE_HANDLER(vkNotifyRingMESA)
{
    ARGS(vkNotifyRingMESA);
    if (!on_context_channel(ch, dec))
        return false;
    struct pv_ring *ring = find_ring(ch, dec, a->ring);
    if (!ring)
        return false;
    pv_ring_notify(ring);
    return true;
}

PV_DECLARE_HANDLER(vkWriteRingExtraMESA)
{
    ARGS(vkWriteRingExtraMESA);
    if (!on_context_channel(ch, dec))
        return false;
    struct pv_ring *ring = find_ring(ch, dec, a->ring);
    if (!ring)
        return false;
    uint64_t off = a->offset;
    if (off > ring->extra_size || ring->extra_size - off < 4 || off % 4)
        return pv_dispatch_fail_as(dec, PV_FATAL_RING,
                                   "vkWriteRingExtraMESA outside the extra region");
    __atomic_store_n((uint32_t *)(ring->extra + off), a->value, __ATOMIC_RELEASE);
    return true;
}

PV_DECLARE_HANDLER(vkSubmitVirtqueueSeqnoMESA)
{
    ARGS(vkSubmitVirtqueueSeqnoMESA);
    if (!on_context_channel(ch, dec))
        return false;
    struct pv_ring *ring = find_ring(ch, dec, a->ring);
    if (!ring)
        return false;
    pv_ring_submit_vq_seqno(ring, a->seqno);
    return true;
}

PV_DECLARE_HANDLER(vkWaitRingSeqnoMESA)
{
    ARGS(vkWaitRingSeqnoMESA);
    if (!on_context_channel(ch, dec))
        return false;
    struct pv_ring *ring = find_ring(ch, dec, a->ring);
    if (!ring)
        return false;
    const char *why = pv_ring_wait_seqno(ring, ch, a->seqno);
    return why ? pv_dispatch_fail_as(dec, PV_FATAL_RING, why) : true;
}

PV_DECLARE_HANDLER(vkWaitVirtqueueSeqnoMESA)
{
    ARGS(vkWaitVirtqueueSeqnoMESA);
    if (!ch->ring)
        return pv_dispatch_fail(dec, "vkWaitVirtqueueSeqnoMESA outside a ring");
    if (!pv_ring_wait_vq_seqno(ch->ring, a->seqno))
        return pv_dispatch_fail(dec, "vkWaitVirtqueueSeqnoMESA interrupted");
    return true;
}

/* Maps a stream description to host memory inside a resource of this context. */
static const uint8_t *
stream_slice(struct pv_channel *ch, struct pv_cs_dec *dec,
             const VkCommandStreamDescriptionMESA *d, struct pv_resource **res_out)
{
    struct pv_resource *res = pv_ctx_get_resource(ch->ctx, d->resourceId);
    const uint8_t *p = res ? pv_resource_slice(res, d->offset, d->size) : NULL;
    if (!p) {
        if (res)
            pv_resource_put(res);
        pv_dispatch_fail(dec, "command stream outside its resource");
        return NULL;
    }
    *res_out = res;
    return p;
}

PV_DECLARE_HANDLER(vkSetReplyCommandStreamMESA)
{
    ARGS(vkSetReplyCommandStreamMESA);
    if (!a->pStream)
        return pv_dispatch_fail(dec, "vkSetReplyCommandStreamMESA without a stream");
    struct pv_resource *res;
    uint8_t *p = (uint8_t *)stream_slice(ch, dec, a->pStream, &res);
    if (!p)
        return false;
    if (ch->reply.res)
        pv_resource_put(ch->reply.res);
    ch->reply.res = res;
    ch->reply.base = p;
    ch->reply.size = a->pStream->size;
    ch->reply.pos = 0;
    return true;
}

PV_DECLARE_HANDLER(vkSeekReplyCommandStreamMESA)
{
    ARGS(vkSeekReplyCommandStreamMESA);
    if (!ch->reply.res || a->position > ch->reply.size)
        return pv_dispatch_fail(dec, "reply stream seek out of range");
    ch->reply.pos = a->position;
    return true;
}

/* Largest indirect stream one command may execute (as a vtest submit). */
#define EXEC_STREAM_MAX_BYTES (64u << 20)

/*
 * The bytes of [p, p + size) of client memory, copied into the channel's
 * private buffer: the client can write its shared memory while we decode,
 * and a decoder must see one stream, the one that was there when the
 * command ran (no double fetch).
 */
static const uint8_t *
exec_copy(struct pv_channel *ch, struct pv_cs_dec *dec, const uint8_t *p, uint64_t size)
{
    if (size > EXEC_STREAM_MAX_BYTES) {
        pv_dispatch_fail(dec, "indirect command stream larger than 64 MiB");
        return NULL;
    }
    if (size > ch->exec_cap) {
        uint8_t *b = realloc(ch->exec_copy, size);
        if (!b) {
            pv_dispatch_fail(dec, "out of memory for an indirect command stream");
            return NULL;
        }
        ch->exec_copy = b;
        ch->exec_cap = size;
    }
    memcpy(ch->exec_copy, p, size);
    return ch->exec_copy;
}

/*
 * Runs streams in client memory, each copied out first (exec_copy), so a
 * client changing a stream meanwhile changes nothing we decode. Streams
 * never nest, so one copy buffer per channel serves them all.
 */
PV_DECLARE_HANDLER(vkExecuteCommandStreamsMESA)
{
    ARGS(vkExecuteCommandStreamsMESA);
    if (ch->in_execute)
        return pv_dispatch_fail(dec, "nested vkExecuteCommandStreamsMESA");
    if (!a->streamCount || !a->pStreams)
        return pv_dispatch_fail(dec, "vkExecuteCommandStreamsMESA without streams");
    if (a->pReplyPositions || a->dependencyCount || a->flags)
        return pv_dispatch_fail(dec, "vkExecuteCommandStreamsMESA: unsupported options");
    /* The arena is reset per command by the inner loop; keep what we need. */
    uint32_t count = a->streamCount;
    VkCommandStreamDescriptionMESA descs[64];
    VkCommandStreamDescriptionMESA *d = count <= 64 ? descs : malloc(sizeof(*d) * count);
    if (!d)
        return pv_dispatch_fail(dec, "out of memory");
    memcpy(d, a->pStreams, sizeof(*d) * count);
    bool ok = true;
    ch->in_execute = true;
    for (uint32_t i = 0; ok && i < count; i++) {
        if (!d[i].size)
            continue;
        struct pv_resource *res = NULL;
        const uint8_t *p = stream_slice(ch, dec, &d[i], &res);
        if (p)
            p = exec_copy(ch, dec, p, d[i].size);
        if (res)
            pv_resource_put(res);
        if (!p) {
            ok = false;
            break;
        }
        pv_capture_stream(ch->ctx, "exec", p, d[i].size);
        pv_capture_event(ch->ctx, PV_CAPTURE_EXEC, d[i].resourceId, d[i].offset,
                         ch->ring ? ch->ring->id : 0, ch->ring != NULL, p, d[i].size);
        ok = pv_venus_dispatch_stream(ch, p, d[i].size, NULL);
    }
    ch->in_execute = false;
    if (d != descs)
        free(d);
    if (!ok && !*dec->fatal)
        pv_cs_dec_set_fatal(dec, "a command in an indirect stream failed");
    return ok;
}
