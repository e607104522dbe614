/* common/sandbox: the render process's syscall filter; see sandbox.h and docs/threat-model.md. */
#include "sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RELAXED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RELAXED 1
#endif
#endif
#ifndef RELAXED
#define RELAXED 0
#endif

bool
pv_sandbox_relaxed(void)
{
    return RELAXED;
}

#ifdef FILTER_ARCH

enum action {
    KILL,      /* the whole process dies of SIGSYS */
    DENY,      /* fails with EPERM */
    NOSYS,     /* fails with ENOSYS: glibc then falls back to an older call we can inspect */
    SELF,      /* allowed when its first argument (a pid or thread group id) is our own pid */
    THREAD,    /* clone: allowed with CLONE_THREAD (a thread), EPERM without (a process) */
    ALLOW,     /* only in a relaxed (sanitizer) build */
};

struct rule {
    int nr;
    enum action act;
};

/* KILL in a plain build; in a sanitizer build `relaxed` instead. */
#define STRICT(relaxed) (RELAXED ? (relaxed) : KILL)

/*
 * The calls refused, by what they would let a taken-over render process do.
 * KILL where nothing a render process runs has a reason to try the call (a
 * try means the process is no longer ours, and a failure it could see would
 * only help it probe); DENY where a library might try it and carry on
 * without it. Numbers from the kernel headers of the architecture built for,
 * x86_64 or aarch64 (FILTER_ARCH is checked first).
 */
static const struct rule rules[] = {
    /* run another program */
    {__NR_execve, STRICT(DENY)},
    {__NR_execveat, STRICT(DENY)},
    /* make a new process: a thread is fine, a fork is not */
    {__NR_clone, RELAXED ? ALLOW : THREAD},
#ifdef __NR_clone3
    {__NR_clone3, NOSYS}, /* its flags are in memory, out of BPF's reach */
#endif
#ifdef __NR_fork
    {__NR_fork, RELAXED ? ALLOW : DENY},
#endif
#ifdef __NR_vfork
    {__NR_vfork, RELAXED ? ALLOW : DENY},
#endif
    /* reach into other processes (the server, other clients' render processes) */
    {__NR_ptrace, RELAXED ? ALLOW : KILL},
    {__NR_process_vm_readv, KILL},
    {__NR_process_vm_writev, KILL},
#ifdef __NR_pidfd_getfd
    {__NR_pidfd_getfd, KILL},
#endif
#ifdef __NR_pidfd_open
    {__NR_pidfd_open, DENY},
#endif
#ifdef __NR_pidfd_send_signal
    {__NR_pidfd_send_signal, DENY},
#endif
#ifdef __NR_process_madvise
    {__NR_process_madvise, DENY},
#endif
    {__NR_kill, SELF},
    {__NR_rt_sigqueueinfo, SELF},
    {__NR_tgkill, SELF},
    {__NR_rt_tgsigqueueinfo, SELF},
    {__NR_tkill, DENY},
    /* new sockets, or the other end of one */
    {__NR_socket, DENY},
    {__NR_socketpair, DENY},
    {__NR_connect, DENY},
    {__NR_bind, DENY},
    {__NR_listen, DENY},
    {__NR_accept, DENY},
    {__NR_accept4, DENY},
    /* namespaces and mounts */
    {__NR_unshare, DENY},
    {__NR_setns, DENY},
    {__NR_mount, KILL},
    {__NR_umount2, KILL},
    {__NR_pivot_root, KILL},
    {__NR_chroot, KILL},
#ifdef __NR_open_tree
    {__NR_open_tree, KILL},
    {__NR_move_mount, KILL},
    {__NR_fsopen, KILL},
    {__NR_fsconfig, KILL},
    {__NR_fsmount, KILL},
    {__NR_fspick, KILL},
#endif
#ifdef __NR_mount_setattr
    {__NR_mount_setattr, KILL},
#endif
    /* the kernel itself: new code, reboots, swap, raw handles and ports */
    {__NR_kexec_load, KILL},
#ifdef __NR_kexec_file_load
    {__NR_kexec_file_load, KILL},
#endif
    {__NR_init_module, KILL},
    {__NR_finit_module, KILL},
    {__NR_delete_module, KILL},
    {__NR_reboot, KILL},
    {__NR_swapon, KILL},
    {__NR_swapoff, KILL},
    {__NR_bpf, KILL},
    {__NR_open_by_handle_at, KILL},
#ifdef __NR_iopl
    {__NR_iopl, KILL},
#endif
#ifdef __NR_ioperm
    {__NR_ioperm, KILL},
#endif
#ifdef __NR_mknod
    {__NR_mknod, DENY},
#endif
    {__NR_mknodat, DENY},
    /* kernel interfaces exploits favour that no renderer needs */
    {__NR_keyctl, DENY},
    {__NR_add_key, DENY},
    {__NR_request_key, DENY},
    {__NR_userfaultfd, DENY},
    {__NR_perf_event_open, DENY},
#ifdef __NR_io_uring_setup
    {__NR_io_uring_setup, DENY},
    {__NR_io_uring_enter, DENY},
    {__NR_io_uring_register, DENY},
#endif
};
#define N_RULES (sizeof(rules) / sizeof(rules[0]))

