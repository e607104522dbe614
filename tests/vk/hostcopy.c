/*
 * pv-hostcopy-test: Vulkan 1.4 host image copies (VK_EXT_host_image_copy
 * promoted): texels written into an image and read back by the CPU, without
 * a queue.
 *
 * Uses only the Vulkan loader, so the same binary runs natively (lavapipe)
 * and through Venus, where the Venus driver sends each copy as
 * vkCopyMemoryToImageMESA / vkCopyImageToMemoryMESA with the bytes in the
 * command stream or in the reply (VK_MESA_venus_protocol spec 3);
 * tests/vtest/hostcopy.sh runs both.
 *
 * One 61x37 RGBA8 image of optimal tiling with two layers (A), and two more
 * like it (B, C):
 *   1. vkTransitionImageLayout: A, B, C to GENERAL;
 *   2. vkCopyMemoryToImage into A: layer 0 from a tightly packed pattern,
 *      layer 1 from rows of 64 texels (memoryRowLength), then a 20x10
 *      rectangle at (3,5) of layer 1 from a third pattern;
 *   3. vkCopyImageToMemory of both layers of A: each texel as written;
 *   4. the device reads A too (vkCmdCopyImageToBuffer on a queue): the same
 *      texels;
 *   5. vkCopyImageToImage A layer 0 to B, read back: the same texels;
 *   6. VK_HOST_IMAGE_COPY_MEMCPY: A layer 0 out as its opaque memcpy bytes
 *      (vkGetImageSubresourceLayout2 gives the size), into C, read back.
 *
 *   pv-hostcopy-test [--skip-if-no-device]
 *
 * Output: "device: NAME", then "hostcopy ok bytes=N checksum=HEX" (FNV-1a 64
 * of the texels of A as read in step 3). Exit: 0 all checks passed; 1 a
 * check or a Vulkan call failed (named); 2 usage; 77 no Vulkan 1.4 device
 * with hostImageCopy and HOST_IMAGE_TRANSFER for RGBA8, and
 * --skip-if-no-device was given.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "common.h"

#define FENCE_TIMEOUT_NS (120ull * 1000 * 1000 * 1000)
#define W 61
#define H 37
#define LAYERS 2
#define PADDED_ROW 64
#define RECT_X 3
#define RECT_Y 5
#define RECT_W 20
#define RECT_H 10
#define FORMAT VK_FORMAT_R8G8B8A8_UNORM

const struct pvt_prog pvt_prog = { .name = "pv-hostcopy-test" };

static void
usage(FILE *f)
{
    fprintf(f, "usage: pv-hostcopy-test [--skip-if-no-device]\n");
}

/* Distinct texels per pattern, layer and position. */
static uint32_t
texel(uint32_t pattern, uint32_t x, uint32_t y)
{
    return (pattern * 0x9e3779b9u) ^ (x * 0x85ebca6bu) ^ (y * 0xc2b2ae35u) ^ (x << 16 | y);
}

/* What layer `layer` of A holds after step 2. */
static uint32_t
expected(uint32_t layer, uint32_t x, uint32_t y)
{
    if (layer == 1 && x >= RECT_X && x < RECT_X + RECT_W && y >= RECT_Y && y < RECT_Y + RECT_H)
        return texel(2, x - RECT_X, y - RECT_Y);
    return texel(layer, x, y);
}

static void
check_layer(const char *what, const uint32_t *got, uint32_t layer)
{
    for (uint32_t y = 0; y < H; y++) {
        for (uint32_t x = 0; x < W; x++) {
            uint32_t want = expected(layer, x, y);
            if (got[y * W + x] != want)
                pvt_die("%s: layer %u texel (%u,%u) is 0x%08x, want 0x%08x", what, layer, x, y,
                        got[y * W + x], want);
        }
    }
}

static VkImageSubresourceLayers
layers(uint32_t base, uint32_t count)
{
    return (VkImageSubresourceLayers){ VK_IMAGE_ASPECT_COLOR_BIT, 0, base, count };
}

static VkImage
create_image(VkDevice dev, const VkPhysicalDeviceMemoryProperties *mem_props, VkDeviceMemory *mem)
{
    VkImageCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = FORMAT,
        .extent = { W, H, 1 },
        .mipLevels = 1,
        .arrayLayers = LAYERS,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = VK_IMAGE_USAGE_HOST_TRANSFER_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
                 VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkImage img;
    VK_CHECK(vkCreateImage(dev, &ici, NULL, &img));
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev, img, &req);
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = pvt_find_memory(mem_props, req.memoryTypeBits,
                                           VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0),
    };
    VK_CHECK(vkAllocateMemory(dev, &mai, NULL, mem));
    VK_CHECK(vkBindImageMemory(dev, img, *mem, 0));
    return img;
}

