/*
 * vm: the VM manager. PearVisor writes no VM monitor; QEMU is the engine.
 * This module turns a VM definition (plain data on disk) plus a host probe
 * into a QEMU command line (qemu.c, the one place that knows QEMU's flags),
 * starts and stops QEMU, talks QMP to it, and runs commands in the guest
 * through our guest agent (guest/agent/).
 *
 *   def.c     definitions: parse/format the key=value file, sizes, names
 *   paths.c   XDG data/state/runtime/cache directories, per-VM paths
 *   host.c    host probe: is KVM usable for a stock kernel, QEMU, memory
 *   qemu.c    the configurator: pv_qemu_argv(), a pure function
 *   qmp.c     QMP client over a Unix socket (and a tiny JSON key finder)
 *   agent.c   host side of the guest agent protocol (guest/agent/proto.h)
 *   image.c   guest image recipes (guest/build-image.sh)
 *   vmm.c     lifecycle: create, start, stop, delete, state, exec
 *   xwin.c    the VM's private Xvfb: QEMU's windows to the screen's origin
 *
 * Owner:   the VM manager (src/vm/). Review engine flags here, never in cli/.
 * Trust:   definitions, argv and the environment come from the local user.
 *          Bytes from the guest agent socket are guest controlled: frames
 *          are length-checked (PV_AGENT_MAX_PAYLOAD), unknown types and stale
 *          request ids are ignored, and guest text is only copied to the
 *          user's stdout/stderr, never interpreted. QMP replies come from our
 *          own QEMU process and are trusted to be well formed JSON, but are
 *          still parsed with bounds.
 * Threads: single threaded; every call blocks the caller. Nothing here calls
 *          exit() (only src/cli/ does); functions return 0 or -errno and
 *          print nothing, except where a comment says so (pv_image_build
 *          lets the recipe print its progress; pv_vm_* fill a message).
 * Never links the GPU renderer: QEMU loads the GPU front door itself.
 */
#ifndef PV_VM_H
#define PV_VM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PV_VM_NAME_MAX 40     /* keeps socket paths well under sun_path's 108 */
#define PV_VM_MAX_PORTS 16
#define PV_VM_APPEND_MAX 512
#define PV_MSG_MAX 1024       /* one error line (plus an optional console tail) */

/* ---- definitions (def.c) ---- */

enum pv_gpu_mode { PV_GPU_OFF, PV_GPU_2D, PV_GPU_VENUS };
/* Who renders Venus inside QEMU: PearVisor's libvirglrenderer.so.1 (front
 * door 2, loaded through LD_LIBRARY_PATH) or the system's virglrenderer (for
 * comparisons: benchmarks and bug reports run the same VM on both). */
enum pv_renderer_kind { PV_RENDERER_PEARVISOR, PV_RENDERER_VIRGL };
/* QEMU's GL display for --gpu venus (virtio-gpu-gl refuses to start without
 * one), chosen by pv_gpu_display() in this order. */
enum pv_gpu_display {
    PV_DISPLAY_NONE,         /* no way to give QEMU GL: venus is impossible */
    PV_DISPLAY_WINDOW,       /* $DISPLAY: an SDL window with GL on the user's desktop */
    PV_DISPLAY_EGL_HEADLESS, /* a DRM render node: egl-headless */
    PV_DISPLAY_XVFB,         /* neither: a private Xvfb per VM, SDL with GL on it */
};

/* The guest's CPU architecture: which QEMU, machine, console and image. */
enum pv_arch {
    PV_ARCH_X86_64, /* qemu-system-x86_64 -M q35; console ttyS0 */
    PV_ARCH_ARM64,  /* qemu-system-aarch64 -M virt; console ttyAMA0 (PL011) */
};

struct pv_port_fwd {
    uint16_t host;  /* on 127.0.0.1 */
    uint16_t guest; /* on the guest's 10.0.2.15 */
};

