/*
 * gpu/venus/context: what one Venus context owns (resources, rings, the
 * object table, Vulkan instance and devices, fences) and the internal
 * interfaces between the renderer's files.
 *
 * Trust:   everything a client names (resource ids, offsets, sizes, object
 *          ids, ring layouts) is checked here before use. A violation calls
 *          pv_ctx_fatal(): one log line naming the context and the reason,
 *          a counter per reason (stats.h), sticky flag, FATAL in every ring.
 * Threads: the front door's thread calls the renderer.h entry points; one
 *          thread per ring decodes and dispatches ring commands; one fence
 *          thread per context retires timelines; one monitor thread sets the
 *          rings' ALIVE bits. ctx->lock guards resources, rings, timelines
 *          and ctx->instance; the object table has its own lock. Devices and
 *          instances live as long as a command, a device or a fence holds
 *          their pv_life (objects.h); every host wait is made in slices
 *          and ends when pv_channel_alive() says so (docs/ARCHITECTURE.md).
 */
#ifndef PV_VENUS_CONTEXT_H
#define PV_VENUS_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "cs.h"
#include "objects.h"
#include "renderer.h"
#include "pvg.gen.h"
#include "stats.h"
#include "trace.h"

struct pv_ring;
struct pv_channel;

/*
 * The Vulkan loader (1.4.309) is not safe for what a renderer does: many
 * instances and devices made and destroyed on many threads. Its device
 * lookup (loader_get_icd_and_device, reached from vkGetDeviceProcAddr for
 * names outside its table and from vkDestroyDevice) walks every instance's
 * driver and device lists holding one lock, while
 *   - vkCreateDevice and vkDestroyDevice link and unlink devices without it
 *     (and vkDestroyDevice frees the driver's device before unlinking), and
 *   - the first vkEnumeratePhysicalDevices with an array unloads the
 *     instance's drivers that expose no device, freeing their list entries
 *     under a different lock.
 * With several ICDs installed, one context's enumeration freed what another
 * context's vkGetDeviceProcAddr was walking: the intermittent crash the
 * vtest soak found (seen only with MALLOC_PERTURB_, which meson test sets).
 * So every loader call that creates, enumerates, looks up through
 * vkGetDeviceProcAddr or destroys a host VkInstance, VkPhysicalDevice or
 * VkDevice runs under this process-wide lock. Those calls are rare; nothing
 * on the command path takes it.
 */
void pv_loader_lock(void);
void pv_loader_unlock(void);

struct pv_renderer {
    PFN_vkGetInstanceProcAddr gipa;
    uint32_t instance_version;       /* host loader's version */
    atomic_uint ctx_count;
    bool stats_only;                 /* PV_RENDERER_STATS_ONLY: no host Vulkan, no contexts */
    char *capture_dir;               /* PEARVISOR_CAPTURE_DIR: record streams for fuzz seeds */
    bool profile_commands;           /* PEARVISOR_PROFILE_COMMANDS=1: time every command */
    int trace_fd;                    /* PEARVISOR_TRACE: the timeline file (trace.h); -1 off */
    pthread_mutex_t door_trace_lock; /* guards door_trace: any front-door thread writes it */
    struct pv_trace_buf *door_trace; /* pv_renderer_trace_span's spans; NULL when off */
    struct pv_stats stats;
    /* Which host memory types a host pointer can be imported into, per
     * device model (device.c, pv_device_host_import_types): probed once. */
    pthread_mutex_t import_lock;
    struct pv_import_types {
        uint32_t vendor, device, driver;
        uint8_t cache_uuid[VK_UUID_SIZE];
        uint32_t bits;
    } import_types[8];
    uint32_t import_types_count;
};

enum pv_resource_kind {
    PV_RESOURCE_SHM,       /* memfd we created (blob_id 0) */
    PV_RESOURCE_MEMORY,    /* export of a VkDeviceMemory */
    PV_RESOURCE_IMPORTED,  /* caller-owned memory (virtio-gpu) */
};

struct pv_resource {
    uint32_t id;
    enum pv_resource_kind kind;
    void *base;            /* host mapping (SHM, IMPORTED); NULL otherwise */
    uint64_t size;
    int fd;                /* SHM: the memfd; else -1 */
    atomic_uint refs;      /* the context's reference + users (rings, streams) */
    struct pv_resource *next;
};

