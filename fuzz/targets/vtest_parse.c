/*
 * fuzz/vtest_parse: the vtest message parsers, fed arbitrary client streams.
 *
 * The input is what a client writes to the socket: a sequence of
 * {len, id} headers and payloads. Each header goes through
 * pv_vtest_check_header exactly as the server's read loop uses it (the
 * first message must be CREATE_RENDERER; its length counts bytes), each
 * payload is copied into a buffer of exactly the announced size (so ASan
 * sees any read past it), and SUBMIT_CMD2 and SYNC_WAIT payloads go through
 * their parsers. Every byte range a parser accepts is then read in full:
 * the batches' command bytes and sync triples must lie inside the payload,
 * whatever the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the reads from being optimized away. */
static volatile uint32_t sink;

static void
touch(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += b[i];
    sink += acc;
}

static void
parse_submit2(const uint32_t *p, uint32_t len)
{
    struct pv_vtest_submit2 sub;
    const char *why = NULL;
    if (pv_vtest_parse_submit2(p, len, 64, &sub, &why)) {
        if (!why)
            abort(); /* a rejection must say why */
        return;
    }
    if (!sub.batch_count)
        abort(); /* "at least one batch" */
    for (uint32_t i = 0; i < sub.batch_count; i++) {
        struct pv_vtest_batch b;
        pv_vtest_submit2_batch(&sub, i, &b);
        if (b.ring_idx >= 64 && (b.flags & PV_VTEST_SUBMIT_FLAG_RING_IDX))
            abort();
        touch(b.cmds, b.cmd_bytes);
        for (uint32_t k = 0; k < b.sync_count; k++) {
            struct pv_vtest_sync_ref r = pv_vtest_sync_ref_at(b.syncs, k);
            sink += r.id + (uint32_t)r.value;
        }
    }
}

static void
parse_sync_wait(const uint32_t *p, uint32_t len)
{
    struct pv_vtest_sync_wait w;
    const char *why = NULL;
    if (pv_vtest_parse_sync_wait(p, len, &w, &why)) {
        if (!why)
            abort();
        return;
    }
    for (uint32_t k = 0; k < w.count; k++) {
        struct pv_vtest_sync_ref r = pv_vtest_sync_ref_at(w.triples, k);
        sink += r.id + (uint32_t)r.value;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool named = false;
    while (size >= 8) {
        uint32_t hdr[2];
        memcpy(hdr, data, 8);
        data += 8;
        size -= 8;
        size_t bytes = 0;
        const char *why = NULL;
        if (pv_vtest_check_header(hdr[PV_VTEST_HDR_LEN], hdr[PV_VTEST_HDR_ID], named, &bytes,
                                  &why)) {
            if (!why)
                abort();
            break; /* the server drops the client here */
        }
        if (bytes > size)
            break; /* payload cut short: dropped */
        /* Exactly the payload, dword-aligned like the server's buffer. */
        uint32_t *payload = malloc(bytes ? bytes : 1);
        if (!payload)
            break;
        memcpy(payload, data, bytes);
        data += bytes;
        size -= bytes;

        uint32_t id = hdr[PV_VTEST_HDR_ID], len = hdr[PV_VTEST_HDR_LEN];
        if (id == PV_VTEST_CREATE_RENDERER) {
            named = true;
        } else if (id == PV_VTEST_SUBMIT_CMD2) {
            if ((size_t)len * 4 != bytes)
                abort(); /* the header check must size dword payloads */
            parse_submit2(payload, len);
        } else if (id == PV_VTEST_SYNC_WAIT) {
            parse_sync_wait(payload, len);
        }
        free(payload);
    }
    return 0;
}
