/*
 * gpu/vtest/proto: the vtest wire format and its pure parsers (bytes in,
 * parsed message or error out). No I/O, no renderer, so the unit tests and a
 * fuzz target can reach every rejection path with handcrafted bytes.
 *
 * Trust:   all input is client controlled. Every function here checks
 *          lengths, counts and offsets with overflow-safe arithmetic and
 *          names the violation in *why (a static string, safe to log).
 * Spec:    docs/venus-protocol.md §1.2 to §1.4.
 */
#ifndef PV_VTEST_PROTO_H
#define PV_VTEST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header: {payload length, command id}, little-endian dwords. */
#define PV_VTEST_HDR_DWORDS 2u
#define PV_VTEST_HDR_LEN 0u
#define PV_VTEST_HDR_ID 1u

/* Protocol version this server speaks (Mesa 25.0 asks for 3). */
#define PV_VTEST_PROTOCOL_VERSION 3u

enum pv_vtest_cmd {
    PV_VTEST_GET_CAPS = 1,
    PV_VTEST_RESOURCE_CREATE = 2,
    PV_VTEST_RESOURCE_UNREF = 3,
    PV_VTEST_TRANSFER_GET = 4,
    PV_VTEST_TRANSFER_PUT = 5,
    PV_VTEST_SUBMIT_CMD = 6,
    PV_VTEST_RESOURCE_BUSY_WAIT = 7,
    PV_VTEST_CREATE_RENDERER = 8,
    PV_VTEST_GET_CAPS2 = 9,
    PV_VTEST_PING_PROTOCOL_VERSION = 10,
    PV_VTEST_PROTOCOL_VERSION_CMD = 11,
    PV_VTEST_RESOURCE_CREATE2 = 12,
    PV_VTEST_TRANSFER_GET2 = 13,
    PV_VTEST_TRANSFER_PUT2 = 14,
    PV_VTEST_GET_PARAM = 15,
    PV_VTEST_GET_CAPSET = 16,
    PV_VTEST_CONTEXT_INIT = 17,
    PV_VTEST_RESOURCE_CREATE_BLOB = 18,
    PV_VTEST_SYNC_CREATE = 19,
    PV_VTEST_SYNC_UNREF = 20,
    PV_VTEST_SYNC_READ = 21,
    PV_VTEST_SYNC_WRITE = 22,
    PV_VTEST_SYNC_WAIT = 23,
    PV_VTEST_SUBMIT_CMD2 = 24,
};

#define PV_VTEST_PARAM_MAX_TIMELINE_COUNT 1u

#define PV_VTEST_BLOB_TYPE_GUEST 1u
#define PV_VTEST_BLOB_TYPE_HOST3D 2u
#define PV_VTEST_BLOB_TYPE_HOST3D_GUEST 3u

#define PV_VTEST_SYNC_WAIT_FLAG_ANY 0x1u
#define PV_VTEST_SUBMIT_FLAG_RING_IDX 0x1u

/* Limits on what one client may send or hold. */
#define PV_VTEST_MAX_NAME_BYTES (1u << 20)          /* CREATE_RENDERER */
#define PV_VTEST_MAX_SUBMIT_BYTES (64u << 20)       /* SUBMIT_CMD2 payload */
#define PV_VTEST_MAX_SYNCS 65536u                   /* live syncs per client */
#define PV_VTEST_MAX_WAIT_SYNCS PV_VTEST_MAX_SYNCS  /* syncs in one SYNC_WAIT */

/* One batch of SUBMIT_CMD2 as the client writes it: 6 dwords. */
#define PV_VTEST_BATCH_DWORDS 6u
/* A sync reference: {sync_id, value_lo, value_hi}. */
#define PV_VTEST_SYNC_REF_DWORDS 3u

/*
 * Checks a header before its payload is read. `have_renderer` is whether
 * CREATE_RENDERER was already received. On success *payload_bytes is how
 * many bytes follow (CREATE_RENDERER counts bytes, every other command
 * dwords) and 0 is returned; otherwise -EPROTO and *why says what was wrong.
 */
int pv_vtest_check_header(uint32_t len, uint32_t id, bool have_renderer, size_t *payload_bytes,
                          const char **why);

/* A sync reference inside a payload; values are split on the wire. */
struct pv_vtest_sync_ref {
    uint32_t id;
    uint64_t value;
};

/* Reads reference `i` of a triple array that the parser already bounded. */
static inline struct pv_vtest_sync_ref
pv_vtest_sync_ref_at(const uint32_t *triples, uint32_t i)
{
    const uint32_t *t = triples + (size_t)i * PV_VTEST_SYNC_REF_DWORDS;
    return (struct pv_vtest_sync_ref){
        .id = t[0],
        .value = (uint64_t)t[1] | ((uint64_t)t[2] << 32),
    };
}

struct pv_vtest_sync_wait {
    uint32_t flags;
    uint32_t timeout_ms; /* UINT32_MAX (anything > INT32_MAX) = forever */
    uint32_t count;
    const uint32_t *triples; /* count sync refs, inside the payload */
};

/* Parses a SYNC_WAIT payload of `len` dwords; 0 or -EPROTO with *why. */
int pv_vtest_parse_sync_wait(const uint32_t *p, uint32_t len, struct pv_vtest_sync_wait *out,
                             const char **why);

struct pv_vtest_batch {
    uint32_t flags;
    uint32_t ring_idx;
    const void *cmds; /* cmd_bytes bytes inside the payload */
    size_t cmd_bytes;
    const uint32_t *syncs; /* sync_count refs inside the payload */
    uint32_t sync_count;
};

struct pv_vtest_submit2 {
    const uint32_t *payload;
    uint32_t len; /* dwords */
    uint32_t batch_count;
};

/*
 * Parses and checks a whole SUBMIT_CMD2 payload of `len` dwords: at least
 * one batch, every batch's command range and sync triples inside the
 * payload and after the batch headers, ring_idx below `max_rings`. Nothing
 * of a submit runs unless all of it passed. 0 or -EPROTO with *why.
 */
int pv_vtest_parse_submit2(const uint32_t *p, uint32_t len, uint32_t max_rings,
                           struct pv_vtest_submit2 *out, const char **why);

/* Batch `i` (< batch_count) of a submit that pv_vtest_parse_submit2 accepted. */
void pv_vtest_submit2_batch(const struct pv_vtest_submit2 *s, uint32_t i,
                            struct pv_vtest_batch *out);

/* Command name for log lines ("?" for ids outside the table). */
const char *pv_vtest_cmd_name(uint32_t id);

#endif /* PV_VTEST_PROTO_H */
