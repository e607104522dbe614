/*
 * pvgpu.h: libpvgpu's public C API, the one interface every front door (vtest, the
 * virglrenderer ABI) uses to drive libpvgpu's Venus renderer.
 *
 * Owner:   the renderer (src/gpu/venus/). Front doors call only this header.
 * Trust:   every byte passed in (submits, ring memory, ids, sizes) comes from
 *          a client. The renderer checks it; a violation marks that context
 *          fatal (sticky, one log line) and never touches other contexts.
 * Threads: a context's entry points may be called from one front-door
 *          thread at a time. The renderer runs one thread per ring and one
 *          per context for fence/timeline retirement; callbacks in
 *          struct pv_ctx_callbacks arrive on those threads.
 * Spec:    docs/venus-protocol.md in the PearVisor source.
 */
#ifndef PVGPU_PVGPU_H
#define PVGPU_PVGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pv_renderer;
struct pv_ctx;

#define PV_CAPSET_VENUS 4u
#define PV_VENUS_CAPSET_SIZE 160u
/* Timelines (ring_idx values) a context can use; 0 is the CPU timeline. */
#define PV_MAX_TIMELINES 64u

/* Blob flags, as vtest and virtio-gpu define them. */
#define PV_BLOB_FLAG_MAPPABLE 0x1u
#define PV_BLOB_FLAG_SHAREABLE 0x2u
#define PV_BLOB_FLAG_CROSS_DEVICE 0x4u

/*
 * pv_renderer_opts.flags: a renderer that only keeps statistics (its own
 * counters, those added with pv_renderer_stats_add, the statistics socket)
 * and never calls the host's Vulkan: pv_ctx_create fails with -ENODEV. For
 * a front door whose contexts run in render processes of their own.
 */
#define PV_RENDERER_STATS_ONLY 0x1u

struct pv_renderer_opts {
    /* PV_RENDERER_* flags; other bits are reserved (host device selection, debug flags). */
    uint32_t flags;
    /*
     * Unix socket path on which to serve live statistics (one JSON object
     * per connection, see pv_renderer_stats_json). NULL: the environment
     * variable PEARVISOR_STATS_SOCKET, if set; else no socket.
     */
    const char *stats_socket;
};

/* Loads the Vulkan loader and probes the host; 0 or -errno. */
int pv_renderer_create(const struct pv_renderer_opts *opts, struct pv_renderer **out);
void pv_renderer_destroy(struct pv_renderer *r);

/*
 * Writes the renderer's live statistics as one JSON object (contexts,
 * Venus commands decoded per type, bytes through rings and submits, ring
 * sleeps, blob memory, fences, errors) into buf. Returns the length it
 * needed, like snprintf. "contexts_fatal" counts contexts made fatal;
 * "fatal_reasons" splits it by the kind of check that failed, every key
 * present: "decode" (the bytes do not decode), "object" (unknown or
 * wrong-typed object id, or a new id in use), "unsupported" (a command type
 * not served), "limit" (a size or count past a limit), "ring" (a ring's
 * layout, tail or seqno), "refused" (a handler refused the arguments),
 * "transport" (the front door's framing, pv_ctx_transport_fatal), "lost"
 * (the render process that ran the context died: pv_renderer_stats_gone).
 * The context's fatal log line names the same reason.
 */
size_t pv_renderer_stats_json(struct pv_renderer *r, char *buf, size_t size);

/*
 * The statistics of render processes, for a front door that runs each
 * context in a process of its own (the same build on both sides) and serves
 * their sum from one renderer made with PV_RENDERER_STATS_ONLY.
 *
 * pv_renderer_stats_save writes the counters as plain numbers into vals (at
 * most n of them; vals[0] is a level, contexts_active, the others only grow)
 * and returns how many there are. pv_renderer_stats_add adds now[i] -
 * before[i] for each (before may be NULL: zeros); -EINVAL unless n is that
 * count. pv_renderer_stats_gone says that the process whose last numbers
 * were `last` has ended: its level is taken back, its counts stay; `lost`
 * counts its context as fatal for the reason "lost". The numbers come from
 * another process and are only added up: wrong ones make wrong statistics,
 * nothing else.
 */
size_t pv_renderer_stats_save(struct pv_renderer *r, uint64_t *vals, size_t n);
int pv_renderer_stats_add(struct pv_renderer *r, const uint64_t *before, const uint64_t *now,
                          size_t n);
void pv_renderer_stats_gone(struct pv_renderer *r, const uint64_t *last, size_t n, bool lost);

/*
 * The renderer's timeline (PEARVISOR_TRACE=FILE, see the renderer's
 * trace.h): pv_renderer_tracing says whether it is being written, and a
 * front door adds a span of its own work with pv_renderer_trace_span (its
 * channel "d"; t0_ns and t1_ns on CLOCK_MONOTONIC; `what` a short name
 * without spaces). Any thread may call them; they do nothing when tracing is
 * off.
 */
