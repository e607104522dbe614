/*
 * tests/unit/test_sandbox: the render process's syscall filter
 * (src/common/sandbox.c), installed for real in a forked child per probe.
 * Each probe makes one call and the child exits with the errno it got (0:
 * the call worked); a call the filter kills ends the child with SIGSYS.
 * Every probe is chosen so that without the filter it fails differently (a
 * bad fd gives EBADF, not EPERM) or works harmlessly, so a call the filter
 * missed shows up as such. A sanitizer build lets LeakSanitizer's calls
 * through (pv_sandbox_relaxed): the expectations follow it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sandbox.h"

#define KILLED (-1) /* expected: the child dies of SIGSYS */

static long
ret_errno(long r)
{
    return r < 0 ? errno : 0;
}

/* A probe whose call is one expression: its errno (0: it worked). */
#define PROBE(fn, call)                                                                            \
    static long fn(void)                                                                           \
    {                                                                                              \
        return ret_errno(call);                                                                    \
    }

static struct sockaddr unix_sa = {.sa_family = AF_UNIX};
static int pair[2];
static char *const true_argv[] = {"true", NULL};

PROBE(p_socket, socket(AF_UNIX, SOCK_STREAM, 0))
PROBE(p_socketpair, socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
PROBE(p_connect, connect(-1, &unix_sa, sizeof(unix_sa)))
PROBE(p_bind, bind(-1, &unix_sa, sizeof(unix_sa)))
PROBE(p_listen, listen(-1, 1))
PROBE(p_accept, accept(-1, NULL, NULL))
PROBE(p_accept4, accept4(-1, NULL, NULL, 0))
PROBE(p_clone3, syscall(__NR_clone3, NULL, (size_t)0))
PROBE(p_kill_parent, kill(getppid(), 0))
PROBE(p_kill_self, kill(getpid(), 0))
PROBE(p_tkill, syscall(__NR_tkill, (long)gettid(), 0L))
PROBE(p_unshare, unshare(0))
PROBE(p_keyctl, syscall(__NR_keyctl, -1L, 0L, 0L, 0L, 0L))
PROBE(p_userfaultfd, syscall(__NR_userfaultfd, 0x7fffffffL))
PROBE(p_perf, syscall(__NR_perf_event_open, NULL, 0L, -1L, -1L, 0L))
PROBE(p_io_uring, syscall(__NR_io_uring_setup, 0L, NULL))
PROBE(p_pidfd_open, syscall(__NR_pidfd_open, (long)getppid(), 0L))
PROBE(p_mknodat, mknodat(-1, "x", 0, 0))
PROBE(p_getpid, syscall(__NR_getpid))
PROBE(p_execve, execve("/bin/true", true_argv, NULL))
PROBE(p_execveat, syscall(__NR_execveat, AT_FDCWD, "/bin/true", true_argv, NULL, 0L))
PROBE(p_ptrace, ptrace(PTRACE_PEEKDATA, getpid(), NULL, NULL))
PROBE(p_vm_readv, process_vm_readv(getppid(), NULL, 0, NULL, 0, 0))
PROBE(p_vm_writev, process_vm_writev(getppid(), NULL, 0, NULL, 0, 0))
PROBE(p_pidfd_getfd, syscall(__NR_pidfd_getfd, -1L, 0L, 0L))
PROBE(p_mount, mount("none", "/nonexistent-pv", "tmpfs", 0, NULL))
PROBE(p_chroot, chroot("/nonexistent-pv"))
PROBE(p_bpf, syscall(__NR_bpf, -1L, NULL, 0L))
#ifdef __x86_64__
/* getpid through the x32 ABI (the bit alone): another architecture's numbering. */
PROBE(p_x32, syscall(0x40000000L | __NR_getpid))
#endif

static long
p_fork(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return pid < 0 ? errno : 0;
}

static void *
thread_main(void *arg)
{
    return arg;
}

static long
p_thread(void)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, thread_main, NULL);
    if (!err)
        pthread_join(t, NULL);
    return err;
}

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
    got_usr1 = sig;
}

static long
p_raise(void)
{
    signal(SIGUSR1, on_usr1);
    if (raise(SIGUSR1)) /* tgkill(own pid, own tid) */
        return errno;
    return got_usr1 == SIGUSR1 ? 0 : EINTR;
}

