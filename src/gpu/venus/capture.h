/*
 * gpu/venus/capture: recording what real clients send, for fuzz seeds
 * (PEARVISOR_CAPTURE_DIR; off unless that variable is set).
 *
 * Why in the renderer and not in a socket proxy: most of a Venus client's
 * commands travel through rings and indirect streams in shared memory, which
 * no proxy sees, and only the renderer knows the moment it copied a ring's
 * bytes out (so the recording holds exactly the bytes it decoded).
 *
 * Two recordings, both into the capture directory:
 *   - every stream the renderer is about to decode (a submit, a ring's new
 *     bytes, an indirect stream), one file each, `ctx<ID>-<PID>-<CHANNEL>-<N>.venus`:
 *     seeds for fuzz/targets/venus_decode.c;
 *   - per context, one trace `ctx<ID>-<PID>.trace` of the calls a front door
 *     made on it and what its rings read, in the order the renderer saw them:
 *     fuzz/tools/trace2api.py turns it into a program for
 *     fuzz/targets/renderer_api.c.
 *
 * Trace format (little endian): the 8 bytes "PVTRACE1", then records, each
 * a struct pv_capture_record followed by `len` bytes. Kinds and fields:
 *   SUBMIT       the bytes of a pv_ctx_submit (before it runs)
 *   SUBMIT_DONE  a 1 when they all ran (ring records between the two came
 *                from ring threads meanwhile)
 *   BLOB         a res_id, b blob_id, c size, d flags | (u32)result << 32
 *   IMPORT       a res_id, c size, d (u32)result << 32
 *   UNREF        a res_id
 *   FENCE        a ring_idx, b fence_id
 *   RING_READ    b ring id; the bytes a ring copied out (before it decodes them)
 *   RING_DONE    b ring id, a 1 when they all ran, 0 when the ring went fatal
 *   EXEC         a res_id, b offset, c ring id, d 1 on a ring (0: the context
 *                channel); the bytes of an indirect stream
 *   TRANSPORT_FATAL  (no fields) the front door made the context fatal
 *
 * Threads: records come from the front door's thread and the ring threads;
 *          one lock per context orders them. A trace stops growing past
 *          PV_CAPTURE_TRACE_MAX bytes, stream files past 256 per context.
 */
#ifndef PV_VENUS_CAPTURE_H
#define PV_VENUS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct pv_ctx;

enum pv_capture_kind {
    PV_CAPTURE_SUBMIT = 1,
    PV_CAPTURE_BLOB = 2,
    PV_CAPTURE_IMPORT = 3,
    PV_CAPTURE_UNREF = 4,
    PV_CAPTURE_FENCE = 5,
    PV_CAPTURE_RING_READ = 6,
    PV_CAPTURE_RING_DONE = 7,
    PV_CAPTURE_EXEC = 8,
    PV_CAPTURE_TRANSPORT_FATAL = 9,
    PV_CAPTURE_SUBMIT_DONE = 10,
};

struct pv_capture_record {
    uint32_t kind;
    uint32_t a;
    uint64_t b, c, d;
    uint32_t len;
    uint32_t reserved;
};
_Static_assert(sizeof(struct pv_capture_record) == 40, "trace record layout");

#define PV_CAPTURE_TRACE_MAX (64ull << 20)

/* At context creation and destruction: opens and closes its trace, when capturing. */
void pv_capture_ctx_init(struct pv_ctx *ctx);
void pv_capture_ctx_fini(struct pv_ctx *ctx);

/* Writes a stream the context is about to decode to its own file, when capturing. */
void pv_capture_stream(struct pv_ctx *ctx, const char *channel, const void *data, size_t size);

/* Appends one record (and `len` bytes of data) to the context's trace, when capturing. */
void pv_capture_event(struct pv_ctx *ctx, enum pv_capture_kind kind, uint32_t a, uint64_t b,
                      uint64_t c, uint64_t d, const void *data, size_t len);

#endif /* PV_VENUS_CAPTURE_H */
