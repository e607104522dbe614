/*
 * pv-render-test: offscreen rendering with a graphics pipeline, read back to
 * a host-visible buffer.
 *
 * Uses only the Vulkan loader, so the same binary runs natively (lavapipe)
 * and through Venus (VN_DEBUG=vtest + the virtio ICD); tests/vtest/render.sh
 * compares the two outputs byte for byte (the same host driver renders both).
 *
 * One frame: a few overlapping triangles (indexed, per-vertex colors, depth
 * tested, one of them in front but drawn first) into a WxH RGBA8 image of
 * optimal tiling with a D16 depth buffer; the fragment shader mixes the vertex
 * color with a 64x64 texture that was uploaded through a staging buffer
 * (vkCmdCopyBufferToImage between layout transitions) and is sampled with
 * linear filtering. The image is then copied into a host-visible buffer
 * (vkCmdCopyImageToBuffer) and read after a fence wait. The frame is drawn by
 * two paths, each with its own pipeline and command buffer:
 *
 *   renderpass  VkRenderPass + VkFramebuffer
 *   dynamic     dynamic rendering (Vulkan 1.3 core, else VK_KHR_dynamic_rendering)
 *
 *   pv-render-test [--path renderpass|dynamic|all] [--size WxH] [--iterations N]
 *                  [--out FILE] [--min-colors N] [--skip-if-no-device]
 *
 * Output: "device: NAME", then one line per path:
 *   path=renderpass ok colors=5123 checksum=0123456789abcdef ms=1.234 min_ms=1.2 max_ms=1.3 iterations=5
 * checksum is FNV-1a 64 of the pixels; ms the median wall time of one submit
 * + fence wait of the frame (draw + copy). Checks in the program, so a blank
 * or wrong image cannot pass: at least --min-colors (default 256) distinct
 * colors, the corners have the clear color, the front triangle's center is
 * exactly its color (depth test), and both paths produced the same pixels.
 * --out writes the pixels as a PAM file (RGBA), the paths stacked vertically.
 * Exit: 0 all checks passed; 1 a check or a Vulkan call failed (named);
 * 2 usage; 77 no Vulkan device (or no dynamic rendering for --path dynamic)
 * and --skip-if-no-device was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "common.h"
#include "render_frag_spv.h"
#include "render_vert_spv.h"

#define FENCE_TIMEOUT_NS (120ull * 1000 * 1000 * 1000)
#define TEX_SIZE 64
#define COLOR_FORMAT VK_FORMAT_R8G8B8A8_UNORM
#define DEPTH_FORMAT VK_FORMAT_D16_UNORM /* always supported as a depth attachment */

enum path { PATH_RENDERPASS, PATH_DYNAMIC, N_PATHS };
static const char *const path_names[N_PATHS] = { "renderpass", "dynamic" };

/* The clear color; 0.2 * 255 = 51 exactly, so the corners are 0,0,51,255. */
static const uint8_t clear_rgba[4] = { 0, 0, 51, 255 };

struct vertex {
    float pos[3];
    float color[3];
    float uvw[3]; /* texture coordinates and the texture's weight */
};

/*
 * Triangle 0 is in front (z 0.2), solid red with texture weight 0, and is
 * drawn first: every later triangle overlapping it must lose the depth test.
 * Triangle 4's depth varies across it, so it cuts through triangle 1.
 */
