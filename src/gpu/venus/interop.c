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
 *   structs never reach the host.
 * - DRM format modifiers: only DRM_FORMAT_MOD_LINEAR, implemented as
 *   VK_IMAGE_TILING_LINEAR; queries are answered from the linear tiling
 *   properties; memory-plane aspects map to the image's planes.
 * - foreign queue family: ownership transfers to or from it become plain
 *   barriers (both families IGNORED) that keep the layout transition.
 * - sync-fd semaphore import: the only import the client makes is of an
 *   already-signalled payload (vkImportSemaphoreResourceMESA, resource 0),
 *   done as an empty submission that signals the semaphore. Fence and
 *   semaphore "resource" waits and resets are done on the host objects.
 *
 * Nothing is advertised that is not done: each emulated query answer below
 * matches what the corresponding command then does.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"


#define DRM_FORMAT_MOD_LINEAR 0ull

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

static bool
is_shareable_memory_type(VkExternalMemoryHandleTypeFlags t)
{
    return t == VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT ||
           t == VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
}

static const VkExternalMemoryProperties shareable_memory = {
    .externalMemoryFeatures = VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT,
    .exportFromImportedHandleTypes = 0,
    .compatibleHandleTypes =
        VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT,
};

/* ---- physical device queries ---- */

PV_DECLARE_HANDLER(vkGetPhysicalDeviceExternalSemaphoreProperties)
{
    ARGS(vkGetPhysicalDeviceExternalSemaphoreProperties);
    const VkPhysicalDeviceExternalSemaphoreInfo *info = a->pExternalSemaphoreInfo;
    VkExternalSemaphoreProperties *p = a->pExternalSemaphoreProperties;
    if (!info || !p)
        return pv_dispatch_fail(dec, "missing semaphore info");
    p->exportFromImportedHandleTypes = 0;
    p->compatibleHandleTypes = 0;
    p->externalSemaphoreFeatures = 0;
    bool timeline = false;
    for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO)
            timeline = ((const VkSemaphoreTypeCreateInfo *)s)->semaphoreType ==
                       VK_SEMAPHORE_TYPE_TIMELINE;
    /* A sync file is a binary payload; we import the signalled one (see above). */
    if (info->handleType == VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT && !timeline) {
        p->compatibleHandleTypes = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT;
        p->externalSemaphoreFeatures = VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT;
    }
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceExternalFenceProperties)
{
    ARGS(vkGetPhysicalDeviceExternalFenceProperties);
    VkExternalFenceProperties *p = a->pExternalFenceProperties;
    if (!p)
        return pv_dispatch_fail(dec, "missing fence properties");
    /* No fence payload crosses our transports. */
    p->exportFromImportedHandleTypes = 0;
    p->compatibleHandleTypes = 0;
    p->externalFenceFeatures = 0;
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceExternalBufferProperties)
{
    ARGS(vkGetPhysicalDeviceExternalBufferProperties);
    const VkPhysicalDeviceExternalBufferInfo *info = a->pExternalBufferInfo;
    VkExternalBufferProperties *p = a->pExternalBufferProperties;
    if (!info || !p)
        return pv_dispatch_fail(dec, "missing buffer info");
    memset(&p->externalMemoryProperties, 0, sizeof(p->externalMemoryProperties));
    if (is_shareable_memory_type(info->handleType))
        p->externalMemoryProperties = shareable_memory;
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceImageFormatProperties2)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkGetPhysicalDeviceImageFormatProperties2 *a =
        pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pImageFormatInfo || !a->pImageFormatProperties)
        return pv_dispatch_fail(dec, "missing image format info");
    VkPhysicalDeviceImageFormatInfo2 *info = (VkPhysicalDeviceImageFormatInfo2 *)a->pImageFormatInfo;
    struct pv_chain_hole ext_hole, mod_hole, out_hole;
    const VkPhysicalDeviceExternalImageFormatInfo *ext = pv_chain_take(
        &info->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO, &ext_hole);
    const VkPhysicalDeviceImageDrmFormatModifierInfoEXT *mod = pv_chain_take(
        &info->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_DRM_FORMAT_MODIFIER_INFO_EXT,
        &mod_hole);
    VkExternalImageFormatProperties *ext_out =
        pv_chain_take((const void *const *)&a->pImageFormatProperties->pNext,
                      VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES, &out_hole);
    VkImageTiling tiling = info->tiling;
    if (tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT) {
        if (!mod || mod->drmFormatModifier != DRM_FORMAT_MOD_LINEAR)
            a->ret = VK_ERROR_FORMAT_NOT_SUPPORTED;
        info->tiling = VK_IMAGE_TILING_LINEAR;
    }
    if (ext && ext->handleType && !is_shareable_memory_type(ext->handleType))
        a->ret = VK_ERROR_FORMAT_NOT_SUPPORTED;
    if (a->ret == VK_SUCCESS)
        pvg_call_vkGetPhysicalDeviceImageFormatProperties2(table, a);
    if (ext_out) {
        memset(&ext_out->externalMemoryProperties, 0, sizeof(ext_out->externalMemoryProperties));
        if (a->ret == VK_SUCCESS && ext && ext->handleType)
            ext_out->externalMemoryProperties = shareable_memory;
    }
    info->tiling = tiling;
    pv_chain_restore(&out_hole);
    pv_chain_restore(&mod_hole);
    pv_chain_restore(&ext_hole);
    (void)owner;
    return REPLY();
}

