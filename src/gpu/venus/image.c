/*
 * gpu/venus/image: images, and the DRM format modifier side of them.
 *
 * Images take the generic path, with the parts of their create info that
 * the host must not see taken out first: external-memory structs (the
 * memory is ours to share, memory.c) and modifier lists. A modifier image
 * can only be DRM_FORMAT_MOD_LINEAR, and is created as a
 * VK_IMAGE_TILING_LINEAR image (interop.c says why).
 *
 * Host image copies (Vulkan 1.4, VK_MESA_venus_protocol spec 3) arrive as
 * vkCopyImageToMemoryMESA and vkCopyMemoryToImageMESA, with the bytes in the
 * stream or the reply instead of behind host pointers; here they become the
 * host's vkCopyImageToMemory and vkCopyMemoryToImage.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "interop.h"

PV_DECLARE_HANDLER(vkCreateImage)
{
    GENERIC_ARGS(vkCreateImage);
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
            linear |= list->pDrmFormatModifiers &&
                      list->pDrmFormatModifiers[i] == PV_DRM_FORMAT_MOD_LINEAR;
        if (explicit_)
            linear = explicit_->drmFormatModifier == PV_DRM_FORMAT_MOD_LINEAR;
        if (!linear) {
            a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
            return REPLY(); /* *pImage still holds the client's id for the reply */
        }
        ci->tiling = VK_IMAGE_TILING_LINEAR;
    }
    /* The host must know the image may get memory imported from a host pointer;
     * an external image starts UNDEFINED (interop.c: preinitialized images). */
    ci->initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    VkExternalMemoryImageCreateInfo ext = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
        .pNext = ci->pNext,
        .handleTypes = pv_memory_image_handle_types(owner->dev, ci)};
    if (ext.handleTypes)
        ci->pNext = &ext;
    if (!GENERIC_CALL(0))
        return false;
    if (explicit_ && a->ret == VK_SUCCESS && explicit_->drmFormatModifierPlaneCount >= 1 &&
        explicit_->pPlaneLayouts) {
        /* The layout the client computed must be the one the host gives a linear image. */
        struct pv_obj img;
        if (!pv_objtab_get(&ch->ctx->objs, (uint64_t)(uintptr_t)*a->pImage, VK_OBJECT_TYPE_IMAGE,
                           &img))
            return pv_dispatch_fail(dec, "vkCreateImage: the image went away meanwhile");
        struct pv_device *dev = owner->dev;
        VkImageSubresource sub = {.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT};
        VkSubresourceLayout lay;
        dev->t.GetImageSubresourceLayout(dev->host, (VkImage)(uintptr_t)img.host, &sub, &lay);
        const VkSubresourceLayout *want = &explicit_->pPlaneLayouts[0];
        if (want->rowPitch && (want->rowPitch != lay.rowPitch || want->offset != lay.offset)) {
            struct pv_obj *o = pv_objtab_remove(&ch->ctx->objs, img.id, VK_OBJECT_TYPE_IMAGE);
            if (o)
                dev->t.DestroyImage(dev->host, (VkImage)(uintptr_t)o->host, NULL);
            free(o);
            a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
        }
    }
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetImageDrmFormatModifierPropertiesEXT)
{
    ARGS(vkGetImageDrmFormatModifierPropertiesEXT);
    if (!a->pProperties)
        return pv_dispatch_fail(dec, "missing modifier properties");
    /* Every image we create for a modifier is linear. */
    a->pProperties->drmFormatModifier = PV_DRM_FORMAT_MOD_LINEAR;
    a->ret = VK_SUCCESS;
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetImageSubresourceLayout)
{
    GENERIC_ARGS(vkGetImageSubresourceLayout);
    if (!a->pSubresource || !a->pLayout)
        return pv_dispatch_fail(dec, "missing subresource");
    VkImageSubresource *sub = (VkImageSubresource *)a->pSubresource;
    sub->aspectMask = pv_interop_plane_aspect(sub->aspectMask);
    return GENERIC_CALL(flags);
}