static const struct vertex vertices[] = {
    { { -0.60f, -0.60f, 0.2f }, { 1, 0, 0 }, { 0.0f, 0.0f, 0.0f } },
    { { 0.20f, -0.60f, 0.2f }, { 1, 0, 0 }, { 1.0f, 0.0f, 0.0f } },
    { { -0.20f, 0.20f, 0.2f }, { 1, 0, 0 }, { 0.0f, 1.0f, 0.0f } },

    { { -0.90f, -0.90f, 0.5f }, { 1, 1, 0 }, { 0.0f, 0.0f, 0.7f } },
    { { 0.90f, -0.80f, 0.5f }, { 0, 1, 1 }, { 2.0f, 0.0f, 0.3f } },
    { { -0.80f, 0.90f, 0.5f }, { 1, 0, 1 }, { 0.0f, 2.0f, 1.0f } },

    { { 0.00f, 0.00f, 0.3f }, { 1, 0, 0 }, { 0.0f, 0.0f, 0.0f } },
    { { 0.95f, 0.10f, 0.3f }, { 0, 1, 0 }, { 1.0f, 0.0f, 0.0f } },
    { { 0.30f, 0.95f, 0.3f }, { 0, 0, 1 }, { 0.0f, 1.0f, 0.0f } },

    { { 0.20f, -0.95f, 0.8f }, { 0.5f, 0.5f, 0.5f }, { 0.0f, 0.0f, 0.5f } },
    { { 0.95f, -0.95f, 0.8f }, { 0.9f, 0.6f, 0.1f }, { 3.0f, 0.0f, 0.5f } },
    { { 0.95f, 0.50f, 0.8f }, { 0.1f, 0.3f, 0.9f }, { 3.0f, 3.0f, 0.5f } },

    { { -0.95f, 0.30f, 0.1f }, { 1, 1, 1 }, { 0.0f, 0.0f, 0.25f } },
    { { 0.50f, 0.95f, 0.9f }, { 0.2f, 0.8f, 0.4f }, { 1.5f, 1.5f, 0.25f } },
    { { -0.95f, 0.95f, 0.9f }, { 0.6f, 0.2f, 0.7f }, { 0.0f, 1.5f, 0.25f } },
};
static const uint16_t indices[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
/* Inside triangle 0 (NDC), away from its edges. */
static const float front_probe_ndc[2] = { -0.20f, -0.35f };

struct options {
    bool paths[N_PATHS];
    uint32_t width, height;
    unsigned iterations;
    unsigned min_colors;
    const char *out;
    bool skip_if_no_device;
};

struct image {
    VkImage image;
    VkDeviceMemory mem;
    VkImageView view;
};

struct ctx {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t queue_family;
    VkDevice device;
    VkQueue queue;
    bool have_dynamic;
    PFN_vkCmdBeginRendering begin_rendering;
    PFN_vkCmdEndRendering end_rendering;
    VkCommandPool cmd_pool;
    VkFence fence;
    struct image color, depth, tex;
    VkSampler sampler;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipeline_layout;
    VkDescriptorPool desc_pool;
    VkDescriptorSet set;
    VkShaderModule vert, frag;
    VkRenderPass render_pass;
    VkFramebuffer framebuffer;
    VkPipeline pipelines[N_PATHS];
    struct pvt_buffer vbuf, ibuf, readback[N_PATHS];
};

const struct pvt_prog pvt_prog = { .name = "pv-render-test" };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pv-render-test [--path renderpass|dynamic|all] [--size WxH] [--iterations N]\n"
            "                      [--out FILE] [--min-colors N] [--skip-if-no-device]\n");
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->paths[PATH_RENDERPASS] = o->paths[PATH_DYNAMIC] = true;
    o->width = o->height = 256;
    o->iterations = 1;
    o->min_colors = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long v;
        if (!strcmp(a, "--path")) {
            if (!val)
                goto bad;
            o->paths[PATH_RENDERPASS] = !strcmp(val, "renderpass") || !strcmp(val, "all");
            o->paths[PATH_DYNAMIC] = !strcmp(val, "dynamic") || !strcmp(val, "all");
            if (!o->paths[PATH_RENDERPASS] && !o->paths[PATH_DYNAMIC])
                goto bad;
            i++;
        } else if (!strcmp(a, "--size")) {
            unsigned w, h;
            char tail;
            if (!val || sscanf(val, "%ux%u%c", &w, &h, &tail) != 2 || w < 16 || h < 16 ||
                w > 4096 || h > 4096)
                goto bad;
            o->width = w;
            o->height = h;
            i++;
        } else if (!strcmp(a, "--iterations")) {
            if (!parse_uint(val, 1000000, &v))
                goto bad;
            o->iterations = (unsigned)v;
            i++;
        } else if (!strcmp(a, "--min-colors")) {
            if (!parse_uint(val, 1u << 24, &v))
                goto bad;
            o->min_colors = (unsigned)v;
            i++;
        } else if (!strcmp(a, "--out")) {
            if (!val)
                goto bad;
            o->out = val;
            i++;
        } else {
            int rc = pvt_common_arg(a, &o->skip_if_no_device, usage);
            if (rc)
                return rc;
        }
        continue;
bad:
        fprintf(stderr, "pv-render-test: bad %s '%s'\n", a, val ? val : "");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* Returns 0 with a device, else the exit code. */
