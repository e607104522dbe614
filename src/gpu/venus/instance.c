/*
 * gpu/venus/instance: the instance, physical devices, devices and queues of
 * a context, and what the renderer advertises about them.
 *
 * Policy lives here: one instance per context, created with no client
 * layers or extensions; device extensions are the host's intersected with
 * what our decoders know (pvg_extensions) minus what the renderer cannot
 * provide over its transports (dma-buf and sync-fd interop, for now); every
 * device gets VK_EXT_external_memory_host when the host has it, so
 * host-visible memory can be shared with the client (memory.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"


/* Highest API version the renderer passes on: the protocol our decoders speak. */
#define PV_MAX_API_VERSION VK_MAKE_API_VERSION(0, 1, 3, 0)

PV_DECLARE_HANDLER(vkEnumerateInstanceVersion)
{
    ARGS(vkEnumerateInstanceVersion);
    if (a->pApiVersion)
        *a->pApiVersion = ch->ctx->r->instance_version;
    a->ret = VK_SUCCESS;
    return REPLY();
}

PV_DECLARE_HANDLER(vkEnumerateInstanceExtensionProperties)
{
    ARGS(vkEnumerateInstanceExtensionProperties);
    /* The client implements every instance extension it offers itself. */
    if (a->pPropertyCount)
        *a->pPropertyCount = 0;
    a->ret = a->pLayerName ? VK_ERROR_LAYER_NOT_PRESENT : VK_SUCCESS;
    return REPLY();
}

PV_DECLARE_HANDLER(vkEnumerateInstanceLayerProperties)
{
    ARGS(vkEnumerateInstanceLayerProperties);
    if (a->pPropertyCount)
        *a->pPropertyCount = 0;
    a->ret = VK_SUCCESS;
    return REPLY();
}

static PFN_vkVoidFunction
instance_proc(void *data, const char *name)
{
    struct pv_instance *inst = data;
    return vkGetInstanceProcAddr(inst->host, name);
}

static PFN_vkVoidFunction
device_proc(void *data, const char *name)
{
    struct pv_device *dev = data;
    return dev->gdpa(dev->host, name);
}

PV_DECLARE_HANDLER(vkCreateInstance)
{
    ARGS(vkCreateInstance);
    struct pv_ctx *ctx = ch->ctx;
    if (ctx->instance)
        return pv_dispatch_fail(dec, "second vkCreateInstance in one context");
    if (!a->pCreateInfo || !a->pInstance || !*(uint64_t *)a->pInstance)
        return pv_dispatch_fail(dec, "vkCreateInstance without create info or id");
    uint64_t id = (uint64_t)(uintptr_t)*a->pInstance;
    const VkInstanceCreateInfo *ci = a->pCreateInfo;
    if (ci->enabledLayerCount) {
        a->ret = VK_ERROR_LAYER_NOT_PRESENT;
        return REPLY();
    }
    if (ci->enabledExtensionCount) {
        a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
        return REPLY();
    }
    uint32_t version = ci->pApplicationInfo ? ci->pApplicationInfo->apiVersion : 0;
    if (version < VK_API_VERSION_1_1)
        version = VK_API_VERSION_1_1;
    if (version > ctx->r->instance_version)
        version = ctx->r->instance_version;
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "pearvisor-venus",
        .pEngineName = "pearvisor",
        .apiVersion = version,
    };
    VkInstanceCreateInfo hci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
    PFN_vkCreateInstance create =
        (PFN_vkCreateInstance)ctx->r->gipa(VK_NULL_HANDLE, "vkCreateInstance");
    VkInstance host = VK_NULL_HANDLE;
    pv_loader_lock();
    a->ret = create(&hci, NULL, &host);
    if (a->ret == VK_SUCCESS) {
        struct pv_instance *inst = calloc(1, sizeof(*inst));
        struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)host,
                             .type = VK_OBJECT_TYPE_INSTANCE, .priv = inst};
        if (!inst || pv_objtab_insert(&ctx->objs, &obj, NULL)) {
            PFN_vkDestroyInstance destroy =
                (PFN_vkDestroyInstance)ctx->r->gipa(host, "vkDestroyInstance");
            destroy(host, NULL);
            pv_loader_unlock();
            free(inst);
            return pv_dispatch_fail(dec, "instance id in use");
        }
        inst->host = host;
        inst->id = id;
        inst->api_version = version;
        pvg_load_instance_table(ctx->r->gipa, host, &inst->t);
        pv_dispatch_probe_commands(inst->has_cmd, false, instance_proc, inst);
        ctx->instance = inst;
    }
    pv_loader_unlock();
    return REPLY();
}

