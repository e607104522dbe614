/*
 * test_door: the QEMU door (our libvirglrenderer.so.1) driven through its C
 * API the way QEMU drives it, without QEMU, on the host's real Vulkan
 * driver: its render process (src/gpu/door-process) starts, serves a Venus
 * context, a shared-memory blob the door maps, and a fence; then the
 * process is killed (SIGKILL, as a host driver crash ends it): the fence
 * asked for before retires anyway, the lost context's submits fail, a new
 * context starts a new process that serves it, and cleanup leaves no
 * process behind. Last, with a "render process" that is not one
 * (PEARVISOR_RENDER_EXE=/bin/false), init still succeeds: the door falls
 * back to running the renderer in this process. With DOOR_FLOOD (a fake
 * render process that sends fence retirements without end), the door
 * queues no more than its bound for QEMU and kills that process.
 *
 *   test_door PEARVISOR [DOOR_FLOOD]
 * Exit 77 without a Vulkan device (the renderer cannot start).
 */
#define VIRGL_RENDERER_UNSTABLE_APIS
#include <virglrenderer.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define CAPSET_VENUS 4

/* What the door told "QEMU" (the callbacks), this test's only state. */
static struct {
    uint32_t ctx_id, ring_idx;
    uint64_t fence_id;
    unsigned fences;
} qemu_singleton;

static void
write_fence(void *cookie, uint32_t fence)
{
    (void)cookie;
    (void)fence;
}

static void
write_context_fence(void *cookie, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    (void)cookie;
    qemu_singleton.ctx_id = ctx_id;
    qemu_singleton.ring_idx = ring_idx;
    qemu_singleton.fence_id = fence_id;
    qemu_singleton.fences++;
}

static struct virgl_renderer_callbacks callbacks = {
    .version = 3,
    .write_fence = write_fence,
    .write_context_fence = write_context_fence,
};

