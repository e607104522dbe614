/*
 * gpu/virgl-abi: front door 2. A libvirglrenderer.so.1 with the virglrenderer
 * 1.3 C API (exports.map lists exactly its symbols), implemented on libpvgpu,
 * so that an unmodified QEMU 10 or 11 (virtio-gpu-gl, venus=on) runs a
 * guest's Venus driver on our renderer.
 *
 * Owner:   front door 2 (this folder). It calls only include/pvgpu/pvgpu.h,
 *          src/common's logger and clock, and the wire of its render process
 *          (src/gpu/door-process/door-process.h); it never reaches into
 *          src/gpu/venus/. By default the renderer runs in that process
 *          (remote.c), one per VM; PEARVISOR_DOOR_IN_PROCESS=1 runs it here.
 * Trust:   every id, size, offset, transfer box and iovec a call carries is
 *          chosen by the guest and passed on by QEMU with few checks. Each is
 *          checked here; a bad request fails that call. A malformed Venus
 *          stream marks its context fatal inside the renderer. Nothing here
 *          aborts or asserts on a guest value: QEMU must keep running.
 * Threads: QEMU makes every API call from its main loop (holding the BQL),
 *          one at a time; only that thread touches the context and resource
 *          tables. Renderer threads (in-process) or the render process's
 *          event thread (remote.c) only append fence retirements to a
 *          queue (va_fences, its own lock) and kick an eventfd;
 *          virgl_renderer_poll() hands them to QEMU's callbacks on QEMU's
 *          thread, which is what QEMU's fence code expects.
 * Spec:    docs/qemu-and-hosts.md §4 (what QEMU calls),
 *          docs/venus-protocol.md §1.6 (fences) and §5 (blobs); QEMU's
 *          hw/display/virtio-gpu-virgl.c for how results are used.
 */
#ifndef PV_VIRGL_ABI_H
#define PV_VIRGL_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define VIRGL_RENDERER_UNSTABLE_APIS
#include <virglrenderer.h>

#include "pvgpu/pvgpu.h"

/* What virglrenderer 1.2 and 1.3 added, for building against an older
 * header (Debian 13 has 1.1): the same prototypes as theirs. */
int virgl_renderer_resource_map_fixed(uint32_t res_handle, void *addr);
int virgl_renderer_attach_fence(int ctx_id, int fence_fd);
int virgl_renderer_get_fence_fd(uint64_t fence_id);
int virgl_renderer_get_dev_fd(int ctx_id);

#define VA_HIDDEN __attribute__((visibility("hidden")))

/* Limits on what one guest request may ask of the host. */
#define VA_MAX_2D_DIM 16384u
#define VA_MAX_2D_BYTES (256ull << 20)
#define VA_MAX_IOVS 65536
#define VA_MAX_SUBMIT_BYTES (64u << 20)
/* Fence retirements a render process may have waiting for QEMU's poll: far
 * more than the renderer's per-context fence budget allows in flight. */
#define VA_MAX_QUEUED_FENCES 65536u
/* Contexts a resource can be registered in at once (owner + sharers). */
#define VA_MAX_ATTACH 8

/* A host mapping lent to the renderer (a shared blob imported into a second
 * context). The renderer may keep using it until the context is destroyed. */
struct va_loan {
    void *base;
    size_t size;
    struct va_loan *next;
};

struct va_ctx {
    uint32_t id;
    uint32_t capset;
    struct pv_ctx *pv;   /* in-process Venus context; NULL otherwise */
    bool remote;         /* a Venus context in the render process (remote.c) */
    bool lost;           /* remote: its process died; submits fail, fences retire */
    unsigned gen;        /* remote: which render process (va_remote.gen) */
    uint64_t fence_rings; /* remote: rings with a fence asked for, and the last of each */
    uint64_t last_fence[PV_MAX_TIMELINES];
    struct va_loan *loans;
    struct va_ctx *next;
};

/* A Venus context, served in either mode (else a capset we do not serve). */
static inline bool
va_venus(const struct va_ctx *ctx)
{
    return ctx->pv || ctx->remote;
}

/* The render process (remote.c). */
struct va_remote {
    pid_t pid;    /* 0: none running */
    int req, evt; /* our ends of the two socketpairs */
    unsigned gen; /* counts processes started */
    bool gone;    /* the event thread saw its socket end (atomic) */
    pthread_t thread;
    bool thread_started;
    size_t nvals;        /* counters per report */
    uint64_t *last, *now; /* its counters as last added, and the newest */
};

enum va_res_kind {
    VA_RES_2D,        /* resource_create: pixels for QEMU's console and cursor */
    VA_RES_BLOB_HOST, /* HOST3D blob: renderer memory, an fd we map */
    VA_RES_BLOB_GUEST /* GUEST blob: the guest pages QEMU passes as iovecs */
};

struct va_res {
    uint32_t id;
    enum va_res_kind kind;
    struct va_res *next; /* hash chain */

    /* Backing iovecs: attach_iov for 2D (handed back on detach), a copy of
     * QEMU's array for guest blobs (QEMU frees its own). */
    struct iovec *iov;
    int niov;
    uint64_t iov_size;

