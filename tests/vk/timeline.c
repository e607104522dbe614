/*
 * pv-timeline-test: timeline semaphores, checked for values and ordering.
 *
 * Uses only the Vulkan loader, so the same binary runs natively (lavapipe)
 * and through Venus (VN_DEBUG=vtest + the virtio ICD). Cases, one line each:
 *
 *   host_ops           initial value, vkSignalSemaphore, vkGetSemaphoreCounterValue,
 *                      vkWaitSemaphores: zero and short timeouts, WAIT_ANY vs all
 *   host_unblocks_gpu  a submit waiting on a value only the host signals must not
 *                      run (its signal stays 0, its write stays out) until
 *                      vkSignalSemaphore, then must run
 *   two_threads        STEPS steps on one semaphore: thread A does the odd steps,
 *                      thread B the even ones; step k waits for value k-1 and
 *                      signals k. Each step copies entry k-2 of a buffer to
 *                      check slot k-1, then writes k at entry k-1 (vkCmdFillBuffer
 *                      for odd k, vkCmdUpdateBuffer for even k). A host-waits
 *                      (vkWaitSemaphores) before steps k%4==1 and submits steps
 *                      k%4==3 at once with only the GPU-side wait; B host-waits
 *                      for k%4==2, submits k%8==4 with only the GPU-side wait, and
 *                      does k%8==0 on the host (reads, writes, vkSignalSemaphore).
 *                      With two queues each thread has its own (waits may be
 *                      submitted before their signals); with one, both threads
 *                      share it under a mutex, and a GPU-side-only wait is
 *                      submitted only after its signal was. In the end the
 *                      counter must be STEPS, entries 1,2,...,STEPS and check
 *                      slot k-1 = k-1: each step saw the previous step's write.
 *
 *   pv-timeline-test [--steps N] [--queues 1|2] [--skip-if-no-device]
 *
 * Output: "device: NAME", "queues: ...", then one line per case:
 *   case=two_threads ok steps=64 queues=1 ms=12.345
 * Exit: 0 every value and ordering right; 1 a check or a Vulkan call failed
 * (named); 2 usage; 77 no Vulkan device or no timeline semaphores and
 * --skip-if-no-device was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vulkan/vulkan.h>

#include "common.h"

#define WAIT_NS (10ull * 1000 * 1000 * 1000) /* any single wait; far above any step */
#define MAX_STEPS 4096

struct options {
    uint32_t steps;
    uint32_t max_queues;
    bool skip_if_no_device;
};

struct ctx {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    VkDevice device;
    uint32_t queue_family;
    uint32_t n_queues;
    VkQueue queues[2];
    VkCommandPool cmd_pool;
};

/* Shared by the two threads of two_threads. */
struct run {
    struct ctx *c;
    uint32_t steps;
    VkSemaphore sem;
    struct pvt_buffer buf; /* entries [0, steps), check slots [steps, 2 * steps) */
    VkCommandBuffer *cmds; /* cmds[k] for step k (1-based) */
    bool shared_queue;
    pthread_mutex_t lock; /* guards the shared queue and submitted[] */
    pthread_cond_t cond;
    bool *submitted; /* step k's submit (or host signal) has been made */
    atomic_bool failed;
};

/* Failed Vulkan calls _exit: the other thread may be inside Vulkan. */
const struct pvt_prog pvt_prog = { .name = "pv-timeline-test", .check_exits_quick = true };

