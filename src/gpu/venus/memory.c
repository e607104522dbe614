/*
 * gpu/venus/memory: device memory, and how host-visible memory reaches the
 * client as a file descriptor it can mmap.
 *
 * The Venus client maps host-visible memory by asking for a blob of it and
 * mmap()ing the fd it gets; writes on either side must be seen by the other
 * without flushes (the client treats the mapping as coherent). Drivers
 * differ in what they can export (lavapipe without udmabuf and NVIDIA's
 * datacenter driver export no dma-buf), so the renderer does not ask the
 * driver for an fd at all: it backs every host-visible allocation with a
 * shared-memory file of its own (src/common/shm: a memfd, or POSIX shm with
 * -Dshm=posix), maps it, and imports that mapping with
 * VK_EXT_external_memory_host. The same file is what the client maps.
 * Without that extension, host-visible memory cannot be shared and blob
 * creation fails with a clear log line. Memory is never imported from a
 * resource (VkImportMemoryResourceInfoMESA): only dma-buf resources could
 * be, and the renderer hands out none.
 *
 * Each such file is a file descriptor of the process, which every context
 * shares: a context holds at most PV_CTX_MAX_MEMFDS of them. A blob request
 * (the front door's thread) reads a memory's fd while a ring may free the
 * memory: it does so with the object table locked, and vkFreeMemory takes
 * the memory out of the table before freeing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "shm.h"


static void
close_memfd(struct pv_device *dev, struct pv_memory *mem)
{
    if (mem->fd >= 0) {
        close(mem->fd);
        atomic_fetch_sub(&dev->ctx->memfds, 1);
    }
    mem->fd = -1;
}

void
pv_memory_free(struct pv_device *dev, struct pv_memory *mem)
{
    if (!mem)
        return;
    if (mem->host)
        dev->t.FreeMemory(dev->host, mem->host, NULL);
    if (mem->map)
        munmap(mem->map, mem->map_size);
    close_memfd(dev, mem);
    free(mem);
}

/* A shared-memory file for `size` bytes of host memory, mapped here at the
 * driver's import alignment, for import as host memory. The import (and
 * our mapping) is `size` rounded to that alignment; the file is rounded
 * further to the largest page a client may map (pv_shm_round), because a
 * client with larger pages than ours (an ARM64 guest with 16 KiB pages)
 * asks for a blob of whole pages of its own. */
static VkResult
memfd_backing(struct pv_device *dev, struct pv_memory *mem, VkDeviceSize size)
{
    VkDeviceSize align = dev->host_ptr_align;
    VkDeviceSize map_size = (size + align - 1) & ~(align - 1);
    uint64_t file_size = pv_shm_round(map_size);
    if (map_size < size || !file_size || map_size > SIZE_MAX)
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    if (atomic_fetch_add(&dev->ctx->memfds, 1) >= PV_CTX_MAX_MEMFDS) {
        atomic_fetch_sub(&dev->ctx->memfds, 1);
        return VK_ERROR_TOO_MANY_OBJECTS; /* the caller makes the context fatal */
    }
    mem->fd = pv_shm_create("pearvisor-memory", file_size);
    if (mem->fd < 0) {
        mem->fd = -1;
        atomic_fetch_sub(&dev->ctx->memfds, 1);
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    void *p = pv_shm_map(mem->fd, map_size, (size_t)align);
    if (!p)
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    mem->map = p;
    mem->map_size = map_size;
    mem->file_size = file_size;
    return VK_SUCCESS;
}

VkExternalMemoryHandleTypeFlags
pv_memory_buffer_handle_types(struct pv_device *dev, const VkBufferCreateInfo *ci)
{
    const VkExternalMemoryHandleTypeFlagBits t = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    if (!dev->has_host_ptr || !dev->ext_buffer_props)
        return 0;
    VkPhysicalDeviceExternalBufferInfo info = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
        .flags = ci->flags, .usage = ci->usage, .handleType = t};
    VkExternalBufferProperties props = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
    dev->ext_buffer_props(dev->phys, &info, &props);
    return (props.externalMemoryProperties.externalMemoryFeatures &
            VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) ? (VkExternalMemoryHandleTypeFlags)t : 0;
}

