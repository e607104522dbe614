/*
 * pv-hostile-client: a raw vtest client (no Mesa, tests/vk/vclient.h) that
 * plays a guest trying to hurt more than its own context. Each case builds
 * real Venus state first, so that only the attack is hostile; it checks
 * what the server must do to that client (mark the context fatal and drop
 * it, or simply survive); tests/vtest/hostile.sh runs it beside a
 * well-behaved Venus client that must keep passing, and checks the server.
 *
 *   pv-hostile-client [--socket PATH] [--timeout-ms N] [--iterations N] [--hold-ms N]
 *                     [--name NAME] --case NAME
 *   pv-hostile-client --list
 *
 * The cases, by class (docs/threat-model.md):
 *   1. client-chosen fds, pointers and handles must never reach the host:
 *      import-fd, import-host-pointer, private-data, private-data-type;
 *   2. renderer structs must outlive their users across rings:
 *      race-destroy (two rings destroy a device a third uses, a blob
 *      request races vkFreeMemory, vkDestroyInstance races device use);
 *   3. every wait must end when its client goes: wait-ring, wait-submit,
 *      wait-queue-idle, wait-device-idle block the server on a fence or a
 *      queue that never completes, print "blocked" and then hold the
 *      connection until killed; wait-each-other makes a ring and the
 *      context channel wait on each other (must be fatal);
 *   4. streams in guest memory must be copied before decoding: exec-copy;
 *   5. per-context budgets: too-many-objects, too-many-memories,
 *      too-many-blobs, pending-syncs, and dup-ids (the duplicate check
 *      must not be O(n^2));
 *   6. ring control words must be aligned: ring-misaligned;
 *   7. the host driver is not hardened against invalid usage: host-crash
 *      crashes lavapipe with calls the renderer has no grounds to refuse
 *      (tests/vtest/sandbox.sh: only its render process may die);
 * and the control "ping": a valid client (named --name, default
 * hostile-ping), served and held --hold-ms.
 *
 * Exit: 0 the server did what it must; 1 it did not (or setup failed); 2
 * usage.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vclient.h"

static unsigned iterations = 20;
static int hold_ms;
static const char *ping_name = "hostile-ping"; /* --name: what the ping case calls itself */

/* Devices of the hostile cases: with the features the cases use. */
static uint64_t
make_device(struct vc_session *s)
{
    struct vc_ring *r = s->rings[0];
    const float prio = 1.0f;
    const VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                         .queueFamilyIndex = 0, .queueCount = 1,
                                         .pQueuePriorities = &prio};
    VkPhysicalDevicePrivateDataFeatures pd = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRIVATE_DATA_FEATURES, .privateData = VK_TRUE};
    VkPhysicalDeviceTimelineSemaphoreFeatures tl = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES, .pNext = &pd,
        .timelineSemaphore = VK_TRUE};
    const VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &tl,
                                   .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    VkDevice dev = (VkDevice)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreateDevice a = {.physicalDevice = (VkPhysicalDevice)(uintptr_t)s->phys,
                                        .pCreateInfo = &ci, .pDevice = &dev};
    VC_CALL(r, vkCreateDevice, "vkCreateDevice", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreateDevice: VkResult %d", a.ret);
    s->device = (uintptr_t)dev;
    const VkDeviceQueueTimelineInfoMESA tli = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA, .ringIdx = 1};
    const VkDeviceQueueInfo2 qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2, .pNext = &tli,
                                   .queueFamilyIndex = 0, .queueIndex = 0};
    VkQueue q = (VkQueue)(uintptr_t)s->next_id++;
    VC_ENC(r, vkGetDeviceQueue2, 0, .device = dev, .pQueueInfo = &qi, .pQueue = &q);
    vc_ring_flush_wait(r, "vkGetDeviceQueue2");
    s->queue = (uintptr_t)q;
    return s->device;
}

static struct vc_session *
session(const char *name)
{
    struct vc_session *s = vc_session_new(name, 2);
    make_device(s);
    return s;
}

#define DEV(s) ((VkDevice)(uintptr_t)(s)->device)

static uint64_t
make_fence(struct vc_session *s)
{
    const VkFenceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence f = (VkFence)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreateFence a = {.device = DEV(s), .pCreateInfo = &ci, .pFence = &f};
    VC_CALL(s->rings[0], vkCreateFence, "vkCreateFence", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreateFence: VkResult %d", a.ret);
    return (uintptr_t)f;
}

static uint64_t
make_host_visible_memory(struct vc_session *s, uint64_t size, VkResult *ret)
{
    if (s->host_visible_type == UINT32_MAX)
        vc_die("the device has no host-visible memory type");
    const VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                     .allocationSize = size,
                                     .memoryTypeIndex = s->host_visible_type};
    VkDeviceMemory m = (VkDeviceMemory)(uintptr_t)s->next_id++;
    struct pvg_args_vkAllocateMemory a = {.device = DEV(s), .pAllocateInfo = &ai, .pMemory = &m};
    VC_CALL(s->rings[0], vkAllocateMemory, "vkAllocateMemory", &a);
    *ret = a.ret;
    return (uintptr_t)m;
}

