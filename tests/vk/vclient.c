/* tests/vk/vclient: see vclient.h. */
#include "vclient.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *vc_prog = "vclient";
const char *vc_socket;
int vc_timeout_ms = 10000;

#define CAPSET_VENUS 4
#define PARAM_MAX_TIMELINE_COUNT 1
#define BLOB_TYPE_HOST3D 2u
#define BLOB_FLAG_MAPPABLE 1u
#define SUBMIT_FLAG_RING_IDX 1u
#define BATCH_DWORDS 6

/* The ring layout Mesa uses (venus-wire.md 4.1). */
#define RING_HEAD 0
#define RING_TAIL 64
#define RING_STATUS 128
#define RING_BUF 192
#define RING_SHM_SIZE (RING_BUF + VC_RING_BUF_SIZE + 4)

void
vc_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", vc_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

double
vc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
vc_sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* ---- connection ---- */

int
vc_send(struct vc_conn *c, const void *buf, size_t len)
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

void
vc_recv(struct vc_conn *c, void *buf, size_t len, const char *what)
{
    char *p = buf;
    double deadline = vc_now_ms() + vc_timeout_ms;
    while (len) {
        int left = (int)(deadline - vc_now_ms());
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = left > 0 ? poll(&pfd, 1, left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            vc_die("no reply to %s within %d ms", what, vc_timeout_ms);
        ssize_t n = recv(c->fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            vc_die("server closed the connection while replying to %s", what);
        p += n;
        len -= (size_t)n;
    }
}

void
vc_send_msg(struct vc_conn *c, uint32_t id, const void *payload, uint32_t dwords, const char *what)
{
    uint32_t hdr[2] = {dwords, id};
    if (vc_send(c, hdr, sizeof(hdr)) || vc_send(c, payload, dwords * 4u))
        vc_die("sending %s failed: server closed the connection", what);
}

void
vc_expect_hdr(struct vc_conn *c, uint32_t id, uint32_t len, const char *what)
{
    uint32_t hdr[2];
    vc_recv(c, hdr, sizeof(hdr), what);
    if (hdr[1] != id || hdr[0] != len)
        vc_die("reply to %s has header {len %u, id %u}, expected {%u, %u}", what, hdr[0], hdr[1],
               len, id);
}

void
vc_connect(struct vc_conn *c, const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!vc_socket || strlen(vc_socket) >= sizeof(addr.sun_path))
        vc_die("bad socket path");
    strcpy(addr.sun_path, vc_socket);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        vc_die("cannot connect to %s: %s", vc_socket, strerror(errno));

    uint32_t len = (uint32_t)strlen(name) + 1;
    uint32_t hdr[2] = {len, VC_CREATE_RENDERER}; /* a length in bytes here */
    if (vc_send(c, hdr, sizeof(hdr)) || vc_send(c, name, len))
        vc_die("handshake: CREATE_RENDERER failed");
    const uint32_t msgs[6] = {0, VC_PING_PROTOCOL_VERSION, 2, VC_RESOURCE_BUSY_WAIT, 0, 0};
    if (vc_send(c, msgs, sizeof(msgs)))
        vc_die("handshake: PING_PROTOCOL_VERSION failed");
    vc_expect_hdr(c, VC_PING_PROTOCOL_VERSION, 0, "PING_PROTOCOL_VERSION");
    vc_expect_hdr(c, VC_RESOURCE_BUSY_WAIT, 1, "RESOURCE_BUSY_WAIT");
    uint32_t v;
    vc_recv(c, &v, 4, "RESOURCE_BUSY_WAIT");
    uint32_t version = 3;
    vc_send_msg(c, VC_PROTOCOL_VERSION, &version, 1, "PROTOCOL_VERSION");
    vc_expect_hdr(c, VC_PROTOCOL_VERSION, 1, "PROTOCOL_VERSION");
    vc_recv(c, &v, 4, "PROTOCOL_VERSION");
    if (v < 3)
        vc_die("handshake: protocol version %u, need 3", v);
    uint32_t param = PARAM_MAX_TIMELINE_COUNT, pv[2];
    vc_send_msg(c, VC_GET_PARAM, &param, 1, "GET_PARAM");
    vc_expect_hdr(c, VC_GET_PARAM, 2, "GET_PARAM");
    vc_recv(c, pv, sizeof(pv), "GET_PARAM");
    uint32_t capset_req[2] = {CAPSET_VENUS, 0};
    vc_send_msg(c, VC_GET_CAPSET, capset_req, 2, "GET_CAPSET");
    vc_recv(c, hdr, sizeof(hdr), "GET_CAPSET");
    if (hdr[1] != VC_GET_CAPSET || hdr[0] < 2 || hdr[0] > 1024)
        vc_die("handshake: GET_CAPSET reply header {len %u, id %u}", hdr[0], hdr[1]);
    uint32_t capset[1024];
    vc_recv(c, capset, hdr[0] * 4u, "GET_CAPSET");
    if (capset[0] != 1)
        vc_die("handshake: no Venus capset");
    uint32_t capset_id = CAPSET_VENUS;
    vc_send_msg(c, VC_CONTEXT_INIT, &capset_id, 1, "CONTEXT_INIT");
}

void
vc_close(struct vc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void
vc_sync(struct vc_conn *c, const char *what)
{
    const uint32_t hdr[2] = {0, VC_PING_PROTOCOL_VERSION};
    if (vc_send(c, hdr, sizeof(hdr)))
        vc_die("%s: server closed the connection", what);
    vc_expect_hdr(c, VC_PING_PROTOCOL_VERSION, 0, what);
}

int
vc_blob_fd(struct vc_conn *c, uint64_t size, uint64_t blob_id, uint32_t *res_id)
{
    const uint32_t req[6] = {BLOB_TYPE_HOST3D, BLOB_FLAG_MAPPABLE, (uint32_t)size,
                             (uint32_t)(size >> 32), (uint32_t)blob_id, (uint32_t)(blob_id >> 32)};
    vc_send_msg(c, VC_RESOURCE_CREATE_BLOB, req, 6, "RESOURCE_CREATE_BLOB");
    vc_expect_hdr(c, VC_RESOURCE_CREATE_BLOB, 1, "RESOURCE_CREATE_BLOB");
    vc_recv(c, res_id, 4, "RESOURCE_CREATE_BLOB");
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (poll(&pfd, 1, vc_timeout_ms) != 1)
        vc_die("RESOURCE_CREATE_BLOB: no fd within %d ms", vc_timeout_ms);
    ssize_t n;
    do
        n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        vc_die("RESOURCE_CREATE_BLOB: the reply carried no fd");
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
    return fd;
}

void *
vc_blob(struct vc_conn *c, uint64_t size, uint64_t blob_id, uint32_t *res_id)
{
    int fd = vc_blob_fd(c, size, blob_id, res_id);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        vc_die("mmap of blob %u failed: %s", *res_id, strerror(errno));
    return p;
}

int
vc_submit(struct vc_conn *c, const void *cmds, uint32_t bytes)
{
    uint32_t dw = bytes / 4;
    const uint32_t hdr[2] = {1 + BATCH_DWORDS + dw, VC_SUBMIT_CMD2};
    const uint32_t batch[1 + BATCH_DWORDS] = {1, SUBMIT_FLAG_RING_IDX, 1 + BATCH_DWORDS, dw,
                                              1 + BATCH_DWORDS + dw, 0, 0};
    if (vc_send(c, hdr, sizeof(hdr)) || vc_send(c, batch, sizeof(batch)) ||
        vc_send(c, cmds, bytes))
        return -1;
    return 0;
}

uint32_t
vc_sync_create(struct vc_conn *c, uint64_t value)
{
    const uint32_t v[2] = {(uint32_t)value, (uint32_t)(value >> 32)};
    vc_send_msg(c, VC_SYNC_CREATE, v, 2, "SYNC_CREATE");
    vc_expect_hdr(c, VC_SYNC_CREATE, 1, "SYNC_CREATE");
    uint32_t id;
    vc_recv(c, &id, 4, "SYNC_CREATE");
    return id;
}

bool
vc_wait_closed(struct vc_conn *c, int ms, double *elapsed)
{
    double t0 = vc_now_ms(), deadline = t0 + ms;
    bool closed = false;
    for (;;) {
        int left = (int)(deadline - vc_now_ms());
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
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
            closed = true;
            break;
        }
        if (n < 0)
            vc_die("recv failed: %s", strerror(errno));
    }
    if (elapsed)
        *elapsed = vc_now_ms() - t0;
    return closed;
}

/* ---- rings ---- */

void
vc_cmd_begin(struct vc_ring *r)
{
    r->enc_fatal = false;
    r->enc = (struct pv_cs_enc){r->cmd, r->cmd + sizeof(r->cmd), &r->enc_fatal};
}

uint32_t
vc_cmd_size(const struct vc_ring *r)
{
    return (uint32_t)(r->enc.cur - r->cmd);
}

void
vc_put32(struct vc_ring *r, uint32_t x)
{
    pv_cs_enc_write(&r->enc, &x, 4);
}

void
vc_put64(struct vc_ring *r, uint64_t x)
{
    pv_cs_enc_write(&r->enc, &x, 8);
}

int
vc_notify(struct vc_ring *r)
{
    uint8_t buf[64];
    bool fatal = false;
    struct pv_cs_enc e = {buf, buf + sizeof(buf), &fatal};
    struct pvg_args_vkNotifyRingMESA a = {.ring = r->id, .seqno = r->cur_tail};
    pvg_encode_vkNotifyRingMESA(&e, 0, &a);
    r->last_notify = vc_now_ms();
    return vc_submit(&r->s->c, buf, (uint32_t)(e.cur - buf));
}

uint32_t
vc_ring_flush(struct vc_ring *r)
{
    uint32_t n = vc_cmd_size(r);
    if (r->enc_fatal || n > VC_RING_BUF_SIZE)
        vc_die("command buffer overflow (%u bytes)", n);
    double deadline = vc_now_ms() + vc_timeout_ms;
    while (r->cur_tail - atomic_load(r->head) > VC_RING_BUF_SIZE - n) {
        if (atomic_load(r->status) & VK_RING_STATUS_FATAL_BIT_MESA)
            break;
        if (vc_now_ms() > deadline)
            vc_die("no space in ring %u within %d ms", r->index, vc_timeout_ms);
        vc_sleep_ms(0.05);
    }
    uint32_t pos = r->cur_tail & (VC_RING_BUF_SIZE - 1);
    uint32_t first = VC_RING_BUF_SIZE - pos < n ? VC_RING_BUF_SIZE - pos : n;
    memcpy(r->buf + pos, r->cmd, first);
    memcpy(r->buf, r->cmd + first, n - first);
    r->cur_tail += n;
    atomic_store(r->tail, r->cur_tail);
    if (atomic_load(r->status) & VK_RING_STATUS_IDLE_BIT_MESA)
        vc_notify(r);
    vc_cmd_begin(r);
    return r->cur_tail;
}

enum vc_wait
vc_ring_wait(struct vc_ring *r, uint32_t seqno, int ms)
{
    double deadline = vc_now_ms() + ms;
    for (;;) {
        uint32_t st = atomic_load(r->status);
        if (st & VK_RING_STATUS_FATAL_BIT_MESA)
            return VC_FATAL;
        if ((int32_t)(atomic_load(r->head) - seqno) >= 0)
            return VC_DONE;
        if (vc_now_ms() > deadline)
            return VC_TIMEOUT;
        if ((st & VK_RING_STATUS_IDLE_BIT_MESA) && vc_now_ms() - r->last_notify > 1.0)
            vc_notify(r);
        vc_sleep_ms(0.02);
    }
}

void
vc_ring_flush_wait(struct vc_ring *r, const char *what)
{
    uint32_t seqno = vc_ring_flush(r);
    switch (vc_ring_wait(r, seqno, vc_timeout_ms)) {
    case VC_DONE:
        return;
    case VC_FATAL:
        vc_die("%s: the server marked ring %u FATAL", what, r->index);
    case VC_TIMEOUT:
        vc_die("%s: ring %u did not reach seqno %u within %d ms", what, r->index, seqno,
               vc_timeout_ms);
    }
}

int
vc_expect_fatal(struct vc_ring *r, const char *what)
{
    double t0 = vc_now_ms();
    uint32_t seqno = vc_ring_flush(r);
    enum vc_wait w = vc_ring_wait(r, seqno, vc_timeout_ms);
    if (w != VC_FATAL) {
        fprintf(stderr, "%s: %s: %s\n", vc_prog, what,
                w == VC_DONE ? "the server ran it; the ring is not FATAL"
                             : "no FATAL status and no progress within the timeout");
        return 1;
    }
    double t_fatal = vc_now_ms() - t0, elapsed = 0;
    if (vc_notify(r) == 0 && !vc_wait_closed(&r->s->c, vc_timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: %s: ring FATAL after %.1f ms, but the connection stayed open\n",
                vc_prog, what, t_fatal);
        return 1;
    }
    printf("%s: %s: ring FATAL after %.1f ms, then the connection was closed (ok)\n", vc_prog,
           what, t_fatal);
    return 0;
}

void
vc_call_begin(struct vc_ring *r)
{
    VkCommandStreamDescriptionMESA d = {.resourceId = r->s->reply_res,
                                        .offset = (uint64_t)r->index * VC_REPLY_SIZE,
                                        .size = VC_REPLY_SIZE};
    VC_ENC(r, vkSetReplyCommandStreamMESA, 0, .pStream = &d);
}

void
vc_call_end(struct vc_ring *r, struct pv_cs_dec *dec, bool *fatal, struct pv_arena *arena,
            const char *what)
{
    vc_ring_flush_wait(r, what);
    *fatal = false;
    pv_arena_init(arena, 1u << 20);
    pv_cs_dec_init(dec, r->reply, VC_REPLY_SIZE, fatal, arena);
}

struct vc_ring *
vc_ring_add(struct vc_session *s)
{
    if (s->nrings == VC_MAX_RINGS)
        vc_die("more than %d rings", VC_MAX_RINGS);
    struct vc_ring *r = calloc(1, sizeof(*r));
    if (!r)
        vc_die("out of memory");
    r->s = s;
    r->index = s->nrings;
    r->id = 0x7000 + r->index;
    r->map = vc_blob(&s->c, RING_SHM_SIZE, 0, &r->res);
    memset(r->map, 0, RING_SHM_SIZE);
    r->head = (atomic_uint *)(r->map + RING_HEAD);
    r->tail = (atomic_uint *)(r->map + RING_TAIL);
    r->status = (atomic_uint *)(r->map + RING_STATUS);
    r->buf = r->map + RING_BUF;
    r->reply = s->reply_map + (size_t)r->index * VC_REPLY_SIZE;
    const VkRingMonitorInfoMESA mon = {.sType = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA,
                                       .maxReportingPeriodMicroseconds = 3000000};
    const VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .pNext = &mon,
        .resourceId = r->res, .offset = 0, .size = RING_SHM_SIZE, .idleTimeout = 1000000,
        .headOffset = RING_HEAD, .tailOffset = RING_TAIL, .statusOffset = RING_STATUS,
        .bufferOffset = RING_BUF, .bufferSize = VC_RING_BUF_SIZE,
        .extraOffset = RING_BUF + VC_RING_BUF_SIZE, .extraSize = 4,
    };
    vc_cmd_begin(r);
    VC_ENC(r, vkCreateRingMESA, 0, .ring = r->id, .pCreateInfo = &ci);
    if (vc_submit(&s->c, r->cmd, vc_cmd_size(r)))
        vc_die("vkCreateRingMESA: server closed the connection");
    vc_cmd_begin(r);
    vc_sync(&s->c, "vkCreateRingMESA");
    if (atomic_load(r->status) & VK_RING_STATUS_FATAL_BIT_MESA)
        vc_die("vkCreateRingMESA: ring FATAL right away");
    s->rings[s->nrings++] = r;
    return r;
}