static void usage(FILE *f)
{
    fprintf(f, "usage: pv-timeline-test [--steps N] [--queues 1|2] [--skip-if-no-device]\n"
               "  N: 8..%d (default 64)\n", MAX_STEPS);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->steps = 64;
    o->max_queues = 2;
    o->skip_if_no_device = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--steps") || !strcmp(a, "--queues")) {
            char *end;
            errno = 0;
            unsigned long v = val ? strtoul(val, &end, 10) : 0;
            bool steps = a[2] == 's';
            if (!val || errno || *end || val[0] == '-' ||
                (steps ? v < 8 || v > MAX_STEPS : v < 1 || v > 2)) {
                fprintf(stderr, "pv-timeline-test: bad %s '%s'\n", a, val ? val : "");
                usage(stderr);
                return 2;
            }
            if (steps)
                o->steps = (uint32_t)v;
            else
                o->max_queues = (uint32_t)v;
            i++;
        } else {
            int rc = pvt_common_arg(a, &o->skip_if_no_device, usage);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Returns 0 with a device, else the exit code. */
static int init(struct ctx *c, const struct options *o)
{
    int rc = pvt_first_device(VK_API_VERSION_1_2, o->skip_if_no_device, true, &c->instance,
                              &c->phys, &c->props, &c->mem_props);
    if (rc)
        return rc;
    if (VK_API_VERSION_MAJOR(c->props.apiVersion) == 1 &&
        VK_API_VERSION_MINOR(c->props.apiVersion) < 2)
        return pvt_skip_or_fail(o->skip_if_no_device,
                                "device is older than Vulkan 1.2 (no core timeline semaphores)");

    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    };
    VkPhysicalDeviceFeatures2 f2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &f12,
    };
    vkGetPhysicalDeviceFeatures2(c->phys, &f2);
    if (!f12.timelineSemaphore)
        return pvt_skip_or_fail(o->skip_if_no_device, "device has no timelineSemaphore feature");

    /* Transfer commands run on any graphics/compute/transfer queue: take the
     * family with the most queues. */
    const VkQueueFlags any = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;
    uint32_t queue_count = 0;
    c->queue_family = pvt_queue_family(c->phys, any, true, &queue_count);
    if (c->queue_family == UINT32_MAX) {
        fprintf(stderr, "pv-timeline-test: device has no queue for transfer commands\n");
        return 1;
    }
    c->n_queues = queue_count >= 2 && o->max_queues >= 2 ? 2 : 1;

    float prio[2] = { 1.0f, 1.0f };
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = c->queue_family,
        .queueCount = c->n_queues,
        .pQueuePriorities = prio,
    };
    VkPhysicalDeviceVulkan12Features want12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .timelineSemaphore = VK_TRUE,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &want12,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VK_CHECK(vkCreateDevice(c->phys, &dci, NULL, &c->device));
    for (uint32_t i = 0; i < c->n_queues; i++)
        vkGetDeviceQueue(c->device, c->queue_family, i, &c->queues[i]);
    printf("queues: %u (family %u)%s\n", c->n_queues, c->queue_family,
           c->n_queues == 2 ? ": one per thread" : ": shared by both threads");
    fflush(stdout);

    VkCommandPoolCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = c->queue_family,
    };
    VK_CHECK(vkCreateCommandPool(c->device, &cpci, NULL, &c->cmd_pool));
    return 0;
}

/* A host-visible buffer for transfers, every byte 0xff. */
static void buffer_create(struct ctx *c, VkDeviceSize size, struct pvt_buffer *b)
{
    pvt_buffer_create(c->device, &c->mem_props, size,
                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, b);
    memset(b->map, 0xff, size);
}

static VkSemaphore timeline_create(struct ctx *c, uint64_t initial)
{
    VkSemaphoreTypeCreateInfo stci = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
        .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
        .initialValue = initial,
    };
    VkSemaphoreCreateInfo sci = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
        .pNext = &stci,
    };
    VkSemaphore s;
    VK_CHECK(vkCreateSemaphore(c->device, &sci, NULL, &s));
    return s;
}

static uint64_t counter(struct ctx *c, VkSemaphore s)
{
    uint64_t v = 0;
    VK_CHECK(vkGetSemaphoreCounterValue(c->device, s, &v));
    return v;
}

static VkResult wait_value(struct ctx *c, VkSemaphore s, uint64_t value, uint64_t timeout_ns)
{
    VkSemaphoreWaitInfo wi = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
        .semaphoreCount = 1,
        .pSemaphores = &s,
        .pValues = &value,
    };
    return vkWaitSemaphores(c->device, &wi, timeout_ns);
}

static void host_signal(struct ctx *c, VkSemaphore s, uint64_t value)
{
    VkSemaphoreSignalInfo si = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
        .semaphore = s,
        .value = value,
    };
    VK_CHECK(vkSignalSemaphore(c->device, &si));
}

