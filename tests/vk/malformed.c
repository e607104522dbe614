/*
 * pv-malformed-client: a raw vtest client (no Mesa) that sends one malformed
 * message and checks that the server drops the connection.
 *
 *   pv-malformed-client [--socket PATH] [--timeout-ms N] --case NAME
 *   pv-malformed-client --list
 *
 * The socket defaults to $VTEST_SOCKET_NAME. The client does the handshake
 * the Mesa 25.0 Venus driver does (docs venus-wire.md §1.5: CREATE_RENDERER,
 * PING_PROTOCOL_VERSION + RESOURCE_BUSY_WAIT, PROTOCOL_VERSION 3, GET_PARAM 1,
 * GET_CAPSET 4, CONTEXT_INIT 4), checking every reply, then sends the
 * message of the case and waits for the server to close the connection.
 *
 * Exit: 0 the server closed the connection within the timeout (for the
 * control case "ping": the server answered and kept the connection open);
 * 1 the server kept the connection open, or the handshake failed;
 * 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* vtest command ids (venus-wire.md §1.3). */
enum {
    VCMD_RESOURCE_BUSY_WAIT = 7,
    VCMD_CREATE_RENDERER = 8,
    VCMD_PING_PROTOCOL_VERSION = 10,
    VCMD_PROTOCOL_VERSION = 11,
    VCMD_GET_PARAM = 15,
    VCMD_GET_CAPSET = 16,
    VCMD_CONTEXT_INIT = 17,
    VCMD_SUBMIT_CMD2 = 24,
};
#define VCMD_PARAM_MAX_TIMELINE_COUNT 1
#define CAPSET_VENUS 4
#define SUBMIT_FLAG_RING_IDX 1u
#define BATCH_DWORDS 6 /* struct vcmd_submit_cmd2_batch as the client writes it */

/* Venus command ids (venus-wire.md §3.6). */
#define VK_CMD_CREATE_RING_MESA 188
#define STYPE_RING_CREATE_INFO_MESA 1000384000

static const char *prog = "pv-malformed-client";
static int sock_fd = -1;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

