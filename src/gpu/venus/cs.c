/*
 * gpu/venus/cs: the bump allocator behind decoded Venus arguments.
 *
 * Blocks are malloc'd, at least PV_ARENA_BLOCK_MIN bytes, and chained newest
 * first. Allocations are 16-byte aligned and zeroed. pv_arena_reset() keeps
 * the newest block (the one most likely to fit the next command) and frees
 * the rest, so a steady stream of small commands allocates nothing.
 */
#include "cs.h"

#include <stdlib.h>

#define PV_ARENA_BLOCK_MIN ((size_t)64 * 1024)
#define PV_ARENA_ALIGN ((size_t)16)

struct pv_arena_block {
    struct pv_arena_block *next; /* older block */
    size_t size;                 /* usable bytes in data[] */
    size_t pos;                  /* bytes handed out from data[] */
    _Alignas(16) unsigned char data[];
};

_Static_assert(offsetof(struct pv_arena_block, data) % 16 == 0, "block data must be 16-byte aligned");

void
pv_arena_init(struct pv_arena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
}

static void
free_chain(struct pv_arena_block *b)
{
    while (b) {
        struct pv_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void
pv_arena_reset(struct pv_arena *a)
{
    if (a->head) {
        free_chain(a->head->next);
        a->head->next = NULL;
        a->head->pos = 0;
    }
    a->used = 0;
}

void
pv_arena_fini(struct pv_arena *a)
{
    free_chain(a->head);
    a->head = NULL;
    a->used = 0;
}

void *
pv_arena_alloc(struct pv_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes == 0)
        bytes = 1; /* a valid, distinct pointer for empty arrays */
    if (bytes > SIZE_MAX - (PV_ARENA_ALIGN - 1))
        return NULL;
    size_t rounded = (bytes + PV_ARENA_ALIGN - 1) & ~(PV_ARENA_ALIGN - 1);
    if (rounded > a->limit || a->used > a->limit - rounded)
        return NULL;

    struct pv_arena_block *b = a->head;
    if (!b || b->size - b->pos < rounded) {
        size_t cap = rounded > PV_ARENA_BLOCK_MIN ? rounded : PV_ARENA_BLOCK_MIN;
        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->size = cap;
        b->pos = 0;
        if (a->head && rounded > PV_ARENA_BLOCK_MIN && a->head->pos < a->head->size) {
            /* A one-off big block: keep the current block as head so its
             * free space is still used by later small allocations. */
            b->next = a->head->next;
            a->head->next = b;
            b->pos = rounded;
            a->used += rounded;
            memset(b->data, 0, rounded);
            return b->data;
        }
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->pos;
    b->pos += rounded;
    a->used += rounded;
    memset(p, 0, rounded);
    return p;
}
