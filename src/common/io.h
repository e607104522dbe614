/*
 * common/io: whole reads and writes on file descriptors, and small files
 * read whole. Each call restarts after EINTR and returns 0 or -errno.
 *
 * Threads: safe from any thread; each call works on the caller's fd only.
 */
#ifndef PV_COMMON_IO_H
#define PV_COMMON_IO_H

#include <stddef.h>

/* Writes all `len` bytes with write(2). */
int pv_io_write_all(int fd, const void *buf, size_t len);
/* Writes all `len` bytes to a socket with send(2) and MSG_NOSIGNAL: a closed peer
 * is -EPIPE, never SIGPIPE. */
int pv_io_send_all(int fd, const void *buf, size_t len);
/* Reads exactly `size` bytes: 0; 1 on end of file before the first byte; -EPIPE on
 * end of file part way. */
int pv_io_read_full(int fd, void *buf, size_t size);

/*
 * The first `max` bytes of the file at `path`, NUL-terminated, in memory the
 * caller frees; its length in *len_out when len_out is not NULL. NULL with
 * errno set when the file cannot be opened or memory runs out.
 */
char *pv_io_read_file(const char *path, size_t max, size_t *len_out);

#endif /* PV_COMMON_IO_H */