static int init_device(struct ctx *c, const struct options *o)
{
    int rc = pvt_first_device(VK_API_VERSION_1_3, o->skip_if_no_device, true, &c->instance,
                              &c->phys, &c->props, &c->mem_props);
    if (rc)
        return rc;

    c->queue_family = pvt_queue_family(c->phys, VK_QUEUE_GRAPHICS_BIT, false, NULL);
    if (c->queue_family == UINT32_MAX)
        pvt_die("device has no graphics queue");

    /* Dynamic rendering: core in 1.3 (feature bit), else the KHR extension. */
    const bool core13 = VK_API_VERSION_MINOR(c->props.apiVersion) >= 3 ||
                        VK_API_VERSION_MAJOR(c->props.apiVersion) > 1;
    const bool khr = !core13 && pvt_has_device_extension(c->phys, VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME);
    VkPhysicalDeviceDynamicRenderingFeatures dr = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES,
    };
    if (core13 || khr) {
        VkPhysicalDeviceFeatures2 f2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
            .pNext = &dr,
        };
        vkGetPhysicalDeviceFeatures2(c->phys, &f2);
    }
    c->have_dynamic = dr.dynamicRendering == VK_TRUE;
    if (o->paths[PATH_DYNAMIC] && !c->have_dynamic && !o->paths[PATH_RENDERPASS])
        return pvt_skip_or_fail(o->skip_if_no_device, "device has no dynamic rendering (Vulkan "
                                                      "1.3 or VK_KHR_dynamic_rendering)");

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = c->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    const char *ext_names[] = { VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = c->have_dynamic ? &dr : NULL,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = khr && c->have_dynamic ? 1 : 0,
        .ppEnabledExtensionNames = ext_names,
    };
    dr.pNext = NULL;
    VK_CHECK(vkCreateDevice(c->phys, &dci, NULL, &c->device));
    vkGetDeviceQueue(c->device, c->queue_family, 0, &c->queue);
    if (c->have_dynamic) {
        c->begin_rendering = (PFN_vkCmdBeginRendering)vkGetDeviceProcAddr(
            c->device, khr ? "vkCmdBeginRenderingKHR" : "vkCmdBeginRendering");
        c->end_rendering = (PFN_vkCmdEndRendering)vkGetDeviceProcAddr(
            c->device, khr ? "vkCmdEndRenderingKHR" : "vkCmdEndRendering");
        if (!c->begin_rendering || !c->end_rendering)
            pvt_die("vkGetDeviceProcAddr found no vkCmdBeginRendering/vkCmdEndRendering");
    }

    VkCommandPoolCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = c->queue_family,
    };
    VK_CHECK(vkCreateCommandPool(c->device, &cpci, NULL, &c->cmd_pool));
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VK_CHECK(vkCreateFence(c->device, &fci, NULL, &c->fence));
    return 0;
}

static void image_create(struct ctx *c, VkFormat format, uint32_t w, uint32_t h,
                         VkImageUsageFlags usage, VkImageAspectFlags aspect, struct image *img)
{
    VkImageCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = { w, h, 1 },
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VK_CHECK(vkCreateImage(c->device, &ici, NULL, &img->image));
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(c->device, img->image, &req);
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = pvt_find_memory(&c->mem_props, req.memoryTypeBits,
                                           VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0),
    };
    VK_CHECK(vkAllocateMemory(c->device, &mai, NULL, &img->mem));
    VK_CHECK(vkBindImageMemory(c->device, img->image, img->mem, 0));
    VkImageViewCreateInfo vci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = img->image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format,
        .subresourceRange = { aspect, 0, 1, 0, 1 },
    };
    VK_CHECK(vkCreateImageView(c->device, &vci, NULL, &img->view));
}

static void image_destroy(struct ctx *c, struct image *img)
{
    if (!img->image)
        return;
    vkDestroyImageView(c->device, img->view, NULL);
    vkDestroyImage(c->device, img->image, NULL);
    vkFreeMemory(c->device, img->mem, NULL);
}

/* Submits cmd with the fence and waits; returns the wall time in ms. */
static double submit_wait(struct ctx *c, VkCommandBuffer cmd)
{
    double ms = pvt_submit_wait(c->device, c->queue, c->fence, cmd, FENCE_TIMEOUT_NS);
    if (ms < 0)
        pvt_die("vkWaitForFences timed out after 120 s");
    return ms;
}

