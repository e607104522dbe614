/*
 * gpu/venus/instance: the instance and physical devices of a context, and
 * what the renderer advertises about them.
 *
 * Policy lives here: one instance per context, created with no client
 * layers or extensions; API versions are capped at the protocol our
 * decoders speak; device extensions are the host's intersected with what
 * our decoders know (pvg_extensions), minus those we never pass on, plus
 * those interop.c provides itself. The answers to external-handle and
 * format queries are interop.c's: each matches what the command that uses
 * it then does (memory.c, image.c, sync.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "interop.h"

/* Highest API version the renderer passes on: the major.minor of the registry
 * our decoders speak (1.4 from vk.xml 1.4.x); the host's patch level stays. */
#define PV_MAX_API_MAJOR VK_API_VERSION_MAJOR(PVG_VK_XML_VERSION)
#define PV_MAX_API_MINOR VK_API_VERSION_MINOR(PVG_VK_XML_VERSION)

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

PV_DECLARE_HANDLER(vkCreateInstance)
{
    ARGS(vkCreateInstance);
    struct pv_ctx *ctx = ch->ctx;
    pthread_mutex_lock(&ctx->lock);
    bool have = ctx->instance != NULL;
    pthread_mutex_unlock(&ctx->lock);
    if (have)
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
        bool ok = inst != NULL;
        if (ok) {
            pv_life_init(&inst->life, pv_instance_last);
            inst->ctx = ctx;
            inst->host = host;
            inst->id = id;
            inst->api_version = version;
            pthread_mutex_init(&inst->lock, NULL);
            pvg_load_instance_table(ctx->r->gipa, host, &inst->t);
            pv_dispatch_probe_commands(inst->has_cmd, false, &inst->t);
            struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)host,
                                 .type = VK_OBJECT_TYPE_INSTANCE, .life = &inst->life,
                                 .priv = inst};
            /* Another ring may have made one meanwhile: one instance per context. */
            pthread_mutex_lock(&ctx->lock);
            ok = !ctx->instance && pv_objtab_insert(&ctx->objs, &obj) == 0;
            if (ok)
                ctx->instance = inst;
            pthread_mutex_unlock(&ctx->lock);
        }
        if (!ok) {
            PFN_vkDestroyInstance destroy =
                (PFN_vkDestroyInstance)ctx->r->gipa(host, "vkDestroyInstance");
            destroy(host, NULL);
            pv_loader_unlock();
            if (inst)
                pthread_mutex_destroy(&inst->lock);
            free(inst);
            return pv_dispatch_fail(dec, "instance id in use, or a second instance");
        }
    }
    pv_loader_unlock();
    return REPLY();
}

PV_DECLARE_HANDLER(vkDestroyInstance)
{
    ARGS(vkDestroyInstance);
    struct pv_ctx *ctx = ch->ctx;
    pthread_mutex_lock(&ctx->lock);
    bool current = ctx->instance && ctx->instance == ch->owner.priv;
    pthread_mutex_unlock(&ctx->lock);
    if (!current)
        return pv_dispatch_fail(dec, "vkDestroyInstance of an unknown instance");
    /* Its devices and then the instance go once no other ring uses them (lifetime.c). */
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
    pthread_mutex_lock(&inst->lock);
    bool have = inst->phys != NULL;
    pthread_mutex_unlock(&inst->lock);
    if (have)
        return true;
    uint32_t n = 0;
    VkPhysicalDevice *phys = NULL;
    bool ok = false;
    pv_loader_lock();
    if (inst->t.EnumeratePhysicalDevices(inst->host, &n, NULL) == VK_SUCCESS) {
        phys = calloc(n ? n : 1, sizeof(*phys));
        ok = phys && inst->t.EnumeratePhysicalDevices(inst->host, &n, phys) >= 0;
    }
    pv_loader_unlock();
    if (!ok) {
        free(phys);
        return false;
    }
    /* Another ring may have loaded them meanwhile: the same handles. */
    pthread_mutex_lock(&inst->lock);
    if (!inst->phys) {
        inst->phys = phys;
        inst->phys_count = n;
        phys = NULL;
    }
    pthread_mutex_unlock(&inst->lock);
    free(phys);
    return true;
}

static uint64_t
physical_device_id(struct pv_instance *inst, VkPhysicalDevice host)
{
    /* Ids bound by vkEnumeratePhysicalDevices; few, so a scan is fine. */
    uint64_t id = 0;
    pthread_mutex_lock(&inst->lock);
    for (uint32_t i = 0; i < inst->phys_count; i++) {
        if (inst->phys[i] == host) {
            id = inst->phys_ids ? inst->phys_ids[i] : 0;
            break;
        }
    }
    pthread_mutex_unlock(&inst->lock);
    return id;
}

