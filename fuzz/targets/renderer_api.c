/*
 * fuzz/renderer_api: libpvgpu through its public API (pvgpu.h), on the real
 * host Vulkan driver, the way a front door drives it.
 *
 * One renderer per process, made at the first input. Each input is a small
 * program run on a fresh context and ended by destroying it: submits of
 * command streams, blobs created, mapped, written and dropped, memory of the
 * harness's own imported as resources, rings in that memory or in blobs,
 * bytes written into rings with notifies, waits for rings and fences, new
 * contexts, capsets and statistics. A fatal context is an ordinary outcome.
 * What counts as a finding: any sanitizer report, a crash, and the API's
 * own promises broken: a fence retiring twice, out of order on its ring or
 * after its context was destroyed, the fatal callback twice, a context, a
 * thread or a file descriptor still there after pv_ctx_destroy.
 *
 * Nothing waits without a bound: every harness wait ends after
 * WAIT_BOUND_MS, and once the input has run for INPUT_BUDGET_MS the alive
 * callback says the client has gone, which ends every wait the renderer
 * makes on its behalf; the remaining operations are skipped.
 *
 * The program, little endian; an operation is one byte (modulo OP_COUNT)
 * and its fields; a field past the end of the input reads as zeros:
 *   SUBMIT      u32 len, len bytes             pv_ctx_submit (a copy of exactly len bytes);
 *                                              leading vkCreateRingMESA commands teach the
 *                                              harness the ring's layout, as a client knows it
 *   BLOB        u32 res, u64 blob_id, u64 size, u32 flags
 *                                              pv_ctx_create_blob; a MAPPABLE one is mapped
 *   IMPORT      u32 res, u32 size, u8 misalign pv_ctx_import_resource of harness memory
 *   UNREF       u32 res                        pv_ctx_destroy_resource; the harness unmaps
 *   WRITE       u32 res, u64 off, u32 len, bytes   into the harness's mapping of res
 *   RING_NEW    u32 res, u64 ring, u8 log2 size, u8 opts
 *                                              a ring as Mesa lays it out, in imported
 *                                              memory (opts bit 1: in a new blob), with a
 *                                              monitor (opts bit 0); vkCreateRingMESA submitted
 *   RING_WRITE  u64 ring, u32 len, bytes       copied in at tail, tail published, a notify
 *                                              sent when the ring shows IDLE
 *   RING_WAIT   u64 ring                       until head reaches tail, or FATAL
 *   RING_POKE   u64 ring, u8 word, u32 value   head, tail, status or extra written raw
 *   FENCE       u8 ring_idx                    pv_ctx_create_fence (ids count up)
 *   FENCE_WAIT                                 until every fence made has retired
 *   NEW_CTX                                    destroy the context, make another
 *   QUERY       u32 id, u32 version, u16 size  capset and statistics into buffers of that size
 *   TRANSPORT_FATAL                            pv_ctx_transport_fatal
 * A ring named by an id the harness does not know is its (id mod count)th
 * known ring. fuzz/tools/trace2api.py writes such programs from traces of
 * real clients (PEARVISOR_CAPTURE_DIR); see fuzz/tools/capture-seeds.sh.
 *
 * Environment, set when unset: PEARVISOR_LOG=err (fatal contexts are the
 * common case), MESA_SHADER_CACHE_DISABLE=true (no disk writes, the same
 * work each run), LP_NUM_THREADS=1 (one rasterizer thread per device, not
 * one per core: a device is made and destroyed per input, in many workers
 * at once), VK_DRIVER_FILES=lavapipe's manifest when that file exists and
 * no driver was chosen. PV_FUZZ_REPORT=1 prints one line per input:
 * operations run, contexts, fatal ones, and how many commands it got the
 * renderer to decode, in all and of the kinds that show how deep it went.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cs.h"
#include "pvg.gen.h"
#include <pvgpu/pvgpu.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * Leaks inside the host driver are not this target's findings, read by
 * LeakSanitizer (a function it calls when the harness is built with it).
 * lavapipe's own error paths leak (Mesa 25.0, lvp_pipeline.c: a pipeline
 * whose shader fails to compile keeps the reference it took on its
 * pipeline layout, so the layout and its set layouts outlive
 * vkDestroyPipelineLayout), and the fast unwinder stops at lavapipe's first
 * frame, so no narrower rule can tell its leaks from the host objects a
 * renderer forgot to destroy (the ASan runs of the vtest suite, leak
 * checked at the server's exit, see those). The renderer's own memory is
 * checked in full.
 */
