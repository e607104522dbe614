/* vm/vmm: VM lifecycle: create, start (daemonized QEMU), stop, delete, status. */
#include "vm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "proc.h"

#define QMP_TIMEOUT_MS 5000
#define QUIT_WAIT_MS 5000

volatile pid_t pv_vm_active_qemu;

/* Writes path atomically (temporary file, fsync, rename). */
static int
write_file_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = 0;
    if (write(fd, data, len) != (ssize_t)len || fsync(fd))
        err = errno ? -errno : -EIO;
    close(fd);
    if (!err && rename(tmp, path))
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}

int
pv_vm_load(const struct pv_dirs *dirs, const char *name, struct pv_vm_def *def, char *msg,
           size_t msg_size)
{
    if (!pv_vm_name_valid(name)) {
        snprintf(msg, msg_size, "invalid VM name '%.*s'", PV_VM_NAME_MAX, name);
        return -EINVAL;
    }
    struct pv_vm_def tmp = {0};
    snprintf(tmp.name, sizeof(tmp.name), "%s", name);
    struct pv_vm_paths p;
    int err = pv_vm_paths_get(dirs, &tmp, &p);
    if (err) {
        snprintf(msg, msg_size, "VM '%s': path too long", name);
        return err;
    }
    char *text = pv_io_read_file(p.conf, 1 << 16, NULL);
    if (!text) {
        err = -errno;
        if (err == -ENOENT)
            snprintf(msg, msg_size, "no VM named '%s' ('pearvisor list' shows them)", name);
        else
            snprintf(msg, msg_size, "cannot read %s: %s", p.conf, strerror(-err));
        return err;
    }
    char why[256];
    err = pv_vm_def_parse(text, def, why, sizeof(why));
    free(text);
    if (err) {
        snprintf(msg, msg_size, "%s: %s", p.conf, why);
        return err;
    }
    if (strcmp(def->name, name)) {
        snprintf(msg, msg_size, "%s: names VM '%s', not '%s'", p.conf, def->name, name);
        return -EINVAL;
    }
    return 0;
}

/* Runs argv with stdin from /dev/null; its stdout and stderr go to buf
 * (truncated). When timeout_ms > 0 the child is killed after that long (the
 * status is then 128 + SIGKILL). Returns the exit status, or -errno when it
 * could not run. */
static int
run_capture(char *const argv[], int timeout_ms, char *buf, size_t size)
{
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct pv_proc_spec s = PV_PROC_SPEC(argv);
    s.in = null;
    s.out = PV_PROC_CAPTURE;
    s.err = PV_PROC_CAPTURE;
    int r = pv_proc_capture(&s, timeout_ms, buf, size);
    if (null >= 0)
        close(null);
    return r;
}

/* Keeps guest text from steering the user's terminal: printable ASCII,
 * UTF-8 bytes, tabs and newlines pass; escapes and other controls do not. */
static void
sanitize(char *s)
{
    char *o = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f))
            *o++ = (char)c;
        else if (c == 0x1b && s[1] == '[') { /* drop a CSI sequence whole */
            s += 2;
            while (*s && !(*s >= 0x40 && *s <= 0x7e))
                s++;
            if (!*s)
                break;
        }
    }
    *o = '\0';
}

/* The first line of a tool's output, without QEMU's "qemu-system-x86_64: " prefix. */
static void
first_line(const char *out, char *dst, size_t size)
{
    const char *s = out;
    while (*s == '\n')
        s++;
    const char *colon = strstr(s, ": ");
    const char *nl = strchr(s, '\n');
    if (colon && (!nl || colon < nl) && !strncmp(s, "qemu-", 5))
        s = colon + 2;
    size_t n = strcspn(s, "\n");
    snprintf(dst, size, "%.*s", (int)n, s);
}

