/*
 * gpu/vtest/sync: one client's vtest syncs (64-bit counters modelled on
 * timeline semaphores), its pending SYNC_WAITs, and its per-ring lists of
 * submits whose syncs are set when the renderer retires their fence.
 *
 * Trust:   sync ids, values and counts come from the client; unknown ids
 *          return -ENOENT, too many syncs or waits -ENOSPC (the caller drops
 *          the client).
 * Threads: one lock per client. The client thread creates, writes, waits
 *          and queues; renderer threads call pv_vtest_syncs_retire(). No
 *          function calls out of this module with the lock held.
 * Spec:    docs/venus-protocol.md §1.6.
 */
#ifndef PV_VTEST_SYNC_H
#define PV_VTEST_SYNC_H

#include <stdint.h>

struct pv_vtest_syncs;

/* Pending SYNC_WAITs a client may hold at once. */
#define PV_VTEST_MAX_WAITS 1024u

/* `rings` is the number of timelines (ring_idx values) accepted. */
int pv_vtest_syncs_create(uint32_t rings, struct pv_vtest_syncs **out);
/* Frees everything, closing the eventfds of waits that never completed. */
void pv_vtest_syncs_destroy(struct pv_vtest_syncs *s);

/* New sync with `value`; *id from 1, recycled. 0, -ENOSPC or -ENOMEM. */
int pv_vtest_sync_create(struct pv_vtest_syncs *s, uint64_t value, uint32_t *id);
/* Drops the client's reference; unknown ids are ignored (as virglrenderer). */
void pv_vtest_sync_unref(struct pv_vtest_syncs *s, uint32_t id);
/* 0 or -ENOENT. */
int pv_vtest_sync_read(struct pv_vtest_syncs *s, uint32_t id, uint64_t *value);
/* Sets the counter (it may go down); wakes satisfied waits. 0 or -ENOENT. */
int pv_vtest_sync_write(struct pv_vtest_syncs *s, uint32_t id, uint64_t value);

/*
 * Registers a wait on `count` sync refs (triples as on the wire): all of them
 * (or any, with PV_VTEST_SYNC_WAIT_FLAG_ANY) reaching their values. *fd gets
 * a new eventfd the caller sends to the client and then closes; it becomes
 * readable once the condition holds (at once if it already does). The wait
 * is forgotten after timeout_ms (never for values > INT32_MAX).
 * 0, -ENOENT (unknown sync), -ENOSPC (too many waits, or more sync refs in
 * pending waits than their budget) or -errno.
 */
int pv_vtest_sync_wait(struct pv_vtest_syncs *s, uint32_t flags, uint32_t timeout_ms,
                       const uint32_t *triples, uint32_t count, int *fd);

/* 0 if every sync id among the triples exists, else -ENOENT. */
int pv_vtest_syncs_check(struct pv_vtest_syncs *s, const uint32_t *triples, uint32_t count);

/* Sets each referenced sync to its value now, in order. 0 or -ENOENT. */
int pv_vtest_syncs_signal(struct pv_vtest_syncs *s, const uint32_t *triples, uint32_t count);

/*
 * Queues "set these syncs" on timeline `ring` behind fence `fence_id`
 * (strictly increasing per client). 0, -ENOENT, -ENOMEM, or -ENOSPC when
 * the client's queued submits would hold more than their budget of sync refs.
 */
int pv_vtest_syncs_queue(struct pv_vtest_syncs *s, uint32_t ring, uint64_t fence_id,
                         const uint32_t *triples, uint32_t count);

/*
 * Fence `fence_id` on `ring` retired: applies, in order, every queued submit
 * of that ring up to and including it. Safe from any thread.
 */
void pv_vtest_syncs_retire(struct pv_vtest_syncs *s, uint32_t ring, uint64_t fence_id);

#endif /* PV_VTEST_SYNC_H */
