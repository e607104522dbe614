/*
 * xwin.c: the one thing the VM manager says to a VM's private Xvfb: put
 * QEMU's windows at the screen's origin.
 *
 * The private Xvfb has no window manager. SDL centres its first window
 * (QEMU's 640x480 console before the guest sets a mode) and keeps that corner
 * when the guest's mode grows it, so the guest's display would hang off the
 * screen's right and bottom edges and `pearvisor screenshot` (the Xvfb
 * screen, read from -fbdir) would show a cropped, shifted picture. Moving the
 * top-level windows to (0, 0) makes the screen the guest's display.
 *
 * A few X11 core requests over the server's Unix socket (no Xlib in the VM
 * manager): the connection setup (no authorization: the VM's Xvfb is
 * started without -auth and listens only on its socket), QueryTree of the
 * root window, ConfigureWindow x/y for each child, GetInputFocus as the round
 * trip that says the moves are done. Replies come from our own Xvfb; they
 * are still read with bounds.
 */
#include "vm.h"

#include "clock.h"
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define X_QUERY_TREE 15
#define X_CONFIGURE_WINDOW 12
#define X_GET_INPUT_FOCUS 43
#define X_CONFIG_X 0x1
#define X_CONFIG_Y 0x2

static int
read_full(int fd, void *buf, size_t len, int64_t end)
{
    uint8_t *p = buf;
    while (len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = pv_clock_ms_left(end);
        if (left <= 0)
            return -ETIMEDOUT;
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r ? -errno : -ETIMEDOUT;
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Reads one reply (type 1), skipping events; errors (type 0) fail. The reply's
 * extra data, up to max bytes, goes to extra; *nextra says how much. */
static int
read_reply(int fd, uint8_t head[32], uint8_t *extra, size_t max, size_t *nextra, int64_t end)
{
    for (;;) {
        int err = read_full(fd, head, 32, end);
        if (err)
            return err;
        if (head[0] == 0)
            return -EPROTO;
        if (head[0] != 1)
            continue; /* an event */
        size_t len = (size_t)le32(head + 4) * 4;
        if (len > max)
            return -E2BIG;
        if (len && (err = read_full(fd, extra, len, end)))
            return err;
        *nextra = len;
        return 0;
    }
}

/* Connects and returns the first screen's root window in *root. */
static int
x_connect(const char *display, int64_t end, int *out_fd, uint32_t *root)
{
    char *e;
    long num = strtol(display[0] == ':' ? display + 1 : display, &e, 10);
    if (display[0] != ':' || num < 0 || (*e && *e != '.'))
        return -EINVAL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/.X11-unix/X%ld", num);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int err = -errno;
        close(fd);
        return err;
    }
    /* 'l': little endian; protocol 11.0; no authorization. */
    const uint8_t setup[12] = {'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t head[8];
    int err = pv_io_write_all(fd, setup, sizeof(setup));
    if (!err)
        err = read_full(fd, head, sizeof(head), end);
    if (!err && head[0] != 1)
        err = -EACCES;
    size_t len = err ? 0 : (size_t)le16(head + 6) * 4;
    uint8_t *info = len >= 32 && len <= (1u << 20) ? malloc(len) : NULL;
    if (!err && !info)
        err = -EPROTO;
    if (!err)
        err = read_full(fd, info, len, end);
    if (!err) {
        /* Fixed part (32), the vendor string (padded), the pixmap formats
         * (8 bytes each), then the screens; a screen starts with its root. */
        size_t vendor = le16(info + 16), nformats = info[21];
        size_t off = 32 + ((vendor + 3) & ~(size_t)3) + 8 * nformats;
        if (info[20] == 0 || off + 4 > len)
            err = -EPROTO;
        else
            *root = le32(info + off);
    }
    free(info);
    if (err) {
        close(fd);
        return err;
    }
    *out_fd = fd;
    return 0;
}

int
pv_xvfb_windows_to_origin(const char *display, int timeout_ms)
{
    int64_t end = pv_clock_now_ms() + timeout_ms;
    int fd = -1;
    uint32_t root = 0;
    int err = x_connect(display, end, &fd, &root);
    if (err)
        return err;
    /* The windows may not exist yet: QEMU's display comes up as it starts. */
    uint8_t head[32], *kids = malloc(4096 * 4);
    int moved = 0;
    if (!kids)
        err = -ENOMEM;
    while (!err) {
        uint8_t qt[8] = {X_QUERY_TREE, 0, 2, 0};
        put32(qt + 4, root);
        size_t n = 0;
        if ((err = pv_io_write_all(fd, qt, sizeof(qt))) ||
            (err = read_reply(fd, head, kids, 4096 * 4, &n, end)))
            break;
        size_t count = le16(head + 16);
        if (count * 4 > n) {
            err = -EPROTO;
            break;
        }
        for (size_t i = 0; i < count && !err; i++) {
            uint8_t cw[20] = {X_CONFIGURE_WINDOW, 0, 5, 0};
            put32(cw + 4, le32(kids + 4 * i));
            cw[8] = X_CONFIG_X | X_CONFIG_Y;
            /* values: x = 0, y = 0 (already zero) */
            err = pv_io_write_all(fd, cw, sizeof(cw));
            moved++;
        }
        if (err || count)
            break;
        if (pv_clock_ms_left(end) <= 0) {
            err = -ETIMEDOUT;
            break;
        }
        poll(NULL, 0, 50);
    }
    if (!err) {
        /* A round trip: the server has handled the moves before its reply. */
        const uint8_t gif[4] = {X_GET_INPUT_FOCUS, 0, 1, 0};
        size_t n;
        err = pv_io_write_all(fd, gif, sizeof(gif));
        if (!err)
            err = read_reply(fd, head, kids, 4096 * 4, &n, end);
    }
    free(kids);
    close(fd);
    return err ? err : moved;
}
