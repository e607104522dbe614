/*
 * Unit tests for the shared-memory host layer (src/common/shm), in whichever
 * flavour this build selected (-Dshm=memfd or posix):
 *  1. sizes round up to the largest client page (PV_SHM_PAGE_MAX) and to
 *     the host's page, without overflow;
 *  2. a new object has the size asked, is zero-filled, close-on-exec, and
 *     leaves no name behind (memfd has none; POSIX's is unlinked at once);
 *  3. two mappings of one object, ours and a second one standing in for the
 *     client's, see each other's writes (the coherence the Venus client
 *     relies on), including a mapping aligned beyond the host's page;
 *  4. memfd only: the object is sealed against shrinking and growing, so a
 *     client cannot make our mapping fault.
 */
#include "shm.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned
count_dev_shm(void)
{
    DIR *d = opendir("/dev/shm");
    unsigned n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += !strncmp(e->d_name, "pv-", 3);
    closedir(d);
    return n;
}

static void
test_round(void)
{
    size_t page = pv_host_page_size();
    CHECK(page >= 4096 && (page & (page - 1)) == 0);
    uint64_t unit = page > PV_SHM_PAGE_MAX ? page : PV_SHM_PAGE_MAX;
    CHECK(pv_shm_round(1) == unit);
    CHECK(pv_shm_round(unit) == unit);
    CHECK(pv_shm_round(unit + 1) == 2 * unit);
    /* The Venus ring of the libkrun report: 131,268 bytes. */
    CHECK(pv_shm_round(131268) % 16384 == 0 && pv_shm_round(131268) >= 131268);
    CHECK(pv_shm_round(UINT64_MAX) == 0);
    CHECK(pv_shm_round(UINT64_MAX - unit) == 0 || pv_shm_round(UINT64_MAX - unit) % unit == 0);
}

static void
test_create_and_share(void)
{
    unsigned before = count_dev_shm();
    const uint64_t size = 3 * 65536;
    int fd = pv_shm_create("pv-test", size);
    CHECK_MSG(fd >= 0, "pv_shm_create (%s): %s", pv_shm_kind(), fd < 0 ? strerror(-fd) : "");
    if (fd < 0)
        return;
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == size);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(count_dev_shm() == before); /* nothing left by name */

    uint8_t *ours = pv_shm_map(fd, size, 0);
    uint8_t *theirs = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(ours && theirs != MAP_FAILED);
    if (ours && theirs != MAP_FAILED) {
        CHECK(ours[0] == 0 && ours[size - 1] == 0);
        ours[5] = 0xa5;
        theirs[size - 7] = 0x5a;
        CHECK(theirs[5] == 0xa5 && ours[size - 7] == 0x5a);
    }
    /* Aligned beyond the page: what a driver's minImportedHostPointerAlignment may ask. */
    size_t big = 4 * pv_host_page_size() > 65536 ? 4 * pv_host_page_size() : 65536;
    uint8_t *aligned = pv_shm_map(fd, size, big);
    CHECK(aligned && (uintptr_t)aligned % big == 0);
    if (aligned && ours) {
        CHECK(aligned[5] == 0xa5);
        aligned[9] = 7;
        CHECK(ours[9] == 7);
        munmap(aligned, size);
    }
    CHECK(pv_shm_map(fd, size, 3) == NULL && errno == EINVAL); /* not a power of two */
    CHECK(pv_shm_map(fd, 0, 0) == NULL);

    if (!strcmp(pv_shm_kind(), "memfd")) {
        CHECK(ftruncate(fd, (off_t)size / 2) < 0 && errno == EPERM);
        CHECK(ftruncate(fd, (off_t)size * 2) < 0 && errno == EPERM);
    } else {
        CHECK(!strcmp(pv_shm_kind(), "posix"));
    }
    if (ours)
        munmap(ours, size);
    if (theirs != MAP_FAILED)
        munmap(theirs, size);
    close(fd);
    CHECK(pv_shm_create("pv-test", (uint64_t)INT64_MAX + 1) == -EINVAL);
}

int
main(void)
{
    test_round();
    test_create_and_share();
    if (check_report("test_shm"))
        return 1;
    printf("test_shm: all checks passed (%s)\n", pv_shm_kind());
    return 0;
}