/* A byte range inside a resource that the renderer writes replies to. */
struct pv_reply_stream {
    struct pv_resource *res;
    uint8_t *base;
    uint64_t size;
    uint64_t pos;
};

/* References one command may hold at once (its owner, a device, a queue's device). */
#define PV_CHANNEL_PINS 8

/* Where a command came from: a ring, or the context channel (ring == NULL). */
struct pv_channel {
    struct pv_ctx *ctx;
    struct pv_ring *ring;
    struct pv_reply_stream reply;
    struct pv_arena arena;
    bool in_execute;       /* decoding an ExecuteCommandStreams stream */
    /*
     * The command's dispatchable object (its first argument), copied out of
     * the table and pinned by the stream loop for the command's duration;
     * type VK_OBJECT_TYPE_UNKNOWN when the command has none.
     */
    struct pv_obj owner;
    struct pv_life *pins[PV_CHANNEL_PINS]; /* dropped after each command */
    unsigned npins;
    uint8_t *exec_copy;    /* private copy of an indirect stream (transport.c) */
    size_t exec_cap;
    struct pv_trace_buf *trace; /* the timeline of this channel's thread; NULL when off */
};

/* One shared-memory command ring (ring.c). */
struct pv_ring {
    struct pv_ring *next;          /* ctx->rings list, under ctx->lock */
    struct pv_ctx *ctx;
    uint64_t id;                   /* client's name for it, opaque */
    struct pv_resource *res;       /* holds a reference */
    atomic_uint *head;             /* written by us */
    atomic_uint *tail;             /* written by the client */
    atomic_uint *status;
    const uint8_t *buf;
    uint32_t buf_size;             /* power of two */
    uint8_t *extra;
    uint64_t extra_size;
    uint64_t idle_timeout_ns;
    uint32_t monitor_period_us;    /* 0: not monitored */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;           /* notify, stop, vq seqno, head progress */
    bool notified;
    bool stop;
    bool sleeping;                 /* idle, waiting for a notify */
    bool kick;                     /* a seqno waiter wants the thread out of its poll sleep */
    uint32_t cur;                  /* bytes consumed (free-running, like head) */
    uint64_t vq_seqno;             /* last vkSubmitVirtqueueSeqnoMESA value */
    uint64_t vq_wait;              /* seqno the ring waits for in vkWaitVirtqueueSeqnoMESA; 0 none */
    uint32_t head_waiters;
    uint32_t ordinal;              /* the context's Nth ring (its name in a trace) */
    uint8_t *scratch;              /* contiguous copy of the bytes being decoded */
    struct pv_channel chan;
};

struct pv_instance {
    struct pv_life life;           /* + one reference per device */
    struct pv_ctx *ctx;
    VkInstance host;
    uint64_t id;
    uint32_t api_version;
    pthread_mutex_t lock;          /* guards phys, phys_ids, phys_count */
    struct pvg_instance_table t;
    uint8_t has_cmd[(PVG_CMD_COUNT + 7) / 8]; /* host has the instance-level command */
    VkPhysicalDevice *phys;        /* host physical devices */
    uint64_t *phys_ids;            /* client ids bound to them, 0 = not yet */
    uint32_t phys_count;
};

struct pv_queue {
    VkQueue host;
    uint64_t id;
    uint32_t ring_idx;             /* timeline bound at vkGetDeviceQueue2; 0 = none */
    pthread_mutex_t lock;          /* host queues need external synchronization */
    struct pv_device *dev;
    struct pv_queue *next;         /* dev->queues, under ctx->lock */
};

#define PV_DEVICE_FENCE_POOL 16