const char *
__lsan_default_suppressions(void)
{
    return "leak:libvulkan_lvp.so\n";
}

enum op {
    OP_SUBMIT,
    OP_BLOB,
    OP_IMPORT,
    OP_UNREF,
    OP_WRITE,
    OP_RING_NEW,
    OP_RING_WRITE,
    OP_RING_WAIT,
    OP_RING_POKE,
    OP_FENCE,
    OP_FENCE_WAIT,
    OP_NEW_CTX,
    OP_QUERY,
    OP_TRANSPORT_FATAL,
    OP_COUNT
};

#define MAX_OPS 4096
#define MAX_CTX_PER_INPUT 4
#define MAX_RES 64
#define MAX_RINGS 16
#define MAX_GRAVE 256
#define MAX_MARK_TIDS 64
#define WAIT_BOUND_MS 1000
#define INPUT_BUDGET_MS 5000
#define IMPORT_MAX (16u << 20)
/* The renderer's own cap on shared-memory blobs; a mapping is lazy either way. */
#define MAP_MAX (1ull << 30)
#define LAVAPIPE_ICD "/usr/share/vulkan/icd.d/lvp_icd.json"

#define RING_IDLE 1u
#define RING_FATAL 2u

/* Harness memory the renderer sees: a blob's fd mapped, or imported memory. */
struct res {
    bool used;
    bool imported;
    uint32_t id;
    uint8_t *map;      /* what the harness writes through; NULL: not mapped */
    uint64_t size;     /* of map */
    void *alloc;       /* imported: the mmap to release after the context */
    size_t alloc_size;
};

struct ring {
    bool used;
    uint64_t id;
    uint32_t res;      /* resource id it lives in */
    atomic_uint *head, *tail, *status;
    uint8_t *buf, *extra;
    uint32_t buf_size;
    uint64_t extra_size;
};

/* One context's callbacks' view; checked against the API's promises. */
struct ctx_state {
    atomic_bool destroyed;
    atomic_uint fatal_calls;
    atomic_uint retired;
    atomic_uint_fast64_t last_retired[PV_MAX_TIMELINES];
    atomic_uint_fast64_t created_max; /* highest fence id handed out */
    uint64_t deadline_ns;
};

/* The process's one renderer and the state of the input being run (a named singleton). */
static struct harness {
    struct pv_renderer *r;
    unsigned threads_base, fds_base;
    unsigned long mark_tids[MAX_MARK_TIDS]; /* the tasks there at the mark */
    unsigned nmark_tids;
    bool counted;
    bool report;
    /* per input */
    struct pv_ctx *ctx;
    struct ctx_state *cs;
    uint32_t fences_made;
    uint64_t next_fence;
    struct res res[MAX_RES];
    struct ring rings[MAX_RINGS];
    void *grave[MAX_GRAVE];        /* imported memory, released after the context */
    size_t grave_size[MAX_GRAVE];
    unsigned ngrave;
    unsigned contexts, fatal_contexts, ops;
    uint64_t deadline_ns;
} harness_singleton;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
sleep_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
}

/* ---- the input ---- */

struct in {
    const uint8_t *p;
    size_t left;
};

static void
take(struct in *in, void *dst, size_t n)
{
    size_t k = n < in->left ? n : in->left;
    memcpy(dst, in->p, k);
    memset((uint8_t *)dst + k, 0, n - k);
    in->p += k;
    in->left -= k;
}

static uint8_t
take8(struct in *in)
{
    uint8_t v;
    take(in, &v, 1);
    return v;
}

static uint16_t
take16(struct in *in)
{
    uint16_t v;
    take(in, &v, 2);
    return v;
}

static uint32_t
take32(struct in *in)
{
    uint32_t v;
    take(in, &v, 4);
    return v;
}

static uint64_t
take64(struct in *in)
{
    uint64_t v;
    take(in, &v, 8);
    return v;
}

/* Up to len bytes of the input, in place; *got says how many. */
static const uint8_t *
take_bytes(struct in *in, uint32_t len, uint32_t *got)
{
    const uint8_t *p = in->p;
    *got = len < in->left ? len : (uint32_t)in->left;
    in->p += *got;
    in->left -= *got;
    return p;
}