PV_DECLARE_HANDLER(vkEnumeratePhysicalDevices)
{
    ARGS(vkEnumeratePhysicalDevices);
    struct pv_ctx *ctx = ch->ctx;
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
    if (!inst || a->id_instance != inst->id)
        return pv_dispatch_fail(dec, "vkEnumeratePhysicalDevices on an unknown instance");
    if (!a->pPhysicalDeviceCount)
        return pv_dispatch_fail(dec, "vkEnumeratePhysicalDevices without a count");
    if (!load_physical_devices(inst)) {
        a->ret = VK_ERROR_INITIALIZATION_FAILED;
        return REPLY();
    }
    a->ret = VK_SUCCESS;
    /* Two rings may enumerate at once: ids are bound under the instance's lock. */
    pthread_mutex_lock(&inst->lock);
    if (!a->pPhysicalDevices) {
        *a->pPhysicalDeviceCount = inst->phys_count;
        pthread_mutex_unlock(&inst->lock);
        return REPLY();
    }
    uint32_t n = *a->pPhysicalDeviceCount;
    if (n > inst->phys_count)
        n = inst->phys_count;
    else if (n < inst->phys_count)
        a->ret = VK_INCOMPLETE;
    const char *why = NULL;
    if (!inst->phys_ids) {
        inst->phys_ids = calloc(inst->phys_count ? inst->phys_count : 1, sizeof(uint64_t));
        if (!inst->phys_ids)
            why = "out of memory";
    }
    for (uint32_t i = 0; !why && i < n; i++) {
        uint64_t id = (uint64_t)(uintptr_t)a->pPhysicalDevices[i];
        if (inst->phys_ids[i] == id)
            continue;
        if (inst->phys_ids[i]) {
            why = "physical device rebound to another id";
            break;
        }
        /* Instance-level objects keep their instance in priv. */
        struct pv_obj obj = {.id = id, .host = (uint64_t)(uintptr_t)inst->phys[i],
                             .type = VK_OBJECT_TYPE_PHYSICAL_DEVICE, .life = &inst->life,
                             .priv = inst};
        if (pv_objtab_insert(&ctx->objs, &obj))
            why = "physical device id is 0 or in use, or the object budget is spent";
        else
            inst->phys_ids[i] = id;
    }
    pthread_mutex_unlock(&inst->lock);
    if (why)
        return pv_dispatch_fail(dec, why);
    *a->pPhysicalDeviceCount = n;
    return REPLY();
}

PV_DECLARE_HANDLER(vkEnumeratePhysicalDeviceGroups)
{
    ARGS(vkEnumeratePhysicalDeviceGroups);
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
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
                    (VkPhysicalDevice)(uintptr_t)physical_device_id(inst, p->physicalDevices[i]);
        }
    }
    return REPLY();
}

/*
 * Extensions we know how to decode but do not pass on: fd-based fence
 * export (no fd crosses our transports), and those interop.c provides
 * itself instead of the host driver.
 */
bool
pv_instance_extension_hidden(const char *name)
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

const struct pvg_extension *
pv_instance_extension_known(const char *name)
{
    for (uint32_t i = 0; i < PVG_EXTENSION_COUNT; i++)
        if (!strcmp(pvg_extensions[i].name, name))
            return &pvg_extensions[i];
    return NULL;
}

