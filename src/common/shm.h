/*
 * common/shm: the host layer for shared memory, the one place that knows how
 * this host makes memory a renderer maps and hands to a client or a VMM as a
 * file descriptor (Venus rings and reply streams, host-visible Vulkan
 * memory), and what its page size is.
 *
 * Built with meson's -Dshm=memfd (default: Linux's memfd_create, sealed so
 * the other side cannot grow or shrink it under our mapping) or -Dshm=posix
 * (shm_open with a random name, unlinked before it returns: POSIX, what
 * macOS has). POSIX shared memory has no seals: a client holding the fd can
 * ftruncate it, after which a renderer access past the new end faults
 * (SIGBUS). So posix is the portable seam, tested on Linux, not yet a
 * hardened path (docs/macos.md).
 *
 * Threads: safe from any thread; nothing is shared between calls.
 */
#ifndef PV_COMMON_SHM_H
#define PV_COMMON_SHM_H

#include <stddef.h>
#include <stdint.h>

/* The largest page size of a guest or client we serve (ARM64 kernels run
 * with 4, 16 or 64 KiB pages; Apple Silicon hosts have 16 KiB): shared
 * memory is made a multiple of it, so that any of them can map all of it.
 * Files are sparse: the rounding costs address space, not memory. */
#define PV_SHM_PAGE_MAX (64u * 1024u)

/* A new shared-memory file of `size` bytes (zero-filled), close-on-exec;
 * `name` (a few letters, shown in /proc/PID/maps for memfd) says what it is
 * for. Returns the fd, or -errno. */
int pv_shm_create(const char *name, uint64_t size);
/* Maps [0, size) of the shared-memory file `fd` read-write and shared, at an
 * address aligned to `align` (a power of two; a host driver may want more
 * than a page for imported host memory). NULL with errno set on failure;
 * munmap(p, size) undoes it. */
void *pv_shm_map(int fd, uint64_t size, size_t align);
/* "memfd" or "posix": what this build's pv_shm_create uses. */
const char *pv_shm_kind(void);
/* The host's page size in bytes (sysconf), never 0. */
size_t pv_host_page_size(void);
/* `size` rounded up to the larger of the host's page and PV_SHM_PAGE_MAX;
 * 0 when that overflows. */
uint64_t pv_shm_round(uint64_t size);

#endif /* PV_COMMON_SHM_H */