int
pv_vm_create(const struct pv_dirs *dirs, const struct pv_host *host, struct pv_vm_def *def,
             char *msg, size_t msg_size)
{
    char why[256], a[32], b[32];
    if (!pv_vm_name_valid(def->name)) {
        snprintf(msg, msg_size,
                 "invalid VM name '%.*s' (letters, digits, '.', '_', '-'; at most %d characters)",
                 PV_VM_NAME_MAX, def->name, PV_VM_NAME_MAX);
        return -EINVAL;
    }
    if (!pv_image_find(def->image)) {
        snprintf(msg, msg_size, "unknown image '%s' ('pearvisor image list' shows the images)",
                 def->image);
        return -ENOENT;
    }
    if (host->mem_total && def->mem_bytes > host->mem_total) {
        snprintf(msg, msg_size, "--memory %s is more than this host's %s of RAM",
                 pv_size_str(def->mem_bytes, a, sizeof(a)),
                 pv_size_str(host->mem_total, b, sizeof(b)));
        return -E2BIG;
    }
    if (!def->created)
        def->created = (int64_t)time(NULL);
    if (!def->os[0])
        snprintf(def->os, sizeof(def->os), "%s", def->image);
    if (!def->image_dir[0]) {
        int err = pv_image_lookup(def->image, def->arch, def->image_dir, sizeof(def->image_dir));
        if (err == -ENOENT) {
            const char *a = def->arch == PV_ARCH_X86_64 ? "" : " --arch arm64";
            snprintf(msg, msg_size, "image '%s'%s is not built yet: run 'pearvisor image create %s%s'",
                     def->image, a, def->image, a);
            return err;
        }
        if (err) {
            char gdir[PATH_MAX];
            pv_guest_dir(gdir, sizeof(gdir));
            snprintf(msg, msg_size, "cannot find image '%s' (%.300s/build-image.sh: %s)",
                     def->image, gdir, err == -ENOEXEC ? "missing" : strerror(-err));
            return err;
        }
    }
    struct pv_vm_paths p;
    int err = pv_vm_paths_get(dirs, def, &p);
    if (err) {
        snprintf(msg, msg_size, "VM '%s': a path under %s is too long for a Unix socket",
                 def->name, dirs->runtime);
        return err;
    }
    struct stat st;
    if (stat(p.base, &st)) {
        snprintf(msg, msg_size, "image '%s' is incomplete (%s is missing): run 'pearvisor image create %s'",
                 def->image, p.base, def->image);
        return -ENOENT;
    }
    uint64_t img = (uint64_t)st.st_size;
    if (!def->disk_bytes)
        def->disk_bytes = img;
    if (def->disk_bytes < img) {
        snprintf(msg, msg_size, "--disk %s is smaller than the image (%s)",
                 pv_size_str(def->disk_bytes, a, sizeof(a)), pv_size_str(img, b, sizeof(b)));
        return -EINVAL;
    }
    if ((err = pv_vm_def_check(def, why, sizeof(why)))) {
        snprintf(msg, msg_size, "%s", why);
        return err;
    }
    if (!host->qemu_img[0]) {
        snprintf(msg, msg_size, "qemu-img not found in PATH: install the package qemu-utils");
        return -ENOENT;
    }

    char parent[PATH_MAX];
    if (snprintf(parent, sizeof(parent), "%s/vms", dirs->data) >= (int)sizeof(parent)) {
        snprintf(msg, msg_size, "data directory path too long");
        return -ENAMETOOLONG;
    }
    if ((err = pv_mkdir_p(parent, 0700))) {
        snprintf(msg, msg_size, "cannot create %s: %s", parent, strerror(-err));
        return err;
    }
    /* mkdir is the claim on the name: two creates racing cannot both win. */
    if (mkdir(p.vm_dir, 0700)) {
        err = -errno;
        if (err == -EEXIST)
            snprintf(msg, msg_size, "a VM named '%s' already exists", def->name);
        else
            snprintf(msg, msg_size, "cannot create %s: %s", p.vm_dir, strerror(-err));
        return err;
    }

    char size_arg[32], out[2048], text[4096];
    snprintf(size_arg, sizeof(size_arg), "%" PRIu64, def->disk_bytes);
    char *argv[] = {(char *)host->qemu_img, "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                    p.base, p.disk, size_arg, NULL};
    int r = run_capture(argv, 0, out, sizeof(out));
    if (r) {
        char line[512];
        if (!pv_qemu_error_line(out, line, sizeof(line)))
            snprintf(line, sizeof(line), "exit status %d, no error message", r);
        sanitize(line);
        snprintf(msg, msg_size, "qemu-img could not create the disk: %s", line);
        err = -EIO;
        goto err_rm;
    }
    int n = pv_vm_def_format(def, text, sizeof(text));
    if (n < 0 || (err = write_file_atomic(p.conf, text, (size_t)n))) {
        if (n < 0)
            err = n;
        snprintf(msg, msg_size, "cannot write %s: %s", p.conf, strerror(-err));
        goto err_rm;
    }
    return 0;
err_rm:
    pv_rm_rf(p.vm_dir);
    return err;
}

static pid_t
read_pid(const char *pidfile, int64_t *mtime)
{
    char *s = pv_io_read_file(pidfile, 64, NULL);
    if (!s)
        return 0;
    long pid = strtol(s, NULL, 10);
    free(s);
    struct stat st;
    if (mtime && !stat(pidfile, &st))
        *mtime = (int64_t)st.st_mtime;
    return pid > 1 ? (pid_t)pid : 0;
}

/* Does /proc/PID/cmdline have an argument containing needle? Used to tell
 * our QEMU or Xvfb (whose command lines name the VM's run dir) from a
 * recycled pid. */
static bool
pid_cmdline_has(pid_t pid, const char *needle)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    size_t len;
    char *cmd = pv_io_read_file(path, 1 << 16, &len);
    if (!cmd)
        return false;
    bool ok = false;
    for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
        if (strstr(cmd + i, needle)) {
            ok = true;
            break;
        }
    }
    free(cmd);
    return ok;
}

