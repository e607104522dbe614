/* vm/qmp: a small QMP client (one JSON object per line) and a JSON key finder. */
#include "vm.h"

#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Skips one JSON value starting at p; returns the end, or NULL if cut off. */
static const char *
json_skip(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end)
        return NULL;
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = json_skip(p, end);
                if (!p)
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return NULL;
    }
    while (p < end && !strchr(",}] \t\r\n", *p)) /* number, true, false, null */
        p++;
    return p;
}

bool
pv_json_find(const char *json, size_t len, const char *key, const char **val, size_t *vlen)
{
    const char *p = json, *end = json + len;
    size_t klen = strlen(key);
    while (p < end && *p != '{')
        p++;
    if (p >= end)
        return false;
    p++;
    for (;;) {
        while (p < end && strchr(" \t\r\n,", *p))
            p++;
        if (p >= end || *p != '"')
            return false;
        const char *kstart = p + 1;
        const char *kend = json_skip(p, end);
        if (!kend)
            return false;
        bool match = (size_t)(kend - 1 - kstart) == klen && !memcmp(kstart, key, klen);
        p = kend;
        while (p < end && (*p == ' ' || *p == ':'))
            p++;
        const char *vstart = p;
        const char *vend = json_skip(p, end);
        if (!vend)
            return false;
        while (vstart < vend && strchr(" \t\r\n", *vstart))
            vstart++;
        if (match) {
            *val = vstart;
            *vlen = (size_t)(vend - vstart);
            return true;
        }
        p = vend;
    }
}

bool
pv_json_find_str(const char *json, size_t len, const char *key, char *out, size_t size)
{
    const char *v;
    size_t vl;
    if (!pv_json_find(json, len, key, &v, &vl) || vl < 2 || v[0] != '"' || size == 0)
        return false;
    size_t o = 0;
    for (size_t i = 1; i + 1 < vl && o + 1 < size; i++) {
        char c = v[i];
        if (c == '\\' && i + 2 < vl) {
            c = v[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Reads one line into line (NUL-terminated, without the newline). */
static int
qmp_line(struct pv_qmp *q, char *line, size_t size, int64_t deadline)
{
    for (;;) {
        char *nl = memchr(q->buf, '\n', q->len);
        if (nl) {
            size_t n = (size_t)(nl - q->buf);
            size_t c = n < size - 1 ? n : size - 1;
            memcpy(line, q->buf, c);
            line[c] = '\0';
            memmove(q->buf, nl + 1, q->len - n - 1);
            q->len -= n + 1;
            return 0;
        }
        if (q->len == sizeof(q->buf)) /* a longer line than we care about: drop it */
            q->len = 0;
        int left = pv_clock_ms_left(deadline);
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0)
            continue;
        ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
        if (n == 0)
            return -EPIPE;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
        if (n > 0)
            q->len += (size_t)n;
    }
}

int
pv_qmp_cmd(struct pv_qmp *q, const char *cmd, char *ret, size_t ret_size, int timeout_ms)
{
    return pv_qmp_cmd_args(q, cmd, NULL, ret, ret_size, timeout_ms);
}

int
pv_qmp_cmd_args(struct pv_qmp *q, const char *cmd, const char *args, char *ret, size_t ret_size,
                int timeout_ms)
{
    char req[PATH_MAX + 512];
    int n = args ? snprintf(req, sizeof(req), "{\"execute\": \"%s\", \"arguments\": %s}\n", cmd,
                            args)
                 : snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", cmd);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -EINVAL;
    if (send(q->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -errno ? -errno : -EIO;
    int64_t deadline = pv_clock_now_ms() + timeout_ms;
    static char line[16384];
    for (;;) {
        int err = qmp_line(q, line, sizeof(line), deadline);
        if (err)
            return err;
        const char *v;
        size_t vl;
        size_t len = strlen(line);
        if (pv_json_find(line, len, "return", &v, &vl)) {
            if (ret && ret_size) {
                size_t c = vl < ret_size - 1 ? vl : ret_size - 1;
                memcpy(ret, v, c);
                ret[c] = '\0';
            }
            return 0;
        }
        if (pv_json_find(line, len, "error", &v, &vl)) {
            if (ret && ret_size)
                pv_json_find_str(v, vl, "desc", ret, ret_size);
            return -EIO;
        }
        /* Anything else is an asynchronous event: skip it. */
    }
}

int
pv_qmp_open(struct pv_qmp *q, const char *sock, int timeout_ms)
{
    q->len = 0;
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (q->fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        close(q->fd);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, sock);
    if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int err = -errno;
        close(q->fd);
        q->fd = -1;
        return err;
    }
    char line[1024];
    int err = qmp_line(q, line, sizeof(line), pv_clock_now_ms() + timeout_ms);
    if (!err && !strstr(line, "\"QMP\""))
        err = -EPROTO;
    if (!err)
        err = pv_qmp_cmd(q, "qmp_capabilities", NULL, 0, timeout_ms);
    if (err)
        pv_qmp_close(q);
    return err;
}

void
pv_qmp_close(struct pv_qmp *q)
{
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
}

bool
pv_json_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        int n;
        if (c == '"' || c == '\\')
            n = snprintf(tmp, sizeof(tmp), "\\%c", c);
        else if (c < 0x20)
            n = snprintf(tmp, sizeof(tmp), "\\u%04x", c);
        else
            n = snprintf(tmp, sizeof(tmp), "%c", c);
        if (o + (size_t)n + 1 > size)
            return false;
        memcpy(out + o, tmp, (size_t)n);
        o += (size_t)n;
    }
    if (o + 1 > size)
        return false;
    out[o] = '\0';
    return true;
}
