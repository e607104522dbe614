/*
 * gpu/venus/interop: the sharing capabilities the Venus driver needs from a
 * renderer, provided by the renderer itself on any host driver.
 *
 * The Mesa Venus driver offers swapchains only when the renderer lists
 * VK_EXT_external_memory_dma_buf, VK_EXT_image_drm_format_modifier and
 * VK_EXT_queue_family_foreign and can import sync-fd semaphores, and it
 * offers Vulkan 1.3 only with that semaphore import (for
 * VK_KHR_synchronization2). Many hosts have none of these (lavapipe without
 * udmabuf, NVIDIA's datacenter driver), and the client never passes an fd
 * to the renderer anyway. So the renderer always provides them itself:
 *
 * - dma-buf memory: allocations asked to be exportable are backed by a memfd
 *   (memory.c) that is what the client receives for the blob; the export
 *   structs never reach the host (memory.c, buffer.c, image.c, sync.c).
 * - DRM format modifiers: only DRM_FORMAT_MOD_LINEAR, implemented as
 *   VK_IMAGE_TILING_LINEAR (image.c); queries are answered from the linear
 *   tiling properties (instance.c); memory-plane aspects map to the
 *   image's planes.
 * - foreign queue family: ownership transfers to or from it become plain
 *   barriers (both families IGNORED) that keep the layout transition
 *   (command.c).
 * - sync-fd semaphore import: the only import the client makes is of an
 *   already-signalled payload (vkImportSemaphoreResourceMESA, resource 0),
 *   done as an empty submission that signals the semaphore. Fence and
 *   semaphore "resource" waits and resets are done on the host objects
 *   (sync.c).
 *
 * This file holds the emulation; the handlers that use it live with their
 * object family. Nothing is advertised that is not done: each emulated
 * query answer (instance.c) matches what the corresponding command then
 * does.
 */
#include <string.h>

#include "dispatch.h"
#include "interop.h"

/* ---- the extensions ---- */

static const struct {
    const char *name;
    uint32_t spec_version;
} emulated[] = {
    {VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME, 1},
    {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, 1},
    {VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME, 2},
    {VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME, 1},
    {VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME, 1},
};

uint32_t
pv_interop_extension_count(void)
{
    return sizeof(emulated) / sizeof(emulated[0]);
}

bool
pv_interop_extension(uint32_t i, VkExtensionProperties *out)
{
    if (i >= pv_interop_extension_count())
        return false;
    memset(out, 0, sizeof(*out));
    strncpy(out->extensionName, emulated[i].name, sizeof(out->extensionName) - 1);
    out->specVersion = emulated[i].spec_version;
    return true;
}

bool
pv_interop_is_emulated(const char *name)
{
    for (uint32_t i = 0; i < pv_interop_extension_count(); i++)
        if (!strcmp(name, emulated[i].name))
            return true;
    return false;
}

/* ---- dma-buf and opaque-fd memory ---- */

bool
pv_interop_memory_shareable(VkExternalMemoryHandleTypeFlags t)
{
    return t == VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT ||
           t == VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
}

const VkExternalMemoryProperties pv_interop_shareable_memory = {
    .externalMemoryFeatures = VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT,
    .exportFromImportedHandleTypes = 0,
    .compatibleHandleTypes =
        VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT,
};

/* ---- DRM format modifiers ---- */

void
pv_interop_fill_modifiers(uint32_t *count, VkDrmFormatModifierPropertiesEXT *props,
                          VkDrmFormatModifierProperties2EXT *props2, VkFormatFeatureFlags2 linear)
{
    uint32_t n = linear ? 1 : 0;
    if ((props || props2) && *count < n)
        n = *count;
    if (n && props)
        props[0] = (VkDrmFormatModifierPropertiesEXT){PV_DRM_FORMAT_MOD_LINEAR, 1,
                                                      (VkFormatFeatureFlags)linear};
    if (n && props2)
        props2[0] = (VkDrmFormatModifierProperties2EXT){PV_DRM_FORMAT_MOD_LINEAR, 1, linear};
    *count = n;
}

VkImageAspectFlags
pv_interop_plane_aspect(VkImageAspectFlags aspect)
{
    switch (aspect) {
    case VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT: return VK_IMAGE_ASPECT_COLOR_BIT;
    case VK_IMAGE_ASPECT_MEMORY_PLANE_1_BIT_EXT: return VK_IMAGE_ASPECT_PLANE_1_BIT;
    case VK_IMAGE_ASPECT_MEMORY_PLANE_2_BIT_EXT: return VK_IMAGE_ASPECT_PLANE_2_BIT;
    default: return aspect;
    }
}