static void
session_instance(struct vc_session *s)
{
    struct vc_ring *r = s->rings[0];
    const VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                   .pApplicationName = vc_prog,
                                   .apiVersion = VK_API_VERSION_1_3};
    const VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                     .pApplicationInfo = &app};
    VkInstance inst = (VkInstance)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreateInstance a = {.pCreateInfo = &ci, .pInstance = &inst};
    VC_CALL(r, vkCreateInstance, "vkCreateInstance", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreateInstance: VkResult %d", a.ret);
    s->instance = (uintptr_t)inst;
}

static void
session_physical_device(struct vc_session *s)
{
    struct vc_ring *r = s->rings[0];
    uint32_t count = 16;
    struct pvg_args_vkEnumeratePhysicalDevices a = {
        .instance = (VkInstance)(uintptr_t)s->instance, .pPhysicalDeviceCount = &count};
    VC_CALL(r, vkEnumeratePhysicalDevices, "vkEnumeratePhysicalDevices (count)", &a);
    if (a.ret != VK_SUCCESS || count < 1)
        vc_die("vkEnumeratePhysicalDevices: VkResult %d, count %u", a.ret, count);
    VkPhysicalDevice ids[16];
    if (count > 16)
        count = 16;
    for (uint32_t i = 0; i < count; i++)
        ids[i] = (VkPhysicalDevice)(uintptr_t)s->next_id++;
    a.pPhysicalDevices = ids;
    VC_CALL(r, vkEnumeratePhysicalDevices, "vkEnumeratePhysicalDevices", &a);
    if (a.ret < 0)
        vc_die("vkEnumeratePhysicalDevices: VkResult %d", a.ret);
    s->phys = (uintptr_t)ids[0];
    VkPhysicalDeviceMemoryProperties mp;
    memset(&mp, 0, sizeof(mp));
    struct pvg_args_vkGetPhysicalDeviceMemoryProperties m = {.physicalDevice = ids[0],
                                                             .pMemoryProperties = &mp};
    VC_CALL(r, vkGetPhysicalDeviceMemoryProperties, "vkGetPhysicalDeviceMemoryProperties", &m);
    s->host_visible_type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
        if (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
            s->host_visible_type = i;
            break;
        }
    }
}

