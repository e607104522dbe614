/* gpu/venus/capture: client streams and per-context traces for fuzz seeds. See capture.h. */
#include "capture.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "io.h"

/* At most this many streams per context are written as files: seeds, not a trace. */
#define CAPTURE_STREAMS_MAX 256

void
pv_capture_ctx_init(struct pv_ctx *ctx)
{
    ctx->trace_fd = -1;
    pthread_mutex_init(&ctx->trace_lock, NULL);
    if (!ctx->r->capture_dir)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/ctx%u-%d.trace", ctx->r->capture_dir, ctx->id,
             (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (pv_io_write_all(fd, "PVTRACE1", 8)) {
        close(fd);
        return;
    }
    ctx->trace_fd = fd;
    ctx->trace_bytes = 8;
}

void
pv_capture_ctx_fini(struct pv_ctx *ctx)
{
    if (ctx->trace_fd >= 0)
        close(ctx->trace_fd);
    ctx->trace_fd = -1;
    pthread_mutex_destroy(&ctx->trace_lock);
}

void
pv_capture_stream(struct pv_ctx *ctx, const char *channel, const void *data, size_t size)
{
    if (!ctx->r->capture_dir)
        return;
    unsigned n = atomic_fetch_add(&ctx->captured, 1);
    if (n >= CAPTURE_STREAMS_MAX)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/ctx%u-%d-%s-%04u.venus", ctx->r->capture_dir, ctx->id,
             (int)getpid(), channel, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)pv_io_write_all(fd, data, size);
    close(fd);
}

void
pv_capture_event(struct pv_ctx *ctx, enum pv_capture_kind kind, uint32_t a, uint64_t b,
                 uint64_t c, uint64_t d, const void *data, size_t len)
{
    if (ctx->trace_fd < 0)
        return;
    struct pv_capture_record rec = {
        .kind = kind, .a = a, .b = b, .c = c, .d = d, .len = (uint32_t)len};
    pthread_mutex_lock(&ctx->trace_lock);
    /* A record that would pass the limit is left out: the trace still parses. */
    if (len <= UINT32_MAX && ctx->trace_bytes + sizeof(rec) + len <= PV_CAPTURE_TRACE_MAX) {
        if (pv_io_write_all(ctx->trace_fd, &rec, sizeof(rec)) == 0 &&
            (!len || pv_io_write_all(ctx->trace_fd, data, len) == 0))
            ctx->trace_bytes += sizeof(rec) + len;
    }
    pthread_mutex_unlock(&ctx->trace_lock);
}
