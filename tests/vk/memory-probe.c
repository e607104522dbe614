/*
 * tests/vk/memory-probe: what a host driver allows the renderer's memory
 * model (src/gpu/venus/memory.c), printed for a decision and for docs:
 * each memory type and heap; which types a host pointer (a memfd page,
 * as the renderer uses) can be imported into; and, for typical buffers
 * and images, the memoryTypeBits with and without the HOST_ALLOCATION
 * external handle type in their create info (the renderer adds it so that
 * host-visible memory it imports may be bound to them).
 *
 *   pv-memory-probe [--skip-if-no-device]
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

const struct pvt_prog pvt_prog = {.name = "pv-memory-probe"};

static void
usage(FILE *f)
{
    fprintf(f, "usage: pv-memory-probe [--skip-if-no-device]\n");
}

static void
flags_str(VkMemoryPropertyFlags f, char *out)
{
    out[0] = '\0';
    if (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) strcat(out, "DEVICE_LOCAL ");
    if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) strcat(out, "HOST_VISIBLE ");
    if (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) strcat(out, "HOST_COHERENT ");
    if (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) strcat(out, "HOST_CACHED ");
    if (f & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT) strcat(out, "LAZY ");
    if (!out[0]) strcat(out, "-");
}

static uint32_t
buffer_bits(VkDevice dev, VkBufferUsageFlags usage, bool ext)
{
    VkExternalMemoryBufferCreateInfo e = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
        .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT};
    VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .pNext = ext ? &e : NULL, .size = 1 << 20, .usage = usage};
    VkBuffer b;
    VK_CHECK(vkCreateBuffer(dev, &ci, NULL, &b));
    VkMemoryRequirements r;
    vkGetBufferMemoryRequirements(dev, b, &r);
    vkDestroyBuffer(dev, b, NULL);
    return r.memoryTypeBits;
}

static uint32_t
image_bits(VkDevice dev, VkImageTiling tiling, bool ext)
{
    VkExternalMemoryImageCreateInfo e = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
        .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT};
    VkImageCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                            .pNext = ext ? &e : NULL, .imageType = VK_IMAGE_TYPE_2D,
                            .format = VK_FORMAT_R8G8B8A8_UNORM, .extent = {256, 256, 1},
                            .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT,
                            .tiling = tiling,
                            .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT |
                                     VK_IMAGE_USAGE_TRANSFER_SRC_BIT};
    VkImage img;
    if (vkCreateImage(dev, &ci, NULL, &img) != VK_SUCCESS)
        return 0;
    VkMemoryRequirements r;
    vkGetImageMemoryRequirements(dev, img, &r);
    vkDestroyImage(dev, img, NULL);
    return r.memoryTypeBits;
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
    int rc = pvt_first_device(VK_API_VERSION_1_1, skip, true, &inst, &phys, &props, &mp);
    if (rc)
        return rc;
    char f[128];
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        printf("heap %u: %llu MiB%s\n", i, (unsigned long long)(mp.memoryHeaps[i].size >> 20),
               (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) ? " DEVICE_LOCAL" : "");
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        flags_str(mp.memoryTypes[i].propertyFlags, f);
        printf("type %u: heap %u %s\n", i, mp.memoryTypes[i].heapIndex, f);
    }
    float prio = 1.0f;
    VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = 0, .queueCount = 1,
                                 .pQueuePriorities = &prio};
    const char *exts[] = {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &q,
                              .enabledExtensionCount = 1, .ppEnabledExtensionNames = exts};
    VkDevice dev;
    VkResult r = vkCreateDevice(phys, &dci, NULL, &dev);
    if (r != VK_SUCCESS) {
        printf("no VK_EXT_external_memory_host (%s)\n", pvt_result_name(r));
        vkDestroyInstance(inst, NULL);
        return 0;
    }
    PFN_vkGetMemoryHostPointerPropertiesEXT hpp =
        (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
            dev, "vkGetMemoryHostPointerPropertiesEXT");
    size_t len = 1 << 20;
    int fd = memfd_create("pv-memory-probe", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)len))
        pvt_die("memfd");
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        pvt_die("mmap");
    VkMemoryHostPointerPropertiesEXT hp = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
    r = hpp(dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, p, &hp);
    printf("host pointer (memfd) importable types: 0x%x (%s)\n", hp.memoryTypeBits,
           pvt_result_name(r));
    static const struct { const char *name; VkBufferUsageFlags usage; } bufs[] = {
        {"storage", VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                        VK_BUFFER_USAGE_TRANSFER_DST_BIT},
        {"uniform", VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT},
        {"vertex+index", VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT},
        {"staging", VK_BUFFER_USAGE_TRANSFER_SRC_BIT},
    };
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        printf("buffer %-12s memoryTypeBits 0x%x, with HOST_ALLOCATION 0x%x\n", bufs[i].name,
               buffer_bits(dev, bufs[i].usage, false), buffer_bits(dev, bufs[i].usage, true));
    printf("image optimal memoryTypeBits 0x%x, with HOST_ALLOCATION 0x%x\n",
           image_bits(dev, VK_IMAGE_TILING_OPTIMAL, false),
           image_bits(dev, VK_IMAGE_TILING_OPTIMAL, true));
    printf("image linear  memoryTypeBits 0x%x, with HOST_ALLOCATION 0x%x\n",
           image_bits(dev, VK_IMAGE_TILING_LINEAR, false),
           image_bits(dev, VK_IMAGE_TILING_LINEAR, true));
    munmap(p, len);
    close(fd);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
    return 0;
}
