/*
 * pv-malformed-client: a raw vtest client (no Mesa) that plays a hostile
 * guest. It sends one malformed message or Venus command per run and checks
 * that the server drops the connection; in --soak mode it plays many
 * clients that build Venus state and vanish at random points.
 *
 *   pv-malformed-client [--socket PATH] [--timeout-ms N] [--name NAME] --case CASE
 *   pv-malformed-client --list
 *   pv-malformed-client --reason CASE
 *   pv-malformed-client [--socket PATH] --soak CYCLES [--jobs N] [--seed S]
 *
 * The socket defaults to $VTEST_SOCKET_NAME. --reason prints the reason
 * the renderer must give for the case's fatal context ("decode", "object",
 * ...: the key of its fatal_reasons counter and the word in its log line).
 * The connection that sends the bad message names itself NAME in
 * CREATE_RENDERER (default pv-malformed), so that the server's fatal line
 * can be checked to name it; a well-behaved helper connection of a case
 * (client A of foreign-object-id) is NAME-peer. Every connection does the
 * handshake the Mesa 25.0 Venus driver does (docs/venus-protocol.md §1.5:
 * CREATE_RENDERER, PING_PROTOCOL_VERSION + RESOURCE_BUSY_WAIT,
 * PROTOCOL_VERSION 3, GET_PARAM 1, GET_CAPSET 4, CONTEXT_INIT 4), checking
 * every reply.
 *
 * Two kinds of cases:
 *   - raw vtest cases (unknown-command ... unknown-vcmd): one malformed
 *     vtest message right after the handshake;
 *   - Venus cases (bad-object-id ... bad-stype): the client first builds
 *     real state the way Mesa does (a shm ring created with
 *     vkCreateRingMESA, a reply stream, vkCreateInstance,
 *     vkEnumeratePhysicalDevices, vkCreateDevice...) with the generated
 *     Venus encoders, checking each reply, so that the only bad thing in
 *     the stream is the one under test. The bad command goes on the ring;
 *     the client waits for the ring's FATAL status bit (what Mesa checks)
 *     and then sends vkNotifyRingMESA over the socket, which the server
 *     must answer by closing the connection.
 *
 * What "out-of-range enum" means here (case bad-enum): an sType is part of
 * the wire format (it selects how the rest decodes), so an unknown or
 * wrong sType, top level or in a pNext chain, must make the context fatal
 * and never reach the host driver. Plain enum values (VkFormat,
 * VkImageType, ...) are not validated by the renderer: they go to the host
 * driver, which may answer with an error or empty properties. That is
 * acceptable as long as the server does not crash and the context stays
 * usable; the case checks exactly that before it sends the bad sType.
 *
 * Exit: 0 the server closed the connection as expected (for the control
 * case "ping": the server answered and kept the connection open; for
 * --soak: every cycle ran); 1 the server kept the connection open or did
 * something else wrong, or the handshake or setup failed; 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs.h"
#include "pvg.gen.h"

/* vtest command ids (docs/venus-protocol.md §1.3). */
enum {
    VCMD_RESOURCE_UNREF = 3,
    VCMD_RESOURCE_BUSY_WAIT = 7,
    VCMD_CREATE_RENDERER = 8,
    VCMD_PING_PROTOCOL_VERSION = 10,
    VCMD_PROTOCOL_VERSION = 11,
    VCMD_GET_PARAM = 15,
    VCMD_GET_CAPSET = 16,
    VCMD_CONTEXT_INIT = 17,
    VCMD_RESOURCE_CREATE_BLOB = 18,
    VCMD_SUBMIT_CMD2 = 24,
};
#define VCMD_PARAM_MAX_TIMELINE_COUNT 1
#define CAPSET_VENUS 4
#define SUBMIT_FLAG_RING_IDX 1u
#define BATCH_DWORDS 6 /* struct vcmd_submit_cmd2_batch as the client writes it */
#define BLOB_TYPE_HOST3D 2u
#define BLOB_FLAG_MAPPABLE 1u

/* Venus command ids (docs/venus-protocol.md §3.6). */
#define VK_CMD_CREATE_RING_MESA 188
#define STYPE_RING_CREATE_INFO_MESA 1000384000

/* The ring layout Mesa uses (docs/venus-protocol.md §4.1), with a 64 KiB buffer. */
#define RING_HEAD 0
#define RING_TAIL 64
#define RING_STATUS 128
#define RING_BUF 192
#define RING_BUF_SIZE (64u * 1024)
#define RING_SHM_SIZE (RING_BUF + RING_BUF_SIZE + 4)
#define REPLY_SIZE (64u * 1024)

static const char *prog = "pv-malformed-client";
static const char *sock_path;
static const char *client_name = "pv-malformed"; /* --name */
static char peer_name[80];                        /* client_name + "-peer" */
static int timeout_ms = 5000;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- one vtest connection ---------------------------------------------- */

struct conn {
    int fd;
};