PV_DECLARE_HANDLER(vkDestroyInstance)
{
    ARGS(vkDestroyInstance);
    struct pv_ctx *ctx = ch->ctx;
    if (!ctx->instance || a->id_instance != ctx->instance->id)
        return pv_dispatch_fail(dec, "vkDestroyInstance of an unknown instance");
    /* Destroys devices the client leaked, then the instance itself. */
    pv_venus_destroy_all(ctx);
    return true;
}

/* ---- physical devices ---- */

/* Under the loader lock: the first enumeration with an array unloads the
 * instance's drivers that have no device, which edits lists other threads'
 * loader calls walk (see pv_loader_lock). */
static bool
load_physical_devices(struct pv_instance *inst)
{
    if (inst->phys)
        return true;
    uint32_t n = 0;
    bool ok = false;
    pv_loader_lock();
    if (inst->t.EnumeratePhysicalDevices(inst->host, &n, NULL) != VK_SUCCESS)
        goto out;
    inst->phys = calloc(n ? n : 1, sizeof(*inst->phys));
    if (!inst->phys)
        goto out;
    if (inst->t.EnumeratePhysicalDevices(inst->host, &n, inst->phys) < 0)
        goto out;
    inst->phys_count = n;
    ok = true;
out:
    pv_loader_unlock();
    return ok;
}

static uint64_t
physical_device_id(struct pv_ctx *ctx, VkPhysicalDevice host)
{
    /* Ids bound by vkEnumeratePhysicalDevices; few, so a scan is fine. */
    struct pv_instance *inst = ctx->instance;
    for (uint32_t i = 0; i < inst->phys_count; i++) {
        if (inst->phys[i] == host)
            return inst->phys_ids ? inst->phys_ids[i] : 0;
    }
    return 0;
}

PV_DECLARE_HANDLER(vkEnumeratePhysicalDevices)
{
    ARGS(vkEnumeratePhysicalDevices);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_instance *inst = ctx->instance;
    if (!inst || a->id_instance != inst->id)
        return pv_dispatch_fail(dec, "vkEnumeratePhysicalDevices on an unknown instance");
    if (!a->pPhysicalDeviceCount)
        return pv_dispatch_fail(dec, "vkEnumeratePhysicalDevices without a count");
    if (!load_physical_devices(inst)) {
        a->ret = VK_ERROR_INITIALIZATION_FAILED;
        return REPLY();
    }
    a->ret = VK_SUCCESS;
    if (!a->pPhysicalDevices) {
        *a->pPhysicalDeviceCount = inst->phys_count;
        return REPLY();
    }
    uint32_t n = *a->pPhysicalDeviceCount;
    if (n > inst->phys_count)
        n = inst->phys_count;
    else if (n < inst->phys_count)
        a->ret = VK_INCOMPLETE;
    if (!inst->phys_ids) {
        inst->phys_ids = calloc(inst->phys_count ? inst->phys_count : 1, sizeof(uint64_t));
        if (!inst->phys_ids)
            return pv_dispatch_fail(dec, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = (uint64_t)(uintptr_t)a->pPhysicalDevices[i];
        if (inst->phys_ids[i] == id)
            continue;
        if (inst->phys_ids[i])
            return pv_dispatch_fail(dec, "physical device rebound to another id");
        struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)inst->phys[i],
                             .type = VK_OBJECT_TYPE_PHYSICAL_DEVICE};
        if (pv_objtab_insert(&ctx->objs, &obj, NULL))
            return pv_dispatch_fail(dec, "physical device id is 0 or in use");
        inst->phys_ids[i] = id;
    }
    *a->pPhysicalDeviceCount = n;
    return REPLY();
}