static void
read_layer(VkDevice dev, VkImage img, uint32_t layer, uint32_t *out)
{
    VkImageToMemoryCopy region = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY,
        .pHostPointer = out,
        .imageSubresource = layers(layer, 1),
        .imageExtent = { W, H, 1 },
    };
    VkCopyImageToMemoryInfo info = {
        .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO,
        .srcImage = img,
        .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .regionCount = 1,
        .pRegions = &region,
    };
    VK_CHECK(vkCopyImageToMemory(dev, &info));
}

/* Skips (77 with --skip-if-no-device) unless the device can host-copy RGBA8. */
static int
check_support(VkPhysicalDevice phys, const VkPhysicalDeviceProperties *props, bool skip)
{
    if (props->apiVersion < VK_API_VERSION_1_4)
        return pvt_skip_or_fail(skip, "device is not Vulkan 1.4");
    VkPhysicalDeviceVulkan14Features f14 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f14 };
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    if (!f14.hostImageCopy)
        return pvt_skip_or_fail(skip, "device has no hostImageCopy");
    VkFormatProperties3 fp3 = { .sType = VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_3 };
    VkFormatProperties2 fp2 = { .sType = VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_2, .pNext = &fp3 };
    vkGetPhysicalDeviceFormatProperties2(phys, FORMAT, &fp2);
    if (!(fp3.optimalTilingFeatures & VK_FORMAT_FEATURE_2_HOST_IMAGE_TRANSFER_BIT))
        return pvt_skip_or_fail(skip, "RGBA8 optimal tiling has no HOST_IMAGE_TRANSFER");
    return 0;
}