/* Fills a modifier list with the one modifier we offer when linear tiling has features. */
static void
fill_modifiers(uint32_t *count, VkDrmFormatModifierPropertiesEXT *props,
               VkDrmFormatModifierProperties2EXT *props2, VkFormatFeatureFlags2 linear)
{
    uint32_t n = linear ? 1 : 0;
    if ((props || props2) && *count < n)
        n = *count;
    if (n && props)
        props[0] = (VkDrmFormatModifierPropertiesEXT){DRM_FORMAT_MOD_LINEAR, 1,
                                                      (VkFormatFeatureFlags)linear};
    if (n && props2)
        props2[0] = (VkDrmFormatModifierProperties2EXT){DRM_FORMAT_MOD_LINEAR, 1, linear};
    *count = n;
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceFormatProperties2)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkGetPhysicalDeviceFormatProperties2 *a =
        pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pFormatProperties)
        return pv_dispatch_fail(dec, "missing format properties");
    const void *const *chain = (const void *const *)&a->pFormatProperties->pNext;
    struct pv_chain_hole h1, h2;
    VkDrmFormatModifierPropertiesListEXT *l1 =
        pv_chain_take(chain, VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_EXT, &h1);
    VkDrmFormatModifierPropertiesList2EXT *l2 =
        pv_chain_take(chain, VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_2_EXT, &h2);
    pvg_call_vkGetPhysicalDeviceFormatProperties2(table, a);
    VkFormatFeatureFlags2 linear = a->pFormatProperties->formatProperties.linearTilingFeatures;
    for (const VkBaseInStructure *s = *chain; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_3)
            linear = ((const VkFormatProperties3 *)s)->linearTilingFeatures;
    if (l1)
        fill_modifiers(&l1->drmFormatModifierCount, l1->pDrmFormatModifierProperties, NULL, linear);
    if (l2)
        fill_modifiers(&l2->drmFormatModifierCount, NULL, l2->pDrmFormatModifierProperties, linear);
    pv_chain_restore(&h2);
    pv_chain_restore(&h1);
    (void)owner;
    return REPLY();
}

/* ---- objects ---- */

PV_DECLARE_HANDLER(vkCreateImage)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkCreateImage *a = pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateImage without create info");
    VkImageCreateInfo *ci = (VkImageCreateInfo *)a->pCreateInfo;
    struct pv_chain_hole h;
    pv_chain_take(&ci->pNext, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO, &h);
    const VkImageDrmFormatModifierListCreateInfoEXT *list = pv_chain_take(
        &ci->pNext, VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_LIST_CREATE_INFO_EXT, &h);
    const VkImageDrmFormatModifierExplicitCreateInfoEXT *explicit_ = pv_chain_take(
        &ci->pNext, VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT, &h);
    if (ci->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT) {
        bool linear = false;
        for (uint32_t i = 0; list && i < list->drmFormatModifierCount; i++)
            linear |= list->pDrmFormatModifiers && list->pDrmFormatModifiers[i] == DRM_FORMAT_MOD_LINEAR;
        if (explicit_)
            linear = explicit_->drmFormatModifier == DRM_FORMAT_MOD_LINEAR;
        if (!linear) {
            a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
            return REPLY(); /* *pImage still holds the client's id for the reply */
        }
        ci->tiling = VK_IMAGE_TILING_LINEAR;
    }
    if (!pv_dispatch_generic_call(ch, dec, cmd, 0, owner, table, a))
        return false;
    if (explicit_ && a->ret == VK_SUCCESS && explicit_->drmFormatModifierPlaneCount >= 1 &&
        explicit_->pPlaneLayouts) {
        /* The layout the client computed must be the one the host gives a linear image. */
        struct pv_obj *img = pv_objtab_get(&ch->ctx->objs, (uint64_t)(uintptr_t)*a->pImage,
                                           VK_OBJECT_TYPE_IMAGE);
        struct pv_device *dev = owner->dev;
        VkImageSubresource sub = {.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT};
        VkSubresourceLayout lay;
        dev->t.GetImageSubresourceLayout(dev->host, (VkImage)(uintptr_t)img->host, &sub, &lay);
        const VkSubresourceLayout *want = &explicit_->pPlaneLayouts[0];
        if (want->rowPitch && (want->rowPitch != lay.rowPitch || want->offset != lay.offset)) {
            dev->t.DestroyImage(dev->host, (VkImage)(uintptr_t)img->host, NULL);
            free(pv_objtab_remove(&ch->ctx->objs, img->id, VK_OBJECT_TYPE_IMAGE));
            a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
        }
    }
    return REPLY();
}