/* One VM, as stored in DATA/vms/NAME/vm.conf. Plain data, no pointers. */
struct pv_vm_def {
    char name[PV_VM_NAME_MAX + 1];
    uint8_t uuid[16];
    char image[64];          /* recipe name, e.g. "debian-13" */
    char os[64];             /* guest OS, e.g. "debian-13" */
    char image_dir[PATH_MAX]; /* built image: vmlinuz, initrd.img, root.img */
    enum pv_arch arch;       /* "arch=" in vm.conf, written when not x86_64 */
    unsigned cpus;
    uint64_t mem_bytes;
    uint64_t disk_bytes;     /* virtual size of the qcow2 overlay */
    enum pv_gpu_mode gpu;
    enum pv_renderer_kind renderer; /* venus only; "renderer=" in vm.conf */
    unsigned nports;
    struct pv_port_fwd ports[PV_VM_MAX_PORTS];
    char append[PV_VM_APPEND_MAX]; /* extra kernel command line, may be "" */
    bool desktop;            /* "desktop=1": the guest's compositor session, input devices */
    int64_t created;         /* unix time */
};

/* Name rules: [A-Za-z0-9][A-Za-z0-9._-]*, at most PV_VM_NAME_MAX bytes. */
bool pv_vm_name_valid(const char *name);
/* "2G", "512M", "1536MiB", "4096" (bare numbers are MiB, as in QEMU's -m). */
int pv_parse_size(const char *s, uint64_t *out);
/* "HOST:GUEST", both 1..65535. */
int pv_parse_port(const char *s, struct pv_port_fwd *out);
int pv_parse_gpu(const char *s, enum pv_gpu_mode *out);
const char *pv_gpu_name(enum pv_gpu_mode gpu);
int pv_parse_renderer(const char *s, enum pv_renderer_kind *out);
/* "x86_64" (or "amd64"), "arm64" (or "aarch64"). */
int pv_parse_arch(const char *s, enum pv_arch *out);
/* "x86_64", "arm64": the names definitions and image recipes use. */
const char *pv_arch_name(enum pv_arch a);
/* The architecture this pearvisor was built for (what KVM could run). */
enum pv_arch pv_arch_native(void);
const char *pv_renderer_name(enum pv_renderer_kind r);
/* "2.0G", "512M": a size for humans, into buf. */
const char *pv_size_str(uint64_t bytes, char *buf, size_t size);
void pv_uuid_generate(uint8_t uuid[16]);
void pv_uuid_str(const uint8_t uuid[16], char out[37]);
int pv_uuid_parse(const char *s, uint8_t uuid[16]);

/* Parses a definition file's text. On error returns -EINVAL and writes
 * "line N: why" into err. Checks every value (pv_vm_def_check). */
int pv_vm_def_parse(const char *text, struct pv_vm_def *def, char *err, size_t err_size);
/* Writes the definition as text; returns the length, or -ENOSPC. */
int pv_vm_def_format(const struct pv_vm_def *def, char *buf, size_t size);
/* Checks values that parse and create share; writes why into err. */
int pv_vm_def_check(const struct pv_vm_def *def, char *err, size_t err_size);

/* ---- directories (paths.c) ---- */

struct pv_dirs {
    char data[PATH_MAX];    /* $XDG_DATA_HOME/pearvisor: vms/NAME/{vm.conf,disk.qcow2} */
    char state[PATH_MAX];   /* $XDG_STATE_HOME/pearvisor: NAME/{console.log,qemu.log} */
    char runtime[PATH_MAX]; /* $XDG_RUNTIME_DIR/pearvisor: NAME/{qmp,agent,console}.sock, qemu.pid */
    char cache[PATH_MAX];   /* $PEARVISOR_CACHE or $XDG_CACHE_HOME/pearvisor: images */
};

/* Per-VM file paths; all absolute. */
struct pv_vm_paths {
    char vm_dir[PATH_MAX];
    char conf[PATH_MAX];
    char disk[PATH_MAX];
    char state_dir[PATH_MAX];
    char console_log[PATH_MAX];
    char qemu_log[PATH_MAX];
    char qemu_debug_log[PATH_MAX]; /* -D: also QEMU's stderr once it has daemonized */
    char qemu_venus_log[PATH_MAX]; /* a --gpu venus start that fell back to 2D: its QEMU's log */
    char run_dir[PATH_MAX];
    char qmp_sock[108];
    char agent_sock[108];
    char console_sock[108];
    char pidfile[PATH_MAX];
    char stats_sock[108];     /* the renderer's statistics (PEARVISOR_STATS_SOCKET) */
    char vnc_sock[108];       /* a desktop's remote view (QEMU's VNC), where it has one */
    char xvfb_pidfile[PATH_MAX]; /* the VM's private Xvfb, when it has one */
    char xvfb_screen[PATH_MAX];  /* that Xvfb's screen as an XWD file (-fbdir) */
    char kernel[PATH_MAX];
    char initrd[PATH_MAX];
    char base[PATH_MAX];
};