static void conn_open(struct conn *c)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(sock_path) >= sizeof(addr.sun_path))
        die("socket path too long: %s", sock_path);
    strcpy(addr.sun_path, sock_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        die("cannot connect to %s: %s", sock_path, strerror(errno));
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Returns 0, or -1 with errno (EPIPE/ECONNRESET when the server closed). */
static int send_all(struct conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes within the timeout; dies naming `what` otherwise. */
static void recv_exact(struct conn *c, void *buf, size_t len, const char *what)
{
    char *p = buf;
    double deadline = now_ms() + timeout_ms;
    while (len) {
        int left = (int)(deadline - now_ms());
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int r = left > 0 ? poll(&pfd, 1, left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            die("no reply to %s (timeout)", what);
        ssize_t n = recv(c->fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("server closed the connection while replying to %s", what);
        p += n;
        len -= (size_t)n;
    }
}

static void send_msg(struct conn *c, uint32_t id, const void *payload, uint32_t dwords,
                     const char *what)
{
    uint32_t hdr[2] = { dwords, id };
    if (send_all(c, hdr, sizeof(hdr)) || send_all(c, payload, dwords * 4u))
        die("sending %s failed: server closed the connection", what);
}

static void expect_hdr(struct conn *c, uint32_t id, uint32_t len, const char *what)
{
    uint32_t hdr[2];
    recv_exact(c, hdr, sizeof(hdr), what);
    if (hdr[1] != id || hdr[0] != len)
        die("reply to %s has header {len %u, id %u}, expected {%u, %u}", what, hdr[0], hdr[1],
            len, id);
}

/* `name` goes to CREATE_RENDERER: the server names the client's context by it. */
static void handshake(struct conn *c, const char *name)
{
    uint32_t len = (uint32_t)strlen(name) + 1;
    uint32_t hdr[2] = { len, VCMD_CREATE_RENDERER }; /* length in bytes here */
    if (send_all(c, hdr, sizeof(hdr)) || send_all(c, name, len))
        die("handshake: sending %s failed", "CREATE_RENDERER");

    /* Ping and busy-wait are sent together; the replies come in that order. */
    uint32_t msgs[6] = { 0, VCMD_PING_PROTOCOL_VERSION, 2, VCMD_RESOURCE_BUSY_WAIT, 0, 0 };
    if (send_all(c, msgs, sizeof(msgs)))
        die("handshake: sending %s failed", "PING_PROTOCOL_VERSION");
    expect_hdr(c, VCMD_PING_PROTOCOL_VERSION, 0, "PING_PROTOCOL_VERSION");
    expect_hdr(c, VCMD_RESOURCE_BUSY_WAIT, 1, "RESOURCE_BUSY_WAIT");
    uint32_t v;
    recv_exact(c, &v, 4, "RESOURCE_BUSY_WAIT");

    uint32_t version = 3;
    send_msg(c, VCMD_PROTOCOL_VERSION, &version, 1, "PROTOCOL_VERSION");
    expect_hdr(c, VCMD_PROTOCOL_VERSION, 1, "PROTOCOL_VERSION");
    recv_exact(c, &v, 4, "PROTOCOL_VERSION");
    if (v < 3)
        die("handshake: server negotiated protocol version %u, need 3", v);

    uint32_t param = VCMD_PARAM_MAX_TIMELINE_COUNT;
    send_msg(c, VCMD_GET_PARAM, &param, 1, "GET_PARAM");
    expect_hdr(c, VCMD_GET_PARAM, 2, "GET_PARAM");
    uint32_t pv[2];
    recv_exact(c, pv, sizeof(pv), "GET_PARAM");
    if (!pv[0] || !pv[1])
        die("handshake: GET_PARAM(MAX_TIMELINE_COUNT) = {valid %u, %u}", pv[0], pv[1]);

    uint32_t capset_req[2] = { CAPSET_VENUS, 0 };
    send_msg(c, VCMD_GET_CAPSET, capset_req, 2, "GET_CAPSET");
    recv_exact(c, hdr, sizeof(hdr), "GET_CAPSET");
    if (hdr[1] != VCMD_GET_CAPSET || hdr[0] < 1 || hdr[0] > 1024)
        die("handshake: GET_CAPSET reply header {len %u, id %u}", hdr[0], hdr[1]);
    uint32_t capset[1024];
    recv_exact(c, capset, hdr[0] * 4u, "GET_CAPSET");
    /* {valid, wire_format_version, ...}: Mesa 25.0 needs valid and wire format 1. */
    if (capset[0] != 1 || hdr[0] < 2 || capset[1] != 1)
        die("handshake: Venus capset not valid (valid %u, %u dwords)", capset[0], hdr[0] - 1);

    uint32_t capset_id = CAPSET_VENUS;
    send_msg(c, VCMD_CONTEXT_INIT, &capset_id, 1, "CONTEXT_INIT");
}

/* A ping round trip: every earlier message of this connection has been handled. */
static void sync_conn(struct conn *c, const char *what)
{
    uint32_t hdr[2] = { 0, VCMD_PING_PROTOCOL_VERSION };
    if (send_all(c, hdr, sizeof(hdr)))
        die("%s: server closed the connection", what);
    expect_hdr(c, VCMD_PING_PROTOCOL_VERSION, 0, what);
}

/* RESOURCE_CREATE_BLOB (HOST3D, MAPPABLE), then the fd (SCM_RIGHTS), mapped. */
static void *blob_create(struct conn *c, uint64_t size, uint64_t blob_id, uint32_t *res_id)
{
    uint32_t req[6] = { BLOB_TYPE_HOST3D, BLOB_FLAG_MAPPABLE, (uint32_t)size,
                        (uint32_t)(size >> 32), (uint32_t)blob_id, (uint32_t)(blob_id >> 32) };
    send_msg(c, VCMD_RESOURCE_CREATE_BLOB, req, 6, "RESOURCE_CREATE_BLOB");
    expect_hdr(c, VCMD_RESOURCE_CREATE_BLOB, 1, "RESOURCE_CREATE_BLOB");
    recv_exact(c, res_id, 4, "RESOURCE_CREATE_BLOB");
    if (!*res_id)
        die("RESOURCE_CREATE_BLOB returned resource id 0");

    char byte;
    struct iovec iov = { &byte, 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    if (poll(&pfd, 1, timeout_ms) != 1)
        die("RESOURCE_CREATE_BLOB: no fd within %d ms", timeout_ms);
    ssize_t n;
    do
        n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        die("RESOURCE_CREATE_BLOB: reply carried no fd (recvmsg %zd)", n);
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        die("mmap of blob %u (%llu bytes) failed: %s", *res_id, (unsigned long long)size,
            strerror(errno));
    return p;
}

/* SUBMIT_CMD2 with one batch on ring_idx 0 carrying `n` bytes of Venus commands. */
static int submit(struct conn *c, const void *cmd, uint32_t n)
{
    uint32_t dw = n / 4;
    uint32_t hdr[2] = { 1 + BATCH_DWORDS + dw, VCMD_SUBMIT_CMD2 };
    uint32_t head[1 + BATCH_DWORDS] = { 1, SUBMIT_FLAG_RING_IDX, 1 + BATCH_DWORDS, dw,
                                        1 + BATCH_DWORDS + dw, 0, 0 };
    if (send_all(c, hdr, sizeof(hdr)) || send_all(c, head, sizeof(head)) || send_all(c, cmd, n))
        return -1;
    return 0;
}

/* Waits for EOF/reset. Returns true if the server closed the connection. */
static bool wait_closed(struct conn *c, int ms, double *elapsed)
{
    double t0 = now_ms(), deadline = t0 + ms;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
            *elapsed = now_ms() - t0;
            return true;
        }
        if (n < 0)
            die("recv failed: %s", strerror(errno));
        fprintf(stderr, "%s: server sent %zd unexpected bytes\n", prog, n);
    }
    *elapsed = now_ms() - t0;
    return false;
}

/* ---- a Venus session: ring, reply stream, object ids ------------------- */

struct venus {
    struct conn c;
    const char *name; /* for CREATE_RENDERER */
    uint32_t ring_res, reply_res;
    uint8_t *ring_map, *reply_map;
    atomic_uint *head, *tail, *status;
    uint8_t *buf;
    uint32_t cur_tail;
    uint64_t ring_id;
    double last_notify;
    uint64_t next_id;
    /* Commands being built, flushed to the ring as one submission. */
    uint8_t cmd[128 * 1024];
    bool enc_fatal;
    struct pv_cs_enc enc;
    /* Objects, once created. */
    uint64_t instance, phys, device, queue;
    uint32_t host_visible_type;
};

static void cmd_begin(struct venus *v)
{
    v->enc_fatal = false;
    v->enc = (struct pv_cs_enc){ v->cmd, v->cmd + sizeof(v->cmd), &v->enc_fatal };
}

static uint32_t cmd_size(const struct venus *v)
{
    return (uint32_t)(v->enc.cur - v->cmd);
}

/* Appends raw dwords/qwords (the malformed parts). */
static void put32(struct venus *v, uint32_t x)
{
    pv_cs_enc_write(&v->enc, &x, 4);
}

static void put64(struct venus *v, uint64_t x)
{
    pv_cs_enc_write(&v->enc, &x, 8);
}

#define ENC(v, name, flags, ...)                                                                 \
    do {                                                                                         \
        struct pvg_args_##name a_ = { __VA_ARGS__ };                                             \
        if (!pvg_encode_##name(&(v)->enc, (flags), &a_))                                         \
            die("encoding %s failed", #name);                                                    \
    } while (0)

static int venus_notify(struct venus *v)
{
    uint8_t buf[64];
    bool fatal = false;
    struct pv_cs_enc e = { buf, buf + sizeof(buf), &fatal };
    struct pvg_args_vkNotifyRingMESA a = { .ring = v->ring_id, .seqno = v->cur_tail };
    pvg_encode_vkNotifyRingMESA(&e, 0, &a);
    v->last_notify = now_ms();
    return submit(&v->c, buf, (uint32_t)(e.cur - buf));
}

/* Copies the built commands into the ring, publishes tail; returns the seqno. */
static uint32_t ring_flush(struct venus *v)
{
    uint32_t n = cmd_size(v);
    if (v->enc_fatal || n > RING_BUF_SIZE)
        die("command buffer overflow (%u bytes)", n);
    double deadline = now_ms() + timeout_ms;
    while (v->cur_tail - atomic_load(v->head) > RING_BUF_SIZE - n) {
        if (atomic_load(v->status) & VK_RING_STATUS_FATAL_BIT_MESA)
            break;
        if (now_ms() > deadline)
            die("no space in the ring within %d ms", timeout_ms);
        sleep_us(50);
    }
    uint32_t pos = v->cur_tail & (RING_BUF_SIZE - 1);
    uint32_t first = RING_BUF_SIZE - pos < n ? RING_BUF_SIZE - pos : n;
    memcpy(v->buf + pos, v->cmd, first);
    memcpy(v->buf, v->cmd + first, n - first);
    v->cur_tail += n;
    atomic_store(v->tail, v->cur_tail);
    if (atomic_load(v->status) & VK_RING_STATUS_IDLE_BIT_MESA)
        venus_notify(v);
    cmd_begin(v);
    return v->cur_tail;
}

enum ring_wait_result { RING_DONE, RING_FATAL, RING_TIMEOUT };

/* Waits until head reaches seqno, the ring goes FATAL, or ms pass. */
static enum ring_wait_result ring_wait(struct venus *v, uint32_t seqno, int ms)
{
    double deadline = now_ms() + ms;
    for (;;) {
        uint32_t st = atomic_load(v->status);
        if (st & VK_RING_STATUS_FATAL_BIT_MESA)
            return RING_FATAL;
        if ((int32_t)(atomic_load(v->head) - seqno) >= 0)
            return RING_DONE;
        if (now_ms() > deadline)
            return RING_TIMEOUT;
        if ((st & VK_RING_STATUS_IDLE_BIT_MESA) && now_ms() - v->last_notify > 1.0)
            venus_notify(v);
        sleep_us(20);
    }
}

static void ring_flush_wait(struct venus *v, const char *what)
{
    uint32_t seqno = ring_flush(v);
    switch (ring_wait(v, seqno, timeout_ms)) {
    case RING_DONE:
        return;
    case RING_FATAL:
        die("%s: the server marked the ring FATAL", what);
    case RING_TIMEOUT:
        die("%s: the ring did not reach seqno %u within %d ms", what, seqno, timeout_ms);
    }
}

/* Starts a command whose reply goes to the start of the reply stream. */
static void call_begin(struct venus *v)
{
    VkCommandStreamDescriptionMESA d = { .resourceId = v->reply_res, .offset = 0,
                                         .size = REPLY_SIZE };
    ENC(v, vkSetReplyCommandStreamMESA, 0, .pStream = &d);
}

/* Flushes, waits, and points a decoder at the reply. */
static void call_end(struct venus *v, struct pv_cs_dec *dec, bool *fatal, struct pv_arena *arena,
                     const char *what)
{
    ring_flush_wait(v, what);
    *fatal = false;
    pv_arena_init(arena, 1u << 20);
    pv_cs_dec_init(dec, v->reply_map, REPLY_SIZE, fatal, arena);
}

#define CALL(v, name, what, args_ptr)                                                            \
    do {                                                                                         \
        struct pv_cs_dec dec_;                                                                   \
        struct pv_arena arena_;                                                                  \
        bool fatal_;                                                                             \
        call_begin(v);                                                                           \
        if (!pvg_encode_##name(&(v)->enc, VK_COMMAND_GENERATE_REPLY_BIT_EXT, (args_ptr)))        \
            die("encoding %s failed", #name);                                                    \
        call_end((v), &dec_, &fatal_, &arena_, (what));                                          \
        if (!pvg_decode_##name##_reply(&dec_, (args_ptr)))                                       \
            die("%s: reply does not decode: %s", (what),                                         \
                dec_.fatal_reason ? dec_.fatal_reason : "?");                                    \
        pv_arena_fini(&arena_);                                                                  \
    } while (0)

static void venus_connect(struct venus *v)
{
    const char *name = v->name ? v->name : client_name;
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->next_id = 0x1000;
    conn_open(&v->c);
    handshake(&v->c, name);
    cmd_begin(v);
}

/* The shm ring and the reply stream, the way Mesa sets them up. */
static void venus_ring(struct venus *v)
{
    v->ring_map = blob_create(&v->c, RING_SHM_SIZE, 0, &v->ring_res);
    memset(v->ring_map, 0, RING_SHM_SIZE);
    v->head = (atomic_uint *)(v->ring_map + RING_HEAD);
    v->tail = (atomic_uint *)(v->ring_map + RING_TAIL);
    v->status = (atomic_uint *)(v->ring_map + RING_STATUS);
    v->buf = v->ring_map + RING_BUF;
    v->reply_map = blob_create(&v->c, REPLY_SIZE, 0, &v->reply_res);
    v->ring_id = (uintptr_t)v;

    const VkRingMonitorInfoMESA mon = { .sType = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA,
                                        .maxReportingPeriodMicroseconds = 3000000 };
    const VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .pNext = &mon,
        .resourceId = v->ring_res, .offset = 0, .size = RING_SHM_SIZE, .idleTimeout = 1000000,
        .headOffset = RING_HEAD, .tailOffset = RING_TAIL, .statusOffset = RING_STATUS,
        .bufferOffset = RING_BUF, .bufferSize = RING_BUF_SIZE,
        .extraOffset = RING_BUF + RING_BUF_SIZE, .extraSize = 4,
    };
    cmd_begin(v);
    ENC(v, vkCreateRingMESA, 0, .ring = v->ring_id, .pCreateInfo = &ci);
    if (submit(&v->c, v->cmd, cmd_size(v)))
        die("vkCreateRingMESA: server closed the connection");
    cmd_begin(v);
    sync_conn(&v->c, "vkCreateRingMESA");
    if (atomic_load(v->status) & VK_RING_STATUS_FATAL_BIT_MESA)
        die("vkCreateRingMESA: ring FATAL right away");
}

static void venus_instance(struct venus *v)
{
    const VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                    .pApplicationName = "pv-malformed",
                                    .apiVersion = VK_API_VERSION_1_3 };
    const VkInstanceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                      .pApplicationInfo = &app };
    VkInstance inst = (VkInstance)(uintptr_t)v->next_id++;
    struct pvg_args_vkCreateInstance a = { .pCreateInfo = &ci, .pInstance = &inst };
    CALL(v, vkCreateInstance, "vkCreateInstance", &a);
    if (a.ret != VK_SUCCESS)
        die("vkCreateInstance: VkResult %d", a.ret);
    v->instance = (uintptr_t)inst;
}

static void venus_physical_device(struct venus *v)
{
    /* The count query carries our capacity; the reply decoder holds the
     * server's answer to it. */
    uint32_t count = 16;
    struct pvg_args_vkEnumeratePhysicalDevices a = {
        .instance = (VkInstance)(uintptr_t)v->instance, .pPhysicalDeviceCount = &count };
    CALL(v, vkEnumeratePhysicalDevices, "vkEnumeratePhysicalDevices (count)", &a);
    if (a.ret != VK_SUCCESS || count < 1)
        die("vkEnumeratePhysicalDevices: VkResult %d, count %u", a.ret, count);
    VkPhysicalDevice ids[16];
    if (count > 16)
        count = 16;
    for (uint32_t i = 0; i < count; i++)
        ids[i] = (VkPhysicalDevice)(uintptr_t)v->next_id++;
    a.pPhysicalDevices = ids;
    CALL(v, vkEnumeratePhysicalDevices, "vkEnumeratePhysicalDevices", &a);
    if (a.ret < 0)
        die("vkEnumeratePhysicalDevices: VkResult %d", a.ret);
    v->phys = (uintptr_t)ids[0];

    VkPhysicalDeviceMemoryProperties mp;
    memset(&mp, 0, sizeof(mp));
    struct pvg_args_vkGetPhysicalDeviceMemoryProperties m = {
        .physicalDevice = ids[0], .pMemoryProperties = &mp };
    CALL(v, vkGetPhysicalDeviceMemoryProperties, "vkGetPhysicalDeviceMemoryProperties", &m);
    v->host_visible_type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
        if (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
            v->host_visible_type = i;
            break;
        }
    }
}

static void venus_device(struct venus *v)
{
    const float prio = 1.0f;
    const VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                          .queueFamilyIndex = 0, .queueCount = 1,
                                          .pQueuePriorities = &prio };
    const VkDeviceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                    .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    VkDevice dev = (VkDevice)(uintptr_t)v->next_id++;
    struct pvg_args_vkCreateDevice a = { .physicalDevice = (VkPhysicalDevice)(uintptr_t)v->phys,
                                         .pCreateInfo = &ci, .pDevice = &dev };
    CALL(v, vkCreateDevice, "vkCreateDevice", &a);
    if (a.ret != VK_SUCCESS)
        die("vkCreateDevice: VkResult %d", a.ret);
    v->device = (uintptr_t)dev;
}

static void venus_queue(struct venus *v, uint32_t ring_idx)
{
    const VkDeviceQueueTimelineInfoMESA tl = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA, .ringIdx = ring_idx };
    const VkDeviceQueueInfo2 qi = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2, .pNext = &tl,
                                    .queueFamilyIndex = 0, .queueIndex = 0 };
    VkQueue q = (VkQueue)(uintptr_t)v->next_id++;
    ENC(v, vkGetDeviceQueue2, 0, .device = (VkDevice)(uintptr_t)v->device, .pQueueInfo = &qi,
        .pQueue = &q);
    v->queue = (uintptr_t)q;
}

/* vkCreateBuffer with a reply; returns the VkResult. */
static VkResult venus_buffer(struct venus *v, uint64_t device, VkDeviceSize size, uint64_t *id)
{
    const VkBufferCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                                    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                    .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
    VkBuffer b = (VkBuffer)(uintptr_t)v->next_id++;
    struct pvg_args_vkCreateBuffer a = { .device = (VkDevice)(uintptr_t)device,
                                         .pCreateInfo = &ci, .pBuffer = &b };
    CALL(v, vkCreateBuffer, "vkCreateBuffer", &a);
    *id = (uintptr_t)b;
    return a.ret;
}

/* Builds the state a case needs: ring, instance, physical device, device. */
static void venus_up(struct venus *v, int level)
{
    venus_connect(v);
    venus_ring(v);
    if (level >= 1)
        venus_instance(v);
    if (level >= 2)
        venus_physical_device(v);
    if (level >= 3)
        venus_device(v);
}

/*
 * The malformed command is in v->cmd: put it on the ring, then the ring
 * must go FATAL and the next vtest message must make the server drop us.
 */
static int expect_ring_fatal(struct venus *v, const char *name, const char *what)
{
    double t0 = now_ms();
    uint32_t seqno = ring_flush(v);
    enum ring_wait_result r = ring_wait(v, seqno, timeout_ms);
    double t_fatal = now_ms() - t0;
    if (r == RING_DONE) {
        fprintf(stderr, "%s: case %s (%s): the server ran the command; the ring is not FATAL\n",
                prog, name, what);
        return 1;
    }
    if (r == RING_TIMEOUT) {
        fprintf(stderr, "%s: case %s (%s): no FATAL status and no progress within %d ms\n", prog,
                name, what, timeout_ms);
        return 1;
    }
    double elapsed = 0;
    if (venus_notify(v) == 0 && !wait_closed(&v->c, timeout_ms, &elapsed)) {
        fprintf(stderr,
                "%s: case %s (%s): ring FATAL after %.1f ms, but the server kept the connection "
                "open for %.0f ms\n",
                prog, name, what, t_fatal, elapsed);
        return 1;
    }
    printf("%s: case %s (%s): ring FATAL after %.1f ms, then the connection was closed (ok)\n",
           prog, name, what, t_fatal);
    return 0;
}

/* The bad message went over the socket: the server must close the connection. */
static int expect_dropped(struct conn *c, int send_err, const char *name, const char *what)
{
    double elapsed = 0;
    if (send_err) {
        if (errno != EPIPE && errno != ECONNRESET)
            die("send failed: %s", strerror(errno));
        printf("%s: case %s (%s): server closed the connection while we sent it (ok)\n", prog,
               name, what);
        return 0;
    }
    if (!wait_closed(c, timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: case %s (%s): server kept the connection open for %.0f ms\n", prog,
                name, what, elapsed);
        return 1;
    }
    printf("%s: case %s (%s): server closed the connection after %.1f ms (ok)\n", prog, name,
           what, elapsed);
    return 0;
}

/* ---- raw vtest cases: one bad message right after the handshake -------- */

/*
 * A SUBMIT_CMD2 payload with one batch: {batch_count, batch[6], cmd...}.
 * Fields not overridden describe the command bytes correctly.
 */
struct submit {
    uint32_t batch_count;
    uint32_t flags, cmd_offset, cmd_size, sync_offset, sync_count, ring_idx;
};

static uint32_t build_submit(uint32_t *out, const struct submit *s, const uint32_t *cmd,
                             uint32_t n)
{
    out[0] = s->batch_count;
    out[1] = s->flags;
    out[2] = s->cmd_offset;
    out[3] = s->cmd_size;
    out[4] = s->sync_offset;
    out[5] = s->sync_count;
    out[6] = s->ring_idx;
    memcpy(&out[1 + BATCH_DWORDS], cmd, n * 4u);
    return 1 + BATCH_DWORDS + n;
}

static struct submit good_submit(uint32_t n)
{
    return (struct submit){
        .batch_count = 1,
        .flags = SUBMIT_FLAG_RING_IDX,
        .cmd_offset = 1 + BATCH_DWORDS,
        .cmd_size = n,
        .sync_offset = 1 + BATCH_DWORDS + n,
        .sync_count = 0,
        .ring_idx = 0,
    };
}

/* Builds the malformed message of a case into msg; returns its byte length. */
typedef size_t (*case_fn)(uint32_t *msg);

static size_t submit_msg(uint32_t *msg, const struct submit *s, const uint32_t *cmd, uint32_t n)
{
    uint32_t dwords = build_submit(&msg[2], s, cmd, n);
    msg[0] = dwords;
    msg[1] = VCMD_SUBMIT_CMD2;
    return (2 + (size_t)dwords) * 4;
}

static size_t case_unknown_command(uint32_t *msg)
{
    /* Venus command header {int32 type, uint32 flags} with a type no protocol has. */
    const uint32_t cmd[2] = { 99999, 0 };
    struct submit s = good_submit(2);
    return submit_msg(msg, &s, cmd, 2);
}

static size_t case_truncated(uint32_t *msg)
{
    /* vkCreateRingMESA(ring, &VkRingCreateInfoMESA) cut off after the sType. */
    const uint32_t cmd[7] = {
        VK_CMD_CREATE_RING_MESA, 0, /* header */
        0x1000, 0,                  /* u64 ring */
        1, 0,                       /* pCreateInfo: array size 1 (present) */
        STYPE_RING_CREATE_INFO_MESA, /* sType, then nothing: pNext and fields missing */
    };
    struct submit s = good_submit(7);
    return submit_msg(msg, &s, cmd, 7);
}

static size_t case_bad_batch(uint32_t *msg)
{
    const uint32_t cmd[2] = { 99999, 0 };
    struct submit s = good_submit(2);
    s.cmd_offset = 1000; /* far past the 9-dword payload */
    return submit_msg(msg, &s, cmd, 2);
}

static size_t case_bad_batch_overflow(uint32_t *msg)
{
    const uint32_t cmd[2] = { 99999, 0 };
    struct submit s = good_submit(2);
    s.cmd_size = 0xfffffffeu; /* offset + size wraps around in 32 bits */
    return submit_msg(msg, &s, cmd, 2);
}

static size_t case_bad_sync(uint32_t *msg)
{
    const uint32_t cmd[2] = { 99999, 0 };
    struct submit s = good_submit(0);
    s.sync_count = 0x15555556u; /* 12 bytes * count wraps to 8 in 32 bits */
    return submit_msg(msg, &s, cmd, 0);
}

static size_t case_huge_batch_count(uint32_t *msg)
{
    const uint32_t cmd[2] = { 99999, 0 };
    struct submit s = good_submit(2);
    s.batch_count = 0xffffffffu;
    return submit_msg(msg, &s, cmd, 2);
}

static size_t case_garbage(uint32_t *msg)
{
    /* A SUBMIT_CMD2 header claiming ~16 GiB of payload, then random bytes. */
    msg[0] = 0xfffffff0u;
    msg[1] = VCMD_SUBMIT_CMD2;
    uint32_t x = 0x1234567u;
    for (int i = 2; i < 66; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        msg[i] = x;
    }
    return 66 * 4;
}

static size_t case_unknown_vcmd(uint32_t *msg)
{
    msg[0] = 1;
    msg[1] = 9999;
    msg[2] = 0;
    return 3 * 4;
}

/* ---- Venus cases: real state first, then one bad command ---------------- */

/* Byte offsets in an encoded vkCreateBuffer (docs/venus-protocol.md §3): header 8,
 * device 8, pCreateInfo present 8, then VkBufferCreateInfo. */
#define CB_STYPE 24
#define CB_PNEXT 28          /* u64 presence of the first chained struct */
#define CB_QFI_COUNT 56      /* without a pNext chain */
#define CB_QFI_ARRAY 60      /* u64 array size, then the indices */

static void check32(const struct venus *v, size_t off, uint32_t want, const char *what)
{
    uint32_t got;
    memcpy(&got, v->cmd + off, 4);
    if (got != want)
        die("internal: %s at offset %zu is %u, expected %u", what, off, got, want);
}

static void patch32(struct venus *v, size_t off, uint32_t x)
{
    memcpy(v->cmd + off, &x, 4);
}

static void patch64(struct venus *v, size_t off, uint64_t x)
{
    memcpy(v->cmd + off, &x, 8);
}

/* A valid vkCreateBuffer (no reply) on `device` with one queue family index. */
static void enc_create_buffer(struct venus *v, uint64_t device, const void *pnext)
{
    static const uint32_t qfi = 0;
    const VkBufferCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                    .pNext = pnext, .size = 4096,
                                    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                                    .queueFamilyIndexCount = 1, .pQueueFamilyIndices = &qfi };
    VkBuffer b = (VkBuffer)(uintptr_t)v->next_id++;
    ENC(v, vkCreateBuffer, 0, .device = (VkDevice)(uintptr_t)device, .pCreateInfo = &ci,
        .pBuffer = &b);
    check32(v, CB_STYPE, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, "sType");
}

