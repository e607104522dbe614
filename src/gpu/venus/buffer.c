/*
 * gpu/venus/buffer: buffers. They take the generic path; only the
 * external-memory struct of their create info is taken out first, because
 * exportable memory is the renderer's to provide (memory.c, interop.c) and
 * the host never hears of it.
 */
#include "dispatch.h"

PV_DECLARE_HANDLER(vkCreateBuffer)
{
    GENERIC_ARGS(vkCreateBuffer);
    if (!a->pCreateInfo)
        return pv_dispatch_fail(dec, "vkCreateBuffer without create info");
    VkBufferCreateInfo *ci = (VkBufferCreateInfo *)a->pCreateInfo;
    struct pv_chain_hole h;
    pv_chain_take(&ci->pNext, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, &h);
    return GENERIC_CALL(flags);
}
