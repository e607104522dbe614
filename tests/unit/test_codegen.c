/*
 * Round trips through the generated Venus codecs (src/gpu/venus/generated):
 * the client side encodes a command, the renderer side decodes it and the
 * fields must match; the renderer encodes the reply and the client side
 * decodes it into its own storage. Negative cases check that malformed
 * streams go fatal without crashing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs.h"
#include "check.h"
#include "pvg.gen.h"

struct stream {
    uint8_t buf[65536];
    size_t len;
    bool enc_fatal;
    bool dec_fatal;
    struct pv_cs_enc enc;
    struct pv_cs_dec dec;
    struct pv_arena arena;
};

static void
enc_begin(struct stream *s)
{
    memset(s->buf, 0xa5, sizeof(s->buf)); /* padding garbage must not matter */
    s->enc_fatal = false;
    s->enc.cur = s->buf;
    s->enc.end = s->buf + sizeof(s->buf);
    s->enc.fatal = &s->enc_fatal;
}

static void
enc_end(struct stream *s)
{
    s->len = (size_t)(s->enc.cur - s->buf);
    CHECK(!s->enc_fatal);
    CHECK(s->len % 4 == 0);
}

/* Positions the decoder after the 8-byte command header. */
static void
dec_begin(struct stream *s, size_t skip)
{
    s->dec_fatal = false;
    pv_arena_reset(&s->arena);
    pv_cs_dec_init(&s->dec, s->buf + skip, s->len - skip, &s->dec_fatal, &s->arena);
}

static void
dec_done(struct stream *s)
{
    CHECK(!s->dec_fatal);
    CHECK(pv_cs_dec_remaining(&s->dec) == 0);
    if (s->dec_fatal)
        fprintf(stderr, "  fatal: %s\n", s->dec.fatal_reason ? s->dec.fatal_reason : "?");
}

static uint32_t
header_id(const struct stream *s)
{
    int32_t id;
    memcpy(&id, s->buf, 4);
    return (uint32_t)id;
}

/* ---------------------------------------------------------------------- */

static void
test_create_instance(struct stream *s)
{
    const char *exts[] = { "VK_KHR_get_physical_device_properties2", "VK_EXT_debug_utils" };
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vulkaninfo",
        .applicationVersion = 7,
        .pEngineName = NULL,
        .engineVersion = 3,
        .apiVersion = VK_API_VERSION_1_3,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
        .enabledExtensionCount = 2,
        .ppEnabledExtensionNames = exts,
    };
    VkInstance inst = (VkInstance)(uintptr_t)42;
    struct pvg_args_vkCreateInstance c = { .pCreateInfo = &ci, .pInstance = &inst };

    enc_begin(s);
    CHECK(pvg_encode_vkCreateInstance(&s->enc, VK_COMMAND_GENERATE_REPLY_BIT_EXT, &c));
    enc_end(s);
    CHECK(header_id(s) == PVG_CMD_vkCreateInstance);

    struct pvg_args_vkCreateInstance a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkCreateInstance_args(&s->dec, &a));
    dec_done(s);
    CHECK(a.pCreateInfo && a.pCreateInfo->enabledExtensionCount == 2);
    CHECK(a.pCreateInfo->enabledLayerCount == 0 && a.pCreateInfo->ppEnabledLayerNames == NULL);
    CHECK(!strcmp(a.pCreateInfo->ppEnabledExtensionNames[0], exts[0]));
    CHECK(!strcmp(a.pCreateInfo->ppEnabledExtensionNames[1], exts[1]));
    const VkApplicationInfo *ai = a.pCreateInfo->pApplicationInfo;
    CHECK(ai && !strcmp(ai->pApplicationName, "vulkaninfo") && ai->pEngineName == NULL);
    CHECK(ai->applicationVersion == 7 && ai->engineVersion == 3 && ai->apiVersion == VK_API_VERSION_1_3);
    CHECK(a.pAllocator == NULL);
    CHECK(a.pInstance && (uintptr_t)*a.pInstance == 42); /* output handle: raw id */
    CHECK(pvg_command_infos[PVG_CMD_vkCreateInstance].created_type == VK_OBJECT_TYPE_INSTANCE);
    CHECK(pvg_command_infos[PVG_CMD_vkCreateInstance].created_ptr_offset ==
          offsetof(struct pvg_args_vkCreateInstance, pInstance));

    /* reply: type, VkResult, simple pointer + id */
    a.ret = VK_SUCCESS;
    enc_begin(s);
    CHECK(pvg_encode_vkCreateInstance_reply(&s->enc, &a));
    enc_end(s);
    CHECK(s->len == 4 + 4 + 8 + 8);
    VkInstance got = VK_NULL_HANDLE;
    struct pvg_args_vkCreateInstance r = { .pInstance = &got, .ret = VK_ERROR_UNKNOWN };
    dec_begin(s, 0);
    CHECK(pvg_decode_vkCreateInstance_reply(&s->dec, &r));
    dec_done(s);
    CHECK(r.ret == VK_SUCCESS && (uintptr_t)got == 42);

    /* Negative: every truncation of the command is fatal, never a crash. */
    enc_begin(s);
    pvg_encode_vkCreateInstance(&s->enc, 0, &c);
    enc_end(s);
    size_t full = s->len;
    for (size_t cut = 8; cut < full; cut += 4) {
        s->len = cut;
        dec_begin(s, 8);
        bool ok = pvg_decode_vkCreateInstance_args(&s->dec, &a);
        CHECK(!ok && s->dec_fatal);
    }
    s->len = full;

    /* Negative: an unterminated string. The application name is the first
     * string: find its bytes and overwrite the NUL. */
    uint8_t *p = memmem(s->buf, s->len, "vulkaninfo", 11);
    CHECK(p != NULL);
    if (p) {
        p[10] = 'X';
        dec_begin(s, 8);
        CHECK(!pvg_decode_vkCreateInstance_args(&s->dec, &a) && s->dec_fatal);
    }
}