int
pv_vm_status(const struct pv_dirs *dirs, const struct pv_vm_def *def, struct pv_vm_status *st)
{
    memset(st, 0, sizeof(*st));
    struct pv_vm_paths p;
    int err = pv_vm_paths_get(dirs, def, &p);
    if (err)
        return err;
    pid_t pid = read_pid(p.pidfile, &st->started);
    if (pid && pid_cmdline_has(pid, p.qmp_sock)) {
        st->state = PV_VM_RUNNING;
        st->pid = pid;
    } else {
        st->started = 0;
    }
    return 0;
}

/* ---- the VM's private X server (--gpu venus without a display) ----
 *
 * QEMU's GL device needs a GL display; on a host without $DISPLAY and
 * without a render node each VM gets its own Xvfb. It is tracked like QEMU
 * (RUN_DIR/xvfb.pid, its command line naming RUN_DIR so a recycled pid is
 * never taken for it), and ends with QEMU three ways: Xvfb -terminate exits
 * when its last client (QEMU) disconnects, so a guest that powers itself off
 * leaves nothing behind; stop, kill and a failed start kill it by its pid
 * file (clean_runtime). -fbdir keeps its screen in RUN_DIR/Xvfb_screen0, which
 * `pearvisor screenshot` reads without an X client. */



static void
kill_xvfb(const struct pv_vm_paths *p)
{
    pid_t pid = read_pid(p->xvfb_pidfile, NULL);
    if (!pid || !pid_cmdline_has(pid, p->run_dir))
        return;
    int pidfd = pidfd_open(pid, 0);
    kill(pid, SIGTERM);
    if (pidfd >= 0) {
        if (!pv_proc_wait_exit(pidfd, 3000))
            kill(pid, SIGKILL);
        close(pidfd);
    }
    unlink(p->xvfb_pidfile);
}

/* Starts the VM's Xvfb; its display (":N") goes to display. The server is
 * double-forked (not our child) and picks a free display number itself
 * (-displayfd), so VMs side by side never race for one. */
