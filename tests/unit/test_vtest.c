/*
 * Unit tests for the vtest front door (src/gpu/vtest/):
 *  1. proto: header checks and the SUBMIT_CMD2 / SYNC_WAIT parsers, fed
 *     handcrafted good and malformed payloads;
 *  2. sync: counters, waits (eventfd readiness), timeline retirement order;
 *  3. server: socket path safety, then a live server where a steady client
 *     keeps being served while other clients send malformed messages and
 *     get dropped. The cases that need a Venus context run only when
 *     pv_renderer_create() finds a Vulkan device; the framing cases never
 *     reach the renderer, so they run with none.
 */
#include "proto.h"
#include "check.h"
#include <pvgpu/pvgpu.h>
#include "sync.h"
#include "vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- 1. proto ------------------------------------------------------------ */

static void
test_headers(void)
{
    size_t bytes;
    const char *why;

    /* The first message must be CREATE_RENDERER; its length is bytes. */
    CHECK(pv_vtest_check_header(7, PV_VTEST_CREATE_RENDERER, false, &bytes, &why) == 0);
    CHECK(bytes == 7);
    CHECK(pv_vtest_check_header(0, PV_VTEST_PING_PROTOCOL_VERSION, false, &bytes, &why) ==
          -EPROTO);
    CHECK(pv_vtest_check_header((1u << 20) + 1, PV_VTEST_CREATE_RENDERER, false, &bytes, &why) ==
          -EPROTO);
    CHECK(pv_vtest_check_header(5, PV_VTEST_CREATE_RENDERER, true, &bytes, &why) == -EPROTO);

    /* Fixed sizes are exact; lengths are dwords. */
    CHECK(pv_vtest_check_header(0, PV_VTEST_PING_PROTOCOL_VERSION, true, &bytes, &why) == 0);
    CHECK(bytes == 0);
    CHECK(pv_vtest_check_header(6, PV_VTEST_RESOURCE_CREATE_BLOB, true, &bytes, &why) == 0);
    CHECK(bytes == 24);
    CHECK(pv_vtest_check_header(5, PV_VTEST_RESOURCE_CREATE_BLOB, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(2, PV_VTEST_PROTOCOL_VERSION_CMD, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(0xffffffffu, PV_VTEST_SYNC_WRITE, true, &bytes, &why) == -EPROTO);

    /* Unknown ids and GL commands. */
    CHECK(pv_vtest_check_header(0, 0, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(0, 25, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(0, 0xffffffffu, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(0, PV_VTEST_GET_CAPS, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(11, PV_VTEST_TRANSFER_PUT, true, &bytes, &why) == -EPROTO);

    /* SYNC_WAIT: 2 + 3n, bounded. */
    CHECK(pv_vtest_check_header(2, PV_VTEST_SYNC_WAIT, true, &bytes, &why) == 0);
    CHECK(pv_vtest_check_header(5, PV_VTEST_SYNC_WAIT, true, &bytes, &why) == 0);
    CHECK(pv_vtest_check_header(4, PV_VTEST_SYNC_WAIT, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(1, PV_VTEST_SYNC_WAIT, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(2 + 3 * (PV_VTEST_MAX_WAIT_SYNCS + 1), PV_VTEST_SYNC_WAIT, true,
                                &bytes, &why) == -EPROTO);

    /* SUBMIT_CMD2: at least one batch, at most 64 MiB. */
    CHECK(pv_vtest_check_header(7, PV_VTEST_SUBMIT_CMD2, true, &bytes, &why) == 0);
    CHECK(pv_vtest_check_header(6, PV_VTEST_SUBMIT_CMD2, true, &bytes, &why) == -EPROTO);
    CHECK(pv_vtest_check_header(16u << 20, PV_VTEST_SUBMIT_CMD2, true, &bytes, &why) == 0);
    CHECK(pv_vtest_check_header((16u << 20) + 1, PV_VTEST_SUBMIT_CMD2, true, &bytes, &why) ==
          -EPROTO);
    CHECK(pv_vtest_check_header(0xffffffffu, PV_VTEST_SUBMIT_CMD2, true, &bytes, &why) ==
          -EPROTO);
}

/* A one-batch SUBMIT_CMD2 laid out as Mesa writes it: 4 command dwords, 1 sync. */
static uint32_t
build_submit(uint32_t *p, uint32_t ring)
{
    uint32_t n = 0;
    p[n++] = 1;                         /* batch_count */
    p[n++] = PV_VTEST_SUBMIT_FLAG_RING_IDX;
    p[n++] = 7;                         /* cmd_offset */
    p[n++] = 4;                         /* cmd_size */
    p[n++] = 11;                        /* sync_offset */
    p[n++] = 1;                         /* sync_count */
    p[n++] = ring;
    for (int i = 0; i < 4; i++)
        p[n++] = 0xc0de0000u + (uint32_t)i;
    p[n++] = 3;                         /* sync id */
    p[n++] = 0x89abcdefu;               /* value lo */
    p[n++] = 0x01234567u;               /* value hi */
    return n;
}

static void
test_submit2(void)
{
    uint32_t p[64];
    struct pv_vtest_submit2 s;
    struct pv_vtest_batch b;
    const char *why;

    uint32_t len = build_submit(p, 2);
    CHECK(len == 14);
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == 0);
    CHECK(s.batch_count == 1);
    pv_vtest_submit2_batch(&s, 0, &b);
    CHECK(b.ring_idx == 2);
    CHECK(b.flags == PV_VTEST_SUBMIT_FLAG_RING_IDX);
    CHECK(b.cmd_bytes == 16);
    CHECK(((const uint32_t *)b.cmds)[0] == 0xc0de0000u);
    CHECK(b.sync_count == 1);
    struct pv_vtest_sync_ref ref = pv_vtest_sync_ref_at(b.syncs, 0);
    CHECK(ref.id == 3 && ref.value == 0x0123456789abcdefull);

    /* Every field that can point outside the payload. */
    len = build_submit(p, 2);
    p[0] = 0;
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    p[0] = 0xffffffffu; /* batch headers past the end, no overflow */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    p[0] = 3;
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);

    build_submit(p, 2);
    p[2] = 15; /* cmd_offset past the end */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[2] = 3; /* cmds overlapping the batch header */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[3] = 0xfffffffdu; /* cmd_offset + cmd_size wraps */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[3] = 8; /* one dword too many */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[5] = 2; /* second sync triple past the end */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[5] = 0x55555556u; /* 3 * count wraps 32 bits */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 2);
    p[4] = 0xffffffffu;
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 64); /* ring_idx == max_rings */
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == -EPROTO);
    build_submit(p, 63);
    CHECK(pv_vtest_parse_submit2(p, len, 64, &s, &why) == 0);
    CHECK(pv_vtest_parse_submit2(p, 6, 64, &s, &why) == -EPROTO);

    /* Two batches use the packed 6-dword layout, not the header's stride 8. */
    uint32_t q[32] = {
        2,
        1, 13, 1, 15, 0, 1, /* batch 0: cmds at 13, no syncs, ring 1 */
        1, 14, 1, 15, 1, 5, /* batch 1: cmds at 14, 1 sync at 15, ring 5 */
        0xaaaa, 0xbbbb,
        9, 1, 0,
    };
    CHECK(pv_vtest_parse_submit2(q, 18, 64, &s, &why) == 0);
    pv_vtest_submit2_batch(&s, 0, &b);
    CHECK(b.ring_idx == 1 && *(const uint32_t *)b.cmds == 0xaaaa && b.sync_count == 0);
    pv_vtest_submit2_batch(&s, 1, &b);
    CHECK(b.ring_idx == 5 && *(const uint32_t *)b.cmds == 0xbbbb && b.sync_count == 1);
    CHECK(pv_vtest_sync_ref_at(b.syncs, 0).id == 9);
    q[0] = 3; /* a third header would overlap the data */
    CHECK(pv_vtest_parse_submit2(q, 18, 64, &s, &why) == -EPROTO);
}

static void
test_sync_wait_parse(void)
{
    uint32_t p[8] = {PV_VTEST_SYNC_WAIT_FLAG_ANY, 100, 4, 1, 0, 5, 2, 0};
    struct pv_vtest_sync_wait w;
    const char *why;
    CHECK(pv_vtest_parse_sync_wait(p, 8, &w, &why) == 0);
    CHECK(w.count == 2 && w.flags == 1 && w.timeout_ms == 100);
    CHECK(pv_vtest_sync_ref_at(w.triples, 1).id == 5 && pv_vtest_sync_ref_at(w.triples, 1).value ==
                                                            2);
    CHECK(pv_vtest_parse_sync_wait(p, 7, &w, &why) == -EPROTO);
    CHECK(pv_vtest_parse_sync_wait(p, 1, &w, &why) == -EPROTO);
    CHECK(pv_vtest_parse_sync_wait(p, 2, &w, &why) == 0 && w.count == 0);
}

/* ---- 2. sync ------------------------------------------------------------- */

static bool
readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

static void
test_syncs(void)
{
    struct pv_vtest_syncs *s;
    CHECK(pv_vtest_syncs_create(4, &s) == 0);
    uint32_t a, b, c;
    uint64_t v;
    CHECK(pv_vtest_sync_create(s, 0, &a) == 0 && a == 1);
    CHECK(pv_vtest_sync_create(s, 10, &b) == 0 && b == 2);
    CHECK(pv_vtest_sync_read(s, b, &v) == 0 && v == 10);
    CHECK(pv_vtest_sync_read(s, 0, &v) == -ENOENT);
    CHECK(pv_vtest_sync_read(s, 77, &v) == -ENOENT);
    CHECK(pv_vtest_sync_write(s, 77, 1) == -ENOENT);

    /* Ids are recycled once nothing refers to them. */
    pv_vtest_sync_unref(s, b);
    CHECK(pv_vtest_sync_read(s, b, &v) == -ENOENT);
    pv_vtest_sync_unref(s, b); /* unknown: ignored */
    CHECK(pv_vtest_sync_create(s, 3, &c) == 0 && c == 2);

    /* Already satisfied: readable at once. */
    uint32_t t1[3] = {a, 0, 0};
    int fd;
    CHECK(pv_vtest_sync_wait(s, 0, UINT32_MAX, t1, 1, &fd) == 0);
    CHECK(readable(fd, 0));
    close(fd);

    /* Wait-all on two syncs: only the second write completes it. */
    uint32_t t2[6] = {a, 5, 0, c, 0, 1}; /* a >= 5, c >= 1<<32 */
    CHECK(pv_vtest_sync_wait(s, 0, UINT32_MAX, t2, 2, &fd) == 0);
    CHECK(!readable(fd, 0));
    CHECK(pv_vtest_sync_write(s, a, 5) == 0);
    CHECK(!readable(fd, 0));
    CHECK(pv_vtest_sync_write(s, c, 1ull << 32) == 0);
    CHECK(readable(fd, 0));
    close(fd);

    /* Wait-any. */
    uint32_t t3[6] = {a, 9, 0, c, 0, 2};
    CHECK(pv_vtest_sync_wait(s, PV_VTEST_SYNC_WAIT_FLAG_ANY, UINT32_MAX, t3, 2, &fd) == 0);
    CHECK(!readable(fd, 0));
    CHECK(pv_vtest_sync_write(s, c, 2ull << 32) == 0);
    CHECK(readable(fd, 0));
    close(fd);

    /* A reset (lower value) is stored and satisfies nothing. */
    CHECK(pv_vtest_sync_write(s, a, 0) == 0);
    CHECK(pv_vtest_sync_read(s, a, &v) == 0 && v == 0);

    /* Unknown sync in a wait. */
    uint32_t t4[3] = {99, 1, 0};
    CHECK(pv_vtest_sync_wait(s, 0, UINT32_MAX, t4, 1, &fd) == -ENOENT);

    /* Timeline: retiring fence 2 applies submits 1 and 2 in order, not 3. */
    uint32_t q1[3] = {a, 1, 0}, q2[3] = {a, 2, 0}, q3[3] = {a, 3, 0};
    CHECK(pv_vtest_syncs_queue(s, 1, 1, q1, 1) == 0);
    CHECK(pv_vtest_syncs_queue(s, 1, 2, q2, 1) == 0);
    CHECK(pv_vtest_syncs_queue(s, 1, 3, q3, 1) == 0);
    CHECK(pv_vtest_syncs_queue(s, 4, 4, q3, 1) == -EINVAL);
    CHECK(pv_vtest_syncs_queue(s, 1, 4, t4, 1) == -ENOENT);
    uint32_t w3[3] = {a, 3, 0};
    CHECK(pv_vtest_sync_wait(s, 0, UINT32_MAX, w3, 1, &fd) == 0);
    pv_vtest_syncs_retire(s, 1, 2);
    CHECK(pv_vtest_sync_read(s, a, &v) == 0 && v == 2);
    CHECK(!readable(fd, 0));
    /* The client may drop a sync while a submit still refers to it. */
    pv_vtest_sync_unref(s, a);
    pv_vtest_syncs_retire(s, 1, 3);
    CHECK(readable(fd, 0));
    close(fd);
    uint32_t d;
    CHECK(pv_vtest_sync_create(s, 0, &d) == 0 && d == a); /* id free again */

    /* A pending wait left behind is cleaned up by destroy. */
    uint32_t t5[3] = {d, 100, 0};
    CHECK(pv_vtest_sync_wait(s, 0, UINT32_MAX, t5, 1, &fd) == 0);
    close(fd);
    pv_vtest_syncs_destroy(s);
}

/* ---- 3. server ----------------------------------------------------------- */

static char sock_path[108];

static int
connect_to(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static bool
send_all(int fd, const void *buf, size_t size)
{
    const char *p = buf;
    while (size) {
        ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        size -= (size_t)n;
    }
    return true;
}

static bool
recv_all(int fd, void *buf, size_t size)
{
    char *p = buf;
    while (size) {
        ssize_t n = read(fd, p, size);
        if (n <= 0)
            return false;
        p += n;
        size -= (size_t)n;
    }
    return true;
}

static bool
send_cmd(int fd, uint32_t id, uint32_t len, const void *payload, size_t bytes)
{
    uint32_t hdr[2] = {len, id};
    return send_all(fd, hdr, sizeof(hdr)) && (!bytes || send_all(fd, payload, bytes));
}

/* Reads a reply header, checks id, returns its length (or -1). */
static int64_t
recv_hdr(int fd, uint32_t id)
{
    uint32_t hdr[2];
    if (!recv_all(fd, hdr, sizeof(hdr)) || hdr[1] != id)
        return -1;
    return hdr[0];
}

static int
recv_fd(int fd)
{
    char dummy;
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
        .msg_controllen = sizeof(ctrl.buf),
    };
    if (recvmsg(fd, &msg, 0) != 1)
        return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
        return -1;
    int out;
    memcpy(&out, CMSG_DATA(cmsg), sizeof(int));
    return out;
}

/* True when the server closed the connection. */
static bool
dropped(int fd)
{
    char c;
    ssize_t n;
    /* Drain whatever replies came first, then expect EOF. */
    while ((n = read(fd, &c, 1)) == 1)
        ;
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* CREATE_RENDERER, then the exact handshake Mesa 25.0 does. */
static bool
handshake(int fd)
{
    static const char name[] = "test_vtest";
    uint32_t bw[2] = {0, 0}, one = 3, param = 1, r[2];
    bool ok = send_cmd(fd, PV_VTEST_CREATE_RENDERER, sizeof(name), name, sizeof(name));
    ok = ok && send_cmd(fd, PV_VTEST_PING_PROTOCOL_VERSION, 0, NULL, 0);
    ok = ok && send_cmd(fd, PV_VTEST_RESOURCE_BUSY_WAIT, 2, bw, sizeof(bw));
    ok = ok && recv_hdr(fd, PV_VTEST_PING_PROTOCOL_VERSION) == 0;
    ok = ok && recv_hdr(fd, PV_VTEST_RESOURCE_BUSY_WAIT) == 1 && recv_all(fd, r, 4) && r[0] == 0;
    ok = ok && send_cmd(fd, PV_VTEST_PROTOCOL_VERSION_CMD, 1, &one, 4);
    ok = ok && recv_hdr(fd, PV_VTEST_PROTOCOL_VERSION_CMD) == 1 && recv_all(fd, r, 4) &&
         r[0] == 3;
    ok = ok && send_cmd(fd, PV_VTEST_GET_PARAM, 1, &param, 4);
    ok = ok && recv_hdr(fd, PV_VTEST_GET_PARAM) == 2 && recv_all(fd, r, 8) && r[0] == 1 &&
         r[1] == 64;
    param = 12345;
    ok = ok && send_cmd(fd, PV_VTEST_GET_PARAM, 1, &param, 4);
    ok = ok && recv_hdr(fd, PV_VTEST_GET_PARAM) == 2 && recv_all(fd, r, 8) && r[0] == 0 &&
         r[1] == 0;
    return ok;
}

static bool
ping(int fd)
{
    return send_cmd(fd, PV_VTEST_PING_PROTOCOL_VERSION, 0, NULL, 0) &&
           recv_hdr(fd, PV_VTEST_PING_PROTOCOL_VERSION) == 0;
}

static bool
context_init(int fd)
{
    uint32_t capset = PV_CAPSET_VENUS;
    return send_cmd(fd, PV_VTEST_CONTEXT_INIT, 1, &capset, 4);
}

static void *
run_server(void *arg)
{
    return (void *)(intptr_t)pv_vtest_server_run(arg);
}

static void
test_paths(void)
{
    struct pv_vtest_server *s, *s2;
    struct pv_vtest_opts o = {.socket_path = sock_path};

    /* A regular file is never replaced. */
    int f = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(f >= 0);
    close(f);
    CHECK(pv_vtest_server_create(&o, NULL, &s) == -EEXIST);
    unlink(sock_path);

    /* A stale socket (bound, nobody listening) is. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
    CHECK(bind(stale, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    close(stale);
    CHECK(pv_vtest_server_create(&o, NULL, &s) == 0);
    struct stat st;
    CHECK(stat(sock_path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* A live one is not. */
    CHECK(pv_vtest_server_create(&o, NULL, &s2) == -EADDRINUSE);
    CHECK(stat(sock_path, &st) == 0);

    /* Destroy removes the socket. */
    pv_vtest_server_destroy(s);
    CHECK(stat(sock_path, &st) < 0 && errno == ENOENT);

    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    o.socket_path = longpath;
    CHECK(pv_vtest_server_create(&o, NULL, &s) == -ENAMETOOLONG);
}

/* A client that does `bad` after `prefix` must be dropped; `steady` lives on. */
static void
expect_drop(int steady, const char *what, bool with_handshake, bool with_context,
            uint32_t id, uint32_t len, const void *payload, size_t bytes, bool half_close)
{
    int fd = connect_to(sock_path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    bool ok = true;
    if (with_handshake)
        ok = handshake(fd);
    if (ok && with_context)
        ok = context_init(fd);
    CHECK(ok);
    ok = send_cmd(fd, id, len, payload, bytes);
    if (half_close)
        shutdown(fd, SHUT_WR);
    bool gone = dropped(fd);
    if (!gone)
        fprintf(stderr, "case '%s': client was not dropped\n", what);
    CHECK(gone);
    close(fd);
    CHECK(ping(steady));
}

/* One of many clients served at once: handshake, then a burst of pings. */
static void *
busy_client(void *arg)
{
    (void)arg;
    int fd = connect_to(sock_path);
    bool ok = fd >= 0 && handshake(fd);
    for (int i = 0; ok && i < 200; i++)
        ok = ping(fd);
    if (fd >= 0)
        close(fd);
    return (void *)(intptr_t)ok;
}

static void
test_server(struct pv_renderer *renderer)
{
    struct pv_vtest_opts o = {.socket_path = sock_path};
    struct pv_vtest_server *s;
    CHECK(pv_vtest_server_create(&o, renderer, &s) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, run_server, s) == 0);

    int steady = connect_to(sock_path);
    CHECK(steady >= 0);
    CHECK(handshake(steady));

    uint32_t big[16] = {0};
    /* Framing: none of these reach the renderer. */
    expect_drop(steady, "unknown id", true, false, 99, 0, NULL, 0, false);
    expect_drop(steady, "first not CREATE_RENDERER", false, false, PV_VTEST_PING_PROTOCOL_VERSION,
                0, NULL, 0, false);
    expect_drop(steady, "name > 1 MiB", false, false, PV_VTEST_CREATE_RENDERER, (2u << 20), NULL,
                0, false);
    expect_drop(steady, "SUBMIT_CMD2 > 64 MiB", true, false, PV_VTEST_SUBMIT_CMD2, 0x01000001u,
                NULL, 0, false);
    expect_drop(steady, "wrong fixed length", true, false, PV_VTEST_PROTOCOL_VERSION_CMD, 2, big,
                8, false);
    expect_drop(steady, "truncated payload", true, false, PV_VTEST_GET_PARAM, 1, NULL, 0, true);
    {
        /* Half a header, then EOF. */
        int fd = connect_to(sock_path);
        CHECK(fd >= 0 && handshake(fd));
        uint32_t half = 1;
        CHECK(send_all(fd, &half, sizeof(half)));
        shutdown(fd, SHUT_WR);
        CHECK(dropped(fd));
        close(fd);
        CHECK(ping(steady));
    }
    expect_drop(steady, "GL GET_CAPS", true, false, PV_VTEST_GET_CAPS, 0, NULL, 0, false);
    expect_drop(steady, "second CREATE_RENDERER", true, false, PV_VTEST_CREATE_RENDERER, 4, "abc",
                4, false);
    uint32_t handle[2] = {5, 0};
    expect_drop(steady, "busy wait before context", true, false, PV_VTEST_RESOURCE_BUSY_WAIT, 2,
                handle, 8, false);
    uint32_t ctx0 = 0;
    expect_drop(steady, "CONTEXT_INIT capset 0", true, false, PV_VTEST_CONTEXT_INIT, 1, &ctx0, 4,
                false);
    {
        /* A context needs protocol version 3 first. */
        int fd = connect_to(sock_path);
        CHECK(fd >= 0);
        CHECK(send_cmd(fd, PV_VTEST_CREATE_RENDERER, 2, "x", 2));
        CHECK(context_init(fd));
        CHECK(dropped(fd));
        close(fd);
        CHECK(ping(steady));
    }

    {
        /* Sixteen clients at once, each on its own server thread. */
        pthread_t t[16];
        for (int i = 0; i < 16; i++)
            CHECK(pthread_create(&t[i], NULL, busy_client, NULL) == 0);
        for (int i = 0; i < 16; i++) {
            void *ok;
            pthread_join(t[i], &ok);
            CHECK(ok != NULL);
        }
        CHECK(ping(steady));
    }

    if (!renderer) {
        fprintf(stderr, "test_vtest: no renderer, context cases skipped\n");
        goto out;
    }

    /* Capset. */
    uint32_t cap_req[2] = {PV_CAPSET_VENUS, 0}, r[64];
    CHECK(send_cmd(steady, PV_VTEST_GET_CAPSET, 2, cap_req, 8));
    int64_t n = recv_hdr(steady, PV_VTEST_GET_CAPSET);
    CHECK(n >= 1 && n <= 64);
    if (n >= 1 && n <= 64) {
        CHECK(recv_all(steady, r, (size_t)n * 4));
        CHECK(r[0] == 1 && n == 1 + PV_VENUS_CAPSET_SIZE / 4);
    }
    cap_req[0] = 99; /* unsupported capset: {0} */
    CHECK(send_cmd(steady, PV_VTEST_GET_CAPSET, 2, cap_req, 8));
    CHECK(recv_hdr(steady, PV_VTEST_GET_CAPSET) == 1 && recv_all(steady, r, 4) && r[0] == 0);

    CHECK(context_init(steady));
    CHECK(context_init(steady)); /* repeat with the same capset: no-op */
    CHECK(ping(steady));

    /* Blobs: ids from 1, reused; the fd maps. */
    uint32_t blob[6] = {PV_VTEST_BLOB_TYPE_HOST3D, PV_BLOB_FLAG_MAPPABLE, 4096, 0, 0, 0};
    uint32_t res;
    CHECK(send_cmd(steady, PV_VTEST_RESOURCE_CREATE_BLOB, 6, blob, sizeof(blob)));
    CHECK(recv_hdr(steady, PV_VTEST_RESOURCE_CREATE_BLOB) == 1 && recv_all(steady, &res, 4));
    CHECK(res == 1);
    int bfd = recv_fd(steady);
    CHECK(bfd >= 0);
    if (bfd >= 0) {
        void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
        CHECK(map != MAP_FAILED);
        if (map != MAP_FAILED)
            munmap(map, 4096);
        close(bfd);
    }
    CHECK(send_cmd(steady, PV_VTEST_RESOURCE_UNREF, 1, &res, 4));
    uint32_t junk = 4242;
    CHECK(send_cmd(steady, PV_VTEST_RESOURCE_UNREF, 1, &junk, 4)); /* ignored */
    CHECK(send_cmd(steady, PV_VTEST_RESOURCE_CREATE_BLOB, 6, blob, sizeof(blob)));
    CHECK(recv_hdr(steady, PV_VTEST_RESOURCE_CREATE_BLOB) == 1 && recv_all(steady, &res, 4));
    CHECK(res == 1);
    bfd = recv_fd(steady);
    CHECK(bfd >= 0);
    if (bfd >= 0)
        close(bfd);

    /* Syncs over the wire: create, wait (fd), write, read. */
    uint32_t init[2] = {0, 0}, sync;
    CHECK(send_cmd(steady, PV_VTEST_SYNC_CREATE, 2, init, 8));
    CHECK(recv_hdr(steady, PV_VTEST_SYNC_CREATE) == 1 && recv_all(steady, &sync, 4));
    CHECK(sync == 1);
    uint32_t wait[5] = {0, UINT32_MAX, sync, 5, 0};
    CHECK(send_cmd(steady, PV_VTEST_SYNC_WAIT, 5, wait, sizeof(wait)));
    CHECK(recv_hdr(steady, PV_VTEST_SYNC_WAIT) == 0);
    int wfd = recv_fd(steady);
    CHECK(wfd >= 0);
    CHECK(!readable(wfd, 0));
    uint32_t wr[3] = {sync, 5, 0};
    CHECK(send_cmd(steady, PV_VTEST_SYNC_WRITE, 3, wr, sizeof(wr)));
    CHECK(readable(wfd, 2000));
    close(wfd);

    /* SUBMIT_CMD2 with no commands and a sync on the CPU timeline: the
     * fence retires and the sync reaches its value. */
    uint32_t sub[10] = {1, PV_VTEST_SUBMIT_FLAG_RING_IDX, 7, 0, 7, 1, 0, sync, 7, 0};
    CHECK(send_cmd(steady, PV_VTEST_SUBMIT_CMD2, 10, sub, sizeof(sub)));
    uint32_t wait7[5] = {0, 5000, sync, 7, 0};
    CHECK(send_cmd(steady, PV_VTEST_SYNC_WAIT, 5, wait7, sizeof(wait7)));
    CHECK(recv_hdr(steady, PV_VTEST_SYNC_WAIT) == 0);
    wfd = recv_fd(steady);
    CHECK(wfd >= 0 && readable(wfd, 5000));
    if (wfd >= 0)
        close(wfd);
    uint32_t v[2];
    CHECK(send_cmd(steady, PV_VTEST_SYNC_READ, 1, &sync, 4));
    CHECK(recv_hdr(steady, PV_VTEST_SYNC_READ) == 2 && recv_all(steady, v, 8) && v[0] == 7 &&
          v[1] == 0);

    /* Context cases that must drop the client. */
    uint32_t bad[10] = {1, PV_VTEST_SUBMIT_FLAG_RING_IDX, 9, 4, 7, 0, 0, 0, 0, 0};
    expect_drop(steady, "SUBMIT_CMD2 cmd range out", true, true, PV_VTEST_SUBMIT_CMD2, 10, bad,
                sizeof(bad), false);
    uint32_t nobatch[10] = {0, 1, 7, 0, 7, 0, 0, 0, 0, 0};
    expect_drop(steady, "SUBMIT_CMD2 no batch", true, true, PV_VTEST_SUBMIT_CMD2, 10, nobatch,
                sizeof(nobatch), false);
    uint32_t badring[7] = {1, 1, 7, 0, 7, 0, 64};
    expect_drop(steady, "SUBMIT_CMD2 ring 64", true, true, PV_VTEST_SUBMIT_CMD2, 7, badring,
                sizeof(badring), false);
    uint32_t badsync[10] = {1, 1, 7, 0, 7, 1, 0, 42, 1, 0};
    expect_drop(steady, "SUBMIT_CMD2 unknown sync", true, true, PV_VTEST_SUBMIT_CMD2, 10, badsync,
                sizeof(badsync), false);
    uint32_t unknown_sync = 42;
    expect_drop(steady, "SYNC_READ unknown", true, true, PV_VTEST_SYNC_READ, 1, &unknown_sync, 4,
                false);
    uint32_t wait_unknown[5] = {0, 0, 42, 1, 0};
    expect_drop(steady, "SYNC_WAIT unknown", true, true, PV_VTEST_SYNC_WAIT, 5, wait_unknown,
                sizeof(wait_unknown), false);
    uint32_t guest_blob[6] = {PV_VTEST_BLOB_TYPE_GUEST, 1, 4096, 0, 0, 0};
    expect_drop(steady, "GUEST blob", true, true, PV_VTEST_RESOURCE_CREATE_BLOB, 6, guest_blob,
                sizeof(guest_blob), false);
    uint32_t ctx_other = 1;
    expect_drop(steady, "CONTEXT_INIT other capset", true, true, PV_VTEST_CONTEXT_INIT, 1,
                &ctx_other, 4, false);

out:
    /* Stop with a client still connected: run() returns, the client sees EOF. */
    pv_vtest_server_stop(s);
    void *ret;
    pthread_join(th, &ret);
    CHECK((intptr_t)ret == 0);
    CHECK(dropped(steady));
    close(steady);
    struct stat st;
    CHECK(stat(sock_path, &st) < 0);
    pv_vtest_server_destroy(s);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_path, sizeof(sock_path), "/tmp/pv-test-vtest-%d.sock", (int)getpid());
    unlink(sock_path);

    test_headers();
    test_submit2();
    test_sync_wait_parse();
    test_syncs();
    test_paths();

    struct pv_renderer *renderer = NULL;
    const struct pv_renderer_opts ropts = {0};
    if (pv_renderer_create(&ropts, &renderer)) {
        fprintf(stderr, "test_vtest: pv_renderer_create failed (no Vulkan device?)\n");
        renderer = NULL;
    }
    bool have_renderer = renderer != NULL;
    test_server(renderer);
    if (renderer)
        pv_renderer_destroy(renderer);
    unlink(sock_path);

    if (check_report("test_vtest"))
        return 1;
    printf("test_vtest: all checks passed%s\n", have_renderer ? "" : " (context cases skipped)");
    return 0;
}
