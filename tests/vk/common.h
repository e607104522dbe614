/*
 * tests/vk/common: what the Vulkan test programs (pv-compute-test,
 * pv-render-test, pv-timeline-test) share: VkResult names and VK_CHECK, the
 * "PROG: ..." failure and skip reports, the clock and a median, the instance
 * and first physical device with the no-device skip (exit 77), the choice of
 * a queue family and of a memory type, host-visible buffers, command buffers
 * and a fenced submit.
 *
 * Each program defines pvt_prog, its name and how a failed Vulkan call ends
 * it; the helpers keep no other state.
 */
#ifndef PV_TESTS_VK_COMMON_H
#define PV_TESTS_VK_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vulkan/vulkan.h>

#define EXIT_SKIP 77 /* no Vulkan device (or feature) and --skip-if-no-device */

struct pvt_prog {
    const char *name; /* "pv-render-test": starts every message */
    /* A failed VK_CHECK ends the program with fflush(stdout) and _exit(1)
     * (no atexit handlers, no teardown) instead of exit(1): for a program
     * whose other threads may be inside Vulkan. */
    bool check_exits_quick;
};
extern const struct pvt_prog pvt_prog; /* defined by each program */

/* "VK_ERROR_DEVICE_LOST"; "VkResult" for a value it does not know. */
const char *pvt_result_name(VkResult r);

/* Unless r is VK_SUCCESS: reports "PROG: vkFoo failed: VK_ERROR_... (n)",
 * call cut at its first '(', and exits 1 (see pvt_prog.check_exits_quick). */
void pvt_check(VkResult r, const char *call);
#define VK_CHECK(call) pvt_check((call), #call)

/* Reports "PROG: MESSAGE" and exits 1. */
__attribute__((format(printf, 1, 2), noreturn)) void pvt_die(const char *fmt, ...);

/* Reports "PROG: WHY", with " (skipped)" when skip; returns the exit code:
 * EXIT_SKIP when skip, else 1. */
int pvt_skip_or_fail(bool skip, const char *why);

/* The arguments every program takes besides its own: --skip-if-no-device
 * (sets *skip_if_no_device) and --help or -h (usage on stdout, exit 0).
 * Returns 0 for those; for any other argument, reports "PROG: unknown
 * argument 'ARG'" and usage on stderr and returns 2 (the exit code). */
int pvt_common_arg(const char *arg, bool *skip_if_no_device, void (*usage)(FILE *f));

double pvt_now_ms(void);

/* Sorts ms[0..n) ascending (n > 0) and returns the median. */
double pvt_sort_median(double *ms, unsigned n);

/* Creates the instance (application pvt_prog.name, api_version) and takes the
 * first physical device with its properties; with print_name, prints
 * "device: NAME" on stdout. Returns 0; with no driver or no device,
 * pvt_skip_or_fail's exit code ("no Vulkan device: WHY"), having destroyed
 * the instance (*instance null) if it was created. A failed call otherwise
 * ends the program (VK_CHECK). */
int pvt_first_device(uint32_t api_version, bool skip_if_no_device, bool print_name,
                     VkInstance *instance, VkPhysicalDevice *phys,
                     VkPhysicalDeviceProperties *props,
                     VkPhysicalDeviceMemoryProperties *mem_props);

/* Whether phys offers the device extension name. */
bool pvt_has_device_extension(VkPhysicalDevice phys, const char *name);

/* Of the first 16 queue families, the first one with any of flags; with
 * most_queues, the one of those with the most queues (the first of equals).
 * UINT32_MAX if none; else *queue_count (if not null) gets its queueCount. */
uint32_t pvt_queue_family(VkPhysicalDevice phys, VkQueueFlags flags, bool most_queues,
                          uint32_t *queue_count);

/* The first memory type in bits with all the flags of want, else the first
 * with all of fallback; if none, reports it and exits 1. */
uint32_t pvt_find_memory(const VkPhysicalDeviceMemoryProperties *mem_props, uint32_t bits,
                         VkMemoryPropertyFlags want, VkMemoryPropertyFlags fallback);

/* A buffer in HOST_VISIBLE|HOST_COHERENT memory, mapped whole. */
struct pvt_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    union {
        void *map;
        uint32_t *words; /* the same, as 32-bit words */
    };
    VkDeviceSize size;
};

void pvt_buffer_create(VkDevice dev, const VkPhysicalDeviceMemoryProperties *mem_props,
                       VkDeviceSize size, VkBufferUsageFlags usage, struct pvt_buffer *b);
/* Nothing for a buffer never created (b->buf null). */
void pvt_buffer_destroy(VkDevice dev, struct pvt_buffer *b);

/* A primary command buffer from pool, begun (no flags). */
VkCommandBuffer pvt_cmd_begin(VkDevice dev, VkCommandPool pool);

/* Submits cmd on queue with fence, waits for the fence up to timeout_ns and
 * resets it. Returns the wall time of submit and wait in ms, or -1 if the
 * wait timed out (the caller reports it). */
double pvt_submit_wait(VkDevice dev, VkQueue queue, VkFence fence, VkCommandBuffer cmd,
                       uint64_t timeout_ns);

#endif
