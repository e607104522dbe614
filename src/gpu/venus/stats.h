/*
 * gpu/venus/stats: the renderer's live counters, read by `pearvisor stats`
 * through a control socket.
 *
 * Threads: counters are relaxed atomics bumped from any renderer thread;
 *          a reader sees each one current, not all of them at one instant.
 */
#ifndef PV_VENUS_STATS_H
#define PV_VENUS_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cs.h"
#include "pvg.gen.h"

struct pv_stats {
    atomic_uint_fast64_t contexts_created;
    atomic_uint_fast64_t contexts_fatal;
    atomic_uint_fast64_t fatal_reasons[PV_FATAL_REASON_COUNT]; /* contexts_fatal by reason */
    atomic_uint_fast64_t commands[PVG_CMD_COUNT];
    /* Host time spent in each command, only with PEARVISOR_PROFILE_COMMANDS=1. */
    atomic_uint_fast64_t command_ns[PVG_CMD_COUNT];
    atomic_uint_fast64_t ring_bytes;
    atomic_uint_fast64_t submit_bytes;
    atomic_uint_fast64_t ring_sleeps;      /* a ring went idle and waited for a notify */
    atomic_uint_fast64_t ring_notifies;
    atomic_uint_fast64_t blobs_created;
    atomic_uint_fast64_t blob_bytes;       /* total size of blobs handed out */
    atomic_uint_fast64_t fences_retired;

    /* The control socket, when one was asked for. */
    int listen_fd;
    int stop_fd;
    char *path;
    pthread_t thread;
    int thread_started;
};

#define PV_STAT_ADD(r, field, n) atomic_fetch_add_explicit(&(r)->stats.field, (n), memory_order_relaxed)

/* "decode", "object", ...: the key of the reason in the statistics and its log lines. */
const char *pv_fatal_reason_name(enum pv_fatal_reason reason);

struct pv_renderer;
int pv_stats_server_start(struct pv_renderer *r, const char *path);
void pv_stats_server_stop(struct pv_renderer *r);

#endif /* PV_VENUS_STATS_H */
