/* gpu/vtest/proto: see proto.h. */
#include "proto.h"

#include <errno.h>

/* How a command's payload length is checked before the payload is read. */
enum len_rule {
    LEN_UNKNOWN = 0, /* not a vtest command */
    LEN_GL,          /* virgl (OpenGL) command: this server has no GL */
    LEN_FIXED,       /* exactly `dwords` */
    LEN_SYNC_WAIT,   /* 2 + 3 * count */
    LEN_SUBMIT2,     /* bounded by PV_VTEST_MAX_SUBMIT_BYTES */
    LEN_NAME,        /* CREATE_RENDERER: bytes, bounded */
};

struct cmd_info {
    const char *name;
    enum len_rule rule;
    uint32_t dwords;
};

static const struct cmd_info cmd_table[] = {
    [PV_VTEST_GET_CAPS] = {"GET_CAPS", LEN_GL, 0},
    [PV_VTEST_RESOURCE_CREATE] = {"RESOURCE_CREATE", LEN_GL, 0},
    [PV_VTEST_RESOURCE_UNREF] = {"RESOURCE_UNREF", LEN_FIXED, 1},
    [PV_VTEST_TRANSFER_GET] = {"TRANSFER_GET", LEN_GL, 0},
    [PV_VTEST_TRANSFER_PUT] = {"TRANSFER_PUT", LEN_GL, 0},
    [PV_VTEST_SUBMIT_CMD] = {"SUBMIT_CMD", LEN_GL, 0},
    [PV_VTEST_RESOURCE_BUSY_WAIT] = {"RESOURCE_BUSY_WAIT", LEN_FIXED, 2},
    [PV_VTEST_CREATE_RENDERER] = {"CREATE_RENDERER", LEN_NAME, 0},
    [PV_VTEST_GET_CAPS2] = {"GET_CAPS2", LEN_GL, 0},
    [PV_VTEST_PING_PROTOCOL_VERSION] = {"PING_PROTOCOL_VERSION", LEN_FIXED, 0},
    [PV_VTEST_PROTOCOL_VERSION_CMD] = {"PROTOCOL_VERSION", LEN_FIXED, 1},
    [PV_VTEST_RESOURCE_CREATE2] = {"RESOURCE_CREATE2", LEN_GL, 0},
    [PV_VTEST_TRANSFER_GET2] = {"TRANSFER_GET2", LEN_GL, 0},
    [PV_VTEST_TRANSFER_PUT2] = {"TRANSFER_PUT2", LEN_GL, 0},
    [PV_VTEST_GET_PARAM] = {"GET_PARAM", LEN_FIXED, 1},
    [PV_VTEST_GET_CAPSET] = {"GET_CAPSET", LEN_FIXED, 2},
    [PV_VTEST_CONTEXT_INIT] = {"CONTEXT_INIT", LEN_FIXED, 1},
    [PV_VTEST_RESOURCE_CREATE_BLOB] = {"RESOURCE_CREATE_BLOB", LEN_FIXED, 6},
    [PV_VTEST_SYNC_CREATE] = {"SYNC_CREATE", LEN_FIXED, 2},
    [PV_VTEST_SYNC_UNREF] = {"SYNC_UNREF", LEN_FIXED, 1},
    [PV_VTEST_SYNC_READ] = {"SYNC_READ", LEN_FIXED, 1},
    [PV_VTEST_SYNC_WRITE] = {"SYNC_WRITE", LEN_FIXED, 3},
    [PV_VTEST_SYNC_WAIT] = {"SYNC_WAIT", LEN_SYNC_WAIT, 0},
    [PV_VTEST_SUBMIT_CMD2] = {"SUBMIT_CMD2", LEN_SUBMIT2, 0},
};

#define CMD_TABLE_SIZE (sizeof(cmd_table) / sizeof(cmd_table[0]))

const char *
pv_vtest_cmd_name(uint32_t id)
{
    if (id < CMD_TABLE_SIZE && cmd_table[id].name)
        return cmd_table[id].name;
    return "?";
}

static int
reject(const char **why, const char *reason)
{
    *why = reason;
    return -EPROTO;
}

int
pv_vtest_check_header(uint32_t len, uint32_t id, bool have_renderer, size_t *payload_bytes,
                      const char **why)
{
    const struct cmd_info *info = id < CMD_TABLE_SIZE ? &cmd_table[id] : NULL;

    if (!info || info->rule == LEN_UNKNOWN)
        return reject(why, "unknown command id");

    /* The first message names the client; nothing else may come first or twice. */
    if (!have_renderer && id != PV_VTEST_CREATE_RENDERER)
        return reject(why, "first command is not CREATE_RENDERER");
    if (have_renderer && id == PV_VTEST_CREATE_RENDERER)
        return reject(why, "second CREATE_RENDERER");

    switch (info->rule) {
    case LEN_GL:
        /*
         * virglrenderer --no-virgl answers GET_CAPS with a header whose
         * payload never follows and fails GET_CAPS2 by closing the client;
         * closing is the only answer that keeps no stream out of sync.
         */
        return reject(why, "virgl (OpenGL) command; this server speaks Venus only");
    case LEN_NAME:
        if (len > PV_VTEST_MAX_NAME_BYTES)
            return reject(why, "CREATE_RENDERER name longer than 1 MiB");
        *payload_bytes = len;
        return 0;
    case LEN_FIXED:
        if (len != info->dwords)
            return reject(why, "payload length does not match the command");
        break;
    case LEN_SYNC_WAIT:
        if (len < 2 || (len - 2) % PV_VTEST_SYNC_REF_DWORDS)
            return reject(why, "SYNC_WAIT length is not 2 + 3 * count");
        if ((len - 2) / PV_VTEST_SYNC_REF_DWORDS > PV_VTEST_MAX_WAIT_SYNCS)
            return reject(why, "SYNC_WAIT on too many syncs");
        break;
    case LEN_SUBMIT2:
        if (len > PV_VTEST_MAX_SUBMIT_BYTES / 4)
            return reject(why, "SUBMIT_CMD2 larger than 64 MiB");
        if (len < 1 + PV_VTEST_BATCH_DWORDS)
            return reject(why, "SUBMIT_CMD2 shorter than one batch");
        break;
    default:
        return reject(why, "unknown command id");
    }
    *payload_bytes = (size_t)len * 4;
    return 0;
}

