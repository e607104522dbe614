/*
 * tests/vk/common: the helpers the Vulkan test programs share (common.h).
 * Messages start with the program's name (pvt_prog.name); a failure exits 1.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *pvt_result_name(VkResult r)
{
    switch (r) {
#define R(x) case x: return #x
    R(VK_SUCCESS);
    R(VK_NOT_READY);
    R(VK_TIMEOUT);
    R(VK_INCOMPLETE);
    R(VK_ERROR_OUT_OF_HOST_MEMORY);
    R(VK_ERROR_OUT_OF_DEVICE_MEMORY);
    R(VK_ERROR_INITIALIZATION_FAILED);
    R(VK_ERROR_DEVICE_LOST);
    R(VK_ERROR_MEMORY_MAP_FAILED);
    R(VK_ERROR_LAYER_NOT_PRESENT);
    R(VK_ERROR_EXTENSION_NOT_PRESENT);
    R(VK_ERROR_FEATURE_NOT_PRESENT);
    R(VK_ERROR_INCOMPATIBLE_DRIVER);
    R(VK_ERROR_TOO_MANY_OBJECTS);
    R(VK_ERROR_FORMAT_NOT_SUPPORTED);
    R(VK_ERROR_FRAGMENTED_POOL);
    R(VK_ERROR_UNKNOWN);
    R(VK_ERROR_OUT_OF_POOL_MEMORY);
    R(VK_ERROR_INVALID_EXTERNAL_HANDLE);
#undef R
    default: return "VkResult";
    }
}

void pvt_check(VkResult r, const char *call)
{
    if (r == VK_SUCCESS)
        return;
    int len = (int)strcspn(call, "(");
    fprintf(stderr, "%s: %.*s failed: %s (%d)\n", pvt_prog.name, len, call, pvt_result_name(r),
            (int)r);
    if (!pvt_prog.check_exits_quick)
        exit(1);
    fflush(stdout);
    _exit(1);
}

void pvt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", pvt_prog.name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

int pvt_skip_or_fail(bool skip, const char *why)
{
    fprintf(stderr, "%s: %s%s\n", pvt_prog.name, why, skip ? " (skipped)" : "");
    return skip ? EXIT_SKIP : 1;
}

int pvt_common_arg(const char *arg, bool *skip_if_no_device, void (*usage)(FILE *f))
{
    if (!strcmp(arg, "--skip-if-no-device")) {
        *skip_if_no_device = true;
        return 0;
    }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        usage(stdout);
        exit(0);
    }
    fprintf(stderr, "%s: unknown argument '%s'\n", pvt_prog.name, arg);
    usage(stderr);
    return 2;
}

double pvt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double pvt_sort_median(double *ms, unsigned n)
{
    qsort(ms, n, sizeof(*ms), cmp_double);
    return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

int pvt_first_device(uint32_t api_version, bool skip_if_no_device, bool print_name,
                     VkInstance *instance, VkPhysicalDevice *phys,
                     VkPhysicalDeviceProperties *props,
                     VkPhysicalDeviceMemoryProperties *mem_props)
{
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = pvt_prog.name,
        .apiVersion = api_version,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    VkResult r = vkCreateInstance(&ici, NULL, instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return pvt_skip_or_fail(skip_if_no_device,
                                "no Vulkan device: vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER");
    VK_CHECK(r);
    uint32_t n = 1;
    r = vkEnumeratePhysicalDevices(*instance, &n, phys);
    if (r != VK_INCOMPLETE)
        VK_CHECK(r);
    if (n == 0) {
        vkDestroyInstance(*instance, NULL);
        *instance = VK_NULL_HANDLE;
        return pvt_skip_or_fail(skip_if_no_device,
                                "no Vulkan device: vkEnumeratePhysicalDevices found none");
    }
    vkGetPhysicalDeviceProperties(*phys, props);
    vkGetPhysicalDeviceMemoryProperties(*phys, mem_props);
    if (print_name) {
        printf("device: %s\n", props->deviceName);
        fflush(stdout);
    }
    return 0;
}

uint32_t pvt_queue_family(VkPhysicalDevice phys, VkQueueFlags flags, bool most_queues,
                          uint32_t *queue_count)
{
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, NULL);
    VkQueueFamilyProperties qf[16];
    if (nq > 16)
        nq = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, qf);
    uint32_t family = UINT32_MAX;
    for (uint32_t i = 0; i < nq; i++) {
        if ((qf[i].queueFlags & flags) &&
            (family == UINT32_MAX || (most_queues && qf[i].queueCount > qf[family].queueCount)))
            family = i;
    }
    if (family != UINT32_MAX && queue_count)
        *queue_count = qf[family].queueCount;
    return family;
}

uint32_t pvt_find_memory(const VkPhysicalDeviceMemoryProperties *mem_props, uint32_t bits,
                         VkMemoryPropertyFlags want, VkMemoryPropertyFlags fallback)
{
    for (int pass = 0; pass < 2; pass++) {
        VkMemoryPropertyFlags f = pass ? fallback : want;
        for (uint32_t i = 0; i < mem_props->memoryTypeCount; i++) {
            if ((bits & (1u << i)) && (mem_props->memoryTypes[i].propertyFlags & f) == f)
                return i;
        }
    }
    pvt_die("no memory type with flags 0x%x in bits 0x%x", fallback, bits);
}

void pvt_buffer_create(VkDevice dev, const VkPhysicalDeviceMemoryProperties *mem_props,
                       VkDeviceSize size, VkBufferUsageFlags usage, struct pvt_buffer *b)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VK_CHECK(vkCreateBuffer(dev, &bci, NULL, &b->buf));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, b->buf, &req);
    const VkMemoryPropertyFlags hv =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = pvt_find_memory(mem_props, req.memoryTypeBits, hv, hv),
    };
    VK_CHECK(vkAllocateMemory(dev, &mai, NULL, &b->mem));
    VK_CHECK(vkBindBufferMemory(dev, b->buf, b->mem, 0));
    VK_CHECK(vkMapMemory(dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map));
    b->size = size;
}

void pvt_buffer_destroy(VkDevice dev, struct pvt_buffer *b)
{
    if (!b->buf)
        return;
    vkUnmapMemory(dev, b->mem);
    vkDestroyBuffer(dev, b->buf, NULL);
    vkFreeMemory(dev, b->mem, NULL);
}

VkCommandBuffer pvt_cmd_begin(VkDevice dev, VkCommandPool pool)
{
    VkCommandBufferAllocateInfo cbai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkCommandBuffer cmd;
    VK_CHECK(vkAllocateCommandBuffers(dev, &cbai, &cmd));
    VkCommandBufferBeginInfo cbbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    VK_CHECK(vkBeginCommandBuffer(cmd, &cbbi));
    return cmd;
}

double pvt_submit_wait(VkDevice dev, VkQueue queue, VkFence fence, VkCommandBuffer cmd,
                       uint64_t timeout_ns)
{
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    double t0 = pvt_now_ms();
    VK_CHECK(vkQueueSubmit(queue, 1, &si, fence));
    VkResult r = vkWaitForFences(dev, 1, &fence, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT)
        return -1;
    VK_CHECK(r);
    double ms = pvt_now_ms() - t0;
    VK_CHECK(vkResetFences(dev, 1, &fence));
    return ms;
}

bool
pvt_has_device_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    VK_CHECK(vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL));
    VkExtensionProperties *ext = calloc(n ? n : 1, sizeof(*ext));
    if (!ext)
        pvt_die("out of memory");
    VkResult r = vkEnumerateDeviceExtensionProperties(phys, NULL, &n, ext);
    if (r != VK_INCOMPLETE)
        VK_CHECK(r);
    bool found = false;
    for (uint32_t i = 0; i < n && !found; i++)
        found = !strcmp(ext[i].extensionName, name);
    free(ext);
    return found;
}