static void
test_compute_pipelines(struct stream *s)
{
    const uint32_t spec_data[2] = { 64, 0xdeadbeef };
    const VkSpecializationMapEntry entries[2] = { { 0, 0, 4 }, { 1, 4, 4 } };
    const VkSpecializationInfo spec = { 2, entries, sizeof(spec_data), spec_data };
    const VkPipelineShaderStageRequiredSubgroupSizeCreateInfo rss = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
        .requiredSubgroupSize = 32,
    };
    VkPipelineCreationFeedback fb = { 0, 0 };
    const VkPipelineCreationFeedbackCreateInfo fci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CREATION_FEEDBACK_CREATE_INFO,
        .pPipelineCreationFeedback = &fb,
    };
    VkComputePipelineCreateInfo ci[2];
    for (int i = 0; i < 2; i++) {
        ci[i] = (VkComputePipelineCreateInfo){
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .pNext = i ? &fci : NULL,
            .stage = {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .pNext = &rss,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = (VkShaderModule)(uintptr_t)(100 + i),
                .pName = "main",
                .pSpecializationInfo = i ? &spec : NULL,
            },
            .layout = (VkPipelineLayout)(uintptr_t)77,
            .basePipelineIndex = -1,
        };
    }
    VkPipeline pipes[2] = { (VkPipeline)(uintptr_t)500, (VkPipeline)(uintptr_t)501 };
    struct pvg_args_vkCreateComputePipelines c = {
        .device = (VkDevice)(uintptr_t)9,
        .createInfoCount = 2,
        .pCreateInfos = ci,
        .pPipelines = pipes,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkCreateComputePipelines(&s->enc, 0, &c));
    enc_end(s);

    struct pvg_args_vkCreateComputePipelines a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkCreateComputePipelines_args(&s->dec, &a));
    dec_done(s);
    CHECK(a.id_device == 9 && a.id_pipelineCache == 0 && a.pipelineCache == VK_NULL_HANDLE);
    CHECK(a.createInfoCount == 2);
    for (int i = 0; i < 2; i++) {
        const VkComputePipelineCreateInfo *x = &a.pCreateInfos[i];
        CHECK(x->stage.module == (VkShaderModule)(uintptr_t)(100 + i));
        CHECK(!strcmp(x->stage.pName, "main"));
        CHECK(x->layout == (VkPipelineLayout)(uintptr_t)77 && x->basePipelineIndex == -1);
        const VkPipelineShaderStageRequiredSubgroupSizeCreateInfo *r = x->stage.pNext;
        CHECK(r && r->sType == rss.sType && r->requiredSubgroupSize == 32 && r->pNext == NULL);
    }
    CHECK(a.pCreateInfos[0].stage.pSpecializationInfo == NULL && a.pCreateInfos[0].pNext == NULL);
    const VkSpecializationInfo *sp = a.pCreateInfos[1].stage.pSpecializationInfo;
    CHECK(sp && sp->mapEntryCount == 2 && sp->pMapEntries[1].offset == 4 && sp->dataSize == 8);
    CHECK(sp && !memcmp(sp->pData, spec_data, 8));
    const VkPipelineCreationFeedbackCreateInfo *f = a.pCreateInfos[1].pNext;
    CHECK(f && f->sType == fci.sType && f->pPipelineCreationFeedback != NULL);
    CHECK((uintptr_t)a.pPipelines[0] == 500 && (uintptr_t)a.pPipelines[1] == 501);

    a.ret = VK_SUCCESS;
    enc_begin(s);
    CHECK(pvg_encode_vkCreateComputePipelines_reply(&s->enc, &a));
    enc_end(s);
    VkPipeline out[2] = { 0, 0 };
    struct pvg_args_vkCreateComputePipelines r = { .createInfoCount = 2, .pPipelines = out };
    dec_begin(s, 0);
    CHECK(pvg_decode_vkCreateComputePipelines_reply(&s->dec, &r));
    dec_done(s);
    CHECK(r.ret == VK_SUCCESS && (uintptr_t)out[1] == 501);
}