static void
session_device(struct vc_session *s)
{
    struct vc_ring *r = s->rings[0];
    const float prio = 1.0f;
    const VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                         .queueFamilyIndex = 0, .queueCount = 1,
                                         .pQueuePriorities = &prio};
    const VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                   .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    VkDevice dev = (VkDevice)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreateDevice a = {.physicalDevice = (VkPhysicalDevice)(uintptr_t)s->phys,
                                        .pCreateInfo = &ci, .pDevice = &dev};
    VC_CALL(r, vkCreateDevice, "vkCreateDevice", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreateDevice: VkResult %d", a.ret);
    s->device = (uintptr_t)dev;
    const VkDeviceQueueTimelineInfoMESA tl = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA, .ringIdx = 1};
    const VkDeviceQueueInfo2 qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2, .pNext = &tl,
                                   .queueFamilyIndex = 0, .queueIndex = 0};
    VkQueue q = (VkQueue)(uintptr_t)s->next_id++;
    VC_ENC(r, vkGetDeviceQueue2, 0, .device = dev, .pQueueInfo = &qi, .pQueue = &q);
    vc_ring_flush_wait(r, "vkGetDeviceQueue2");
    s->queue = (uintptr_t)q;
}

/*
 * Sessions a case still had when it returned (its connection open on
 * purpose): kept reachable until exit, so LeakSanitizer does not count them.
 */