static int
start_xvfb(const struct pv_host *h, const struct pv_vm_paths *p, char *display, size_t size,
           char *why, size_t why_size)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC)) {
        snprintf(why, why_size, "cannot start Xvfb: %s", strerror(errno));
        return -errno;
    }
    char log[PATH_MAX + 16];
    snprintf(log, sizeof(log), "%s/xvfb.log", p->state_dir);
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(pfd[0]);
        close(pfd[1]);
        snprintf(why, why_size, "cannot start Xvfb: %s", strerror(-err));
        return err;
    }
    if (pid == 0) {
        setsid();
        pid_t x = fork();
        if (x < 0)
            _exit(1);
        if (x > 0) {
            char num[32];
            int n = snprintf(num, sizeof(num), "%d\n", (int)x);
            int fd = open(p->xvfb_pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            _exit(fd >= 0 && write(fd, num, (size_t)n) == n ? 0 : 1);
        }
        int null = open("/dev/null", O_RDWR);
        int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(null, 0);
        dup2(lfd >= 0 ? lfd : null, 1);
        dup2(lfd >= 0 ? lfd : null, 2);
        dup2(pfd[1], 3); /* dup2 clears O_CLOEXEC: Xvfb inherits fd 3 */
        char *argv[] = {(char *)h->xvfb, "-displayfd", "3", "-screen", "0", "1280x800x24",
                        "-nolisten", "tcp", "-terminate", "-fbdir", (char *)p->run_dir, NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    pv_proc_wait(pid); /* the first child, gone once it wrote the pid file */
    /* Xvfb writes the display number once it accepts connections. */
    char num[32] = "";
    size_t len = 0;
    int64_t end = pv_clock_now_ms() + 15000;
    while (len + 1 < sizeof(num) && !memchr(num, '\n', len)) {
        struct pollfd rp = {.fd = pfd[0], .events = POLLIN};
        int left = pv_clock_ms_left(end);
        if (left <= 0 || poll(&rp, 1, left) <= 0)
            break;
        ssize_t n = read(pfd[0], num + len, sizeof(num) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        num[len] = '\0';
    }
    close(pfd[0]);
    char *e;
    long d = strtol(num, &e, 10);
    if (!len || e == num || d < 0) {
        kill_xvfb(p);
        snprintf(why, why_size, "the VM's Xvfb did not start (log: %.400s)", log);
        return -EIO;
    }
    snprintf(display, size, ":%ld", d);
    return 0;
}

static void
clean_runtime(const struct pv_vm_paths *p)
{
    kill_xvfb(p);
    pv_rm_rf(p->run_dir);
}


static void
kill_pid(pid_t pid, int pidfd, const struct pv_vm_paths *p)
{
    struct pv_qmp q;
    if (!pv_qmp_open(&q, p->qmp_sock, 2000)) {
        pv_qmp_cmd(&q, "quit", NULL, 0, 2000);
        pv_qmp_close(&q);
    }
    if (!pv_proc_wait_exit(pidfd, QUIT_WAIT_MS)) {
        kill(pid, SIGKILL);
        pv_proc_wait_exit(pidfd, QUIT_WAIT_MS);
    }
}

void
pv_vm_kill(const struct pv_dirs *dirs, const struct pv_vm_def *def)
{
    struct pv_vm_paths p;
    struct pv_vm_status st;
    if (pv_vm_paths_get(dirs, def, &p) || pv_vm_status(dirs, def, &st))
        return;
    if (st.state == PV_VM_RUNNING) {
        int pidfd = pidfd_open(st.pid, 0);
        kill_pid(st.pid, pidfd, &p);
        if (pidfd >= 0)
            close(pidfd);
    }
    clean_runtime(&p);
}

/* The last LINES lines of a text file, sanitized; the end of them if they do
 * not fit. */
static void
file_tail(const char *path, unsigned lines, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t len;
    char *text = pv_io_read_file(path, 1 << 20, &len);
    if (!text)
        return;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            text[i] = ' '; /* '\r' goes in sanitize() */
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    size_t start = len;
    unsigned seen = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && ++seen == lines)
            break;
        start--;
    }
    sanitize(text + start);
    size_t n = strlen(text + start);
    if (n >= size) /* keep the end, which says most */
        start += n - (size - 1);
    snprintf(buf, size, "%s", text + start);
    free(text);
}

void
pv_vm_console_tail(const struct pv_vm_paths *p, unsigned lines, char *buf, size_t size)
{
    file_tail(p->console_log, lines, buf, size);
}

void
pv_vm_qemu_last_line(const struct pv_vm_paths *p, char *line, size_t size)
{
    file_tail(p->qemu_debug_log, 1, line, size);
}

/* Turns QEMU's start-up complaint (it exited with status) into one line for
 * the user. */
static void
explain_qemu_failure(const struct pv_vm_def *def, const struct pv_vm_paths *p, const char *out,
                     int status, char *msg, size_t msg_size)
{
    if (strstr(out, "Failed to get \"write\" lock") || strstr(out, "Failed to get shared \"write\" lock")) {
        snprintf(msg, msg_size,
                 "VM '%s' cannot start: its disk %s is in use by another QEMU process "
                 "(QEMU's image locking keeps two VMs off one disk)",
                 def->name, p->disk);
        return;
    }
    if (strstr(out, "Address already in use") && strstr(out, "hostfwd")) {
        snprintf(msg, msg_size, "VM '%s' cannot start: a forwarded host port is already in use",
                 def->name);
        return;
    }
    char line[400];
    if (pv_qemu_error_line(out, line, sizeof(line))) {
        sanitize(line);
        snprintf(msg, msg_size, "QEMU could not start VM '%s': %s (log: %s)", def->name, line,
                 p->qemu_log);
    } else {
        snprintf(msg, msg_size, "QEMU could not start VM '%s': it exited with status %d and no "
                 "error message (log: %s)", def->name, status, p->qemu_log);
    }
}

static int
run_qemu(struct pv_argv *argv, const struct pv_argv *env, const struct pv_vm_paths *p, char *out,
         size_t size)
{
    out[0] = '\0';
    const char *dbg = p->qemu_debug_log;
    int err;
    if ((err = pv_argv_add(argv, "-D")) || (err = pv_argv_add(argv, dbg)))
        return err;
    /* Start each run with an empty debug log: its text is read back on failure. */
    int dfd = open(dbg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (dfd >= 0)
        close(dfd);
    char *cmdline = pv_argv_join(argv);
    char *envline = pv_argv_join(env);
    FILE *log = fopen(p->qemu_log, "w");
    if (!log) {
        free(cmdline);
        free(envline);
        return -errno;
    }
    fprintf(log, "%s%s%s\n", envline ? envline : "", env->n ? " " : "", cmdline ? cmdline : "");
    long start = ftell(log);
    fclose(log);
    free(cmdline);
    free(envline);
    /* QEMU's stdout and stderr append to the log, after the command line. */
    int fd = open(p->qemu_log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct pv_proc_spec s = PV_PROC_SPEC(argv->v);
    s.env = env->v;
    s.in = null;
    s.out = fd;
    s.err = fd;
    pid_t pid = pv_proc_spawn(&s);
    close(fd);
    if (null >= 0)
        close(null);
    if (pid < 0)
        return (int)pid;
    int r = pv_proc_wait(pid);
    if (r < 0)
        return r;
    size_t len;
    char *text = pv_io_read_file(p->qemu_log, 1 << 20, &len);
    if (text && start >= 0 && (size_t)start <= len)
        snprintf(out, size, "%s", text + start);
    free(text);
    /* With -D (and -daemonize) QEMU can send its start-up errors to the
     * debug log instead of stderr: look there too. */
    size_t used = strlen(out);
    text = pv_io_read_file(dbg, 1 << 20, &len);
    if (text && used + 1 < size)
        snprintf(out + used, size - used, "%s", text);
    free(text);
    return r;
}

/* Keeps the log of a QEMU that could not start the Venus GPU: qemu.log with
 * the debug log appended, as qemu-venus.log (the 2D start that follows
 * rewrites both). */
static void
keep_venus_log(const struct pv_vm_paths *p)
{
    if (rename(p->qemu_log, p->qemu_venus_log))
        return;
    size_t len;
    char *text = pv_io_read_file(p->qemu_debug_log, 1 << 20, &len);
    FILE *f = text && len ? fopen(p->qemu_venus_log, "a") : NULL;
    if (f) {
        fputs("---- QEMU's debug log (-D) ----\n", f);
        fwrite(text, 1, len, f);
        fclose(f);
    }
    free(text);
}

/* Can this host run --gpu venus for def now? Checks what the renderer needs,
 * runs `pearvisor gpu probe` (a Vulkan instance and device through the
 * host's loader, as the renderer will make them) and starts the private
 * Xvfb when that is the display. 0: go, and why holds the line saying what
 * was chosen; else why says what stands in the way. */
static int
gpu_venus_plan(const struct pv_host *h, const struct pv_vm_paths *p, const struct pv_vm_def *d,
               char *xdisplay, size_t xsize, bool *xvfb, char *why, size_t why_size)
{
    const char *dwhy;
    enum pv_gpu_display disp = pv_gpu_display(h, &dwhy);
    *xvfb = false;
    if (disp == PV_DISPLAY_NONE) {
        snprintf(why, why_size, "%s", dwhy);
        return -ENODEV;
    }
    if (d->renderer == PV_RENDERER_PEARVISOR && !h->door_dir[0]) {
        snprintf(why, why_size,
                 "PearVisor's libvirglrenderer.so.1 was not found next to %.300s (build it with "
                 "libvirglrenderer-dev installed, or set PEARVISOR_VIRGL_DIR)",
                 h->self_exe[0] ? h->self_exe : "pearvisor");
        return -ENOENT;
    }
    if (d->renderer == PV_RENDERER_VIRGL && !h->render_server[0]) {
        snprintf(why, why_size, "--renderer virgl needs the system's virgl_render_server "
                                "(package virgl-server)");
        return -ENOENT;
    }
    if (h->self_exe[0]) {
        char out[1024];
        char *argv[] = {(char *)h->self_exe, "gpu", "probe", NULL};
        int r = run_capture(argv, 30000, out, sizeof(out));
        if (r) {
            char line[512];
            first_line(out, line, sizeof(line));
            sanitize(line);
            const char *l = line;
            if (!strncmp(l, "pearvisor gpu probe: ", 21))
                l += 21;
            snprintf(why, why_size, "the host's Vulkan cannot run the renderer: %.400s",
                     l[0] ? l : r == 128 + SIGKILL ? "the probe hung" : "the probe failed");
            return -ENODEV;
        }
    }
    if (disp == PV_DISPLAY_XVFB) {
        int err = start_xvfb(h, p, xdisplay, xsize, why, why_size);
        if (err)
            return err;
        *xvfb = true;
    }
    snprintf(why, why_size, "pearvisor: GPU: Venus on %s; display: %s%s%s",
             d->renderer == PV_RENDERER_PEARVISOR ? "PearVisor's renderer"
                                                  : "the system's virglrenderer",
             dwhy, *xvfb ? " " : "", *xvfb ? xdisplay : "");
    return 0;
}

/* Where a desktop VM's screen is, for the user, in one line ("" when def
 * has no desktop). */
static void
desktop_line(const struct pv_vm_def *def, const struct pv_host *h, const struct pv_vm_paths *p,
             char *out, size_t size)
{
    out[0] = '\0';
    if (!def->desktop || def->gpu == PV_GPU_OFF)
        return;
    const char *name = def->name;
    if (pv_qemu_has_vnc(def, h)) {
        snprintf(out, size,
                 "pearvisor: desktop: remote view on VNC socket %s (from another machine: "
                 "ssh -L 5900:%s THIS-HOST, then a VNC viewer on localhost:5900); "
                 "'pearvisor screenshot %s FILE.png' saves the screen",
                 p->vnc_sock, p->vnc_sock, name);
    } else if (pv_gpu_display(h, NULL) == PV_DISPLAY_WINDOW) {
        snprintf(out, size, "pearvisor: desktop: in QEMU's window on this desktop; "
                 "'pearvisor screenshot %s FILE.png' saves the screen", name);
    } else {
        snprintf(out, size,
                 "pearvisor: desktop: on the VM's private Xvfb, no window and no remote view "
                 "(QEMU's VNC cannot show its GL display without a render node); "
                 "'pearvisor screenshot %s FILE.png' saves the screen", name);
    }
}

/* A desktop VM: waits (up to two minutes) for the guest's session to say its
 * compositor is up, so `pearvisor exec NAME -- APP` right after start finds
 * it; the outcome goes on the desktop line. A session that does not come up
 * is not a failed start: the VM runs, and the line says why. */
static void
wait_desktop(struct pv_agent *ag, int pidfd, const struct pv_start_opts *o)
{
    char *const argv[] = {"/usr/lib/pearvisor/desktop/session.sh", "--wait", "120", NULL};
    int fds[2], status = -1;
    if (pipe2(fds, O_CLOEXEC))
        return;
    int64_t t0 = pv_clock_now_ms();
    int err = pv_agent_exec(ag, argv, fds[1], fds[1], &status, pidfd);
    close(fds[1]);
    char why[256] = "";
    ssize_t n = read(fds[0], why, sizeof(why) - 1);
    close(fds[0]);
    why[n > 0 ? n : 0] = '\0';
    why[strcspn(why, "\n")] = '\0';
    sanitize(why);
    if (!o->desktop_msg || !o->desktop_msg_size)
        return;
    size_t len = strlen(o->desktop_msg);
    if (!err && status == 0)
        snprintf(o->desktop_msg + len, o->desktop_msg_size - len,
                 "; the session (weston) is up %.1f s after the guest",
                 (double)(pv_clock_now_ms() - t0) / 1000.0);
    else
        snprintf(o->desktop_msg, o->desktop_msg_size,
                 "pearvisor: desktop: the guest's session did not come up: %.200s",
                 err ? strerror(-err) : status == 127 ? "this image has no desktop session "
                                                        "(rebuild it: pearvisor image create)"
                 : why[0] ? why : "no reason given (see /run/pearvisor/session.log in the guest)");
}

int
pv_vm_start(const struct pv_dirs *dirs, const struct pv_host *host, const struct pv_vm_def *def,
            const struct pv_start_opts *o, char *msg, size_t msg_size)
{
    char a[32], b[32], why[512];
    struct pv_vm_paths p;
    int err = pv_vm_paths_get(dirs, def, &p);
    if (err) {
        snprintf(msg, msg_size, "VM '%s': a path under %s is too long for a Unix socket",
                 def->name, dirs->runtime);
        return err;
    }
    struct pv_vm_status st;
    pv_vm_status(dirs, def, &st);
    if (st.state == PV_VM_RUNNING) {
        snprintf(msg, msg_size, "VM '%s' is already running (QEMU pid %d)", def->name, (int)st.pid);
        return -EBUSY;
    }
    if (!pv_qemu_binary(def, host)[0]) {
        bool arm = def->arch == PV_ARCH_ARM64;
        snprintf(msg, msg_size, "QEMU not found: %s is not in PATH (install the package %s)",
                 arm ? "qemu-system-aarch64" : "qemu-system-x86_64",
                 arm ? "qemu-system-arm" : "qemu-system-x86");
        return -ENOENT;
    }
    if (host->mem_total && def->mem_bytes > host->mem_total) {
        snprintf(msg, msg_size, "VM '%s' has %s of memory, more than this host's %s", def->name,
                 pv_size_str(def->mem_bytes, a, sizeof(a)),
                 pv_size_str(host->mem_total, b, sizeof(b)));
        return -E2BIG;
    }
    if (access(p.kernel, R_OK) || access(p.initrd, R_OK) || access(p.disk, R_OK)) {
        snprintf(msg, msg_size, "VM '%s' cannot start: %s is missing", def->name,
                 access(p.disk, R_OK) ? p.disk : access(p.kernel, R_OK) ? p.kernel : p.initrd);
        return -ENOENT;
    }
    /* Stale sockets of a QEMU that died would make QEMU's bind() fail. */
    clean_runtime(&p);
    if ((err = pv_mkdir_p(p.run_dir, 0700)) || (err = pv_mkdir_p(p.state_dir, 0700))) {
        snprintf(msg, msg_size, "cannot create %s: %s", p.run_dir, strerror(-err));
        return err;
    }
    char prev[PATH_MAX + 8];
    snprintf(prev, sizeof(prev), "%s.prev", p.console_log);
    rename(p.console_log, prev); /* the last boot's log stays readable */
    unlink(p.qemu_venus_log);    /* an earlier start's; this one writes its own */

    /* --gpu venus: choose the display and check the renderer; whatever
     * stands in the way boots the VM with 2D instead, and says why. */
    struct pv_vm_def run = *def;
    char gpu_line[PV_MSG_MAX] = "", xdisplay[32] = "";
    bool xvfb = false;
    if (run.gpu == PV_GPU_VENUS) {
        why[0] = '\0';
        if (gpu_venus_plan(host, &p, &run, xdisplay, sizeof(xdisplay), &xvfb, why,
                           sizeof(why))) {
            run.gpu = PV_GPU_2D;
            snprintf(gpu_line, sizeof(gpu_line),
                     "pearvisor: GPU: falling back to 2D virtio-gpu: %s", why);
        } else {
            snprintf(gpu_line, sizeof(gpu_line), "%s", why);
        }
    }

    struct pv_argv argv, env;
    pv_argv_init(&env);
    char out[8192];
    int r;
    for (;;) {
        if ((err = pv_qemu_argv(&run, host, &p, &argv, why, sizeof(why)))) {
            snprintf(msg, msg_size, "VM '%s': %s", def->name, why);
            clean_runtime(&p);
            return err;
        }
        if ((err = pv_argv_add(&argv, "-daemonize")) || (err = pv_argv_add(&argv, "-pidfile")) ||
            (err = pv_argv_add(&argv, p.pidfile)) ||
            (err = pv_qemu_env(&run, host, &p, xvfb ? xdisplay : NULL, &env))) {
            snprintf(msg, msg_size, "out of memory");
            clean_runtime(&p);
            goto out_argv;
        }

        /* QEMU forks a daemon and its first process exits once every device
         * and socket is set up. Its stdout and stderr go to qemu.log, after
         * the command line, and stay there in the daemon (-D keeps QEMU from
         * pointing stderr at /dev/null), so the renderer's log lines (a
         * context marked fatal, ...) are kept; start-up errors are read back
         * from the file. */
        r = run_qemu(&argv, &env, &p, out, sizeof(out));
        if (!r || run.gpu != PV_GPU_VENUS)
            break;
        /* The GL device or the renderer failed inside QEMU (it exited
         * non-zero): the VM still boots, with 2D. The line quotes QEMU's
         * error when it gave one; its warnings (a deprecated option, a
         * library's note) are no reason. The attempt's log (command line,
         * stderr, debug log) stays in qemu-venus.log. */
        keep_venus_log(&p);
        char line[400];
        if (pv_qemu_error_line(out, line, sizeof(line))) {
            sanitize(line);
            snprintf(gpu_line, sizeof(gpu_line),
                     "pearvisor: GPU: falling back to 2D virtio-gpu: QEMU could not start the "
                     "Venus GPU: %.300s (log: %.300s)", line, p.qemu_venus_log);
        } else {
            snprintf(gpu_line, sizeof(gpu_line),
                     "pearvisor: GPU: falling back to 2D virtio-gpu: QEMU could not start the "
                     "Venus GPU (it exited with status %d and no error message; log: %.300s)",
                     r, p.qemu_venus_log);
        }
        kill_xvfb(&p);
        xvfb = false;
        run.gpu = PV_GPU_2D;
        pv_argv_free(&argv);
        pv_argv_free(&env);
    }
    if (o->gpu_msg && o->gpu_msg_size)
        snprintf(o->gpu_msg, o->gpu_msg_size, "%s", gpu_line);
    if (o->desktop_msg && o->desktop_msg_size)
        desktop_line(&run, host, &p, o->desktop_msg, o->desktop_msg_size);
    if (r) {
        explain_qemu_failure(def, &p, out, r, msg, msg_size);
        err = -EIO;
        clean_runtime(&p);
        goto out_argv;
    }
    pid_t pid = read_pid(p.pidfile, NULL);
    if (!pid) {
        snprintf(msg, msg_size, "QEMU started VM '%s' but wrote no pid file", def->name);
        err = -EIO;
        goto out_argv;
    }
    pv_vm_active_qemu = pid;
    /* Best effort: without it a screenshot shows the display shifted. */
    if (xvfb)
        (void)pv_xvfb_windows_to_origin(xdisplay, 5000);
    if (!o->wait)
        goto out_argv;

    int pidfd = pidfd_open(pid, 0);
    struct pv_agent ag;
    err = pv_agent_open(&ag, p.agent_sock);
    if (!err) {
        err = pv_agent_ping(&ag, o->boot_timeout_ms, pidfd);
        if (!err && run.desktop && run.gpu != PV_GPU_OFF)
            wait_desktop(&ag, pidfd, o);
        pv_agent_close(&ag);
    }
    if (err) {
        bool exited = err == -ECHILD || err == -EPIPE;
        if (!exited)
            kill_pid(pid, pidfd, &p);
        char tail[PV_MSG_MAX];
        pv_vm_console_tail(&p, 12, tail, sizeof(tail));
        if (err == -ETIMEDOUT)
            snprintf(msg, msg_size, "VM '%s' did not boot within %d s; last console lines:\n%s",
                     def->name, o->boot_timeout_ms / 1000, tail);
        else if (exited)
            snprintf(msg, msg_size, "VM '%s' stopped while booting; last console lines:\n%s",
                     def->name, tail);
        else
            snprintf(msg, msg_size, "VM '%s': cannot reach the guest agent: %s", def->name,
                     strerror(-err));
        clean_runtime(&p);
        pv_vm_active_qemu = 0;
    }
    if (pidfd >= 0)
        close(pidfd);
out_argv:
    pv_argv_free(&argv);
    pv_argv_free(&env);
    return err;
}

int
pv_vm_stop(const struct pv_dirs *dirs, const struct pv_vm_def *def, int timeout_ms, bool *clean,
           char *msg, size_t msg_size)
{
    *clean = false;
    struct pv_vm_paths p;
    struct pv_vm_status st;
    int err = pv_vm_paths_get(dirs, def, &p);
    if (err || (err = pv_vm_status(dirs, def, &st)))
        return err;
    if (st.state != PV_VM_RUNNING) {
        clean_runtime(&p);
        snprintf(msg, msg_size, "VM '%s' is not running", def->name);
        return -ESRCH;
    }
    int pidfd = pidfd_open(st.pid, 0);
    if (pidfd < 0) {
        err = -errno;
        snprintf(msg, msg_size, "VM '%s': cannot watch QEMU pid %d: %s", def->name, (int)st.pid,
                 strerror(-err));
        return err;
    }
    struct pv_qmp q;
    err = pv_qmp_open(&q, p.qmp_sock, QMP_TIMEOUT_MS);
    if (!err) {
        err = pv_qmp_cmd(&q, "system_powerdown", NULL, 0, QMP_TIMEOUT_MS);
        pv_qmp_close(&q);
    }
    /* QEMU exits by itself when the guest powers off (it ran -no-reboot). */
    if (!err && pv_proc_wait_exit(pidfd, timeout_ms)) {
        *clean = true;
    } else {
        kill_pid(st.pid, pidfd, &p);
        snprintf(msg, msg_size, "VM '%s' did not shut down within %d s; QEMU was stopped",
                 def->name, timeout_ms / 1000);
    }
    close(pidfd);
    clean_runtime(&p);
    return 0;
}

int
pv_vm_delete(const struct pv_dirs *dirs, const struct pv_vm_def *def, char *msg, size_t msg_size)
{
    struct pv_vm_paths p;
    struct pv_vm_status st;
    int err = pv_vm_paths_get(dirs, def, &p);
    if (err || (err = pv_vm_status(dirs, def, &st)))
        return err;
    if (st.state == PV_VM_RUNNING) {
        snprintf(msg, msg_size, "VM '%s' is running: stop it first ('pearvisor stop %s')",
                 def->name, def->name);
        return -EBUSY;
    }
    clean_runtime(&p);
    pv_rm_rf(p.state_dir);
    if ((err = pv_rm_rf(p.vm_dir))) {
        snprintf(msg, msg_size, "cannot remove %s: %s", p.vm_dir, strerror(-err));
        return err;
    }
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pv_vm_names(const struct pv_dirs *dirs, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/vms", dirs->data) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!pv_vm_name_valid(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*names, cap * sizeof(*v));
            if (!v)
                break;
            *names = v;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof(**names), cmp_names);
    return 0;
}

void
pv_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