static void
test_properties2(struct stream *s)
{
    /* client: partial form with a two-member chain */
    VkPhysicalDeviceIDProperties idp = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES };
    VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
        .pNext = &idp,
    };
    VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &drv };
    struct pvg_args_vkGetPhysicalDeviceProperties2 c = {
        .physicalDevice = (VkPhysicalDevice)(uintptr_t)5,
        .pProperties = &props,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkGetPhysicalDeviceProperties2(&s->enc, 1, &c));
    enc_end(s);
    /* header, handle, simple pointer, sType, 2 chain links (8 + 4 each), end
     * (8); the partial form of these structs carries no fields. */
    CHECK(s->len == 8 + 8 + 8 + 4 + 2 * 12 + 8);

    struct pvg_args_vkGetPhysicalDeviceProperties2 a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkGetPhysicalDeviceProperties2_args(&s->dec, &a));
    dec_done(s);
    CHECK(a.id_physicalDevice == 5);
    VkPhysicalDeviceProperties2 *hp = a.pProperties;
    CHECK(hp && hp->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
    VkPhysicalDeviceDriverProperties *hd = hp->pNext;
    CHECK(hd && hd->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
    VkPhysicalDeviceIDProperties *hi = hd ? hd->pNext : NULL;
    CHECK(hi && hi->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES && hi->pNext == NULL);
    if (!hp || !hd || !hi)
        return;

    /* server fills in, as a host driver would */
    hp->properties.apiVersion = VK_API_VERSION_1_3;
    hp->properties.vendorID = 0x10de;
    strcpy(hp->properties.deviceName, "Test GPU");
    memset(hp->properties.pipelineCacheUUID, 0x3c, VK_UUID_SIZE);
    hp->properties.limits.maxComputeWorkGroupSize[2] = 64;
    hp->properties.limits.pointSizeRange[1] = 64.0f;
    hp->properties.limits.nonCoherentAtomSize = 256;
    hp->properties.sparseProperties.residencyStandard2DBlockShape = VK_TRUE;
    hd->driverID = VK_DRIVER_ID_MESA_LLVMPIPE;
    strcpy(hd->driverName, "llvmpipe");
    hd->conformanceVersion.major = 1;
    memset(hi->deviceUUID, 0x11, VK_UUID_SIZE);
    hi->deviceLUIDValid = VK_TRUE;

    enc_begin(s);
    CHECK(pvg_encode_vkGetPhysicalDeviceProperties2_reply(&s->enc, &a));
    enc_end(s);
    dec_begin(s, 0);
    CHECK(pvg_decode_vkGetPhysicalDeviceProperties2_reply(&s->dec, &c));
    dec_done(s);
    CHECK(props.properties.apiVersion == VK_API_VERSION_1_3 && props.properties.vendorID == 0x10de);
    CHECK(!strcmp(props.properties.deviceName, "Test GPU"));
    CHECK(props.properties.pipelineCacheUUID[15] == 0x3c);
    CHECK(props.properties.limits.maxComputeWorkGroupSize[2] == 64);
    CHECK(props.properties.limits.pointSizeRange[1] == 64.0f);
    CHECK(props.properties.limits.nonCoherentAtomSize == 256);
    CHECK(props.properties.sparseProperties.residencyStandard2DBlockShape == VK_TRUE);
    CHECK(drv.driverID == VK_DRIVER_ID_MESA_LLVMPIPE && !strcmp(drv.driverName, "llvmpipe"));
    CHECK(drv.conformanceVersion.major == 1);
    CHECK(idp.deviceUUID[0] == 0x11 && idp.deviceLUIDValid == VK_TRUE);
    CHECK(props.pNext == &drv && drv.pNext == &idp); /* caller chain untouched */

    /* Negative: a chain struct that does not extend VkPhysicalDeviceProperties2. */
    VkPhysicalDeviceFeatures2 wrong = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    enc_begin(s);
    pvg_encode_vkGetPhysicalDeviceProperties2(&s->enc, 1, &c);
    enc_end(s);
    /* patch the first chain sType (after header 8, handle 8, ptr 8, sType 4, link 8) */
    int32_t bad = (int32_t)wrong.sType;
    memcpy(s->buf + 8 + 8 + 8 + 4 + 8, &bad, 4);
    dec_begin(s, 8);
    CHECK(!pvg_decode_vkGetPhysicalDeviceProperties2_args(&s->dec, &a) && s->dec_fatal);
}

static void
test_queue_families(struct stream *s)
{
    uint32_t count = 3;
    VkQueueFamilyProperties2 qf[3];
    for (int i = 0; i < 3; i++)
        qf[i] = (VkQueueFamilyProperties2){ .sType = VK_STRUCTURE_TYPE_QUEUE_FAMILY_PROPERTIES_2 };
    struct pvg_args_vkGetPhysicalDeviceQueueFamilyProperties2 c = {
        .physicalDevice = (VkPhysicalDevice)(uintptr_t)5,
        .pQueueFamilyPropertyCount = &count,
        .pQueueFamilyProperties = qf,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkGetPhysicalDeviceQueueFamilyProperties2(&s->enc, 1, &c));
    enc_end(s);
    struct pvg_args_vkGetPhysicalDeviceQueueFamilyProperties2 a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkGetPhysicalDeviceQueueFamilyProperties2_args(&s->dec, &a));
    dec_done(s);
    CHECK(*a.pQueueFamilyPropertyCount == 3 && a.pQueueFamilyProperties);
    /* the host has two families */
    *a.pQueueFamilyPropertyCount = 2;
    a.pQueueFamilyProperties[0].queueFamilyProperties.queueFlags = VK_QUEUE_COMPUTE_BIT;
    a.pQueueFamilyProperties[1].queueFamilyProperties.queueCount = 4;
    a.pQueueFamilyProperties[1].queueFamilyProperties.minImageTransferGranularity.depth = 1;
    enc_begin(s);
    CHECK(pvg_encode_vkGetPhysicalDeviceQueueFamilyProperties2_reply(&s->enc, &a));
    enc_end(s);
    dec_begin(s, 0);
    CHECK(pvg_decode_vkGetPhysicalDeviceQueueFamilyProperties2_reply(&s->dec, &c));
    dec_done(s);
    CHECK(count == 2 && qf[0].queueFamilyProperties.queueFlags == VK_QUEUE_COMPUTE_BIT);
    CHECK(qf[1].queueFamilyProperties.queueCount == 4);
    CHECK(qf[1].queueFamilyProperties.minImageTransferGranularity.depth == 1);
}

