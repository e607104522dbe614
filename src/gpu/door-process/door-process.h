/*
 * gpu/door-process: the render process of front door 2 (the
 * libvirglrenderer.so.1 that QEMU loads, src/gpu/virgl-abi/), and the wire
 * between the two. One render process per VM (per loaded door): it owns
 * the VM's renderer, host driver and every Venus context, behind the
 * syscall filter of src/common/sandbox.c. QEMU keeps only the door: the
 * tables of resources and contexts, the blob fds it maps for the guest,
 * and the fence queue it hands to QEMU's main loop.
 *
 * Owner:   this folder: the process's body (process.c, run as the hidden
 *          `pearvisor gpu door-process`) and the protocol below, which
 *          src/gpu/virgl-abi/remote.c speaks from QEMU's side.
 * Trust:   the door trusts nothing the process sends: a render process runs
 *          a hostile guest's commands on a host driver that is not
 *          hardened, so it may be anyone's after a crash. Every reply and
 *          event is checked for size and range by the door, and an fd it
 *          gets is only ever mmap'ed. The process trusts the door (QEMU).
 * Threads: the process's main thread serves requests one at a time;
 *          renderer threads send events (each send is one datagram, so no
 *          lock), and one reporter thread sends the counters.
 *
 * Why one process per VM and not per context: a VM's contexts share
 * blobs (a compositor shows what another guest process rendered, through
 * ctx_attach_resource), and all of them belong to one guest, which the
 * boundary is for; a crash takes the VM's Venus contexts together, never
 * QEMU. docs/threat-model.md ("The QEMU door's render process").
 *
 * Wire: two SOCK_SEQPACKET socketpairs, on fds PV_DP_REQ_FD and
 * PV_DP_EVT_FD in the process. Requests go door -> process on the first,
 * one datagram each (struct pv_dp_req, then `len` payload bytes), and
 * those marked "reply" get one struct pv_dp_rep back (then its payload; an
 * fd rides with BLOB's reply, with IMPORT's request). Events go process ->
 * door on the second (struct pv_dp_evt, then for STATS the counters).
 */
#ifndef PV_GPU_DOOR_PROCESS_H
#define PV_GPU_DOOR_PROCESS_H

#include <stdint.h>

#define PV_DP_REQ_FD 3
#define PV_DP_EVT_FD 4
#define PV_DP_MAGIC 0x50564450u /* "PVDP" */
/* The largest payload in one datagram; a longer submit goes in parts. */
#define PV_DP_CHUNK (32u << 10)
/* The longest submit the door forwards (virtio-gpu SUBMIT_3D). */
#define PV_DP_MAX_SUBMIT (64u << 20)
/* The most counters a STATS event carries. */
#define PV_DP_MAX_COUNTERS 4096u

enum pv_dp_op {
    /* reply: rc 0 once the renderer is up; a = the door's pid (checked) */
    PV_DP_HELLO = 1,
    /* a = capset id, b = version; reply: rc = full size (0: not served),
     * payload = up to PV_DP_CHUNK bytes of it */
    PV_DP_CAPSET,
    /* ctx, payload = its name (not NUL-terminated); reply: rc */
    PV_DP_CTX_CREATE,
    /* ctx; reply: rc (sent once the context's threads have stopped) */
    PV_DP_CTX_DESTROY,
    /* ctx, x = total bytes, y = offset of this part; payload = the part.
     * PART has no reply; the last part is SUBMIT, whose reply is the rc. */
    PV_DP_SUBMIT_PART,
    PV_DP_SUBMIT,
    /* ctx, a = res_id, b = blob flags, x = blob_id, y = size; reply: rc,
     * map_info, and on success the blob's fd */
    PV_DP_BLOB,
    /* ctx, a = res_id, y = size, the blob's fd (from the door's table):
     * the context gets a mapping of its own; reply: rc */
    PV_DP_IMPORT,
    /* ctx, a = res_id; no reply */
    PV_DP_DETACH,
    /* ctx, a = ring_idx, x = fence_id; no reply: a FENCE event follows
     * (at once when the fence cannot be queued) */
    PV_DP_FENCE,
};

struct pv_dp_req {
    uint32_t magic;
    uint32_t op;
    uint32_t ctx_id;
    uint32_t a, b;
    uint32_t len; /* payload bytes after this header */
    uint64_t x, y;
};

struct pv_dp_rep {
    uint32_t magic;
    int32_t rc;
    uint32_t map_info;
    uint32_t len; /* payload bytes after this header */
};

enum pv_dp_evt_op {
    PV_DP_EVT_FENCE = 1, /* ctx, ring_idx, fence_id retired */
    PV_DP_EVT_FATAL,     /* ctx became fatal (the process logged why) */
    PV_DP_EVT_STATS,     /* count counters (pv_renderer_stats_save) follow */
};

struct pv_dp_evt {
    uint32_t magic;
    uint32_t op;
    uint32_t ctx_id;
    uint32_t ring_idx;
    uint64_t fence_id;
    uint32_t count;
    uint32_t pad;
};

/* The body of `pearvisor gpu door-process`: serves the door on fds 3 and 4
 * until it closes them. Exit status 0; 1 when the renderer cannot start; 2
 * without a door (fds 3 and 4 not sockets: run by hand). */
int pv_door_process_main(void);

#endif /* PV_GPU_DOOR_PROCESS_H */
