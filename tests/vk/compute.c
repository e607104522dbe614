/*
 * pv-compute-test: a standalone Vulkan compute program, checked on the CPU.
 *
 * Uses only the Vulkan loader, so the same binary runs natively (lavapipe)
 * and through Venus (VN_DEBUG=vtest + the virtio ICD). For each size it
 * creates an input and an output storage buffer in HOST_VISIBLE|HOST_COHERENT
 * memory, fills the input from a seeded xorshift, dispatches the kernel of
 * tests/vk/compute.comp (SPIR-V compiled at build time), waits on a fence and
 * compares every output element with the same function computed on the CPU.
 *
 *   pv-compute-test [--size BYTES | --sizes 4K,1M,64M] [--iterations N]
 *                   [--rounds R] [--json] [--skip-if-no-device]
 *                   [--repeat-until-exists PATH]
 *
 * Output: "device: NAME", then one line per size:
 *   size=4096 ok ms=0.412 min_ms=0.398 max_ms=0.530 iterations=5 out=5f1c0e0d9a2b3c4d
 * where ms is the median wall time of one submit+fence wait of the dispatch
 * and out an FNV-1a 64 digest (word by word) of the output buffer as the device left it
 * (equal digests for equal sizes and rounds: runs can be compared without
 * trusting either one's CPU check).
 * Exit: 0 all sizes matched; 1 mismatch or a failed Vulkan call (named);
 * 2 usage; 77 no Vulkan device and --skip-if-no-device was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vulkan/vulkan.h>

#include "common.h"
#include "compute_spv.h"

#define MAX_SIZES 32
#define LOCAL_SIZE 64 /* local_size_x of compute.comp */
#define FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

struct params {
    uint32_t count;
    uint32_t mul;
    uint32_t salt;
    uint32_t rounds;
};

struct options {
    uint64_t sizes[MAX_SIZES];
    unsigned n_sizes;
    unsigned iterations;
    uint32_t rounds;
    bool json;
    bool skip_if_no_device;
    const char *until_path;
};

struct ctx {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t queue_family;
    VkDevice device;
    VkQueue queue;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipeline_layout;
    VkShaderModule shader;
    VkPipeline pipeline;
    VkCommandPool cmd_pool;
    VkFence fence;
};

const struct pvt_prog pvt_prog = { .name = "pv-compute-test" };

/* The kernel, on the CPU. Must match compute.comp exactly. */
static uint32_t kernel_cpu(uint32_t x, uint32_t i, const struct params *p)
{
    for (uint32_t r = 0; r < p->rounds; r++) {
        x = x * p->mul + (i ^ p->salt);
        x ^= x >> 13;
    }
    return x;
}

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* "4096", "4K", "64M", "1G", "16KiB": a byte count, multiple of 4, > 0. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return false;
    uint64_t mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (mul > 1 && *end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || v == 0 || v > (UINT64_MAX >> 30))
        return false;
    v *= mul;
    if (v % 4 != 0 || v / 4 > UINT32_MAX)
        return false;
    *out = v;
    return true;
}