int pv_dirs_get(struct pv_dirs *dirs);
/* -ENAMETOOLONG when a socket path would not fit in sun_path. */
int pv_vm_paths_get(const struct pv_dirs *dirs, const struct pv_vm_def *def,
                    struct pv_vm_paths *p);
/* mkdir -p with the given mode for created components. */
int pv_mkdir_p(const char *path, mode_t mode);
/* rm -rf; returns 0 when the path is gone. */
int pv_rm_rf(const char *path);

/* ---- host probe (host.c) ---- */

struct pv_host {
    bool kvm_usable;
    char kvm_why[192];        /* when !kvm_usable: one line saying why */
    char qemu[PATH_MAX];      /* qemu-system-x86_64, "" when missing */
    char qemu_arm64[PATH_MAX]; /* qemu-system-aarch64, "" when missing */
    char qemu_img[PATH_MAX];  /* qemu-img, "" when missing */
    uint64_t mem_total;       /* bytes, from /proc/meminfo */
    unsigned cpus;            /* online host CPUs */
    bool has_gl_display;      /* $DISPLAY set: SDL with GL can open a window */
    bool has_render_node;     /* /dev/dri/renderD*: egl-headless works */
    char xvfb[PATH_MAX];      /* Xvfb, "" when missing (a private display per VM) */
    char self_exe[PATH_MAX];  /* this pearvisor binary ("gpu probe" runs it) */
    char door_dir[PATH_MAX];  /* holds our libvirglrenderer.so.1, "" when not found */
    char render_server[PATH_MAX]; /* the system's virgl_render_server, "" when missing */
};

/* Probes once; never fails (missing things are empty fields). Honors
 * PEARVISOR_ACCEL=tcg|kvm, PEARVISOR_QEMU (x86_64), PEARVISOR_QEMU_ARM64 and
 * PEARVISOR_QEMU_IMG. */
void pv_host_probe(struct pv_host *host);
/* The KVM verdict from its inputs, so it can be unit tested: cpuinfo text,
 * whether /dev/kvm opens read-write, and the loaded kvm modules. */
bool pv_host_kvm_verdict(const char *cpuinfo, bool dev_kvm_rw, bool mod_kvm_pvm,
                         bool mod_kvm_hw, char *why, size_t why_size);
/* The GL display QEMU gets for --gpu venus on this host (see enum
 * pv_gpu_display), and a few words saying why, for the user. Pure. */
enum pv_gpu_display pv_gpu_display(const struct pv_host *host, const char **why);
/* Finds the directory holding PearVisor's libvirglrenderer.so.1 for the
 * pearvisor binary at exe: $PEARVISOR_VIRGL_DIR, the build tree
 * (EXE/../../gpu/virgl-abi), then the install (<libdir>/pearvisor, relative
 * to EXE's prefix, then the configured one). "" when none. */
void pv_host_find_door(const char *exe, char *out, size_t size);
/* Finds an executable in $PATH; returns 0 and the path, or -ENOENT. */
int pv_which(const char *prog, char *out, size_t size);

/* ---- configurator (qemu.c) ---- */

struct pv_argv {
    char **v;     /* NULL terminated */
    size_t n, cap;
};