/* Setup sanity shared by the device-level cases: a good buffer works. */
static void control_buffer(struct venus *v)
{
    uint64_t id;
    VkResult r = venus_buffer(v, v->device, 4096, &id);
    if (r != VK_SUCCESS)
        die("control vkCreateBuffer: VkResult %d", r);
    ENC(v, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)v->device,
        .buffer = (VkBuffer)(uintptr_t)id);
    ring_flush_wait(v, "control vkDestroyBuffer");
}

/* Sessions live until exit (the cases return with their connections open);
 * kept reachable here so LeakSanitizer does not count them. */
static struct venus *sessions[4];

static struct venus *venus_new(void)
{
    struct venus *v = calloc(1, sizeof(*v));
    if (!v)
        die("out of memory");
    for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++) {
        if (!sessions[i]) {
            sessions[i] = v;
            break;
        }
    }
    return v;
}

typedef int (*vcase_fn)(const char *name, const char *what);

static int vcase_bad_object_id(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    enc_create_buffer(v, 0xdead0000beefull, NULL);
    return expect_ring_fatal(v, name, what);
}

static int vcase_bad_object_destroy(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    ENC(v, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)v->device,
        .buffer = (VkBuffer)(uintptr_t)0xdead0000beefull);
    return expect_ring_fatal(v, name, what);
}

