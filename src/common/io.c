/* common/io: see io.h. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int
put_all(int fd, const void *buf, size_t len, bool is_socket)
{
    const char *p = buf;
    while (len) {
        ssize_t n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
pv_io_write_all(int fd, const void *buf, size_t len)
{
    return put_all(fd, buf, len, false);
}

int
pv_io_send_all(int fd, const void *buf, size_t len)
{
    return put_all(fd, buf, len, true);
}

int
pv_io_read_full(int fd, void *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (char *)buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return got ? -EPIPE : 1;
        got += (size_t)n;
    }
    return 0;
}

char *
pv_io_read_file(const char *path, size_t max, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(max + 1);
    size_t len = 0;
    ssize_t n;
    while (buf && len < max &&
           ((n = read(fd, buf + len, max - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    if (buf)
        buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}