bool pv_renderer_tracing(const struct pv_renderer *r);
void pv_renderer_trace_span(struct pv_renderer *r, uint32_t ctx_id, const char *what,
                            uint64_t t0_ns, uint64_t t1_ns, uint64_t arg);

/*
 * Copies the capset `id` (version `version`) into buf (at most `size`
 * bytes). Returns its full size, or 0 when the capset is not supported.
 */
size_t pv_renderer_get_capset(struct pv_renderer *r, uint32_t id, uint32_t version, void *buf,
                              size_t size);

struct pv_ctx_callbacks {
    void *data;
    /*
     * A fence created with pv_ctx_create_fence() retired: all work the
     * context submitted to `ring_idx` before it has completed. Fences of one
     * ring retire in creation order. Called from a renderer thread.
     */
    void (*fence_retired)(void *data, uint32_t ring_idx, uint64_t fence_id);
    /*
     * The context just became fatal (once per context; may be NULL). It can
     * be called from a ring thread while the front door is elsewhere: a
     * front door typically shuts its transport down here so that a client
     * that stays silent is dropped too, not only one that sends again.
     */
    void (*fatal)(void *data);
    /*
     * Whether the context's client is still there (may be NULL: always).
     * Called from any renderer thread, every few tens of milliseconds, while
     * it waits for the host on the client's behalf: a wait whose client has
     * gone ends (and the context becomes fatal), so a client that leaves
     * never holds a renderer thread. Must be cheap and must not call back
     * into the renderer.
     */
    bool (*alive)(void *data);
};

/* `name` is only used in log lines (sanitized there). */
int pv_ctx_create(struct pv_renderer *r, uint32_t ctx_id, const char *name,
                  const struct pv_ctx_callbacks *cbs, struct pv_ctx **out);
/* Stops the context's threads, frees every host object it still owns. */
void pv_ctx_destroy(struct pv_ctx *ctx);

/*
 * Decodes and executes a Venus command stream sent on the context channel
 * (vtest SUBMIT_CMD2 / virtio-gpu SUBMIT_3D): vkCreateRingMESA,
 * vkNotifyRingMESA, vkSubmitVirtqueueSeqnoMESA, vkWaitRingSeqnoMESA, ... and,
 * when sent this way, ordinary Vulkan commands. Returns 0, or -EINVAL once
 * the context is fatal (it stays fatal).
 */
int pv_ctx_submit(struct pv_ctx *ctx, const void *cmds, size_t size);

/*
 * Creates blob resource `res_id` (chosen by the front door, unique in the
 * context). blob_id 0 with MAPPABLE: plain shared memory of `size` bytes
 * (rings, command and reply streams). Otherwise blob_id names a
 * VkDeviceMemory by its client id and the blob exports it. On success *fd is
 * a new file descriptor the caller owns, mmap-able MAP_SHARED at offset 0
 * for `size` bytes when MAPPABLE; *map_info gets VIRTIO_GPU_MAP_CACHE_*
 * style caching info (0 = unknown). Returns 0 or -errno (the context goes
 * fatal only for protocol violations, not for host allocation failures).
 */
int pv_ctx_create_blob(struct pv_ctx *ctx, uint32_t res_id, uint64_t blob_id, uint64_t size,
                       uint32_t flags, int *fd, uint32_t *map_info);

/*
 * Attaches caller-owned memory as resource `res_id` (virtio-gpu guest blobs
 * or iovec-backed resources mapped into one range by the front door). The
 * memory must stay valid until pv_ctx_destroy(): a ring or reply stream the
 * client placed in it keeps using it after pv_ctx_destroy_resource().
 */
int pv_ctx_import_resource(struct pv_ctx *ctx, uint32_t res_id, void *base, uint64_t size);

/* Drops the context's reference to resource `res_id`; unknown ids are ignored. */
void pv_ctx_destroy_resource(struct pv_ctx *ctx, uint32_t res_id);

/*
 * Asks for fence_retired(ring_idx, fence_id) once everything submitted so
 * far to timeline `ring_idx` completes. ring_idx 0 (the CPU timeline) and
 * rings with no queue bound retire right after the work already decoded.
 * Returns -EINVAL for ring_idx >= PV_MAX_TIMELINES.
 */
int pv_ctx_create_fence(struct pv_ctx *ctx, uint32_t ring_idx, uint64_t fence_id);

bool pv_ctx_is_fatal(const struct pv_ctx *ctx);

/*
 * For front doors: the client behind ctx broke the front door's own
 * protocol (message framing, batch or sync bounds). ctx becomes fatal as if
 * the renderer had found the error: one log line naming the context and
 * `why`, counted as "transport" in the statistics, FATAL in its rings, the
 * fatal callback. Nothing happens when ctx is already fatal.
 */
void pv_ctx_transport_fatal(struct pv_ctx *ctx, const char *why);

#endif /* PVGPU_PVGPU_H */