static int vcase_bad_object_type(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    enc_create_buffer(v, v->instance, NULL); /* an instance id where a VkDevice goes */
    return expect_ring_fatal(v, name, what);
}

/*
 * Client A builds a device and a buffer; client B, a second connection,
 * destroys A's buffer on A's device by id. B must go fatal; A's buffer and
 * device must be untouched and A must keep working.
 */
static int vcase_foreign_object_id(const char *name, const char *what)
{
    struct venus *a = venus_new(), *b = venus_new();
    a->name = peer_name; /* well-behaved: the fatal line must not name it */
    venus_up(a, 3);
    uint64_t buf;
    VkResult r = venus_buffer(a, a->device, 4096, &buf);
    if (r != VK_SUCCESS)
        die("client A: vkCreateBuffer: VkResult %d", r);

    venus_up(b, 1); /* same id sequence as A: B's instance has A's instance id */
    if (b->instance != a->instance)
        die("internal: B's instance id differs from A's");
    ENC(b, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)a->device,
        .buffer = (VkBuffer)(uintptr_t)buf);
    int rc = expect_ring_fatal(b, name, what);

    /* A: its buffer still exists (memory requirements of it), and it can go on. */
    VkMemoryRequirements mr;
    memset(&mr, 0, sizeof(mr));
    struct pvg_args_vkGetBufferMemoryRequirements q = {
        .device = (VkDevice)(uintptr_t)a->device, .buffer = (VkBuffer)(uintptr_t)buf,
        .pMemoryRequirements = &mr };
    CALL(a, vkGetBufferMemoryRequirements, "client A: vkGetBufferMemoryRequirements", &q);
    if (mr.size < 4096)
        die("client A: its buffer reports %llu bytes after B's attempt",
            (unsigned long long)mr.size);
    uint64_t buf2;
    r = venus_buffer(a, a->device, 8192, &buf2);
    if (r != VK_SUCCESS)
        die("client A: vkCreateBuffer after B went fatal: VkResult %d", r);
    ENC(a, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)a->device,
        .buffer = (VkBuffer)(uintptr_t)buf);
    ENC(a, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)a->device,
        .buffer = (VkBuffer)(uintptr_t)buf2);
    ENC(a, vkDestroyDevice, 0, .device = (VkDevice)(uintptr_t)a->device);
    ENC(a, vkDestroyInstance, 0, .instance = (VkInstance)(uintptr_t)a->instance);
    ring_flush_wait(a, "client A: teardown");
    sync_conn(&a->c, "client A: ping after teardown");
    if (atomic_load(a->status) & VK_RING_STATUS_FATAL_BIT_MESA)
        die("client A: its ring went FATAL");
    printf("%s: case %s: client A kept its buffer and device and finished cleanly (ok)\n", prog,
           name);
    conn_close(&a->c);
    return rc;
}

