/*
 * gpu/venus/objects: the per-context object table, mapping the 64-bit ids a
 * client chooses for its Vulkan objects to host handles, and the lifetimes
 * (struct pv_life) that keep a device's or an instance's renderer state
 * alive while a command uses it.
 *
 * Trust:   ids come from the client. Insert refuses 0 and ids in use;
 *          lookup checks the object type, so an id of another type, of
 *          another context or of a destroyed object is never a valid handle.
 * Threads: all entry points take the table's mutex; several ring threads and
 *          the front door use one table at once. Lookups copy the entry out
 *          (nobody keeps a pointer into the table), and pv_objtab_pin also
 *          takes a reference on the entry's life, so a device or instance
 *          another ring destroys meanwhile goes away only after the last
 *          command using it (docs/ARCHITECTURE.md, Threads).
 */
#ifndef PV_VENUS_OBJECTS_H
#define PV_VENUS_OBJECTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

struct pv_device;

/*
 * The lifetime of a device or an instance: one reference held while the
 * client has not destroyed it (the table's), one per command in flight
 * that uses it (pins), one per device of an instance, one per pending
 * context fence of a device. The thread that drops the last runs `last`,
 * which destroys the host object and what hangs off it.
 */
struct pv_life {
    atomic_uint refs;
    atomic_bool dead;       /* destroyed by the client: no new pins */
    void (*last)(struct pv_life *);
};

static inline void
pv_life_init(struct pv_life *l, void (*last)(struct pv_life *))
{
    atomic_init(&l->refs, 1);
    atomic_init(&l->dead, false);
    l->last = last;
}

/* A new reference unless the life has ended (or, for `pin`, was destroyed). */
static inline bool
pv_life_get(struct pv_life *l, bool pin)
{
    if (pin && atomic_load(&l->dead))
        return false;
    unsigned n = atomic_load(&l->refs);
    do {
        if (!n)
            return false;
    } while (!atomic_compare_exchange_weak(&l->refs, &n, n + 1));
    return true;
}

static inline void
pv_life_put(struct pv_life *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1)
        l->last(l);
}

/* The client destroyed it: refuse new pins, drop the table's reference. */
static inline void
pv_life_kill(struct pv_life *l)
{
    if (!atomic_exchange(&l->dead, true))
        pv_life_put(l);
}

/* Per-object flags. */
#define PV_OBJ_TIMELINE 0x1u /* a timeline semaphore */

struct pv_obj {
    uint64_t id;
    uint64_t host;          /* host handle bits */
    VkObjectType type;
    uint32_t flags;         /* PV_OBJ_* */
    struct pv_device *dev;  /* owning device; NULL for instance-level objects */
    struct pv_life *life;   /* the device's, or for instance-level objects the instance's */
    uint64_t parent;        /* host handle of the pool of a command buffer or descriptor set */
    void *priv;             /* type-specific renderer state, owned by the dispatch code;
                             * the pv_instance for instance-level objects */
};

struct pv_objtab {
    pthread_mutex_t lock;
    struct pv_obj **slots;  /* open addressing, linear probing; NULL = empty */
    uint32_t cap;           /* power of two */
    uint32_t count;
    uint32_t tombstones;
    uint32_t limit;         /* most objects at once (the context's budget) */
};

int pv_objtab_init(struct pv_objtab *t, uint32_t limit);
/* Frees the table's memory only; destroying host objects is the caller's job. */
void pv_objtab_fini(struct pv_objtab *t);

/* 0 on success; -EEXIST for id 0 or an id in use; -ENOMEM; -ENOSPC past `limit` objects. */
int pv_objtab_insert(struct pv_objtab *t, const struct pv_obj *obj);
/* Copies the object `id` of `type` (VK_OBJECT_TYPE_UNKNOWN: any type); false if none. */
bool pv_objtab_get(struct pv_objtab *t, uint64_t id, VkObjectType type, struct pv_obj *out);
/*
 * pv_objtab_get, and a reference on out->life (when it has one): false too
 * when that device or instance was destroyed. Drop it with pv_life_put().
 */
bool pv_objtab_pin(struct pv_objtab *t, uint64_t id, VkObjectType type, struct pv_obj *out);
/* Calls fn on the object with the table locked (fn must not call the table). */
bool pv_objtab_with(struct pv_objtab *t, uint64_t id, VkObjectType type,
                    void (*fn)(const struct pv_obj *, void *), void *data);
bool pv_objtab_set_flags(struct pv_objtab *t, uint64_t id, VkObjectType type, uint32_t flags);
bool pv_objtab_contains(struct pv_objtab *t, uint64_t id);
/* Removes and returns the object (caller frees it with free()), NULL if absent or of another type. */
struct pv_obj *pv_objtab_remove(struct pv_objtab *t, uint64_t id, VkObjectType type);

/*
 * Removes every object `match` accepts and hands each to `fn` (outside no
 * lock: the table is locked during the walk, so `fn` must not call back into
 * the table). Used for pool resets and device or context teardown.
 */
void pv_objtab_remove_if(struct pv_objtab *t, bool (*match)(const struct pv_obj *, void *),
                         void (*fn)(struct pv_obj *, void *), void *data);

/* The pv_cs_lookup_fn the generated decoders call. */
bool pv_objtab_lookup_host(void *table, uint64_t id, VkObjectType type, uint64_t *host);

#endif /* PV_VENUS_OBJECTS_H */
