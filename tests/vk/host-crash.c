/*
 * pv-host-crash: a Vulkan program that makes the host driver crash, as a
 * hostile guest app can. It records a vkCmdCopyBuffer whose region runs
 * 1 GiB past two 4 KiB buffers and submits it. The Vulkan spec forbids the
 * region; Venus forwards it, the renderer has no grounds to refuse a copy
 * it cannot see the bounds of, and lavapipe does not check it: it copies
 * through unmapped memory and the process that runs it dies of SIGSEGV.
 * Through PearVisor that process is a render process: only this app's
 * context (or VM's contexts) is lost; the server, QEMU and other clients
 * carry on (tests/gpu-vm/venus.sh). Never run it natively on purpose: it
 * crashes itself there.
 *
 *   pv-host-crash [--skip-if-no-device]
 *
 * Exit: 0 the device was lost (an error from the submit or the wait); 1 the
 * copy completed, or a failed call before it; the Venus driver may also end
 * the app itself (abort) when its renderer goes.
 */
#include <stdio.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "common.h"

const struct pvt_prog pvt_prog = {.name = "pv-host-crash"};

#define BUF_SIZE 4096u
#define OVERRUN (1ull << 30)

static void
usage(FILE *f)
{
    fprintf(f, "usage: pv-host-crash [--skip-if-no-device]\n"
               "Crashes the host Vulkan driver with an out-of-bounds copy (a test of the\n"
               "renderer's render processes; never run it natively).\n");
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
    VkInstance instance;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    int rc = pvt_first_device(VK_API_VERSION_1_1, skip, true, &instance, &phys, &props,
                              &mem_props);
    if (rc)
        return rc;
    uint32_t family = pvt_queue_family(phys, VK_QUEUE_TRANSFER_BIT | VK_QUEUE_COMPUTE_BIT |
                                                 VK_QUEUE_GRAPHICS_BIT, false, NULL);
    if (family == UINT32_MAX)
        pvt_die("no queue family");
    float prio = 1.0f;
    const VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                         .queueFamilyIndex = family,
                                         .queueCount = 1,
                                         .pQueuePriorities = &prio};
    const VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                    .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci};
    VkDevice dev;
    VK_CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
    VkQueue queue;
    vkGetDeviceQueue(dev, family, 0, &queue);
    struct pvt_buffer src, dst;
    const VkBufferUsageFlags usage_flags =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    pvt_buffer_create(dev, &mem_props, BUF_SIZE, usage_flags, &src);
    pvt_buffer_create(dev, &mem_props, BUF_SIZE, usage_flags, &dst);
    memset(src.map, 0x5a, BUF_SIZE);
    const VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                         .queueFamilyIndex = family};
    VkCommandPool pool;
    VK_CHECK(vkCreateCommandPool(dev, &pci, NULL, &pool));
    VkCommandBuffer cmd = pvt_cmd_begin(dev, pool);
    const VkBufferCopy region = {.srcOffset = 0, .dstOffset = 0, .size = OVERRUN};
    vkCmdCopyBuffer(cmd, src.buf, dst.buf, 1, &region);
    VK_CHECK(vkEndCommandBuffer(cmd));
    const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    VK_CHECK(vkCreateFence(dev, &fci, NULL, &fence));
    printf("pv-host-crash: submitting a copy of %llu bytes between two %u-byte buffers\n",
           (unsigned long long)OVERRUN, BUF_SIZE);
    fflush(stdout);
    const VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                             .commandBufferCount = 1,
                             .pCommandBuffers = &cmd};
    VkResult r = vkQueueSubmit(queue, 1, &si, fence);
    if (r == VK_SUCCESS)
        r = vkWaitForFences(dev, 1, &fence, VK_TRUE, 60ull * 1000 * 1000 * 1000);
    if (r == VK_SUCCESS) {
        printf("pv-host-crash: the copy completed: the host driver did not crash\n");
        return 1;
    }
    printf("pv-host-crash: the device is gone: %s (%d), as expected\n", pvt_result_name(r), r);
    /* Nothing to tear down on a lost device that is worth the risk. */
    return 0;
}
