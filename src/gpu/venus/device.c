/*
 * gpu/venus/device: devices and their queues.
 *
 * Policy lives here: a device gets the extensions the client enabled minus
 * those interop.c provides itself, plus VK_EXT_external_memory_host when the
 * host has it, so host-visible memory can be shared with the client
 * (memory.c). A queue is bound to the client's id at vkGetDeviceQueue(2),
 * and to a timeline (the ring_idx of VkDeviceQueueTimelineInfoMESA) that
 * context fences retire on. Host queues need external synchronization: every
 * submission takes the queue's lock. Waiting for a queue or a device to be
 * idle is a fence on each queue, waited for in slices (sync.c), never the
 * host's vkQueueWaitIdle or vkDeviceWaitIdle, which cannot be cut short.
 * Destroying a device destroys what the client left of it once nothing
 * uses it any more (lifetime.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.h"
#include "interop.h"
#include "log.h"
#include "shm.h"

static bool
host_has_extension(struct pv_instance *inst, VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (inst->t.EnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS)
        return false;
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof(*p));
    bool found = false;
    if (p && inst->t.EnumerateDeviceExtensionProperties(phys, NULL, &n, p) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

/* Creates a throwaway device on phys with VK_EXT_external_memory_host and
 * asks which memory types a memfd mapping (what memory.c imports) can go
 * into. Device-local host-visible memory (a discrete GPU's BAR) usually
 * cannot. Called with the loader lock held. */
static uint32_t
probe_import_types(struct pv_ctx *ctx, struct pv_instance *inst, VkPhysicalDevice phys,
                   uint32_t all)
{
    VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &hp};
    inst->t.GetPhysicalDeviceProperties2(phys, &p2);
    size_t page = pv_host_page_size();
    size_t len = hp.minImportedHostPointerAlignment > page ? hp.minImportedHostPointerAlignment
                                                          : page;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = 0, .queueCount = 1,
                                 .pQueuePriorities = &prio};
    const char *ext = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &q,
                              .enabledExtensionCount = 1, .ppEnabledExtensionNames = &ext};
    VkDevice dev;
    if (inst->t.CreateDevice(phys, &dci, NULL, &dev) != VK_SUCCESS)
        return all;
    PFN_vkGetDeviceProcAddr gdpa =
        (PFN_vkGetDeviceProcAddr)ctx->r->gipa(inst->host, "vkGetDeviceProcAddr");
    PFN_vkGetMemoryHostPointerPropertiesEXT get =
        (PFN_vkGetMemoryHostPointerPropertiesEXT)gdpa(dev, "vkGetMemoryHostPointerPropertiesEXT");
    PFN_vkDestroyDevice destroy = (PFN_vkDestroyDevice)gdpa(dev, "vkDestroyDevice");
    uint32_t bits = all;
    int fd = pv_shm_create("pearvisor-probe", len);
    void *map = fd >= 0 ? pv_shm_map(fd, len, len) : NULL;
    VkMemoryHostPointerPropertiesEXT mp = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
    if (get && map &&
        get(dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, map, &mp) == VK_SUCCESS)
        bits = mp.memoryTypeBits & all;
    if (map)
        munmap(map, len);
    if (fd >= 0)
        close(fd);
    if (destroy)
        destroy(dev, NULL);
    return bits;
}