PV_DECLARE_HANDLER(vkCreateBuffer)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkCreateBuffer *a = pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateBuffer without create info");
    VkBufferCreateInfo *ci = (VkBufferCreateInfo *)a->pCreateInfo;
    struct pv_chain_hole h;
    pv_chain_take(&ci->pNext, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, &h);
    return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);
}

PV_DECLARE_HANDLER(vkCreateSemaphore)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkCreateSemaphore *a = pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateSemaphore without create info");
    struct pv_chain_hole h;
    pv_chain_take(&((VkSemaphoreCreateInfo *)a->pCreateInfo)->pNext,
                  VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO, &h);
    return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);
}

PV_DECLARE_HANDLER(vkCreateFence)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkCreateFence *a = pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateFence without create info");
    struct pv_chain_hole h;
    pv_chain_take(&((VkFenceCreateInfo *)a->pCreateInfo)->pNext,
                  VK_STRUCTURE_TYPE_EXPORT_FENCE_CREATE_INFO, &h);
    return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);
}

PV_DECLARE_HANDLER(vkGetImageDrmFormatModifierPropertiesEXT)
{
    ARGS(vkGetImageDrmFormatModifierPropertiesEXT);
    if (!a->pProperties)
        return pv_dispatch_fail(dec, "missing modifier properties");
    /* Every image we create for a modifier is linear. */
    a->pProperties->drmFormatModifier = DRM_FORMAT_MOD_LINEAR;
    a->ret = VK_SUCCESS;
    return REPLY();
}

/* Memory-plane aspects name the planes of a modifier image; ours are linear images. */
static VkImageAspectFlags
plane_aspect(VkImageAspectFlags aspect)
{
    switch (aspect) {
    case VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT: return VK_IMAGE_ASPECT_COLOR_BIT;
    case VK_IMAGE_ASPECT_MEMORY_PLANE_1_BIT_EXT: return VK_IMAGE_ASPECT_PLANE_1_BIT;
    case VK_IMAGE_ASPECT_MEMORY_PLANE_2_BIT_EXT: return VK_IMAGE_ASPECT_PLANE_2_BIT;
    default: return aspect;
    }
}

PV_DECLARE_HANDLER(vkGetImageSubresourceLayout)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkGetImageSubresourceLayout *a =
        pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pSubresource || !a->pLayout)
        return pv_dispatch_fail(dec, "missing subresource");
    VkImageSubresource *sub = (VkImageSubresource *)a->pSubresource;
    sub->aspectMask = plane_aspect(sub->aspectMask);
    return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);
}

PV_DECLARE_HANDLER(vkGetImageSubresourceLayout2KHR)
{
    struct pv_obj *owner;
    const void *table;
    struct pvg_args_vkGetImageSubresourceLayout2KHR *a =
        pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);
    if (!a)
        return false;
    if (!a->pSubresource || !a->pLayout)
        return pv_dispatch_fail(dec, "missing subresource");
    VkImageSubresource2 *sub = (VkImageSubresource2 *)a->pSubresource;
    sub->imageSubresource.aspectMask = plane_aspect(sub->imageSubresource.aspectMask);
    return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);
}

/* ---- barriers: the foreign queue family ---- */

