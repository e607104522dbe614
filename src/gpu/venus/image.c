/*
 * gpu/venus/image: images, and the DRM format modifier side of them.
 *
 * Images take the generic path, with the parts of their create info that
 * the host must not see taken out first: external-memory structs (the
 * memory is ours to share, memory.c) and modifier lists. A modifier image
 * can only be DRM_FORMAT_MOD_LINEAR, and is created as a
 * VK_IMAGE_TILING_LINEAR image (interop.c says why).
 */
#include <stdlib.h>

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