uint32_t
pv_device_host_import_types(struct pv_ctx *ctx, VkPhysicalDevice phys)
{
    struct pv_instance *inst = ctx->instance;
    VkPhysicalDeviceMemoryProperties mp;
    inst->t.GetPhysicalDeviceMemoryProperties(phys, &mp);
    uint32_t all = mp.memoryTypeCount >= 32 ? UINT32_MAX : (1u << mp.memoryTypeCount) - 1;
    if (!host_has_extension(inst, phys, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME))
        return all;
    VkPhysicalDeviceProperties p;
    inst->t.GetPhysicalDeviceProperties(phys, &p);
    struct pv_renderer *r = ctx->r;
    pthread_mutex_lock(&r->import_lock);
    for (uint32_t i = 0; i < r->import_types_count; i++) {
        const struct pv_import_types *c = &r->import_types[i];
        if (c->vendor == p.vendorID && c->device == p.deviceID && c->driver == p.driverVersion &&
            !memcmp(c->cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE)) {
            uint32_t bits = c->bits;
            pthread_mutex_unlock(&r->import_lock);
            return bits;
        }
    }
    pv_loader_lock();
    uint32_t bits = probe_import_types(ctx, inst, phys, all);
    pv_loader_unlock();
    if (r->import_types_count < sizeof(r->import_types) / sizeof(r->import_types[0])) {
        struct pv_import_types *c = &r->import_types[r->import_types_count++];
        *c = (struct pv_import_types){.vendor = p.vendorID, .device = p.deviceID,
                                      .driver = p.driverVersion, .bits = bits};
        memcpy(c->cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);
    }
    pthread_mutex_unlock(&r->import_lock);
    uint32_t visible = 0;
    for (uint32_t i = 0; i < mp.memoryTypeCount && i < 32; i++)
        if (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
            visible |= 1u << i;
    if (visible & ~bits)
        pv_info("venus", "%s: host-visible memory types 0x%x cannot take host memory; shown "
                "to clients without HOST_VISIBLE", p.deviceName, visible & ~bits);
    return bits;
}

PV_DECLARE_HANDLER(vkCreateDevice)
{
    ARGS(vkCreateDevice);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
    if (!inst || !a->pCreateInfo || !a->pDevice)
        return pv_dispatch_fail(dec, "vkCreateDevice: bad arguments");
    uint64_t id = (uint64_t)(uintptr_t)*a->pDevice;
    if (!id || pv_objtab_contains(&ctx->objs, id))
        return pv_dispatch_fail(dec, "vkCreateDevice: device id is 0 or in use");
    const VkDeviceCreateInfo *ci = a->pCreateInfo;
    for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
        const char *name = ci->ppEnabledExtensionNames[i];
        if (!pv_instance_extension_known(name) ||
            (pv_instance_extension_hidden(name) && !pv_interop_is_emulated(name))) {
            a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
            return REPLY();
        }
    }
    struct pv_device *dev = calloc(1, sizeof(*dev));
    const char **names = calloc(ci->enabledExtensionCount + 1, sizeof(*names));
    if (!dev || !names) {
        free(dev);
        free(names);
        return pv_dispatch_fail(dec, "out of memory");
    }
    /* Emulated extensions are ours (interop.c); the host never sees them. */
    uint32_t n = 0;
    for (uint32_t i = 0; i < ci->enabledExtensionCount; i++)
        if (!pv_interop_is_emulated(ci->ppEnabledExtensionNames[i]))
            names[n++] = ci->ppEnabledExtensionNames[i];
    bool have_host_ptr = false;
    for (uint32_t i = 0; i < n; i++)
        have_host_ptr |= !strcmp(names[i], VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
    if (!have_host_ptr &&
        host_has_extension(inst, a->physicalDevice, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) {
        names[n++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
        have_host_ptr = true;
    }
    VkDeviceCreateInfo hci = *ci;
    hci.enabledExtensionCount = n;
    hci.ppEnabledExtensionNames = names;
    hci.enabledLayerCount = 0;
    hci.ppEnabledLayerNames = NULL;
    VkDevice host = VK_NULL_HANDLE;
    pv_loader_lock();
    a->ret = inst->t.CreateDevice(a->physicalDevice, &hci, NULL, &host);
    free(names);
    if (a->ret != VK_SUCCESS) {
        pv_loader_unlock();
        free(dev);
        return REPLY();
    }
    pv_life_init(&dev->life, pv_device_last);
    pthread_mutex_init(&dev->fence_pool_lock, NULL);
    dev->ctx = ctx;
    dev->inst = inst;
    dev->host = host;
    dev->id = id;
    dev->phys = a->physicalDevice;
    dev->has_host_ptr = have_host_ptr;
    PFN_vkGetDeviceProcAddr gdpa =
        (PFN_vkGetDeviceProcAddr)ctx->r->gipa(inst->host, "vkGetDeviceProcAddr");
    pvg_load_device_table(gdpa, host, &dev->t);
    dev->gdpa = gdpa;
    pv_dispatch_probe_commands(dev->has_cmd, true, &dev->t);
    inst->t.GetPhysicalDeviceMemoryProperties(a->physicalDevice, &dev->mem_props);
    dev->host_ptr_align = pv_host_page_size();
    dev->ext_buffer_props = inst->t.GetPhysicalDeviceExternalBufferProperties;
    dev->image_format_props2 = inst->t.GetPhysicalDeviceImageFormatProperties2;
    if (have_host_ptr) {
        dev->get_host_ptr_props = (PFN_vkGetMemoryHostPointerPropertiesEXT)gdpa(
            host, "vkGetMemoryHostPointerPropertiesEXT");
        dev->has_host_ptr = dev->get_host_ptr_props != NULL;
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &hp};
        inst->t.GetPhysicalDeviceProperties2(a->physicalDevice, &p2);
        if (hp.minImportedHostPointerAlignment > dev->host_ptr_align)
            dev->host_ptr_align = hp.minImportedHostPointerAlignment;
    }
    struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)host,
                         .type = VK_OBJECT_TYPE_DEVICE, .dev = dev, .life = &dev->life,
                         .priv = dev};
    int err = pv_objtab_insert(&ctx->objs, &obj);
    if (err) {
        dev->t.DestroyDevice(host, NULL);
        pv_loader_unlock();
        free(dev);
        return pv_dispatch_fail(dec, err == -ENOSPC ? "the context holds its budget of objects "
                                                      "(PV_CTX_MAX_OBJECTS)"
                                                    : "device id in use, or out of memory");
    }
    /* The instance lives as long as its devices (the command pins it now). */
    pv_life_get(&inst->life, false);
    pv_loader_unlock();
    return REPLY();
}

