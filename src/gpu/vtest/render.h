/*
 * gpu/vtest/render: the messages between the vtest server and a render
 * process, over the SOCK_SEQPACKET pair the server makes for each one (fd
 * PV_VTEST_RENDER_CHANNEL_FD in the render process). One message each way
 * at a time, whole (seqpacket keeps their bounds):
 *   server -> render process: one struct pv_rp_setup, first;
 *   render process -> server: struct pv_rp_report followed by its counters
 *   (pv_renderer_stats_save), when the context is created or made fatal,
 *   every PV_RP_REPORT_MS while a counter changed, and once more (FINAL)
 *   after the context is torn down.
 *
 * Trust:   the server treats a render process as it treats a client: a
 *          report of the wrong size, magic or counter count gets the
 *          process killed; the name is sanitized again; the counters are
 *          only added to the statistics. The render process trusts the
 *          server (its parent).
 */
#ifndef PV_VTEST_RENDER_H
#define PV_VTEST_RENDER_H

#include <stdint.h>

#define PV_RP_MAGIC 0x50565250u /* "PVRP" */
#define PV_RP_REPORT_MS 250

#define PV_RP_SETUP_NO_SECCOMP 0x1u /* run without the syscall filter */
#define PV_RP_SETUP_CHECK 0x2u      /* load the renderer, enter the sandbox, report, end */

struct pv_rp_setup {
    uint32_t magic;
    uint32_t flags;      /* PV_RP_SETUP_* */
    uint32_t client_id;  /* for log lines */
    uint32_t ctx_id;     /* the id of the client's Venus context */
    int32_t server_pid;  /* the parent: if getppid() is another, it is gone */
    uint32_t reserved;
};

#define PV_RP_REPORT_CONTEXT 0x1u /* the Venus context exists (name is set) */
#define PV_RP_REPORT_FATAL 0x2u   /* it was made fatal (the renderer logged and counted it) */
#define PV_RP_REPORT_FINAL 0x4u   /* the context is gone; the process ends next */

#define PV_RP_NAME_SIZE 64

struct pv_rp_report {
    uint32_t magic;
    uint32_t flags;  /* PV_RP_REPORT_* */
    uint32_t count;  /* uint64_t counters that follow */
    uint32_t reserved;
    char name[PV_RP_NAME_SIZE]; /* the client's name, sanitized, terminated */
};

#endif /* PV_VTEST_RENDER_H */