VkExternalMemoryHandleTypeFlags
pv_memory_image_handle_types(struct pv_device *dev, const VkImageCreateInfo *ci)
{
    const VkExternalMemoryHandleTypeFlagBits t = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    if (!dev->has_host_ptr || !dev->image_format_props2)
        return 0;
    VkPhysicalDeviceExternalImageFormatInfo ext = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO, .handleType = t};
    VkPhysicalDeviceImageFormatInfo2 info = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2, .pNext = &ext,
        .format = ci->format, .type = ci->imageType, .tiling = ci->tiling, .usage = ci->usage,
        .flags = ci->flags};
    VkExternalImageFormatProperties eprops = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES};
    VkImageFormatProperties2 props = {.sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2,
                                      .pNext = &eprops};
    if (dev->image_format_props2(dev->phys, &info, &props) != VK_SUCCESS)
        return 0;
    return (eprops.externalMemoryProperties.externalMemoryFeatures &
            VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) ? (VkExternalMemoryHandleTypeFlags)t : 0;
}

/* Whether memory for `ai` may be imported from a host pointer: not when the
 * object it is dedicated to was created without the host-allocation handle
 * type, or needs a dedicated allocation (the spec forbids a dedicated
 * host-pointer import). Otherwise the dedicated struct, a hint, goes. */
static bool
host_import_allowed(struct pv_device *dev, VkMemoryAllocateInfo *ai,
                    struct pv_chain_hole *hole)
{
    const VkMemoryDedicatedAllocateInfo *d = NULL;
    for (const VkBaseInStructure *s = ai->pNext; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO)
            d = (const VkMemoryDedicatedAllocateInfo *)s;
    if (!d || (!d->image && !d->buffer))
        return true;
    VkMemoryDedicatedRequirements dr = {.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS};
    VkMemoryRequirements2 req = {.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, .pNext = &dr};
    if (d->image) {
        VkImageMemoryRequirementsInfo2 ri = {
            .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2, .image = d->image};
        dev->t.GetImageMemoryRequirements2(dev->host, &ri, &req);
    } else {
        VkBufferMemoryRequirementsInfo2 ri = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, .buffer = d->buffer};
        dev->t.GetBufferMemoryRequirements2(dev->host, &ri, &req);
    }
    if (dr.requiresDedicatedAllocation)
        return false;
    pv_chain_take(&ai->pNext, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, hole);
    return true;
}

PV_DECLARE_HANDLER(vkAllocateMemory)
{
    ARGS(vkAllocateMemory);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_device *dev = ch->owner.dev;
    if (!a->pAllocateInfo || !a->pMemory)
        return pv_dispatch_fail(dec, "vkAllocateMemory: bad arguments");
    uint64_t id = (uint64_t)(uintptr_t)*a->pMemory;
    if (!id || pv_objtab_contains(&ctx->objs, id))
        return pv_dispatch_fail(dec, "vkAllocateMemory: memory id is 0 or in use");
    VkMemoryAllocateInfo ai = *a->pAllocateInfo;
    if (ai.memoryTypeIndex >= dev->mem_props.memoryTypeCount) {
        a->ret = VK_ERROR_OUT_OF_DEVICE_MEMORY;
        return REPLY();
    }
    /* Exportable memory is ours to provide (interop.c): the host never sees the request. */
    struct pv_chain_hole hole;
    pv_chain_take(&a->pAllocateInfo->pNext, VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, &hole);
    ai = *a->pAllocateInfo;
    for (const VkBaseInStructure *s = ai.pNext; s; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA) {
            a->ret = VK_ERROR_INVALID_EXTERNAL_HANDLE;
            return REPLY();
        }
    }
    struct pv_memory *mem = calloc(1, sizeof(*mem));
    if (!mem)
        return pv_dispatch_fail(dec, "out of memory");
    mem->fd = -1;
    mem->size = ai.allocationSize;
    mem->type_index = ai.memoryTypeIndex;
    VkMemoryPropertyFlags props = dev->mem_props.memoryTypes[ai.memoryTypeIndex].propertyFlags;
    VkImportMemoryHostPointerInfoEXT import = {
        .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
        .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
    };
    a->ret = VK_SUCCESS;
    struct pv_chain_hole dedicated;
    if ((props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && dev->has_host_ptr && ai.allocationSize &&
        host_import_allowed(dev, &ai, &dedicated)) {
        a->ret = memfd_backing(dev, mem, ai.allocationSize);
        if (a->ret == VK_SUCCESS) {
            VkMemoryHostPointerPropertiesEXT hp = {
                .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
            VkResult r = dev->get_host_ptr_props(
                dev->host, import.handleType, mem->map, &hp);
            if (r == VK_SUCCESS && (hp.memoryTypeBits & (1u << ai.memoryTypeIndex))) {
                import.pHostPointer = mem->map;
                import.pNext = ai.pNext;
                ai.pNext = &import;
                ai.allocationSize = mem->map_size;
            } else {
                /* Not importable into this type: allocate normally, unshareable. */
                munmap(mem->map, mem->map_size);
                close_memfd(dev, mem);
                mem->map = NULL;
            }
        }
    }
    if (a->ret == VK_ERROR_TOO_MANY_OBJECTS) {
        pv_memory_free(dev, mem);
        return pv_dispatch_fail(dec, "the context holds its budget of host-visible memories "
                                     "(PV_CTX_MAX_MEMFDS file descriptors)");
    }
    if (a->ret == VK_SUCCESS)
        a->ret = dev->t.AllocateMemory(dev->host, &ai, NULL, &mem->host);
    if (a->ret != VK_SUCCESS) {
        mem->host = VK_NULL_HANDLE;
        pv_memory_free(dev, mem);
        return REPLY();
    }
    struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)mem->host,
                         .type = VK_OBJECT_TYPE_DEVICE_MEMORY, .dev = dev, .life = &dev->life,
                         .priv = mem};
    /* pv_dispatch_insert frees the memory (pv_lifetime_destroy_host) if it cannot be kept. */
    if (!pv_dispatch_insert(ch, dec, &obj))
        return false;
    return REPLY();
}