/* vkCreateRingMESA over the socket with one field of a valid create info changed. */
enum ring_bad { RING_BUF_PAST_END, RING_BUF_WRAP, RING_OVERLAP, RING_NPOT, RING_SIZE_PAST_END };

static int ring_layout_case(const char *name, const char *what, enum ring_bad bad)
{
    struct venus *v = venus_new();
    venus_connect(v);
    v->ring_map = blob_create(&v->c, RING_SHM_SIZE, 0, &v->ring_res);
    const VkRingMonitorInfoMESA mon = { .sType = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA,
                                        .maxReportingPeriodMicroseconds = 3000000 };
    VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .pNext = &mon,
        .resourceId = v->ring_res, .offset = 0, .size = RING_SHM_SIZE, .idleTimeout = 1000000,
        .headOffset = RING_HEAD, .tailOffset = RING_TAIL, .statusOffset = RING_STATUS,
        .bufferOffset = RING_BUF, .bufferSize = RING_BUF_SIZE,
        .extraOffset = RING_BUF + RING_BUF_SIZE, .extraSize = 4,
    };
    switch (bad) {
    case RING_BUF_PAST_END:
        ci.bufferOffset = RING_SHM_SIZE - 4096; /* 64 KiB buffer starting 4 KiB before the end */
        ci.extraOffset = RING_BUF;
        break;
    case RING_BUF_WRAP:
        ci.bufferOffset = UINT64_MAX - 63; /* offset + size wraps around 2^64 */
        break;
    case RING_OVERLAP:
        ci.tailOffset = RING_HEAD; /* head and tail share a word */
        break;
    case RING_NPOT:
        ci.bufferSize = 48 * 1024; /* not a power of two (still inside the resource) */
        ci.extraOffset = RING_BUF + 48 * 1024;
        break;
    case RING_SIZE_PAST_END:
        ci.size = 1ull << 40; /* the layout claims more than the resource has */
        break;
    }
    cmd_begin(v);
    ENC(v, vkCreateRingMESA, 0, .ring = 0x5151, .pCreateInfo = &ci);
    return expect_dropped(&v->c, submit(&v->c, v->cmd, cmd_size(v)), name, what);
}