/* ---- counting what a context leaves behind ---- */

static unsigned
count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    unsigned n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A task's name (its comm, what pthread_setname_np set), "?" if it is gone. */
static void
task_name(const char *tid, char *name, size_t size)
{
    char path[300];
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(name, (int)size, f))
        snprintf(name, size, "?");
    if (f)
        fclose(f);
    name[strcspn(name, "\n")] = '\0';
}

static bool
tid_marked(const struct harness *h, unsigned long tid)
{
    for (unsigned i = 0; i < h->nmark_tids; i++)
        if (h->mark_tids[i] == tid)
            return true;
    return false;
}

/* The tasks there now, as the mark: the next inputs' threads are compared with them. */
static void
mark_tids(struct harness *h)
{
    DIR *d = opendir("/proc/self/task");
    h->nmark_tids = 0;
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) && h->nmark_tids < MAX_MARK_TIDS;)
        if (e->d_name[0] != '.')
            h->mark_tids[h->nmark_tids++] = strtoul(e->d_name, NULL, 10);
    closedir(d);
}

/* Which threads are new since the mark, by name, for the report of one left behind. */
static void
list_threads(const struct harness *h)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || tid_marked(h, strtoul(e->d_name, NULL, 10)))
            continue;
        char name[64];
        task_name(e->d_name, name, sizeof(name));
        fprintf(stderr, "  thread %s: %s (not there at the mark)\n", e->d_name, name);
    }
    closedir(d);
}

/*
 * Open descriptors but pipes: the sanitizers talk to their symbolizer
 * (a child process they start when first needed) through two pipes. The
 * renderer makes none; what it could leave are memfds and sockets.
 */
static unsigned
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], target[16];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof(target) - 1);
        target[k > 0 ? k : 0] = '\0';
        if (strncmp(target, "pipe:", 5))
            n++;
    }
    closedir(d);
    return n;
}

/* What each descriptor is, for the report of one left behind. */
static void
list_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], target[256];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "  fd %s: %s\n", e->d_name, target);
    }
    closedir(d);
}

static unsigned
contexts_active(void)
{
    char buf[128];
    pv_renderer_stats_json(harness_singleton.r, buf, sizeof(buf));
    const char *p = strstr(buf, "\"contexts_active\":");
    return p ? (unsigned)strtoul(p + 18, NULL, 10) : ~0u;
}

/* The statistics' count for `key` (a top-level counter or a command's name), 0 if absent. */
static uint64_t
stat_count(const char *key)
{
    size_t need = pv_renderer_stats_json(harness_singleton.r, NULL, 0);
    char *buf = malloc(need + 1), pat[128];
    uint64_t n = 0;
    if (!buf)
        return 0;
    pv_renderer_stats_json(harness_singleton.r, buf, need + 1);
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(buf, pat);
    if (p)
        n = strtoull(p + strlen(pat), NULL, 10);
    free(buf);
    return n;
}

/* What PV_FUZZ_REPORT prints: how far an input got. */
static const char *const report_keys[] = {
    "commands_total", "vkCreateInstance", "vkCreateDevice", "vkAllocateMemory",
    "vkCreateComputePipelines", "vkCreateGraphicsPipelines", "vkQueueSubmit", "vkQueueSubmit2",
    "fences_retired",
};
#define REPORT_KEYS (sizeof(report_keys) / sizeof(report_keys[0]))

/* ---- callbacks ---- */

static void
cb_fence_retired(void *data, uint32_t ring_idx, uint64_t fence_id)
{
    struct ctx_state *cs = data;
    if (atomic_load(&cs->destroyed)) {
        fprintf(stderr, "renderer_api: fence %llu retired after pv_ctx_destroy\n",
                (unsigned long long)fence_id);
        abort();
    }
    if (ring_idx >= PV_MAX_TIMELINES || !fence_id || fence_id > atomic_load(&cs->created_max)) {
        fprintf(stderr, "renderer_api: fence %llu on ring %u was never made\n",
                (unsigned long long)fence_id, ring_idx);
        abort();
    }
    uint64_t last = atomic_exchange(&cs->last_retired[ring_idx], fence_id);
    if (fence_id <= last) {
        fprintf(stderr, "renderer_api: fence %llu on ring %u retired after fence %llu\n",
                (unsigned long long)fence_id, ring_idx, (unsigned long long)last);
        abort();
    }
    atomic_fetch_add(&cs->retired, 1);
}

