/* cli/cmd_vm: `pearvisor image|create|start|list|stop|delete|console|run|exec`. */
#include "cmd_vm.h"

#include "cli.h"
#include "clock.h"
#include "vm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_IMAGE "debian-13"
#define DEFAULT_CPUS 2
#define DEFAULT_MEM (2ull << 30)
#define STOP_TIMEOUT_S 30

static const char vm_options_help[] =
    "  --image NAME       guest image (default " DEFAULT_IMAGE "; 'pearvisor image list')\n"
    "  --arch ARCH        the guest's CPU: x86_64 (default) or arm64 (qemu-system-aarch64\n"
    "                     -M virt; TCG on an x86_64 host; the image built with --arch)\n"
    "  --cpus N           virtual CPUs (default 2)\n"
    "  --memory SIZE      guest RAM, e.g. 2G or 512M (default 2G; at most the host's RAM)\n"
    "  --disk SIZE        disk size, at least the image's (default: the image's size)\n"
    "  --gpu MODE         venus, 2d or off (default 2d: plain virtio-gpu). venus: Vulkan\n"
    "                     in the guest through Mesa's Venus driver; falls back to 2d,\n"
    "                     with one line saying why, when the host cannot run it\n"
    "  --renderer R       for --gpu venus: pearvisor (default, PearVisor's renderer)\n"
    "                     or virgl (the system's virglrenderer, for comparisons)\n"
    "  --port HOST:GUEST  forward 127.0.0.1:HOST to the guest's TCP port GUEST (repeatable)\n"
    "  --append ARGS      extra kernel command line arguments\n"
    "  --desktop          a desktop session in the guest: weston on the VM's display, with\n"
    "                     XWayland, keyboard and tablet; Vulkan and OpenGL (zink) apps run\n"
    "                     in it on the GPU. Implies --gpu venus unless --gpu is given\n";

static void
fail(const char *verb, const char *msg)
{
    fprintf(stderr, "pearvisor %s: %s\n", verb, msg);
}

