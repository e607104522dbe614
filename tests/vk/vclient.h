/*
 * tests/vk/vclient: a raw vtest + Venus client for the hostile test
 * programs (no Mesa): the connection and the handshake Mesa 25.0 does
 * (venus-wire.md 1.5), shared-memory blobs, SUBMIT_CMD2 on the context
 * channel, and sessions with one or more shm rings, each with its own reply
 * stream, whose Venus commands are built with the renderer's generated
 * encoders, so that only the part under test is hostile.
 *
 * Everything that goes wrong in the setup ends the program with
 * vc_die() (exit 1): a hostile case never passes by accident.
 * Threads: a session belongs to one thread, except that different rings of
 * one session may be driven by different threads.
 */
#ifndef PV_TESTS_VK_VCLIENT_H
#define PV_TESTS_VK_VCLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cs.h"
#include "pvg.gen.h"

/* vtest command ids (venus-wire.md 1.3). */
enum {
    VC_RESOURCE_UNREF = 3,
    VC_RESOURCE_BUSY_WAIT = 7,
    VC_CREATE_RENDERER = 8,
    VC_PING_PROTOCOL_VERSION = 10,
    VC_PROTOCOL_VERSION = 11,
    VC_GET_PARAM = 15,
    VC_GET_CAPSET = 16,
    VC_CONTEXT_INIT = 17,
    VC_RESOURCE_CREATE_BLOB = 18,
    VC_SYNC_CREATE = 19,
    VC_SYNC_WAIT = 23,
    VC_SUBMIT_CMD2 = 24,
};

/* Set by the program before the first call. */
extern const char *vc_prog;
extern const char *vc_socket;
extern int vc_timeout_ms; /* for every reply and ring wait */

__attribute__((format(printf, 1, 2), noreturn)) void vc_die(const char *fmt, ...);
double vc_now_ms(void);
void vc_sleep_ms(double ms);

/* ---- one vtest connection ---- */

struct vc_conn {
    int fd;
};

/* Connects to vc_socket and does the handshake up to CONTEXT_INIT. */
void vc_connect(struct vc_conn *c, const char *name);
void vc_close(struct vc_conn *c);
/* 0, or -1 with errno (EPIPE/ECONNRESET once the server closed). */
int vc_send(struct vc_conn *c, const void *buf, size_t len);
void vc_send_msg(struct vc_conn *c, uint32_t id, const void *payload, uint32_t dwords,
                 const char *what);
void vc_recv(struct vc_conn *c, void *buf, size_t len, const char *what);
void vc_expect_hdr(struct vc_conn *c, uint32_t id, uint32_t len, const char *what);
/* A ping round trip: every earlier message has been handled. */
void vc_sync(struct vc_conn *c, const char *what);
/* RESOURCE_CREATE_BLOB (HOST3D, MAPPABLE); returns the fd the server sent. */
int vc_blob_fd(struct vc_conn *c, uint64_t size, uint64_t blob_id, uint32_t *res_id);
/* The same, mapped (the fd closed). */
void *vc_blob(struct vc_conn *c, uint64_t size, uint64_t blob_id, uint32_t *res_id);
/* SUBMIT_CMD2: one batch of Venus commands on the context channel. */
int vc_submit(struct vc_conn *c, const void *cmds, uint32_t bytes);
/* SYNC_CREATE with `value`; the new sync's id. */
uint32_t vc_sync_create(struct vc_conn *c, uint64_t value);
/* True once the server closed the connection (within ms). */
bool vc_wait_closed(struct vc_conn *c, int ms, double *elapsed);

/* ---- sessions and rings ---- */

#define VC_RING_BUF_SIZE (64u * 1024)
#define VC_REPLY_SIZE (64u * 1024)
#define VC_MAX_RINGS 4

struct vc_session;