PV_DECLARE_HANDLER(vkGetImageSubresourceLayout2KHR)
{
    GENERIC_ARGS(vkGetImageSubresourceLayout2KHR);
    if (!a->pSubresource || !a->pLayout)
        return pv_dispatch_fail(dec, "missing subresource");
    VkImageSubresource2 *sub = (VkImageSubresource2 *)a->pSubresource;
    sub->imageSubresource.aspectMask = pv_interop_plane_aspect(sub->imageSubresource.aspectMask);
    return GENERIC_CALL(flags);
}

/* ---- host image copies ---- */

/* Largest texel block of any format, in bytes (VK_FORMAT_R64G64B64A64_*). */
#define PV_MAX_TEXEL_BLOCK 32u
/* Largest staging area we set up for one region. */
#define PV_HOST_COPY_MAX (4ull << 30)

static PFN_vkVoidFunction
device_proc(struct pv_device *dev, const char *core, const char *ext)
{
    PFN_vkVoidFunction f = dev->gdpa(dev->host, core);
    return f ? f : dev->gdpa(dev->host, ext);
}

/*
 * An upper bound of the bytes the host touches at the host pointer of one
 * region, 0 when there is none we can give. We do not know the image's
 * format, so a region is bounded by the largest texel block over its
 * memory rows and slices (the driver never reads or writes more, whatever
 * memoryRowLength a client sends); a MEMCPY region is the subresource's
 * own size, which the host tells. The client sends the exact size, so the
 * bound only decides whether its buffer is enough or we stage the copy.
 */
static uint64_t
host_copy_bound(struct pv_device *dev, VkImage image, VkHostImageCopyFlags flags,
                uint32_t row_length, uint32_t image_height, const VkImageSubresourceLayers *sub,
                VkExtent3D extent)
{
    uint64_t layers = sub->layerCount;
    if (layers == 0 || sub->layerCount == VK_REMAINING_ARRAY_LAYERS)
        return 0;
    if (flags & VK_HOST_IMAGE_COPY_MEMCPY) {
        PFN_vkGetImageSubresourceLayout2 layout2 =
            dev->t.GetImageSubresourceLayout2KHR;
        if (!layout2)
            return 0;
        VkSubresourceHostMemcpySize size = {.sType = VK_STRUCTURE_TYPE_SUBRESOURCE_HOST_MEMCPY_SIZE};
        VkSubresourceLayout2 lay = {.sType = VK_STRUCTURE_TYPE_SUBRESOURCE_LAYOUT_2,
                                    .pNext = &size};
        VkImageSubresource2 res = {
            .sType = VK_STRUCTURE_TYPE_IMAGE_SUBRESOURCE_2,
            .imageSubresource = {sub->aspectMask, sub->mipLevel, sub->baseArrayLayer},
        };
        layout2(dev->host, image, &res, &lay);
        if (size.size && layers > PV_HOST_COPY_MAX / size.size)
            return 0;
        return size.size * layers;
    }
    uint64_t w = row_length > extent.width ? row_length : extent.width;
    uint64_t h = image_height > extent.height ? image_height : extent.height;
    uint64_t d = extent.depth ? extent.depth : 1;
    uint64_t n = PV_MAX_TEXEL_BLOCK;
    const uint64_t f[] = {w, h, d, layers};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i] == 0)
            return 0;
        if (n > PV_HOST_COPY_MAX / f[i])
            return 0;
        n *= f[i];
    }
    return n;
}