static int vcase_ring_offsets(const char *n, const char *w) { return ring_layout_case(n, w, RING_BUF_PAST_END); }
static int vcase_ring_offset_wrap(const char *n, const char *w) { return ring_layout_case(n, w, RING_BUF_WRAP); }
static int vcase_ring_overlap(const char *n, const char *w) { return ring_layout_case(n, w, RING_OVERLAP); }
static int vcase_ring_npot(const char *n, const char *w) { return ring_layout_case(n, w, RING_NPOT); }
static int vcase_ring_size(const char *n, const char *w) { return ring_layout_case(n, w, RING_SIZE_PAST_END); }

/* A working ring whose tail the client moves more than bufferSize ahead. */
static int vcase_ring_tail(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 1);
    double t0 = now_ms();
    v->cur_tail += RING_BUF_SIZE + 64;
    atomic_store(v->tail, v->cur_tail);
    venus_notify(v);
    enum ring_wait_result r = ring_wait(v, v->cur_tail, timeout_ms);
    if (r != RING_FATAL) {
        fprintf(stderr, "%s: case %s (%s): %s\n", prog, name, what,
                r == RING_DONE ? "the server consumed the bytes; the ring is not FATAL"
                               : "no FATAL status within the timeout");
        return 1;
    }
    double t_fatal = now_ms() - t0, elapsed;
    if (venus_notify(v) == 0 && !wait_closed(&v->c, timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: case %s (%s): ring FATAL, but the connection stayed open\n", prog,
                name, what);
        return 1;
    }
    printf("%s: case %s (%s): ring FATAL after %.1f ms, then the connection was closed (ok)\n",
           prog, name, what, t_fatal);
    return 0;
}

/* vkCreateBuffer whose queueFamilyIndexCount (and array size) is `count`. */
static int huge_count_case(const char *name, const char *what, uint32_t count)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    enc_create_buffer(v, v->device, NULL);
    check32(v, CB_QFI_COUNT, 1, "queueFamilyIndexCount");
    check32(v, CB_QFI_ARRAY, 1, "array size");
    patch32(v, CB_QFI_COUNT, count);
    patch64(v, CB_QFI_ARRAY, count);
    return expect_ring_fatal(v, name, what);
}

static int vcase_huge_count(const char *n, const char *w) { return huge_count_case(n, w, 0xffffffffu); }
/* 252 MiB: under the renderer's 256 MiB arena limit, so it is allocated before the read fails. */
static int vcase_huge_count_arena(const char *n, const char *w) { return huge_count_case(n, w, 0x03f00000u); }

/* vkCreateInstance whose pApplicationName claims 2^40 bytes. */
static int vcase_huge_array(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 0);
    put32(v, PVG_CMD_vkCreateInstance);
    put32(v, 0);
    put64(v, 1);                                            /* pCreateInfo present */
    put32(v, VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
    put64(v, 0);                                            /* pNext */
    put32(v, 0);                                            /* flags */
    put64(v, 1);                                            /* pApplicationInfo present */
    put32(v, VK_STRUCTURE_TYPE_APPLICATION_INFO);
    put64(v, 0);                                            /* pNext */
    put64(v, 1ull << 40);                                   /* pApplicationName: 1 TiB */
    put32(v, 0x41414141);
    put32(v, 0);
    return expect_ring_fatal(v, name, what);
}

