/*
 * gpu/virgl-abi/resource: resources. 2D pixel resources for QEMU's console
 * and cursor, HOST3D blobs (renderer memory QEMU maps into the guest's
 * hostmem window) and GUEST blobs (guest pages). See virgl-abi.h.
 *
 * Every guest-chosen number is checked before use: ids against the table,
 * sizes and counts against the limits in virgl-abi.h, transfer boxes against
 * the resource and the bytes of its backing, all without overflow.
 */
#include "virgl-abi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

/* QEMU hands us its virtio_gpu_box (six uint32) as an opaque struct virgl_box. */
struct va_box {
    uint32_t x, y, z, w, h, d;
};

/* ---- table ---- */

static struct va_res **
bucket(uint32_t id)
{
    return &va.res[id % (sizeof(va.res) / sizeof(va.res[0]))];
}

struct va_res *
va_res_find(uint32_t id)
{
    for (struct va_res *r = *bucket(id); r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static struct va_res *
res_new(uint32_t id, enum va_res_kind kind)
{
    if (!va.inited || id == 0 || va_res_find(id))
        return NULL;
    struct va_res *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->id = id;
    r->kind = kind;
    r->fd = -1;
    return r;
}

static void
res_insert(struct va_res *r)
{
    struct va_res **b = bucket(r->id);
    r->next = *b;
    *b = r;
}

static bool
in_ctx(const struct va_res *r, uint32_t ctx_id)
{
    for (uint32_t i = 0; i < r->n_in_ctx; i++)
        if (r->in_ctx[i] == ctx_id)
            return true;
    return false;
}

static void
in_ctx_remove(struct va_res *r, uint32_t ctx_id)
{
    for (uint32_t i = 0; i < r->n_in_ctx; i++) {
        if (r->in_ctx[i] == ctx_id) {
            r->in_ctx[i] = r->in_ctx[--r->n_in_ctx];
            return;
        }
    }
}

/* Sums iovec lengths; false on overflow, a NULL base or too many entries. */
static bool
iov_total(const struct iovec *iov, int niov, uint64_t *total)
{
    if (niov < 0 || niov > VA_MAX_IOVS || (niov && !iov))
        return false;
    uint64_t sum = 0;
    for (int i = 0; i < niov; i++) {
        if (!iov[i].iov_base && iov[i].iov_len)
            return false;
        if (iov[i].iov_len > UINT64_MAX - sum)
            return false;
        sum += iov[i].iov_len;
    }
    *total = sum;
    return true;
}

/* Walks an iovec list forward; offsets given to it never decrease. */
struct iov_cursor {
    const struct iovec *iov;
    int niov, i;
    uint64_t start; /* byte offset of iov[i] */
};

/* Copies len bytes at byte `off` of the list to (to_iov false) or from (true) buf. */
static void
iov_copy(struct iov_cursor *c, uint64_t off, uint8_t *buf, size_t len, bool to_iov)
{
    while (c->i < c->niov && off >= c->start + c->iov[c->i].iov_len) {
        c->start += c->iov[c->i].iov_len;
        c->i++;
    }
    int i = c->i;
    uint64_t start = c->start;
    while (len && i < c->niov) {
        uint64_t in = off - start;
        size_t n = c->iov[i].iov_len - in;
        if (n > len)
            n = len;
        uint8_t *p = (uint8_t *)c->iov[i].iov_base + in;
        if (to_iov)
            memcpy(p, buf, n);
        else
            memcpy(buf, p, n);
        buf += n;
        len -= n;
        off += n;
        start += c->iov[i].iov_len;
        i++;
    }
}

/* ---- 2D resources ---- */

static bool
format_is_32bpp(uint32_t f)
{
    /* virtio-gpu's 2D formats (B8G8R8A8 ... R8G8B8X8), all four bytes a pixel. */
    switch (f) {
    case 1: case 2: case 3: case 4: case 67: case 68: case 121: case 134:
        return true;
    default:
        return false;
    }
}

VIRGL_EXPORT int
virgl_renderer_resource_create(struct virgl_renderer_resource_create_args *args,
                               struct iovec *iov, uint32_t num_iovs)
{
    if (!args)
        return -EINVAL;
    /* Only what a console or cursor needs: one-level 2D textures of 32-bit pixels. */
    if (args->target != 2 || !format_is_32bpp(args->format) || args->depth != 1 ||
        args->array_size > 1 || args->last_level != 0 || args->nr_samples > 1 ||
        args->width == 0 || args->height == 0 || args->width > VA_MAX_2D_DIM ||
        args->height > VA_MAX_2D_DIM ||
        (uint64_t)args->width * args->height * 4 > VA_MAX_2D_BYTES) {
        va_log_once("resource_create: only 2D textures of 32-bit pixels are supported");
        return -EINVAL;
    }
    uint64_t iov_size = 0;
    if (num_iovs && !iov_total(iov, (int)num_iovs, &iov_size))
        return -EINVAL;
    struct va_res *r = res_new(args->handle, VA_RES_2D);
    if (!r)
        return -EINVAL;
    r->format = args->format;
    r->width = args->width;
    r->height = args->height;
    r->flags = args->flags;
    r->stride = args->width * 4;
    r->pixels = calloc((size_t)r->height, r->stride);
    if (!r->pixels) {
        free(r);
        return -ENOMEM;
    }
    if (num_iovs) {
        r->iov = iov;
        r->niov = (int)num_iovs;
        r->iov_size = iov_size;
    }
    r->tex = va_gl_texture_create(r->format, r->width, r->height);
    res_insert(r);
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_attach_iov(int res_handle, struct iovec *iov, int num_iovs)
{
    struct va_res *r = va_res_find((uint32_t)res_handle);
    uint64_t size;
    if (!r || r->kind != VA_RES_2D || r->iov || num_iovs <= 0 ||
        !iov_total(iov, num_iovs, &size))
        return -EINVAL;
    r->iov = iov;
    r->niov = num_iovs;
    r->iov_size = size;
    return 0;
}

VIRGL_EXPORT void
virgl_renderer_resource_detach_iov(int res_handle, struct iovec **iov, int *num_iovs)
{
    struct va_res *r = va_res_find((uint32_t)res_handle);
    /* Blob iovecs stay QEMU's: it frees them itself, so never hand those back. */
    if (!r || r->kind != VA_RES_2D) {
        if (iov)
            *iov = NULL;
        if (num_iovs)
            *num_iovs = 0;
        return;
    }
    if (iov)
        *iov = r->iov;
    if (num_iovs)
        *num_iovs = r->niov;
    r->iov = NULL;
    r->niov = 0;
    r->iov_size = 0;
}

/*
 * Checks a 2D transfer and copies rows between the backing and the pixels.
 * The backing row `i` of the box starts at offset + i * stride (stride 0:
 * the resource's own), as QEMU's 2D path defines it.
 */
static int
transfer_2d(uint32_t handle, int level, uint32_t stride, const struct virgl_box *vbox,
            uint64_t offset, struct iovec *iov, int iovec_cnt, bool to_host)
{
    struct va_res *r = va_res_find(handle);
    if (!r || r->kind != VA_RES_2D || !vbox) {
        va_log_once("transfer on an unknown or non-2D resource");
        return -EINVAL;
    }
    const struct va_box *box = (const struct va_box *)vbox;
    uint64_t iov_size = r->iov_size;
    if (iov && iovec_cnt > 0) {
        if (!iov_total(iov, iovec_cnt, &iov_size))
            return -EINVAL;
    } else {
        iov = r->iov;
        iovec_cnt = r->niov;
    }
    if (!iov || level != 0 || box->z != 0 || box->d > 1 || box->x > r->width ||
        box->w > r->width - box->x || box->y > r->height || box->h > r->height - box->y)
        return -EINVAL;
    if (box->w == 0 || box->h == 0)
        return 0;
    uint64_t src_stride = stride ? stride : r->stride;
    uint64_t row = (uint64_t)box->w * 4;
    if (src_stride < row)
        return -EINVAL;
    /* Last byte read: offset + (h - 1) * stride + row; h and stride are 32-bit, no overflow. */
    uint64_t span = (uint64_t)(box->h - 1) * src_stride + row;
    if (offset > iov_size || span > iov_size - offset)
        return -EINVAL;
    struct iov_cursor c = {.iov = iov, .niov = iovec_cnt};
    for (uint32_t i = 0; i < box->h; i++) {
        uint8_t *px = r->pixels + (size_t)(box->y + i) * r->stride + (size_t)box->x * 4;
        iov_copy(&c, offset + i * src_stride, px, row, !to_host);
    }
    if (to_host && r->tex)
        va_gl_texture_upload(r->tex, r->format, r->pixels, r->stride, box->x, box->y, box->w,
                             box->h);
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_transfer_write_iov(uint32_t handle, uint32_t ctx_id, int level, uint32_t stride,
                                  uint32_t layer_stride, struct virgl_box *box, uint64_t offset,
                                  struct iovec *iovec, unsigned int iovec_cnt)
{
    (void)ctx_id;
    (void)layer_stride;
    if (iovec_cnt > VA_MAX_IOVS)
        return -EINVAL;
    return transfer_2d(handle, level, stride, box, offset, iovec, (int)iovec_cnt, true);
}

VIRGL_EXPORT int
virgl_renderer_transfer_read_iov(uint32_t handle, uint32_t ctx_id, uint32_t level,
                                 uint32_t stride, uint32_t layer_stride, struct virgl_box *box,
                                 uint64_t offset, struct iovec *iov, int iovec_cnt)
{
    (void)ctx_id;
    (void)layer_stride;
    if (level > 0)
        return -EINVAL;
    return transfer_2d(handle, 0, stride, box, offset, iov, iovec_cnt, false);
}

VIRGL_EXPORT void *
virgl_renderer_get_cursor_data(uint32_t resource_id, uint32_t *width, uint32_t *height)
{
    struct va_res *r = va_res_find(resource_id);
    if (!r || r->kind != VA_RES_2D || !width || !height)
        return NULL;
    /* QEMU copies it and free()s it. */
    void *copy = malloc((size_t)r->height * r->stride);
    if (!copy)
        return NULL;
    memcpy(copy, r->pixels, (size_t)r->height * r->stride);
    *width = r->width;
    *height = r->height;
    return copy;
}

/* virtio-gpu's VIRTIO_GPU_RESOURCE_FLAG_Y_0_TOP, which QEMU passes in a 2D
 * resource's flags. */
#define VA_RESOURCE_FLAG_Y_0_TOP 1u

static void
fill_info(const struct va_res *r, struct virgl_renderer_resource_info *info)
{
    memset(info, 0, sizeof(*info));
    info->handle = r->id;
    info->fd = -1; /* no dma-buf: QEMU then refuses blob scanouts cleanly */
    if (r->kind == VA_RES_2D) {
        info->virgl_format = r->format;
        info->width = r->width;
        info->height = r->height;
        info->depth = 1;
        /* Our textures hold the guest's rows top row first (texture row 0),
         * uploaded as they are; virglrenderer stores a Y_0_TOP resource the
         * other way up, and QEMU draws the flag as meaning that. Without the
         * flag QEMU flips our texture onto the screen the right way up. */
        info->flags = r->flags & ~VA_RESOURCE_FLAG_Y_0_TOP;
        info->tex_id = r->tex;
        info->stride = r->stride;
    }
}

VIRGL_EXPORT int
virgl_renderer_resource_get_info(int res_handle, struct virgl_renderer_resource_info *info)
{
    struct va_res *r = va_res_find((uint32_t)res_handle);
    if (!r || !info)
        return -EINVAL;
    /* QEMU asks on its main thread just before it scans the resource out. */
    va_gl_prepare_scanout();
    fill_info(r, info);
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_get_info_ext(int res_handle, struct virgl_renderer_resource_info_ext *info)
{
    struct va_res *r = va_res_find((uint32_t)res_handle);
    if (!r || !info)
        return -EINVAL;
    va_gl_prepare_scanout();
    memset(info, 0, sizeof(*info));
    info->version = VIRGL_RENDERER_RESOURCE_INFO_EXT_VERSION;
    fill_info(r, &info->base);
    return 0;
}

/* ---- blobs ---- */

static bool
fd_covers(int fd, uint64_t size)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size >= size;
}

/* The host maps whole pages only, and the VMM maps a blob into the guest's
 * host-visible window at the guest's offset, so a blob must be a whole
 * number of the larger of the two page sizes. A guest with larger pages
 * than the host's (an ARM64 guest with 16 KiB pages here) gives sizes and
 * offsets of its own pages, which are whole host pages too; the renderer
 * makes every blob's file long enough for that (pv_shm_round). A guest
 * with smaller pages than the host's (a 4 KiB guest on a 16 KiB Apple
 * host) can name a blob that ends inside a host page: mapping more than it
 * asked would cover its neighbour in the window, so that blob is refused,
 * and said why, once. */
static bool
page_aligned(uint64_t size)
{
    size_t page = pv_host_page_size();
    if (size % page == 0)
        return true;
    va_log_once("resource_map: a blob that is not a whole number of host pages (the guest's pages "
                "are smaller than the host's): refused");
    return false;
}

VIRGL_EXPORT int
virgl_renderer_resource_create_blob(const struct virgl_renderer_resource_create_blob_args *args)
{
    if (!args || !args->size)
        return -EINVAL;
    int err;
    if (args->blob_mem == VIRGL_RENDERER_BLOB_MEM_HOST3D) {
        struct va_ctx *ctx = va_ctx_find(args->ctx_id);
        if (!ctx || !va_venus(ctx))
            return -EINVAL;
        struct va_res *r = res_new(args->res_handle, VA_RES_BLOB_HOST);
        if (!r)
            return -EINVAL;
        uint32_t map_info = 0;
        err = va_be_create_blob(ctx, r->id, args->blob_id, args->size, args->blob_flags,
                                 &r->fd, &map_info);
        if (err) {
            free(r);
            return err;
        }
        r->owner = ctx->id;
        r->size = args->size;
        r->blob_flags = args->blob_flags;
        /* Shared memory (blob_id 0) is in the owner's renderer table already. */
        if (args->blob_id == 0)
            r->in_ctx[r->n_in_ctx++] = ctx->id;
        res_insert(r);
        return 0;
    }
    if (args->blob_mem == VIRGL_RENDERER_BLOB_MEM_GUEST) {
        uint64_t total;
        if (args->num_iovs == 0 || args->num_iovs > VA_MAX_IOVS ||
            !iov_total(args->iovecs, (int)args->num_iovs, &total) || total < args->size)
            return -EINVAL;
        struct va_res *r = res_new(args->res_handle, VA_RES_BLOB_GUEST);
        if (!r)
            return -EINVAL;
        r->iov = malloc(sizeof(*r->iov) * args->num_iovs);
        if (!r->iov) {
            free(r);
            return -ENOMEM;
        }
        memcpy(r->iov, args->iovecs, sizeof(*r->iov) * args->num_iovs);
        r->niov = (int)args->num_iovs;
        r->iov_size = total;
        r->size = args->size;
        r->blob_flags = args->blob_flags;
        /* The renderer takes one byte range: only pages QEMU sees contiguously. */
        bool contiguous = true;
        for (int i = 1; i < r->niov && contiguous; i++)
            contiguous = (uint8_t *)r->iov[i - 1].iov_base + r->iov[i - 1].iov_len ==
                         (uint8_t *)r->iov[i].iov_base;
        if (contiguous)
            r->guest_base = r->iov[0].iov_base;
        struct va_ctx *ctx = va_ctx_find(args->ctx_id);
        if (ctx && ctx->remote)
            va_log_once("a GUEST blob cannot reach the render process (the guest's pages are "
                        "QEMU's); Venus uses HOST3D blobs, which it can");
        if (ctx && ctx->pv && r->guest_base &&
            pv_ctx_import_resource(ctx->pv, r->id, r->guest_base, r->size) == 0) {
            r->owner = ctx->id;
            r->in_ctx[r->n_in_ctx++] = ctx->id;
        }
        res_insert(r);
        return 0;
    }
    va_log_once("resource_create_blob: only HOST3D and GUEST blobs are supported");
    return -EINVAL;
}

static bool
host_mappable(const struct va_res *r)
{
    return r->kind == VA_RES_BLOB_HOST && r->fd >= 0 &&
           (r->blob_flags & VIRGL_RENDERER_BLOB_FLAG_USE_MAPPABLE) && page_aligned(r->size) &&
           r->size <= SIZE_MAX && fd_covers(r->fd, r->size);
}

VIRGL_EXPORT int
virgl_renderer_resource_map(uint32_t res_handle, void **map, uint64_t *out_size)
{
    struct va_res *r = va_res_find(res_handle);
    if (!r || !map || !out_size)
        return -EINVAL;
    if (!r->map) {
        if (!host_mappable(r))
            return -EINVAL;
        void *p = mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
        if (p == MAP_FAILED)
            return -errno;
        r->map = p;
    }
    *map = r->map;
    *out_size = r->size;
    return 0;
}

/*
 * virglrenderer 1.2.1's map_fixed (QEMU >= 11 built against it uses it when
 * present): the blob's file mapped over `addr`, inside the VMM's own
 * host-memory window, so mapping a blob changes no guest memory map. The
 * mapping then belongs to the caller, who unmaps it by mapping over it.
 */
VIRGL_EXPORT int
virgl_renderer_resource_map_fixed(uint32_t res_handle, void *addr)
{
    struct va_res *r = va_res_find(res_handle);
    if (!r || !addr || (uintptr_t)addr % pv_host_page_size())
        return -EINVAL;
    if (!host_mappable(r))
        return -EINVAL;
    void *p = mmap(addr, (size_t)r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_unmap(uint32_t res_handle)
{
    struct va_res *r = va_res_find(res_handle);
    if (!r || !r->map)
        return -EINVAL;
    munmap(r->map, (size_t)r->size);
    r->map = NULL;
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_get_map_info(uint32_t res_handle, uint32_t *map_info)
{
    struct va_res *r = va_res_find(res_handle);
    if (!r || !map_info || r->kind != VA_RES_BLOB_HOST)
        return -EINVAL;
    /* Ordinary host memory (src/common/shm), coherent with the CPU: the guest may cache it. */
    *map_info = VIRGL_RENDERER_MAP_CACHE_CACHED;
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_export_blob(uint32_t res_id, uint32_t *fd_type, int *fd)
{
    struct va_res *r = va_res_find(res_id);
    if (!r || r->kind != VA_RES_BLOB_HOST || r->fd < 0 || !fd_type || !fd)
        return -EINVAL;
    int dup = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0)
        return -errno;
    *fd_type = VIRGL_RENDERER_BLOB_FD_TYPE_SHM; /* a memfd or a POSIX shm object */
    *fd = dup;
    return 0;
}

VIRGL_EXPORT int
virgl_renderer_resource_import_blob(const struct virgl_renderer_resource_import_blob_args *args)
{
    (void)args;
    va_log_once("virgl_renderer_resource_import_blob: not supported by PearVisor's renderer");
    return -EINVAL;
}

VIRGL_EXPORT int
virgl_renderer_resource_import_eglimage(struct virgl_renderer_resource_create_args *args,
                                        void *image)
{
    (void)args;
    (void)image;
    va_log_once("virgl_renderer_resource_import_eglimage: not supported by PearVisor's renderer");
    return -EINVAL;
}

VIRGL_EXPORT void
virgl_renderer_resource_set_priv(uint32_t res_handle, void *priv)
{
    (void)res_handle;
    (void)priv;
    va_log_once("virgl_renderer_resource_set_priv: not supported by PearVisor's renderer");
}

VIRGL_EXPORT void *
virgl_renderer_resource_get_priv(uint32_t res_handle)
{
    (void)res_handle;
    return NULL;
}

VIRGL_EXPORT void
virgl_renderer_get_rect(int resource_id, struct iovec *iov, unsigned int num_iovs,
                        uint32_t offset, int x, int y, int width, int height)
{
    (void)resource_id, (void)iov, (void)num_iovs, (void)offset;
    (void)x, (void)y, (void)width, (void)height;
    va_log_once("virgl_renderer_get_rect: not supported by PearVisor's renderer");
}

/* ---- contexts and resources ---- */

VIRGL_EXPORT void
virgl_renderer_ctx_attach_resource(int ctx_id, int res_handle)
{
    struct va_ctx *ctx = va_ctx_find((uint32_t)ctx_id);
    struct va_res *r = va_res_find((uint32_t)res_handle);
    if (!ctx || !va_venus(ctx) || !r || r->kind == VA_RES_2D || in_ctx(r, ctx->id))
        return;
    if (r->n_in_ctx == VA_MAX_ATTACH) {
        va_log_once("ctx_attach_resource: resource shared with too many contexts");
        return;
    }
    if (r->kind == VA_RES_BLOB_GUEST) {
        if (ctx->pv && r->guest_base && pv_ctx_import_resource(ctx->pv, r->id, r->guest_base, r->size) == 0)
            r->in_ctx[r->n_in_ctx++] = ctx->id;
        return;
    }
    /*
     * A host blob seen by a second context (or an exported VkDeviceMemory):
     * lend the renderer a mapping of its own. Ring threads may hold on to it
     * until the context dies, so it is unmapped only then (ctx_free).
     */
    if (!host_mappable(r))
        return;
    if (ctx->remote) {
        /* The render process maps the fd itself, for as long as the context lives. */
        if (va_be_import_fd(ctx, r->id, r->fd, r->size) == 0)
            r->in_ctx[r->n_in_ctx++] = ctx->id;
        return;
    }
    struct va_loan *loan = malloc(sizeof(*loan));
    if (!loan)
        return;
    loan->size = (size_t)r->size;
    loan->base = mmap(NULL, loan->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (loan->base == MAP_FAILED) {
        free(loan);
        return;
    }
    if (pv_ctx_import_resource(ctx->pv, r->id, loan->base, r->size) != 0) {
        munmap(loan->base, loan->size);
        free(loan);
        return;
    }
    loan->next = ctx->loans;
    ctx->loans = loan;
    r->in_ctx[r->n_in_ctx++] = ctx->id;
}

VIRGL_EXPORT void
virgl_renderer_ctx_detach_resource(int ctx_id, int res_handle)
{
    struct va_res *r = va_res_find((uint32_t)res_handle);
    if (!r || !in_ctx(r, (uint32_t)ctx_id))
        return;
    struct va_ctx *ctx = va_ctx_find((uint32_t)ctx_id);
    if (ctx && va_venus(ctx))
        va_be_destroy_resource(ctx, r->id);
    in_ctx_remove(r, (uint32_t)ctx_id);
}

static void
res_free(struct va_res *r)
{
    for (uint32_t i = 0; i < r->n_in_ctx; i++) {
        struct va_ctx *ctx = va_ctx_find(r->in_ctx[i]);
        if (ctx && va_venus(ctx))
            va_be_destroy_resource(ctx, r->id);
    }
    if (r->map) {
        /* QEMU unmaps before unref; if not, its memory region still points here: keep it. */
        va_log_once("resource_unref on a still-mapped blob; its mapping is kept");
    }
    if (r->fd >= 0)
        close(r->fd);
    if (r->tex)
        va_gl_texture_destroy(r->tex);
    free(r->pixels);
    if (r->kind == VA_RES_BLOB_GUEST)
        free(r->iov); /* our copy; a 2D resource's iovecs belong to QEMU */
    free(r);
}

VIRGL_EXPORT void
virgl_renderer_resource_unref(uint32_t res_handle)
{
    for (struct va_res **pp = bucket(res_handle); *pp; pp = &(*pp)->next) {
        if ((*pp)->id == res_handle) {
            struct va_res *r = *pp;
            *pp = r->next;
            res_free(r);
            return;
        }
    }
}

void
va_res_forget_ctx(uint32_t ctx_id)
{
    for (size_t b = 0; b < sizeof(va.res) / sizeof(va.res[0]); b++)
        for (struct va_res *r = va.res[b]; r; r = r->next)
            in_ctx_remove(r, ctx_id);
}

void
va_res_destroy_all(void)
{
    for (size_t b = 0; b < sizeof(va.res) / sizeof(va.res[0]); b++) {
        while (va.res[b]) {
            struct va_res *r = va.res[b];
            va.res[b] = r->next;
            res_free(r);
        }
    }
}