/* ---- class 1: fds, pointers and handles ---------------------------------- */

/*
 * vkAllocateMemory whose VkMemoryAllocateInfo chains one import struct,
 * written by hand (our encoders never send one): {sType, pNext = NULL,
 * handleType, then `body` dwords}.
 */
static void
enc_alloc_with_import(struct vc_session *s, uint32_t stype, uint32_t handle_type,
                      const uint32_t *body, unsigned body_dwords)
{
    struct vc_ring *r = s->rings[0];
    vc_put32(r, PVG_CMD_vkAllocateMemory);
    vc_put32(r, 0);
    vc_put64(r, s->device);
    vc_put64(r, 1); /* pAllocateInfo */
    vc_put32(r, VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
    vc_put64(r, 1); /* pNext: one struct */
    vc_put32(r, stype);
    vc_put64(r, 0); /* its pNext */
    vc_put32(r, handle_type);
    for (unsigned i = 0; i < body_dwords; i++)
        vc_put32(r, body[i]);
    vc_put64(r, 4096);                 /* allocationSize */
    vc_put32(r, s->host_visible_type); /* memoryTypeIndex */
    vc_put64(r, 0);                    /* pAllocator */
    vc_put64(r, 1);                    /* pMemory */
    vc_put64(r, s->next_id++);
}

/* An fd number of the server's (0: its stdin) as a dma-buf to import. */
static int
case_import_fd(void)
{
    struct vc_session *s = session("hostile-import-fd");
    const uint32_t fd = 0;
    enc_alloc_with_import(s, VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR,
                          VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, &fd, 1);
    return vc_expect_fatal(s->rings[0], "vkAllocateMemory importing the server's fd 0");
}

/* A host address (the server's own text, as good a guess as any) to import. */
static int
case_import_host_pointer(void)
{
    struct vc_session *s = session("hostile-import-host-pointer");
    const uint64_t ptr = 0x400000;
    const uint32_t wire[2] = {(uint32_t)ptr, (uint32_t)(ptr >> 32)};
    enc_alloc_with_import(s, VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
                          VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, wire, 2);
    return vc_expect_fatal(s->rings[0], "vkAllocateMemory importing host address 0x400000");
}

static uint64_t
make_private_data_slot(struct vc_session *s)
{
    const VkPrivateDataSlotCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PRIVATE_DATA_SLOT_CREATE_INFO};
    VkPrivateDataSlot slot = (VkPrivateDataSlot)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreatePrivateDataSlot a = {.device = DEV(s), .pCreateInfo = &ci,
                                                 .pPrivateDataSlot = &slot};
    VC_CALL(s->rings[0], vkCreatePrivateDataSlot, "vkCreatePrivateDataSlot", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreatePrivateDataSlot: VkResult %d", a.ret);
    return (uintptr_t)slot;
}

/*
 * Private data on a real buffer must round-trip (the handle is translated
 * to the host's); then `type` and `handle` (a made-up id, or the buffer's
 * id with the wrong type) must make the context fatal.
 */
static int
private_data_case(const char *name, bool wrong_type)
{
    struct vc_session *s = session(name);
    struct vc_ring *r = s->rings[0];
    uint64_t slot = make_private_data_slot(s), buf;
    if (vc_buffer(r, s->device, 4096, &buf) != VK_SUCCESS)
        vc_die("vkCreateBuffer failed");
    struct pvg_args_vkSetPrivateData set = {.device = DEV(s), .objectType = VK_OBJECT_TYPE_BUFFER,
                                            .objectHandle = buf,
                                            .privateDataSlot = (VkPrivateDataSlot)(uintptr_t)slot,
                                            .data = 0x5eed5eedull};
    VC_CALL(r, vkSetPrivateData, "vkSetPrivateData on a real buffer", &set);
    if (set.ret != VK_SUCCESS)
        vc_die("vkSetPrivateData on a real buffer: VkResult %d", set.ret);
    uint64_t data = 0;
    struct pvg_args_vkGetPrivateData get = {.device = DEV(s), .objectType = VK_OBJECT_TYPE_BUFFER,
                                            .objectHandle = buf,
                                            .privateDataSlot = (VkPrivateDataSlot)(uintptr_t)slot,
                                            .pData = &data};
    VC_CALL(r, vkGetPrivateData, "vkGetPrivateData on a real buffer", &get);
    if (data != 0x5eed5eedull)
        vc_die("vkGetPrivateData on a real buffer gave 0x%llx, set 0x5eed5eed",
               (unsigned long long)data);
    printf("%s: %s: private data on a real buffer round-trips (ok)\n", vc_prog, name);
    VC_ENC(r, vkSetPrivateData, 0, .device = DEV(s),
           .objectType = wrong_type ? VK_OBJECT_TYPE_IMAGE : VK_OBJECT_TYPE_BUFFER,
           .objectHandle = wrong_type ? buf : 0xdead0000beefull,
           .privateDataSlot = (VkPrivateDataSlot)(uintptr_t)slot, .data = 1);
    return vc_expect_fatal(r, wrong_type ? "vkSetPrivateData on a buffer id called an image"
                                         : "vkSetPrivateData on a made-up object handle");
}

static int
case_private_data(void)
{
    return private_data_case("hostile-private-data", false);
}

static int
case_private_data_type(void)
{
    return private_data_case("hostile-private-data-type", true);
}

/* ---- class 2: renderer structs outlive their users ----------------------- */

/* Work on the device that touches its dispatch table and its queue. */
static void
enc_device_work(struct vc_session *s, struct vc_ring *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                       .size = 4096, .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
        VkBuffer b = (VkBuffer)(uintptr_t)(0x100000 + r->index * 0x10000 + i);
        VC_ENC(r, vkCreateBuffer, 0, .device = DEV(s), .pCreateInfo = &ci, .pBuffer = &b);
        VC_ENC(r, vkDestroyBuffer, 0, .device = DEV(s), .buffer = b);
        VC_ENC(r, vkQueueWaitIdle, 0, .queue = (VkQueue)(uintptr_t)s->queue);
    }
}