static void __attribute__((format(printf, 2, 3)))
failf(const char *verb, const char *fmt, ...)
{
    char msg[PV_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fail(verb, msg);
}

static int
usage_error(const char *verb, const char *what)
{
    fprintf(stderr, "pearvisor %s: %s\nTry 'pearvisor %s --help'.\n", verb, what, verb);
    return PV_EXIT_USAGE;
}

static int
get_dirs(const char *verb, struct pv_dirs *dirs)
{
    int err = pv_dirs_get(dirs);
    if (err)
        failf(verb, "cannot find the data directories (set HOME or XDG_DATA_HOME): %s",
              strerror(-err));
    return err;
}

int
pv_cli_load_vm(const char *verb, const char *name, struct pv_dirs *dirs, struct pv_vm_def *def)
{
    if (get_dirs(verb, dirs))
        return PV_EXIT_FAIL;
    char msg[PV_MSG_MAX] = "";
    if (pv_vm_load(dirs, name, def, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    return PV_EXIT_OK;
}

/* The one VM a verb names after its options (see pv_cli_load_vm). */
static int
load_named_vm(const char *verb, int argc, char **argv, struct pv_dirs *dirs,
              struct pv_vm_def *def)
{
    if (argc - optind != 1)
        return usage_error(verb, "expected one VM name");
    return pv_cli_load_vm(verb, argv[optind], dirs, def);
}

static int
boot_timeout_ms(const struct pv_vm_def *d, const struct pv_host *h, int opt_s)
{
    if (opt_s > 0)
        return opt_s * 1000;
    const char *e = getenv("PEARVISOR_BOOT_TIMEOUT");
    if (e && atoi(e) > 0)
        return atoi(e) * 1000;
    /* TCG boots an x86 guest in ~5 s alone, an arm64 one (another
     * instruction set) in ~15 s; CI runs VMs side by side. */
    if (pv_qemu_uses_kvm(d, h))
        return 30000;
    return d->arch == pv_arch_native() ? 90000 : 180000;
}

static void
accel_notice(const struct pv_vm_def *d, const struct pv_host *h, bool quiet)
{
    if (quiet || pv_qemu_uses_kvm(d, h))
        return;
    if (d->arch != pv_arch_native())
        fprintf(stderr, "pearvisor: using TCG (software emulation): an %s guest on an %s host\n",
                pv_arch_name(d->arch), pv_arch_name(pv_arch_native()));
    else
        fprintf(stderr, "pearvisor: using TCG (software emulation): KVM cannot run a stock guest "
                        "here: %s\n", h->kvm_why);
}

/* The GPU line pv_vm_start wrote: what --gpu venus got, or why it fell back
 * to 2D. A fallback is always printed (the user asked for venus and did
 * not get it); the choice only without --quiet. */
static void
gpu_notice(const char *line, bool quiet)
{
    if (line[0] && (!quiet || strstr(line, "falling back")))
        fprintf(stderr, "%s\n", line);
}

/* SIGINT/SIGTERM/SIGHUP while a VM boots or runs a command: kill its QEMU
 * (async-signal-safe); the waits in src/vm see the exit and unwind, and the
 * caller removes what it created. */
static void
on_signal(int sig)
{
    (void)sig;
    pid_t pid = pv_vm_active_qemu;
    if (pid > 0)
        kill(pid, SIGKILL);
}

static void
install_signal_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ----------------------------------------------------------- VM options */

enum {
    OPT_IMAGE = 256, OPT_CPUS, OPT_MEMORY, OPT_DISK, OPT_GPU, OPT_PORT, OPT_APPEND,
    OPT_DRY_RUN, OPT_BOOT_TIMEOUT, OPT_TIMEOUT, OPT_NO_WAIT, OPT_FORCE, OPT_QUIET, OPT_RENDERER,
    OPT_ARCH, OPT_DESKTOP,
};

#define VM_LONG_OPTIONS                                                                            \
    {"image", required_argument, NULL, OPT_IMAGE}, {"cpus", required_argument, NULL, OPT_CPUS},   \
        {"memory", required_argument, NULL, OPT_MEMORY},                                           \
        {"disk", required_argument, NULL, OPT_DISK}, {"gpu", required_argument, NULL, OPT_GPU},   \
        {"port", required_argument, NULL, OPT_PORT},                                               \
        {"append", required_argument, NULL, OPT_APPEND},                                           \
        {"renderer", required_argument, NULL, OPT_RENDERER},                                       \
        {"arch", required_argument, NULL, OPT_ARCH}, {"desktop", no_argument, NULL, OPT_DESKTOP}

static void
def_defaults(struct pv_vm_def *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->image, sizeof(d->image), "%s", DEFAULT_IMAGE);
    d->cpus = DEFAULT_CPUS;
    d->mem_bytes = DEFAULT_MEM;
    d->gpu = PV_GPU_2D;
    pv_uuid_generate(d->uuid);
}

/* Which VM options a command line gave. */
struct vm_given {
    bool any, gpu, desktop;
};

/* Applies one VM option; returns 0, 1 when c is not a VM option, or the
 * usage exit status after printing why. */
static int
vm_option(const char *verb, int c, const char *arg, struct pv_vm_def *d, struct vm_given *given)
{
    uint64_t sz;
    char msg[256];
    switch (c) {
    case OPT_IMAGE:
        if (!pv_image_find(arg)) {
            failf(verb, "unknown image '%s' ('pearvisor image list' shows the images)", arg);
            return PV_EXIT_FAIL;
        }
        snprintf(d->image, sizeof(d->image), "%s", arg);
        break;
    case OPT_CPUS: {
        char *end;
        long n = strtol(arg, &end, 10);
        if (*end || n < 1 || n > 255)
            return usage_error(verb, "--cpus takes a number from 1 to 255");
        d->cpus = (unsigned)n;
        break;
    }
    case OPT_MEMORY:
        if (pv_parse_size(arg, &sz) || sz < (128u << 20))
            return usage_error(verb, "--memory takes a size of at least 128M, e.g. 2G or 512M");
        d->mem_bytes = (sz + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
        break;
    case OPT_DISK:
        if (pv_parse_size(arg, &sz) || !sz)
            return usage_error(verb, "--disk takes a size, e.g. 8G");
        d->disk_bytes = (sz + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
        break;
    case OPT_GPU:
        if (pv_parse_gpu(arg, &d->gpu))
            return usage_error(verb, "--gpu takes venus, 2d or off");
        given->gpu = true;
        break;
    case OPT_DESKTOP:
        d->desktop = true;
        given->desktop = true;
        break;
    case OPT_RENDERER:
        if (pv_parse_renderer(arg, &d->renderer))
            return usage_error(verb, "--renderer takes pearvisor or virgl");
        break;
    case OPT_ARCH:
        if (pv_parse_arch(arg, &d->arch))
            return usage_error(verb, "--arch takes x86_64 or arm64");
        break;
    case OPT_PORT:
        if (d->nports == PV_VM_MAX_PORTS)
            return usage_error(verb, "too many --port forwards");
        if (pv_parse_port(arg, &d->ports[d->nports])) {
            snprintf(msg, sizeof(msg), "--port takes HOST:GUEST (TCP ports 1-65535), not '%.64s'", arg);
            return usage_error(verb, msg);
        }
        d->nports++;
        break;
    case OPT_APPEND:
        if (strlen(arg) >= sizeof(d->append))
            return usage_error(verb, "--append is too long");
        snprintf(d->append, sizeof(d->append), "%s", arg);
        break;
    default:
        return 1;
    }
    given->any = true;
    return 0;
}

/* After the options: a desktop wants the GPU unless --gpu said otherwise. */
static int
vm_options_done(const char *verb, struct pv_vm_def *d, const struct vm_given *given)
{
    if (given->desktop && !given->gpu)
        d->gpu = PV_GPU_VENUS;
    if (d->desktop && d->gpu == PV_GPU_OFF)
        return usage_error(verb, "--desktop needs a display: --gpu venus or 2d, not off");
    return 0;
}

/* For --dry-run before the image is built: a placeholder path. */
static void
dry_image_dir(struct pv_vm_def *def, const struct pv_dirs *dirs)
{
    if (snprintf(def->image_dir, sizeof(def->image_dir), "%s/images/%s-NOT-BUILT", dirs->cache,
                 def->image) >= (int)sizeof(def->image_dir))
        snprintf(def->image_dir, sizeof(def->image_dir), "/NOT-BUILT");
}

static int
print_dry_run(const char *verb, const struct pv_dirs *dirs, const struct pv_host *host,
              const struct pv_vm_def *def)
{
    struct pv_vm_paths p;
    struct pv_argv argv;
    char why[512];
    if (pv_vm_paths_get(dirs, def, &p)) {
        fail(verb, "a runtime path is too long for a Unix socket");
        return PV_EXIT_FAIL;
    }
    if (pv_qemu_argv(def, host, &p, &argv, why, sizeof(why))) {
        fail(verb, why);
        return PV_EXIT_FAIL;
    }
    /* The environment QEMU would get (DISPLAY=:N is picked when a private
     * Xvfb starts, so it shows as a placeholder). */
    struct pv_argv env;
    bool xvfb = def->gpu == PV_GPU_VENUS && pv_gpu_display(host, NULL) == PV_DISPLAY_XVFB;
    if (pv_qemu_env(def, host, &p, xvfb ? ":XVFB" : NULL, &env))
        pv_argv_init(&env);
    char *envs = pv_argv_join(&env);
    char *line = pv_argv_join(&argv);
    printf("%s%s%s\n", envs ? envs : "", env.n ? " " : "", line ? line : "");
    free(envs);
    free(line);
    pv_argv_free(&env);
    pv_argv_free(&argv);
    return PV_EXIT_OK;
}

/* ----------------------------------------------------------------- image */

static const char image_help[] =
    "Usage: pearvisor image create NAME [--arch ARCH]   build (or find cached) a guest image\n"
    "       pearvisor image list                        known images, per architecture, and\n"
    "                                                   whether they are built\n"
    "       pearvisor image path NAME [--arch ARCH]     print a built image's directory\n"
    "\n"
    "ARCH: x86_64 (default) or arm64 (a foreign Debian root finished under\n"
    "qemu-user-static, with both stock kernels: 4 KiB and 16 KiB pages).\n"
    "Images are built from Debian packages by guest/build-image.sh (needs root),\n"
    "with the mirror from the host's apt sources, and cached under\n"
    "$PEARVISOR_CACHE (default ~/.cache/pearvisor), keyed by the recipe.\n";

int
pv_cmd_image(int argc, char **argv)
{
    const char *verb = "image";
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(image_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
    }
    const char *sub = argv[1];
    char dir[PATH_MAX];
    if (!strcmp(sub, "list")) {
        printf("%-12s %-7s %-8s %s\n", "IMAGE", "ARCH", "BUILT", "DESCRIPTION");
        for (const struct pv_image_info *i = pv_images; i->name; i++) {
            for (enum pv_arch a = PV_ARCH_X86_64; a <= PV_ARCH_ARM64; a++)
                printf("%-12s %-7s %-8s %s\n", i->name, pv_arch_name(a),
                       pv_image_lookup(i->name, a, dir, sizeof(dir)) ? "no" : "yes", i->desc);
        }
        return PV_EXIT_OK;
    }
    if (strcmp(sub, "create") && strcmp(sub, "path"))
        return usage_error(verb, "expected create, list or path");
    const char *name = NULL;
    enum pv_arch arch = PV_ARCH_X86_64;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--arch") || !strncmp(argv[i], "--arch=", 7)) {
            const char *v = argv[i][6] == '=' ? argv[i] + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (pv_parse_arch(v, &arch))
                return usage_error(verb, "--arch takes x86_64 or arm64");
        } else if (!name && argv[i][0] != '-') {
            name = argv[i];
        } else {
            return usage_error(verb, "expected one image name and at most --arch ARCH");
        }
    }
    if (!name)
        return usage_error(verb, "expected one image name");
    if (!pv_image_find(name)) {
        failf(verb, "unknown image '%s' (known: debian-13)", name);
        return PV_EXIT_FAIL;
    }
    const char *arch_opt = arch == PV_ARCH_X86_64 ? "" : " --arch arm64";
    if (!strcmp(sub, "path")) {
        int err = pv_image_lookup(name, arch, dir, sizeof(dir));
        if (err == -ENOEXEC) {
            pv_guest_dir(dir, sizeof(dir));
            failf(verb, "the image recipe %s/build-image.sh is missing (set PEARVISOR_GUEST_DIR)",
                  dir);
            return PV_EXIT_FAIL;
        }
        if (err) {
            if (err == -ENOENT)
                failf(verb, "image '%s'%s is not built: run 'pearvisor image create %s%s'", name,
                      arch_opt, name, arch_opt);
            else
                failf(verb, "cannot look up image '%s' (%s)", name, strerror(-err));
            return PV_EXIT_FAIL;
        }
        printf("%s\n", dir);
        return PV_EXIT_OK;
    }
    double t0 = pv_clock_now_s();
    int err = pv_image_build(name, arch, dir, sizeof(dir));
    if (err) {
        if (err == -ENOEXEC) {
            pv_guest_dir(dir, sizeof(dir));
            failf(verb, "the image recipe %s/build-image.sh is missing (set PEARVISOR_GUEST_DIR)",
                  dir);
        } else {
            failf(verb, "building image '%s'%s failed (the recipe's messages are above)", name,
                  arch_opt);
        }
        return PV_EXIT_FAIL;
    }
    fprintf(stderr, "pearvisor image: '%s' ready in %.1f s\n", name, pv_clock_now_s() - t0);
    printf("%s\n", dir);
    return PV_EXIT_OK;
}

/* ---------------------------------------------------------------- create */

static const char create_help_head[] =
    "Usage: pearvisor create NAME [OPTIONS]\n"
    "\n"
    "Defines a VM: writes its definition (UUID, name, guest OS, configuration)\n"
    "under $XDG_DATA_HOME/pearvisor/vms/NAME/ and a copy-on-write qcow2 disk\n"
    "over the image. The image must be built ('pearvisor image create').\n"
    "\n"
    "Options:\n";
static const char create_help_tail[] =
    "  --dry-run          print the QEMU command line 'start' would run; create nothing\n"
    "  -h, --help         show this help\n";

int
pv_cmd_create(int argc, char **argv)
{
    const char *verb = "create";
    static const struct option opts[] = {
        VM_LONG_OPTIONS,
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pv_vm_def def;
    def_defaults(&def);
    struct vm_given given = {0};
    bool dry = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("%s%s%s", create_help_head, vm_options_help, create_help_tail);
            return PV_EXIT_OK;
        } else if (c == OPT_DRY_RUN) {
            dry = true;
        } else if (c == '?' || c == ':') {
            return usage_error(verb, "unknown option or missing value");
        } else {
            int r = vm_option(verb, c, optarg, &def, &given);
            if (r)
                return r;
        }
    }
    int r = vm_options_done(verb, &def, &given);
    if (r)
        return r;
    if (argc - optind != 1)
        return usage_error(verb, "expected one VM name");
    if (!pv_vm_name_valid(argv[optind])) {
        failf(verb, "invalid VM name '%.64s' (letters, digits, '.', '_', '-'; at most %d characters)",
              argv[optind], PV_VM_NAME_MAX);
        return PV_EXIT_FAIL;
    }
    snprintf(def.name, sizeof(def.name), "%s", argv[optind]);

    struct pv_dirs dirs;
    struct pv_host host;
    if (get_dirs(verb, &dirs))
        return PV_EXIT_FAIL;
    pv_host_probe(&host);
    char msg[PV_MSG_MAX];
    if (dry) {
        if (pv_image_lookup(def.image, def.arch, def.image_dir, sizeof(def.image_dir)))
            dry_image_dir(&def, &dirs);
        return print_dry_run(verb, &dirs, &host, &def);
    }
    if (pv_vm_create(&dirs, &host, &def, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    char uuid[37], m[32], d[32];
    pv_uuid_str(def.uuid, uuid);
    printf("created VM %s (%s): %s, %u CPUs, %s memory, %s disk, gpu %s%s%s%s\n", def.name, uuid,
           def.image, def.cpus, pv_size_str(def.mem_bytes, m, sizeof(m)),
           pv_size_str(def.disk_bytes, d, sizeof(d)), pv_gpu_name(def.gpu),
           def.gpu == PV_GPU_VENUS ? " on " : "",
           def.gpu == PV_GPU_VENUS ? pv_renderer_name(def.renderer) : "",
           def.desktop ? ", desktop" : "");
    return PV_EXIT_OK;
}

/* ----------------------------------------------------------------- start */

static const char start_help[] =
    "Usage: pearvisor start NAME [--no-wait] [--boot-timeout SECONDS] [--dry-run]\n"
    "\n"
    "Starts the VM in the background (QEMU daemonized; QMP, agent and console\n"
    "sockets under $XDG_RUNTIME_DIR/pearvisor/NAME/, logs under\n"
    "$XDG_STATE_HOME/pearvisor/NAME/) and waits until the guest agent answers.\n"
    "\n"
    "Options:\n"
    "  --no-wait               return once QEMU runs, without waiting for the guest\n"
    "  --boot-timeout SECONDS  how long to wait for the guest (default 90 under TCG,\n"
    "                          30 under KVM; or $PEARVISOR_BOOT_TIMEOUT)\n"
    "  --dry-run               print the QEMU command line; start nothing\n"
    "  -q, --quiet             no accelerator notice\n"
    "  -h, --help              show this help\n";

static int
parse_seconds(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 86400)
        return -1;
    *out = (int)v;
    return 0;
}

int
pv_cmd_start(int argc, char **argv)
{
    const char *verb = "start";
    static const struct option opts[] = {
        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
        {"boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool wait = true, dry = false, quiet = false;
    int timeout_s = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(start_help, stdout); return PV_EXIT_OK;
        case 'q': quiet = true; break;
        case OPT_NO_WAIT: wait = false; break;
        case OPT_DRY_RUN: dry = true; break;
        case OPT_BOOT_TIMEOUT:
            if (parse_seconds(optarg, &timeout_s))
                return usage_error(verb, "--boot-timeout takes seconds (1-86400)");
            break;
        default: return usage_error(verb, "unknown option or missing value");
        }
    }
    struct pv_dirs dirs;
    struct pv_host host;
    struct pv_vm_def def;
    char msg[PV_MSG_MAX];
    int rc = load_named_vm(verb, argc, argv, &dirs, &def);
    if (rc)
        return rc;
    pv_host_probe(&host);
    if (dry)
        return print_dry_run(verb, &dirs, &host, &def);
    install_signal_handlers();
    char gpu_line[PV_MSG_MAX] = "", desktop_msg[PV_MSG_MAX] = "";
    struct pv_start_opts o = {.wait = wait, .boot_timeout_ms = boot_timeout_ms(&def, &host, timeout_s),
                              .gpu_msg = gpu_line, .gpu_msg_size = sizeof(gpu_line),
                              .desktop_msg = desktop_msg, .desktop_msg_size = sizeof(desktop_msg)};
    double t0 = pv_clock_now_s();
    int started = pv_vm_start(&dirs, &host, &def, &o, msg, sizeof(msg));
    gpu_notice(gpu_line, quiet);
    gpu_notice(desktop_msg, quiet);
    if (started) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    accel_notice(&def, &host, quiet);
    struct pv_vm_status st;
    pv_vm_status(&dirs, &def, &st);
    printf("started VM %s (QEMU pid %d, %s)%s in %.1f s; 'pearvisor console %s' attaches\n",
           def.name, (int)st.pid, pv_qemu_uses_kvm(&def, &host) ? "KVM" : "TCG", wait ? ", guest up" : "",
           pv_clock_now_s() - t0, def.name);
    return PV_EXIT_OK;
}

/* ------------------------------------------------------------------ list */

static const char list_help[] =
    "Usage: pearvisor list\n"
    "\n"
    "Lists the VMs: name, state, CPUs, memory, GPU mode, uptime, image.\n";

int
pv_cmd_list(int argc, char **argv)
{
    const char *verb = "list";
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(list_help, stdout);
        return PV_EXIT_OK;
    }
    if (argc > 1)
        return usage_error(verb, "takes no arguments");
    struct pv_dirs dirs;
    if (get_dirs(verb, &dirs))
        return PV_EXIT_FAIL;
    char **names;
    size_t n;
    int err = pv_vm_names(&dirs, &names, &n);
    if (err) {
        failf(verb, "cannot read %s/vms: %s", dirs.data, strerror(-err));
        return PV_EXIT_FAIL;
    }
    printf("%-24s %-8s %4s %8s %6s %10s  %s\n", "NAME", "STATE", "CPUS", "MEMORY", "GPU",
           "UPTIME", "IMAGE");
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        struct pv_vm_def def;
        char msg[PV_MSG_MAX], mem[32], up[32] = "-";
        if (pv_vm_load(&dirs, names[i], &def, msg, sizeof(msg))) {
            printf("%-24s %-8s %s\n", names[i], "broken", msg);
            continue;
        }
        struct pv_vm_status st;
        pv_vm_status(&dirs, &def, &st);
        const char *state = "stopped";
        if (st.state == PV_VM_RUNNING) {
            state = "running";
            /* QEMU's own view: "paused" or "shutdown" say more than "running". */
            struct pv_vm_paths p;
            struct pv_qmp q;
            static char ret[256], status[32];
            if (!pv_vm_paths_get(&dirs, &def, &p) && !pv_qmp_open(&q, p.qmp_sock, 1000)) {
                if (!pv_qmp_cmd(&q, "query-status", ret, sizeof(ret), 1000) &&
                    pv_json_find_str(ret, strlen(ret), "status", status, sizeof(status)) &&
                    strcmp(status, "running"))
                    state = status;
                pv_qmp_close(&q);
            }
            int64_t s = now - st.started;
            if (s < 0)
                s = 0;
            if (s >= 3600)
                snprintf(up, sizeof(up), "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
            else
                snprintf(up, sizeof(up), "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
        }
        printf("%-24s %-8s %4u %8s %6s %10s  %s\n", def.name, state, def.cpus,
               pv_size_str(def.mem_bytes, mem, sizeof(mem)), pv_gpu_name(def.gpu), up, def.image);
    }
    pv_names_free(names, n);
    return PV_EXIT_OK;
}

/* ------------------------------------------------------------------ stop */

static const char stop_help[] =
    "Usage: pearvisor stop NAME [--timeout SECONDS]\n"
    "\n"
    "Presses the VM's ACPI power button (QMP system_powerdown): the guest stops\n"
    "its processes, syncs and remounts its disk read-only, and powers off. If it\n"
    "has not within the timeout (default 30 s), QEMU is told to quit (then killed).\n";

int
pv_cmd_stop(int argc, char **argv)
{
    const char *verb = "stop";
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int timeout_s = STOP_TIMEOUT_S, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(stop_help, stdout);
            return PV_EXIT_OK;
        } else if (c == OPT_TIMEOUT) {
            if (parse_seconds(optarg, &timeout_s))
                return usage_error(verb, "--timeout takes seconds (1-86400)");
        } else {
            return usage_error(verb, "unknown option or missing value");
        }
    }
    struct pv_dirs dirs;
    struct pv_vm_def def;
    char msg[PV_MSG_MAX] = "";
    int rc = load_named_vm(verb, argc, argv, &dirs, &def);
    if (rc)
        return rc;
    double t0 = pv_clock_now_s();
    bool clean;
    if (pv_vm_stop(&dirs, &def, timeout_s * 1000, &clean, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    if (!clean) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    printf("stopped VM %s (the guest shut down cleanly in %.1f s)\n", def.name, pv_clock_now_s() - t0);
    return PV_EXIT_OK;
}

/* ---------------------------------------------------------------- delete */

static const char delete_help[] =
    "Usage: pearvisor delete NAME [--force]\n"
    "\n"
    "Deletes the VM: its definition, disk, logs and sockets. A running VM is\n"
    "refused unless --force, which stops it hard first.\n";

int
pv_cmd_delete(int argc, char **argv)
{
    const char *verb = "delete";
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool force = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(delete_help, stdout);
            return PV_EXIT_OK;
        } else if (c == 'f') {
            force = true;
        } else {
            return usage_error(verb, "unknown option");
        }
    }
    struct pv_dirs dirs;
    struct pv_vm_def def;
    char msg[PV_MSG_MAX];
    int rc = load_named_vm(verb, argc, argv, &dirs, &def);
    if (rc)
        return rc;
    if (force)
        pv_vm_kill(&dirs, &def);
    if (pv_vm_delete(&dirs, &def, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_FAIL;
    }
    printf("deleted VM %s\n", def.name);
    return PV_EXIT_OK;
}

/* --------------------------------------------------------------- console */

static const char console_help[] =
    "Usage: pearvisor console NAME [--log]\n"
    "\n"
    "Attaches this terminal to the VM's serial console (a root shell). Ctrl-]\n"
    "detaches. With --log, prints the console log of the current (or last) boot.\n";

int
pv_cmd_console(int argc, char **argv)
{
    const char *verb = "console";
    static const struct option opts[] = {
        {"log", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool log_only = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(console_help, stdout);
            return PV_EXIT_OK;
        } else if (c == 'l') {
            log_only = true;
        } else {
            return usage_error(verb, "unknown option");
        }
    }
    struct pv_dirs dirs;
    struct pv_vm_def def;
    struct pv_vm_paths p;
    int rc = load_named_vm(verb, argc, argv, &dirs, &def);
    if (rc)
        return rc;
    if (pv_vm_paths_get(&dirs, &def, &p)) {
        failf(verb, "VM '%s': its paths are too long", def.name);
        return PV_EXIT_FAIL;
    }
    if (log_only) {
        FILE *f = fopen(p.console_log, "r");
        if (!f) {
            failf(verb, "VM '%s' has no console log yet", def.name);
            return PV_EXIT_FAIL;
        }
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            fwrite(buf, 1, n, stdout);
        fclose(f);
        return PV_EXIT_OK;
    }
    struct pv_vm_status st;
    pv_vm_status(&dirs, &def, &st);
    if (st.state != PV_VM_RUNNING) {
        failf(verb, "VM '%s' is not running ('pearvisor start %s'; 'console --log' shows the last boot)",
              def.name, def.name);
        return PV_EXIT_FAIL;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p.console_sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        failf(verb, "cannot connect to %s: %s", p.console_sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return PV_EXIT_FAIL;
    }
    bool tty = isatty(0);
    struct termios saved, raw;
    if (tty) {
        tcgetattr(0, &saved);
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    fprintf(stderr, "Connected to %s's console; Ctrl-] detaches.%s", def.name, tty ? "\r\n" : "\n");
    (void)!send(fd, "\n", 1, MSG_NOSIGNAL); /* wake the shell's prompt */
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    char buf[4096];
    for (;;) {
        if (poll(fds, 2, -1) < 0)
            break;
        if (fds[1].revents) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0 || write(1, buf, (size_t)n) != n)
                break;
        }
        if (fds[0].revents) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0)
                break;
            char *esc = memchr(buf, 0x1d, (size_t)n);
            if (esc)
                n = esc - buf;
            if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
                break;
            if (esc)
                break;
        }
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
    close(fd);
    fprintf(stderr, "\nDetached from %s's console.\n", def.name);
    return PV_EXIT_OK;
}

