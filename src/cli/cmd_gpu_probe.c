/*
 * cli/cmd_gpu_probe: `pearvisor gpu probe`: can this host's Vulkan run the
 * renderer? Makes what the renderer makes first (a Vulkan 1.1+ instance
 * through the host's loader, a physical device, a logical device with one
 * queue) and exits 0 with the device's name, or 1 with one line saying why.
 * `pearvisor start` runs it before giving a VM --gpu venus, and falls back
 * to 2D when it fails. The loader is opened at run time, as libpvgpu does,
 * so a host without libvulkan gets a reason rather than a failed exec.
 */
#include "cli.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

static const char probe_usage[] =
    "Usage: pearvisor gpu probe\n"
    "\n"
    "Checks that the host's Vulkan can run PearVisor's renderer: creates a\n"
    "Vulkan instance and a device through the host's loader (honouring\n"
    "VK_DRIVER_FILES, VK_ICD_FILENAMES, ...). Prints the device and exits 0,\n"
    "or prints why not and exits 1.\n";

static int
probe_fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "pearvisor gpu probe: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return PV_EXIT_FAIL;
}

static const char *
vk_result_str(VkResult r)
{
    switch (r) {
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no usable Vulkan driver/ICD)";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    default: return "a Vulkan error";
    }
}

int
pv_cli_gpu_probe(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(probe_usage, stdout);
        return PV_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "pearvisor gpu probe: unexpected argument '%s'\n"
                        "Try 'pearvisor gpu probe --help'.\n", argv[1]);
        return PV_EXIT_USAGE;
    }
    void *lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return probe_fail("cannot load the Vulkan loader libvulkan.so.1 (package libvulkan1): %s",
                          dlerror());
    PFN_vkGetInstanceProcAddr gipa =
        (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
    if (!gipa)
        return probe_fail("%s has no vkGetInstanceProcAddr", "libvulkan.so.1");
#define GI(inst, name) PFN_##name name = (PFN_##name)gipa(inst, #name)
    GI(VK_NULL_HANDLE, vkEnumerateInstanceVersion);
    GI(VK_NULL_HANDLE, vkCreateInstance);
    uint32_t ver = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion)
        vkEnumerateInstanceVersion(&ver);
    if (ver < VK_API_VERSION_1_1) {
        char v[32];
        snprintf(v, sizeof(v), "%u.%u", VK_API_VERSION_MAJOR(ver), VK_API_VERSION_MINOR(ver));
        return probe_fail("the host's Vulkan loader offers only Vulkan %s; Venus needs 1.1", v);
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "pearvisor gpu probe",
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
    VkInstance inst;
    VkResult r = vkCreateInstance(&ici, NULL, &inst);
    if (r != VK_SUCCESS)
        return probe_fail("vkCreateInstance failed: %s", vk_result_str(r));
    GI(inst, vkDestroyInstance);
    GI(inst, vkEnumeratePhysicalDevices);
    GI(inst, vkGetPhysicalDeviceProperties);
    GI(inst, vkGetPhysicalDeviceQueueFamilyProperties);
    GI(inst, vkCreateDevice);
    GI(inst, vkDestroyDevice);
    uint32_t n = 0;
    VkPhysicalDevice pds[16];
    r = vkEnumeratePhysicalDevices(inst, &n, NULL);
    if (n > 16)
        n = 16;
    if (r >= 0 && n)
        r = vkEnumeratePhysicalDevices(inst, &n, pds);
    if (r < 0 || !n) {
        vkDestroyInstance(inst, NULL);
        return probe_fail("%s", r < 0 ? vk_result_str(r)
                                      : "no Vulkan device on this host (no ICD found: check "
                                        "mesa-vulkan-drivers or VK_DRIVER_FILES)");
    }
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pds[0], &props);
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pds[0], &nq, NULL);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = 0, .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    VkDevice dev;
    r = nq ? vkCreateDevice(pds[0], &dci, NULL, &dev) : VK_ERROR_INITIALIZATION_FAILED;
    if (r != VK_SUCCESS) {
        vkDestroyInstance(inst, NULL);
        return probe_fail("vkCreateDevice failed: %s", vk_result_str(r));
    }
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
    printf("ok: %s (Vulkan %u.%u)\n", props.deviceName, VK_API_VERSION_MAJOR(props.apiVersion),
           VK_API_VERSION_MINOR(props.apiVersion));
    return PV_EXIT_OK;
#undef GI
}