/* Waits until every ring of s is done or FATAL. */
static void
wait_rings(struct vc_session *s, const uint32_t *seqnos)
{
    for (unsigned i = 0; i < s->nrings; i++)
        if (vc_ring_wait(s->rings[i], seqnos[i], vc_timeout_ms) == VC_TIMEOUT)
            vc_die("ring %u neither finished nor went FATAL within %d ms", i, vc_timeout_ms);
}

struct blob_race {
    struct vc_session *s;
    uint64_t memory;
};

static void *
blob_race_thread(void *p)
{
    struct blob_race *b = p;
    /* The server may answer with an fd or refuse (the memory is gone) and drop
     * us: either is fine, so the answer is not read. */
    const uint32_t msg[8] = {6, VC_RESOURCE_CREATE_BLOB, 2 /* HOST3D */, 1 /* MAPPABLE */, 4096,
                             0, (uint32_t)b->memory, (uint32_t)(b->memory >> 32)};
    vc_send(&b->s->c, msg, sizeof(msg));
    return NULL;
}

/*
 * One context, three rings. Variant 0: rings 1 and 2 both destroy the
 * device ring 0 is using. Variant 1: ring 1 frees host-visible memory while
 * the client asks for a blob of it over the socket. Variant 2: ring 1
 * destroys the instance while ring 0 uses the device.
 */
static void
race_once(unsigned it)
{
    unsigned variant = it % 3;
    char name[64];
    snprintf(name, sizeof(name), "hostile-race-%u", it);
    struct vc_session *s = session(name);
    struct vc_ring *r1 = vc_ring_add(s), *r2 = vc_ring_add(s);
    struct vc_ring *r0 = s->rings[0];
    uint64_t mem = 0;
    if (variant == 1) {
        VkResult ret;
        mem = make_host_visible_memory(s, 65536, &ret);
        if (ret != VK_SUCCESS)
            vc_die("vkAllocateMemory: VkResult %d", ret);
    }
    enc_device_work(s, r0, 200);
    if (variant == 0) {
        VC_ENC(r1, vkDestroyDevice, 0, .device = DEV(s));
        VC_ENC(r2, vkDestroyDevice, 0, .device = DEV(s));
    } else if (variant == 1) {
        VC_ENC(r1, vkFreeMemory, 0, .device = DEV(s), .memory = (VkDeviceMemory)(uintptr_t)mem);
        enc_device_work(s, r2, 50);
    } else {
        VC_ENC(r1, vkDestroyInstance, 0, .instance = (VkInstance)(uintptr_t)s->instance);
        enc_device_work(s, r2, 50);
    }
    uint32_t seq[3];
    seq[0] = vc_ring_flush(r0);
    vc_sleep_ms((double)(it % 5));
    seq[1] = vc_ring_flush(r1);
    seq[2] = vc_ring_flush(r2);
    if (variant == 1) {
        struct blob_race b = {.s = s, .memory = mem};
        pthread_t t;
        if (pthread_create(&t, NULL, blob_race_thread, &b) == 0)
            pthread_join(t, NULL);
    }
    wait_rings(s, seq);
    vc_session_free(s);
}

static int
case_race_destroy(void)
{
    for (unsigned i = 0; i < iterations; i++)
        race_once(i);
    printf("%s: race-destroy: %u races of device, memory and instance destruction against "
           "their users (the server must survive)\n", vc_prog, iterations);
    return 0;
}

/* ---- class 3: waits without an end --------------------------------------- */