/* ------------------------------------------------------------- run, exec */

/* Splits argv at the first "--": returns its index, or -1. */
static int
find_dashdash(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return i;
    }
    return -1;
}

static int
exec_in_vm(const char *verb, const struct pv_dirs *dirs, const struct pv_vm_def *def,
           char **cmd, int *status)
{
    struct pv_vm_paths p;
    struct pv_vm_status st;
    struct pv_agent ag;
    if (pv_vm_paths_get(dirs, def, &p) || pv_vm_status(dirs, def, &st) ||
        st.state != PV_VM_RUNNING) {
        failf(verb, "VM '%s' is not running", def->name);
        return -ESRCH;
    }
    int pidfd = pidfd_open(st.pid, 0);
    pv_vm_active_qemu = st.pid;
    int err = pv_agent_open(&ag, p.agent_sock);
    if (!err) {
        err = pv_agent_exec(&ag, cmd, 1, 2, status, pidfd);
        pv_agent_close(&ag);
    }
    if (pidfd >= 0)
        close(pidfd);
    if (err == -ECHILD || err == -EPIPE) {
        char last[400];
        pv_vm_qemu_last_line(&p, last, sizeof(last));
        if (last[0])
            failf(verb, "VM '%s' stopped while the command ran; QEMU's last words: %s",
                  def->name, last);
        else
            failf(verb, "VM '%s' stopped while the command ran", def->name);
    }
    else if (err)
        failf(verb, "VM '%s': guest agent: %s", def->name, strerror(-err));
    return err;
}