/* vkCreateBuffer with 1000 nested VkExternalMemoryBufferCreateInfo (limit: 64). */
static int vcase_pnext_loop(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    enum { DEPTH = 1000 };
    put32(v, PVG_CMD_vkCreateBuffer);
    put32(v, 0);
    put64(v, v->device);
    put64(v, 1);
    put32(v, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
    for (int i = 0; i < DEPTH; i++) {
        put64(v, 1);
        put32(v, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
    }
    put64(v, 0);
    for (int i = 0; i < DEPTH; i++)
        put32(v, 0); /* handleTypes */
    put32(v, 0);     /* flags */
    put64(v, 4096);  /* size */
    put32(v, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
    put32(v, VK_SHARING_MODE_EXCLUSIVE);
    put32(v, 0);
    put64(v, 0);     /* pQueueFamilyIndices */
    put64(v, 0);     /* pAllocator */
    put64(v, 1);
    put64(v, v->next_id++);
    return expect_ring_fatal(v, name, what);
}

/*
 * Plain enums out of range go to the host driver: it must answer and the
 * context must stay usable. Then an unknown sType inside a pNext chain,
 * which must be fatal.
 */
static int vcase_bad_enum(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    static const VkFormat bad_formats[] = { (VkFormat)0x7fffffff, (VkFormat)1000999999,
                                            (VkFormat)-1 };
    for (size_t i = 0; i < sizeof(bad_formats) / sizeof(bad_formats[0]); i++) {
        VkFormatProperties fp;
        memset(&fp, 0xff, sizeof(fp));
        struct pvg_args_vkGetPhysicalDeviceFormatProperties a = {
            .physicalDevice = (VkPhysicalDevice)(uintptr_t)v->phys, .format = bad_formats[i],
            .pFormatProperties = &fp };
        CALL(v, vkGetPhysicalDeviceFormatProperties, "vkGetPhysicalDeviceFormatProperties", &a);
        printf("%s: case %s: VkFormat %d: features {0x%x, 0x%x, 0x%x} (host answered)\n", prog,
               name, (int)bad_formats[i], fp.linearTilingFeatures, fp.optimalTilingFeatures,
               fp.bufferFeatures);
    }
    VkImageFormatProperties ifp;
    struct pvg_args_vkGetPhysicalDeviceImageFormatProperties q = {
        .physicalDevice = (VkPhysicalDevice)(uintptr_t)v->phys,
        .format = (VkFormat)0x7fffffff, .type = VK_IMAGE_TYPE_2D,
        .tiling = VK_IMAGE_TILING_OPTIMAL, .usage = VK_IMAGE_USAGE_SAMPLED_BIT,
        .pImageFormatProperties = &ifp };
    CALL(v, vkGetPhysicalDeviceImageFormatProperties, "vkGetPhysicalDeviceImageFormatProperties",
         &q);
    printf("%s: case %s: vkGetPhysicalDeviceImageFormatProperties(VkFormat 0x7fffffff) = %d\n",
           prog, name, q.ret);
    control_buffer(v); /* still usable */

    /* Now an unknown sType in the chain: a valid chain with its sType changed. */
    const VkExternalMemoryBufferCreateInfo ext = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO };
    enc_create_buffer(v, v->device, &ext);
    check32(v, CB_PNEXT, 1, "pNext presence");
    check32(v, CB_PNEXT + 8, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, "chained sType");
    patch32(v, CB_PNEXT + 8, 0x7ffffff0);
    return expect_ring_fatal(v, name, what);
}

/* vkCreateBuffer whose create info claims to be a VkImageCreateInfo. */
static int vcase_bad_stype(const char *name, const char *what)
{
    struct venus *v = venus_new();
    venus_up(v, 3);
    control_buffer(v);
    enc_create_buffer(v, v->device, NULL);
    patch32(v, CB_STYPE, VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO);
    return expect_ring_fatal(v, name, what);
}

static const struct {
    const char *name;
    const char *reason; /* the renderer's fatal reason for it (its stats key) */
    case_fn build; /* raw vtest message */
    vcase_fn run;  /* Venus case */
    const char *what;
} cases[] = {
    { "unknown-command", "unsupported", case_unknown_command, NULL,
      "Venus stream with command type 99999" },
    { "truncated", "decode", case_truncated, NULL,
      "vkCreateRingMESA cut short after the create info's sType" },
    { "bad-batch", "transport", case_bad_batch, NULL,
      "SUBMIT_CMD2 batch cmd_offset past the payload" },
    { "bad-batch-overflow", "transport", case_bad_batch_overflow, NULL,
      "SUBMIT_CMD2 batch cmd_offset + cmd_size wrapping 32 bits" },
    { "bad-sync", "transport", case_bad_sync, NULL,
      "SUBMIT_CMD2 sync_count whose byte size wraps 32 bits" },
    { "huge-batch-count", "transport", case_huge_batch_count, NULL,
      "SUBMIT_CMD2 with batch_count 0xffffffff" },
    { "garbage", "transport", case_garbage, NULL,
      "SUBMIT_CMD2 header claiming 16 GiB, then random bytes" },
    { "unknown-vcmd", "transport", case_unknown_vcmd, NULL, "vtest command id 9999" },
    { "bad-object-id", "object", NULL, vcase_bad_object_id,
      "vkCreateBuffer on a VkDevice id never created" },
    { "bad-object-destroy", "object", NULL, vcase_bad_object_destroy,
      "vkDestroyBuffer of a VkBuffer id never created" },
    { "bad-object-type", "object", NULL, vcase_bad_object_type,
      "vkCreateBuffer naming the VkInstance id as its VkDevice" },
    { "foreign-object-id", "object", NULL, vcase_foreign_object_id,
      "client B destroys client A's buffer on A's device by id" },
    { "ring-offsets", "ring", NULL, vcase_ring_offsets,
      "vkCreateRingMESA whose buffer runs past the end of the shm resource" },
    { "ring-offset-wrap", "ring", NULL, vcase_ring_offset_wrap,
      "vkCreateRingMESA whose bufferOffset + bufferSize wraps 2^64" },
    { "ring-overlap", "ring", NULL, vcase_ring_overlap,
      "vkCreateRingMESA with tail at the head's offset" },
    { "ring-npot", "ring", NULL, vcase_ring_npot,
      "vkCreateRingMESA with a 48 KiB (non power of two) buffer" },
    { "ring-size", "ring", NULL, vcase_ring_size,
      "vkCreateRingMESA whose size is 1 TiB on a small resource" },
    { "ring-tail", "ring", NULL, vcase_ring_tail,
      "ring tail moved bufferSize + 64 bytes past head" },
    { "huge-count", "decode", NULL, vcase_huge_count,
      "vkCreateBuffer with queueFamilyIndexCount 0xffffffff (16 GiB of indices)" },
    { "huge-count-arena", "decode", NULL, vcase_huge_count_arena,
      "vkCreateBuffer with queueFamilyIndexCount 0x3f00000 (252 MiB, under the arena limit)" },
    { "huge-array", "decode", NULL, vcase_huge_array,
      "vkCreateInstance with a 2^40-byte pApplicationName" },
    { "pnext-loop", "decode", NULL, vcase_pnext_loop,
      "vkCreateBuffer with a 1000-deep pNext chain" },
    { "bad-enum", "decode", NULL, vcase_bad_enum,
      "out-of-range VkFormat (answered), then an unknown sType in a pNext chain" },
    { "bad-stype", "decode", NULL, vcase_bad_stype,
      "vkCreateBuffer whose create info has VkImageCreateInfo's sType" },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- soak: clients that build state and vanish at random points -------- */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum { SOAK_STEPS = 9 };

/*
 * One client: steps 0..stop-1 of connect, handshake, ring + reply stream,
 * instance, physical device, device + queue, buffers, host-visible memory
 * exported as a mapped blob, buffer bound to it; then it vanishes one of
 * three ways: a plain close, a close with commands still on the ring, or a
 * close in the middle of a vtest message. stop == SOAK_STEPS tears down
 * cleanly instead. Returns a short description of what it did.
 */
static const char *soak_cycle(uint64_t seed, unsigned idx, char *desc, size_t desc_size)
{
    uint64_t s = seed ^ ((uint64_t)idx * 0xd1b54a32d192ed03ull);
    unsigned stop = (unsigned)(rng_next(&s) % (SOAK_STEPS + 1));
    unsigned how = (unsigned)(rng_next(&s) % 3);
    unsigned nbuf = 1 + (unsigned)(rng_next(&s) % 4);
    struct venus *v = venus_new();
    uint64_t bufs[4] = { 0 }, mem = 0;
    void *mem_map = NULL;
    uint32_t mem_res = 0;
    const VkDeviceSize mem_size = 64 * 1024;
    unsigned step = 0;

    v->next_id = 0x1000;
    cmd_begin(v);
    conn_open(&v->c);
    if (++step > stop)
        goto vanish;
    handshake(&v->c, client_name);
    if (++step > stop)
        goto vanish;
    venus_ring(v);
    if (++step > stop)
        goto vanish;
    venus_instance(v);
    if (++step > stop)
        goto vanish;
    venus_physical_device(v);
    if (++step > stop)
        goto vanish;
    venus_device(v);
    venus_queue(v, 1);
    ring_flush_wait(v, "vkGetDeviceQueue2");
    if (++step > stop)
        goto vanish;
    for (unsigned i = 0; i < nbuf; i++) {
        /* Asynchronous, as Mesa sends vkCreateBuffer. */
        const VkBufferCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                        .size = 4096 << i,
                                        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
        VkBuffer b = (VkBuffer)(uintptr_t)v->next_id++;
        ENC(v, vkCreateBuffer, 0, .device = (VkDevice)(uintptr_t)v->device, .pCreateInfo = &ci,
            .pBuffer = &b);
        bufs[i] = (uintptr_t)b;
    }
    ring_flush_wait(v, "vkCreateBuffer");
    if (++step > stop)
        goto vanish;
    if (v->host_visible_type != UINT32_MAX) {
        const VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                          .allocationSize = mem_size,
                                          .memoryTypeIndex = v->host_visible_type };
        VkDeviceMemory m = (VkDeviceMemory)(uintptr_t)v->next_id++;
        struct pvg_args_vkAllocateMemory a = { .device = (VkDevice)(uintptr_t)v->device,
                                               .pAllocateInfo = &ai, .pMemory = &m };
        CALL(v, vkAllocateMemory, "vkAllocateMemory", &a);
        if (a.ret != VK_SUCCESS)
            die("cycle %u: vkAllocateMemory: VkResult %d", idx, a.ret);
        mem = (uintptr_t)m;
        mem_map = blob_create(&v->c, mem_size, mem, &mem_res);
        memset(mem_map, 0x5a, mem_size);
    }
    if (++step > stop)
        goto vanish;
    if (mem) {
        struct pvg_args_vkBindBufferMemory a = { .device = (VkDevice)(uintptr_t)v->device,
                                                 .buffer = (VkBuffer)(uintptr_t)bufs[0],
                                                 .memory = (VkDeviceMemory)(uintptr_t)mem };
        CALL(v, vkBindBufferMemory, "vkBindBufferMemory", &a);
        if (a.ret != VK_SUCCESS)
            die("cycle %u: vkBindBufferMemory: VkResult %d", idx, a.ret);
    }
    if (++step > stop)
        goto vanish;

    /* Clean teardown, the way Mesa does it. */
    for (unsigned i = 0; i < nbuf; i++)
        ENC(v, vkDestroyBuffer, 0, .device = (VkDevice)(uintptr_t)v->device,
            .buffer = (VkBuffer)(uintptr_t)bufs[i]);
    ring_flush_wait(v, "vkDestroyBuffer");
    if (mem) {
        munmap(mem_map, mem_size);
        mem_map = NULL;
        send_msg(&v->c, VCMD_RESOURCE_UNREF, &mem_res, 1, "RESOURCE_UNREF");
        ENC(v, vkFreeMemory, 0, .device = (VkDevice)(uintptr_t)v->device,
            .memory = (VkDeviceMemory)(uintptr_t)mem);
    }
    ENC(v, vkDestroyDevice, 0, .device = (VkDevice)(uintptr_t)v->device);
    ENC(v, vkDestroyInstance, 0, .instance = (VkInstance)(uintptr_t)v->instance);
    ring_flush_wait(v, "vkDestroyInstance");
    cmd_begin(v);
    ENC(v, vkDestroyRingMESA, 0, .ring = v->ring_id);
    if (submit(&v->c, v->cmd, cmd_size(v)))
        die("cycle %u: vkDestroyRingMESA: server closed the connection", idx);
    sync_conn(&v->c, "vkDestroyRingMESA");
    send_msg(&v->c, VCMD_RESOURCE_UNREF, &v->ring_res, 1, "RESOURCE_UNREF");
    send_msg(&v->c, VCMD_RESOURCE_UNREF, &v->reply_res, 1, "RESOURCE_UNREF");
    sync_conn(&v->c, "RESOURCE_UNREF");
    snprintf(desc, desc_size, "clean teardown");
    how = 99;

vanish:
    if (how == 1 && v->ring_map && v->device) {
        /* Leave work on the ring: buffers created but never waited for. */
        for (unsigned i = 0; i < 8; i++) {
            const VkBufferCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                            .size = 65536,
                                            .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
            VkBuffer b = (VkBuffer)(uintptr_t)v->next_id++;
            ENC(v, vkCreateBuffer, 0, .device = (VkDevice)(uintptr_t)v->device,
                .pCreateInfo = &ci, .pBuffer = &b);
        }
        ring_flush(v);
    } else if (how == 2 && step > 1) {
        /* Half a SUBMIT_CMD2: the header promises 64 dwords, 5 arrive. */
        uint32_t part[7] = { 64, VCMD_SUBMIT_CMD2, 1, SUBMIT_FLAG_RING_IDX, 7, 57, 64 };
        send_all(&v->c, part, sizeof(part));
    }
    if (how != 99)
        snprintf(desc, desc_size, "vanished after step %u of %u (%s)", stop, SOAK_STEPS,
                 how == 1 ? "commands on the ring" : how == 2 ? "mid-message" : "close");
    conn_close(&v->c);
    if (mem_map)
        munmap(mem_map, mem_size);
    if (v->ring_map)
        munmap(v->ring_map, RING_SHM_SIZE);
    if (v->reply_map)
        munmap(v->reply_map, REPLY_SIZE);
    for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++)
        if (sessions[i] == v)
            sessions[i] = NULL;
    free(v);
    return desc;
}

static int soak(unsigned cycles, unsigned jobs, uint64_t seed, bool verbose)
{
    printf("%s: soak: %u cycles, %u at a time, seed %llu\n", prog, cycles, jobs,
           (unsigned long long)seed);
    fflush(stdout);
    pid_t pids[64];
    for (unsigned w = 0; w < jobs; w++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            char desc[128];
            for (unsigned i = w; i < cycles; i += jobs) {
                const char *d = soak_cycle(seed, i, desc, sizeof(desc));
                if (verbose)
                    printf("%s: cycle %u: %s\n", prog, i, d);
            }
            fflush(stdout);
            _exit(0);
        }
        pids[w] = pid;
    }
    int failed = 0;
    for (unsigned w = 0; w < jobs; w++) {
        int st;
        if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "%s: soak worker %u failed (status 0x%x, seed %llu)\n", prog, w, st,
                    (unsigned long long)seed);
            failed = 1;
        }
    }
    if (!failed)
        printf("%s: soak: %u cycles done (seed %llu)\n", prog, cycles, (unsigned long long)seed);
    return failed;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: %s [--socket PATH] [--timeout-ms N] [--name NAME] --case CASE\n"
               "       %s --list\n"
               "       %s --reason CASE\n"
               "       %s [--socket PATH] --soak CYCLES [--jobs N] [--seed S] [--verbose]\n"
               "cases: ping (control: a valid message, the connection must stay open)",
            prog, prog, prog, prog);
    for (size_t i = 0; i < N_CASES; i++)
        fprintf(f, ", %s", cases[i].name);
    fputc('\n', f);
}

