/*
 * gpu/venus/objects: the per-context object table, mapping the 64-bit ids a
 * client chooses for its Vulkan objects to host handles.
 *
 * Trust:   ids come from the client. Insert refuses 0 and ids in use;
 *          lookup checks the object type, so an id of another type, of
 *          another context or of a destroyed object is never a valid handle.
 * Threads: all entry points take the table's mutex; several ring threads of
 *          one context use the table at once. A pointer returned by lookup
 *          stays valid until that id is removed (the client's job to order).
 */
#ifndef PV_VENUS_OBJECTS_H
#define PV_VENUS_OBJECTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

struct pv_device;

struct pv_obj {
    uint64_t id;
    uint64_t host;          /* host handle bits */
    VkObjectType type;
    struct pv_device *dev;  /* owning device; NULL for instance-level objects */
    uint64_t parent;        /* host handle of the pool of a command buffer or descriptor set */
    void *priv;             /* type-specific renderer state, owned by the dispatch code */
};

struct pv_objtab {
    pthread_mutex_t lock;
    struct pv_obj **slots;  /* open addressing, linear probing; NULL = empty */
    uint32_t cap;           /* power of two */
    uint32_t count;
    uint32_t tombstones;
};

int pv_objtab_init(struct pv_objtab *t);
/* Frees the table's memory only; destroying host objects is the caller's job. */
void pv_objtab_fini(struct pv_objtab *t);

/* 0 on success; -EEXIST for id 0 or an id in use; -ENOMEM. */
int pv_objtab_insert(struct pv_objtab *t, const struct pv_obj *obj, struct pv_obj **out);
/* NULL unless `id` names a live object of `type` (VK_OBJECT_TYPE_UNKNOWN: any type). */
struct pv_obj *pv_objtab_get(struct pv_objtab *t, uint64_t id, VkObjectType type);
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