/* Returns 0, or -1 with errno (EPIPE/ECONNRESET when the server closed). */
static int send_all(const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(sock_fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes within timeout_ms; dies naming `what` otherwise. */
static void recv_exact(void *buf, size_t len, int timeout_ms, const char *what)
{
    char *p = buf;
    double deadline = now_ms() + timeout_ms;
    while (len) {
        int left = (int)(deadline - now_ms());
        struct pollfd pfd = { .fd = sock_fd, .events = POLLIN };
        int r = left > 0 ? poll(&pfd, 1, left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            die("handshake: no reply to %s (timeout)", what);
        ssize_t n = recv(sock_fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("handshake: server closed the connection while replying to %s", what);
        p += n;
        len -= (size_t)n;
    }
}

static void send_msg(uint32_t id, const uint32_t *payload, uint32_t dwords, const char *what)
{
    uint32_t hdr[2] = { dwords, id };
    if (send_all(hdr, sizeof(hdr)) || send_all(payload, dwords * 4u))
        die("handshake: sending %s failed: server closed the connection", what);
}

static void expect_hdr(uint32_t id, uint32_t len, int timeout_ms, const char *what)
{
    uint32_t hdr[2];
    recv_exact(hdr, sizeof(hdr), timeout_ms, what);
    if (hdr[1] != id || hdr[0] != len) {
        fprintf(stderr, "%s: handshake: reply to %s has header {len %u, id %u}, expected {%u, %u}\n",
                prog, what, hdr[0], hdr[1], len, id);
        exit(1);
    }
}

static void handshake(int timeout_ms)
{
    static const char name[] = "pv-malformed";
    uint32_t hdr[2] = { sizeof(name), VCMD_CREATE_RENDERER }; /* length in bytes here */
    if (send_all(hdr, sizeof(hdr)) || send_all(name, sizeof(name)))
        die("handshake: sending %s failed", "CREATE_RENDERER");

    /* Ping and busy-wait are sent together; the replies come in that order. */
    uint32_t msgs[6] = { 0, VCMD_PING_PROTOCOL_VERSION, 2, VCMD_RESOURCE_BUSY_WAIT, 0, 0 };
    if (send_all(msgs, sizeof(msgs)))
        die("handshake: sending %s failed", "PING_PROTOCOL_VERSION");
    expect_hdr(VCMD_PING_PROTOCOL_VERSION, 0, timeout_ms, "PING_PROTOCOL_VERSION");
    expect_hdr(VCMD_RESOURCE_BUSY_WAIT, 1, timeout_ms, "RESOURCE_BUSY_WAIT");
    uint32_t v;
    recv_exact(&v, 4, timeout_ms, "RESOURCE_BUSY_WAIT");

    uint32_t version = 3;
    send_msg(VCMD_PROTOCOL_VERSION, &version, 1, "PROTOCOL_VERSION");
    expect_hdr(VCMD_PROTOCOL_VERSION, 1, timeout_ms, "PROTOCOL_VERSION");
    recv_exact(&v, 4, timeout_ms, "PROTOCOL_VERSION");
    if (v < 3) {
        fprintf(stderr, "%s: handshake: server negotiated protocol version %u, need 3\n", prog, v);
        exit(1);
    }

    uint32_t param = VCMD_PARAM_MAX_TIMELINE_COUNT;
    send_msg(VCMD_GET_PARAM, &param, 1, "GET_PARAM");
    expect_hdr(VCMD_GET_PARAM, 2, timeout_ms, "GET_PARAM");
    uint32_t pv[2];
    recv_exact(pv, sizeof(pv), timeout_ms, "GET_PARAM");
    if (!pv[0] || !pv[1]) {
        fprintf(stderr, "%s: handshake: GET_PARAM(MAX_TIMELINE_COUNT) = {valid %u, %u}\n", prog,
                pv[0], pv[1]);
        exit(1);
    }

    uint32_t capset_req[2] = { CAPSET_VENUS, 0 };
    send_msg(VCMD_GET_CAPSET, capset_req, 2, "GET_CAPSET");
    recv_exact(hdr, sizeof(hdr), timeout_ms, "GET_CAPSET");
    if (hdr[1] != VCMD_GET_CAPSET || hdr[0] < 1 || hdr[0] > 1024) {
        fprintf(stderr, "%s: handshake: GET_CAPSET reply header {len %u, id %u}\n", prog, hdr[0],
                hdr[1]);
        exit(1);
    }
    uint32_t capset[1024];
    recv_exact(capset, hdr[0] * 4u, timeout_ms, "GET_CAPSET");
    /* {valid, wire_format_version, ...}: Mesa 25.0 needs valid and wire format 1. */
    if (capset[0] != 1 || hdr[0] < 2 || capset[1] != 1) {
        fprintf(stderr, "%s: handshake: Venus capset not valid (valid %u, %u dwords)\n", prog,
                capset[0], hdr[0] - 1);
        exit(1);
    }

    uint32_t capset_id = CAPSET_VENUS;
    send_msg(VCMD_CONTEXT_INIT, &capset_id, 1, "CONTEXT_INIT");
}

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

static const struct {
    const char *name;
    case_fn build;
    const char *what;
} cases[] = {
    { "unknown-command", case_unknown_command, "Venus stream with command type 99999" },
    { "truncated", case_truncated, "vkCreateRingMESA cut short after the create info's sType" },
    { "bad-batch", case_bad_batch, "SUBMIT_CMD2 batch cmd_offset past the payload" },
    { "bad-batch-overflow", case_bad_batch_overflow,
      "SUBMIT_CMD2 batch cmd_offset + cmd_size wrapping 32 bits" },
    { "bad-sync", case_bad_sync, "SUBMIT_CMD2 sync_count whose byte size wraps 32 bits" },
    { "huge-batch-count", case_huge_batch_count, "SUBMIT_CMD2 with batch_count 0xffffffff" },
    { "garbage", case_garbage, "SUBMIT_CMD2 header claiming 16 GiB, then random bytes" },
    { "unknown-vcmd", case_unknown_vcmd, "vtest command id 9999" },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Waits for EOF/reset. Returns true if the server closed the connection. */
static bool wait_closed(int timeout_ms, double *elapsed)
{
    double t0 = now_ms(), deadline = t0 + timeout_ms;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = sock_fd, .events = POLLIN };
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(sock_fd, buf, sizeof(buf), 0);
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

static void usage(FILE *f)
{
    fprintf(f, "usage: %s [--socket PATH] [--timeout-ms N] --case NAME\n"
               "       %s --list\n"
               "cases: ping (control: a valid message, the connection must stay open)",
            prog, prog);
    for (size_t i = 0; i < N_CASES; i++)
        fprintf(f, ", %s", cases[i].name);
    fputc('\n', f);
}

int main(int argc, char **argv)
{
    const char *path = getenv("VTEST_SOCKET_NAME");
    const char *name = NULL;
    int timeout_ms = 5000;
    for (int i = 1; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--list")) {
            for (size_t k = 0; k < N_CASES; k++)
                printf("%s\n", cases[k].name);
            return 0;
        } else if (!strcmp(argv[i], "--socket") && val) {
            path = val;
            i++;
        } else if (!strcmp(argv[i], "--case") && val) {
            name = val;
            i++;
        } else if (!strcmp(argv[i], "--timeout-ms") && val && atoi(val) > 0) {
            timeout_ms = atoi(val);
            i++;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!name || !path || !*path) {
        fprintf(stderr, "%s: need --case and a socket (--socket or VTEST_SOCKET_NAME)\n", prog);
        usage(stderr);
        return 2;
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

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path))
        die("socket path too long: %s", path);
    strcpy(addr.sun_path, path);
    sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock_fd < 0 || connect(sock_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        die("cannot connect to %s", path);

    handshake(timeout_ms);

    double elapsed;
    if (control) {
        const uint32_t ping[2] = { 0, VCMD_PING_PROTOCOL_VERSION };
        if (send_all(ping, sizeof(ping)))
            die("case ping: server closed the connection (%s)", "send");
        expect_hdr(VCMD_PING_PROTOCOL_VERSION, 0, timeout_ms, "PING_PROTOCOL_VERSION");
        if (wait_closed(500, &elapsed)) {
            fprintf(stderr, "%s: case ping: server closed the connection after a valid message\n",
                    prog);
            return 1;
        }
        printf("%s: case ping: server answered and kept the connection open (ok)\n", prog);
        close(sock_fd);
        return 0;
    }

    uint32_t msg[128];
    size_t len = cases[ci].build(msg);
    if (send_all(msg, len) != 0) {
        if (errno != EPIPE && errno != ECONNRESET)
            die("send failed: %s", strerror(errno));
        printf("%s: case %s (%s): server closed the connection while we sent it (ok)\n", prog,
               name, cases[ci].what);
        close(sock_fd);
        return 0;
    }
    if (!wait_closed(timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: case %s (%s): server kept the connection open for %.0f ms\n", prog,
                name, cases[ci].what, elapsed);
        close(sock_fd);
        return 1;
    }
    printf("%s: case %s (%s): server closed the connection after %.1f ms (ok)\n", prog, name,
           cases[ci].what, elapsed);
    close(sock_fd);
    return 0;
}
