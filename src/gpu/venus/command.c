/*
 * gpu/venus/command: command pools, command buffers, and the commands
 * recorded into them that need more than the generic path.
 *
 * Command buffers are allocated and freed in bulk and die with their pool:
 * the object table keeps each one's pool as its parent (lifetime.c). Barriers
 * and event waits are recorded as the client sent them, except that an
 * ownership transfer to or from the foreign queue family becomes a plain
 * barrier (interop.c says why).
 */
#include <stdlib.h>

#include "dispatch.h"
#include "interop.h"

/* ---- pools and buffers ---- */

static VkResult
call_alloc_cmd(void *p)
{
    struct pvg_args_vkAllocateCommandBuffers *a = ((void **)p)[1];
    struct pv_device *dev = ((void **)p)[0];
    return dev->t.AllocateCommandBuffers(dev->host, a->pAllocateInfo, a->pCommandBuffers);
}

PV_DECLARE_HANDLER(vkAllocateCommandBuffers)
{
    ARGS(vkAllocateCommandBuffers);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || !a->pAllocateInfo || !a->pCommandBuffers)
        return pv_dispatch_fail(dec, "vkAllocateCommandBuffers: bad arguments");
    void *data[2] = {dev, a};
    if (!pv_dispatch_create_many(ch, dec, dev, VK_OBJECT_TYPE_COMMAND_BUFFER,
                                 (uint64_t)(uintptr_t)a->pAllocateInfo->commandPool,
                                 a->pAllocateInfo->commandBufferCount,
                                 (uint64_t *)a->pCommandBuffers, call_alloc_cmd, data, &a->ret))
        return false;
    return REPLY();
}

PV_DECLARE_HANDLER(vkFreeCommandBuffers)
{
    struct pvg_args_vkFreeCommandBuffers *a = pv_dispatch_decode_raw(dec, cmd);
    if (!a)
        return false;
    struct pv_device *dev = pv_dispatch_device(ch, dec, (uint64_t)(uintptr_t)a->device);
    uint64_t *ids;
    if (!dev ||
        !pv_dispatch_translate(ch, dec, (uint64_t *)&a->commandPool, VK_OBJECT_TYPE_COMMAND_POOL) ||
        !a->pCommandBuffers ||
        !pv_dispatch_translate_array(ch, dec, (uint64_t *)a->pCommandBuffers,
                                     a->commandBufferCount, VK_OBJECT_TYPE_COMMAND_BUFFER, &ids))
        return pv_dispatch_fail(dec, "vkFreeCommandBuffers: bad arguments");
    dev->t.FreeCommandBuffers(dev->host, a->commandPool, a->commandBufferCount,
                              a->pCommandBuffers);
    pv_lifetime_forget_ids(ch->ctx, VK_OBJECT_TYPE_COMMAND_BUFFER, a->commandBufferCount, ids);
    return true;
}

PV_DECLARE_HANDLER(vkDestroyCommandPool)
{
    ARGS(vkDestroyCommandPool);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev)
        return false;
    if (!a->commandPool)
        return true;
    pv_lifetime_forget_children(ch->ctx, VK_OBJECT_TYPE_COMMAND_BUFFER,
                                (uint64_t)(uintptr_t)a->commandPool);
    dev->t.DestroyCommandPool(dev->host, a->commandPool, NULL);
    free(pv_objtab_remove(&ch->ctx->objs, a->id_commandPool, VK_OBJECT_TYPE_COMMAND_POOL));
    return true;
}

/* ---- barriers: the foreign queue family ---- */

#define BARRIER_HANDLER(name, fix)                                                                 \
    PV_DECLARE_HANDLER(name)                                                                       \
    {                                                                                              \
        GENERIC_ARGS(name);                                                                        \
        fix;                                                                                       \
        return GENERIC_CALL(flags);                                                                \
    }

BARRIER_HANDLER(vkCmdPipelineBarrier,
                pv_interop_unforeign_barriers(a->bufferMemoryBarrierCount, a->pBufferMemoryBarriers,
                                              a->imageMemoryBarrierCount, a->pImageMemoryBarriers))
BARRIER_HANDLER(vkCmdWaitEvents,
                pv_interop_unforeign_barriers(a->bufferMemoryBarrierCount, a->pBufferMemoryBarriers,
                                              a->imageMemoryBarrierCount, a->pImageMemoryBarriers))
BARRIER_HANDLER(vkCmdPipelineBarrier2, pv_interop_unforeign_dependency(a->pDependencyInfo))
BARRIER_HANDLER(vkCmdSetEvent2, pv_interop_unforeign_dependency(a->pDependencyInfo))
BARRIER_HANDLER(vkCmdWaitEvents2,
                for (uint32_t i = 0; a->pDependencyInfos && i < a->eventCount; i++)
                    pv_interop_unforeign_dependency(&a->pDependencyInfos[i]))
