/* gpu/venus/trace: see trace.h. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int
pv_trace_open(void)
{
    const char *spec = getenv("PEARVISOR_TRACE");
    if (!spec || !*spec)
        return -1;
    char path[4096];
    size_t n = 0;
    for (const char *s = spec; *s && n < sizeof(path) - 24; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n += (size_t)snprintf(path + n, sizeof(path) - n, "%ld", (long)getpid());
            s++;
        } else {
            path[n++] = *s;
        }
    }
    path[n] = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        pv_warn("trace", "cannot open the trace file %s: %s", path, strerror(errno));
    else
        pv_warn("trace", "tracing the renderer's work into %s (PEARVISOR_TRACE is set)", path);
    return fd;
}

struct pv_trace_buf *
pv_trace_buf_new(int fd, uint32_t ctx_id, const char *chan)
{
    if (fd < 0)
        return NULL;
    struct pv_trace_buf *b = malloc(sizeof(*b));
    if (!b)
        return NULL;
    b->fd = fd;
    b->ctx_id = ctx_id;
    snprintf(b->chan, sizeof(b->chan), "%s", chan);
    b->len = 0;
    return b;
}

static void
flush(struct pv_trace_buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(b->fd, b->data + off, b->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a full disk loses trace lines, nothing else */
        off += (size_t)w;
    }
    b->len = 0;
}

void
pv_trace_buf_free(struct pv_trace_buf *b)
{
    if (!b)
        return;
    flush(b);
    free(b);
}

void
pv_trace_span(struct pv_trace_buf *b, uint64_t t0, uint64_t t1, const char *what, uint64_t arg)
{
    if (b)
        pv_trace_span_ctx(b, b->ctx_id, t0, t1, what, arg);
}

void
pv_trace_span_ctx(struct pv_trace_buf *b, uint32_t ctx_id, uint64_t t0, uint64_t t1,
                  const char *what, uint64_t arg)
{
    if (!b)
        return;
    if (PV_TRACE_BUF_SIZE - b->len < 160)
        flush(b);
    int n = snprintf(b->data + b->len, PV_TRACE_BUF_SIZE - b->len, "%llu %llu %u %s %.96s %llu\n",
                     (unsigned long long)t0, (unsigned long long)t1, ctx_id, b->chan, what,
                     (unsigned long long)arg);
    if (n > 0 && (size_t)n < PV_TRACE_BUF_SIZE - b->len)
        b->len += (size_t)n;
}