static void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect,
                          VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage,
                          VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                          VkAccessFlags dst_access)
{
    VkImageMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
        .oldLayout = from,
        .newLayout = to,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .image = image,
        .subresourceRange = { aspect, 0, 1, 0, 1 },
    };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

/* The texture: a gradient with a checkerboard in blue, through a staging buffer. */
static void upload_texture(struct ctx *c)
{
    image_create(c, COLOR_FORMAT, TEX_SIZE, TEX_SIZE,
                 VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                 VK_IMAGE_ASPECT_COLOR_BIT, &c->tex);
    struct pvt_buffer staging = { 0 };
    pvt_buffer_create(c->device, &c->mem_props, TEX_SIZE * TEX_SIZE * 4,
                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging);
    uint8_t *p = staging.map;
    for (uint32_t y = 0; y < TEX_SIZE; y++) {
        for (uint32_t x = 0; x < TEX_SIZE; x++, p += 4) {
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 4);
            p[2] = ((x / 8 + y / 8) & 1) ? 255 : 32;
            p[3] = 255;
        }
    }
    VkCommandBuffer cmd = pvt_cmd_begin(c->device, c->cmd_pool);
    image_barrier(cmd, c->tex.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                  VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferImageCopy region = {
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
        .imageExtent = { TEX_SIZE, TEX_SIZE, 1 },
    };
    vkCmdCopyBufferToImage(cmd, staging.buf, c->tex.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                           1, &region);
    image_barrier(cmd, c->tex.image, VK_IMAGE_ASPECT_COLOR_BIT,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                  VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    VK_CHECK(vkEndCommandBuffer(cmd));
    submit_wait(c, cmd);
    vkFreeCommandBuffers(c->device, c->cmd_pool, 1, &cmd);
    pvt_buffer_destroy(c->device, &staging);
}

static void create_descriptors(struct ctx *c)
{
    VkSamplerCreateInfo sci = {
        .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
        .magFilter = VK_FILTER_LINEAR,
        .minFilter = VK_FILTER_LINEAR,
        .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
        .addressModeU = VK_SAMPLER_ADDRESS_MODE_REPEAT,
        .addressModeV = VK_SAMPLER_ADDRESS_MODE_MIRRORED_REPEAT,
        .addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT,
        .maxLod = 0.0f,
    };
    VK_CHECK(vkCreateSampler(c->device, &sci, NULL, &c->sampler));
    VkDescriptorSetLayoutBinding binding = {
        .binding = 0,
        .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT,
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = 1,
        .pBindings = &binding,
    };
    VK_CHECK(vkCreateDescriptorSetLayout(c->device, &dslci, NULL, &c->set_layout));
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &c->set_layout,
    };
    VK_CHECK(vkCreatePipelineLayout(c->device, &plci, NULL, &c->pipeline_layout));
    VkDescriptorPoolSize ps = { VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1 };
    VkDescriptorPoolCreateInfo dpci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = 1,
        .poolSizeCount = 1,
        .pPoolSizes = &ps,
    };
    VK_CHECK(vkCreateDescriptorPool(c->device, &dpci, NULL, &c->desc_pool));
    VkDescriptorSetAllocateInfo dsai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = c->desc_pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &c->set_layout,
    };
    VK_CHECK(vkAllocateDescriptorSets(c->device, &dsai, &c->set));
    VkDescriptorImageInfo dii = {
        .sampler = c->sampler,
        .imageView = c->tex.view,
        .imageLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
    };
    VkWriteDescriptorSet w = {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = c->set,
        .dstBinding = 0,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        .pImageInfo = &dii,
    };
    vkUpdateDescriptorSets(c->device, 1, &w, 0, NULL);
}