/* The door's children that run `gpu door-process`: their pids, up to max. */
static int
render_processes(pid_t *pids, int max)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        int ppid = 0;
        char state = 0;
        if (fscanf(f, "%*d %*s %c %d", &state, &ppid) != 2)
            ppid = 0;
        fclose(f);
        if (ppid != getpid() || state == 'Z')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        f = fopen(path, "re");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (size_t i = 0; i + 1 < len; i++)
            if (!buf[i])
                buf[i] = ' ';
        if (strstr(buf, "gpu door-process") && n < max)
            pids[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

/* Polls the door (as QEMU's main loop does) until `fences` fences came or 5 s passed. */
static void
poll_for(unsigned fences)
{
    for (int i = 0; i < 5000 && qemu_singleton.fences < fences; i++) {
        virgl_renderer_poll();
        usleep(1000);
    }
}

static int
venus_context(uint32_t id)
{
    return virgl_renderer_context_create_with_flags(id, CAPSET_VENUS, 4, "test");
}

/* A 4 KiB shared-memory blob (blob id 0, as Mesa's ring): created, mapped, written. */
static bool
blob_roundtrip(uint32_t ctx, uint32_t res)
{
    const struct virgl_renderer_resource_create_blob_args args = {
        .res_handle = res,
        .ctx_id = ctx,
        .blob_mem = VIRGL_RENDERER_BLOB_MEM_HOST3D,
        .blob_flags = VIRGL_RENDERER_BLOB_FLAG_USE_MAPPABLE,
        .blob_id = 0,
        .size = 4096,
    };
    int err = virgl_renderer_resource_create_blob(&args);
    CHECK_MSG(err == 0, "create_blob: %d", err);
    if (err)
        return false;
    void *map = NULL;
    uint64_t size = 0;
    err = virgl_renderer_resource_map(res, &map, &size);
    CHECK_MSG(err == 0 && map && size == 4096, "resource_map: %d, size %llu", err,
              (unsigned long long)size);
    if (err || !map)
        return false;
    memset(map, 0xa5, 4096);
    CHECK(((volatile uint8_t *)map)[4095] == 0xa5);
    virgl_renderer_ctx_attach_resource((int)ctx, (int)res);
    return true;
}

int
main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_door PEARVISOR [DOOR_FLOOD]\n");
        return 2;
    }
    setenv("PEARVISOR_RENDER_EXE", argv[1], 1);
    unsetenv("PEARVISOR_DOOR_IN_PROCESS");
    signal(SIGPIPE, SIG_IGN);

    uint32_t max_ver = 0, max_size = 0;
    virgl_renderer_get_cap_set(CAPSET_VENUS, &max_ver, &max_size);
    if (!max_size) {
        fprintf(stderr, "test_door: no Venus capset (no Vulkan device?): skipped\n");
        return 77;
    }
    CHECK(virgl_renderer_init(&qemu_singleton, VIRGL_RENDERER_VENUS, &callbacks) == 0);
    pid_t pids[4];
    int n = render_processes(pids, 4);
    CHECK_MSG(n == 1, "%d render processes after init, want 1", n);
    pid_t first = n ? pids[0] : 0;

    /* Served by the render process: a context, a blob mapped here, a fence. */
    CHECK(venus_context(1) == 0);
    CHECK(blob_roundtrip(1, 10));
    CHECK(virgl_renderer_context_create_fence(1, 0, 0, 7) == 0);
    poll_for(1);
    CHECK_MSG(qemu_singleton.fences == 1 && qemu_singleton.ctx_id == 1 &&
                  qemu_singleton.fence_id == 7,
              "fences %u, last ctx %u fence %llu", qemu_singleton.fences, qemu_singleton.ctx_id,
              (unsigned long long)qemu_singleton.fence_id);

    /* The process dies (as a host driver crash ends it) with a fence asked for
     * that it never saw (it was stopped): the door retires it, the context's
     * submits fail, QEMU (this program) goes on. */
    unsigned before = qemu_singleton.fences;
    if (first)
        kill(first, SIGSTOP);
    CHECK(virgl_renderer_context_create_fence(1, 0, 0, 8) == 0);
    usleep(100000);
    virgl_renderer_poll();
    CHECK_MSG(qemu_singleton.fences == before, "a stopped process retired a fence");
    if (first)
        kill(first, SIGKILL);
    poll_for(before + 1);
    CHECK_MSG(qemu_singleton.fences == before + 1 && qemu_singleton.fence_id == 8,
              "after the kill: fences %u (had %u), last %llu", qemu_singleton.fences, before,
              (unsigned long long)qemu_singleton.fence_id);
    uint32_t word = 0;
    CHECK(virgl_renderer_submit_cmd(&word, 1, 1) != 0);
    /* The blob the door mapped stays usable (QEMU may still show it). */
    void *map = NULL;
    uint64_t size = 0;
    CHECK(virgl_renderer_resource_map(10, &map, &size) == 0 && map &&
          ((volatile uint8_t *)map)[0] == 0xa5);

    /* A new context: a new process, which serves it. */
    CHECK(venus_context(2) == 0);
    n = render_processes(pids, 4);
    CHECK_MSG(n == 1 && pids[0] != first, "%d render processes after the new context", n);
    CHECK(blob_roundtrip(2, 11));
    before = qemu_singleton.fences;
    CHECK(virgl_renderer_context_create_fence(2, 0, 0, 9) == 0);
    poll_for(before + 1);
    CHECK_MSG(qemu_singleton.fences == before + 1 && qemu_singleton.ctx_id == 2 &&
                  qemu_singleton.fence_id == 9,
              "new context: fences %u (had %u)", qemu_singleton.fences, before);

    virgl_renderer_resource_unmap(10);
    virgl_renderer_resource_unmap(11);
    virgl_renderer_resource_unref(10);
    virgl_renderer_resource_unref(11);
    virgl_renderer_context_destroy(1);
    virgl_renderer_context_destroy(2);
    virgl_renderer_cleanup(&qemu_singleton);
    n = render_processes(pids, 4);
    CHECK_MSG(n == 0, "%d render processes after cleanup", n);

    /* A render process that is no longer ours floods the door with fence
     * retirements while QEMU does not poll: the door queues a bounded number,
     * stops trusting it, and at the next poll kills it. */
    if (argc > 2) {
        setenv("PEARVISOR_RENDER_EXE", argv[2], 1);
        memset(&qemu_singleton, 0, sizeof(qemu_singleton));
        CHECK(virgl_renderer_init(&qemu_singleton, VIRGL_RENDERER_VENUS, &callbacks) == 0);
        CHECK(render_processes(pids, 4) == 1);
        sleep(3); /* no poll: the flood piles up */
        for (int i = 0; i < 5000 && render_processes(pids, 4) > 0; i++) {
            virgl_renderer_poll();
            usleep(1000);
        }
        CHECK_MSG(render_processes(pids, 4) == 0, "the flooding process is still there");
        virgl_renderer_poll();
        CHECK_MSG(qemu_singleton.fences == 65536, "QEMU got %u retirements, want the bound, 65536",
                  qemu_singleton.fences);
        virgl_renderer_cleanup(&qemu_singleton);
    }

    /* A program that is no render process: the door falls back to this process. */
    setenv("PEARVISOR_RENDER_EXE", "/bin/false", 1);
    CHECK(virgl_renderer_init(&qemu_singleton, VIRGL_RENDERER_VENUS, &callbacks) == 0);
    CHECK(render_processes(pids, 4) == 0);
    CHECK(venus_context(3) == 0);
    before = qemu_singleton.fences;
    CHECK(virgl_renderer_context_create_fence(3, 0, 0, 11) == 0);
    poll_for(before + 1);
    CHECK(qemu_singleton.fences == before + 1 && qemu_singleton.fence_id == 11);
    virgl_renderer_context_destroy(3);
    virgl_renderer_cleanup(&qemu_singleton);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return check_report("test_door");
}
