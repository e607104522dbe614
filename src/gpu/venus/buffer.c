/*
 * gpu/venus/buffer: buffers. They take the generic path; only the
 * external-memory struct of their create info is replaced first: exportable
 * memory is the renderer's to provide (memory.c, interop.c) and the host
 * never hears of the client's, but it must hear of ours (host memory
 * imported from a pointer, which any buffer may be bound to).
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
    /* What the host must know instead: the buffer may get imported host memory. */
    VkExternalMemoryBufferCreateInfo ext = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
        .pNext = ci->pNext,
        .handleTypes = pv_memory_buffer_handle_types(owner->dev, ci)};
    if (ext.handleTypes)
        ci->pNext = &ext;
    return GENERIC_CALL(flags);
}