static void create_render_pass(struct ctx *c, const struct options *o)
{
    VkAttachmentDescription att[2] = {
        {
            .format = COLOR_FORMAT,
            .samples = VK_SAMPLE_COUNT_1_BIT,
            .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
            .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
            .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
            .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
            .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
            .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
        },
        {
            .format = DEPTH_FORMAT,
            .samples = VK_SAMPLE_COUNT_1_BIT,
            .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
            .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
            .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
            .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
            .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
            .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
        },
    };
    VkAttachmentReference color_ref = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
    VkAttachmentReference depth_ref = { 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL };
    VkSubpassDescription sub = {
        .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
        .colorAttachmentCount = 1,
        .pColorAttachments = &color_ref,
        .pDepthStencilAttachment = &depth_ref,
    };
    /* In: the previous frame's copy read the color image and its depth tests
     * wrote the depth buffer. Out: the copy reads what the subpass wrote. */
    VkSubpassDependency deps[2] = {
        {
            .srcSubpass = VK_SUBPASS_EXTERNAL,
            .dstSubpass = 0,
            .srcStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT |
                            VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
            .dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                            VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT,
            .srcAccessMask = VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
                             VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT |
                             VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
        },
        {
            .srcSubpass = 0,
            .dstSubpass = VK_SUBPASS_EXTERNAL,
            .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
            .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
            .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
        },
    };
    VkRenderPassCreateInfo rpci = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
        .attachmentCount = 2,
        .pAttachments = att,
        .subpassCount = 1,
        .pSubpasses = &sub,
        .dependencyCount = 2,
        .pDependencies = deps,
    };
    VK_CHECK(vkCreateRenderPass(c->device, &rpci, NULL, &c->render_pass));
    VkImageView views[2] = { c->color.view, c->depth.view };
    VkFramebufferCreateInfo fbci = {
        .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
        .renderPass = c->render_pass,
        .attachmentCount = 2,
        .pAttachments = views,
        .width = o->width,
        .height = o->height,
        .layers = 1,
    };
    VK_CHECK(vkCreateFramebuffer(c->device, &fbci, NULL, &c->framebuffer));
}

static VkPipeline create_pipeline(struct ctx *c, enum path path)
{
    VkPipelineShaderStageCreateInfo stages[2] = {
        {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_VERTEX_BIT,
            .module = c->vert,
            .pName = "main",
        },
        {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
            .module = c->frag,
            .pName = "main",
        },
    };
    VkVertexInputBindingDescription vb = { 0, sizeof(struct vertex), VK_VERTEX_INPUT_RATE_VERTEX };
    VkVertexInputAttributeDescription va[3] = {
        { 0, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, pos) },
        { 1, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, color) },
        { 2, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, uvw) },
    };
    VkPipelineVertexInputStateCreateInfo vi = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
        .vertexBindingDescriptionCount = 1,
        .pVertexBindingDescriptions = &vb,
        .vertexAttributeDescriptionCount = 3,
        .pVertexAttributeDescriptions = va,
    };
    VkPipelineInputAssemblyStateCreateInfo ia = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
        .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
    };
    VkPipelineViewportStateCreateInfo vp = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
        .viewportCount = 1,
        .scissorCount = 1,
    };
    VkPipelineRasterizationStateCreateInfo rs = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
        .polygonMode = VK_POLYGON_MODE_FILL,
        .cullMode = VK_CULL_MODE_NONE,
        .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE,
        .lineWidth = 1.0f,
    };
    VkPipelineMultisampleStateCreateInfo ms = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
        .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
    };
    VkPipelineDepthStencilStateCreateInfo ds = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
        .depthTestEnable = VK_TRUE,
        .depthWriteEnable = VK_TRUE,
        .depthCompareOp = VK_COMPARE_OP_LESS,
    };
    VkPipelineColorBlendAttachmentState cba = {
        .colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                          VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT,
    };
    VkPipelineColorBlendStateCreateInfo cb = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
        .attachmentCount = 1,
        .pAttachments = &cba,
    };
    VkDynamicState dyn[2] = { VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR };
    VkPipelineDynamicStateCreateInfo dy = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
        .dynamicStateCount = 2,
        .pDynamicStates = dyn,
    };
    const VkFormat color_format = COLOR_FORMAT;
    VkPipelineRenderingCreateInfo prci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO,
        .colorAttachmentCount = 1,
        .pColorAttachmentFormats = &color_format,
        .depthAttachmentFormat = DEPTH_FORMAT,
    };
    VkGraphicsPipelineCreateInfo gpci = {
        .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
        .pNext = path == PATH_DYNAMIC ? &prci : NULL,
        .stageCount = 2,
        .pStages = stages,
        .pVertexInputState = &vi,
        .pInputAssemblyState = &ia,
        .pViewportState = &vp,
        .pRasterizationState = &rs,
        .pMultisampleState = &ms,
        .pDepthStencilState = &ds,
        .pColorBlendState = &cb,
        .pDynamicState = &dy,
        .layout = c->pipeline_layout,
        .renderPass = path == PATH_RENDERPASS ? c->render_pass : VK_NULL_HANDLE,
    };
    VkPipeline p;
    VK_CHECK(vkCreateGraphicsPipelines(c->device, VK_NULL_HANDLE, 1, &gpci, NULL, &p));
    return p;
}

