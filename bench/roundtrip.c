/*
 * pv-roundtrip: latency of one Vulkan call that Mesa's Venus driver sends to
 * the renderer and waits for the reply, repeated many times.
 *
 * Uses only the Vulkan loader, so the same binary runs natively (the baseline:
 * the call itself) and through Venus (the call plus one command round trip to
 * the renderer). Calls:
 *
 *   pipeline-cache-size  vkGetPipelineCacheData(cache, &size, NULL): Venus
 *                        always sends it (vn_call_vkGetPipelineCacheData) and
 *                        waits for the reply; nothing is cached in the driver
 *   fence-status         vkGetFenceStatus on an unsignaled fence: a round trip
 *                        only with VN_PERF=no_fence_feedback (otherwise Venus
 *                        reads a feedback slot in shared memory, no command)
 *
 *   pv-roundtrip [--call pipeline-cache-size|fence-status|all] [--calls N]
 *                [--warmup N] [--skip-if-no-device]
 *
 * Output: "device: NAME", then one line per call:
 *   call=pipeline-cache-size ok median_us=21.4 p10_us=19.8 p90_us=25.0 min_us=18.2 calls=10000
 * Exit: 0 done; 1 a Vulkan call failed (named); 2 usage; 77 no Vulkan device
 * and --skip-if-no-device was given.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vulkan/vulkan.h>

#include "common.h"

const struct pvt_prog pvt_prog = {.name = "pv-roundtrip"};

enum call { CALL_CACHE_SIZE, CALL_FENCE_STATUS, N_CALLS };
static const char *const call_names[N_CALLS] = { "pipeline-cache-size", "fence-status" };

struct options {
    bool calls[N_CALLS];
    unsigned n;
    unsigned warmup;
    bool skip_if_no_device;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pv-roundtrip [--call pipeline-cache-size|fence-status|all] [--calls N]\n"
               "                    [--warmup N] [--skip-if-no-device]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->calls[CALL_CACHE_SIZE] = o->calls[CALL_FENCE_STATUS] = true;
    o->n = 10000;
    o->warmup = 200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--call")) {
            bool all = val && !strcmp(val, "all");
            bool any = all;
            for (int c = 0; c < N_CALLS; c++) {
                o->calls[c] = all || (val && !strcmp(val, call_names[c]));
                any |= o->calls[c];
            }
            if (!any)
                goto bad;
            i++;
        } else if (!strcmp(a, "--calls") || !strcmp(a, "--warmup")) {
            char *end;
            errno = 0;
            unsigned long v = val ? strtoul(val, &end, 10) : 0;
            if (!val || errno || *end || val[0] == '-' || v > 100000000ul ||
                (v == 0 && a[2] == 'c'))
                goto bad;
            if (a[2] == 'c')
                o->n = (unsigned)v;
            else
                o->warmup = (unsigned)v;
            i++;
        } else if (!strcmp(a, "--skip-if-no-device")) {
            o->skip_if_no_device = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "pv-roundtrip: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        continue;
bad:
        fprintf(stderr, "pv-roundtrip: bad %s '%s'\n", a, val ? val : "");
        usage(stderr);
        return 2;
    }
    return 0;
}

static VkResult do_call(enum call which, VkDevice dev, VkPipelineCache cache, VkFence fence)
{
    if (which == CALL_CACHE_SIZE) {
        size_t size = 0;
        return vkGetPipelineCacheData(dev, cache, &size, NULL);
    }
    VkResult r = vkGetFenceStatus(dev, fence);
    return r == VK_NOT_READY ? VK_SUCCESS : (r == VK_SUCCESS ? VK_ERROR_UNKNOWN : r);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;

    VkInstance instance;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    rc = pvt_first_device(VK_API_VERSION_1_1, o.skip_if_no_device, true, &instance, &phys, &props,
                          &mem_props);
    if (rc)
        return rc;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = 0,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkDevice dev;
    VK_CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
    VkPipelineCacheCreateInfo pcci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
    VkPipelineCache cache;
    VK_CHECK(vkCreatePipelineCache(dev, &pcci, NULL, &cache));
    /* Only when asked for: Venus gives a fence a feedback slot in host-visible
     * memory, which virgl_test_server cannot export on lavapipe (it hangs). */
    VkFence fence = VK_NULL_HANDLE;
    if (o.calls[CALL_FENCE_STATUS]) {
        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
        VK_CHECK(vkCreateFence(dev, &fci, NULL, &fence));
    }

    uint64_t *t = calloc(o.n, sizeof(*t));
    if (!t) {
        fprintf(stderr, "pv-roundtrip: out of memory\n");
        return 1;
    }
    for (int c = 0; c < N_CALLS; c++) {
        if (!o.calls[c])
            continue;
        for (unsigned i = 0; i < o.warmup; i++)
            pvt_check(do_call((enum call)c, dev, cache, fence), call_names[c]);
        for (unsigned i = 0; i < o.n; i++) {
            uint64_t t0 = now_ns();
            VkResult r = do_call((enum call)c, dev, cache, fence);
            t[i] = now_ns() - t0;
            pvt_check(r, call_names[c]);
        }
        qsort(t, o.n, sizeof(*t), cmp_u64);
        printf("call=%s ok median_us=%.3f p10_us=%.3f p90_us=%.3f min_us=%.3f calls=%u\n",
               call_names[c], (double)t[o.n / 2] / 1e3, (double)t[o.n / 10] / 1e3,
               (double)t[o.n * 9 / 10] / 1e3, (double)t[0] / 1e3, o.n);
        fflush(stdout);
    }
    free(t);
    if (fence)
        vkDestroyFence(dev, fence, NULL);
    vkDestroyPipelineCache(dev, cache, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    return 0;
}