static void
test_update_descriptor_sets(struct stream *s)
{
    const VkDescriptorBufferInfo bi[2] = { { (VkBuffer)(uintptr_t)11, 0, 256 },
                                           { (VkBuffer)(uintptr_t)12, 256, VK_WHOLE_SIZE } };
    const VkDescriptorImageInfo ii = { (VkSampler)(uintptr_t)13, (VkImageView)(uintptr_t)14,
                                       VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL };
    const VkWriteDescriptorSet w[2] = {
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = (VkDescriptorSet)(uintptr_t)20,
          .dstBinding = 1, .descriptorCount = 2, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
          .pBufferInfo = bi },
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = (VkDescriptorSet)(uintptr_t)20,
          .dstBinding = 2, .descriptorCount = 1,
          .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .pImageInfo = &ii },
    };
    struct pvg_args_vkUpdateDescriptorSets c = {
        .device = (VkDevice)(uintptr_t)9, .descriptorWriteCount = 2, .pDescriptorWrites = w,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkUpdateDescriptorSets(&s->enc, 0, &c));
    enc_end(s);
    struct pvg_args_vkUpdateDescriptorSets a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkUpdateDescriptorSets_args(&s->dec, &a));
    dec_done(s);
    CHECK(a.descriptorWriteCount == 2 && a.descriptorCopyCount == 0 && a.pDescriptorCopies == NULL);
    const VkWriteDescriptorSet *x = a.pDescriptorWrites;
    CHECK(x[0].pImageInfo == NULL && x[0].pTexelBufferView == NULL && x[0].pBufferInfo);
    CHECK(x[0].pBufferInfo[1].buffer == (VkBuffer)(uintptr_t)12 && x[0].pBufferInfo[1].range == VK_WHOLE_SIZE);
    CHECK(x[1].pBufferInfo == NULL && x[1].pImageInfo && x[1].pImageInfo->imageView == (VkImageView)(uintptr_t)14);
    CHECK(x[1].pImageInfo->imageLayout == VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
    CHECK(x[1].dstSet == (VkDescriptorSet)(uintptr_t)20 && x[1].dstBinding == 2);
}

static bool
lookup_plus_1000(void *data, uint64_t id, VkObjectType type, uint64_t *host)
{
    int *calls = data;
    (*calls)++;
    if (type == VK_OBJECT_TYPE_PIPELINE_LAYOUT && id == 666)
        return false;
    *host = id + 1000;
    return true;
}