static void
cb_fatal(void *data)
{
    struct ctx_state *cs = data;
    if (atomic_fetch_add(&cs->fatal_calls, 1)) {
        fprintf(stderr, "renderer_api: the fatal callback ran twice for one context\n");
        abort();
    }
}

static bool
cb_alive(void *data)
{
    struct ctx_state *cs = data;
    return now_ns() < cs->deadline_ns;
}

/* ---- contexts ---- */

static struct res *
res_find(uint32_t id)
{
    for (int i = 0; i < MAX_RES; i++)
        if (harness_singleton.res[i].used && harness_singleton.res[i].id == id)
            return &harness_singleton.res[i];
    return NULL;
}

static void
rings_forget(uint32_t res_id)
{
    for (int i = 0; i < MAX_RINGS; i++)
        if (harness_singleton.rings[i].used && harness_singleton.rings[i].res == res_id)
            harness_singleton.rings[i].used = false;
}

/* Drops the harness's view of a resource; imported memory waits for the context's end. */
static void
res_release(struct res *s)
{
    struct harness *h = &harness_singleton;
    if (s->imported) {
        /* pv_ctx_destroy_resource is not the end: a ring may still use it until pv_ctx_destroy. */
        if (h->ngrave < MAX_GRAVE) {
            h->grave[h->ngrave] = s->alloc;
            h->grave_size[h->ngrave++] = s->alloc_size;
        } else {
            /* Full: keep the view (and the memory) rather than free what a ring may use. */
            return;
        }
    } else {
        rings_forget(s->id);
        if (s->map)
            munmap(s->map, s->size);
    }
    memset(s, 0, sizeof(*s));
}

static bool
ctx_new(void)
{
    struct harness *h = &harness_singleton;
    struct ctx_state *cs = calloc(1, sizeof(*cs));
    if (!cs)
        abort();
    cs->deadline_ns = h->deadline_ns;
    const struct pv_ctx_callbacks cbs = {
        .data = cs, .fence_retired = cb_fence_retired, .fatal = cb_fatal, .alive = cb_alive};
    h->contexts++;
    if (pv_ctx_create(h->r, h->contexts, "renderer_api", &cbs, &h->ctx)) {
        free(cs);
        h->ctx = NULL;
        return false;
    }
    h->cs = cs;
    h->fences_made = 0;
    h->next_fence = 0;
    return true;
}

static void
ctx_end(void)
{
    struct harness *h = &harness_singleton;
    if (!h->ctx)
        return;
    if (pv_ctx_is_fatal(h->ctx))
        h->fatal_contexts++;
    pv_ctx_destroy(h->ctx);
    h->ctx = NULL;
    atomic_store(&h->cs->destroyed, true);
    if (atomic_load(&h->cs->fatal_calls) > 1)
        abort();
    free(h->cs);
    h->cs = NULL;
    for (int i = 0; i < MAX_RES; i++) {
        struct res *s = &h->res[i];
        if (!s->used)
            continue;
        if (s->imported)
            munmap(s->alloc, s->alloc_size);
        else if (s->map)
            munmap(s->map, s->size);
        memset(s, 0, sizeof(*s));
    }
    for (unsigned i = 0; i < h->ngrave; i++)
        munmap(h->grave[i], h->grave_size[i]);
    h->ngrave = 0;
    memset(h->rings, 0, sizeof(h->rings));
    unsigned active = contexts_active();
    if (active) {
        fprintf(stderr, "renderer_api: %u contexts still active after pv_ctx_destroy\n", active);
        abort();
    }
}

/* ---- operations ---- */

static struct res *
res_slot(uint32_t id)
{
    if (res_find(id))
        return NULL;
    for (int i = 0; i < MAX_RES; i++)
        if (!harness_singleton.res[i].used)
            return &harness_singleton.res[i];
    return NULL;
}

/* [off, off + len) inside res's mapping, 4-byte aligned in memory; NULL otherwise. */
static uint8_t *
res_at(const struct res *s, uint64_t off, uint64_t len)
{
    if (!s || !s->map || off > s->size || len > s->size - off ||
        ((uintptr_t)s->map + off) % 4)
        return NULL;
    return s->map + off;
}