/* Holds the connection open until killed (or the server closes it). */
static int
hold(struct vc_session *s, const char *what)
{
    printf("%s: %s: blocked\n", vc_prog, what);
    fflush(stdout);
    double elapsed;
    if (vc_wait_closed(&s->c, 3600 * 1000, &elapsed))
        printf("%s: %s: the server closed the connection after %.0f ms\n", vc_prog, what, elapsed);
    return 0;
}

/* The ring must stay at the wait (head short of the tail) for a while. */
static void
expect_blocked(struct vc_ring *r, uint32_t seqno, const char *what)
{
    if (vc_ring_wait(r, seqno, 500) != VC_TIMEOUT)
        vc_die("%s: the ring did not block", what);
}

static void
enc_wait_forever(struct vc_ring *r, struct vc_session *s, uint64_t fence)
{
    VkFence f = (VkFence)(uintptr_t)fence;
    VC_ENC(r, vkWaitForFences, 0, .device = DEV(s), .fenceCount = 1, .pFences = &f,
           .waitAll = VK_TRUE, .timeout = UINT64_MAX);
}

static int
case_wait_ring(void)
{
    struct vc_session *s = session("hostile-wait-ring");
    struct vc_ring *r = s->rings[0];
    enc_wait_forever(r, s, make_fence(s));
    expect_blocked(r, vc_ring_flush(r), "vkWaitForFences on a ring");
    return hold(s, "vkWaitForFences(UINT64_MAX) on a fence never submitted, on a ring");
}

static int
case_wait_submit(void)
{
    struct vc_session *s = session("hostile-wait-submit");
    struct vc_ring *r = s->rings[0];
    enc_wait_forever(r, s, make_fence(s));
    /* On the context channel: the server's thread for this client blocks. */
    if (vc_submit(&s->c, r->cmd, vc_cmd_size(r)))
        vc_die("SUBMIT_CMD2: server closed the connection");
    vc_cmd_begin(r);
    return hold(s, "vkWaitForFences(UINT64_MAX) on a fence never submitted, on the context "
                   "channel");
}

/* A submission that waits for timeline semaphore value 1, which never comes. */
static void
enc_stuck_submit(struct vc_session *s, struct vc_ring *r)
{
    const VkSemaphoreTypeCreateInfo tci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                           .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
    const VkSemaphoreCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
                                      .pNext = &tci};
    VkSemaphore sem = (VkSemaphore)(uintptr_t)s->next_id++;
    struct pvg_args_vkCreateSemaphore a = {.device = DEV(s), .pCreateInfo = &ci,
                                           .pSemaphore = &sem};
    VC_CALL(r, vkCreateSemaphore, "vkCreateSemaphore (timeline)", &a);
    if (a.ret != VK_SUCCESS)
        vc_die("vkCreateSemaphore: VkResult %d", a.ret);
    const uint64_t value = 1;
    const VkTimelineSemaphoreSubmitInfo tsi = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO, .waitSemaphoreValueCount = 1,
        .pWaitSemaphoreValues = &value};
    const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    const VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .pNext = &tsi,
                             .waitSemaphoreCount = 1, .pWaitSemaphores = &sem,
                             .pWaitDstStageMask = &stage};
    VC_ENC(r, vkQueueSubmit, 0, .queue = (VkQueue)(uintptr_t)s->queue, .submitCount = 1,
           .pSubmits = &si);
}

static int
case_wait_queue_idle(void)
{
    struct vc_session *s = session("hostile-wait-queue-idle");
    struct vc_ring *r = s->rings[0];
    enc_stuck_submit(s, r);
    VC_ENC(r, vkQueueWaitIdle, 0, .queue = (VkQueue)(uintptr_t)s->queue);
    expect_blocked(r, vc_ring_flush(r), "vkQueueWaitIdle");
    return hold(s, "vkQueueWaitIdle on a queue waiting for a semaphore nobody signals");
}

static int
case_wait_device_idle(void)
{
    struct vc_session *s = session("hostile-wait-device-idle");
    struct vc_ring *r = s->rings[0];
    enc_stuck_submit(s, r);
    VC_ENC(r, vkDeviceWaitIdle, 0, .device = DEV(s));
    expect_blocked(r, vc_ring_flush(r), "vkDeviceWaitIdle");
    return hold(s, "vkDeviceWaitIdle on a device whose queue waits for a semaphore nobody "
                   "signals");
}

/*
 * The ring waits for virtqueue seqno 5, which only the context channel can
 * submit, while the context channel waits for the ring to pass that wait:
 * neither can ever move. The context must be made fatal.
 */