PV_DECLARE_HANDLER(vkFreeMemory)
{
    ARGS(vkFreeMemory);
    if (!a->id_memory)
        return true;
    struct pv_obj *o = pv_objtab_remove(&ch->ctx->objs, a->id_memory,
                                        VK_OBJECT_TYPE_DEVICE_MEMORY);
    if (!o)
        return pv_dispatch_fail(dec, "vkFreeMemory: unknown memory");
    if (o->dev != ch->owner.dev) {
        /* Another device's: put it back, the client is confused or hostile. */
        pv_objtab_insert(&ch->ctx->objs, o);
        free(o);
        return pv_dispatch_fail(dec, "vkFreeMemory: memory of another device");
    }
    /* The client unmapped its view first; our mapping and memfd go with the memory. */
    pv_memory_free(o->dev, o->priv);
    free(o);
    return true;
}

PV_DECLARE_HANDLER(vkGetMemoryResourcePropertiesMESA)
{
    ARGS(vkGetMemoryResourcePropertiesMESA);
    /* Only dma-buf resources can be imported as memory, and we export none. */
    a->ret = VK_ERROR_INVALID_EXTERNAL_HANDLE;
    if (flags & VK_COMMAND_GENERATE_REPLY_BIT_EXT)
        return pv_dispatch_reply(ch, dec, cmd, a);
    return true;
}

struct export {
    uint64_t size;
    int fd;       /* the duplicate, or -errno */
    uint32_t type_index;
};

/* With the table locked, so that vkFreeMemory on a ring cannot close the fd meanwhile. */
static void
export_locked(const struct pv_obj *o, void *data)
{
    struct export *e = data;
    const struct pv_memory *mem = o->priv;
    e->type_index = mem->type_index;
    if (mem->fd < 0)
        e->fd = -ENOTSUP;
    else if (e->size > mem->file_size)
        e->fd = -EINVAL;
    else if ((e->fd = fcntl(mem->fd, F_DUPFD_CLOEXEC, 0)) < 0)
        e->fd = -errno;
}

int
pv_memory_export(struct pv_ctx *ctx, uint64_t memory_id, uint64_t size, uint32_t flags, int *fd)
{
    (void)flags;
    struct export e = {.size = size};
    if (!pv_objtab_with(&ctx->objs, memory_id, VK_OBJECT_TYPE_DEVICE_MEMORY, export_locked, &e)) {
        pv_ctx_fatal(ctx, PV_FATAL_OBJECT, "blob for an unknown VkDeviceMemory id");
        return -EINVAL;
    }
    if (e.fd == -ENOTSUP)
        pv_warn("venus", "context %u: memory type %u cannot be shared with the client "
                "(the host driver lacks VK_EXT_external_memory_host for it)", ctx->id,
                e.type_index);
    if (e.fd < 0)
        return e.fd;
    *fd = e.fd;
    PV_STAT_ADD(ctx->r, blobs_created, 1);
    PV_STAT_ADD(ctx->r, blob_bytes, size);
    return 0;
}