/* Submits cmd on q: waits for wait_value on wait_sem (none if wait_sem is
 * null), then signals signal_value on signal_sem. */
static void submit(VkQueue q, VkCommandBuffer cmd, VkSemaphore wait_sem, uint64_t wait_val,
                   VkSemaphore signal_sem, uint64_t signal_val)
{
    const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkTimelineSemaphoreSubmitInfo tsi = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .waitSemaphoreValueCount = wait_sem ? 1 : 0,
        .pWaitSemaphoreValues = &wait_val,
        .signalSemaphoreValueCount = 1,
        .pSignalSemaphoreValues = &signal_val,
    };
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .pNext = &tsi,
        .waitSemaphoreCount = wait_sem ? 1 : 0,
        .pWaitSemaphores = &wait_sem,
        .pWaitDstStageMask = &stage,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
        .signalSemaphoreCount = 1,
        .pSignalSemaphores = &signal_sem,
    };
    VK_CHECK(vkQueueSubmit(q, 1, &si, VK_NULL_HANDLE));
}

/* Makes the step's transfer writes visible to the host and to later transfers. */
static void cmd_end(VkCommandBuffer cmd)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
    VK_CHECK(vkEndCommandBuffer(cmd));
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "pv-timeline-test: " __VA_ARGS__);                                        \
        ok = false;                                                                                \
    } while (0)

static bool case_host_ops(struct ctx *c)
{
    bool ok = true;
    VkSemaphore s = timeline_create(c, 5);
    VkSemaphore s2 = timeline_create(c, 0);
    uint64_t v = counter(c, s);
    if (v != 5)
        FAIL("host_ops: initial counter %" PRIu64 ", expected 5\n", v);
    host_signal(c, s, 7);
    if ((v = counter(c, s)) != 7)
        FAIL("host_ops: counter %" PRIu64 " after vkSignalSemaphore(7)\n", v);
    VkResult r = wait_value(c, s, 7, 0);
    if (r != VK_SUCCESS)
        FAIL("host_ops: vkWaitSemaphores(7, timeout 0) = %s, expected VK_SUCCESS\n",
             pvt_result_name(r));
    r = wait_value(c, s, 6, WAIT_NS);
    if (r != VK_SUCCESS)
        FAIL("host_ops: vkWaitSemaphores(6) = %s on counter 7, expected VK_SUCCESS\n",
             pvt_result_name(r));
    r = wait_value(c, s, 8, 0);
    if (r != VK_TIMEOUT)
        FAIL("host_ops: vkWaitSemaphores(8, timeout 0) = %s on counter 7, expected VK_TIMEOUT\n",
             pvt_result_name(r));
    const uint64_t short_ns = 20ull * 1000 * 1000;
    double t0 = pvt_now_ms();
    r = wait_value(c, s, 8, short_ns);
    double waited = pvt_now_ms() - t0;
    if (r != VK_TIMEOUT)
        FAIL("host_ops: vkWaitSemaphores(8, 20 ms) = %s, expected VK_TIMEOUT\n",
             pvt_result_name(r));
    else if (waited < 18.0)
        FAIL("host_ops: vkWaitSemaphores(8, 20 ms) returned VK_TIMEOUT after %.2f ms\n", waited);

    /* s is at 7, s2 at 0: ANY of {s >= 7, s2 >= 1} holds, ALL does not. */
    VkSemaphore both[2] = { s, s2 };
    uint64_t values[2] = { 7, 1 };
    VkSemaphoreWaitInfo wi = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
        .flags = VK_SEMAPHORE_WAIT_ANY_BIT,
        .semaphoreCount = 2,
        .pSemaphores = both,
        .pValues = values,
    };
    r = vkWaitSemaphores(c->device, &wi, WAIT_NS);
    if (r != VK_SUCCESS)
        FAIL("host_ops: WAIT_ANY {7 of 7, 1 of 0} = %s, expected VK_SUCCESS\n", pvt_result_name(r));
    wi.flags = 0;
    r = vkWaitSemaphores(c->device, &wi, short_ns);
    if (r != VK_TIMEOUT)
        FAIL("host_ops: wait all {7 of 7, 1 of 0} = %s, expected VK_TIMEOUT\n", pvt_result_name(r));
    host_signal(c, s2, 1);
    r = vkWaitSemaphores(c->device, &wi, WAIT_NS);
    if (r != VK_SUCCESS)
        FAIL("host_ops: wait all {7 of 7, 1 of 1} = %s, expected VK_SUCCESS\n", pvt_result_name(r));
    /* Large values: the counter is 64 bits. */
    const uint64_t big = (1ull << 40) + 3;
    host_signal(c, s2, big);
    if ((v = counter(c, s2)) != big)
        FAIL("host_ops: counter %" PRIu64 " after vkSignalSemaphore(%" PRIu64 ")\n", v, big);
    vkDestroySemaphore(c->device, s, NULL);
    vkDestroySemaphore(c->device, s2, NULL);
    printf("case=host_ops %s\n", ok ? "ok" : "FAIL");
    fflush(stdout);
    return ok;
}