static const char exec_help[] =
    "Usage: pearvisor exec NAME -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND as root in the running VM through the guest agent; its\n"
    "stdout and stderr come back as they are written, and its exit status\n"
    "becomes pearvisor's (125: pearvisor itself failed).\n";

int
pv_cmd_exec(int argc, char **argv)
{
    const char *verb = "exec";
    int dd = find_dashdash(argc, argv);
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(exec_help, stdout);
        return PV_EXIT_OK;
    }
    if (dd != 2 || dd + 1 >= argc)
        return usage_error(verb, "expected NAME -- COMMAND");
    struct pv_dirs dirs;
    struct pv_vm_def def;
    char msg[PV_MSG_MAX];
    if (get_dirs(verb, &dirs))
        return PV_EXIT_RUN_FAILED;
    if (pv_vm_load(&dirs, argv[1], &def, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_RUN_FAILED;
    }
    signal(SIGPIPE, SIG_IGN);
    int status;
    if (exec_in_vm(verb, &dirs, &def, argv + dd + 1, &status))
        return PV_EXIT_RUN_FAILED;
    return status;
}

static const char run_help_head[] =
    "Usage: pearvisor run [NAME] [OPTIONS] -- COMMAND [ARGS...]\n"
    "\n"
    "Boots a VM, runs COMMAND in it as root, prints its output, shuts the VM down\n"
    "cleanly and exits with COMMAND's exit status (125: pearvisor itself failed).\n"
    "With NAME, the defined (stopped) VM boots on its own disk; without it, a\n"
    "throwaway VM is made from the options below and deleted afterwards.\n"
    "\n"
    "Options (without NAME):\n";