static void init_scene(struct ctx *c, const struct options *o)
{
    image_create(c, COLOR_FORMAT, o->width, o->height,
                 VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                 VK_IMAGE_ASPECT_COLOR_BIT, &c->color);
    image_create(c, DEPTH_FORMAT, o->width, o->height,
                 VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, VK_IMAGE_ASPECT_DEPTH_BIT,
                 &c->depth);
    upload_texture(c);
    create_descriptors(c);

    pvt_buffer_create(c->device, &c->mem_props, sizeof(vertices),
                      VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, &c->vbuf);
    memcpy(c->vbuf.map, vertices, sizeof(vertices));
    pvt_buffer_create(c->device, &c->mem_props, sizeof(indices), VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
                      &c->ibuf);
    memcpy(c->ibuf.map, indices, sizeof(indices));

    VkShaderModuleCreateInfo smci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = sizeof(pv_render_vert_spv),
        .pCode = pv_render_vert_spv,
    };
    VK_CHECK(vkCreateShaderModule(c->device, &smci, NULL, &c->vert));
    smci.codeSize = sizeof(pv_render_frag_spv);
    smci.pCode = pv_render_frag_spv;
    VK_CHECK(vkCreateShaderModule(c->device, &smci, NULL, &c->frag));

    if (o->paths[PATH_RENDERPASS]) {
        create_render_pass(c, o);
        c->pipelines[PATH_RENDERPASS] = create_pipeline(c, PATH_RENDERPASS);
    }
    if (o->paths[PATH_DYNAMIC] && c->have_dynamic)
        c->pipelines[PATH_DYNAMIC] = create_pipeline(c, PATH_DYNAMIC);
}

static void draw(struct ctx *c, const struct options *o, VkCommandBuffer cmd, enum path path)
{
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, c->pipelines[path]);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, c->pipeline_layout, 0, 1,
                            &c->set, 0, NULL);
    VkViewport viewport = { 0, 0, (float)o->width, (float)o->height, 0.0f, 1.0f };
    VkRect2D scissor = { { 0, 0 }, { o->width, o->height } };
    vkCmdSetViewport(cmd, 0, 1, &viewport);
    vkCmdSetScissor(cmd, 0, 1, &scissor);
    VkDeviceSize offset = 0;
    vkCmdBindVertexBuffers(cmd, 0, 1, &c->vbuf.buf, &offset);
    vkCmdBindIndexBuffer(cmd, c->ibuf.buf, 0, VK_INDEX_TYPE_UINT16);
    vkCmdDrawIndexed(cmd, (uint32_t)(sizeof(indices) / sizeof(indices[0])), 1, 0, 0, 0);
}