PV_DECLARE_HANDLER(vkCopyImageToMemoryMESA)
{
    ARGS(vkCopyImageToMemoryMESA);
    const VkCopyImageToMemoryInfoMESA *info = a->pCopyImageToMemoryInfo;
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev)
        return false;
    if (!a->pData)
        return pv_dispatch_fail(dec, "vkCopyImageToMemoryMESA without data");
    PFN_vkCopyImageToMemory copy =
        (PFN_vkCopyImageToMemory)device_proc(dev, "vkCopyImageToMemory", "vkCopyImageToMemoryEXT");
    uint64_t bound = host_copy_bound(dev, info->srcImage, info->flags, info->memoryRowLength,
                                     info->memoryImageHeight, &info->imageSubresource,
                                     info->imageExtent);
    void *dst = a->pData, *staging = NULL;
    if (!copy) {
        a->ret = VK_ERROR_FEATURE_NOT_PRESENT;
    } else if (!bound) {
        a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
    } else {
        if (bound > a->dataSize) {
            /* Untouched pages of a large calloc cost nothing. */
            dst = staging = calloc(1, (size_t)bound);
        }
        if (!dst) {
            a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
        } else {
            VkImageToMemoryCopy region = {
                .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY,
                .pHostPointer = dst,
                .memoryRowLength = info->memoryRowLength,
                .memoryImageHeight = info->memoryImageHeight,
                .imageSubresource = info->imageSubresource,
                .imageOffset = info->imageOffset,
                .imageExtent = info->imageExtent,
            };
            VkCopyImageToMemoryInfo host = {
                .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO,
                .flags = info->flags,
                .srcImage = info->srcImage,
                .srcImageLayout = info->srcImageLayout,
                .regionCount = 1,
                .pRegions = &region,
            };
            a->ret = copy(dev->host, &host);
            if (staging)
                memcpy(a->pData, staging, a->dataSize);
        }
    }
    free(staging);
    return REPLY();
}

PV_DECLARE_HANDLER(vkCopyMemoryToImageMESA)
{
    ARGS(vkCopyMemoryToImageMESA);
    const VkCopyMemoryToImageInfoMESA *info = a->pCopyMemoryToImageInfo;
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev)
        return false;
    PFN_vkCopyMemoryToImage copy =
        (PFN_vkCopyMemoryToImage)device_proc(dev, "vkCopyMemoryToImage", "vkCopyMemoryToImageEXT");
    uint32_t n = info->pRegions ? info->regionCount : 0;
    VkMemoryToImageCopy *regions = pv_cs_dec_alloc(dec, n ? n : 1, sizeof(*regions));
    void **staging = pv_cs_dec_alloc(dec, n ? n : 1, sizeof(*staging));
    if (!regions || !staging)
        return false;
    memset(staging, 0, (n ? n : 1) * sizeof(*staging));
    for (uint32_t i = 0; i < n; i++)
        if (!info->pRegions[i].pData)
            return pv_dispatch_fail(dec, "vkCopyMemoryToImageMESA region without data");
    a->ret = copy ? VK_SUCCESS : VK_ERROR_FEATURE_NOT_PRESENT;
    for (uint32_t i = 0; i < n && a->ret == VK_SUCCESS; i++) {
        const VkMemoryToImageCopyMESA *r = &info->pRegions[i];
        uint64_t bound = host_copy_bound(dev, info->dstImage, info->flags, r->memoryRowLength,
                                         r->memoryImageHeight, &r->imageSubresource,
                                         r->imageExtent);
        const void *src = r->pData;
        if (!bound) {
            a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
        } else if (bound > r->dataSize) {
            /* The driver may read up to the bound: give it zeroes past the client's bytes. */
            staging[i] = calloc(1, (size_t)bound);
            if (staging[i])
                memcpy(staging[i], r->pData, r->dataSize);
            else
                a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
            src = staging[i];
        }
        regions[i] = (VkMemoryToImageCopy){
            .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
            .pHostPointer = src,
            .memoryRowLength = r->memoryRowLength,
            .memoryImageHeight = r->memoryImageHeight,
            .imageSubresource = r->imageSubresource,
            .imageOffset = r->imageOffset,
            .imageExtent = r->imageExtent,
        };
    }
    if (a->ret == VK_SUCCESS && n) {
        VkCopyMemoryToImageInfo host = {
            .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO,
            .flags = info->flags,
            .dstImage = info->dstImage,
            .dstImageLayout = info->dstImageLayout,
            .regionCount = n,
            .pRegions = regions,
        };
        a->ret = copy(dev->host, &host);
    }
    for (uint32_t i = 0; i < n; i++)
        free(staging[i]);
    return REPLY();
}