/* ---- the foreign queue family, and preinitialized images ---- */

/*
 * Every image is created on the host with initialLayout UNDEFINED (image.c):
 * an image that may be bound to memory imported from a host pointer must be
 * created with that external handle type, and the spec allows external
 * images only UNDEFINED as their initial layout. So a barrier leaving
 * PREINITIALIZED leaves UNDEFINED on the host. What PREINITIALIZED keeps,
 * texels the host wrote into a linear image before its first transition,
 * stays in place on the drivers we run on (lavapipe, NVIDIA: a transition out
 * of UNDEFINED does not touch a linear image's memory); the spec lets a
 * driver discard them.
 */
static void
unpreinit(VkImageLayout *old)
{
    if (*old == VK_IMAGE_LAYOUT_PREINITIALIZED)
        *old = VK_IMAGE_LAYOUT_UNDEFINED;
}

static void
unforeign(uint32_t *src, uint32_t *dst)
{
    if (*src == VK_QUEUE_FAMILY_FOREIGN_EXT || *dst == VK_QUEUE_FAMILY_FOREIGN_EXT) {
        *src = VK_QUEUE_FAMILY_IGNORED;
        *dst = VK_QUEUE_FAMILY_IGNORED;
    }
}

void
pv_interop_unforeign_barriers(uint32_t nbuf, const VkBufferMemoryBarrier *buf, uint32_t nimg,
                              const VkImageMemoryBarrier *img)
{
    for (uint32_t i = 0; buf && i < nbuf; i++) {
        VkBufferMemoryBarrier *b = (VkBufferMemoryBarrier *)&buf[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
    }
    for (uint32_t i = 0; img && i < nimg; i++) {
        VkImageMemoryBarrier *b = (VkImageMemoryBarrier *)&img[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
        unpreinit(&b->oldLayout);
    }
}

void
pv_interop_unforeign_dependency(const VkDependencyInfo *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; d->pBufferMemoryBarriers && i < d->bufferMemoryBarrierCount; i++) {
        VkBufferMemoryBarrier2 *b = (VkBufferMemoryBarrier2 *)&d->pBufferMemoryBarriers[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
    }
    for (uint32_t i = 0; d->pImageMemoryBarriers && i < d->imageMemoryBarrierCount; i++) {
        VkImageMemoryBarrier2 *b = (VkImageMemoryBarrier2 *)&d->pImageMemoryBarriers[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
        unpreinit(&b->oldLayout);
    }
}

/* ---- sync-fd payloads ---- */

struct pv_queue *
pv_interop_any_queue(struct pv_ctx *ctx, struct pv_device *dev)
{
    struct pv_queue *q = NULL;
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < PV_MAX_TIMELINES && !q; i++)
        if (ctx->timelines[i] && ctx->timelines[i]->dev == dev)
            q = ctx->timelines[i];
    pthread_mutex_unlock(&ctx->lock);
    return q;
}

VkResult
pv_interop_signal_semaphore(struct pv_device *dev, struct pv_queue *q, VkSemaphore sem)
{
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .signalSemaphoreCount = 1,
                       .pSignalSemaphores = &sem};
    pthread_mutex_lock(&q->lock);
    VkResult r = dev->t.QueueSubmit(q->host, 1, &si, VK_NULL_HANDLE);
    pthread_mutex_unlock(&q->lock);
    return r;
}

VkResult
pv_interop_consume_semaphore(struct pv_channel *ch, struct pv_device *dev, struct pv_queue *q,
                             VkSemaphore sem)
{
    /* Consume the payload on the host, as exporting a sync file would. */
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    VkResult r = dev->t.CreateFence(dev->host, &fci, NULL, &fence);
    if (r != VK_SUCCESS)
        return r;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .waitSemaphoreCount = 1,
                       .pWaitSemaphores = &sem,
                       .pWaitDstStageMask = &stage};
    pthread_mutex_lock(&q->lock);
    r = dev->t.QueueSubmit(q->host, 1, &si, fence);
    pthread_mutex_unlock(&q->lock);
    if (r == VK_SUCCESS)
        r = pv_sync_wait_fences(ch, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    /* A fence still pending goes with its device. */
    if (r == VK_ERROR_DEVICE_LOST)
        pv_lifetime_adopt_fence(ch->ctx, dev, fence);
    else
        dev->t.DestroyFence(dev->host, fence, NULL);
    return r;
}
