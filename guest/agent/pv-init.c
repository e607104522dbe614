/*
 * guest/agent/pv-init: PearVisor's init (PID 1) and command agent for guests.
 *
 * The initramfs (guest/initramfs-init) mounts the root filesystem and
 * switch_roots to this program. As PID 1 it runs /usr/lib/pearvisor/boot.sh
 * (mounts, modules, network), then supervises two children: the agent, which
 * serves host requests on the virtio-serial port PV_AGENT_PORT (proto.h), and
 * a root shell on the serial console (`pearvisor console`). It reaps orphans
 * and shuts the guest down cleanly on the ACPI power button (QMP
 * system_powerdown), on SIGTERM/SIGUSR1/SIGINT/SIGPWR, or on the agent's
 * POWEROFF request: every process is stopped, the root filesystem synced and
 * remounted read-only, then the machine powers off. Each step is logged to
 * the console, which QEMU records in the VM's console.log.
 *
 * Owner:   the VM manager (src/vm/); built statically by guest/build-image.sh.
 * Trust:   host bytes on the port are length-checked and unknown requests
 *          ignored; but the host is the VM's owner: EXEC runs anything as root,
 *          by design.
 * Threads: none; PID 1 waits in poll() on a signalfd and the power-button
 *          input devices; the agent waits in read() and SIGIO (connection
 *          changes), and in poll() on a pidfd and pipes while a command runs.
 */
#define _GNU_SOURCE
#include "proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOOT_SCRIPT "/usr/lib/pearvisor/boot.sh"
#define CONSOLE_TTY_DEFAULT "ttyS0" /* x86's first UART; the kernel's console= says otherwise */
#define MAX_BUTTONS 8
#define MAX_ARGS 256
#define TERM_GRACE_MS 3000
#define KILL_GRACE_MS 2000

static int log_fd = 2;
static pid_t shell_pid; /* interactive bash ignores SIGTERM: it gets SIGHUP */

static void __attribute__((format(printf, 1, 2)))
logmsg(const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "pearvisor-init: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child starts with default signal handling and nothing blocked. */
static void
child_reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The desktop session's environment (guest/desktop/session.sh writes it once
 * its compositor is up): NAME=VALUE lines, NAME of [A-Z0-9_]. Read in the
 * forked child, so a session started after the agent reaches the next
 * command. */
#define SESSION_ENV "/run/pearvisor/session.env"

static void
apply_session_env(void)
{
    char buf[4096];
    int fd = open(SESSION_ENV, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq || eq == line)
            continue;
        bool ok = true;
        for (const char *c = line; c < eq; c++)
            ok = ok && ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_');
        if (!ok)
            continue;
        *eq = '\0';
        setenv(line, eq + 1, 1);
    }
}

static void
set_command_env(void)
{
    clearenv();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    setenv("HOME", "/root", 1);
    setenv("LANG", "C.UTF-8", 1);
    setenv("TERM", "vt100", 1);
    apply_session_env();
}

/* ------------------------------------------------------------------ agent */

static int port_fd = -1;

static int
write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void
send_frame(uint8_t type, uint32_t id, const void *data, uint32_t len)
{
    struct pv_agent_hdr h = {
        .magic = {PV_AGENT_MAGIC0, PV_AGENT_MAGIC1},
        .type = type,
        .id = pv_agent_le32(id),
        .len = pv_agent_le32(len),
    };
    /* Blocks while no host is connected (the port driver holds writes until
     * one is): the reply then goes to whoever connects, who drops it by id. */
    if (write_full(port_fd, &h, sizeof(h)) || (len && write_full(port_fd, data, len))) {
        logmsg("agent: write to the host failed: %s", strerror(errno));
        _exit(1);
    }
}

/* Waits until the host side of the port (re)connects. The port driver
 * raises SIGIO on every host connection change; the timeout is a safety net
 * should a change slip past, not the synchronization. */
static void
wait_host(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    struct timespec ts = {.tv_sec = 2};
    sigtimedwait(&set, NULL, &ts);
}

/* Reads exactly len bytes. Returns 0, or -1 when the host disconnected
 * mid-way (the partial request is dropped). */
static int
read_full(void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(port_fd, p + got, len - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) { /* host not connected */
            if (got)
                return -1;
            wait_host();
        } else if (errno != EINTR && errno != EAGAIN) {
            logmsg("agent: read from the host failed: %s", strerror(errno));
            _exit(1);
        }
    }
    return 0;
}