/* Each rule takes at most 5 instructions; the header and the end, 7. */
#define MAX_INSNS (7 + 5 * N_RULES)

struct prog {
    struct sock_filter ins[MAX_INSNS];
    unsigned n;
};

static void
emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    p->ins[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void
ret(struct prog *p, uint32_t what)
{
    emit(p, BPF_RET | BPF_K, 0, 0, what);
}

#define RET_DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define RET_NOSYS (SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))
/* The low 32 bits of the first argument (both architectures are little-endian here). */
#define ARG0_LO offsetof(struct seccomp_data, args[0])
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ARG0_LO assumes little-endian");

static void
build(struct prog *p, uint32_t self)
{
    p->n = 0;
    /* Another architecture's numbers mean other calls: refuse the lot. */
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, FILTER_ARCH);
    ret(p, SECCOMP_RET_KILL_PROCESS);
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    /* The x32 ABI shares the arch value and sets this bit: its numbers are other calls too. */
    emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, 0x40000000u);
    ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
    for (size_t i = 0; i < N_RULES; i++) {
        const struct rule *r = &rules[i];
        switch (r->act) {
        case ALLOW:
            break;
        case KILL:
        case DENY:
        case NOSYS:
            /* Not this call: skip the return. */
            emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)r->nr);
            ret(p, r->act == KILL ? SECCOMP_RET_KILL_PROCESS
                   : r->act == DENY ? RET_DENY : RET_NOSYS);
            break;
        case SELF:
        case THREAD:
            /* Not this call: skip the four below, the accumulator still holds nr. */
            emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)r->nr);
            emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG0_LO);
            if (r->act == SELF)
                emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, self);
            else
                emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, CLONE_THREAD);
            ret(p, SECCOMP_RET_ALLOW);
            ret(p, RET_DENY);
            break;
        }
    }
    ret(p, SECCOMP_RET_ALLOW);
}

int
pv_sandbox_enter(void)
{
    struct prog p;
    build(&p, (uint32_t)getpid());
    struct sock_fprog fprog = {.len = (unsigned short)p.n, .filter = p.ins};
    /* Without it an unprivileged process may not install a filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    /* Processes of the same user may no longer ptrace us, read our memory
     * through /proc/PID/mem or open our fds through /proc/PID/fd. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return -errno;
    long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
    if (r < 0)
        return -errno;
    if (r > 0) /* TSYNC: the thread that could not take the filter */
        return -EBUSY;
    return 0;
}

#else /* no filter for this architecture */

int
pv_sandbox_enter(void)
{
    return -ENOSYS;
}

#endif