static void
test_push_constants(struct stream *s)
{
    const float values[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
    struct pvg_args_vkCmdPushConstants c = {
        .commandBuffer = (VkCommandBuffer)(uintptr_t)3,
        .layout = (VkPipelineLayout)(uintptr_t)4,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .offset = 16,
        .size = sizeof(values),
        .pValues = values,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkCmdPushConstants(&s->enc, 0, &c));
    enc_end(s);
    CHECK(s->len == 8 + 8 + 8 + 4 + 4 + 4 + 8 + 16);
    struct pvg_args_vkCmdPushConstants a;
    int calls = 0;
    dec_begin(s, 8);
    s->dec.lookup = lookup_plus_1000;
    s->dec.lookup_data = &calls;
    CHECK(pvg_decode_vkCmdPushConstants_args(&s->dec, &a));
    dec_done(s);
    CHECK(calls == 2);
    CHECK(a.id_commandBuffer == 3 && a.commandBuffer == (VkCommandBuffer)(uintptr_t)1003);
    CHECK(a.id_layout == 4 && a.layout == (VkPipelineLayout)(uintptr_t)1004);
    CHECK(a.offset == 16 && a.size == 16 && !memcmp(a.pValues, values, 16));

    /* Negative: array size 12 but size says 16. */
    uint64_t bad = 12;
    memcpy(s->buf + 8 + 8 + 8 + 4 + 4 + 4, &bad, 8);
    dec_begin(s, 8);
    CHECK(!pvg_decode_vkCmdPushConstants_args(&s->dec, &a) && s->dec_fatal);

    /* Negative: the lookup refuses the layout id. */
    c.layout = (VkPipelineLayout)(uintptr_t)666;
    enc_begin(s);
    pvg_encode_vkCmdPushConstants(&s->enc, 0, &c);
    enc_end(s);
    dec_begin(s, 8);
    s->dec.lookup = lookup_plus_1000;
    s->dec.lookup_data = &calls;
    CHECK(!pvg_decode_vkCmdPushConstants_args(&s->dec, &a) && s->dec_fatal);
}

static void
test_create_ring(struct stream *s)
{
    const VkRingPriorityInfoMESA prio = { .sType = VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA, .priority = -5 };
    const VkRingMonitorInfoMESA mon = {
        .sType = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA,
        .pNext = &prio,
        .maxReportingPeriodMicroseconds = 3000000,
    };
    const VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA,
        .pNext = &mon,
        .resourceId = 7,
        .size = 131268,
        .idleTimeout = 1000000,
        .headOffset = 0,
        .tailOffset = 64,
        .statusOffset = 128,
        .bufferOffset = 192,
        .bufferSize = 131072,
        .extraOffset = 192 + 131072,
        .extraSize = 4,
    };
    struct pvg_args_vkCreateRingMESA c = { .ring = 0x7fff12345678ull, .pCreateInfo = &ci };
    enc_begin(s);
    CHECK(pvg_encode_vkCreateRingMESA(&s->enc, 0, &c));
    enc_end(s);
    /* hdr 8, ring 8, ptr 8, sType 4, link 8 + sType 4, link 8 + sType 4, end 8,
     * priority 4, period 4, flags 4, resourceId 4, 10 x u64 */
    CHECK(s->len == 8 + 8 + 8 + 4 + 12 + 12 + 8 + 4 + 4 + 4 + 4 + 10 * 8);
    struct pvg_args_vkCreateRingMESA a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkCreateRingMESA_args(&s->dec, &a));
    dec_done(s);
    CHECK(a.ring == 0x7fff12345678ull && a.pCreateInfo);
    CHECK(a.pCreateInfo->resourceId == 7 && a.pCreateInfo->size == 131268);
    CHECK(a.pCreateInfo->extraOffset == 192 + 131072 && a.pCreateInfo->extraSize == 4);
    const VkRingMonitorInfoMESA *m = a.pCreateInfo->pNext;
    CHECK(m && m->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA && m->maxReportingPeriodMicroseconds == 3000000);
    const VkRingPriorityInfoMESA *p = m ? m->pNext : NULL;
    CHECK(p && p->sType == VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA && p->priority == -5 && !p->pNext);
    CHECK(pvg_command_infos[PVG_CMD_vkCreateRingMESA].call == NULL);

    /* Negative: a pNext chain deeper than PVG_PNEXT_MAX_DEPTH. */
    uint8_t *q = s->buf;
    int32_t v32 = PVG_CMD_vkCreateRingMESA;
    uint64_t v64;
    memcpy(q, &v32, 4), q += 4;
    v32 = 0, memcpy(q, &v32, 4), q += 4;
    v64 = 1, memcpy(q, &v64, 8), q += 8; /* ring */
    v64 = 1, memcpy(q, &v64, 8), q += 8; /* pCreateInfo present */
    v32 = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, memcpy(q, &v32, 4), q += 4;
    for (int i = 0; i < PVG_PNEXT_MAX_DEPTH + 10; i++) {
        v64 = 1, memcpy(q, &v64, 8), q += 8;
        v32 = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA, memcpy(q, &v32, 4), q += 4;
    }
    memset(q, 0, 1024), q += 1024;
    s->len = (size_t)(q - s->buf);
    dec_begin(s, 8);
    CHECK(!pvg_decode_vkCreateRingMESA_args(&s->dec, &a) && s->dec_fatal);
    CHECK(s->dec.fatal_reason && strstr(s->dec.fatal_reason, "deep"));
}