struct vc_ring {
    struct vc_session *s;
    unsigned index;
    uint64_t id;
    uint32_t res;
    uint8_t *map;
    atomic_uint *head, *tail, *status;
    uint8_t *buf;
    uint32_t cur_tail;
    double last_notify;
    uint8_t *reply; /* this ring's part of the session's reply blob */
    /* Commands being built; ring_flush copies them to the ring. */
    uint8_t cmd[128 * 1024];
    bool enc_fatal;
    struct pv_cs_enc enc;
};

struct vc_session {
    struct vc_conn c;
    struct vc_ring *rings[VC_MAX_RINGS];
    unsigned nrings;
    uint32_t reply_res;
    uint8_t *reply_map;
    uint64_t next_id;
    uint64_t instance, phys, device, queue;
    uint32_t host_visible_type; /* UINT32_MAX: none */
};

/* Connects; level 0: ring 0 only; 1: + instance; 2: + physical device and
 * its memory types; 3: + device and its first queue (timeline 1). */
struct vc_session *vc_session_new(const char *name, int level);
/* Another ring on the session (ring 0 is made by vc_session_new). */
struct vc_ring *vc_ring_add(struct vc_session *s);
/* Unmaps and frees; closes the connection. */
void vc_session_free(struct vc_session *s);

void vc_cmd_begin(struct vc_ring *r);
uint32_t vc_cmd_size(const struct vc_ring *r);
void vc_put32(struct vc_ring *r, uint32_t x);
void vc_put64(struct vc_ring *r, uint64_t x);

/* vkNotifyRingMESA for this ring over the socket; 0 or -1 (server gone). */
int vc_notify(struct vc_ring *r);
/* Copies the built commands into the ring and publishes tail; the new tail. */
uint32_t vc_ring_flush(struct vc_ring *r);
enum vc_wait { VC_DONE, VC_FATAL, VC_TIMEOUT };
/* Until head reaches seqno, the ring is FATAL, or ms pass. */
enum vc_wait vc_ring_wait(struct vc_ring *r, uint32_t seqno, int ms);
/* Flush and wait; dies unless the ring reaches its tail. */
void vc_ring_flush_wait(struct vc_ring *r, const char *what);
/* Flush; the ring must go FATAL and the server close the connection.
 * 0 (ok) or 1 (reported on stderr). */
int vc_expect_fatal(struct vc_ring *r, const char *what);

/* Starts a command whose reply goes to the start of the ring's reply area. */
void vc_call_begin(struct vc_ring *r);
/* Flushes, waits, and points dec at the reply. */
void vc_call_end(struct vc_ring *r, struct pv_cs_dec *dec, bool *fatal, struct pv_arena *arena,
                 const char *what);

#define VC_ENC(r, name, flags, ...)                                                                \
    do {                                                                                           \
        struct pvg_args_##name a_ = {__VA_ARGS__};                                                 \
        if (!pvg_encode_##name(&(r)->enc, (flags), &a_))                                           \
            vc_die("encoding %s failed", #name);                                                   \
    } while (0)

/* A command with a reply: the reply is decoded into *args_ptr. */
#define VC_CALL(r, name, what, args_ptr)                                                           \
    do {                                                                                           \
        struct pv_cs_dec dec_;                                                                     \
        struct pv_arena arena_;                                                                    \
        bool fatal_;                                                                               \
        vc_call_begin(r);                                                                          \
        if (!pvg_encode_##name(&(r)->enc, VK_COMMAND_GENERATE_REPLY_BIT_EXT, (args_ptr)))          \
            vc_die("encoding %s failed", #name);                                                   \
        vc_call_end((r), &dec_, &fatal_, &arena_, (what));                                         \
        if (!pvg_decode_##name##_reply(&dec_, (args_ptr)))                                         \
            vc_die("%s: reply does not decode: %s", (what),                                        \
                   dec_.fatal_reason ? dec_.fatal_reason : "?");                                   \
        pv_arena_fini(&arena_);                                                                    \
    } while (0)

/* vkCreateBuffer (size bytes, storage usage) with a reply; the VkResult. */
VkResult vc_buffer(struct vc_ring *r, uint64_t device, uint64_t size, uint64_t *id);

#endif /* PV_TESTS_VK_VCLIENT_H */