void pv_argv_init(struct pv_argv *a);
int pv_argv_add(struct pv_argv *a, const char *s);
int pv_argv_addf(struct pv_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pv_argv_free(struct pv_argv *a);
/* Shell-quoted, one line, for --dry-run and logs. Returns a malloc'd string. */
char *pv_argv_join(const struct pv_argv *a);

/* The QEMU binary for the definition's architecture ("" when missing). */
const char *pv_qemu_binary(const struct pv_vm_def *def, const struct pv_host *host);
/* Whether def runs under KVM on host: KVM usable and the guest's
 * architecture the host's own; else TCG. */
bool pv_qemu_uses_kvm(const struct pv_vm_def *def, const struct pv_host *host);
/* The whole QEMU command line for def on host, with files at p. Pure: reads
 * nothing but its arguments. -ENODEV: the GPU mode needs something the host
 * lacks (why in err); -EINVAL: a definition value QEMU cannot take. The
 * result does not daemonize; pv_vm_start adds -daemonize and -pidfile. */
int pv_qemu_argv(const struct pv_vm_def *def, const struct pv_host *host,
                 const struct pv_vm_paths *p, struct pv_argv *out, char *err, size_t err_size);
/* Moves every top-level window of the X server at display (":N", its Unix
 * socket, no authorization: the VM's private Xvfb) to (0, 0), waiting up to
 * timeout_ms for one to exist. Returns how many moved, or -errno. */
int pv_xvfb_windows_to_origin(const char *display, int timeout_ms);
/* Whether pv_qemu_argv gives def a remote view (a desktop's VNC socket). */
bool pv_qemu_has_vnc(const struct pv_vm_def *def, const struct pv_host *host);
/* The environment QEMU gets on top of ours ("NAME=VALUE" strings): for
 * --gpu venus the renderer (LD_LIBRARY_PATH at our door, or the system's
 * virglrenderer with RENDER_SERVER_EXEC_PATH), PEARVISOR_STATS_SOCKET, and
 * DISPLAY=xdisplay when the VM has a private Xvfb (xdisplay NULL: leave
 * DISPLAY alone). Pure, as pv_qemu_argv. */
int pv_qemu_env(const struct pv_vm_def *def, const struct pv_host *host,
                const struct pv_vm_paths *p, const char *xdisplay, struct pv_argv *out);
/* The size of the host-visible window (hostmem) for def, in MiB. */
uint64_t pv_qemu_hostmem_mib(const struct pv_vm_def *def);
/* The line of QEMU's output (stderr and debug log) that says why it failed,
 * without QEMU's "qemu-system-x86_64: " prefix: the first line that is not
 * a warning or a note (QEMU's "...: warning: ..." and "info: ...", a
 * library's "libEGL warning: ...", a renderer's "pearvisor info ..."). false
 * and "" when there is none. Pure. */
bool pv_qemu_error_line(const char *out, char *line, size_t size);

/* ---- QMP (qmp.c) ---- */

struct pv_qmp {
    int fd;
    size_t len;
    char buf[16384];
};

/* Connects, reads the greeting and negotiates capabilities. */
int pv_qmp_open(struct pv_qmp *q, const char *sock, int timeout_ms);
/* Runs one command ("system_powerdown", "quit", "query-status"). The reply's
 * "return" value (raw JSON) goes to ret when given. -EIO on a QMP error. */
int pv_qmp_cmd(struct pv_qmp *q, const char *cmd, char *ret, size_t ret_size, int timeout_ms);
/* As pv_qmp_cmd, with an "arguments" object (raw JSON the caller built). */
int pv_qmp_cmd_args(struct pv_qmp *q, const char *cmd, const char *args, char *ret,
                    size_t ret_size, int timeout_ms);
void pv_qmp_close(struct pv_qmp *q);
/* Writes s as a JSON string body (no quotes) into out; false when it does not fit. */
bool pv_json_escape(const char *s, char *out, size_t size);
/* Finds key at the top level of the JSON object json[0..len). Returns true
 * and the raw value's span (strings include their quotes). */
bool pv_json_find(const char *json, size_t len, const char *key, const char **val,
                  size_t *vlen);
/* Like pv_json_find for a string value; unescapes simple strings into out. */
bool pv_json_find_str(const char *json, size_t len, const char *key, char *out, size_t size);

/* ---- guest agent, host side (agent.c) ---- */

struct pv_agent {
    int fd;
    uint32_t next_id;
};

/* Connects to the agent's socket (QEMU's end of the virtio-serial port). */
int pv_agent_open(struct pv_agent *ag, const char *sock);
/* Waits up to timeout_ms for the guest agent to answer. -ETIMEDOUT, or
 * -EPIPE when QEMU closed the socket (it exited). If qemu_pidfd >= 0 a QEMU
 * exit also ends the wait (-ECHILD). */
int pv_agent_ping(struct pv_agent *ag, int timeout_ms, int qemu_pidfd);
/* Runs argv in the guest; its stdout and stderr go to out_fd and err_fd as
 * they arrive. *status: the exit code, or 128+signal. */
int pv_agent_exec(struct pv_agent *ag, char *const argv[], int out_fd, int err_fd, int *status,
                  int qemu_pidfd);
void pv_agent_close(struct pv_agent *ag);

/* ---- images (image.c) ---- */

struct pv_image_info {
    const char *name;
    const char *desc;
};

/* Known recipes; NULL-terminated by name. Each builds for every enum pv_arch
 * (build-image.sh --arch). */
extern const struct pv_image_info pv_images[];
const struct pv_image_info *pv_image_find(const char *name);
/* The guest/ directory holding the recipe (build-image.sh) for the binary
 * `exe`: $PEARVISOR_GUEST_DIR; else the installed copy beside it
 * (BINDIR/../DATADIR/pearvisor/guest); else the source tree it was built
 * from; else the configured DATADIR/pearvisor/guest. When none has the
 * recipe, the source tree's path (for messages). */
void pv_guest_dir_find(const char *exe, char *out, size_t size);
/* pv_guest_dir_find for this process's binary (/proc/self/exe). */
void pv_guest_dir(char *out, size_t size);
/* The built image's directory, or -ENOENT when it is not built (cache key =
 * the recipe's sha256, see guest/build-image.sh), -ENOEXEC when the recipe
 * itself is missing (pv_guest_dir). */
int pv_image_lookup(const char *name, enum pv_arch arch, char *dir, size_t size);
/* Builds (or finds cached) the image; the recipe prints progress to stderr.
 * -ENOEXEC when the recipe is missing. */
int pv_image_build(const char *name, enum pv_arch arch, char *dir, size_t size);

/* ---- lifecycle (vmm.c) ---- */

enum pv_vm_state { PV_VM_STOPPED, PV_VM_RUNNING };

struct pv_vm_status {
    enum pv_vm_state state;
    pid_t pid;
    int64_t started;       /* unix time, when running */
    char qemu_status[32];  /* QMP query-status "status", e.g. "running" */
};

struct pv_start_opts {
    bool wait;            /* wait for the guest agent to answer */
    int boot_timeout_ms;
    bool quiet;           /* no accelerator notice */
    /* When given: one line saying what GPU the VM got (renderer, display)
     * or, for --gpu venus that cannot run, "falling back to 2D virtio-gpu:
     * why". The VM then boots with 2D; the definition is not changed. */
    char *gpu_msg;
    size_t gpu_msg_size;
    /* When given, for a desktop VM: one line saying where its screen is (a
     * window, the remote view's socket, or screenshots only). */
    char *desktop_msg;
    size_t desktop_msg_size;
};

/* All return 0 or -errno, and on failure put one line for the user in msg
 * (the boot timeout adds the console tail on following lines). */
int pv_vm_load(const struct pv_dirs *dirs, const char *name, struct pv_vm_def *def, char *msg,
               size_t msg_size);
/* Writes the definition and creates the disk overlay; removes both on error. */
int pv_vm_create(const struct pv_dirs *dirs, const struct pv_host *host, struct pv_vm_def *def,
                 char *msg, size_t msg_size);
int pv_vm_status(const struct pv_dirs *dirs, const struct pv_vm_def *def,
                 struct pv_vm_status *st);
/* QEMU's last line of its own (an assertion, a fatal error) from its debug
 * log, where its stderr goes once daemonized; "" if it wrote none. */
void pv_vm_qemu_last_line(const struct pv_vm_paths *p, char *line, size_t size);
int pv_vm_start(const struct pv_dirs *dirs, const struct pv_host *host,
                const struct pv_vm_def *def, const struct pv_start_opts *o, char *msg,
                size_t msg_size);
/* ACPI powerdown, wait up to timeout_ms for QEMU to exit, then quit, then
 * SIGKILL. *clean says whether the guest shut down on its own. */
int pv_vm_stop(const struct pv_dirs *dirs, const struct pv_vm_def *def, int timeout_ms,
               bool *clean, char *msg, size_t msg_size);
/* The QEMU this process is starting or driving (0: none), so the CLI's
 * SIGINT handler can kill() it; QEMU's exit then unwinds every wait here. */
extern volatile pid_t pv_vm_active_qemu;
/* Stops hard (QMP quit, then SIGKILL) and removes runtime files. */
void pv_vm_kill(const struct pv_dirs *dirs, const struct pv_vm_def *def);
int pv_vm_delete(const struct pv_dirs *dirs, const struct pv_vm_def *def, char *msg,
                 size_t msg_size);
/* Names of defined VMs, sorted; free with pv_names_free. */
int pv_vm_names(const struct pv_dirs *dirs, char ***names, size_t *n);
void pv_names_free(char **names, size_t n);
/* The last lines of the VM's console log, into buf ("" when none). */
void pv_vm_console_tail(const struct pv_vm_paths *p, unsigned lines, char *buf, size_t size);

#endif /* PV_VM_H */