int
pv_vtest_parse_sync_wait(const uint32_t *p, uint32_t len, struct pv_vtest_sync_wait *out,
                         const char **why)
{
    if (len < 2 || (len - 2) % PV_VTEST_SYNC_REF_DWORDS)
        return reject(why, "SYNC_WAIT length is not 2 + 3 * count");
    uint32_t count = (len - 2) / PV_VTEST_SYNC_REF_DWORDS;
    if (count > PV_VTEST_MAX_WAIT_SYNCS)
        return reject(why, "SYNC_WAIT on too many syncs");
    out->flags = p[0];
    out->timeout_ms = p[1];
    out->count = count;
    out->triples = p + 2;
    return 0;
}

/* Fields of batch i, at the 6-dword stride the client really writes. */
static void
read_batch_fields(const uint32_t *p, uint32_t i, uint32_t f[PV_VTEST_BATCH_DWORDS])
{
    const uint32_t *b = p + 1 + (size_t)i * PV_VTEST_BATCH_DWORDS;
    for (uint32_t k = 0; k < PV_VTEST_BATCH_DWORDS; k++)
        f[k] = b[k];
}

enum { B_FLAGS, B_CMD_OFFSET, B_CMD_SIZE, B_SYNC_OFFSET, B_SYNC_COUNT, B_RING_IDX };

int
pv_vtest_parse_submit2(const uint32_t *p, uint32_t len, uint32_t max_rings,
                       struct pv_vtest_submit2 *out, const char **why)
{
    if (len < 1 + PV_VTEST_BATCH_DWORDS)
        return reject(why, "SUBMIT_CMD2 shorter than one batch");
    if (len > PV_VTEST_MAX_SUBMIT_BYTES / 4)
        return reject(why, "SUBMIT_CMD2 larger than 64 MiB");

    /*
     * The protocol header's BATCH_* macros use a stride of 8 dwords, but the
     * Mesa client writes packed 6-dword structs. We follow the bytes the
     * client actually sends (docs/venus-protocol.md §1.4); for batch_count 1, the only
     * count Mesa 25.0 sends, both layouts agree.
     */
    uint32_t batch_count = p[0];
    if (batch_count == 0)
        return reject(why, "SUBMIT_CMD2 with no batch");
    if (batch_count > (len - 1) / PV_VTEST_BATCH_DWORDS)
        return reject(why, "SUBMIT_CMD2 batch headers run past the payload");
    /* Command and sync data must follow the headers, never overlap them. */
    uint32_t data_start = 1 + batch_count * PV_VTEST_BATCH_DWORDS;

    for (uint32_t i = 0; i < batch_count; i++) {
        uint32_t f[PV_VTEST_BATCH_DWORDS];
        read_batch_fields(p, i, f);

        if (f[B_CMD_OFFSET] < data_start || f[B_CMD_OFFSET] > len ||
            f[B_CMD_SIZE] > len - f[B_CMD_OFFSET])
            return reject(why, "SUBMIT_CMD2 command range outside the payload");
        if (f[B_SYNC_OFFSET] < data_start || f[B_SYNC_OFFSET] > len ||
            f[B_SYNC_COUNT] > (len - f[B_SYNC_OFFSET]) / PV_VTEST_SYNC_REF_DWORDS)
            return reject(why, "SUBMIT_CMD2 sync triples outside the payload");
        if (f[B_RING_IDX] >= max_rings)
            return reject(why, "SUBMIT_CMD2 ring_idx out of range");
    }

    out->payload = p;
    out->len = len;
    out->batch_count = batch_count;
    return 0;
}

void
pv_vtest_submit2_batch(const struct pv_vtest_submit2 *s, uint32_t i, struct pv_vtest_batch *out)
{
    uint32_t f[PV_VTEST_BATCH_DWORDS];
    read_batch_fields(s->payload, i, f);
    out->flags = f[B_FLAGS];
    out->ring_idx = f[B_RING_IDX];
    out->cmds = s->payload + f[B_CMD_OFFSET];
    out->cmd_bytes = (size_t)f[B_CMD_SIZE] * 4;
    out->syncs = s->payload + f[B_SYNC_OFFSET];
    out->sync_count = f[B_SYNC_COUNT];
}
