/* gpu/vtest/sync: see sync.h. */
#include "sync.h"

#include "clock.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/*
 * Submits a client may have queued behind fences that have not retired, and
 * the sync refs they and the pending waits hold in all: memory of the
 * server's that a client could otherwise fill (a fence that never retires
 * keeps its submits forever).
 */
#define MAX_QUEUED 65536u
#define MAX_QUEUED_REFS (1u << 20)
#define MAX_WAIT_REFS (1u << 18)

struct vsync {
    uint32_t id;
    uint32_t refs; /* the client's (while live) + queued submits + waits */
    bool live;     /* still visible to the client under its id */
    uint64_t value;
};

struct sync_entry {
    struct vsync *sync; /* NULL once satisfied (wait) */
    uint64_t value;
};

struct vwait {
    struct vwait *prev, *next;
    int efd;
    uint32_t flags;
    uint64_t deadline_ns; /* UINT64_MAX: no deadline */
    uint32_t count;
    uint32_t signaled;
    struct sync_entry e[];
};

/*
 * The head of the circular wait list: the first two members of a vwait,
 * without its flexible array, so the head can sit inside another struct.
 */
struct vwait_head {
    struct vwait *prev, *next;
};
#define WAITS_HEAD(s) ((struct vwait *)&(s)->waits)

struct vsubmit {
    struct vsubmit *next;
    uint64_t fence_id;
    uint32_t count;
    struct sync_entry e[];
};

struct timeline {
    struct vsubmit *head, *tail;
};

struct pv_vtest_syncs {
    pthread_mutex_t lock;

    /* Id table: slots[id] for 1 <= id < cap; a freed id is reused only once
     * nothing refers to its sync any more, so a late fence never sets a
     * successor's counter. */
    struct vsync **slots;
    uint32_t cap;
    uint32_t *free_ids;
    uint32_t free_count;
    uint32_t next_id;
    uint32_t allocated;

    struct vwait_head waits; /* circular list head (see WAITS_HEAD) */
    uint32_t wait_count;
    uint32_t wait_refs;      /* sync refs the pending waits hold */

    struct timeline *timelines;
    uint32_t rings;
    uint32_t queued;
    uint32_t queued_refs;    /* sync refs the queued submits hold */
};

static void
efd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* non-blocking; the counter cannot overflow from our writes */
}

