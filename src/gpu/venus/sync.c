/*
 * gpu/venus/sync: semaphores and fences, and the Venus commands on their
 * payloads.
 *
 * Semaphores and fences take the generic path, with the export structs of
 * their create info taken out first (no payload ever leaves the host). The
 * MESA "resource" commands are the driver's sync-fd paths: importing a
 * signalled payload, consuming one as an export would, resetting a fence
 * as exporting its payload does. interop.c does the submissions.
 */
#include "dispatch.h"
#include "interop.h"
#include "log.h"

PV_DECLARE_HANDLER(vkCreateSemaphore)
{
    GENERIC_ARGS(vkCreateSemaphore);
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateSemaphore without create info");
    struct pv_chain_hole h;
    pv_chain_take(&((VkSemaphoreCreateInfo *)a->pCreateInfo)->pNext,
                  VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO, &h);
    return GENERIC_CALL(flags);
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
    struct pv_obj *devo = pv_objtab_get(&ch->ctx->objs, a->id_device, VK_OBJECT_TYPE_DEVICE);
    const VkImportSemaphoreResourceInfoMESA *info = a->pImportSemaphoreResourceInfo;
    if (!devo || !info || !info->semaphore)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA: bad arguments");
    if (info->resourceId)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA: only signalled payloads "
                                     "(resource 0) can be imported");
    struct pv_device *dev = devo->dev;
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
    struct pv_obj *devo = pv_objtab_get(&ch->ctx->objs, a->id_device, VK_OBJECT_TYPE_DEVICE);
    if (!devo || !a->semaphore)
        return pv_dispatch_fail(dec, "vkWaitSemaphoreResourceMESA: bad arguments");
    struct pv_device *dev = devo->dev;
    struct pv_queue *q = pv_interop_any_queue(ch->ctx, dev);
    if (!q)
        return pv_dispatch_fail(dec, "vkWaitSemaphoreResourceMESA before any queue exists");
    pv_interop_consume_semaphore(dev, q, a->semaphore);
    return true;
}

PV_DECLARE_HANDLER(vkResetFenceResourceMESA)
{
    ARGS(vkResetFenceResourceMESA);
    struct pv_obj *devo = pv_objtab_get(&ch->ctx->objs, a->id_device, VK_OBJECT_TYPE_DEVICE);
    if (!devo || !a->fence)
        return pv_dispatch_fail(dec, "vkResetFenceResourceMESA: bad arguments");
    /* Exporting a fence's payload resets the fence. */
    devo->dev->t.ResetFences(devo->dev->host, 1, &a->fence);
    return true;
}