static void
ring_learn(uint64_t id, const VkRingCreateInfoMESA *info)
{
    struct harness *h = &harness_singleton;
    struct res *s = res_find(info->resourceId);
    uint64_t base = info->offset, size = info->size;
    if (!s || !s->map || base > s->size || size > s->size - base || !info->bufferSize ||
        info->bufferSize > (16u << 20) || (info->bufferSize & (info->bufferSize - 1)))
        return;
    /* Only within the ring's part of the mapping: the harness must not write outside it. */
    uint64_t offs[5][2] = {{info->headOffset, 4}, {info->tailOffset, 4}, {info->statusOffset, 4},
                           {info->bufferOffset, info->bufferSize},
                           {info->extraOffset, info->extraSize}};
    uint8_t *p[5];
    for (int i = 0; i < 5; i++) {
        if (offs[i][0] < base || offs[i][0] - base > size || offs[i][1] > size - (offs[i][0] - base))
            return;
        p[i] = res_at(s, offs[i][0], offs[i][1]);
        if (!p[i])
            return;
    }
    struct ring *slot = NULL;
    for (int i = 0; i < MAX_RINGS && !slot; i++)
        if (!h->rings[i].used || h->rings[i].id == id)
            slot = &h->rings[i];
    if (!slot)
        return;
    /* SAFETY: each control word is inside the mapping and 4-byte aligned (res_at). */
    *slot = (struct ring){.used = true, .id = id, .res = s->id,
                          .head = (atomic_uint *)p[0], .tail = (atomic_uint *)p[1],
                          .status = (atomic_uint *)p[2], .buf = p[3], .extra = p[4],
                          .buf_size = (uint32_t)info->bufferSize, .extra_size = info->extraSize};
}

/* Leading vkCreateRingMESA commands of a submit: the harness learns where those rings live. */
static void
learn_rings(const uint8_t *cmds, size_t size)
{
    struct pv_arena arena;
    pv_arena_init(&arena, 1u << 20);
    bool fatal = false;
    struct pv_cs_dec dec;
    pv_cs_dec_init(&dec, cmds, size, &fatal, &arena);
    while (pv_cs_dec_remaining(&dec) >= 8 && !fatal) {
        int32_t cmd;
        uint32_t flags;
        pv_cs_dec_read(&dec, &cmd, 4);
        pv_cs_dec_read(&dec, &flags, 4);
        if (cmd != PVG_CMD_vkCreateRingMESA)
            break;
        struct pvg_args_vkCreateRingMESA a;
        if (!pvg_decode_vkCreateRingMESA_args(&dec, &a) || fatal || !a.pCreateInfo)
            break;
        ring_learn(a.ring, a.pCreateInfo);
        pv_arena_reset(&arena);
    }
    pv_arena_fini(&arena);
}

static void
op_submit(const uint8_t *bytes, uint32_t len)
{
    struct harness *h = &harness_singleton;
    /* Exactly len bytes, so that ASan sees a read past the stream. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, bytes, len);
    learn_rings(copy, len);
    pv_ctx_submit(h->ctx, copy, len);
    free(copy);
}

static void
submit_notify(const struct ring *rg, uint32_t seqno)
{
    uint8_t buf[64];
    bool fatal = false;
    struct pv_cs_enc enc = {buf, buf + sizeof(buf), &fatal};
    struct pvg_args_vkNotifyRingMESA a = {.ring = rg->id, .seqno = seqno};
    if (pvg_encode_vkNotifyRingMESA(&enc, 0, &a) && !fatal)
        pv_ctx_submit(harness_singleton.ctx, buf, (size_t)(enc.cur - buf));
}

static bool
ctx_dead(void)
{
    struct harness *h = &harness_singleton;
    return !h->ctx || pv_ctx_is_fatal(h->ctx) || now_ns() >= h->deadline_ns;
}

static void
op_blob(uint32_t id, uint64_t blob_id, uint64_t size, uint32_t flags)
{
    int fd = -1;
    uint32_t map_info = 0;
    if (pv_ctx_create_blob(harness_singleton.ctx, id, blob_id, size, flags, &fd, &map_info))
        return;
    struct res *s = res_slot(id);
    struct stat st;
    /* Map what the file holds, never past its end (SIGBUS), like a client that checks. */
    if (s && (flags & PV_BLOB_FLAG_MAPPABLE) && fstat(fd, &st) == 0 && st.st_size > 0) {
        uint64_t n = size < (uint64_t)st.st_size ? size : (uint64_t)st.st_size;
        if (n <= MAP_MAX) {
            void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m != MAP_FAILED)
                *s = (struct res){.used = true, .id = id, .map = m, .size = n};
        }
    }
    close(fd);
}