PV_DECLARE_HANDLER(vkEnumeratePhysicalDeviceGroups)
{
    ARGS(vkEnumeratePhysicalDeviceGroups);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_instance *inst = ctx->instance;
    if (!inst || a->id_instance != inst->id || !a->pPhysicalDeviceGroupCount)
        return pv_dispatch_fail(dec, "vkEnumeratePhysicalDeviceGroups: bad arguments");
    pv_loader_lock();
    a->ret = inst->t.EnumeratePhysicalDeviceGroups(inst->host, a->pPhysicalDeviceGroupCount,
                                                   a->pPhysicalDeviceGroupProperties);
    pv_loader_unlock();
    if (a->ret >= 0 && a->pPhysicalDeviceGroupProperties) {
        /* Host handles back to the ids the client bound them to. */
        for (uint32_t g = 0; g < *a->pPhysicalDeviceGroupCount; g++) {
            VkPhysicalDeviceGroupProperties *p = &a->pPhysicalDeviceGroupProperties[g];
            for (uint32_t i = 0; i < p->physicalDeviceCount && i < VK_MAX_DEVICE_GROUP_SIZE; i++)
                p->physicalDevices[i] =
                    (VkPhysicalDevice)(uintptr_t)physical_device_id(ctx, p->physicalDevices[i]);
        }
    }
    return REPLY();
}

/*
 * Extensions we know how to decode but do not pass on: fd-based fence
 * export (no fd crosses our transports), and those interop.c provides
 * itself instead of the host driver.
 */
static bool
extension_hidden(const char *name)
{
    static const char *const hidden[] = {
        "VK_KHR_external_fence_fd",
        "VK_EXT_external_memory_acquire_unmodified",
        "VK_EXT_memory_budget",
    };
    if (pv_interop_is_emulated(name))
        return true;
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (!strcmp(name, hidden[i]))
            return true;
    return false;
}

static const struct pvg_extension *
known_extension(const char *name)
{
    for (uint32_t i = 0; i < PVG_EXTENSION_COUNT; i++)
        if (!strcmp(pvg_extensions[i].name, name))
            return &pvg_extensions[i];
    return NULL;
}