static bool parse_size_list(const char *list, struct options *o)
{
    char *copy = strdup(list);
    if (!copy)
        return false;
    bool ok = true;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_sizes == MAX_SIZES || !parse_size(tok, &o->sizes[o->n_sizes])) {
            ok = false;
            break;
        }
        o->n_sizes++;
    }
    free(copy);
    return ok && o->n_sizes > 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pv-compute-test [--size BYTES | --sizes LIST] [--iterations N] [--rounds R]\n"
            "                       [--json] [--skip-if-no-device] [--repeat-until-exists PATH]\n"
            "  BYTES: a multiple of 4 with optional K/M/G suffix (KiB units); LIST: 4K,1M,64M\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->iterations = 1;
    o->rounds = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--size") || !strcmp(a, "--sizes")) {
            if (!val || !parse_size_list(val, o)) {
                fprintf(stderr, "pv-compute-test: bad %s '%s'\n", a, val ? val : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--iterations") || !strcmp(a, "--rounds")) {
            char *end;
            unsigned long v = val ? strtoul(val, &end, 10) : 0;
            if (!val || *end || v == 0 || v > 1000000) {
                fprintf(stderr, "pv-compute-test: bad %s '%s'\n", a, val ? val : "");
                return 2;
            }
            if (a[2] == 'i')
                o->iterations = (unsigned)v;
            else
                o->rounds = (uint32_t)v;
            i++;
        } else if (!strcmp(a, "--repeat-until-exists")) {
            if (!val) {
                usage(stderr);
                return 2;
            }
            o->until_path = val;
            i++;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else {
            int rc = pvt_common_arg(a, &o->skip_if_no_device, usage);
            if (rc)
                return rc;
        }
    }
    if (o->n_sizes == 0) {
        o->sizes[0] = 1u << 20;
        o->n_sizes = 1;
    }
    return 0;
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Returns 0 with a device, else the exit code. */
static int init(struct ctx *c, const struct options *o)
{
    int rc = pvt_first_device(VK_API_VERSION_1_1, o->skip_if_no_device, !o->json, &c->instance,
                              &c->phys, &c->props, &c->mem_props);
    if (rc)
        return rc;
    if (o->json) {
        printf("{\"device\":");
        print_json_string(c->props.deviceName);
        printf("}\n");
        fflush(stdout);
    }

    c->queue_family = pvt_queue_family(c->phys, VK_QUEUE_COMPUTE_BIT, false, NULL);
    if (c->queue_family == UINT32_MAX) {
        fprintf(stderr, "pv-compute-test: device has no compute queue\n");
        return 1;
    }

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = c->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VK_CHECK(vkCreateDevice(c->phys, &dci, NULL, &c->device));
    vkGetDeviceQueue(c->device, c->queue_family, 0, &c->queue);

    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
          .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
          .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = 2,
        .pBindings = bindings,
    };
    VK_CHECK(vkCreateDescriptorSetLayout(c->device, &dslci, NULL, &c->set_layout));

    VkPushConstantRange pcr = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .offset = 0,
        .size = sizeof(struct params),
    };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &c->set_layout,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &pcr,
    };
    VK_CHECK(vkCreatePipelineLayout(c->device, &plci, NULL, &c->pipeline_layout));

    VkShaderModuleCreateInfo smci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = sizeof(pv_compute_spv),
        .pCode = pv_compute_spv,
    };
    VK_CHECK(vkCreateShaderModule(c->device, &smci, NULL, &c->shader));

    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = c->shader,
            .pName = "main",
        },
        .layout = c->pipeline_layout,
    };
    VK_CHECK(vkCreateComputePipelines(c->device, VK_NULL_HANDLE, 1, &cpci, NULL, &c->pipeline));

    VkCommandPoolCreateInfo cpoolci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = c->queue_family,
    };
    VK_CHECK(vkCreateCommandPool(c->device, &cpoolci, NULL, &c->cmd_pool));

    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VK_CHECK(vkCreateFence(c->device, &fci, NULL, &c->fence));
    return 0;
}

static void fini(struct ctx *c)
{
    if (c->device) {
        vkDestroyFence(c->device, c->fence, NULL);
        vkDestroyCommandPool(c->device, c->cmd_pool, NULL);
        vkDestroyPipeline(c->device, c->pipeline, NULL);
        vkDestroyShaderModule(c->device, c->shader, NULL);
        vkDestroyPipelineLayout(c->device, c->pipeline_layout, NULL);
        vkDestroyDescriptorSetLayout(c->device, c->set_layout, NULL);
        vkDestroyDevice(c->device, NULL);
    }
    if (c->instance)
        vkDestroyInstance(c->instance, NULL);
}

