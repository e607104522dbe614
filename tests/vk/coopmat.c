/*
 * tests/vk/coopmat: pv-coopmat-test, a matrix product with
 * VK_KHR_cooperative_matrix (tests/vk/coopmat.comp), checked against the CPU
 * element for element. A and B are float16 matrices of small integers, so
 * every product and sum is exact in the float32 accumulator and the result
 * must equal the CPU's bit for bit. The tile shape is the first
 * subgroup-scope configuration the device lists with float16 A and B and
 * float32 C and result; the matrices are 2 x 2 tiles of C over 4 steps of K.
 *
 *   pv-coopmat-test [--skip-if-no-device]
 *
 * Prints "device: NAME", the tile, "coopmat ok m=.. n=.. k=.. sum=..". Exit 0
 * when it matches; 77 with --skip-if-no-device when the device has no such
 * configuration (or no device); 1 on a mismatch or a failed call.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "coopmat_spv.h"

const struct pvt_prog pvt_prog = {.name = "pv-coopmat-test"};

static void
usage(FILE *f)
{
    fprintf(f, "usage: pv-coopmat-test [--skip-if-no-device]\n");
}

/* IEEE half from a small integer (|v| < 2048: exact). */
static uint16_t
half_from_int(int v)
{
    if (v == 0)
        return 0;
    uint16_t sign = v < 0 ? 0x8000 : 0;
    unsigned m = (unsigned)(v < 0 ? -v : v);
    int e = 0;
    while ((m >> e) > 1)
        e++;
    unsigned frac = (m << (10 - e)) & 0x3ff;
    return (uint16_t)(sign | (unsigned)(e + 15) << 10 | frac);
}

static int
a_val(uint32_t i, uint32_t j)
{
    return (int)((i * 7 + j * 3) % 9) - 4;
}

static int
b_val(uint32_t i, uint32_t j)
{
    return (int)((i * 5 + j * 11) % 7) - 3;
}