PV_DECLARE_HANDLER(vkEnumerateDeviceExtensionProperties)
{
    ARGS(vkEnumerateDeviceExtensionProperties);
    struct pv_ctx *ctx = ch->ctx;
    if (!ctx->instance || !a->pPropertyCount)
        return pv_dispatch_fail(dec, "vkEnumerateDeviceExtensionProperties: bad arguments");
    if (a->pLayerName) {
        a->ret = VK_ERROR_LAYER_NOT_PRESENT;
        return REPLY();
    }
    uint32_t n = 0;
    VkExtensionProperties *host = NULL;
    VkResult res = ctx->instance->t.EnumerateDeviceExtensionProperties(a->physicalDevice, NULL,
                                                                       &n, NULL);
    if (res == VK_SUCCESS) {
        host = calloc(n ? n : 1, sizeof(*host));
        res = host ? ctx->instance->t.EnumerateDeviceExtensionProperties(a->physicalDevice, NULL,
                                                                         &n, host)
                   : VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    if (res < 0) {
        free(host);
        a->ret = res;
        return REPLY();
    }
    uint32_t cap = a->pProperties ? *a->pPropertyCount : 0, out = 0;
    uint32_t extra = pv_interop_extension_count();
    a->ret = VK_SUCCESS;
    for (uint32_t i = 0; i < n + extra; i++) {
        VkExtensionProperties e;
        if (i < n)
            e = host[i];
        else
            pv_interop_extension(i - n, &e);
        const struct pvg_extension *k = known_extension(e.extensionName);
        if (!k || (i < n && extension_hidden(e.extensionName)))
            continue;
        if (a->pProperties) {
            if (out == cap) {
                a->ret = VK_INCOMPLETE;
                break;
            }
            a->pProperties[out] = e;
            if (a->pProperties[out].specVersion > k->spec_version)
                a->pProperties[out].specVersion = k->spec_version;
        }
        out++;
    }
    *a->pPropertyCount = out;
    free(host);
    return REPLY();
}

PV_DECLARE_HANDLER(vkEnumerateDeviceLayerProperties)
{
    ARGS(vkEnumerateDeviceLayerProperties);
    if (a->pPropertyCount)
        *a->pPropertyCount = 0;
    a->ret = VK_SUCCESS;
    return REPLY();
}

static void
cap_api_version(uint32_t *v)
{
    if (*v > PV_MAX_API_VERSION)
        *v = VK_MAKE_API_VERSION(0, 1, 3, VK_API_VERSION_PATCH(*v));
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceProperties)
{
    ARGS(vkGetPhysicalDeviceProperties);
    if (!ch->ctx->instance || !a->pProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceProperties: bad arguments");
    ch->ctx->instance->t.GetPhysicalDeviceProperties(a->physicalDevice, a->pProperties);
    cap_api_version(&a->pProperties->apiVersion);
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceProperties2)
{
    ARGS(vkGetPhysicalDeviceProperties2);
    if (!ch->ctx->instance || !a->pProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceProperties2: bad arguments");
    ch->ctx->instance->t.GetPhysicalDeviceProperties2(a->physicalDevice, a->pProperties);
    cap_api_version(&a->pProperties->properties.apiVersion);
    return REPLY();
}

/* ---- devices and queues ---- */

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

PV_DECLARE_HANDLER(vkCreateDevice)
{
    ARGS(vkCreateDevice);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_instance *inst = ctx->instance;
    if (!inst || !a->pCreateInfo || !a->pDevice)
        return pv_dispatch_fail(dec, "vkCreateDevice: bad arguments");
    uint64_t id = (uint64_t)(uintptr_t)*a->pDevice;
    if (!id || pv_objtab_contains(&ctx->objs, id))
        return pv_dispatch_fail(dec, "vkCreateDevice: device id is 0 or in use");
    const VkDeviceCreateInfo *ci = a->pCreateInfo;
    for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
        const char *name = ci->ppEnabledExtensionNames[i];
        if (!known_extension(name) ||
            (extension_hidden(name) && !pv_interop_is_emulated(name))) {
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
    dev->host = host;
    dev->id = id;
    dev->phys = a->physicalDevice;
    dev->has_host_ptr = have_host_ptr;
    PFN_vkGetDeviceProcAddr gdpa =
        (PFN_vkGetDeviceProcAddr)ctx->r->gipa(inst->host, "vkGetDeviceProcAddr");
    pvg_load_device_table(gdpa, host, &dev->t);
    dev->gdpa = gdpa;
    pv_dispatch_probe_commands(dev->has_cmd, true, device_proc, dev);
    inst->t.GetPhysicalDeviceMemoryProperties(a->physicalDevice, &dev->mem_props);
    dev->host_ptr_align = 4096;
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
                         .type = VK_OBJECT_TYPE_DEVICE, .dev = dev, .priv = dev};
    if (pv_objtab_insert(&ctx->objs, &obj, NULL)) {
        dev->t.DestroyDevice(host, NULL);
        pv_loader_unlock();
        free(dev);
        return pv_dispatch_fail(dec, "out of memory");
    }
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
    struct pv_obj *old = pv_objtab_get(&ctx->objs, id, VK_OBJECT_TYPE_QUEUE);
    if (old && old->host == (uint64_t)(uintptr_t)host)
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
                         .type = VK_OBJECT_TYPE_QUEUE, .dev = dev, .priv = q};
    if (pv_objtab_insert(&ctx->objs, &obj, NULL)) {
        free(q);
        pv_dispatch_fail(dec, "queue id is 0 or in use");
        return;
    }
    if (ring_idx) {
        pthread_mutex_lock(&ctx->lock);
        if (ctx->timelines[ring_idx])
            pv_dispatch_fail(dec, "timeline already bound to another queue");
        else
            ctx->timelines[ring_idx] = q;
        pthread_mutex_unlock(&ctx->lock);
    }
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

/* Host queues need external synchronization: fences (context.c) submit on them too. */
static bool
with_queue_locked(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd, uint32_t flags)
{
    struct pv_obj *o = pv_dispatch_peek_object(ch, dec, VK_OBJECT_TYPE_QUEUE);
    if (!o)
        return false;
    struct pv_queue *q = o->priv;
    pthread_mutex_lock(&q->lock);
    bool ok = pv_dispatch_generic(ch, dec, cmd, flags);
    pthread_mutex_unlock(&q->lock);
    return ok;
}

PV_DECLARE_HANDLER(vkQueueSubmit) { return with_queue_locked(ch, dec, cmd, flags); }
PV_DECLARE_HANDLER(vkQueueSubmit2) { return with_queue_locked(ch, dec, cmd, flags); }
PV_DECLARE_HANDLER(vkQueueWaitIdle) { return with_queue_locked(ch, dec, cmd, flags); }
PV_DECLARE_HANDLER(vkQueueBindSparse) { return with_queue_locked(ch, dec, cmd, flags); }

PV_DECLARE_HANDLER(vkDestroyDevice)
{
    ARGS(vkDestroyDevice);
    struct pv_device *dev = a->id_device ? pv_dispatch_device(ch, dec, a->id_device) : NULL;
    if (!dev)
        return !a->id_device;
    pv_device_destroy(ch->ctx, dev);
    return true;
}