static void
op_import(uint32_t id, uint32_t size, uint8_t misalign)
{
    struct res *s = res_slot(id);
    if (!s)
        return;
    size = size % (IMPORT_MAX + 1);
    misalign %= 8;
    size_t alloc_size = (size_t)size + misalign;
    void *m = mmap(NULL, alloc_size ? alloc_size : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return;
    uint8_t *base = (uint8_t *)m + misalign;
    if (pv_ctx_import_resource(harness_singleton.ctx, id, base, size)) {
        munmap(m, alloc_size ? alloc_size : 1);
        return;
    }
    *s = (struct res){.used = true, .imported = true, .id = id, .map = base, .size = size,
                      .alloc = m, .alloc_size = alloc_size ? alloc_size : 1};
}

static void
op_ring_new(uint32_t id, uint64_t ring_id, uint8_t log2, uint8_t opts)
{
    struct harness *h = &harness_singleton;
    uint32_t buf_size = 1u << (4 + log2 % 17); /* 16 B .. 1 MiB */
    uint64_t total = 192 + (uint64_t)buf_size + 4;
    if (opts & 2)
        op_blob(id, 0, total, PV_BLOB_FLAG_MAPPABLE);
    else
        op_import(id, (uint32_t)total, 0);
    if (ctx_dead())
        return;
    VkRingMonitorInfoMESA mon = {.sType = VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA,
                                 .maxReportingPeriodMicroseconds = 3000000};
    VkRingCreateInfoMESA info = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .pNext = (opts & 1) ? &mon : NULL,
        .resourceId = id, .offset = 0, .size = total, .idleTimeout = 1000000,
        .headOffset = 0, .tailOffset = 64, .statusOffset = 128, .bufferOffset = 192,
        .bufferSize = buf_size, .extraOffset = 192 + buf_size, .extraSize = 4};
    uint8_t buf[256];
    bool fatal = false;
    struct pv_cs_enc enc = {buf, buf + sizeof(buf), &fatal};
    struct pvg_args_vkCreateRingMESA a = {.ring = ring_id, .pCreateInfo = &info};
    if (pvg_encode_vkCreateRingMESA(&enc, 0, &a) && !fatal)
        op_submit(buf, (uint32_t)(enc.cur - buf));
    (void)h;
}

static struct ring *
ring_pick(uint64_t id)
{
    struct harness *h = &harness_singleton;
    unsigned n = 0;
    for (int i = 0; i < MAX_RINGS; i++) {
        if (!h->rings[i].used)
            continue;
        if (h->rings[i].id == id)
            return &h->rings[i];
        n++;
    }
    if (!n)
        return NULL;
    unsigned k = (unsigned)(id % n);
    for (int i = 0; i < MAX_RINGS; i++)
        if (h->rings[i].used && k-- == 0)
            return &h->rings[i];
    return NULL;
}

/* Until the ring's head reaches its tail, or its context cannot go on; bounded. */
static void
ring_wait(const struct ring *rg)
{
    uint64_t end = now_ns() + WAIT_BOUND_MS * 1000000ull;
    while (atomic_load(rg->head) != atomic_load(rg->tail) &&
           !(atomic_load(rg->status) & RING_FATAL) && !ctx_dead() && now_ns() < end)
        sleep_us(100);
}

static void
op_ring_write(struct ring *rg, const uint8_t *bytes, uint32_t len)
{
    if (len > rg->buf_size)
        len = rg->buf_size;
    uint32_t tail = atomic_load(rg->tail);
    /* Room for the bytes, as a client waits for it; bounded. */
    uint64_t end = now_ns() + WAIT_BOUND_MS * 1000000ull;
    while ((uint32_t)(tail - atomic_load(rg->head)) > rg->buf_size - len) {
        if (ctx_dead() || (atomic_load(rg->status) & RING_FATAL) || now_ns() >= end)
            return;
        sleep_us(100);
    }
    uint32_t pos = tail & (rg->buf_size - 1);
    uint32_t first = rg->buf_size - pos < len ? rg->buf_size - pos : len;
    memcpy(rg->buf + pos, bytes, first);
    memcpy(rg->buf, bytes + first, len - first);
    atomic_store(rg->tail, tail + len);
    if (atomic_load(rg->status) & RING_IDLE)
        submit_notify(rg, tail + len);
}

