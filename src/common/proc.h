/*
 * common/proc: child programs: starting one with chosen standard streams and
 * environment, capturing what it prints, waiting for it to end.
 *
 * Threads: safe from any thread, but a child started while another thread
 *          holds a lock sees it held (fork): the child only sets up its
 *          streams and environment, then execs.
 */
#ifndef PV_COMMON_PROC_H
#define PV_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pv_proc_spec {
    char *const *argv;  /* argv[0] is the program's path (no PATH search); NULL-terminated */
    char *const *env;   /* NULL-terminated "NAME=VALUE" (set) or "NAME=" (unset); NULL: none */
    int in, out, err;   /* the child's stdin, stdout, stderr: an fd, or -1 to keep ours */
};

/* A spec that keeps all three streams (fd 0 is a real descriptor, so no zero-init). */
#define PV_PROC_SPEC(argv_) {.argv = (argv_), .env = NULL, .in = -1, .out = -1, .err = -1}

/* For out and err with pv_proc_capture(): this stream goes to the capture buffer. */
#define PV_PROC_CAPTURE (-2)

/*
 * Starts the program; its pid, or -errno. If the exec fails the child says
 * so on its stderr and exits with 127.
 */
pid_t pv_proc_spawn(const struct pv_proc_spec *s);

/* Waits for the child to end: its exit status, 128 + the signal that ended it, or -errno. */
int pv_proc_wait(pid_t pid);

/*
 * Runs the program to its end with the streams marked PV_PROC_CAPTURE going
 * to buf (NUL-terminated; what does not fit is read and dropped); when
 * timeout_ms > 0 the child is killed (SIGKILL) once that has passed.
 * Returns as pv_proc_wait().
 */
int pv_proc_capture(const struct pv_proc_spec *s, int timeout_ms, char *buf, size_t size);

/* Waits up to `ms` for the process behind `pidfd` to exit; false on timeout or a bad pidfd. */
bool pv_proc_wait_exit(int pidfd, int ms);

#endif /* PV_COMMON_PROC_H */