static int
read_chunk(int fd, uint8_t type, uint32_t id)
{
    static uint8_t buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0)
        send_frame(type, id, buf, (uint32_t)n);
    return (int)n;
}

static void
run_command(uint32_t id, char **argv)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        const char msg[] = "pv-init: cannot create pipes\n";
        send_frame(PV_AGENT_ERR, id, msg, sizeof(msg) - 1);
        uint32_t st = pv_agent_le32(126);
        send_frame(PV_AGENT_EXIT, id, &st, 4);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_reset_signals();
        setsid();
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (chdir("/root"))
            (void)!chdir("/");
        set_command_env();
        execvp(argv[0], argv);
        int e = errno;
        dprintf(2, "pv-init: cannot run '%s': %s\n", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    close(out[1]);
    close(err[1]);
    int status = 126;
    int pidfd = pid > 0 ? pidfd_open(pid, 0) : -1;
    if (pid < 0 || pidfd < 0) {
        const char msg[] = "pv-init: cannot start the command\n";
        send_frame(PV_AGENT_ERR, id, msg, sizeof(msg) - 1);
        if (pid > 0) {
            int st;
            waitpid(pid, &st, 0);
        }
        goto done;
    }
    struct pollfd fds[3] = {
        {.fd = out[0], .events = POLLIN},
        {.fd = err[0], .events = POLLIN},
        {.fd = pidfd, .events = POLLIN},
    };
    for (;;) {
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
                if (read_chunk(fds[i].fd, i ? PV_AGENT_ERR : PV_AGENT_OUT, id) <= 0)
                    fds[i].fd = -1; /* EOF: poll ignores negative fds */
            }
        }
        if (fds[2].revents & POLLIN)
            break;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* The command has exited: what it wrote is in the pipes now. Drain that,
     * but do not wait for EOF, which a daemon it left behind may never give. */
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd < 0)
            continue;
        fcntl(fds[i].fd, F_SETFL, O_NONBLOCK);
        while (read_chunk(fds[i].fd, i ? PV_AGENT_ERR : PV_AGENT_OUT, id) > 0)
            ;
    }
    close(pidfd);
done:
    close(out[0]);
    close(err[0]);
    uint32_t le = pv_agent_le32((uint32_t)status);
    send_frame(PV_AGENT_EXIT, id, &le, 4);
}

static int
find_port(char *dev, size_t size)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return -1;
    struct dirent *e;
    int ret = -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], name[128] = "";
        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof(name), f))
            name[strcspn(name, "\n")] = '\0';
        fclose(f);
        if (!strcmp(name, PV_AGENT_PORT)) {
            snprintf(dev, size, "/dev/%s", e->d_name);
            ret = 0;
            break;
        }
    }
    closedir(d);
    return ret;
}

