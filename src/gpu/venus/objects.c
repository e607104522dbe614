/* gpu/venus/objects: see objects.h. */
#include "objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Marks a removed slot so probe chains stay intact. */
static struct pv_obj tombstone_marker;
#define TOMBSTONE (&tombstone_marker)

static uint32_t
hash_id(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (uint32_t)id;
}

int
pv_objtab_init(struct pv_objtab *t, uint32_t limit)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit;
    t->cap = 256;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (!t->slots)
        return -ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

void
pv_objtab_fini(struct pv_objtab *t)
{
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slots[i] && t->slots[i] != TOMBSTONE)
            free(t->slots[i]);
    free(t->slots);
    t->slots = NULL;
    pthread_mutex_destroy(&t->lock);
}

/* Index of id's slot, or of the first free slot on its probe chain (cap - 1 bound). */
static uint32_t
find_slot(const struct pv_objtab *t, uint64_t id, bool *found)
{
    uint32_t mask = t->cap - 1;
    uint32_t i = hash_id(id) & mask;
    uint32_t first_free = UINT32_MAX;
    for (uint32_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
        struct pv_obj *o = t->slots[i];
        if (!o) {
            *found = false;
            return first_free != UINT32_MAX ? first_free : i;
        }
        if (o == TOMBSTONE) {
            if (first_free == UINT32_MAX)
                first_free = i;
        } else if (o->id == id) {
            *found = true;
            return i;
        }
    }
    *found = false;
    return first_free;
}

static int
grow(struct pv_objtab *t)
{
    uint32_t old_cap = t->cap;
    struct pv_obj **old = t->slots;
    uint32_t cap = (t->count + 1) * 4 > old_cap * 2 ? old_cap * 2 : old_cap;
    struct pv_obj **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    t->slots = slots;
    t->cap = cap;
    t->tombstones = 0;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (!old[i] || old[i] == TOMBSTONE)
            continue;
        bool found;
        slots[find_slot(t, old[i]->id, &found)] = old[i];
    }
    free(old);
    return 0;
}

int
pv_objtab_insert(struct pv_objtab *t, const struct pv_obj *obj)
{
    if (!obj->id)
        return -EEXIST;
    struct pv_obj *copy = malloc(sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    *copy = *obj;
    pthread_mutex_lock(&t->lock);
    if (t->count >= t->limit) {
        pthread_mutex_unlock(&t->lock);
        free(copy);
        return -ENOSPC;
    }
    if ((t->count + t->tombstones + 1) * 4 > t->cap * 3 && grow(t)) {
        pthread_mutex_unlock(&t->lock);
        free(copy);
        return -ENOMEM;
    }
    bool found;
    uint32_t i = find_slot(t, obj->id, &found);
    if (found) {
        pthread_mutex_unlock(&t->lock);
        free(copy);
        return -EEXIST;
    }
    if (t->slots[i] == TOMBSTONE)
        t->tombstones--;
    t->slots[i] = copy;
    t->count++;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* With the lock held: the object, or NULL. */
static struct pv_obj *
find_locked(struct pv_objtab *t, uint64_t id, VkObjectType type)
{
    bool found;
    uint32_t i = find_slot(t, id, &found);
    struct pv_obj *o = found ? t->slots[i] : NULL;
    if (o && type != VK_OBJECT_TYPE_UNKNOWN && o->type != type)
        o = NULL;
    return o;
}

bool
pv_objtab_get(struct pv_objtab *t, uint64_t id, VkObjectType type, struct pv_obj *out)
{
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, type);
    if (o)
        *out = *o;
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}

bool
pv_objtab_pin(struct pv_objtab *t, uint64_t id, VkObjectType type, struct pv_obj *out)
{
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, type);
    if (o && o->life && !pv_life_get(o->life, true))
        o = NULL; /* its device or instance is being destroyed */
    if (o)
        *out = *o;
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}

bool
pv_objtab_with(struct pv_objtab *t, uint64_t id, VkObjectType type,
               void (*fn)(const struct pv_obj *, void *), void *data)
{
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, type);
    if (o)
        fn(o, data);
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}

bool
pv_objtab_set_flags(struct pv_objtab *t, uint64_t id, VkObjectType type, uint32_t flags)
{
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, type);
    if (o)
        o->flags |= flags;
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}

bool
pv_objtab_contains(struct pv_objtab *t, uint64_t id)
{
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, VK_OBJECT_TYPE_UNKNOWN);
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}

struct pv_obj *
pv_objtab_remove(struct pv_objtab *t, uint64_t id, VkObjectType type)
{
    pthread_mutex_lock(&t->lock);
    bool found;
    uint32_t i = find_slot(t, id, &found);
    struct pv_obj *o = found ? t->slots[i] : NULL;
    if (o && (type == VK_OBJECT_TYPE_UNKNOWN || o->type == type)) {
        t->slots[i] = TOMBSTONE;
        t->count--;
        t->tombstones++;
    } else {
        o = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    return o;
}

void
pv_objtab_remove_if(struct pv_objtab *t, bool (*match)(const struct pv_obj *, void *),
                    void (*fn)(struct pv_obj *, void *), void *data)
{
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->cap; i++) {
        struct pv_obj *o = t->slots[i];
        if (!o || o == TOMBSTONE || !match(o, data))
            continue;
        t->slots[i] = TOMBSTONE;
        t->count--;
        t->tombstones++;
        fn(o, data);
    }
    pthread_mutex_unlock(&t->lock);
}

bool
pv_objtab_lookup_host(void *table, uint64_t id, VkObjectType type, uint64_t *host)
{
    struct pv_objtab *t = table;
    pthread_mutex_lock(&t->lock);
    struct pv_obj *o = find_locked(t, id, type);
    if (o)
        *host = o->host;
    pthread_mutex_unlock(&t->lock);
    return o != NULL;
}