#ifdef __x86_64__
/* getpid (20) through the i386 entry point: AUDIT_ARCH_I386, not ours. */
static long
p_i386(void)
{
    long r = 20;
    __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
    return r < 0 ? -r : 0;
}
#endif

struct probe {
    const char *name;
    long (*fn)(void);
    int expect;         /* errno, 0 (works) or KILLED, in a plain build */
    int expect_relaxed; /* the same in a sanitizer build */
};

static const struct probe probes[] = {
    {"socket", p_socket, EPERM, EPERM},
    {"socketpair", p_socketpair, EPERM, EPERM},
    {"connect", p_connect, EPERM, EPERM},
    {"bind", p_bind, EPERM, EPERM},
    {"listen", p_listen, EPERM, EPERM},
    {"accept", p_accept, EPERM, EPERM},
    {"accept4", p_accept4, EPERM, EPERM},
    {"fork", p_fork, EPERM, 0},
    {"clone3", p_clone3, ENOSYS, ENOSYS},
    {"pthread_create", p_thread, 0, 0},
    {"kill(parent)", p_kill_parent, EPERM, EPERM},
    {"kill(self)", p_kill_self, 0, 0},
    {"raise", p_raise, 0, 0},
    {"tkill", p_tkill, EPERM, EPERM},
    {"unshare", p_unshare, EPERM, EPERM},
    {"keyctl", p_keyctl, EPERM, EPERM},
    {"userfaultfd", p_userfaultfd, EPERM, EPERM},
    {"perf_event_open", p_perf, EPERM, EPERM},
    {"io_uring_setup", p_io_uring, EPERM, EPERM},
    {"pidfd_open", p_pidfd_open, EPERM, EPERM},
    {"mknodat", p_mknodat, EPERM, EPERM},
    {"getpid", p_getpid, 0, 0},
    {"execve", p_execve, KILLED, EPERM},
    {"execveat", p_execveat, KILLED, EPERM},
    {"ptrace", p_ptrace, KILLED, ESRCH},
    {"process_vm_readv", p_vm_readv, KILLED, KILLED},
    {"process_vm_writev", p_vm_writev, KILLED, KILLED},
    {"pidfd_getfd", p_pidfd_getfd, KILLED, KILLED},
    {"mount", p_mount, KILLED, KILLED},
    {"chroot", p_chroot, KILLED, KILLED},
    {"bpf", p_bpf, KILLED, KILLED},
#ifdef __x86_64__
    {"x32 getpid", p_x32, KILLED, KILLED},
    {"i386 getpid", p_i386, KILLED, KILLED},
#endif
};

static void
describe(char *buf, size_t size, int what)
{
    if (what == KILLED)
        snprintf(buf, size, "killed by SIGSYS");
    else if (what == 0)
        snprintf(buf, size, "works");
    else
        snprintf(buf, size, "fails with %s", strerrorname_np(what) ? strerrorname_np(what) : "?");
}

/* Runs `p` in a child behind the filter: KILLED, or the errno it got (0: worked). */
static int
run_probe(const struct probe *p)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        int err = pv_sandbox_enter();
        if (err) {
            fprintf(stderr, "test_sandbox: pv_sandbox_enter: %s\n", strerror(-err));
            _exit(200);
        }
        _exit((int)p->fn() & 0xff);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st))
        return WTERMSIG(st) == SIGSYS ? KILLED : -100 - WTERMSIG(st);
    return WEXITSTATUS(st);
}

int
main(void)
{
#if !defined(__x86_64__) && !defined(__aarch64__)
    CHECK(pv_sandbox_enter() == -ENOSYS);
    return check_report("test_sandbox");
#endif
    bool relaxed = pv_sandbox_relaxed();
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        const struct probe *p = &probes[i];
        int want = relaxed ? p->expect_relaxed : p->expect;
        int got = run_probe(p);
        char w[64], g[64];
        describe(w, sizeof(w), want);
        describe(g, sizeof(g), got);
        CHECK_MSG(got != 200, "%s: the filter could not be installed", p->name);
        CHECK_MSG(got == want, "%s behind the filter: %s, expected: %s", p->name, g, w);
        if (got == want)
            printf("ok %s: %s\n", p->name, g);
    }
    /* Outside the filter the same probes behave otherwise: nothing above passes by accident. */
    CHECK(p_connect() == EBADF);
    CHECK(p_kill_parent() == 0);
    CHECK(p_clone3() != ENOSYS);
    return check_report("test_sandbox");
}