int main(int argc, char **argv)
{
    const char *name = NULL;
    long soak_cycles = -1, jobs = 4;
    uint64_t seed = 0;
    bool have_seed = false, verbose = false;
    sock_path = getenv("VTEST_SOCKET_NAME");
    for (int i = 1; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--list")) {
            for (size_t k = 0; k < N_CASES; k++)
                printf("%s\n", cases[k].name);
            return 0;
        } else if (!strcmp(argv[i], "--reason") && val) {
            for (size_t k = 0; k < N_CASES; k++) {
                if (!strcmp(val, cases[k].name)) {
                    printf("%s\n", cases[k].reason);
                    return 0;
                }
            }
            fprintf(stderr, "%s: unknown case '%s'\n", prog, val);
            return 2;
        } else if (!strcmp(argv[i], "--socket") && val) {
            sock_path = val;
            i++;
        } else if (!strcmp(argv[i], "--name") && val && *val && strlen(val) < 64) {
            client_name = val;
            i++;
        } else if (!strcmp(argv[i], "--case") && val) {
            name = val;
            i++;
        } else if (!strcmp(argv[i], "--timeout-ms") && val && atoi(val) > 0) {
            timeout_ms = atoi(val);
            i++;
        } else if (!strcmp(argv[i], "--soak") && val && atol(val) >= 0) {
            soak_cycles = atol(val);
            i++;
        } else if (!strcmp(argv[i], "--jobs") && val && atol(val) > 0 && atol(val) <= 64) {
            jobs = atol(val);
            i++;
        } else if (!strcmp(argv[i], "--seed") && val) {
            seed = strtoull(val, NULL, 0);
            have_seed = true;
            i++;
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = true;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    snprintf(peer_name, sizeof(peer_name), "%s-peer", client_name);
    if (!sock_path || !*sock_path || (!name && soak_cycles < 0)) {
        fprintf(stderr, "%s: need --case or --soak, and a socket (--socket or VTEST_SOCKET_NAME)\n",
                prog);
        usage(stderr);
        return 2;
    }
    if (soak_cycles >= 0) {
        if (!have_seed) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        }
        return soak((unsigned)soak_cycles, (unsigned)jobs, seed, verbose);
    }

    size_t ci = N_CASES;
    bool control = !strcmp(name, "ping");
    for (size_t k = 0; k < N_CASES; k++)
        if (!strcmp(name, cases[k].name))
            ci = k;
    if (ci == N_CASES && !control) {
        fprintf(stderr, "%s: unknown case '%s'\n", prog, name);
        usage(stderr);
        return 2;
    }
    if (ci < N_CASES && cases[ci].run)
        return cases[ci].run(name, cases[ci].what);

    struct conn c;
    conn_open(&c);
    handshake(&c, client_name);

    double elapsed;
    if (control) {
        sync_conn(&c, "case ping");
        if (wait_closed(&c, 500, &elapsed)) {
            fprintf(stderr, "%s: case ping: server closed the connection after a valid message\n",
                    prog);
            return 1;
        }
        printf("%s: case ping: server answered and kept the connection open (ok)\n", prog);
        conn_close(&c);
        return 0;
    }

    uint32_t msg[128];
    size_t len = cases[ci].build(msg);
    int rc = expect_dropped(&c, send_all(&c, msg, len), name, cases[ci].what);
    conn_close(&c);
    return rc;
}