static int
case_wait_each_other(void)
{
    struct vc_session *s = session("hostile-wait-each-other");
    struct vc_ring *r = s->rings[0];
    VC_ENC(r, vkWaitVirtqueueSeqnoMESA, 0, .seqno = 5);
    uint32_t seqno = vc_ring_flush(r);
    expect_blocked(r, seqno, "vkWaitVirtqueueSeqnoMESA");
    VC_ENC(r, vkWaitRingSeqnoMESA, 0, .ring = r->id, .seqno = seqno);
    if (vc_submit(&s->c, r->cmd, vc_cmd_size(r)))
        vc_die("SUBMIT_CMD2: server closed the connection");
    vc_cmd_begin(r);
    double elapsed;
    if (!vc_wait_closed(&s->c, vc_timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: wait-each-other: the server kept the connection for %.0f ms\n",
                vc_prog, elapsed);
        return 1;
    }
    if (!(atomic_load(r->status) & VK_RING_STATUS_FATAL_BIT_MESA)) {
        fprintf(stderr, "%s: wait-each-other: dropped, but the ring is not FATAL\n", vc_prog);
        return 1;
    }
    printf("%s: wait-each-other: ring FATAL and the connection closed after %.0f ms (ok)\n",
           vc_prog, elapsed);
    return 0;
}

/* ---- class 4: streams in guest memory ------------------------------------ */

/*
 * vkExecuteCommandStreamsMESA on a stream in shared memory holding
 * {vkWaitForFences(1 s timeout), vkCreateBuffer(X)}. While the server is in
 * the wait, the client rewrites X to Y in the stream. The server must run
 * the stream as it was when it executed the command: X exists, Y does not.
 */
static int
case_exec_copy(void)
{
    struct vc_session *s = session("hostile-exec-copy");
    struct vc_ring *r = s->rings[0];
    uint64_t fence = make_fence(s);
    uint32_t stream_res;
    const uint32_t stream_size = 4096;
    uint8_t *stream = vc_blob(&s->c, stream_size, 0, &stream_res);
    bool fatal = false;
    struct pv_cs_enc e = {stream, stream + stream_size, &fatal};
    VkFence f = (VkFence)(uintptr_t)fence;
    struct pvg_args_vkWaitForFences w = {.device = DEV(s), .fenceCount = 1, .pFences = &f,
                                         .waitAll = VK_TRUE, .timeout = 1000000000ull};
    pvg_encode_vkWaitForFences(&e, 0, &w);
    const VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096,
                                   .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    const uint64_t x = s->next_id++, y = s->next_id++;
    VkBuffer b = (VkBuffer)(uintptr_t)x;
    struct pvg_args_vkCreateBuffer cb = {.device = DEV(s), .pCreateInfo = &ci, .pBuffer = &b};
    pvg_encode_vkCreateBuffer(&e, 0, &cb);
    uint32_t n = (uint32_t)(e.cur - stream);
    uint64_t got;
    memcpy(&got, stream + n - 8, 8);
    if (fatal || got != x)
        vc_die("internal: the stream does not end with the buffer id");
    const VkCommandStreamDescriptionMESA d = {.resourceId = stream_res, .offset = 0, .size = n};
    VC_ENC(r, vkExecuteCommandStreamsMESA, 0, .streamCount = 1, .pStreams = &d);
    uint32_t seqno = vc_ring_flush(r);
    vc_sleep_ms(300);
    memcpy(stream + n - 8, &y, 8);
    if (vc_ring_wait(r, seqno, vc_timeout_ms) != VC_DONE)
        vc_die("exec-copy: the stream did not run to its end");
    VkMemoryRequirements mr;
    memset(&mr, 0, sizeof(mr));
    struct pvg_args_vkGetBufferMemoryRequirements q = {.device = DEV(s),
                                                       .buffer = (VkBuffer)(uintptr_t)x,
                                                       .pMemoryRequirements = &mr};
    /* Dies (FATAL) if X was never created: the server decoded the rewritten stream. */
    VC_CALL(r, vkGetBufferMemoryRequirements, "exec-copy: buffer X, as it was submitted", &q);
    if (mr.size < 4096)
        vc_die("exec-copy: buffer X reports %llu bytes", (unsigned long long)mr.size);
    printf("%s: exec-copy: the stream ran as submitted (buffer X exists)\n", vc_prog);
    VC_ENC(r, vkDestroyBuffer, 0, .device = DEV(s), .buffer = (VkBuffer)(uintptr_t)y);
    return vc_expect_fatal(r, "exec-copy: buffer Y (the rewrite) must not exist");
}

/* ---- class 5: budgets ---------------------------------------------------- */

/* Objects on the ring until the server says no. */
static int
case_too_many_objects(void)
{
    struct vc_session *s = session("hostile-too-many-objects");
    struct vc_ring *r = s->rings[0];
    const VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256,
                                   .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
    double t0 = vc_now_ms();
    for (uint32_t i = 0; i < (8u << 20); i++) {
        VkBuffer b = (VkBuffer)(uintptr_t)s->next_id++;
        VC_ENC(r, vkCreateBuffer, 0, .device = DEV(s), .pCreateInfo = &ci, .pBuffer = &b);
        if (vc_cmd_size(r) < 60 * 1024)
            continue;
        uint32_t seqno = vc_ring_flush(r);
        enum vc_wait w = vc_ring_wait(r, seqno, vc_timeout_ms);
        if (w == VC_TIMEOUT)
            vc_die("too-many-objects: the ring stalled after %u buffers", i);
        if (w == VC_FATAL) {
            printf("%s: too-many-objects: ring FATAL after %u buffers (%.0f ms) (ok)\n", vc_prog,
                   i + 1, vc_now_ms() - t0);
            vc_notify(r);
            return vc_wait_closed(&s->c, vc_timeout_ms, NULL) ? 0 : 1;
        }
    }
    fprintf(stderr, "%s: too-many-objects: the server took 8 Mi buffers from one context\n",
            vc_prog);
    return 1;
}