static VkCommandBuffer record_frame(struct ctx *c, const struct options *o, enum path path)
{
    VkCommandBuffer cmd = pvt_cmd_begin(c->device, c->cmd_pool);
    VkClearValue clears[2] = {
        { .color = { .float32 = { 0.0f, 0.0f, 0.2f, 1.0f } } },
        { .depthStencil = { 1.0f, 0 } },
    };
    VkRect2D area = { { 0, 0 }, { o->width, o->height } };
    if (path == PATH_RENDERPASS) {
        VkRenderPassBeginInfo rpbi = {
            .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
            .renderPass = c->render_pass,
            .framebuffer = c->framebuffer,
            .renderArea = area,
            .clearValueCount = 2,
            .pClearValues = clears,
        };
        vkCmdBeginRenderPass(cmd, &rpbi, VK_SUBPASS_CONTENTS_INLINE);
        draw(c, o, cmd, path);
        vkCmdEndRenderPass(cmd); /* leaves the color image in TRANSFER_SRC_OPTIMAL */
    } else {
        image_barrier(cmd, c->color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                      VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                      VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
        image_barrier(cmd, c->depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                      VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
                      VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
                      VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                      VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                          VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
                      VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT);
        VkRenderingAttachmentInfo color_att = {
            .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
            .imageView = c->color.view,
            .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
            .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
            .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
            .clearValue = clears[0],
        };
        VkRenderingAttachmentInfo depth_att = {
            .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
            .imageView = c->depth.view,
            .imageLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
            .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
            .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
            .clearValue = clears[1],
        };
        VkRenderingInfo ri = {
            .sType = VK_STRUCTURE_TYPE_RENDERING_INFO,
            .renderArea = area,
            .layerCount = 1,
            .colorAttachmentCount = 1,
            .pColorAttachments = &color_att,
            .pDepthAttachment = &depth_att,
        };
        c->begin_rendering(cmd, &ri);
        draw(c, o, cmd, path);
        c->end_rendering(cmd);
        image_barrier(cmd, c->color.image, VK_IMAGE_ASPECT_COLOR_BIT,
                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                      VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                      VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_READ_BIT);
    }
    VkBufferImageCopy region = {
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
        .imageExtent = { o->width, o->height, 1 },
    };
    vkCmdCopyImageToBuffer(cmd, c->color.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           c->readback[path].buf, 1, &region);
    VkBufferMemoryBarrier bmb = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .buffer = c->readback[path].buf,
        .size = VK_WHOLE_SIZE,
    };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0,
                         NULL, 1, &bmb, 0, NULL);
    VK_CHECK(vkEndCommandBuffer(cmd));
    return cmd;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static unsigned distinct_colors(const uint8_t *px, uint32_t n)
{
    uint32_t *v = malloc((size_t)n * sizeof(*v));
    if (!v)
        pvt_die("out of memory");
    memcpy(v, px, (size_t)n * 4);
    qsort(v, n, sizeof(*v), cmp_u32);
    unsigned distinct = n ? 1 : 0;
    for (uint32_t i = 1; i < n; i++)
        distinct += v[i] != v[i - 1];
    free(v);
    return distinct;
}

/* Checks one path's pixels; prints what is wrong. Returns true if all good. */
static bool check_pixels(const struct options *o, enum path path, const uint8_t *px,
                         unsigned *colors)
{
    bool ok = true;
    const uint32_t w = o->width, h = o->height;
    *colors = distinct_colors(px, w * h);
    if (*colors < o->min_colors) {
        fprintf(stderr, "pv-render-test: %s: only %u distinct colors (want >= %u)\n",
                path_names[path], *colors, o->min_colors);
        ok = false;
    }
    const uint32_t corners[4][2] = { { 0, 0 }, { w - 1, 0 }, { 0, h - 1 }, { w - 1, h - 1 } };
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = px + ((size_t)corners[i][1] * w + corners[i][0]) * 4;
        if (memcmp(p, clear_rgba, 4)) {
            fprintf(stderr, "pv-render-test: %s: pixel (%u,%u) is %u,%u,%u,%u, expected the "
                            "clear color %u,%u,%u,%u\n", path_names[path], corners[i][0],
                    corners[i][1], p[0], p[1], p[2], p[3], clear_rgba[0], clear_rgba[1],
                    clear_rgba[2], clear_rgba[3]);
            ok = false;
        }
    }
    const uint32_t fx = (uint32_t)((front_probe_ndc[0] + 1.0f) / 2.0f * (float)w);
    const uint32_t fy = (uint32_t)((front_probe_ndc[1] + 1.0f) / 2.0f * (float)h);
    const uint8_t *p = px + ((size_t)fy * w + fx) * 4;
    if (p[0] != 255 || p[1] != 0 || p[2] != 0 || p[3] != 255) {
        fprintf(stderr, "pv-render-test: %s: pixel (%u,%u) inside the front triangle is "
                        "%u,%u,%u,%u, expected 255,0,0,255 (depth test)\n", path_names[path], fx,
                fy, p[0], p[1], p[2], p[3]);
        ok = false;
    }
    return ok;
}

static bool write_pam(const char *path, const struct options *o, uint8_t *const images[N_PATHS],
                      unsigned n_images)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "pv-render-test: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n",
            o->width, o->height * n_images);
    const size_t bytes = (size_t)o->width * o->height * 4;
    bool ok = true;
    for (unsigned i = 0; i < N_PATHS; i++) {
        if (images[i] && fwrite(images[i], 1, bytes, f) != bytes)
            ok = false;
    }
    if (fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "pv-render-test: writing %s failed\n", path);
    return ok;
}

