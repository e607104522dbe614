/*
 * gpu/venus/trace: a timeline of the renderer's work, for finding where a
 * client's time goes (PEARVISOR_TRACE=FILE; off unless that variable is set).
 *
 * Each line of the file is one span: begin and end on CLOCK_MONOTONIC in
 * nanoseconds, the context, the thread's channel ("c" the context channel,
 * "rN" the Nth ring the context made, "f" its fence thread, "d" the front door), what ran (a
 * Venus command's name, or one of the events below) and one number:
 *
 *   T0 T1 CTX CHAN WHAT ARG
 *
 *   <command>      decoding and running it; ARG the command's flags
 *   ring-sleep     a ring's thread waiting for commands (a poll sleep, or
 *                  idle until notified); ARG 1 when idle
 *   fence-wait     the fence thread's host wait for a context fence; ARG
 *                  the fence id (retired at T1)
 *   submit         a front door's submit of a context-channel stream; ARG
 *                  its size
 *   fence-create   a front door asked for a context fence; ARG its id
 *   <door span>    what a front door reports of its own work
 *                  (pv_renderer_trace_span, channel "d": vtest's messages,
 *                  as "vtest-<NAME>")
 *
 * "%p" in FILE becomes the process id, so every render process writes a
 * file of its own. bench/trace-summary.py reads it.
 *
 * Threads: every thread writes to a buffer of its own and appends whole
 *          buffers to the file (O_APPEND, one write each), so lines never
 *          mix. The file is opened when the renderer is created, before a
 *          render process enters its sandbox.
 */
#ifndef PV_VENUS_TRACE_H
#define PV_VENUS_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct pv_renderer;

#define PV_TRACE_BUF_SIZE (64u * 1024)

/* One thread's pending lines. */
struct pv_trace_buf {
    int fd;            /* the renderer's trace file; -1: tracing is off */
    uint32_t ctx_id;
    char chan[8];
    size_t len;
    char data[PV_TRACE_BUF_SIZE];
};

/* The trace file for PEARVISOR_TRACE, or -1. */
int pv_trace_open(void);

/* A buffer for one thread, or NULL when tracing is off (no allocation then). */
struct pv_trace_buf *pv_trace_buf_new(int fd, uint32_t ctx_id, const char *chan);
/* Writes out what is pending and frees the buffer; NULL is fine. */
void pv_trace_buf_free(struct pv_trace_buf *b);

/* Appends one span (nothing when b is NULL). */
void pv_trace_span(struct pv_trace_buf *b, uint64_t t0, uint64_t t1, const char *what,
                   uint64_t arg);
/* The same for another context than the buffer's (a front door's buffer serves all). */
void pv_trace_span_ctx(struct pv_trace_buf *b, uint32_t ctx_id, uint64_t t0, uint64_t t1,
                       const char *what, uint64_t arg);

#endif /* PV_VENUS_TRACE_H */