/* Step 4: the device copies both layers of img into a host-visible buffer. */
static void
device_read(VkDevice dev, VkQueue queue, uint32_t family,
            const VkPhysicalDeviceMemoryProperties *mem_props, VkImage img)
{
    struct pvt_buffer buf = { 0 };
    pvt_buffer_create(dev, mem_props, (VkDeviceSize)W * H * 4 * LAYERS,
                      VK_BUFFER_USAGE_TRANSFER_DST_BIT, &buf);
    VkCommandPoolCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = family,
    };
    VkCommandPool pool;
    VK_CHECK(vkCreateCommandPool(dev, &cpci, NULL, &pool));
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    VK_CHECK(vkCreateFence(dev, &fci, NULL, &fence));
    VkCommandBuffer cmd = pvt_cmd_begin(dev, pool);
    VkBufferImageCopy region = {
        .imageSubresource = layers(0, LAYERS),
        .imageExtent = { W, H, 1 },
    };
    vkCmdCopyImageToBuffer(cmd, img, VK_IMAGE_LAYOUT_GENERAL, buf.buf, 1, &region);
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    VK_CHECK(vkEndCommandBuffer(cmd));
    if (pvt_submit_wait(dev, queue, fence, cmd, FENCE_TIMEOUT_NS) < 0)
        pvt_die("the device copy did not finish in time");
    for (uint32_t l = 0; l < LAYERS; l++)
        check_layer("device copy", buf.words + (size_t)l * W * H, l);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    pvt_buffer_destroy(dev, &buf);
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
    int rc = pvt_first_device(VK_API_VERSION_1_4, skip, true, &instance, &phys, &props, &mem_props);
    if (rc)
        return rc;
    rc = check_support(phys, &props, skip);
    if (rc) {
        vkDestroyInstance(instance, NULL);
        return rc;
    }
    uint32_t family = pvt_queue_family(phys, VK_QUEUE_TRANSFER_BIT | VK_QUEUE_GRAPHICS_BIT |
                                                 VK_QUEUE_COMPUTE_BIT, false, NULL);
    if (family == UINT32_MAX)
        pvt_die("no queue family can copy");
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkPhysicalDeviceVulkan14Features f14 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES,
        .hostImageCopy = VK_TRUE,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f14,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkDevice dev;
    VK_CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
    VkQueue queue;
    vkGetDeviceQueue(dev, family, 0, &queue);

    VkDeviceMemory mem[3];
    VkImage img[3];
    for (int i = 0; i < 3; i++)
        img[i] = create_image(dev, &mem_props, &mem[i]);

    /* 1. every layer of every image to GENERAL */
    VkHostImageLayoutTransitionInfo tr[3];
    for (int i = 0; i < 3; i++)
        tr[i] = (VkHostImageLayoutTransitionInfo){
            .sType = VK_STRUCTURE_TYPE_HOST_IMAGE_LAYOUT_TRANSITION_INFO,
            .image = img[i],
            .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
            .newLayout = VK_IMAGE_LAYOUT_GENERAL,
            .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, LAYERS },
        };
    VK_CHECK(vkTransitionImageLayout(dev, 3, tr));

    /* 2. into A: two full layers (the second with padded rows), then a rectangle */
    uint32_t *p0 = calloc((size_t)W * H, 4), *p1 = calloc((size_t)PADDED_ROW * H, 4);
    uint32_t *p2 = calloc((size_t)RECT_W * RECT_H, 4), *got = calloc((size_t)W * H, 4);
    if (!p0 || !p1 || !p2 || !got)
        pvt_die("out of memory");
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < PADDED_ROW; x++) {
            if (x < W)
                p0[y * W + x] = texel(0, x, y);
            p1[y * PADDED_ROW + x] = x < W ? texel(1, x, y) : 0xdeadbeef;
        }
    for (uint32_t y = 0; y < RECT_H; y++)
        for (uint32_t x = 0; x < RECT_W; x++)
            p2[y * RECT_W + x] = texel(2, x, y);
    VkMemoryToImageCopy up[2] = {
        {
            .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
            .pHostPointer = p0,
            .imageSubresource = layers(0, 1),
            .imageExtent = { W, H, 1 },
        },
        {
            .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
            .pHostPointer = p1,
            .memoryRowLength = PADDED_ROW,
            .imageSubresource = layers(1, 1),
            .imageExtent = { W, H, 1 },
        },
    };
    VkCopyMemoryToImageInfo upi = {
        .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO,
        .dstImage = img[0],
        .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .regionCount = 2,
        .pRegions = up,
    };
    VK_CHECK(vkCopyMemoryToImage(dev, &upi));
    VkMemoryToImageCopy rect = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
        .pHostPointer = p2,
        .imageSubresource = layers(1, 1),
        .imageOffset = { RECT_X, RECT_Y, 0 },
        .imageExtent = { RECT_W, RECT_H, 1 },
    };
    upi.regionCount = 1;
    upi.pRegions = &rect;
    VK_CHECK(vkCopyMemoryToImage(dev, &upi));

    /* 3. both layers of A back */
    uint64_t sum = 0xcbf29ce484222325ull;
    for (uint32_t l = 0; l < LAYERS; l++) {
        memset(got, 0, (size_t)W * H * 4);
        read_layer(dev, img[0], l, got);
        check_layer("vkCopyImageToMemory", got, l);
        for (size_t i = 0; i < (size_t)W * H * 4; i++)
            sum = (sum ^ ((const uint8_t *)got)[i]) * 0x100000001b3ull;
    }

    /* 4. the device sees the same texels */
    device_read(dev, queue, family, &mem_props, img[0]);

    /* 5. A layer 0 to B */
    VkImageCopy2 ic = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_COPY_2,
        .srcSubresource = layers(0, 1),
        .dstSubresource = layers(0, 1),
        .extent = { W, H, 1 },
    };
    VkCopyImageToImageInfo iii = {
        .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_IMAGE_INFO,
        .srcImage = img[0],
        .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .dstImage = img[1],
        .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .regionCount = 1,
        .pRegions = &ic,
    };
    VK_CHECK(vkCopyImageToImage(dev, &iii));
    memset(got, 0, (size_t)W * H * 4);
    read_layer(dev, img[1], 0, got);
    check_layer("vkCopyImageToImage", got, 0);

    /* 6. the opaque memcpy form: A layer 0 out, into C, C read back */
    VkSubresourceHostMemcpySize msz = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_HOST_MEMCPY_SIZE };
    VkSubresourceLayout2 lay = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_LAYOUT_2, .pNext = &msz };
    VkImageSubresource2 sub = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_SUBRESOURCE_2,
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0 },
    };
    vkGetImageSubresourceLayout2(dev, img[0], &sub, &lay);
    if (!msz.size || msz.size > (64u << 20))
        pvt_die("memcpy size of a layer is %" PRIu64, (uint64_t)msz.size);
    void *blob = calloc(1, (size_t)msz.size);
    if (!blob)
        pvt_die("out of memory");
    VkImageToMemoryCopy down = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY,
        .pHostPointer = blob,
        .imageSubresource = layers(0, 1),
        .imageExtent = { W, H, 1 },
    };
    VkCopyImageToMemoryInfo downi = {
        .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO,
        .flags = VK_HOST_IMAGE_COPY_MEMCPY,
        .srcImage = img[0],
        .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .regionCount = 1,
        .pRegions = &down,
    };
    VK_CHECK(vkCopyImageToMemory(dev, &downi));
    VkMemoryToImageCopy back = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
        .pHostPointer = blob,
        .imageSubresource = layers(0, 1),
        .imageExtent = { W, H, 1 },
    };
    upi = (VkCopyMemoryToImageInfo){
        .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO,
        .flags = VK_HOST_IMAGE_COPY_MEMCPY,
        .dstImage = img[2],
        .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .regionCount = 1,
        .pRegions = &back,
    };
    VK_CHECK(vkCopyMemoryToImage(dev, &upi));
    memset(got, 0, (size_t)W * H * 4);
    read_layer(dev, img[2], 0, got);
    check_layer("VK_HOST_IMAGE_COPY_MEMCPY", got, 0);

    printf("hostcopy ok bytes=%u checksum=%016" PRIx64 "\n", W * H * 4 * LAYERS, sum);
    free(blob);
    free(p0);
    free(p1);
    free(p2);
    free(got);
    for (int i = 0; i < 3; i++) {
        vkDestroyImage(dev, img[i], NULL);
        vkFreeMemory(dev, mem[i], NULL);
    }
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    return 0;
}