static void
op_ring_poke(struct ring *rg, uint8_t word, uint32_t value)
{
    switch (word % 4) {
    case 0:
        atomic_store(rg->head, value);
        break;
    case 1:
        atomic_store(rg->tail, value);
        break;
    case 2:
        atomic_store(rg->status, value);
        break;
    default:
        if (rg->extra_size >= 4)
            memcpy(rg->extra, &value, 4);
        break;
    }
}

static void
op_fence(uint8_t ring_idx)
{
    struct harness *h = &harness_singleton;
    uint64_t id = ++h->next_fence;
    atomic_store(&h->cs->created_max, id);
    if (pv_ctx_create_fence(h->ctx, ring_idx % (PV_MAX_TIMELINES + 4), id) == 0)
        h->fences_made++;
}

static void
op_fence_wait(void)
{
    struct harness *h = &harness_singleton;
    uint64_t end = now_ns() + WAIT_BOUND_MS * 1000000ull;
    while (atomic_load(&h->cs->retired) < h->fences_made && now_ns() < end &&
           now_ns() < h->deadline_ns)
        sleep_us(100);
}

static void
op_query(uint32_t id, uint32_t version, uint16_t size)
{
    struct harness *h = &harness_singleton;
    /* Buffers of exactly the size given: the renderer must not write past them. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    size_t full = pv_renderer_get_capset(h->r, id % 8, version % 2, size ? buf : NULL, size);
    if (id % 8 == PV_CAPSET_VENUS && version % 2 == 0 && full != PV_VENUS_CAPSET_SIZE)
        abort();
    size_t need = pv_renderer_stats_json(h->r, size ? (char *)buf : NULL, size);
    if (size && (need == 0 || strnlen((char *)buf, size) == size))
        abort(); /* it must say how much it needed and leave a terminated string */
    free(buf);
}

static void
run_program(struct in *in)
{
    struct harness *h = &harness_singleton;
    unsigned new_ctx = 0;
    while (in->left && h->ops < MAX_OPS && now_ns() < h->deadline_ns) {
        enum op op = (enum op)(take8(in) % OP_COUNT);
        h->ops++;
        uint32_t id, len, got;
        uint64_t a64, b64;
        const uint8_t *bytes;
        struct ring *rg;
        /* Fields are read whatever the state, so a program means the same after a fatal. */
        switch (op) {
        case OP_SUBMIT:
            len = take32(in);
            bytes = take_bytes(in, len, &got);
            if (!ctx_dead())
                op_submit(bytes, got);
            break;
        case OP_BLOB:
            id = take32(in);
            a64 = take64(in);
            b64 = take64(in);
            len = take32(in);
            if (!ctx_dead())
                op_blob(id, a64, b64, len);
            break;
        case OP_IMPORT:
            id = take32(in);
            len = take32(in);
            a64 = take8(in);
            if (!ctx_dead())
                op_import(id, len, (uint8_t)a64);
            break;
        case OP_UNREF: {
            id = take32(in);
            if (!h->ctx)
                break;
            pv_ctx_destroy_resource(h->ctx, id);
            struct res *s = res_find(id);
            if (s)
                res_release(s);
            break;
        }
        case OP_WRITE: {
            id = take32(in);
            a64 = take64(in);
            len = take32(in);
            bytes = take_bytes(in, len, &got);
            struct res *s = res_find(id);
            if (s && s->map && a64 < s->size) {
                uint64_t n = s->size - a64 < got ? s->size - a64 : got;
                memcpy(s->map + a64, bytes, n);
            }
            break;
        }
        case OP_RING_NEW: {
            id = take32(in);
            a64 = take64(in);
            uint8_t log2 = take8(in), opts = take8(in);
            if (!ctx_dead())
                op_ring_new(id, a64, log2, opts);
            break;
        }
        case OP_RING_WRITE:
            a64 = take64(in);
            len = take32(in);
            bytes = take_bytes(in, len, &got);
            if (!ctx_dead() && (rg = ring_pick(a64)))
                op_ring_write(rg, bytes, got);
            break;
        case OP_RING_WAIT:
            a64 = take64(in);
            if (!ctx_dead() && (rg = ring_pick(a64)))
                ring_wait(rg);
            break;
        case OP_RING_POKE: {
            a64 = take64(in);
            uint8_t word = take8(in);
            len = take32(in);
            if (!ctx_dead() && (rg = ring_pick(a64)))
                op_ring_poke(rg, word, len);
            break;
        }
        case OP_FENCE:
            a64 = take8(in);
            if (!ctx_dead())
                op_fence((uint8_t)a64);
            break;
        case OP_FENCE_WAIT:
            if (h->ctx)
                op_fence_wait();
            break;
        case OP_NEW_CTX:
            if (new_ctx++ < MAX_CTX_PER_INPUT) {
                ctx_end();
                ctx_new();
            }
            break;
        case OP_QUERY:
            id = take32(in);
            len = take32(in);
            op_query(id, len, take16(in));
            break;
        case OP_TRANSPORT_FATAL:
            if (h->ctx)
                pv_ctx_transport_fatal(h->ctx, "renderer_api: the harness says so");
            break;
        case OP_COUNT:
            break;
        }
    }
}