static const char run_help_tail[] =
    "\n"
    "Options:\n"
    "  --boot-timeout SECONDS  how long to wait for the guest to boot (as in start)\n"
    "  --dry-run               print the QEMU command line; start nothing\n"
    "  -q, --quiet             no accelerator notice and no exit status line\n"
    "  -h, --help              show this help\n";

int
pv_cmd_run(int argc, char **argv)
{
    const char *verb = "run";
    static const struct option opts[] = {
        VM_LONG_OPTIONS,
        {"boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int dd = find_dashdash(argc, argv);
    int nopt = dd < 0 ? argc : dd;
    struct pv_vm_def def;
    def_defaults(&def);
    bool dry = false, quiet = false;
    struct vm_given given = {0};
    int timeout_s = 0, c;
    opterr = 0;
    while ((c = getopt_long(nopt, argv, "hq", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("%s%s%s", run_help_head, vm_options_help, run_help_tail);
            return PV_EXIT_OK;
        } else if (c == 'q') {
            quiet = true;
        } else if (c == OPT_DRY_RUN) {
            dry = true;
        } else if (c == OPT_BOOT_TIMEOUT) {
            if (parse_seconds(optarg, &timeout_s))
                return usage_error(verb, "--boot-timeout takes seconds (1-86400)");
        } else if (c == '?' || c == ':') {
            return usage_error(verb, "unknown option or missing value");
        } else {
            int r = vm_option(verb, c, optarg, &def, &given);
            if (r)
                return r == PV_EXIT_FAIL ? PV_EXIT_RUN_FAILED : r;
        }
    }
    int r = vm_options_done(verb, &def, &given);
    if (r)
        return r;
    if (dd < 0 || dd + 1 >= argc)
        return usage_error(verb, "expected -- COMMAND");
    if (nopt - optind > 1)
        return usage_error(verb, "expected at most one VM name before --");
    const char *name = nopt - optind == 1 ? argv[optind] : NULL;
    if (name && given.any)
        return usage_error(verb, "VM options apply to throwaway VMs only (NAME has its own)");
    char **cmd = argv + dd + 1;

    struct pv_dirs dirs;
    struct pv_host host;
    char msg[PV_MSG_MAX];
    if (get_dirs(verb, &dirs))
        return PV_EXIT_RUN_FAILED;
    pv_host_probe(&host);
    bool ephemeral = !name;
    if (name) {
        if (pv_vm_load(&dirs, name, &def, msg, sizeof(msg))) {
            fail(verb, msg);
            return PV_EXIT_RUN_FAILED;
        }
    } else {
        /* A fresh name per run: runs side by side never collide. */
        snprintf(def.name, sizeof(def.name), "run-%02x%02x%02x%02x", def.uuid[0], def.uuid[1],
                 def.uuid[2], def.uuid[3]);
    }
    if (dry) {
        if (!def.image_dir[0] &&
            pv_image_lookup(def.image, def.arch, def.image_dir, sizeof(def.image_dir)))
            dry_image_dir(&def, &dirs);
        return print_dry_run(verb, &dirs, &host, &def) ? PV_EXIT_RUN_FAILED : PV_EXIT_OK;
    }
    install_signal_handlers();
    if (!host.qemu[0]) {
        fail(verb, "QEMU not found: qemu-system-x86_64 is not in PATH (install the package "
                   "qemu-system-x86)");
        return PV_EXIT_RUN_FAILED;
    }
    if (ephemeral && pv_vm_create(&dirs, &host, &def, msg, sizeof(msg))) {
        fail(verb, msg);
        return PV_EXIT_RUN_FAILED;
    }
    int ret = PV_EXIT_RUN_FAILED;
    double t0 = pv_clock_now_s();
    char gpu_line[PV_MSG_MAX] = "", desktop_msg[PV_MSG_MAX] = "";
    struct pv_start_opts o = {.wait = true, .boot_timeout_ms = boot_timeout_ms(&def, &host, timeout_s),
                              .gpu_msg = gpu_line, .gpu_msg_size = sizeof(gpu_line),
                              .desktop_msg = desktop_msg, .desktop_msg_size = sizeof(desktop_msg)};
    int started = pv_vm_start(&dirs, &host, &def, &o, msg, sizeof(msg));
    gpu_notice(gpu_line, quiet);
    gpu_notice(desktop_msg, quiet);
    if (started) {
        fail(verb, msg);
        goto out;
    }
    accel_notice(&def, &host, quiet);
    double t1 = pv_clock_now_s();
    int status = 0;
    bool ran = !exec_in_vm(verb, &dirs, &def, cmd, &status);
    fflush(stdout);
    double t2 = pv_clock_now_s();
    bool clean = false;
    msg[0] = '\0';
    if (pv_vm_stop(&dirs, &def, STOP_TIMEOUT_S * 1000, &clean, msg, sizeof(msg)) != -ESRCH &&
        !clean)
        fail(verb, msg);
    if (ran) {
        ret = status;
        if (!quiet)
            fprintf(stderr, "pearvisor run: exit status %d (boot %.1f s, command %.1f s, "
                            "shutdown %.1f s)\n", status, t1 - t0, t2 - t1, pv_clock_now_s() - t2);
    }
out:
    pv_vm_active_qemu = 0;
    if (ephemeral) {
        pv_vm_kill(&dirs, &def);
        if (pv_vm_delete(&dirs, &def, msg, sizeof(msg)))
            fail(verb, msg);
    }
    return ret;
}
