/* gpu/venus/renderer: the renderer object and the Venus capset. See renderer.h. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "log.h"

/* Protocol versions we speak (docs/venus-protocol.md §2): the wire format, the
 * registry version and the VK_MESA_venus_protocol spec version come with the
 * generated codecs (codegen/venus_protocol.xml). */
#define PV_COMMAND_SERIALIZATION_SPEC_VERSION 1u

struct venus_capset {
    uint32_t wire_format_version;
    uint32_t vk_xml_version;
    uint32_t vk_ext_command_serialization_spec_version;
    uint32_t vk_mesa_venus_protocol_spec_version;
    uint32_t supports_blob_id_0;
    uint32_t vk_extension_mask1[32];
    uint32_t allow_vk_wait_syncs;
    uint32_t supports_multiple_timelines;
    uint32_t use_guest_vram;
};
_Static_assert(sizeof(struct venus_capset) == PV_VENUS_CAPSET_SIZE, "capset layout");

static int
pin_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name && info->dlpi_name[0]) {
        void *h = dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        if (h)
            dlclose(h); /* drops our reference; NODELETE keeps the object mapped */
    }
    return 0;
}

/* Process-wide, because the loader's lists are (see context.h). */
static pthread_mutex_t loader_lock_singleton = PTHREAD_MUTEX_INITIALIZER;

void
pv_loader_lock(void)
{
    pthread_mutex_lock(&loader_lock_singleton);
}

void
pv_loader_unlock(void)
{
    pthread_mutex_unlock(&loader_lock_singleton);
}

/*
 * Loads the host's Vulkan drivers once and keeps them loaded. Every client
 * context creates its own VkInstance; without this the loader would load and
 * unload the driver (and its compiler) for each one. It also keeps the
 * drivers' one-time allocations reachable, so leak checkers see our leaks,
 * not theirs.
 */
static void
pin_host_drivers(struct pv_renderer *r)
{
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)r->gipa(VK_NULL_HANDLE, "vkCreateInstance");
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pApplicationInfo = &app};
    VkInstance inst;
    if (!create)
        return;
    pv_loader_lock();
    if (create(&ci, NULL, &inst) != VK_SUCCESS) {
        pv_loader_unlock();
        return;
    }
    PFN_vkEnumeratePhysicalDevices enumerate =
        (PFN_vkEnumeratePhysicalDevices)r->gipa(inst, "vkEnumeratePhysicalDevices");
    uint32_t n = 0;
    if (enumerate)
        enumerate(inst, &n, NULL);
    dl_iterate_phdr(pin_object, NULL);
    PFN_vkDestroyInstance destroy = (PFN_vkDestroyInstance)r->gipa(inst, "vkDestroyInstance");
    destroy(inst, NULL);
    pv_loader_unlock();
}

/* The host side: the loader's version, the drivers pinned, stream capture. */
static int
load_host(struct pv_renderer *r)
{
    r->gipa = vkGetInstanceProcAddr;
    PFN_vkEnumerateInstanceVersion ver =
        (PFN_vkEnumerateInstanceVersion)r->gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
    r->instance_version = VK_API_VERSION_1_0;
    if (ver)
        ver(&r->instance_version);
    if (r->instance_version < VK_API_VERSION_1_1) {
        pv_err("venus", "the host Vulkan loader offers only Vulkan %u.%u; Venus needs 1.1",
               VK_API_VERSION_MAJOR(r->instance_version),
               VK_API_VERSION_MINOR(r->instance_version));
        return -ENODEV;
    }
    pin_host_drivers(r);
    r->trace_fd = pv_trace_open();
    const char *cap = getenv("PEARVISOR_CAPTURE_DIR");
    if (cap && *cap) {
        r->capture_dir = strdup(cap);
        pv_warn("venus", "capturing client command streams (PEARVISOR_CAPTURE_DIR is set)");
    }
    return 0;
}

int
pv_renderer_create(const struct pv_renderer_opts *opts, struct pv_renderer **out)
{
    struct pv_renderer *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->stats.listen_fd = r->stats.stop_fd = -1;
    r->trace_fd = -1;
    atomic_init(&r->ctx_count, 0);
    /* Statistics only: no loader call at all, so this process holds no Vulkan state. */
    r->stats_only = opts && (opts->flags & PV_RENDERER_STATS_ONLY);
    if (!r->stats_only) {
        int err = load_host(r);
        if (err) {
            free(r);
            return err;
        }
    }
    pthread_mutex_init(&r->import_lock, NULL);
    pthread_mutex_init(&r->door_trace_lock, NULL);
    r->door_trace = pv_trace_buf_new(r->trace_fd, 0, "d");
    /* Statistics-only renderers too: they serve the render processes' command times. */
    const char *prof = getenv("PEARVISOR_PROFILE_COMMANDS");
    r->profile_commands = prof && !strcmp(prof, "1");
    const char *stats = opts && opts->stats_socket ? opts->stats_socket
                                                   : getenv("PEARVISOR_STATS_SOCKET");
    if (stats && *stats) {
        int err = pv_stats_server_start(r, stats);
        if (err)
            pv_warn("stats", "cannot serve statistics on %s: %s", stats, strerror(-err));
    }
    *out = r;
    return 0;
}

void
pv_renderer_destroy(struct pv_renderer *r)
{
    if (!r)
        return;
    pv_stats_server_stop(r);
    pthread_mutex_destroy(&r->import_lock);
    pv_trace_buf_free(r->door_trace);
    pthread_mutex_destroy(&r->door_trace_lock);
    if (r->trace_fd >= 0)
        close(r->trace_fd);
    free(r->capture_dir);
    free(r);
}

bool
pv_renderer_tracing(const struct pv_renderer *r)
{
    return r->door_trace != NULL;
}

void
pv_renderer_trace_span(struct pv_renderer *r, uint32_t ctx_id, const char *what, uint64_t t0_ns,
                       uint64_t t1_ns, uint64_t arg)
{
    if (!r->door_trace)
        return;
    pthread_mutex_lock(&r->door_trace_lock);
    pv_trace_span_ctx(r->door_trace, ctx_id, t0_ns, t1_ns, what, arg);
    pthread_mutex_unlock(&r->door_trace_lock);
}

size_t
pv_renderer_get_capset(struct pv_renderer *r, uint32_t id, uint32_t version, void *buf,
                       size_t size)
{
    (void)r;
    if (id != PV_CAPSET_VENUS || version != 0)
        return 0;
    struct venus_capset c = {
        .wire_format_version = PVG_WIRE_FORMAT_VERSION,
        .vk_xml_version = PVG_VK_XML_VERSION,
        .vk_ext_command_serialization_spec_version = PV_COMMAND_SERIALIZATION_SPEC_VERSION,
        .vk_mesa_venus_protocol_spec_version = PVG_VENUS_PROTOCOL_SPEC_VERSION,
        .supports_blob_id_0 = 1,
        .allow_vk_wait_syncs = 1,
        .supports_multiple_timelines = 1,
    };
    /* Bit 0 says the mask is valid; then one bit per extension number we decode. */
    c.vk_extension_mask1[0] = 1;
    for (uint32_t i = 0; i < PVG_EXTENSION_COUNT; i++) {
        uint32_t n = pvg_extensions[i].number;
        if (n < 32 * 32)
            c.vk_extension_mask1[n / 32] |= 1u << (n % 32);
    }
    if (buf)
        memcpy(buf, &c, size < sizeof(c) ? size : sizeof(c));
    return sizeof(c);
}