static bool case_host_unblocks_gpu(struct ctx *c)
{
    bool ok = true;
    struct pvt_buffer b;
    buffer_create(c, 16, &b);
    VkSemaphore gate = timeline_create(c, 0);
    VkSemaphore done = timeline_create(c, 0);
    VkCommandBuffer cmd = pvt_cmd_begin(c->device, c->cmd_pool);
    vkCmdFillBuffer(cmd, b.buf, 0, 4, 0xabc);
    cmd_end(cmd);
    submit(c->queues[0], cmd, gate, 10, done, 1);

    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    uint64_t v = counter(c, done);
    if (v != 0)
        FAIL("host_unblocks_gpu: the submit signaled %" PRIu64 " before its wait (10) was "
             "signaled\n", v);
    if (b.words[0] != 0xffffffffu)
        FAIL("host_unblocks_gpu: the submit wrote 0x%x before its wait was signaled\n", b.words[0]);
    VkResult r = wait_value(c, done, 1, 1000 * 1000);
    if (r != VK_TIMEOUT)
        FAIL("host_unblocks_gpu: vkWaitSemaphores(done 1, 1 ms) = %s while blocked, expected "
             "VK_TIMEOUT\n", pvt_result_name(r));

    host_signal(c, gate, 9); /* not enough */
    nanosleep(&ts, NULL);
    if ((v = counter(c, done)) != 0)
        FAIL("host_unblocks_gpu: the submit ran after gate 9 (it waits for 10)\n");
    host_signal(c, gate, 10);
    r = wait_value(c, done, 1, WAIT_NS);
    if (r != VK_SUCCESS) {
        FAIL("host_unblocks_gpu: vkWaitSemaphores(done 1) = %s after vkSignalSemaphore(gate 10); "
             "done counter %" PRIu64 "\n", pvt_result_name(r), counter(c, done));
        printf("case=host_unblocks_gpu FAIL\n");
        fflush(stdout);
        _exit(1); /* work is still pending: no teardown */
    }
    if ((v = counter(c, done)) != 1)
        FAIL("host_unblocks_gpu: done counter %" PRIu64 ", expected 1\n", v);
    if ((v = counter(c, gate)) != 10)
        FAIL("host_unblocks_gpu: gate counter %" PRIu64 ", expected 10\n", v);
    if (b.words[0] != 0xabc)
        FAIL("host_unblocks_gpu: buffer holds 0x%x after the submit, expected 0xabc\n", b.words[0]);
    vkFreeCommandBuffers(c->device, c->cmd_pool, 1, &cmd);
    vkDestroySemaphore(c->device, gate, NULL);
    vkDestroySemaphore(c->device, done, NULL);
    pvt_buffer_destroy(c->device, &b);
    printf("case=host_unblocks_gpu %s\n", ok ? "ok" : "FAIL");
    fflush(stdout);
    return ok;
}