/* Host-visible memory (a memfd each, on the host) until the server says no. */
static int
case_too_many_memories(void)
{
    struct vc_session *s = session("hostile-too-many-memories");
    struct vc_ring *r = s->rings[0];
    for (uint32_t i = 0; i < 65536; i++) {
        const VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                         .allocationSize = 4096,
                                         .memoryTypeIndex = s->host_visible_type};
        VkDeviceMemory m = (VkDeviceMemory)(uintptr_t)s->next_id++;
        VC_ENC(r, vkAllocateMemory, 0, .device = DEV(s), .pAllocateInfo = &ai, .pMemory = &m);
        if (vc_cmd_size(r) < 60 * 1024)
            continue;
        uint32_t seqno = vc_ring_flush(r);
        enum vc_wait w = vc_ring_wait(r, seqno, vc_timeout_ms);
        if (w == VC_TIMEOUT)
            vc_die("too-many-memories: the ring stalled after %u allocations", i);
        if (w == VC_FATAL) {
            printf("%s: too-many-memories: ring FATAL after %u allocations (ok)\n", vc_prog,
                   i + 1);
            vc_notify(r);
            return vc_wait_closed(&s->c, vc_timeout_ms, NULL) ? 0 : 1;
        }
    }
    fprintf(stderr, "%s: too-many-memories: the server took 65536 host-visible allocations\n",
            vc_prog);
    return 1;
}

/* Shared-memory blobs until the server says no (each fd closed at once). */
static int
case_too_many_blobs(void)
{
    struct vc_conn c;
    vc_connect(&c, "hostile-too-many-blobs");
    for (uint32_t i = 0; i < 65536; i++) {
        const uint32_t msg[8] = {6, VC_RESOURCE_CREATE_BLOB, 2 /* HOST3D */, 1 /* MAPPABLE */,
                                 4096, 0, 0, 0};
        uint32_t reply[3];
        struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
        if (vc_send(&c, msg, sizeof(msg)) || poll(&pfd, 1, vc_timeout_ms) != 1 ||
            recv(c.fd, reply, sizeof(reply), MSG_WAITALL) != (ssize_t)sizeof(reply)) {
            printf("%s: too-many-blobs: dropped after %u blobs (ok)\n", vc_prog, i);
            return 0;
        }
        char byte;
        struct iovec iov = {&byte, 1};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        if (recvmsg(c.fd, &mh, MSG_CMSG_CLOEXEC) != 1)
            vc_die("too-many-blobs: a blob reply without its fd");
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (cm && cm->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
            close(fd);
        }
    }
    fprintf(stderr, "%s: too-many-blobs: the server made 65536 blobs for one client\n", vc_prog);
    return 1;
}

/*
 * A descriptor pool of one set, then vkAllocateDescriptorSets of n = 262143
 * sets from it, with new ids (the last one repeating the first when
 * repeat_last), submitted on the context channel. Returns vc_submit's result;
 * the caller waits for the server's answer.
 */
#define MANY_SETS 262143u