int
pv_vtest_syncs_create(uint32_t rings, struct pv_vtest_syncs **out)
{
    struct pv_vtest_syncs *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->timelines = calloc(rings ? rings : 1, sizeof(*s->timelines));
    if (!s->timelines) {
        free(s);
        return -ENOMEM;
    }
    s->rings = rings;
    s->next_id = 1;
    s->waits.next = s->waits.prev = WAITS_HEAD(s);
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

static void
sync_unref_locked(struct pv_vtest_syncs *s, struct vsync *sync)
{
    if (--sync->refs)
        return;
    s->slots[sync->id] = NULL;
    s->free_ids[s->free_count++] = sync->id;
    s->allocated--;
    free(sync);
}

static void
wait_free_locked(struct pv_vtest_syncs *s, struct vwait *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
    s->wait_count--;
    s->wait_refs -= w->count;
    for (uint32_t i = 0; i < w->count; i++)
        if (w->e[i].sync)
            sync_unref_locked(s, w->e[i].sync);
    close(w->efd);
    free(w);
}

void
pv_vtest_syncs_destroy(struct pv_vtest_syncs *s)
{
    if (!s)
        return;
    while (s->waits.next != WAITS_HEAD(s))
        wait_free_locked(s, s->waits.next);
    for (uint32_t r = 0; r < s->rings; r++) {
        struct vsubmit *sub = s->timelines[r].head;
        while (sub) {
            struct vsubmit *next = sub->next;
            free(sub);
            sub = next;
        }
    }
    for (uint32_t id = 1; id < s->cap; id++)
        free(s->slots[id]);
    free(s->slots);
    free(s->free_ids);
    free(s->timelines);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static struct vsync *
lookup_locked(struct pv_vtest_syncs *s, uint32_t id)
{
    if (id == 0 || id >= s->cap || !s->slots[id] || !s->slots[id]->live)
        return NULL;
    return s->slots[id];
}

/* Grows the id table so `id` fits. */
static int
reserve_locked(struct pv_vtest_syncs *s, uint32_t id)
{
    if (id < s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap * 2 : 64;
    while (cap <= id)
        cap *= 2;
    struct vsync **slots = realloc(s->slots, cap * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (uint32_t i = s->cap; i < cap; i++)
        slots[i] = NULL;
    s->slots = slots;
    uint32_t *free_ids = realloc(s->free_ids, cap * sizeof(*free_ids));
    if (!free_ids)
        return -ENOMEM;
    s->free_ids = free_ids;
    s->cap = cap;
    return 0;
}

int
pv_vtest_sync_create(struct pv_vtest_syncs *s, uint64_t value, uint32_t *id_out)
{
    int err = 0;
    pthread_mutex_lock(&s->lock);
    if (s->allocated >= PV_VTEST_MAX_SYNCS) {
        err = -ENOSPC;
        goto out;
    }
    struct vsync *sync = calloc(1, sizeof(*sync));
    if (!sync) {
        err = -ENOMEM;
        goto out;
    }
    uint32_t id = s->free_count ? s->free_ids[s->free_count - 1] : s->next_id;
    err = reserve_locked(s, id);
    if (err) {
        free(sync);
        goto out;
    }
    if (s->free_count)
        s->free_count--;
    else
        s->next_id++;
    sync->id = id;
    sync->refs = 1;
    sync->live = true;
    sync->value = value;
    s->slots[id] = sync;
    s->allocated++;
    *id_out = id;
out:
    pthread_mutex_unlock(&s->lock);
    return err;
}

void
pv_vtest_sync_unref(struct pv_vtest_syncs *s, uint32_t id)
{
    pthread_mutex_lock(&s->lock);
    struct vsync *sync = lookup_locked(s, id);
    if (sync) {
        sync->live = false;
        sync_unref_locked(s, sync);
    }
    pthread_mutex_unlock(&s->lock);
}

int
pv_vtest_sync_read(struct pv_vtest_syncs *s, uint32_t id, uint64_t *value)
{
    pthread_mutex_lock(&s->lock);
    struct vsync *sync = lookup_locked(s, id);
    if (sync)
        *value = sync->value;
    pthread_mutex_unlock(&s->lock);
    return sync ? 0 : -ENOENT;
}

/*
 * Sets a counter and completes the waits it satisfies. Only a rising value
 * can satisfy anything; a lowered one is just stored (a reset), as in
 * virglrenderer. Expired waits are collected on the way.
 */
static void
signal_locked(struct pv_vtest_syncs *s, struct vsync *sync, uint64_t value)
{
    bool rises = value > sync->value;
    sync->value = value;
    if (!rises)
        return;

    uint64_t now = pv_clock_now_ns();
    struct vwait *w = s->waits.next;
    while (w != WAITS_HEAD(s)) {
        struct vwait *next = w->next;
        if (w->deadline_ns < now) {
            wait_free_locked(s, w);
            w = next;
            continue;
        }
        bool ready = false;
        for (uint32_t i = 0; i < w->count; i++) {
            if (w->e[i].sync != sync || w->e[i].value > value)
                continue;
            sync_unref_locked(s, w->e[i].sync);
            w->e[i].sync = NULL;
            w->signaled++;
            if (w->signaled == w->count || (w->flags & PV_VTEST_SYNC_WAIT_FLAG_ANY))
                ready = true;
        }
        if (ready) {
            efd_signal(w->efd);
            wait_free_locked(s, w);
        }
        w = next;
    }
}

int
pv_vtest_sync_write(struct pv_vtest_syncs *s, uint32_t id, uint64_t value)
{
    pthread_mutex_lock(&s->lock);
    struct vsync *sync = lookup_locked(s, id);
    if (sync)
        signal_locked(s, sync, value);
    pthread_mutex_unlock(&s->lock);
    return sync ? 0 : -ENOENT;
}

static int
check_locked(struct pv_vtest_syncs *s, const uint32_t *triples, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (!lookup_locked(s, pv_vtest_sync_ref_at(triples, i).id))
            return -ENOENT;
    return 0;
}

int
pv_vtest_syncs_check(struct pv_vtest_syncs *s, const uint32_t *triples, uint32_t count)
{
    pthread_mutex_lock(&s->lock);
    int err = check_locked(s, triples, count);
    pthread_mutex_unlock(&s->lock);
    return err;
}

int
pv_vtest_syncs_signal(struct pv_vtest_syncs *s, const uint32_t *triples, uint32_t count)
{
    pthread_mutex_lock(&s->lock);
    int err = check_locked(s, triples, count);
    for (uint32_t i = 0; !err && i < count; i++) {
        struct pv_vtest_sync_ref ref = pv_vtest_sync_ref_at(triples, i);
        signal_locked(s, lookup_locked(s, ref.id), ref.value);
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* Drops waits whose timeout has passed (the client stopped polling them). */
static void
collect_expired_locked(struct pv_vtest_syncs *s)
{
    uint64_t now = pv_clock_now_ns();
    struct vwait *w = s->waits.next;
    while (w != WAITS_HEAD(s)) {
        struct vwait *next = w->next;
        if (w->deadline_ns < now)
            wait_free_locked(s, w);
        w = next;
    }
}

int
pv_vtest_sync_wait(struct pv_vtest_syncs *s, uint32_t flags, uint32_t timeout_ms,
                   const uint32_t *triples, uint32_t count, int *fd_out)
{
    struct vwait *w = calloc(1, sizeof(*w) + (size_t)count * sizeof(w->e[0]));
    if (!w)
        return -ENOMEM;
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->efd < 0) {
        int err = -errno;
        free(w);
        return err;
    }
    w->flags = flags;
    w->deadline_ns =
        timeout_ms > INT32_MAX ? UINT64_MAX : pv_clock_now_ns() + timeout_ms * 1000000ull;

    pthread_mutex_lock(&s->lock);
    int err = check_locked(s, triples, count);
    if (err)
        goto err_unlock;

    /* Keep only the refs not yet satisfied (virglrenderer does the same). */
    for (uint32_t i = 0; i < count; i++) {
        struct pv_vtest_sync_ref ref = pv_vtest_sync_ref_at(triples, i);
        struct vsync *sync = lookup_locked(s, ref.id);
        if (sync->value >= ref.value)
            continue;
        sync->refs++;
        w->e[w->count++] = (struct sync_entry){sync, ref.value};
    }
    bool ready = w->count == 0 || ((flags & PV_VTEST_SYNC_WAIT_FLAG_ANY) && w->count < count);
    if (ready || timeout_ms == 0) {
        /* Decided now: hand over the eventfd itself, nothing to remember. */
        for (uint32_t i = 0; i < w->count; i++)
            sync_unref_locked(s, w->e[i].sync);
        pthread_mutex_unlock(&s->lock);
        if (ready)
            efd_signal(w->efd);
        *fd_out = w->efd;
        free(w);
        return 0;
    }

    collect_expired_locked(s);
    if (s->wait_count >= PV_VTEST_MAX_WAITS || w->count > MAX_WAIT_REFS - s->wait_refs) {
        err = -ENOSPC;
        goto err_unref;
    }
    /* The caller gets its own descriptor: once the wait is on the list a
     * renderer thread may complete it and close w->efd at any time. */
    *fd_out = fcntl(w->efd, F_DUPFD_CLOEXEC, 0);
    if (*fd_out < 0) {
        err = -errno;
        goto err_unref;
    }
    w->prev = s->waits.prev;
    w->next = WAITS_HEAD(s);
    w->prev->next = w;
    s->waits.prev = w;
    s->wait_count++;
    s->wait_refs += w->count;
    pthread_mutex_unlock(&s->lock);
    return 0;

err_unref:
    for (uint32_t i = 0; i < w->count; i++)
        sync_unref_locked(s, w->e[i].sync);
err_unlock:
    pthread_mutex_unlock(&s->lock);
    close(w->efd);
    free(w);
    return err;
}

int
pv_vtest_syncs_queue(struct pv_vtest_syncs *s, uint32_t ring, uint64_t fence_id,
                     const uint32_t *triples, uint32_t count)
{
    if (ring >= s->rings)
        return -EINVAL;
    struct vsubmit *sub = malloc(sizeof(*sub) + (size_t)count * sizeof(sub->e[0]));
    if (!sub)
        return -ENOMEM;
    sub->next = NULL;
    sub->fence_id = fence_id;
    sub->count = count;

    pthread_mutex_lock(&s->lock);
    int err = check_locked(s, triples, count);
    if (!err && (s->queued >= MAX_QUEUED || count > MAX_QUEUED_REFS - s->queued_refs))
        err = -ENOSPC;
    if (err) {
        pthread_mutex_unlock(&s->lock);
        free(sub);
        return err;
    }
    for (uint32_t i = 0; i < count; i++) {
        struct pv_vtest_sync_ref ref = pv_vtest_sync_ref_at(triples, i);
        struct vsync *sync = lookup_locked(s, ref.id);
        sync->refs++;
        sub->e[i] = (struct sync_entry){sync, ref.value};
    }
    struct timeline *t = &s->timelines[ring];
    if (t->tail)
        t->tail->next = sub;
    else
        t->head = sub;
    t->tail = sub;
    s->queued++;
    s->queued_refs += count;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void
pv_vtest_syncs_retire(struct pv_vtest_syncs *s, uint32_t ring, uint64_t fence_id)
{
    if (ring >= s->rings)
        return;
    pthread_mutex_lock(&s->lock);
    struct timeline *t = &s->timelines[ring];
    /* Fences of one ring retire in order, so everything queued up to this
     * fence is done; later ones stay. */
    while (t->head && t->head->fence_id <= fence_id) {
        struct vsubmit *sub = t->head;
        t->head = sub->next;
        if (!t->head)
            t->tail = NULL;
        s->queued--;
        s->queued_refs -= sub->count;
        for (uint32_t i = 0; i < sub->count; i++) {
            signal_locked(s, sub->e[i].sync, sub->e[i].value);
            sync_unref_locked(s, sub->e[i].sync);
        }
        free(sub);
    }
    pthread_mutex_unlock(&s->lock);
}
