/*
 * common/sandbox: what a render process does to itself once its renderer
 * and host driver are loaded: a syscall filter (seccomp BPF, written by
 * hand here, no libseccomp) and no ptrace-style access from processes of
 * the same user (PR_SET_DUMPABLE 0).
 *
 * Owner:   the render processes of the vtest front door
 *          (src/gpu/vtest/server.c) call pv_sandbox_enter();
 *          docs/threat-model.md lists every call the filter refuses, with
 *          KILL or ERRNO, and why.
 * Trust:   the filter is a deny list, not an allow list: a host driver
 *          (lavapipe, NVIDIA's, later MoltenVK) makes calls we cannot list
 *          in advance, so it keeps every call a renderer may need (files,
 *          ioctl, mmap, threads, futexes) and takes away what a process that
 *          runs a hostile client's commands must never do: run programs,
 *          make new processes, reach other processes, open new sockets,
 *          mount, load kernel code.
 * Threads: pv_sandbox_enter() applies to every thread of the process
 *          (SECCOMP_FILTER_FLAG_TSYNC); threads started later inherit it.
 */
#ifndef PV_COMMON_SANDBOX_H
#define PV_COMMON_SANDBOX_H

#include <stdbool.h>

/*
 * Installs the filter in the calling process for good (it cannot be taken
 * off) and makes the process non-dumpable. 0, -ENOSYS on an architecture
 * without a filter (only x86_64 and aarch64 have one), or -errno from the
 * kernel.
 */
int pv_sandbox_enter(void);

/*
 * True in a sanitizer build: LeakSanitizer stops the world with a tracer
 * made by clone() without CLONE_THREAD that ptrace()s the threads, and a
 * report starts the symbolizer with fork and exec. There, fork-like clone
 * and ptrace are let through and exec fails with EPERM instead of killing.
 */
bool pv_sandbox_relaxed(void);

#endif /* PV_COMMON_SANDBOX_H */