static void
harness_init(void)
{
    struct harness *h = &harness_singleton;
    setenv("PEARVISOR_LOG", "err", 0);
    setenv("MESA_SHADER_CACHE_DISABLE", "true", 0);
    setenv("LP_NUM_THREADS", "1", 0);
    if (!getenv("VK_DRIVER_FILES") && !getenv("VK_ICD_FILENAMES") && access(LAVAPIPE_ICD, R_OK) == 0)
        setenv("VK_DRIVER_FILES", LAVAPIPE_ICD, 1);
    h->report = getenv("PV_FUZZ_REPORT") && atoi(getenv("PV_FUZZ_REPORT"));
    int err = pv_renderer_create(NULL, &h->r);
    if (err) {
        fprintf(stderr, "renderer_api: pv_renderer_create failed: %s\n", strerror(-err));
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h = &harness_singleton;
    if (!h->r)
        harness_init();
    uint64_t before[REPORT_KEYS];
    for (size_t i = 0; h->report && i < REPORT_KEYS; i++)
        before[i] = stat_count(report_keys[i]);
    h->ops = h->contexts = h->fatal_contexts = 0;
    h->deadline_ns = now_ns() + INPUT_BUDGET_MS * 1000000ull;
    struct in in = {data, size};
    if (ctx_new())
        run_program(&in);
    ctx_end();

    /*
     * Everything the context had must be gone: its threads (rings, fences,
     * monitor) and the host driver's for its devices, and every descriptor.
     * The first input sets the mark, once the host driver has loaded.
     */
    unsigned threads = count_threads(), fds = count_fds();
    /*
     * A thread that was just joined (ours, or the host driver's at
     * vkDestroyDevice) can stay listed in /proc/self/task for a moment:
     * pthread_join returns when the thread has cleared its tid, before the
     * kernel has reaped it, and on a busy machine that moment is long
     * enough to see. So a count above the mark is looked at again for up
     * to a second; what is still there then is left behind.
     */
    for (unsigned ms = 0; h->counted && ms < 1000 &&
                          (threads > h->threads_base || fds > h->fds_base);
         ms++) {
        usleep(1000);
        threads = count_threads();
        fds = count_fds();
    }
    if (!h->counted) {
        h->threads_base = threads;
        h->fds_base = fds;
        mark_tids(h);
        h->counted = true;
    } else if (threads > h->threads_base || fds > h->fds_base) {
        fprintf(stderr, "renderer_api: %u threads and %u fds after the input, %u and %u before\n",
                threads, fds, h->threads_base, h->fds_base);
        list_threads(h);
        list_fds();
        abort();
    }
    if (h->report) {
        printf("ops %u contexts %u fatal %u", h->ops, h->contexts, h->fatal_contexts);
        for (size_t i = 0; i < REPORT_KEYS; i++)
            printf(" %s %llu", report_keys[i],
                   (unsigned long long)(stat_count(report_keys[i]) - before[i]));
        printf("\n");
    }
    return 0;
}