static int
submit_many_sets(struct vc_session *s, bool repeat_last)
{
    struct vc_ring *r = s->rings[0];
    const VkDescriptorSetLayoutBinding bind = {.binding = 0,
                                               .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .descriptorCount = 1,
                                               .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    const VkDescriptorSetLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1,
        .pBindings = &bind};
    VkDescriptorSetLayout layout = (VkDescriptorSetLayout)(uintptr_t)s->next_id++;
    VC_ENC(r, vkCreateDescriptorSetLayout, 0, .device = DEV(s), .pCreateInfo = &lci,
           .pSetLayout = &layout);
    const VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1};
    const VkDescriptorPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                            .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps};
    VkDescriptorPool pool = (VkDescriptorPool)(uintptr_t)s->next_id++;
    VC_ENC(r, vkCreateDescriptorPool, 0, .device = DEV(s), .pCreateInfo = &pci,
           .pDescriptorPool = &pool);
    vc_ring_flush_wait(r, "descriptor set layout and pool");

    const uint32_t n = MANY_SETS;
    VkDescriptorSetLayout *layouts = malloc(sizeof(*layouts) * n);
    VkDescriptorSet *sets = malloc(sizeof(*sets) * n);
    size_t cap = 16u * n + 4096;
    uint8_t *cmd = malloc(cap);
    if (!layouts || !sets || !cmd)
        vc_die("out of memory");
    for (uint32_t i = 0; i < n; i++) {
        layouts[i] = layout;
        sets[i] = (VkDescriptorSet)(uintptr_t)(0x40000000ull + i);
    }
    if (repeat_last)
        sets[n - 1] = sets[0];
    bool fatal = false;
    struct pv_cs_enc e = {cmd, cmd + cap, &fatal};
    const VkCommandStreamDescriptionMESA d = {.resourceId = s->reply_res, .offset = 0,
                                              .size = VC_REPLY_SIZE};
    struct pvg_args_vkSetReplyCommandStreamMESA sr = {.pStream = &d};
    pvg_encode_vkSetReplyCommandStreamMESA(&e, 0, &sr);
    const VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                            .descriptorPool = pool, .descriptorSetCount = n,
                                            .pSetLayouts = layouts};
    struct pvg_args_vkAllocateDescriptorSets a = {.device = DEV(s), .pAllocateInfo = &ai,
                                                  .pDescriptorSets = sets};
    pvg_encode_vkAllocateDescriptorSets(&e, VK_COMMAND_GENERATE_REPLY_BIT_EXT, &a);
    if (fatal)
        vc_die("internal: the command does not fit");
    int err = vc_submit(&s->c, cmd, (uint32_t)(e.cur - cmd));
    free(layouts);
    free(sets);
    free(cmd);
    return err;
}

/*
 * dup-ids: the sets' ids new but the last repeating the first: the renderer
 * must find the repeat (and make the context fatal) before it calls the
 * host, and fast. Comparing every pair takes 34 G comparisons; the client
 * waits vc_timeout_ms.
 */
static int
case_dup_ids(void)
{
    struct vc_session *s = session("hostile-dup-ids");
    double elapsed = 0;
    if (submit_many_sets(s, true) == 0 && !vc_wait_closed(&s->c, vc_timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: dup-ids: no answer to %u ids with one repeat within %.0f ms\n",
                vc_prog, MANY_SETS, elapsed);
        return 1;
    }
    printf("%s: dup-ids: the repeat among %u ids was refused after %.0f ms (ok)\n", vc_prog,
           MANY_SETS, elapsed);
    return 0;
}

/*
 * host-crash: a call the Venus protocol lets through but the host driver is
 * not hardened against. lavapipe (Mesa 25 and 26) ignores maxSets and
 * overruns a descriptor pool of one set when asked for many more (all ids
 * new and distinct, so the renderer has nothing to refuse): the process that
 * runs the host driver crashes. The render process of this client must die
 * alone; the client sees its connection end.
 */
static int
case_host_crash(void)
{
    struct vc_session *s = session("hostile-host-crash");
    double elapsed = 0;
    if (submit_many_sets(s, false) == 0 && !vc_wait_closed(&s->c, vc_timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: host-crash: the server still serves this client after %.0f ms\n",
                vc_prog, elapsed);
        return 1;
    }
    printf("%s: host-crash: the connection ended %.0f ms after %u sets from a pool of one "
           "(ok)\n", vc_prog, elapsed, MANY_SETS);
    return 0;
}

/*
 * SUBMIT_CMD2 batches on a timeline whose queue is stuck (its fences never
 * retire), each setting one sync 60000 times: the server keeps every queued
 * ref until the fence retires. It must refuse before 40 such batches
 * (2.4 M refs, 38 MiB here; without a budget, 65536 batches would be 63 GB).
 */
static int
case_pending_syncs(void)
{
    struct vc_session *s = session("hostile-pending-syncs");
    struct vc_ring *r = s->rings[0];
    enc_stuck_submit(s, r);
    vc_ring_flush_wait(r, "a submission that never ends");
    uint32_t sync = vc_sync_create(&s->c, 0);
    const uint32_t refs = 60000, dw = 1 + 6 + 3 * refs;
    uint32_t *msg = malloc((2 + (size_t)dw) * 4);
    if (!msg)
        vc_die("out of memory");
    msg[0] = dw;
    msg[1] = VC_SUBMIT_CMD2;
    /* {batch_count}, {flags, cmd_offset, cmd_size, sync_offset, sync_count, ring_idx} */
    const uint32_t head[7] = {1, 1 /* RING_IDX */, 7, 0, 7, refs, 1};
    memcpy(&msg[2], head, sizeof(head));
    for (uint32_t i = 0; i < refs; i++) {
        msg[9 + 3 * i] = sync;
        msg[10 + 3 * i] = i + 1;
        msg[11 + 3 * i] = 0;
    }
    for (unsigned b = 0; b < 40; b++) {
        if (vc_send(&s->c, msg, (2 + (size_t)dw) * 4) || vc_wait_closed(&s->c, 50, NULL)) {
            printf("%s: pending-syncs: dropped after %u batches of %u refs (ok)\n", vc_prog, b,
                   refs);
            free(msg);
            return 0;
        }
    }
    free(msg);
    if (vc_wait_closed(&s->c, vc_timeout_ms, NULL)) {
        printf("%s: pending-syncs: dropped after the last batch (ok)\n", vc_prog);
        return 0;
    }
    fprintf(stderr, "%s: pending-syncs: the server queued 2.4 M sync refs for one client\n",
            vc_prog);
    return 1;
}