static void fini(struct ctx *c)
{
    if (c->device) {
        VK_CHECK(vkDeviceWaitIdle(c->device));
        for (int i = 0; i < N_PATHS; i++) {
            if (c->pipelines[i])
                vkDestroyPipeline(c->device, c->pipelines[i], NULL);
            pvt_buffer_destroy(c->device, &c->readback[i]);
        }
        if (c->framebuffer)
            vkDestroyFramebuffer(c->device, c->framebuffer, NULL);
        if (c->render_pass)
            vkDestroyRenderPass(c->device, c->render_pass, NULL);
        vkDestroyShaderModule(c->device, c->vert, NULL);
        vkDestroyShaderModule(c->device, c->frag, NULL);
        pvt_buffer_destroy(c->device, &c->vbuf);
        pvt_buffer_destroy(c->device, &c->ibuf);
        vkDestroyDescriptorPool(c->device, c->desc_pool, NULL);
        vkDestroyPipelineLayout(c->device, c->pipeline_layout, NULL);
        vkDestroyDescriptorSetLayout(c->device, c->set_layout, NULL);
        vkDestroySampler(c->device, c->sampler, NULL);
        image_destroy(c, &c->tex);
        image_destroy(c, &c->depth);
        image_destroy(c, &c->color);
        vkDestroyFence(c->device, c->fence, NULL);
        vkDestroyCommandPool(c->device, c->cmd_pool, NULL);
        vkDestroyDevice(c->device, NULL);
    }
    if (c->instance)
        vkDestroyInstance(c->instance, NULL);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    struct ctx c = { 0 };
    rc = init_device(&c, &o);
    if (rc) {
        fini(&c);
        return rc;
    }
    if (o.paths[PATH_DYNAMIC] && !c.have_dynamic) {
        /* Both paths were asked for (the default): a missing path fails. */
        fprintf(stderr, "pv-render-test: device has no dynamic rendering (Vulkan 1.3 or "
                        "VK_KHR_dynamic_rendering)\n");
        printf("path=dynamic FAIL unsupported\n");
        fini(&c);
        return 1;
    }
    init_scene(&c, &o);

    const size_t bytes = (size_t)o.width * o.height * 4;
    uint8_t *images[N_PATHS] = { NULL };
    unsigned n_images = 0;
    bool failed = false;
    double *times = calloc(o.iterations, sizeof(*times));
    if (!times)
        pvt_die("out of memory");
    for (int path = 0; path < N_PATHS; path++) {
        if (!o.paths[path])
            continue;
        pvt_buffer_create(c.device, &c.mem_props, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                          &c.readback[path]);
        /* A pattern the frame must overwrite everywhere. */
        memset(c.readback[path].map, 0xcd, bytes);
        VkCommandBuffer cmd = record_frame(&c, &o, (enum path)path);
        for (unsigned it = 0; it < o.iterations; it++)
            times[it] = submit_wait(&c, cmd);
        vkFreeCommandBuffers(c.device, c.cmd_pool, 1, &cmd);

        images[path] = malloc(bytes);
        if (!images[path])
            pvt_die("out of memory");
        memcpy(images[path], c.readback[path].map, bytes);
        n_images++;
        unsigned colors;
        bool ok = check_pixels(&o, (enum path)path, images[path], &colors);
        double med = pvt_sort_median(times, o.iterations);
        printf("path=%s %s colors=%u checksum=%016" PRIx64 " ms=%.4f min_ms=%.4f max_ms=%.4f "
               "iterations=%u\n", path_names[path], ok ? "ok" : "FAIL", colors,
               fnv1a64(images[path], bytes), med, times[0], times[o.iterations - 1],
               o.iterations);
        fflush(stdout);
        failed |= !ok;
    }
    free(times);
    if (images[PATH_RENDERPASS] && images[PATH_DYNAMIC] &&
        memcmp(images[PATH_RENDERPASS], images[PATH_DYNAMIC], bytes)) {
        size_t first = 0;
        while (images[PATH_RENDERPASS][first] == images[PATH_DYNAMIC][first])
            first++;
        fprintf(stderr, "pv-render-test: the renderpass and dynamic paths differ, first at pixel "
                        "(%zu,%zu)\n", first / 4 % o.width, first / 4 / o.width);
        failed = true;
    }
    if (o.out && !write_pam(o.out, &o, images, n_images))
        failed = true;
    for (int i = 0; i < N_PATHS; i++)
        free(images[i]);
    fini(&c);
    return failed ? 1 : 0;
}
