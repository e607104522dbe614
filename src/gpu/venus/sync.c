/*
 * gpu/venus/sync: semaphores and fences, the Venus commands on their
 * payloads, and the host waits the renderer makes for a client.
 *
 * Semaphores and fences take the generic path, with the export structs of
 * their create info taken out first (no payload ever leaves the host). The
 * MESA "resource" commands are the driver's sync-fd paths: importing a
 * signalled payload, consuming one as an export would, resetting a fence
 * as exporting its payload does. interop.c does the submissions.
 *
 * Waits: a client can ask the host to wait forever (vkWaitForFences on a
 * fence nobody submits, UINT64_MAX). No host wait is made that way: every
 * one runs in slices of PV_WAIT_SLICE_NS and ends as soon as its context is
 * fatal or ending or its client is gone (pv_channel_alive), so no thread of
 * the renderer is ever held by a client that left.
 */
#include "clock.h"
#include "dispatch.h"
#include "interop.h"
#include "log.h"

/* ---- sliced waits ---- */

/* Calls once(data, slice) until it returns something else than VK_TIMEOUT. */
static VkResult
sliced(struct pv_channel *ch, uint64_t timeout_ns, VkResult (*once)(void *, uint64_t), void *data)
{
    uint64_t start = pv_clock_now_ns();
    for (;;) {
        uint64_t spent = pv_clock_now_ns() - start;
        uint64_t left = timeout_ns == UINT64_MAX ? UINT64_MAX
                        : spent >= timeout_ns   ? 0
                                                : timeout_ns - spent;
        uint64_t slice = left < PV_WAIT_SLICE_NS ? left : PV_WAIT_SLICE_NS;
        VkResult r = once(data, slice);
        if (r != VK_TIMEOUT || slice == left)
            return r;
        if (ch && !pv_channel_alive(ch))
            return VK_ERROR_DEVICE_LOST;
    }
}

struct fence_wait {
    struct pv_device *dev;
    uint32_t n;
    const VkFence *fences;
    VkBool32 all;
};

static VkResult
fences_once(void *p, uint64_t slice)
{
    struct fence_wait *w = p;
    return w->dev->t.WaitForFences(w->dev->host, w->n, w->fences, w->all, slice);
}

VkResult
pv_sync_wait_fences(struct pv_channel *ch, struct pv_device *dev, uint32_t n,
                    const VkFence *fences, VkBool32 wait_all, uint64_t timeout_ns)
{
    struct fence_wait w = {dev, n, fences, wait_all};
    return sliced(ch, timeout_ns, fences_once, &w);
}

VkResult
pv_sync_wait_queues(struct pv_channel *ch, struct pv_device *dev, struct pv_queue *const *queues,
                    uint32_t n, uint64_t timeout_ns)
{
    VkFence fences[64];
    uint32_t nf = 0;
    VkResult r = VK_SUCCESS;
    const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    for (uint32_t i = 0; i < n && i < 64 && r == VK_SUCCESS; i++) {
        r = dev->t.CreateFence(dev->host, &fci, NULL, &fences[nf]);
        if (r != VK_SUCCESS)
            break;
        /* An empty submission signals once everything before it on the queue is done. */
        pthread_mutex_lock(&queues[i]->lock);
        r = dev->t.QueueSubmit(queues[i]->host, 0, NULL, fences[nf]);
        pthread_mutex_unlock(&queues[i]->lock);
        nf++;
    }
    if (r == VK_SUCCESS && nf)
        r = pv_sync_wait_fences(ch, dev, nf, fences, VK_TRUE, timeout_ns);
    /* A fence still pending (timeout, cut short) must not be destroyed: it goes with the device. */
    bool pending = r == VK_TIMEOUT || r == VK_ERROR_DEVICE_LOST;
    for (uint32_t i = 0; i < nf; i++) {
        if (!pending)
            dev->t.DestroyFence(dev->host, fences[i], NULL);
        else if (ch)
            pv_lifetime_adopt_fence(ch->ctx, dev, fences[i]);
    }
    return r;
}

PV_DECLARE_HANDLER(vkWaitForFences)
{
    ARGS(vkWaitForFences);
    if (a->fenceCount && !a->pFences)
        return pv_dispatch_fail(dec, "vkWaitForFences without fences");
    a->ret = pv_sync_wait_fences(ch, ch->owner.dev, a->fenceCount, a->pFences, a->waitAll,
                                 a->timeout);
    if (a->ret == VK_ERROR_DEVICE_LOST && !pv_channel_alive(ch))
        return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
    return REPLY();
}

struct semaphore_wait {
    struct pv_device *dev;
    const VkSemaphoreWaitInfo *info;
};

static VkResult
semaphores_once(void *p, uint64_t slice)
{
    struct semaphore_wait *w = p;
    return w->dev->t.WaitSemaphores(w->dev->host, w->info, slice);
}