static void run_fail(struct run *r, const char *fmt, uint64_t a, uint64_t b)
{
    fprintf(stderr, "pv-timeline-test: two_threads: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->failed, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static bool is_host_step(uint32_t k)
{
    return k % 8 == 0;
}

/* Whether step k is submitted with only its GPU-side wait (no host wait first). */
static bool gpu_wait_only(uint32_t k)
{
    return k % 4 == 3 || k % 8 == 4;
}

/* One queue: step k-1 must be submitted before a GPU-side-only wait for it is,
 * or the queue would wait on a signal queued behind it. */
static bool wait_submitted(struct run *r, uint32_t k)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(WAIT_NS / 1000000000ull);
    pthread_mutex_lock(&r->lock);
    int e = 0;
    while (!r->submitted[k] && !atomic_load(&r->failed) && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&r->cond, &r->lock, &deadline);
    bool ok = r->submitted[k];
    pthread_mutex_unlock(&r->lock);
    if (!ok && !atomic_load(&r->failed))
        run_fail(r, "step %" PRIu64 " was not submitted within %" PRIu64 " s", k,
                 WAIT_NS / 1000000000ull);
    return ok;
}

static void mark_submitted(struct run *r, uint32_t k)
{
    pthread_mutex_lock(&r->lock);
    r->submitted[k] = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Host-waits for value v; checks the counter and, for v >= 1, the entry of step v. */
static bool host_wait(struct run *r, uint64_t v)
{
    VkResult res = wait_value(r->c, r->sem, v, WAIT_NS);
    if (res != VK_SUCCESS) {
        run_fail(r, "vkWaitSemaphores(%" PRIu64 ") did not succeed; counter %" PRIu64, v,
                 counter(r->c, r->sem));
        return false;
    }
    uint64_t now = counter(r->c, r->sem);
    if (now < v) {
        run_fail(r, "counter %" PRIu64 " after vkWaitSemaphores(%" PRIu64 ") succeeded", now, v);
        return false;
    }
    if (v >= 1 && r->buf.words[v - 1] != v) {
        run_fail(r, "after value %" PRIu64 " the host sees entry 0x%" PRIx64, v,
                 r->buf.words[v - 1]);
        return false;
    }
    return true;
}

static void do_step(struct run *r, uint32_t k, VkQueue q)
{
    if (is_host_step(k)) {
        if (!host_wait(r, k - 1))
            return;
        /* On the host, what a GPU step does: check slot, then entry. */
        r->buf.words[r->steps + k - 1] = r->buf.words[k - 2];
        r->buf.words[k - 1] = k;
        host_signal(r->c, r->sem, k);
        mark_submitted(r, k);
        return;
    }
    if (gpu_wait_only(k)) {
        if (r->shared_queue && !wait_submitted(r, k - 1))
            return;
    } else if (k > 1 && !host_wait(r, k - 1)) {
        return;
    }
    if (r->shared_queue)
        pthread_mutex_lock(&r->lock);
    submit(q, r->cmds[k], k > 1 ? r->sem : VK_NULL_HANDLE, k - 1, r->sem, k);
    if (r->shared_queue)
        pthread_mutex_unlock(&r->lock);
    mark_submitted(r, k);
}

struct thread_arg {
    struct run *r;
    uint32_t first; /* 1: odd steps (A), 2: even steps (B) */
    VkQueue queue;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    for (uint32_t k = a->first; k <= a->r->steps && !atomic_load(&a->r->failed); k += 2)
        do_step(a->r, k, a->queue);
    return NULL;
}

static bool case_two_threads(struct ctx *c, const struct options *o)
{
    bool ok = true;
    struct run r = { .c = c, .steps = o->steps, .shared_queue = c->n_queues == 1 };
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    atomic_init(&r.failed, false);
    r.sem = timeline_create(c, 0);
    buffer_create(c, (VkDeviceSize)o->steps * 2 * 4, &r.buf);
    r.cmds = calloc(o->steps + 1, sizeof(*r.cmds));
    r.submitted = calloc(o->steps + 1, sizeof(*r.submitted));
    if (!r.cmds || !r.submitted)
        pvt_die("out of memory");
    /* Record every GPU step up front, so the threads never touch the pool. */
    for (uint32_t k = 1; k <= o->steps; k++) {
        if (is_host_step(k))
            continue;
        VkCommandBuffer cmd = pvt_cmd_begin(c->device, c->cmd_pool);
        const VkDeviceSize entry = (VkDeviceSize)(k - 1) * 4;
        const VkDeviceSize slot = ((VkDeviceSize)o->steps + k - 1) * 4;
        if (k == 1) {
            vkCmdFillBuffer(cmd, r.buf.buf, slot, 4, 0);
        } else {
            VkBufferCopy region = { .srcOffset = entry - 4, .dstOffset = slot, .size = 4 };
            vkCmdCopyBuffer(cmd, r.buf.buf, r.buf.buf, 1, &region);
        }
        if (k % 2) {
            vkCmdFillBuffer(cmd, r.buf.buf, entry, 4, k);
        } else {
            uint32_t value = k;
            vkCmdUpdateBuffer(cmd, r.buf.buf, entry, 4, &value);
        }
        cmd_end(cmd);
        r.cmds[k] = cmd;
    }

    double t0 = pvt_now_ms();
    struct thread_arg args[2] = {
        { &r, 1, c->queues[0] },
        { &r, 2, c->queues[c->n_queues - 1] },
    };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&threads[i], NULL, thread_main, &args[i]))
            pvt_die("pthread_create failed");
    }
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    if (atomic_load(&r.failed)) {
        printf("case=two_threads FAIL steps=%u queues=%u\n", o->steps, c->n_queues);
        fflush(stdout);
        _exit(1); /* work may still be pending: no teardown */
    }
    VkResult res = wait_value(c, r.sem, o->steps, WAIT_NS);
    double ms = pvt_now_ms() - t0;
    if (res != VK_SUCCESS) {
        fprintf(stderr, "pv-timeline-test: two_threads: final vkWaitSemaphores(%u) = %s, "
                        "counter %" PRIu64 "\n", o->steps, pvt_result_name(res), counter(c, r.sem));
        printf("case=two_threads FAIL steps=%u queues=%u\n", o->steps, c->n_queues);
        fflush(stdout);
        _exit(1);
    }
    uint64_t v = counter(c, r.sem);
    if (v != o->steps)
        FAIL("two_threads: final counter %" PRIu64 ", expected %u\n", v, o->steps);
    unsigned bad = 0;
    for (uint32_t i = 0; i < o->steps; i++) {
        const uint32_t entry = r.buf.words[i], slot = r.buf.words[o->steps + i];
        if (entry != i + 1 || slot != i) {
            if (bad++ < 5)
                FAIL("two_threads: step %u: entry %u (expected %u), saw the previous entry as "
                     "%u (expected %u)\n", i + 1, entry, i + 1, slot, i);
        }
    }
    if (bad > 5)
        FAIL("two_threads: %u of %u steps wrong\n", bad, o->steps);
    printf("case=two_threads %s steps=%u queues=%u ms=%.3f\n", ok ? "ok" : "FAIL", o->steps,
           c->n_queues, ms);
    fflush(stdout);

    VK_CHECK(vkDeviceWaitIdle(c->device));
    for (uint32_t k = 1; k <= o->steps; k++) {
        if (r.cmds[k])
            vkFreeCommandBuffers(c->device, c->cmd_pool, 1, &r.cmds[k]);
    }
    free(r.cmds);
    free(r.submitted);
    pvt_buffer_destroy(c->device, &r.buf);
    vkDestroySemaphore(c->device, r.sem, NULL);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
    return ok;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    struct ctx c = { 0 };
    rc = init(&c, &o);
    if (rc == 0) {
        bool ok = case_host_ops(&c);
        ok &= case_host_unblocks_gpu(&c);
        ok &= case_two_threads(&c, &o);
        rc = ok ? 0 : 1;
    }
    if (c.device) {
        vkDestroyCommandPool(c.device, c.cmd_pool, NULL);
        vkDestroyDevice(c.device, NULL);
    }
    if (c.instance)
        vkDestroyInstance(c.instance, NULL);
    return rc;
}
