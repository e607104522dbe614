/*
 * gpu/vtest/testhook: test hooks of the render process, compiled only into
 * pearvisor-test-hooks (-DPV_TEST_HOOKS; tests/vtest/sandbox.sh), never
 * into pearvisor. A client whose CREATE_RENDERER name starts with
 * "pv-hook-" makes its render process, already behind its sandbox, try
 * calls it must not be able to make:
 *
 *   pv-hook-errno       every probe below that the filter refuses with an
 *                       errno, one log line each, "hook: CALL: refused
 *                       (ERRNO)" or "hook: CALL: NOT refused (...)"; then
 *                       the client is served as usual
 *   pv-hook-kill-CALL   one call the filter kills (execve, ptrace,
 *                       process_vm_readv, mount, bpf): the process must die
 *                       of SIGSYS; if it returns, "hook: CALL: NOT killed"
 *
 * Each probe fails differently, or does no harm, without the filter (a
 * connected socket gives EISCONN to connect, not EPERM), so a call the
 * filter misses shows.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOD "hook"

void pv_vtest_test_hook(const char *name, int client_fd);

static long
ret_errno(long r)
{
    return r < 0 ? errno : 0;
}

static void
say(const char *call, long err, bool killing)
{
    const char *e = err ? strerrorname_np((int)err) : NULL;
    if (killing)
        pv_warn(MOD, "%s: NOT killed (%s)", call, err ? (e ? e : "?") : "it worked");
    else if (err == EPERM || err == ENOSYS)
        pv_warn(MOD, "%s: refused (%s)", call, e);
    else
        pv_warn(MOD, "%s: NOT refused (%s)", call, err ? (e ? e : "?") : "it worked");
}

static void
errno_probes(int fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int sv[2];
    long r;

    r = ret_errno(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    say("socket", r, false);
    r = ret_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    say("socketpair", r, false);
    r = ret_errno(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    say("connect", r, false);
    r = ret_errno(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
    say("bind", r, false);
    r = ret_errno(listen(fd, 1));
    say("listen", r, false);
    r = ret_errno(accept4(fd, NULL, NULL, SOCK_NONBLOCK));
    say("accept4", r, false);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    say("fork", pid < 0 ? errno : 0, false);
    r = ret_errno(syscall(__NR_clone3, NULL, (size_t)0));
    say("clone3", r, false);
    r = ret_errno(kill(getppid(), 0));
    say("kill(server)", r, false);
    r = ret_errno(syscall(__NR_pidfd_open, (long)getppid(), 0L));
    say("pidfd_open(server)", r, false);
    r = ret_errno(unshare(0));
    say("unshare", r, false);
    r = ret_errno(syscall(__NR_keyctl, -1L, 0L, 0L, 0L, 0L));
    say("keyctl", r, false);
    r = ret_errno(syscall(__NR_io_uring_setup, 0L, NULL));
    say("io_uring_setup", r, false);
}

static void
kill_probe(const char *call)
{
    long r;
    if (!strcmp(call, "execve")) {
        char *const argv[] = {"pearvisor", "--version", NULL};
        r = ret_errno(execve("/proc/self/exe", argv, NULL));
    } else if (!strcmp(call, "ptrace")) {
        r = ret_errno(ptrace(PTRACE_PEEKDATA, getppid(), NULL, NULL));
    } else if (!strcmp(call, "process_vm_readv")) {
        char byte;
        struct iovec local = {&byte, 1}, remote = {(void *)(uintptr_t)4096, 1};
        r = ret_errno(process_vm_readv(getppid(), &local, 1, &remote, 1, 0));
    } else if (!strcmp(call, "mount")) {
        r = ret_errno(mount("none", "/nonexistent-pv-hook", "tmpfs", 0, NULL));
    } else if (!strcmp(call, "bpf")) {
        r = ret_errno(syscall(__NR_bpf, -1L, NULL, 0L));
    } else {
        pv_warn(MOD, "%s: no such probe", call);
        return;
    }
    say(call, r, true);
}

void
pv_vtest_test_hook(const char *name, int client_fd)
{
    static const char prefix[] = "pv-hook-";
    if (strncmp(name, prefix, sizeof(prefix) - 1))
        return;
    const char *what = name + sizeof(prefix) - 1;
    if (!strcmp(what, "errno"))
        errno_probes(client_fd);
    else if (!strncmp(what, "kill-", 5))
        kill_probe(what + 5);
}