/* Runs and checks one size. Returns 0 if every element matched, else 1. */
static int run_size(struct ctx *c, const struct options *o, uint64_t size)
{
    if (size > c->props.limits.maxStorageBufferRange) {
        fprintf(stderr, "pv-compute-test: size %" PRIu64 " exceeds maxStorageBufferRange %u\n",
                size, c->props.limits.maxStorageBufferRange);
        return 1;
    }
    const uint32_t count = (uint32_t)(size / 4);
    const struct params p = {
        .count = count,
        .mul = 1664525u,
        .salt = 0x9e3779b9u ^ count,
        .rounds = o->rounds,
    };
    struct pvt_buffer in, out;
    pvt_buffer_create(c->device, &c->mem_props, size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &in);
    pvt_buffer_create(c->device, &c->mem_props, size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &out);
    uint32_t seed = 0x2545f491u ^ count;
    for (uint32_t i = 0; i < count; i++)
        in.words[i] = xorshift32(&seed);
    memset(out.map, 0xa5, size);

    VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
    VkDescriptorPoolCreateInfo dpci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = 1,
        .poolSizeCount = 1,
        .pPoolSizes = &ps,
    };
    VkDescriptorPool pool;
    VK_CHECK(vkCreateDescriptorPool(c->device, &dpci, NULL, &pool));
    VkDescriptorSetAllocateInfo dsai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &c->set_layout,
    };
    VkDescriptorSet set;
    VK_CHECK(vkAllocateDescriptorSets(c->device, &dsai, &set));
    VkDescriptorBufferInfo dbi[2] = {
        { .buffer = in.buf, .offset = 0, .range = VK_WHOLE_SIZE },
        { .buffer = out.buf, .offset = 0, .range = VK_WHOLE_SIZE },
    };
    VkWriteDescriptorSet w[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = (uint32_t)i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &dbi[i],
        };
    }
    vkUpdateDescriptorSets(c->device, 2, w, 0, NULL);

    VkCommandBuffer cmd = pvt_cmd_begin(c->device, c->cmd_pool);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipeline_layout, 0, 1, &set, 0,
                            NULL);
    vkCmdPushConstants(cmd, c->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(p), &p);
    uint64_t groups = (count + LOCAL_SIZE - 1) / LOCAL_SIZE;
    uint32_t max_groups = c->props.limits.maxComputeWorkGroupCount[0];
    if (groups > max_groups)
        groups = max_groups; /* the kernel walks the rest with a grid stride */
    vkCmdDispatch(cmd, (uint32_t)groups, 1, 1);
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    VK_CHECK(vkEndCommandBuffer(cmd));

    double *times = calloc(o->iterations, sizeof(*times));
    if (!times)
        pvt_die("out of memory");
    for (unsigned it = 0; it < o->iterations; it++) {
        times[it] = pvt_submit_wait(c->device, c->queue, c->fence, cmd, FENCE_TIMEOUT_NS);
        if (times[it] < 0)
            pvt_die("vkWaitForFences timed out after %llu s (size=%" PRIu64 ")",
                    FENCE_TIMEOUT_NS / 1000000000ull, size);
    }

    uint64_t bad = 0, first_bad = 0;
    uint32_t got = 0, want = 0;
    seed = 0x2545f491u ^ count;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t e = kernel_cpu(xorshift32(&seed), i, &p);
        if (out.words[i] != e) {
            if (bad++ == 0) {
                first_bad = i;
                got = out.words[i];
                want = e;
            }
        }
    }
    /* The input must still be what we wrote (the kernel only reads it). */
    seed = 0x2545f491u ^ count;
    uint64_t in_bad = 0;
    for (uint32_t i = 0; i < count; i++)
        in_bad += in.words[i] != xorshift32(&seed);

    uint64_t digest = 0xcbf29ce484222325ull; /* FNV-1a 64, one 32-bit word per step */
    for (uint32_t i = 0; i < count; i++)
        digest = (digest ^ out.words[i]) * 0x100000001b3ull;

    double med = pvt_sort_median(times, o->iterations);
    const bool ok = bad == 0 && in_bad == 0;
    if (o->json) {
        printf("{\"size\":%" PRIu64 ",\"ok\":%s,\"iterations\":%u,\"ms\":%.4f,\"min_ms\":%.4f,"
               "\"max_ms\":%.4f,\"mismatches\":%" PRIu64 ",\"out\":\"%016" PRIx64 "\"}\n",
               size, ok ? "true" : "false", o->iterations, med, times[0],
               times[o->iterations - 1], bad + in_bad, digest);
    } else {
        printf("size=%" PRIu64 " %s ms=%.4f min_ms=%.4f max_ms=%.4f iterations=%u out=%016" PRIx64
               "\n", size, ok ? "ok" : "FAIL", med, times[0], times[o->iterations - 1],
               o->iterations, digest);
    }
    if (bad)
        fprintf(stderr, "pv-compute-test: size=%" PRIu64 ": %" PRIu64 " of %u elements wrong; "
                        "first bad index %" PRIu64 ": got 0x%08x, expected 0x%08x\n",
                size, bad, count, first_bad, got, want);
    if (in_bad)
        fprintf(stderr, "pv-compute-test: size=%" PRIu64 ": input buffer changed in %" PRIu64
                        " elements\n", size, in_bad);
    fflush(stdout);

    free(times);
    vkFreeCommandBuffers(c->device, c->cmd_pool, 1, &cmd);
    vkDestroyDescriptorPool(c->device, pool, NULL);
    pvt_buffer_destroy(c->device, &in);
    pvt_buffer_destroy(c->device, &out);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    struct ctx c = { 0 };
    rc = init(&c, &o);
    if (rc) {
        fini(&c);
        return rc;
    }
    int failed = 0;
    do {
        for (unsigned i = 0; i < o.n_sizes; i++)
            failed |= run_size(&c, &o, o.sizes[i]);
    } while (!failed && o.until_path && access(o.until_path, F_OK) != 0);
    fini(&c);
    return failed ? 1 : 0;
}
