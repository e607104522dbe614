/* common/shm: see shm.h. The only file that calls memfd_create or shm_open. */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(PV_SHM_POSIX)
#define PV_SHM_POSIX 0
#endif

size_t
pv_host_page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

uint64_t
pv_shm_round(uint64_t size)
{
    uint64_t align = pv_host_page_size();
    if (align < PV_SHM_PAGE_MAX)
        align = PV_SHM_PAGE_MAX;
    if (size > UINT64_MAX - (align - 1))
        return 0;
    return (size + align - 1) / align * align;
}

void *
pv_shm_map(int fd, uint64_t size, size_t align)
{
    size_t page = pv_host_page_size();
    if (!size || size > SIZE_MAX - align || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= page) {
        void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* mmap aligns to pages only: reserve align bytes more, map the file over
     * the aligned part of the reservation, and give back the rest. */
    size_t len = ((size_t)size + page - 1) / page * page;
    uint8_t *res = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (res == MAP_FAILED)
        return NULL;
    uint8_t *at = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
    void *p = mmap(at, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        munmap(res, len + align);
        errno = err;
        return NULL;
    }
    if (at > res)
        munmap(res, (size_t)(at - res));
    if (res + len + align > at + len)
        munmap(at + len, (size_t)(res + len + align - (at + len)));
    return p;
}

#if PV_SHM_POSIX

const char *
pv_shm_kind(void)
{
    return "posix";
}

/* A name nobody else guesses: the object exists by name only between
 * shm_open and shm_unlink, and O_EXCL refuses one that is already there.
 * macOS limits names to 31 bytes; ours has 20. */
static int
open_unique(void)
{
    for (int tries = 0; tries < 16; tries++) {
        uint64_t r;
        arc4random_buf(&r, sizeof(r));
        char name[32];
        snprintf(name, sizeof(name), "/pv-%016llx", (unsigned long long)r);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            shm_unlink(name);
            return fd;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

int
pv_shm_create(const char *name, uint64_t size)
{
    (void)name; /* POSIX names are global: ours are random, not descriptive */
    if (size > (uint64_t)INT64_MAX)
        return -EINVAL;
    int fd = open_unique();
    if (fd < 0)
        return fd;
    /* shm_open sets FD_CLOEXEC (POSIX); say so in case a libc does not. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || ftruncate(fd, (off_t)size) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

#else

const char *
pv_shm_kind(void)
{
    return "memfd";
}

int
pv_shm_create(const char *name, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return -EINVAL;
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    /* The other side must not shrink it under our mapping (SIGBUS) nor grow it. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

#endif
