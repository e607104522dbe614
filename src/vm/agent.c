/* vm/agent: the host side of the guest agent protocol (guest/agent/proto.h). */
#include "vm.h"

#include "../../guest/agent/proto.h"
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

int
pv_agent_open(struct pv_agent *ag, const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, sock);
    ag->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ag->fd < 0)
        return -errno;
    if (connect(ag->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int err = -errno;
        close(ag->fd);
        ag->fd = -1;
        return err;
    }
    /* Ids start somewhere new per connection, so replies to an earlier
     * client that the guest still sends are never taken for ours. */
    ag->next_id = (uint32_t)pv_clock_now_ms() ^ ((uint32_t)getpid() << 16);
    return 0;
}

void
pv_agent_close(struct pv_agent *ag)
{
    if (ag->fd >= 0)
        close(ag->fd);
    ag->fd = -1;
}

static int
send_req(struct pv_agent *ag, uint8_t type, const void *payload, uint32_t len, uint32_t *id)
{
    *id = ++ag->next_id;
    struct pv_agent_hdr h = {
        .magic = {PV_AGENT_MAGIC0, PV_AGENT_MAGIC1},
        .type = type,
        .id = pv_agent_le32(*id),
        .len = pv_agent_le32(len),
    };
    int err = pv_io_send_all(ag->fd, &h, sizeof(h));
    if (!err && len)
        err = pv_io_send_all(ag->fd, payload, len);
    return err;
}

/* Reads exactly len bytes, waiting at most until deadline (-1: forever).
 * A readable qemu_pidfd (QEMU exited) ends the wait with -ECHILD. */
static int
recv_all(struct pv_agent *ag, void *buf, size_t len, int64_t deadline, int qemu_pidfd)
{
    char *p = buf;
    while (len) {
        int left = -1;
        if (deadline >= 0) {
            left = pv_clock_ms_left(deadline);
            if (left <= 0)
                return -ETIMEDOUT;
        }
        struct pollfd fds[2] = {
            {.fd = ag->fd, .events = POLLIN},
            {.fd = qemu_pidfd, .events = POLLIN},
        };
        int r = poll(fds, qemu_pidfd >= 0 ? 2 : 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            continue;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(ag->fd, p, len, 0);
            if (n == 0)
                return -EPIPE;
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                return -errno;
            if (n > 0) {
                p += n;
                len -= (size_t)n;
            }
            continue;
        }
        if (qemu_pidfd >= 0 && (fds[1].revents & POLLIN))
            return -ECHILD;
    }
    return 0;
}

/* Reads one frame for request id; frames for other ids are dropped. The
 * payload (at most PV_AGENT_MAX_PAYLOAD) goes to buf. */
static int
recv_frame(struct pv_agent *ag, uint32_t id, uint8_t *type, uint8_t *buf, uint32_t *len,
           int64_t deadline, int qemu_pidfd)
{
    for (;;) {
        struct pv_agent_hdr h;
        int err = recv_all(ag, &h, sizeof(h), deadline, qemu_pidfd);
        if (err)
            return err;
        uint32_t l = pv_agent_le32(h.len);
        if (h.magic[0] != PV_AGENT_MAGIC0 || h.magic[1] != PV_AGENT_MAGIC1 ||
            l > PV_AGENT_MAX_PAYLOAD)
            return -EPROTO; /* guest bytes we cannot frame: give up on this link */
        if (l && (err = recv_all(ag, buf, l, deadline, qemu_pidfd)))
            return err;
        if (pv_agent_le32(h.id) != id)
            continue;
        *type = h.type;
        *len = l;
        return 0;
    }
}

int
pv_agent_ping(struct pv_agent *ag, int timeout_ms, int qemu_pidfd)
{
    uint32_t id;
    int err = send_req(ag, PV_AGENT_PING, NULL, 0, &id);
    if (err)
        return err;
    int64_t deadline = pv_clock_now_ms() + timeout_ms;
    static uint8_t buf[PV_AGENT_MAX_PAYLOAD];
    for (;;) {
        uint8_t type;
        uint32_t len;
        if ((err = recv_frame(ag, id, &type, buf, &len, deadline, qemu_pidfd)))
            return err;
        if (type == PV_AGENT_READY)
            return 0;
    }
}

int
pv_agent_exec(struct pv_agent *ag, char *const argv[], int out_fd, int err_fd, int *status,
              int qemu_pidfd)
{
    size_t len = 0;
    for (size_t i = 0; argv[i]; i++)
        len += strlen(argv[i]) + 1;
    if (len == 0 || len > PV_AGENT_MAX_PAYLOAD)
        return -E2BIG;
    char *payload = malloc(len), *o = payload;
    if (!payload)
        return -ENOMEM;
    for (size_t i = 0; argv[i]; i++)
        o = stpcpy(o, argv[i]) + 1;
    uint32_t id;
    int err = send_req(ag, PV_AGENT_EXEC, payload, (uint32_t)len, &id);
    free(payload);
    if (err)
        return err;
    static uint8_t buf[PV_AGENT_MAX_PAYLOAD];
    bool out_ok = true, err_ok = true;
    for (;;) {
        uint8_t type;
        uint32_t n;
        if ((err = recv_frame(ag, id, &type, buf, &n, -1, qemu_pidfd)))
            return err;
        switch (type) {
        case PV_AGENT_OUT:
            /* A closed stdout (pearvisor run ... | head) must not lose the
             * exit status: stop copying, keep reading. */
            if (out_ok && pv_io_write_all(out_fd, buf, n))
                out_ok = false;
            break;
        case PV_AGENT_ERR:
            if (err_ok && pv_io_write_all(err_fd, buf, n))
                err_ok = false;
            break;
        case PV_AGENT_EXIT: {
            if (n != 4)
                return -EPROTO;
            uint32_t st;
            memcpy(&st, buf, 4);
            st = pv_agent_le32(st);
            *status = st > 255 ? 255 : (int)st;
            return 0;
        }
        default:
            break;
        }
    }
}