static void
bind_queue(struct pv_channel *ch, struct pv_cs_dec *dec, struct pv_device *dev, VkQueue host,
           uint64_t id, uint32_t ring_idx)
{
    struct pv_ctx *ctx = ch->ctx;
    if (!host) {
        pv_dispatch_fail(dec, "no such queue");
        return;
    }
    if (ring_idx >= PV_MAX_TIMELINES) {
        pv_dispatch_fail(dec, "queue timeline index out of range");
        return;
    }
    /* The same queue may be asked for again with the same id. */
    struct pv_obj old;
    if (pv_objtab_get(&ctx->objs, id, VK_OBJECT_TYPE_QUEUE, &old) &&
        old.host == (uint64_t)(uintptr_t)host)
        return;
    struct pv_queue *q = calloc(1, sizeof(*q));
    if (!q) {
        pv_dispatch_fail(dec, "out of memory");
        return;
    }
    q->host = host;
    q->id = id;
    q->ring_idx = ring_idx;
    q->dev = dev;
    pthread_mutex_init(&q->lock, NULL);
    struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)host,
                         .type = VK_OBJECT_TYPE_QUEUE, .dev = dev, .life = &dev->life, .priv = q};
    int err = pv_objtab_insert(&ctx->objs, &obj);
    if (err) {
        pthread_mutex_destroy(&q->lock);
        free(q);
        pv_dispatch_fail(dec, err == -ENOSPC ? "the context holds its budget of objects "
                                               "(PV_CTX_MAX_OBJECTS)"
                                             : "queue id is 0 or in use");
        return;
    }
    pthread_mutex_lock(&ctx->lock);
    q->next = dev->queues;
    dev->queues = q;
    if (ring_idx) {
        if (ctx->timelines[ring_idx])
            pv_dispatch_fail(dec, "timeline already bound to another queue");
        else
            ctx->timelines[ring_idx] = q;
    }
    pthread_mutex_unlock(&ctx->lock);
}