static void
unforeign(uint32_t *src, uint32_t *dst)
{
    if (*src == VK_QUEUE_FAMILY_FOREIGN_EXT || *dst == VK_QUEUE_FAMILY_FOREIGN_EXT) {
        *src = VK_QUEUE_FAMILY_IGNORED;
        *dst = VK_QUEUE_FAMILY_IGNORED;
    }
}

static void
unforeign_v1(uint32_t nbuf, const VkBufferMemoryBarrier *buf, uint32_t nimg,
             const VkImageMemoryBarrier *img)
{
    for (uint32_t i = 0; buf && i < nbuf; i++) {
        VkBufferMemoryBarrier *b = (VkBufferMemoryBarrier *)&buf[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
    }
    for (uint32_t i = 0; img && i < nimg; i++) {
        VkImageMemoryBarrier *b = (VkImageMemoryBarrier *)&img[i];
        unforeign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
    }
}

static void
unforeign_dep(const VkDependencyInfo *d)
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
    }
}

#define BARRIER_HANDLER(name, fix)                                                                 \
    PV_DECLARE_HANDLER(name)                                                                       \
    {                                                                                              \
        struct pv_obj *owner;                                                                      \
        const void *table;                                                                         \
        struct pvg_args_##name *a = pv_dispatch_generic_decode(ch, dec, cmd, &owner, &table);     \
        if (!a)                                                                                    \
            return false;                                                                          \
        fix;                                                                                       \
        return pv_dispatch_generic_call(ch, dec, cmd, flags, owner, table, a);                    \
    }

BARRIER_HANDLER(vkCmdPipelineBarrier, unforeign_v1(a->bufferMemoryBarrierCount,
                                                   a->pBufferMemoryBarriers,
                                                   a->imageMemoryBarrierCount,
                                                   a->pImageMemoryBarriers))
BARRIER_HANDLER(vkCmdWaitEvents, unforeign_v1(a->bufferMemoryBarrierCount, a->pBufferMemoryBarriers,
                                              a->imageMemoryBarrierCount, a->pImageMemoryBarriers))
BARRIER_HANDLER(vkCmdPipelineBarrier2, unforeign_dep(a->pDependencyInfo))
BARRIER_HANDLER(vkCmdSetEvent2, unforeign_dep(a->pDependencyInfo))
BARRIER_HANDLER(vkCmdWaitEvents2, for (uint32_t i = 0; a->pDependencyInfos && i < a->eventCount;
                                       i++) unforeign_dep(&a->pDependencyInfos[i]))

/* ---- semaphore and fence payloads ---- */

/* Any queue of the device, for the renderer's own small submissions. */
static struct pv_queue *
some_queue(struct pv_ctx *ctx, struct pv_device *dev)
{
    struct pv_queue *q = NULL;
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < PV_MAX_TIMELINES && !q; i++)
        if (ctx->timelines[i] && ctx->timelines[i]->dev == dev)
            q = ctx->timelines[i];
    pthread_mutex_unlock(&ctx->lock);
    return q;
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
    struct pv_queue *q = some_queue(ch->ctx, dev);
    if (!q)
        return pv_dispatch_fail(dec, "vkImportSemaphoreResourceMESA before any queue exists");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .signalSemaphoreCount = 1,
                       .pSignalSemaphores = &info->semaphore};
    pthread_mutex_lock(&q->lock);
    VkResult r = dev->t.QueueSubmit(q->host, 1, &si, VK_NULL_HANDLE);
    pthread_mutex_unlock(&q->lock);
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
    struct pv_queue *q = some_queue(ch->ctx, dev);
    if (!q)
        return pv_dispatch_fail(dec, "vkWaitSemaphoreResourceMESA before any queue exists");
    /* Consume the payload on the host, as exporting a sync file would. */
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    if (dev->t.CreateFence(dev->host, &fci, NULL, &fence) != VK_SUCCESS)
        return true;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .waitSemaphoreCount = 1,
                       .pWaitSemaphores = &a->semaphore,
                       .pWaitDstStageMask = &stage};
    pthread_mutex_lock(&q->lock);
    VkResult r = dev->t.QueueSubmit(q->host, 1, &si, fence);
    pthread_mutex_unlock(&q->lock);
    if (r == VK_SUCCESS)
        dev->t.WaitForFences(dev->host, 1, &fence, VK_TRUE, UINT64_MAX);
    dev->t.DestroyFence(dev->host, fence, NULL);
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