int
main(int argc, char **argv)
{
    bool skip = false;
    for (int i = 1; i < argc; i++) {
        int rc = pvt_common_arg(argv[i], &skip, usage);
        if (rc)
            return rc;
    }
    VkInstance inst;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mp;
    int rc = pvt_first_device(VK_API_VERSION_1_3, skip, true, &inst, &phys, &props, &mp);
    if (rc)
        return rc;
    if (props.apiVersion < VK_API_VERSION_1_3 ||
        !pvt_has_device_extension(phys, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME)) {
        vkDestroyInstance(inst, NULL);
        return pvt_skip_or_fail(skip, "no Vulkan 1.3 with VK_KHR_cooperative_matrix");
    }
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get_props =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)vkGetInstanceProcAddr(
            inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
    if (!get_props)
        pvt_die("no vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
    uint32_t n = 0;
    VK_CHECK(get_props(phys, &n, NULL));
    VkCooperativeMatrixPropertiesKHR *cm = calloc(n ? n : 1, sizeof(*cm));
    if (!cm)
        pvt_die("out of memory");
    for (uint32_t i = 0; i < n; i++)
        cm[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
    VK_CHECK(get_props(phys, &n, cm));
    const VkCooperativeMatrixPropertiesKHR *t = NULL;
    for (uint32_t i = 0; i < n && !t; i++)
        if (cm[i].AType == VK_COMPONENT_TYPE_FLOAT16_KHR &&
            cm[i].BType == VK_COMPONENT_TYPE_FLOAT16_KHR &&
            cm[i].CType == VK_COMPONENT_TYPE_FLOAT32_KHR &&
            cm[i].ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR &&
            cm[i].scope == VK_SCOPE_SUBGROUP_KHR && !cm[i].saturatingAccumulation)
            t = &cm[i];
    printf("configurations: %u\n", n);
    if (!t) {
        free(cm);
        vkDestroyInstance(inst, NULL);
        return pvt_skip_or_fail(skip, "no subgroup f16 x f16 -> f32 configuration");
    }
    const uint32_t TM = t->MSize, TN = t->NSize, TK = t->KSize;
    printf("tile: %ux%ux%u\n", TM, TN, TK);
    free(cm);

    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sg};
    vkGetPhysicalDeviceProperties2(phys, &p2);

    uint32_t qf = pvt_queue_family(phys, VK_QUEUE_COMPUTE_BIT, false, NULL);
    if (qf == UINT32_MAX)
        pvt_die("no compute queue");
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = qf, .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cmf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
        .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceVulkan13Features f13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .pNext = &cmf};
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f13,
        .shaderFloat16 = VK_TRUE, .vulkanMemoryModel = VK_TRUE};
    VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12,
        .storageBuffer16BitAccess = VK_TRUE};
    const char *ext = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f11,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = 1, .ppEnabledExtensionNames = &ext};
    VkDevice dev;
    VK_CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
    VkQueue queue;
    vkGetDeviceQueue(dev, qf, 0, &queue);

    const uint32_t M = 2 * TM, N = 2 * TN, K = 4 * TK;
    struct pvt_buffer a, b, c;
    pvt_buffer_create(dev, &mp, (VkDeviceSize)M * K * 2, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &a);
    pvt_buffer_create(dev, &mp, (VkDeviceSize)K * N * 2, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &b);
    pvt_buffer_create(dev, &mp, (VkDeviceSize)M * N * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &c);
    uint16_t *ah = a.map, *bh = b.map;
    for (uint32_t i = 0; i < M; i++)
        for (uint32_t j = 0; j < K; j++)
            ah[i * K + j] = half_from_int(a_val(i, j));
    for (uint32_t i = 0; i < K; i++)
        for (uint32_t j = 0; j < N; j++)
            bh[i * N + j] = half_from_int(b_val(i, j));
    memset(c.map, 0xa5, (size_t)M * N * 4);

    VkDescriptorSetLayoutBinding bind[3];
    for (uint32_t i = 0; i < 3; i++)
        bind[i] = (VkDescriptorSetLayoutBinding){
            .binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 3,
        .pBindings = bind};
    VkDescriptorSetLayout dsl;
    VK_CHECK(vkCreateDescriptorSetLayout(dev, &dslci, NULL, &dsl));
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 8};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 1, .pSetLayouts = &dsl,
                                       .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
    VkPipelineLayout pl;
    VK_CHECK(vkCreatePipelineLayout(dev, &plci, NULL, &pl));
    VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                     .codeSize = sizeof(pv_coopmat_spv), .pCode = pv_coopmat_spv};
    VkShaderModule sm;
    VK_CHECK(vkCreateShaderModule(dev, &smci, NULL, &sm));
    uint32_t spec[4] = {TM, TN, TK, sg.subgroupSize};
    VkSpecializationMapEntry me[4];
    for (uint32_t i = 0; i < 4; i++)
        me[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4, .size = 4};
    VkSpecializationInfo si = {.mapEntryCount = 4, .pMapEntries = me, .dataSize = sizeof(spec),
                               .pData = spec};
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = sm, .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = pl};
    VkPipeline pipe;
    VK_CHECK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipe));

    VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 3};
    VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps};
    VkDescriptorPool pool;
    VK_CHECK(vkCreateDescriptorPool(dev, &dpci, NULL, &pool));
    VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                        .descriptorPool = pool, .descriptorSetCount = 1,
                                        .pSetLayouts = &dsl};
    VkDescriptorSet set;
    VK_CHECK(vkAllocateDescriptorSets(dev, &dsai, &set));
    VkDescriptorBufferInfo dbi[3] = {{a.buf, 0, VK_WHOLE_SIZE}, {b.buf, 0, VK_WHOLE_SIZE},
                                     {c.buf, 0, VK_WHOLE_SIZE}};
    VkWriteDescriptorSet w[3];
    for (uint32_t i = 0; i < 3; i++)
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set, .dstBinding = i, .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &dbi[i]};
    vkUpdateDescriptorSets(dev, 3, w, 0, NULL);

    VkCommandPoolCreateInfo cpoolci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                       .queueFamilyIndex = qf};
    VkCommandPool cpool;
    VK_CHECK(vkCreateCommandPool(dev, &cpoolci, NULL, &cpool));
    VkCommandBuffer cmd = pvt_cmd_begin(dev, cpool);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pl, 0, 1, &set, 0, NULL);
    uint32_t pc[2] = {N, K};
    vkCmdPushConstants(cmd, pl, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
    vkCmdDispatch(cmd, N / TN, M / TM, 1);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
                         1, &mb, 0, NULL, 0, NULL);
    VK_CHECK(vkEndCommandBuffer(cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    VK_CHECK(vkCreateFence(dev, &fci, NULL, &fence));
    if (pvt_submit_wait(dev, queue, fence, cmd, 60ull * 1000000000ull) < 0)
        pvt_die("the dispatch did not finish within 60 s");

    const float *cv = c.map;
    unsigned bad = 0;
    double sum = 0;
    for (uint32_t i = 0; i < M; i++) {
        for (uint32_t j = 0; j < N; j++) {
            int want = 0;
            for (uint32_t k = 0; k < K; k++)
                want += a_val(i, k) * b_val(k, j);
            float got = cv[i * N + j];
            sum += got;
            if (got != (float)want && bad++ < 5)
                fprintf(stderr, "pv-coopmat-test: C[%u][%u] = %g, want %d\n", i, j, got, want);
        }
    }
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, cpool, NULL);
    vkDestroyDescriptorPool(dev, pool, NULL);
    vkDestroyPipeline(dev, pipe, NULL);
    vkDestroyShaderModule(dev, sm, NULL);
    vkDestroyPipelineLayout(dev, pl, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    pvt_buffer_destroy(dev, &a);
    pvt_buffer_destroy(dev, &b);
    pvt_buffer_destroy(dev, &c);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
    if (bad) {
        fprintf(stderr, "pv-coopmat-test: %u of %u elements differ from the CPU\n", bad, M * N);
        return 1;
    }
    printf("coopmat ok m=%u n=%u k=%u sum=%.0f\n", M, N, K, sum);
    return 0;
}