PV_DECLARE_HANDLER(vkWaitSemaphores)
{
    ARGS(vkWaitSemaphores);
    struct pv_device *dev = ch->owner.dev;
    if (!dev->t.WaitSemaphores || !((dev->has_cmd[cmd / 8] >> (cmd % 8)) & 1))
        return pv_dispatch_fail(dec, "command the host driver does not offer");
    struct semaphore_wait w = {dev, a->pWaitInfo};
    a->ret = sliced(ch, a->timeout, semaphores_once, &w);
    if (a->ret == VK_ERROR_DEVICE_LOST && !pv_channel_alive(ch))
        return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
    return REPLY();
}

/*
 * With VK_QUERY_RESULT_WAIT_BIT the host would wait for queries that may
 * never be written; the renderer asks without it until they are all there.
 */
PV_DECLARE_HANDLER(vkGetQueryPoolResults)
{
    GENERIC_ARGS(vkGetQueryPoolResults);
    if (!(a->flags & VK_QUERY_RESULT_WAIT_BIT))
        return GENERIC_CALL(flags);
    struct pv_device *dev = owner->dev;
    VkQueryResultFlags qf = a->flags & ~(VkQueryResultFlags)VK_QUERY_RESULT_WAIT_BIT;
    uint64_t pause_ns = 100000;
    for (;;) {
        a->ret = dev->t.GetQueryPoolResults(dev->host, a->queryPool, a->firstQuery, a->queryCount,
                                            a->dataSize, a->pData, a->stride, qf);
        if (a->ret != VK_NOT_READY)
            break;
        if (!pv_channel_alive(ch))
            return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
        pv_clock_sleep_ns(pause_ns);
        if (pause_ns < 10000000)
            pause_ns *= 2;
    }
    return REPLY();
}

/* ---- semaphores and fences ---- */

PV_DECLARE_HANDLER(vkCreateSemaphore)
{
    GENERIC_ARGS(vkCreateSemaphore);
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateSemaphore without create info");
    struct pv_chain_hole h;
    pv_chain_take(&((VkSemaphoreCreateInfo *)a->pCreateInfo)->pNext,
                  VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO, &h);
    bool timeline = false;
    for (const VkBaseInStructure *s = a->pCreateInfo->pNext; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO)
            timeline = ((const VkSemaphoreTypeCreateInfo *)s)->semaphoreType ==
                       VK_SEMAPHORE_TYPE_TIMELINE;
    if (!GENERIC_CALL(flags))
        return false;
    /* A teardown signals timeline semaphores a stuck submission may wait on (lifetime.c). */
    if (timeline && a->ret == VK_SUCCESS && a->pSemaphore)
        pv_objtab_set_flags(&ch->ctx->objs, (uint64_t)(uintptr_t)*a->pSemaphore,
                            VK_OBJECT_TYPE_SEMAPHORE, PV_OBJ_TIMELINE);
    return true;
}

PV_DECLARE_HANDLER(vkCreateFence)
{
    GENERIC_ARGS(vkCreateFence);
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateFence without create info");
    struct pv_chain_hole h;
    pv_chain_take(&((VkFenceCreateInfo *)a->pCreateInfo)->pNext,
                  VK_STRUCTURE_TYPE_EXPORT_FENCE_CREATE_INFO, &h);
    return GENERIC_CALL(flags);
}

PV_DECLARE_HANDLER(vkImportSemaphoreResourceMESA)
{
    ARGS(vkImportSemaphoreResourceMESA);
    const VkImportSemaphoreResourceInfoMESA *info = a->pImportSemaphoreResourceInfo;
    if (!info || !info->semaphore)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA: bad arguments");
    if (info->resourceId)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA: only signalled payloads "
                                     "(resource 0) can be imported");
    struct pv_device *dev = ch->owner.dev;
    struct pv_queue *q = pv_interop_any_queue(ch->ctx, dev);
    if (!q)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA before any queue exists");
    VkResult r = pv_interop_signal_semaphore(dev, q, info->semaphore);
    if (r != VK_SUCCESS)
        pv_warn("venus", "context %u: signalling an imported semaphore failed (%d)", ch->ctx->id,
                r);
    return true;
}

PV_DECLARE_HANDLER(vkWaitSemaphoreResourceMESA)
{
    ARGS(vkWaitSemaphoreResourceMESA);
    if (!a->semaphore)
        return pv_dispatch_fail(dec, "vkWaitSemaphoreResourceMESA: bad arguments");
    struct pv_device *dev = ch->owner.dev;
    struct pv_queue *q = pv_interop_any_queue(ch->ctx, dev);
    if (!q)
        return pv_dispatch_fail(dec, "vkWaitSemaphoreResourceMESA before any queue exists");
    if (pv_interop_consume_semaphore(ch, dev, q, a->semaphore) == VK_ERROR_DEVICE_LOST &&
        !pv_channel_alive(ch))
        return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
    return true;
}

PV_DECLARE_HANDLER(vkResetFenceResourceMESA)
{
    ARGS(vkResetFenceResourceMESA);
    if (!a->fence)
        return pv_dispatch_fail(dec, "vkResetFenceResourceMESA: bad arguments");
    /* Exporting a fence's payload resets the fence. */
    struct pv_device *dev = ch->owner.dev;
    dev->t.ResetFences(dev->host, 1, &a->fence);
    return true;
}