/*
 * The spec 3 host-copy commands, from bytes laid out by hand the way the
 * Venus driver writes them (docs/venus-protocol.md §3.1, §3.6): decoded
 * field by field, and the reply of vkCopyImageToMemoryMESA byte by byte.
 */
static uint8_t *
put32(uint8_t *q, uint32_t v)
{
    memcpy(q, &v, 4);
    return q + 4;
}

static uint8_t *
put64(uint8_t *q, uint64_t v)
{
    memcpy(q, &v, 8);
    return q + 8;
}

/* VkImageSubresourceLayers, VkOffset3D, VkExtent3D of a region. */
static uint8_t *
put_region_tail(uint8_t *q, uint32_t row, uint32_t height)
{
    q = put32(q, row), q = put32(q, height);
    q = put32(q, VK_IMAGE_ASPECT_COLOR_BIT), q = put32(q, 2), q = put32(q, 3), q = put32(q, 1);
    q = put32(q, 5), q = put32(q, (uint32_t)-6), q = put32(q, 0);
    q = put32(q, 16), q = put32(q, 8), q = put32(q, 1);
    return q;
}

static void
check_region_tail(uint32_t row, uint32_t height, const VkImageSubresourceLayers *sub,
                  const VkOffset3D *off, const VkExtent3D *ext, uint32_t want_row,
                  uint32_t want_height)
{
    CHECK(row == want_row && height == want_height);
    CHECK(sub->aspectMask == VK_IMAGE_ASPECT_COLOR_BIT && sub->mipLevel == 2);
    CHECK(sub->baseArrayLayer == 3 && sub->layerCount == 1);
    CHECK(off->x == 5 && off->y == -6 && off->z == 0);
    CHECK(ext->width == 16 && ext->height == 8 && ext->depth == 1);
}

