/* gpu/venus/stats: counters as JSON, and the control socket that serves them. See stats.h. */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "context.h"
#include "io.h"
#include "log.h"

const char *
pv_fatal_reason_name(enum pv_fatal_reason reason)
{
    static const char *const names[PV_FATAL_REASON_COUNT] = {
        [PV_FATAL_DECODE] = "decode",
        [PV_FATAL_OBJECT] = "object",
        [PV_FATAL_UNSUPPORTED] = "unsupported",
        [PV_FATAL_LIMIT] = "limit",
        [PV_FATAL_RING] = "ring",
        [PV_FATAL_REFUSED] = "refused",
        [PV_FATAL_TRANSPORT] = "transport",
        [PV_FATAL_LOST] = "lost",
    };
    const char *name = (unsigned)reason < PV_FATAL_REASON_COUNT ? names[reason] : NULL;
    return name ? name : "unknown";
}

static uint64_t
get(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

size_t
pv_renderer_stats_json(struct pv_renderer *r, char *buf, size_t size)
{
    struct pv_stats *s = &r->stats;
    size_t n = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        int w = snprintf(buf ? buf + (n < size ? n : size) : NULL,                                 \
                         buf && n < size ? size - n : 0, __VA_ARGS__);                             \
        if (w > 0)                                                                                 \
            n += (size_t)w;                                                                        \
    } while (0)
    OUT("{\"contexts_active\":%u,\"contexts_created\":%llu,\"contexts_fatal\":%llu,",
        atomic_load(&r->ctx_count), (unsigned long long)get(&s->contexts_created),
        (unsigned long long)get(&s->contexts_fatal));
    /* Every reason, zeros included, so that readers find each key. */
    OUT("\"fatal_reasons\":{");
    for (int i = 0; i < PV_FATAL_REASON_COUNT; i++)
        OUT("%s\"%s\":%llu", i ? "," : "", pv_fatal_reason_name((enum pv_fatal_reason)i),
            (unsigned long long)get(&s->fatal_reasons[i]));
    OUT("},");
    OUT("\"ring_bytes\":%llu,\"submit_bytes\":%llu,\"ring_sleeps\":%llu,\"ring_notifies\":%llu,",
        (unsigned long long)get(&s->ring_bytes), (unsigned long long)get(&s->submit_bytes),
        (unsigned long long)get(&s->ring_sleeps), (unsigned long long)get(&s->ring_notifies));
    OUT("\"blobs_created\":%llu,\"blob_bytes\":%llu,\"fences_retired\":%llu,",
        (unsigned long long)get(&s->blobs_created), (unsigned long long)get(&s->blob_bytes),
        (unsigned long long)get(&s->fences_retired));
    OUT("\"commands\":{");
    bool first = true;
    uint64_t total = 0;
    for (uint32_t i = 0; i < PVG_CMD_COUNT; i++) {
        uint64_t c = get(&s->commands[i]);
        if (!c || !pvg_command_infos[i].name)
            continue;
        total += c;
        OUT("%s\"%s\":%llu", first ? "" : ",", pvg_command_infos[i].name, (unsigned long long)c);
        first = false;
    }
    OUT("},\"commands_total\":%llu", (unsigned long long)total);
    if (r->profile_commands) {
        /* Microseconds of host time per command type, busiest first is the reader's job. */
        OUT(",\"command_us\":{");
        first = true;
        for (uint32_t i = 0; i < PVG_CMD_COUNT; i++) {
            uint64_t ns = get(&s->command_ns[i]);
            if (!ns || !pvg_command_infos[i].name)
                continue;
            OUT("%s\"%s\":%llu", first ? "" : ",", pvg_command_infos[i].name,
                (unsigned long long)(ns / 1000));
            first = false;
        }
        OUT("}");
    }
    OUT("}\n");
#undef OUT
    if (buf && size)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

/*
 * The counters in the order of pv_renderer_stats_save, after its vals[0]
 * (the level): the scalars, the fatal reasons, the commands, their host times.
 */
static const size_t scalar_offsets[] = {
    offsetof(struct pv_stats, contexts_created), offsetof(struct pv_stats, contexts_fatal),
    offsetof(struct pv_stats, ring_bytes),       offsetof(struct pv_stats, submit_bytes),
    offsetof(struct pv_stats, ring_sleeps),      offsetof(struct pv_stats, ring_notifies),
    offsetof(struct pv_stats, blobs_created),    offsetof(struct pv_stats, blob_bytes),
    offsetof(struct pv_stats, fences_retired),
};
#define N_SCALARS (sizeof(scalar_offsets) / sizeof(scalar_offsets[0]))
#define N_COUNTS (N_SCALARS + PV_FATAL_REASON_COUNT + 2 * PVG_CMD_COUNT)
#define N_VALS (1 + N_COUNTS)
/* A counter added to struct pv_stats must be added here too (render processes report it). */
_Static_assert(offsetof(struct pv_stats, listen_fd) ==
                   N_COUNTS * sizeof(atomic_uint_fast64_t),
               "every counter of struct pv_stats is in pv_renderer_stats_save's order");

static atomic_uint_fast64_t *
count_at(struct pv_stats *s, size_t i)
{
    if (i < N_SCALARS)
        return (atomic_uint_fast64_t *)((char *)s + scalar_offsets[i]);
    i -= N_SCALARS;
    if (i < PV_FATAL_REASON_COUNT)
        return &s->fatal_reasons[i];
    i -= PV_FATAL_REASON_COUNT;
    if (i < PVG_CMD_COUNT)
        return &s->commands[i];
    return &s->command_ns[i - PVG_CMD_COUNT];
}

size_t
pv_renderer_stats_save(struct pv_renderer *r, uint64_t *vals, size_t n)
{
    if (n > 0)
        vals[0] = atomic_load(&r->ctx_count);
    for (size_t i = 0; i < N_COUNTS && i + 1 < n; i++)
        vals[i + 1] = get(count_at(&r->stats, i));
    return N_VALS;
}

int
pv_renderer_stats_add(struct pv_renderer *r, const uint64_t *before, const uint64_t *now,
                      size_t n)
{
    if (n != N_VALS)
        return -EINVAL;
    /* Unsigned arithmetic: a level that went down adds its wrapped difference. */
    atomic_fetch_add(&r->ctx_count, (unsigned)(now[0] - (before ? before[0] : 0)));
    for (size_t i = 0; i < N_COUNTS; i++) {
        uint64_t d = now[i + 1] - (before ? before[i + 1] : 0);
        if (d)
            atomic_fetch_add_explicit(count_at(&r->stats, i), d, memory_order_relaxed);
    }
    return 0;
}

void
pv_renderer_stats_gone(struct pv_renderer *r, const uint64_t *last, size_t n, bool lost)
{
    if (last && n == N_VALS)
        atomic_fetch_sub(&r->ctx_count, (unsigned)last[0]);
    if (lost) {
        PV_STAT_ADD(r, contexts_fatal, 1);
        PV_STAT_ADD(r, fatal_reasons[PV_FATAL_LOST], 1);
    }
}

static void *
stats_thread_main(void *arg)
{
    struct pv_renderer *r = arg;
    pthread_setname_np(pthread_self(), "pv-stats");
    struct pollfd fds[2] = {{r->stats.listen_fd, POLLIN, 0}, {r->stats.stop_fd, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        int c = accept4(r->stats.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        size_t need = pv_renderer_stats_json(r, NULL, 0) + 1;
        char *buf = malloc(need);
        if (buf) {
            pv_renderer_stats_json(r, buf, need);
            pv_io_send_all(c, buf, strlen(buf)); /* a reader that left loses the rest */
            free(buf);
        }
        close(c);
    }
    return NULL;
}

int
pv_stats_server_start(struct pv_renderer *r, const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket of an earlier run */
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    chmod(path, 0600);
    r->stats.listen_fd = fd;
    r->stats.stop_fd = eventfd(0, EFD_CLOEXEC);
    r->stats.path = strdup(path);
    if (r->stats.stop_fd < 0 || !r->stats.path ||
        pthread_create(&r->stats.thread, NULL, stats_thread_main, r)) {
        pv_stats_server_stop(r);
        return -ENOMEM;
    }
    r->stats.thread_started = 1;
    pv_info("stats", "serving renderer statistics on %s", path);
    return 0;
}

void
pv_stats_server_stop(struct pv_renderer *r)
{
    if (r->stats.thread_started) {
        uint64_t one = 1;
        ssize_t w = write(r->stats.stop_fd, &one, sizeof(one));
        (void)w;
        pthread_join(r->stats.thread, NULL);
        r->stats.thread_started = 0;
    }
    if (r->stats.listen_fd >= 0)
        close(r->stats.listen_fd);
    if (r->stats.stop_fd >= 0)
        close(r->stats.stop_fd);
    if (r->stats.path)
        unlink(r->stats.path);
    free(r->stats.path);
    r->stats.listen_fd = r->stats.stop_fd = -1;
    r->stats.path = NULL;
}