static void __attribute__((noreturn))
agent_main(void)
{
    child_reset_signals();
    sigset_t io;
    sigemptyset(&io);
    sigaddset(&io, SIGIO);
    sigprocmask(SIG_BLOCK, &io, NULL);
    signal(SIGPIPE, SIG_IGN);

    char dev[300];
    if (find_port(dev, sizeof(dev))) {
        logmsg("agent: no virtio-serial port named %s; not serving", PV_AGENT_PORT);
        _exit(2);
    }
    port_fd = open(dev, O_RDWR | O_CLOEXEC);
    if (port_fd < 0) {
        logmsg("agent: cannot open %s: %s", dev, strerror(errno));
        _exit(1);
    }
    fcntl(port_fd, F_SETOWN, getpid());
    fcntl(port_fd, F_SETFL, fcntl(port_fd, F_GETFL) | O_ASYNC);

    static uint8_t payload[PV_AGENT_MAX_PAYLOAD + 1];
    for (;;) {
        struct pv_agent_hdr h;
        if (read_full(&h, sizeof(h)))
            continue;
        uint32_t id = pv_agent_le32(h.id), len = pv_agent_le32(h.len);
        if (h.magic[0] != PV_AGENT_MAGIC0 || h.magic[1] != PV_AGENT_MAGIC1 ||
            len > PV_AGENT_MAX_PAYLOAD) {
            /* No way to find the next frame: drop everything until this host
             * goes away; the next one starts clean. */
            logmsg("agent: malformed request header; ignoring input until the host reconnects");
            uint8_t junk[4096];
            ssize_t n;
            while ((n = read(port_fd, junk, sizeof(junk))) > 0 || (n < 0 && errno == EINTR))
                ;
            continue;
        }
        if (len && read_full(payload, len))
            continue;
        payload[len] = '\0';
        switch (h.type) {
        case PV_AGENT_PING:
            send_frame(PV_AGENT_READY, id, NULL, 0);
            break;
        case PV_AGENT_EXEC: {
            char *argv[MAX_ARGS + 1];
            int argc = 0;
            bool ok = len > 0 && payload[len - 1] == '\0';
            for (uint32_t off = 0; ok && off < len; off += (uint32_t)strlen((char *)payload + off) + 1) {
                if (argc == MAX_ARGS)
                    ok = false;
                else
                    argv[argc++] = (char *)payload + off;
            }
            argv[argc] = NULL;
            if (!ok || argc == 0 || !argv[0][0]) {
                const char msg[] = "pv-init: malformed command\n";
                send_frame(PV_AGENT_ERR, id, msg, sizeof(msg) - 1);
                uint32_t st = pv_agent_le32(126);
                send_frame(PV_AGENT_EXIT, id, &st, 4);
                break;
            }
            run_command(id, argv);
            break;
        }
        case PV_AGENT_POWEROFF:
            send_frame(PV_AGENT_DONE, id, NULL, 0);
            kill(1, SIGUSR1);
            break;
        default:
            break; /* unknown requests are ignored, so old guests meet new hosts */
        }
    }
}

/* ------------------------------------------------------------------- init */

struct child {
    const char *what;
    pid_t pid;
    int64_t started_ms;
    unsigned quick_deaths;
};

/* The serial console's device: the last console= on the kernel command line
 * (the one /dev/console is; "ttyAMA0,115200" names ttyAMA0), which differs
 * between machines (ttyS0 on x86's q35, ttyAMA0 on ARM's virt). */
static void
console_tty(char *out, size_t size)
{
    char cmdline[4096], name[32] = CONSOLE_TTY_DEFAULT;
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
    if (fd >= 0)
        close(fd);
    cmdline[n > 0 ? n : 0] = '\0';
    for (char *save = NULL, *w = strtok_r(cmdline, " \n", &save); w;
         w = strtok_r(NULL, " \n", &save)) {
        if (strncmp(w, "console=", 8) || !w[8])
            continue;
        size_t len = strcspn(w + 8, ",");
        if (len < sizeof(name) && !memchr(w + 8, '/', len))
            snprintf(name, sizeof(name), "%.*s", (int)len, w + 8);
    }
    snprintf(out, size, "/dev/%s", name);
}

static void
console_shell_main(void)
{
    child_reset_signals();
    setsid();
    char tty[64];
    console_tty(tty, sizeof(tty));
    int fd = open(tty, O_RDWR);
    if (fd < 0)
        _exit(1);
    ioctl(fd, TIOCSCTTY, 0);
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    if (chdir("/root"))
        (void)!chdir("/");
    set_command_env();
    char host[65] = "guest";
    gethostname(host, sizeof(host));
    printf("\nPearVisor guest %s: root shell on the console\n", host);
    fflush(stdout);
    execl("/bin/bash", "-bash", (char *)NULL);
    execl("/bin/sh", "-sh", (char *)NULL);
    _exit(127);
}

static void
spawn(struct child *c, void (*fn)(void))
{
    c->started_ms = now_ms();
    c->pid = fork();
    if (c->pid == 0) {
        fn();
        _exit(1);
    }
    if (c->pid < 0)
        logmsg("cannot start the %s: %s", c->what, strerror(errno));
}

/* Restarts a supervised child unless it keeps dying at once. */
static void
respawn(struct child *c, void (*fn)(void))
{
    if (now_ms() - c->started_ms < 1000) {
        if (++c->quick_deaths >= 5) {
            logmsg("the %s keeps exiting; not restarting it", c->what);
            c->pid = 0;
            return;
        }
    } else {
        c->quick_deaths = 0;
    }
    spawn(c, fn);
}

