/* common/proc: see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

/* In the child: applies "NAME=VALUE" / "NAME=" strings to the environment. */
static void
apply_env(char *const env[])
{
    for (size_t i = 0; env && env[i]; i++) {
        char name[256];
        const char *eq = strchr(env[i], '=');
        if (!eq || (size_t)(eq - env[i]) >= sizeof(name))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
        if (eq[1])
            setenv(name, eq + 1, 1);
        else
            unsetenv(name);
    }
}

pid_t
pv_proc_spawn(const struct pv_proc_spec *s)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* dup2 clears O_CLOEXEC on the copy: the program gets these three. */
        if (s->in >= 0)
            dup2(s->in, 0);
        if (s->out >= 0)
            dup2(s->out, 1);
        if (s->err >= 0)
            dup2(s->err, 2);
        apply_env(s->env);
        execv(s->argv[0], s->argv);
        dprintf(2, "cannot run %s: %s\n", s->argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int
pv_proc_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
pv_proc_capture(const struct pv_proc_spec *s, int timeout_ms, char *buf, size_t size)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC))
        return -errno;
    struct pv_proc_spec c = *s;
    if (c.out == PV_PROC_CAPTURE)
        c.out = pfd[1];
    if (c.err == PV_PROC_CAPTURE)
        c.err = pfd[1];
    pid_t pid = pv_proc_spawn(&c);
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return (int)pid;
    }
    close(pfd[1]);
    size_t len = 0;
    char junk[4096];
    ssize_t n;
    int64_t deadline = timeout_ms > 0 ? pv_clock_now_ms() + timeout_ms : 0;
    for (;;) {
        if (deadline) {
            struct pollfd rp = {.fd = pfd[0], .events = POLLIN};
            int left = pv_clock_ms_left(deadline);
            if (left <= 0 || poll(&rp, 1, left) == 0) {
                kill(pid, SIGKILL);
                deadline = 0;
            }
        }
        if (len + 1 < size)
            n = read(pfd[0], buf + len, size - 1 - len);
        else
            n = read(pfd[0], junk, sizeof(junk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (len + 1 < size)
            len += (size_t)n;
    }
    close(pfd[0]);
    if (size)
        buf[len] = '\0';
    return pv_proc_wait(pid);
}

bool
pv_proc_wait_exit(int pidfd, int ms)
{
    if (pidfd < 0)
        return false;
    int64_t end = pv_clock_now_ms() + ms;
    for (;;) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int left = pv_clock_ms_left(end);
        int r = poll(&pfd, 1, left > 0 ? left : 0);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}