PV_DECLARE_HANDLER(vkGetDeviceQueue2)
{
    ARGS(vkGetDeviceQueue2);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || !a->pQueueInfo || !a->pQueue)
        return pv_dispatch_fail(dec, "vkGetDeviceQueue2: bad arguments");
    /* Take our timeline struct out of the chain: the host driver has never heard of it. */
    VkDeviceQueueInfo2 info = *a->pQueueInfo;
    uint32_t ring_idx = 0;
    const VkBaseInStructure **pp = (const VkBaseInStructure **)&info.pNext;
    while (*pp) {
        if ((*pp)->sType == VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA) {
            ring_idx = ((const VkDeviceQueueTimelineInfoMESA *)*pp)->ringIdx;
            *pp = (*pp)->pNext;
        } else {
            pp = (const VkBaseInStructure **)&(*pp)->pNext;
        }
    }
    VkQueue host = VK_NULL_HANDLE;
    dev->t.GetDeviceQueue2(dev->host, &info, &host);
    bind_queue(ch, dec, dev, host, (uint64_t)(uintptr_t)*a->pQueue, ring_idx);
    return !*dec->fatal && REPLY();
}

PV_DECLARE_HANDLER(vkGetDeviceQueue)
{
    ARGS(vkGetDeviceQueue);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || !a->pQueue)
        return pv_dispatch_fail(dec, "vkGetDeviceQueue: bad arguments");
    VkQueue host = VK_NULL_HANDLE;
    dev->t.GetDeviceQueue(dev->host, a->queueFamilyIndex, a->queueIndex, &host);
    bind_queue(ch, dec, dev, host, (uint64_t)(uintptr_t)*a->pQueue, 0);
    return !*dec->fatal && REPLY();
}

/*
 * Host queues need external synchronization: fences (context.c) submit on
 * them too. The queue is the command's owner, so its device is pinned.
 */
static bool
with_queue_locked(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd, uint32_t flags)
{
    struct pv_queue *q = ch->owner.priv;
    pthread_mutex_lock(&q->lock);
    bool ok = pv_dispatch_generic(ch, dec, cmd, flags);
    pthread_mutex_unlock(&q->lock);
    return ok;
}

PV_DECLARE_HANDLER(vkQueueSubmit) { return with_queue_locked(ch, dec, cmd, flags); }
PV_DECLARE_HANDLER(vkQueueSubmit2) { return with_queue_locked(ch, dec, cmd, flags); }
PV_DECLARE_HANDLER(vkQueueBindSparse) { return with_queue_locked(ch, dec, cmd, flags); }

PV_DECLARE_HANDLER(vkQueueWaitIdle)
{
    ARGS(vkQueueWaitIdle);
    struct pv_queue *q = ch->owner.priv;
    a->ret = pv_sync_wait_queues(ch, ch->owner.dev, &q, 1, UINT64_MAX);
    if (a->ret == VK_ERROR_DEVICE_LOST && !pv_channel_alive(ch))
        return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
    return REPLY();
}

PV_DECLARE_HANDLER(vkDeviceWaitIdle)
{
    ARGS(vkDeviceWaitIdle);
    struct pv_device *dev = ch->owner.dev;
    struct pv_queue *queues[64];
    uint32_t n = 0;
    pthread_mutex_lock(&ch->ctx->lock);
    for (struct pv_queue *q = dev->queues; q && n < 64; q = q->next)
        queues[n++] = q;
    pthread_mutex_unlock(&ch->ctx->lock);
    a->ret = n ? pv_sync_wait_queues(ch, dev, queues, n, UINT64_MAX) : VK_SUCCESS;
    if (a->ret == VK_ERROR_DEVICE_LOST && !pv_channel_alive(ch))
        return pv_dispatch_fail(dec, PV_WAIT_CUT_SHORT);
    return REPLY();
}

PV_DECLARE_HANDLER(vkDestroyDevice)
{
    ARGS(vkDestroyDevice);
    if (!a->id_device)
        return true;
    /* Goes once no other ring, blob request or pending fence uses it (lifetime.c). */
    pv_device_kill(ch->ctx, ch->owner.dev);
    return true;
}