static void
test_host_copy(struct stream *s)
{
    /* vkCopyMemoryToImageMESA(device 9, {flags 0, image 11, layout, 2 regions}) */
    uint8_t *q = s->buf;
    q = put32(q, 298), q = put32(q, 0);
    q = put64(q, 9);                                  /* device */
    q = put64(q, 1);                                  /* pCopyMemoryToImageInfo */
    q = put32(q, VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO_MESA), q = put64(q, 0);
    q = put32(q, 0);                                  /* flags */
    q = put64(q, 11);                                 /* dstImage */
    q = put32(q, VK_IMAGE_LAYOUT_GENERAL);
    q = put32(q, 2), q = put64(q, 2);                 /* regionCount, array size */
    for (uint32_t i = 0; i < 2; i++) {
        q = put32(q, VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY_MESA), q = put64(q, 0);
        q = put64(q, 6), q = put64(q, 6);             /* dataSize, blob size */
        memcpy(q, i ? "ABCDEF" : "abcdef", 6), q += 8; /* padded to 4 */
        q = put_region_tail(q, 20 + i, 10);
    }
    s->len = (size_t)(q - s->buf);
    struct pvg_args_vkCopyMemoryToImageMESA m;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkCopyMemoryToImageMESA_args(&s->dec, &m));
    dec_done(s);
    CHECK(m.id_device == 9 && m.pCopyMemoryToImageInfo);
    const VkCopyMemoryToImageInfoMESA *mi = m.pCopyMemoryToImageInfo;
    CHECK((uintptr_t)mi->dstImage == 11 && mi->dstImageLayout == VK_IMAGE_LAYOUT_GENERAL);
    CHECK(mi->regionCount == 2 && mi->pRegions);
    for (uint32_t i = 0; mi->pRegions && i < 2; i++) {
        const VkMemoryToImageCopyMESA *r = &mi->pRegions[i];
        CHECK(r->sType == VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY_MESA && !r->pNext);
        CHECK(r->dataSize == 6 && r->pData && !memcmp(r->pData, i ? "ABCDEF" : "abcdef", 6));
        check_region_tail(r->memoryRowLength, r->memoryImageHeight, &r->imageSubresource,
                          &r->imageOffset, &r->imageExtent, 20 + i, 10);
    }
    /* A blob size other than dataSize is fatal. */
    memcpy(s->buf + 8 + 8 + 8 + 4 + 8 + 4 + 8 + 4 + 4 + 8 + 4 + 8 + 8, &(uint64_t){7}, 8);
    dec_begin(s, 8);
    CHECK(!pvg_decode_vkCopyMemoryToImageMESA_args(&s->dec, &m) && s->dec_fatal);

    /* vkCopyImageToMemoryMESA(device 9, {flags, image 12, layout, region}, 6, pData) */
    q = s->buf;
    q = put32(q, 297), q = put32(q, VK_COMMAND_GENERATE_REPLY_BIT_EXT);
    q = put64(q, 9);
    q = put64(q, 1);
    q = put32(q, VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO_MESA), q = put64(q, 0);
    q = put32(q, VK_HOST_IMAGE_COPY_MEMCPY);
    q = put64(q, 12);
    q = put32(q, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    q = put_region_tail(q, 0, 0);
    q = put64(q, 6);                                  /* dataSize */
    q = put64(q, 6);                                  /* pData: its size only */
    s->len = (size_t)(q - s->buf);
    struct pvg_args_vkCopyImageToMemoryMESA c;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkCopyImageToMemoryMESA_args(&s->dec, &c));
    dec_done(s);
    const VkCopyImageToMemoryInfoMESA *ci = c.pCopyImageToMemoryInfo;
    CHECK(c.id_device == 9 && ci && c.dataSize == 6 && c.pData);
    CHECK(ci->sType == VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO_MESA && !ci->pNext);
    CHECK(ci->flags == VK_HOST_IMAGE_COPY_MEMCPY && (uintptr_t)ci->srcImage == 12);
    CHECK(ci->srcImageLayout == VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    check_region_tail(ci->memoryRowLength, ci->memoryImageHeight, &ci->imageSubresource,
                      &ci->imageOffset, &ci->imageExtent, 0, 0);
    CHECK(pvg_command_infos[PVG_CMD_vkCopyImageToMemoryMESA].has_reply_result);

    /* reply: type, VkResult, the bytes with their size, padded */
    memcpy(c.pData, "pixels", 6);
    c.ret = VK_SUCCESS;
    enc_begin(s);
    CHECK(pvg_encode_vkCopyImageToMemoryMESA_reply(&s->enc, &c));
    enc_end(s);
    uint8_t want[4 + 4 + 8 + 8];
    q = want;
    q = put32(q, 297), q = put32(q, VK_SUCCESS), q = put64(q, 6);
    memcpy(q, "pixels", 6);
    CHECK(s->len == sizeof(want) && !memcmp(s->buf, want, 4 + 4 + 8 + 6));
}

