/*
 * gpu/venus/cs: Venus command-stream primitives, shared by the generated
 * decoders/encoders (generated/) and the hand-written renderer.
 *
 * Trust:   every byte a decoder reads is client controlled. Reads never pass
 *          `end`; a short read zero-fills the destination and sets the sticky
 *          *fatal flag that the owning Venus context shares. Callers check
 *          the flag once per command, not after every field.
 * Threads: a decoder or encoder belongs to one thread (a ring thread or the
 *          context's submit path) for its lifetime.
 * Spec:    docs/venus-protocol.md §3.
 */
#ifndef PV_VENUS_CS_H
#define PV_VENUS_CS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vulkan/vulkan.h>

/*
 * A bump allocator for decoded arguments. Everything a decoder allocates
 * lives until pv_arena_reset(), which the renderer calls after each command.
 * Allocation failure (over `limit`) is reported as NULL; decoders turn that
 * into a fatal error, so a client cannot make the host allocate unbounded
 * memory with huge counts.
 */
struct pv_arena {
    struct pv_arena_block *head; /* current block, newest first */
    size_t used;                 /* bytes handed out since the last reset */
    size_t limit;                /* cap on `used` */
};

void pv_arena_init(struct pv_arena *a, size_t limit);
void pv_arena_reset(struct pv_arena *a);
void pv_arena_fini(struct pv_arena *a);
/* Zeroed, 16-byte aligned; NULL past the limit or on overflow of n * size. */
void *pv_arena_alloc(struct pv_arena *a, size_t n, size_t size);

/*
 * Maps a client object id to the host handle of an object of the given
 * type. Returns false (and the decoder goes fatal) for an unknown id or an
 * object of another type. Id 0 never reaches it: decoders map 0 to
 * VK_NULL_HANDLE themselves.
 */
typedef bool (*pv_cs_lookup_fn)(void *data, uint64_t id, VkObjectType type, uint64_t *host);

/*
 * Why a context was made fatal, by the kind of check that failed (not by
 * command): the renderer counts each ("fatal_reasons" in its statistics) and
 * names it in the context's one fatal log line (pv_fatal_reason_name).
 */
enum pv_fatal_reason {
    PV_FATAL_DECODE,      /* "decode": the bytes do not decode as the command they name
                           * (short stream, bad sType or pNext chain, NULL where required) */
    PV_FATAL_OBJECT,      /* "object": unknown object id, an object of another type, or a new
                           * id that is 0 or already in use */
    PV_FATAL_UNSUPPORTED, /* "unsupported": a command type the renderer or host driver does not
                           * serve */
    PV_FATAL_LIMIT,       /* "limit": a size or count past a renderer limit (arena, rings) */
    PV_FATAL_RING,        /* "ring": a ring's layout, tail, region or seqno out of range */
    PV_FATAL_REFUSED,     /* "refused": a command's handler refused its arguments, or could not
                           * get what it needed from the host */
    PV_FATAL_TRANSPORT,   /* "transport": the front door's own framing (pv_ctx_transport_fatal) */
    PV_FATAL_LOST,        /* "lost": the render process that ran the context died (a crash
                           * in the host driver or the renderer); counted by the front door
                           * that started it (pv_renderer_stats_gone), never by the renderer */
    PV_FATAL_REASON_COUNT
};

struct pv_cs_dec {
    const uint8_t *cur;
    const uint8_t *end;
    bool *fatal;                 /* sticky, shared with the owner */
    struct pv_arena *arena;
    pv_cs_lookup_fn lookup;      /* NULL: ids pass through unchanged (tests, replay) */
    void *lookup_data;
    const char *fatal_reason;    /* static string naming the first failure */
    enum pv_fatal_reason fatal_kind; /* and its kind */
};

struct pv_cs_enc {
    uint8_t *cur;
    uint8_t *end;
    bool *fatal;                 /* set when the output does not fit */
};

static inline void
pv_cs_dec_init(struct pv_cs_dec *d, const void *data, size_t size, bool *fatal,
               struct pv_arena *arena)
{
    d->cur = (const uint8_t *)data;
    d->end = d->cur + size;
    d->fatal = fatal;
    d->arena = arena;
    d->lookup = NULL;
    d->lookup_data = NULL;
    d->fatal_reason = NULL;
    d->fatal_kind = PV_FATAL_REFUSED; /* a handler that failed without saying why */
}

/* The first failure wins: its reason and kind are what the context reports. */
static inline void
pv_cs_dec_set_fatal_as(struct pv_cs_dec *d, enum pv_fatal_reason kind, const char *why)
{
    if (!*d->fatal) {
        d->fatal_reason = why;
        d->fatal_kind = kind;
    }
    *d->fatal = true;
}

static inline void
pv_cs_dec_set_fatal(struct pv_cs_dec *d, const char *why)
{
    pv_cs_dec_set_fatal_as(d, PV_FATAL_DECODE, why);
}

static inline size_t
pv_cs_dec_remaining(const struct pv_cs_dec *d)
{
    return (size_t)(d->end - d->cur);
}

/* Reads `size` bytes and skips padding up to a 4-byte boundary. */
static inline bool
pv_cs_dec_read(struct pv_cs_dec *d, void *dst, size_t size)
{
    size_t padded = (size + 3) & ~(size_t)3;
    if (*d->fatal || padded < size || padded > pv_cs_dec_remaining(d)) {
        memset(dst, 0, size);
        pv_cs_dec_set_fatal(d, "read past the end of the stream");
        return false;
    }
    memcpy(dst, d->cur, size);
    d->cur += padded;
    return true;
}

/* Like pv_cs_dec_read but leaves the cursor where it is. */
static inline bool
pv_cs_dec_peek(struct pv_cs_dec *d, void *dst, size_t size)
{
    if (*d->fatal || size > pv_cs_dec_remaining(d)) {
        memset(dst, 0, size);
        pv_cs_dec_set_fatal(d, "read past the end of the stream");
        return false;
    }
    memcpy(dst, d->cur, size);
    return true;
}

static inline void *
pv_cs_dec_alloc(struct pv_cs_dec *d, size_t n, size_t size)
{
    if (*d->fatal)
        return NULL;
    void *p = pv_arena_alloc(d->arena, n, size);
    if (!p && n && size)
        pv_cs_dec_set_fatal_as(d, PV_FATAL_LIMIT, "decoded arguments exceed the arena limit");
    return p;
}

static inline bool
pv_cs_enc_write(struct pv_cs_enc *e, const void *src, size_t size)
{
    size_t padded = (size + 3) & ~(size_t)3;
    if (*e->fatal || padded < size || padded > (size_t)(e->end - e->cur)) {
        *e->fatal = true;
        return false;
    }
    memcpy(e->cur, src, size);
    if (padded > size)
        memset(e->cur + size, 0, padded - size);
    e->cur += padded;
    return true;
}

#endif /* PV_VENUS_CS_H */
