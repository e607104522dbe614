/* vm/host: what this host offers a VM: a KVM that runs stock kernels, QEMU, memory. */
#include "vm.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int
pv_which(const char *prog, char *out, size_t size)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK))
            return -ENOENT;
        snprintf(out, size, "%s", prog);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n) {
            char cand[PATH_MAX];
            if (snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, path, prog) < (int)sizeof(cand) &&
                !access(cand, X_OK)) {
                snprintf(out, size, "%s", cand);
                return 0;
            }
        }
        path += n + (path[n] == ':');
    }
    return -ENOENT;
}

/* Does a "flags" line of cpuinfo list this flag as a whole word? */
static bool
cpuinfo_has_flag(const char *cpuinfo, const char *flag)
{
    const char *line = cpuinfo;
    size_t fl = strlen(flag);
    while (line && *line) {
        if (!strncmp(line, "flags", 5)) {
            const char *colon = strchr(line, ':');
            const char *end = strchr(line, '\n');
            if (!end)
                end = line + strlen(line);
            for (const char *p = colon; p && p < end; p++) {
                if ((p[-1] == ' ' || p[-1] == ':') && !strncmp(p, flag, fl) &&
                    (p + fl == end || p[fl] == ' ' || p[fl] == '\n'))
                    return true;
            }
            return false; /* the first CPU speaks for all */
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

bool
pv_host_kvm_verdict(const char *cpuinfo, bool dev_kvm_rw, bool mod_kvm_pvm, bool mod_kvm_hw,
                    char *why, size_t why_size)
{
    /* /dev/kvm alone proves nothing: kvm_pvm (nested, page-table based
     * virtualization) provides it without vmx/svm, and a stock kernel dies
     * under it (docs/qemu-and-hosts.md §1). */
    if (!dev_kvm_rw) {
        snprintf(why, why_size, "/dev/kvm is missing or not accessible read-write");
        return false;
    }
    if (mod_kvm_pvm) {
        snprintf(why, why_size,
                 "/dev/kvm is kvm_pvm (nested software virtualization without vmx/svm), "
                 "which cannot run a stock kernel");
        return false;
    }
    if (!cpuinfo || (!cpuinfo_has_flag(cpuinfo, "vmx") && !cpuinfo_has_flag(cpuinfo, "svm"))) {
        snprintf(why, why_size, "the CPU has no vmx/svm (hardware virtualization)");
        return false;
    }
    if (!mod_kvm_hw) {
        snprintf(why, why_size, "neither kvm_intel nor kvm_amd is loaded");
        return false;
    }
    why[0] = '\0';
    return true;
}

static bool
exists(const char *path)
{
    return access(path, F_OK) == 0;
}

void
pv_host_probe(struct pv_host *h)
{
    memset(h, 0, sizeof(*h));
    const char *accel = getenv("PEARVISOR_ACCEL");
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    bool kvm_rw = fd >= 0 && ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
    if (fd >= 0)
        close(fd);
    char *cpuinfo = pv_io_read_file("/proc/cpuinfo", 1 << 16, NULL);
    h->kvm_usable = pv_host_kvm_verdict(
        cpuinfo, kvm_rw, exists("/sys/module/kvm_pvm"),
        exists("/sys/module/kvm_intel") || exists("/sys/module/kvm_amd"), h->kvm_why,
        sizeof(h->kvm_why));
    free(cpuinfo);
    if (accel && !strcmp(accel, "tcg") && h->kvm_usable) {
        h->kvm_usable = false;
        snprintf(h->kvm_why, sizeof(h->kvm_why), "PEARVISOR_ACCEL=tcg");
    } else if (accel && !strcmp(accel, "kvm") && !h->kvm_usable) {
        /* The user insists: let QEMU try, and fail in its own words. */
        h->kvm_usable = true;
    }

    const char *q = getenv("PEARVISOR_QEMU");
    if (pv_which(q && *q ? q : "qemu-system-x86_64", h->qemu, sizeof(h->qemu)))
        h->qemu[0] = '\0';
    q = getenv("PEARVISOR_QEMU_ARM64");
    if (pv_which(q && *q ? q : "qemu-system-aarch64", h->qemu_arm64, sizeof(h->qemu_arm64)))
        h->qemu_arm64[0] = '\0';
    q = getenv("PEARVISOR_QEMU_IMG");
    if (pv_which(q && *q ? q : "qemu-img", h->qemu_img, sizeof(h->qemu_img)))
        h->qemu_img[0] = '\0';

    char *mi = pv_io_read_file("/proc/meminfo", 8192, NULL);
    unsigned long long kb;
    const char *p = mi ? strstr(mi, "MemTotal:") : NULL;
    if (p && sscanf(p, "MemTotal: %llu kB", &kb) == 1)
        h->mem_total = (uint64_t)kb * 1024;
    free(mi);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    h->cpus = n > 0 ? (unsigned)n : 1;

    const char *display = getenv("DISPLAY");
    h->has_gl_display = display && *display;
    glob_t g;
    h->has_render_node = glob("/dev/dri/renderD*", 0, NULL, &g) == 0;
    globfree(&g);
    if (pv_which("Xvfb", h->xvfb, sizeof(h->xvfb)))
        h->xvfb[0] = '\0';

    ssize_t n_exe = readlink("/proc/self/exe", h->self_exe, sizeof(h->self_exe) - 1);
    h->self_exe[n_exe > 0 ? n_exe : 0] = '\0';
    pv_host_find_door(h->self_exe, h->door_dir, sizeof(h->door_dir));
    /* virglrenderer runs Venus in virgl_render_server, which it looks for at
     * $RENDER_SERVER_EXEC_PATH, else at its build-time path (Debian:
     * /usr/libexec, package virgl-server). */
    const char *rs = getenv("RENDER_SERVER_EXEC_PATH");
    if (!(rs && *rs && !access(rs, X_OK) &&
          snprintf(h->render_server, sizeof(h->render_server), "%s", rs) > 0) &&
        !(access("/usr/libexec/virgl_render_server", X_OK) == 0 &&
          snprintf(h->render_server, sizeof(h->render_server), "/usr/libexec/virgl_render_server") > 0) &&
        pv_which("virgl_render_server", h->render_server, sizeof(h->render_server)))
        h->render_server[0] = '\0';
}

static bool
door_in(const char *dir)
{
    char lib[PATH_MAX];
    return snprintf(lib, sizeof(lib), "%s/libvirglrenderer.so.1", dir) < (int)sizeof(lib) &&
           !access(lib, R_OK);
}

void
pv_host_find_door(const char *exe, char *out, size_t size)
{
    out[0] = '\0';
    const char *env = getenv("PEARVISOR_VIRGL_DIR");
    if (env && *env) {
        if (door_in(env))
            snprintf(out, size, "%s", env);
        return; /* an explicit choice: no guessing past it */
    }
    char bindir[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
    snprintf(bindir, sizeof(bindir), "%s", exe);
    char *slash = strrchr(bindir, '/');
    if (!slash)
        return;
    *slash = '\0';
    /* Build tree: BUILD/src/cli/pearvisor next to BUILD/src/gpu/virgl-abi/.
     * Installed: PREFIX/bin/pearvisor and PREFIX/LIBDIR/pearvisor/, where
     * LIBDIR is the configured one (relative to the prefix) or a usual one. */
    const char *rel[] = {
        "../gpu/virgl-abi",
        "../" PV_LIBDIR_REL "/pearvisor",
        "../lib/x86_64-linux-gnu/pearvisor",
        "../lib64/pearvisor",
        "../lib/pearvisor",
    };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (snprintf(cand, sizeof(cand), "%s/%s", bindir, rel[i]) < (int)sizeof(cand) &&
            door_in(cand) && realpath(cand, real)) {
            snprintf(out, size, "%s", real);
            return;
        }
    }
    if (door_in(PV_LIBDIR_ABS "/pearvisor"))
        snprintf(out, size, "%s", PV_LIBDIR_ABS "/pearvisor");
    else
        out[0] = '\0';
}

enum pv_gpu_display
pv_gpu_display(const struct pv_host *h, const char **why)
{
    const char *w;
    enum pv_gpu_display d;
    if (h->has_gl_display) {
        d = PV_DISPLAY_WINDOW;
        w = "a window on $DISPLAY (SDL with OpenGL)";
    } else if (h->has_render_node) {
        d = PV_DISPLAY_EGL_HEADLESS;
        w = "egl-headless on the host's DRM render node (no $DISPLAY)";
    } else if (h->xvfb[0]) {
        d = PV_DISPLAY_XVFB;
        w = "a private Xvfb with SDL and OpenGL (no $DISPLAY, no DRM render node)";
    } else {
        d = PV_DISPLAY_NONE;
        w = "no OpenGL display for QEMU: no $DISPLAY, no DRM render node and no Xvfb "
            "(package xvfb)";
    }
    if (why)
        *why = w;
    return d;
}