struct pv_device {
    struct pv_life life;           /* + pending context fences */
    struct pv_ctx *ctx;
    struct pv_instance *inst;      /* holds a reference on it */
    VkDevice host;
    uint64_t id;
    VkPhysicalDevice phys;
    struct pvg_device_table t;
    uint8_t has_cmd[(PVG_CMD_COUNT + 7) / 8]; /* host has the device-level command */
    VkPhysicalDeviceMemoryProperties mem_props;
    bool has_host_ptr;             /* VK_EXT_external_memory_host enabled */
    PFN_vkGetMemoryHostPointerPropertiesEXT get_host_ptr_props;
    PFN_vkGetDeviceProcAddr gdpa;
    VkDeviceSize host_ptr_align;   /* minImportedHostPointerAlignment */
    /* Instance-level queries memory.c needs for this device's objects. */
    PFN_vkGetPhysicalDeviceExternalBufferProperties ext_buffer_props;
    PFN_vkGetPhysicalDeviceImageFormatProperties2 image_format_props2;
    struct pv_queue *queues;       /* under ctx->lock; freed with the device */
    /* Signalled-and-reset host fences for context fences to reuse: a driver
     * may take far longer to create one than to reset one (NVIDIA). */
    pthread_mutex_t fence_pool_lock;
    VkFence fence_pool[PV_DEVICE_FENCE_POOL];
    uint32_t fence_pool_count;
};

/* Host-visible memory the renderer backs with shared memory (src/common/shm)
 * so it can be exported. */
struct pv_memory {
    VkDeviceMemory host;
    int fd;                        /* -1 when not exportable */
    void *map;
    uint64_t map_size;             /* our mapping, the size imported into the host driver */
    uint64_t file_size;            /* the file: map_size rounded to PV_SHM_PAGE_MAX; caps a blob */
    uint64_t size;                 /* allocationSize the client asked for */
    uint32_t type_index;
};

#define PV_FENCE_QUEUE_MAX 4096

struct pv_fence_req {
    uint32_t ring_idx;
    uint64_t fence_id;
    VkFence host;                  /* VK_NULL_HANDLE: retire right away */
    struct pv_device *dev;         /* holds a reference on dev->life while host is set */
};

/*
 * What one context may hold at once. Each exists because a client could
 * otherwise take a resource every context shares (the process's fds, its
 * memory, its threads): past a budget the context is made fatal, with the
 * budget named in the log line.
 */
#define PV_CTX_MAX_OBJECTS (1u << 18)       /* entries in the object table */
#define PV_CTX_MAX_MEMFDS 1024u             /* host-visible memories (a memfd each) */
#define PV_CTX_MAX_SHM_BLOBS 4096u          /* shared-memory blobs */
#define PV_CTX_MAX_SHM_BYTES (4ull << 30)   /* their total size */

struct pv_ctx {
    struct pv_renderer *r;
    uint32_t id;
    char name[64];
    struct pv_ctx_callbacks cbs;
    atomic_bool fatal;
    bool fatal_flag;               /* the decoders' sticky flag (context channel) */

    pthread_mutex_t lock;
    struct pv_resource *resources;
    uint32_t shm_blobs;            /* budgets (under lock) */
    uint64_t shm_bytes;
    atomic_uint memfds;
    struct pv_ring *rings;
    uint32_t rings_made;           /* rings created so far (under lock) */
    struct pv_queue *timelines[PV_MAX_TIMELINES];

    struct pv_objtab objs;
    struct pv_instance *instance;
    struct pv_channel chan;        /* the context channel */

    /* fence thread */
    pthread_t fence_thread;
    bool fence_thread_started;
    pthread_cond_t fence_cond;
    struct pv_fence_req fences[PV_FENCE_QUEUE_MAX];
    uint32_t fence_head, fence_tail;
    bool stopping;
    struct pv_trace_buf *fence_trace; /* the fence thread's timeline; NULL when off */

    /* ring monitor thread */
    pthread_t monitor_thread;
    bool monitor_started;
    pthread_cond_t monitor_cond;
    uint32_t monitor_period_us;
    atomic_uint captured;          /* streams written to the capture dir */
    pthread_mutex_t trace_lock;    /* orders the trace's records (capture.c) */
    int trace_fd;                  /* -1 unless capturing */
    uint64_t trace_bytes;
};

/* Marks the context fatal, counts `reason` and logs it with `why` once, sets
 * FATAL in every ring. Later calls do nothing: the first reason is the one. */
void pv_ctx_fatal(struct pv_ctx *ctx, enum pv_fatal_reason reason, const char *why);