static void
test_enumerate_and_tables(struct stream *s)
{
    VkPhysicalDevice pd[2] = { (VkPhysicalDevice)(uintptr_t)30, (VkPhysicalDevice)(uintptr_t)31 };
    uint32_t n = 2;
    struct pvg_args_vkEnumeratePhysicalDevices c = {
        .instance = (VkInstance)(uintptr_t)1, .pPhysicalDeviceCount = &n, .pPhysicalDevices = pd,
    };
    enc_begin(s);
    CHECK(pvg_encode_vkEnumeratePhysicalDevices(&s->enc, 1, &c));
    enc_end(s);
    struct pvg_args_vkEnumeratePhysicalDevices a;
    dec_begin(s, 8);
    CHECK(pvg_decode_vkEnumeratePhysicalDevices_args(&s->dec, &a));
    dec_done(s);
    CHECK(*a.pPhysicalDeviceCount == 2 && (uintptr_t)a.pPhysicalDevices[1] == 31);
    *a.pPhysicalDeviceCount = 1;
    a.ret = VK_INCOMPLETE;
    enc_begin(s);
    CHECK(pvg_encode_vkEnumeratePhysicalDevices_reply(&s->enc, &a));
    enc_end(s);
    CHECK(s->len == 4 + 4 + 8 + 4 + 8 + 8);
    pd[0] = pd[1] = VK_NULL_HANDLE;
    dec_begin(s, 0);
    CHECK(pvg_decode_vkEnumeratePhysicalDevices_reply(&s->dec, &c));
    dec_done(s);
    CHECK(c.ret == VK_INCOMPLETE && n == 1 && (uintptr_t)pd[0] == 30);

    /* tables */
    CHECK(PVG_CMD_COUNT == 335);
    CHECK(pvg_command_name(195) == NULL && pvg_command_name(100000) == NULL);
    CHECK(!strcmp(pvg_command_name(PVG_CMD_vkCmdBeginRendering), "vkCmdBeginRendering"));
    CHECK(PVG_CMD_vkCreateBuffer == 50 && PVG_CMD_vkQueueSubmit2 == 206 && PVG_CMD_vkWaitRingSeqnoMESA == 253);
    const struct pvg_command_info *ci = &pvg_command_infos[PVG_CMD_vkDestroyBuffer];
    CHECK(ci->destroyed_type == VK_OBJECT_TYPE_BUFFER && ci->device_level && ci->dispatch_type == VK_OBJECT_TYPE_DEVICE);
    CHECK(ci->destroyed_id_offset == offsetof(struct pvg_args_vkDestroyBuffer, id_buffer));
    ci = &pvg_command_infos[PVG_CMD_vkCreateBuffer];
    CHECK(ci->created_type == VK_OBJECT_TYPE_BUFFER && ci->has_reply_result && ci->call);
    ci = &pvg_command_infos[PVG_CMD_vkGetPhysicalDeviceProperties2];
    CHECK(!ci->device_level && ci->dispatch_type == VK_OBJECT_TYPE_PHYSICAL_DEVICE && !ci->has_reply_result);
    CHECK(pvg_command_infos[PVG_CMD_vkMapMemory].decode_args == NULL);
    CHECK(pvg_command_infos[PVG_CMD_vkMapMemory2].decode_args == NULL);
    /* Ids of extensions we do not carry have names but no codecs. */
    CHECK(!strcmp(pvg_command_name(304), "vkCreateAccelerationStructureKHR"));
    CHECK(pvg_command_infos[304].decode_args == NULL);
    CHECK(PVG_CMD_vkCmdDrawMeshTasksIndirectCountEXT == 334 && pvg_command_infos[334].decode_args);
    CHECK(PVG_CMD_vkCopyImageToMemoryMESA == 297 && PVG_CMD_vkCopyMemoryToImageMESA == 298);
    /* 187 in Mesa 26's table, 15 of them not carried. */
    CHECK(PVG_EXTENSION_COUNT == 172);
    CHECK(PVG_VK_XML_VERSION == VK_MAKE_API_VERSION(0, 1, 4, 309));
    CHECK(PVG_PROTOCOL_VK_XML_VERSION == VK_MAKE_API_VERSION(0, 1, 4, 343));
    CHECK(PVG_VENUS_PROTOCOL_SPEC_VERSION == 3);
    bool seen = false, heap = false, rt = false;
    for (uint32_t i = 0; i < PVG_EXTENSION_COUNT; i++) {
        if (!strcmp(pvg_extensions[i].name, "VK_MESA_venus_protocol"))
            seen = pvg_extensions[i].number == 385 && pvg_extensions[i].spec_version == 4;
        heap |= !strcmp(pvg_extensions[i].name, "VK_EXT_descriptor_heap");
        rt |= !strcmp(pvg_extensions[i].name, "VK_KHR_ray_tracing_pipeline");
        if (i)
            CHECK(strcmp(pvg_extensions[i - 1].name, pvg_extensions[i].name) < 0);
    }
    CHECK(seen && !heap && !rt);
}

/* Every decoder on short and random input: fatal or success, never a crash. */
static void
test_garbage(struct stream *s)
{
    uint32_t seed = 12345;
    for (uint32_t id = 0; id < PVG_CMD_COUNT; id++) {
        const struct pvg_command_info *ci = &pvg_command_infos[id];
        if (!ci->decode_args)
            continue;
        for (int iter = 0; iter < 64; iter++) {
            size_t len = (size_t)(iter * 4) % 512;
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                uint8_t b = (uint8_t)(seed >> 16);
                /* mostly small values so that sizes and presence flags look plausible */
                s->buf[i] = (i % 8 == 0) ? (uint8_t)(b & 3) : ((i % 8) < 4 && (b & 1) ? b : 0);
            }
            s->len = len;
            dec_begin(s, 0);
            void *args = calloc(1, ci->args_size);
            bool ok = ci->decode_args(&s->dec, args);
            CHECK(ok == !s->dec_fatal);
            free(args);
        }
    }
}

int
main(void)
{
    struct stream *s = calloc(1, sizeof(*s));
    if (!s)
        return 1;
    pv_arena_init(&s->arena, 16u << 20);
    test_create_instance(s);
    test_compute_pipelines(s);
    test_properties2(s);
    test_queue_families(s);
    test_update_descriptor_sets(s);
    test_push_constants(s);
    test_create_ring(s);
    test_host_copy(s);
    test_enumerate_and_tables(s);
    test_garbage(s);
    pv_arena_fini(&s->arena);
    free(s);
    if (check_report("test_codegen"))
        return 1;
    printf("codegen round trips: ok\n");
    return 0;
}