    /* 2D */
    uint32_t format, width, height, flags, stride;
    uint8_t *pixels;
    uint32_t tex; /* GL texture for QEMU's scanout, 0 without GL */

    /* blobs */
    uint32_t owner;      /* context that created it (0: none) */
    uint32_t blob_flags;
    uint64_t size;
    int fd;              /* HOST3D: the renderer's fd, -1 otherwise */
    void *map;           /* resource_map(): our MAP_SHARED view, NULL if unmapped */
    void *guest_base;    /* GUEST blob whose pages are contiguous in QEMU, else NULL */
    uint32_t in_ctx[VA_MAX_ATTACH]; /* contexts whose renderer table holds it */
    uint32_t n_in_ctx;
};

struct va_state {
    bool inited;
    void *cookie;
    int flags;
    /* QEMU's callbacks, copied field by field up to its declared version. */
    void (*write_fence)(void *cookie, uint32_t fence);
    void (*write_context_fence)(void *cookie, uint32_t ctx_id, uint32_t ring_idx,
                                uint64_t fence_id);
    virgl_renderer_gl_context (*create_gl_context)(void *cookie, int scanout_idx,
                                                   struct virgl_renderer_gl_ctx_param *param);
    void (*destroy_gl_context)(void *cookie, virgl_renderer_gl_context ctx);
    int (*make_current)(void *cookie, int scanout_idx, virgl_renderer_gl_context ctx);

    /* In-process: the renderer. With a render process (remote): a
     * statistics-only renderer that serves the process's counters. */
    struct pv_renderer *r;
    bool remote;
    struct va_remote rp;
    int event_fd;
    struct va_ctx *ctxs;
    struct va_res *res[256];
};

extern struct va_state va VA_HIDDEN;

/* abi.c */
struct va_ctx *va_ctx_find(uint32_t ctx_id) VA_HIDDEN;
/* Logs `what` once per process (guest-triggerable messages stay bounded). */
void va_log_once(const char *what) VA_HIDDEN;
/* Queues a retirement for QEMU (any thread); ctx_id 0 + ring UINT32_MAX = ctx0 fence. */
void va_fence_push(uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id) VA_HIDDEN;
/* The same for what a render process sends: false (nothing queued) when
 * VA_MAX_QUEUED_FENCES are waiting for QEMU's next poll already. */
bool va_fence_push_bounded(uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id) VA_HIDDEN;

/* Wakes QEMU's poll (virgl_renderer_poll runs); any thread. */
void va_kick(void) VA_HIDDEN;

/* remote.c: the renderer calls of the door, in QEMU's process or in the
 * render process (va.remote). Same contracts as their pv_* in pvgpu.h. */
bool va_be_remote_wanted(void) VA_HIDDEN;
/* Starts the render process when none runs; 0 or -errno (logged). */
int va_be_start(void) VA_HIDDEN;
/* Ends it; `lost`: it died or broke (one log line, its contexts lost). */
void va_be_stop(bool lost) VA_HIDDEN;
/* From QEMU's poll: handles a process the event thread saw end. */
void va_be_check(void) VA_HIDDEN;
size_t va_be_capset(uint32_t id, uint32_t version, void *buf, size_t size) VA_HIDDEN;
int va_be_ctx_create(struct va_ctx *ctx, const char *name,
                     const struct pv_ctx_callbacks *cbs) VA_HIDDEN;
void va_be_ctx_destroy(struct va_ctx *ctx) VA_HIDDEN;
int va_be_submit(struct va_ctx *ctx, const void *cmds, size_t size) VA_HIDDEN;
int va_be_create_blob(struct va_ctx *ctx, uint32_t res_id, uint64_t blob_id, uint64_t size,
                      uint32_t flags, int *fd, uint32_t *map_info) VA_HIDDEN;
/* remote only: the context maps the blob's fd itself (a blob of another context). */
int va_be_import_fd(struct va_ctx *ctx, uint32_t res_id, int fd, uint64_t size) VA_HIDDEN;
void va_be_destroy_resource(struct va_ctx *ctx, uint32_t res_id) VA_HIDDEN;
int va_be_create_fence(struct va_ctx *ctx, uint32_t ring_idx, uint64_t fence_id) VA_HIDDEN;

/* resource.c */
struct va_res *va_res_find(uint32_t id) VA_HIDDEN;
void va_res_destroy_all(void) VA_HIDDEN;
/* A context goes away: forget it in every resource's attach list. */
void va_res_forget_ctx(uint32_t ctx_id) VA_HIDDEN;

/* scanout.c: GL textures for 2D resources (QEMU shows tex_id). */
uint32_t va_gl_texture_create(uint32_t format, uint32_t width, uint32_t height) VA_HIDDEN;
void va_gl_texture_upload(uint32_t tex, uint32_t format, const uint8_t *pixels, uint32_t stride,
                          uint32_t x, uint32_t y, uint32_t w, uint32_t h) VA_HIDDEN;
void va_gl_texture_destroy(uint32_t tex) VA_HIDDEN;
/* QEMU is about to show a resource: our GL is set up (see scanout.c). */
void va_gl_prepare_scanout(void) VA_HIDDEN;
void va_gl_fini(void) VA_HIDDEN;

#endif /* PV_VIRGL_ABI_H */