/*
 * Whether a wait on this channel's behalf should go on: false once the
 * context is fatal, its ring is being stopped, or the front door reports its
 * client gone. Every host wait the renderer makes for a client runs in
 * slices of PV_WAIT_SLICE_NS and asks this between them.
 */
#define PV_WAIT_SLICE_NS 50000000ull
/* The failure a command reports when such a wait was cut short. */
#define PV_WAIT_CUT_SHORT "wait ended: the context is fatal or ending, or its client is gone"
bool pv_channel_alive(struct pv_channel *ch);

/* References a command holds until it ends (dropped by the stream loop). */
bool pv_channel_pin(struct pv_channel *ch, struct pv_life *life);
void pv_channel_unpin_to(struct pv_channel *ch, unsigned mark);

/* Resource lookup with a reference; release with pv_resource_put(). */
struct pv_resource *pv_ctx_get_resource(struct pv_ctx *ctx, uint32_t res_id);
void pv_resource_put(struct pv_resource *res);
/* Host pointer for [off, off + len) of a mapped resource, NULL when outside. */
void *pv_resource_slice(const struct pv_resource *res, uint64_t off, uint64_t len);

/* Decodes and dispatches every command in [data, data + size) (dispatch.c). */
bool pv_venus_dispatch_stream(struct pv_channel *ch, const void *data, size_t size,
                              void (*progress)(struct pv_channel *, size_t consumed));
/* A channel's reply stream and argument arena (context.c). */
void pv_channel_init(struct pv_channel *ch, struct pv_ctx *ctx, struct pv_ring *ring);
void pv_channel_fini(struct pv_channel *ch);

/* Rings (ring.c). */
int pv_ring_create(struct pv_ctx *ctx, uint64_t ring_id, const VkRingCreateInfoMESA *info);
void pv_ring_destroy(struct pv_ring *ring);
struct pv_ring *pv_ctx_find_ring(struct pv_ctx *ctx, uint64_t ring_id);
void pv_ring_notify(struct pv_ring *ring);
void pv_ring_set_fatal(struct pv_ring *ring);
/* Waits on channel ch until the ring's head reaches seqno; NULL, or why it never will. */
const char *pv_ring_wait_seqno(struct pv_ring *ring, struct pv_channel *ch, uint64_t seqno);
void pv_ring_submit_vq_seqno(struct pv_ring *ring, uint64_t seqno);
bool pv_ring_wait_vq_seqno(struct pv_ring *ring, uint64_t seqno);

/*
 * Lifetimes (lifetime.c). The client destroyed a device or everything (its
 * instance, or the context going): the table forgets them, and each goes
 * when its last user is done (pv_life). The `last` functions of devices and
 * instances.
 */
void pv_venus_destroy_all(struct pv_ctx *ctx);
void pv_device_kill(struct pv_ctx *ctx, struct pv_device *dev);
void pv_device_last(struct pv_life *life);
/* A fence of the renderer's own that a queue may still signal: destroyed with its device. */
void pv_lifetime_adopt_fence(struct pv_ctx *ctx, struct pv_device *dev, VkFence fence);
void pv_instance_last(struct pv_life *life);
/* Device memory (memory.c). */
void pv_memory_free(struct pv_device *dev, struct pv_memory *mem);
/* The host memory types of phys that memory.c can share with the client
 * (a host pointer imports into them); every type when the host lacks
 * VK_EXT_external_memory_host (blob creation then says so). */
uint32_t pv_device_host_import_types(struct pv_ctx *ctx, VkPhysicalDevice phys);
/* The external-memory handle types a buffer or image must be created with on
 * the host so that it may be bound to memory memory.c imported from a host
 * pointer: HOST_ALLOCATION where the host can import it for that object,
 * else 0 (the object then never gets imported memory). */
VkExternalMemoryHandleTypeFlags pv_memory_buffer_handle_types(struct pv_device *dev,
                                                              const VkBufferCreateInfo *ci);
VkExternalMemoryHandleTypeFlags pv_memory_image_handle_types(struct pv_device *dev,
                                                             const VkImageCreateInfo *ci);
int pv_memory_export(struct pv_ctx *ctx, uint64_t memory_id, uint64_t size, uint32_t flags,
                     int *fd);

#endif /* PV_VENUS_CONTEXT_H */