static void
run_boot_script(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        child_reset_signals();
        set_command_env();
        execl("/bin/sh", "sh", BOOT_SCRIPT, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
        logmsg("%s failed (status 0x%x); continuing", BOOT_SCRIPT, st);
}

static int
open_power_buttons(int *fds)
{
    int n = 0;
    for (int i = 0; i < 32 && n < MAX_BUTTONS; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/dev/input/event%d", i);
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        unsigned long keys[KEY_MAX / (8 * sizeof(unsigned long)) + 1] = {0};
        const unsigned bits = 8 * sizeof(unsigned long);
        if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) >= 0 &&
            (keys[KEY_POWER / bits] >> (KEY_POWER % bits) & 1)) {
            fds[n++] = fd;
        } else {
            close(fd);
        }
    }
    return n;
}

static bool
power_pressed(int fd)
{
    struct input_event ev[16];
    bool pressed = false;
    ssize_t n;
    while ((n = read(fd, ev, sizeof(ev))) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
            pressed |= ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1;
    }
    return pressed;
}

/* Reaps until no children are left or ms pass; returns how many remain
 * (1 when unknown). SIGCHLD arrives on sfd, so this waits without polling. */
static int
reap_all(int sfd, int ms)
{
    int64_t deadline = now_ms() + ms;
    for (;;) {
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD)
            return 0;
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return 1;
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        if (poll(&pfd, 1, left) > 0) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                ;
        }
    }
}

static void __attribute__((noreturn))
shutdown_guest(int sfd, const char *reason)
{
    logmsg("%s: shutting down", reason);
    if (shell_pid > 0)
        kill(shell_pid, SIGHUP);
    kill(-1, SIGTERM);
    if (reap_all(sfd, TERM_GRACE_MS)) {
        logmsg("processes still running after %d ms; killing them", TERM_GRACE_MS);
        kill(-1, SIGKILL);
        reap_all(sfd, KILL_GRACE_MS);
    }
    logmsg("all processes stopped; syncing disks");
    sync();
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL))
        logmsg("remounting / read-only failed: %s", strerror(errno));
    else
        logmsg("root filesystem remounted read-only");
    sync();
    logmsg("clean shutdown complete; powering off");
    reboot(RB_POWER_OFF);
    logmsg("power off failed: %s", strerror(errno));
    for (;;)
        pause();
}

int
main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (getpid() != 1) {
        fprintf(stderr, "pv-init: PearVisor's guest init; it runs as PID 1 only\n");
        return 2;
    }
    int cfd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (cfd >= 0)
        log_fd = cfd;
    logmsg("starting (PID 1)");
    umask(022);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPWR);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    reboot(RB_DISABLE_CAD); /* Ctrl-Alt-Del becomes SIGINT: a clean shutdown */

    run_boot_script();

    int buttons[MAX_BUTTONS];
    int nbuttons = open_power_buttons(buttons);
    if (!nbuttons)
        logmsg("no power button found: ACPI shutdown requests will be ignored");

    struct child agent = {.what = "agent"}, shell = {.what = "console shell"};
    spawn(&agent, agent_main);
    spawn(&shell, console_shell_main);
    logmsg("ready: agent on virtio port %s, %d power button(s)", PV_AGENT_PORT, nbuttons);

    struct pollfd fds[1 + MAX_BUTTONS];
    fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < nbuttons; i++)
        fds[1 + i] = (struct pollfd){.fd = buttons[i], .events = POLLIN};
    for (;;) {
        shell_pid = shell.pid;
        if (poll(fds, 1 + (nfds_t)nbuttons, -1) < 0)
            continue;
        for (int i = 0; i < nbuttons; i++) {
            if ((fds[1 + i].revents & POLLIN) && power_pressed(buttons[i]))
                shutdown_guest(sfd, "power button pressed");
        }
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            switch (si.ssi_signo) {
            case SIGCHLD:
                break;
            case SIGUSR1:
                shutdown_guest(sfd, "power off requested by the host");
            case SIGINT:
                shutdown_guest(sfd, "Ctrl-Alt-Del");
            default:
                shutdown_guest(sfd, "SIGTERM or SIGPWR");
            }
        }
        pid_t p;
        int st;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
            if (p == agent.pid) {
                logmsg("agent exited (status 0x%x); restarting it", st);
                respawn(&agent, agent_main);
            } else if (p == shell.pid) {
                respawn(&shell, console_shell_main);
            }
        }
    }
}