static struct vc_session *sessions_singleton[16];

struct vc_session *
vc_session_new(const char *name, int level)
{
    struct vc_session *s = calloc(1, sizeof(*s));
    if (!s)
        vc_die("out of memory");
    for (size_t i = 0; i < sizeof(sessions_singleton) / sizeof(sessions_singleton[0]); i++) {
        if (!sessions_singleton[i]) {
            sessions_singleton[i] = s;
            break;
        }
    }
    s->next_id = 0x1000;
    vc_connect(&s->c, name);
    s->reply_map = vc_blob(&s->c, (uint64_t)VC_REPLY_SIZE * VC_MAX_RINGS, 0, &s->reply_res);
    vc_ring_add(s);
    if (level >= 1)
        session_instance(s);
    if (level >= 2)
        session_physical_device(s);
    if (level >= 3)
        session_device(s);
    return s;
}

void
vc_session_free(struct vc_session *s)
{
    for (size_t i = 0; i < sizeof(sessions_singleton) / sizeof(sessions_singleton[0]); i++)
        if (sessions_singleton[i] == s)
            sessions_singleton[i] = NULL;
    vc_close(&s->c);
    for (unsigned i = 0; i < s->nrings; i++) {
        munmap(s->rings[i]->map, RING_SHM_SIZE);
        free(s->rings[i]);
    }
    if (s->reply_map)
        munmap(s->reply_map, (size_t)VC_REPLY_SIZE * VC_MAX_RINGS);
    free(s);
}

VkResult
vc_buffer(struct vc_ring *r, uint64_t device, uint64_t size, uint64_t *id)
{
    const VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                                   .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                   .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer b = (VkBuffer)(uintptr_t)r->s->next_id++;
    struct pvg_args_vkCreateBuffer a = {.device = (VkDevice)(uintptr_t)device,
                                        .pCreateInfo = &ci, .pBuffer = &b};
    VC_CALL(r, vkCreateBuffer, "vkCreateBuffer", &a);
    *id = (uintptr_t)b;
    return a.ret;
}