PV_DECLARE_HANDLER(vkEnumerateDeviceExtensionProperties)
{
    ARGS(vkEnumerateDeviceExtensionProperties);
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
    if (!inst || !a->pPropertyCount)
        return pv_dispatch_fail(dec, "vkEnumerateDeviceExtensionProperties: bad arguments");
    if (a->pLayerName) {
        a->ret = VK_ERROR_LAYER_NOT_PRESENT;
        return REPLY();
    }
    uint32_t n = 0;
    VkExtensionProperties *host = NULL;
    VkResult res = inst->t.EnumerateDeviceExtensionProperties(a->physicalDevice, NULL, &n, NULL);
    if (res == VK_SUCCESS) {
        host = calloc(n ? n : 1, sizeof(*host));
        res = host ? inst->t.EnumerateDeviceExtensionProperties(a->physicalDevice, NULL, &n, host)
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
        const struct pvg_extension *k = pv_instance_extension_known(e.extensionName);
        if (!k || (i < n && pv_instance_extension_hidden(e.extensionName)))
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
    if (VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(*v), VK_API_VERSION_MINOR(*v), 0) >
        VK_MAKE_API_VERSION(0, PV_MAX_API_MAJOR, PV_MAX_API_MINOR, 0))
        *v = VK_MAKE_API_VERSION(0, PV_MAX_API_MAJOR, PV_MAX_API_MINOR, VK_API_VERSION_PATCH(*v));
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceProperties)
{
    ARGS(vkGetPhysicalDeviceProperties);
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
    if (!inst || !a->pProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceProperties: bad arguments");
    inst->t.GetPhysicalDeviceProperties(a->physicalDevice, a->pProperties);
    cap_api_version(&a->pProperties->apiVersion);
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceProperties2)
{
    ARGS(vkGetPhysicalDeviceProperties2);
    struct pv_instance *inst = pv_dispatch_instance(ch, dec);
    if (!inst || !a->pProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceProperties2: bad arguments");
    inst->t.GetPhysicalDeviceProperties2(a->physicalDevice, a->pProperties);
    cap_api_version(&a->pProperties->properties.apiVersion);
    return REPLY();
}
/*
 * Memory properties: a host-visible type the renderer cannot share with the
 * client (no host pointer imports into it, e.g. NVIDIA's device-local
 * host-visible BAR memory) is shown without HOST_VISIBLE, COHERENT and
 * CACHED, so the client never maps it; it stays device memory (memory.c
 * allocates it normally).
 */
static void
hide_unshareable(struct pv_ctx *ctx, VkPhysicalDevice phys, VkPhysicalDeviceMemoryProperties *mp)
{
    uint32_t ok = pv_device_host_import_types(ctx, phys);
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                       VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    for (uint32_t i = 0; i < mp->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++)
        if (!(ok & (1u << i)))
            mp->memoryTypes[i].propertyFlags &= ~host;
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceMemoryProperties)
{
    ARGS(vkGetPhysicalDeviceMemoryProperties);
    if (!ch->ctx->instance || !a->pMemoryProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceMemoryProperties: bad arguments");
    ch->ctx->instance->t.GetPhysicalDeviceMemoryProperties(a->physicalDevice,
                                                           a->pMemoryProperties);
    hide_unshareable(ch->ctx, a->physicalDevice, a->pMemoryProperties);
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceMemoryProperties2)
{
    ARGS(vkGetPhysicalDeviceMemoryProperties2);
    if (!ch->ctx->instance || !a->pMemoryProperties)
        return pv_dispatch_fail(dec, "vkGetPhysicalDeviceMemoryProperties2: bad arguments");
    ch->ctx->instance->t.GetPhysicalDeviceMemoryProperties2(a->physicalDevice,
                                                            a->pMemoryProperties);
    hide_unshareable(ch->ctx, a->physicalDevice, &a->pMemoryProperties->memoryProperties);
    return REPLY();
}

/* ---- external handles and formats (emulated in interop.c) ---- */

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
    /* A sync file is a binary payload; we import the signalled one (interop.c). */
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
    if (pv_interop_memory_shareable(info->handleType))
        p->externalMemoryProperties = pv_interop_shareable_memory;
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceImageFormatProperties2)
{
    GENERIC_ARGS(vkGetPhysicalDeviceImageFormatProperties2);
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
        if (!mod || mod->drmFormatModifier != PV_DRM_FORMAT_MOD_LINEAR)
            a->ret = VK_ERROR_FORMAT_NOT_SUPPORTED;
        info->tiling = VK_IMAGE_TILING_LINEAR;
    }
    if (ext && ext->handleType && !pv_interop_memory_shareable(ext->handleType))
        a->ret = VK_ERROR_FORMAT_NOT_SUPPORTED;
    if (a->ret == VK_SUCCESS)
        pvg_call_vkGetPhysicalDeviceImageFormatProperties2(table, a);
    if (ext_out) {
        memset(&ext_out->externalMemoryProperties, 0, sizeof(ext_out->externalMemoryProperties));
        if (a->ret == VK_SUCCESS && ext && ext->handleType)
            ext_out->externalMemoryProperties = pv_interop_shareable_memory;
    }
    info->tiling = tiling;
    pv_chain_restore(&out_hole);
    pv_chain_restore(&mod_hole);
    pv_chain_restore(&ext_hole);
    return REPLY();
}

PV_DECLARE_HANDLER(vkGetPhysicalDeviceFormatProperties2)
{
    GENERIC_ARGS(vkGetPhysicalDeviceFormatProperties2);
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
        pv_interop_fill_modifiers(&l1->drmFormatModifierCount, l1->pDrmFormatModifierProperties,
                                  NULL, linear);
    if (l2)
        pv_interop_fill_modifiers(&l2->drmFormatModifierCount, NULL,
                                  l2->pDrmFormatModifierProperties, linear);
    pv_chain_restore(&h2);
    pv_chain_restore(&h1);
    return REPLY();
}