/* ---- class 6: alignment -------------------------------------------------- */

/* vkCreateRingMESA with the ring's head word at an odd offset. */
static int
case_ring_misaligned(void)
{
    struct vc_conn c;
    vc_connect(&c, "hostile-ring-misaligned");
    uint32_t res;
    const uint32_t size = 4096 + 64 * 1024;
    void *map = vc_blob(&c, size, 0, &res);
    const VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .resourceId = res, .offset = 0,
        .size = size, .idleTimeout = 1000000, .headOffset = 2, .tailOffset = 64,
        .statusOffset = 128, .bufferOffset = 4096, .bufferSize = 64 * 1024,
        .extraOffset = 256, .extraSize = 4};
    uint8_t buf[256];
    bool fatal = false;
    struct pv_cs_enc e = {buf, buf + sizeof(buf), &fatal};
    struct pvg_args_vkCreateRingMESA a = {.ring = 0x5151, .pCreateInfo = &ci};
    pvg_encode_vkCreateRingMESA(&e, 0, &a);
    double elapsed;
    int rc = 0;
    if (vc_submit(&c, buf, (uint32_t)(e.cur - buf)) == 0 &&
        !vc_wait_closed(&c, vc_timeout_ms, &elapsed)) {
        fprintf(stderr, "%s: ring-misaligned: the server kept the connection\n", vc_prog);
        rc = 1;
    } else {
        printf("%s: ring-misaligned: a ring with its head at offset 2 was refused (ok)\n",
               vc_prog);
    }
    munmap(map, size);
    return rc;
}

/* ---- control ------------------------------------------------------------- */

/* A well-behaved client: served, answered, kept --hold-ms, then gone. */
static int
case_ping(void)
{
    struct vc_conn c;
    vc_connect(&c, ping_name);
    vc_sync(&c, "ping");
    printf("%s: ping: served\n", vc_prog);
    fflush(stdout);
    double elapsed;
    if (hold_ms && vc_wait_closed(&c, hold_ms, &elapsed)) {
        fprintf(stderr, "%s: ping: the server dropped a valid client after %.0f ms\n", vc_prog,
                elapsed);
        return 1;
    }
    vc_sync(&c, "ping after holding");
    vc_close(&c);
    return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(void);
} cases[] = {
    {"ping", case_ping},
    {"import-fd", case_import_fd},
    {"import-host-pointer", case_import_host_pointer},
    {"private-data", case_private_data},
    {"private-data-type", case_private_data_type},
    {"race-destroy", case_race_destroy},
    {"wait-ring", case_wait_ring},
    {"wait-submit", case_wait_submit},
    {"wait-queue-idle", case_wait_queue_idle},
    {"wait-device-idle", case_wait_device_idle},
    {"wait-each-other", case_wait_each_other},
    {"exec-copy", case_exec_copy},
    {"too-many-objects", case_too_many_objects},
    {"too-many-memories", case_too_many_memories},
    {"too-many-blobs", case_too_many_blobs},
    {"dup-ids", case_dup_ids},
    {"host-crash", case_host_crash},
    {"pending-syncs", case_pending_syncs},
    {"ring-misaligned", case_ring_misaligned},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

int
main(int argc, char **argv)
{
    vc_prog = "pv-hostile-client";
    vc_socket = getenv("VTEST_SOCKET_NAME");
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--list")) {
            for (size_t k = 0; k < N_CASES; k++)
                printf("%s\n", cases[k].name);
            return 0;
        } else if (!strcmp(argv[i], "--socket") && val) {
            vc_socket = argv[++i];
        } else if (!strcmp(argv[i], "--case") && val) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--timeout-ms") && val && atoi(val) > 0) {
            vc_timeout_ms = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--name") && val) {
            ping_name = argv[++i];
        } else if (!strcmp(argv[i], "--hold-ms") && val && atoi(val) >= 0) {
            hold_ms = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--iterations") && val && atoi(val) > 0) {
            iterations = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--socket PATH] [--timeout-ms N] [--iterations N] "
                            "[--hold-ms N] [--name NAME] --case NAME | --list\n", vc_prog);
            return 2;
        }
    }
    if (!name || !vc_socket) {
        fprintf(stderr, "%s: need --case and a socket (--socket or VTEST_SOCKET_NAME)\n", vc_prog);
        return 2;
    }
    for (size_t k = 0; k < N_CASES; k++)
        if (!strcmp(name, cases[k].name))
            return cases[k].run();
    fprintf(stderr, "%s: unknown case '%s'\n", vc_prog, name);
    return 2;
}
