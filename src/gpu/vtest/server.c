/*
 * gpu/vtest/server: the listening socket and the clients. Each client is
 * served by a session (session.c): in a render process of its own (render.c,
 * the default of `pearvisor gpu serve`) or on a thread of this process
 * (--in-process, and the library's default).
 *
 * Why a render process per client: the host Vulkan driver is not hardened
 * against invalid usage, and Venus forwards a client's usage by design, so a
 * client can crash the process that runs the driver (lavapipe overruns a
 * descriptor pool of one set asked for 262143: tests/vk/hostile.c,
 * host-crash). In its own process that crash ends only that client.
 * Per client and not per context, because a vtest connection carries at
 * most one Venus context: CONTEXT_INIT takes one capset once (as in
 * virglrenderer's vtest server), and Mesa's Venus driver opens one
 * connection per VkInstance. The process is started by posix_spawn (clone
 * with CLONE_VFORK, then exec of our own binary, render_argv): it inherits
 * no Vulkan state (this process never loads the host driver in this mode:
 * its renderer is PV_RENDERER_STATS_ONLY) and only the fds it is given, the
 * client's socket and its channel to us (render.h), besides 0-2; every other
 * fd here is O_CLOEXEC and the spawn closes everything above the two anyway.
 *
 * Why a thread per client (the session inside a render process runs on its
 * main thread, here too): pv_ctx_submit() runs the Venus context channel
 * synchronously, and some of what arrives there blocks by design
 * (vkWaitRingSeqnoMESA waits for a ring to reach a seqno; a large
 * vkCreateDevice takes milliseconds). In one event loop every such wait
 * would stall every other client. A thread per client keeps each client's
 * blocking to itself, keeps the protocol code a straight sequence of
 * blocking reads and writes (as the client is), and costs little at the
 * client counts vtest sees (capped by max_clients). With render processes
 * the thread here only reads the process's reports and waits for its end.
 */
#include "vtest.h"

#include "render.h"
#include "session.h"

#include "clock.h"
#include "log.h"
#include "proc.h"
#include <pvgpu/pvgpu.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOD "vtest"

/* At a stop, render processes get this long to end by themselves (their
 * waits end within 50 ms of the hang-up, a stuck queue within 1 s) before
 * they are killed: SIGTERM must end the server within 2 s whatever its
 * clients do. */
#define STOP_GRACE_MS 1000
/* A render process whose channel closed must be gone within this long. */
#define EXIT_GRACE_MS 1000
/* The start-up check's render process must have loaded the host driver within this long. */
#define CHECK_TIMEOUT_MS 60000

extern char **environ;

struct client {
    struct client *next;
    struct pv_vtest_server *srv;
    int fd;          /* the client's socket: served here, or our copy of it (for the stop) */
    uint32_t id;
    uint32_t ctx_id;
    pthread_t thread;
    bool done; /* set (atomically) when the thread has finished */

    /* Its render process (pid 0 in-process). */
    pid_t pid;
    int pidfd;  /* -1 without pidfd_open (Linux < 5.3) */
    int chan;   /* our end of the channel */
    uint32_t flags; /* PV_RP_REPORT_* of the last report */
    char name[PV_RP_NAME_SIZE];
    uint64_t *last; /* its counters in the last report (srv->nvals) */
};

struct pv_vtest_server {
    struct pv_renderer *renderer;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd;
    int stop_fd; /* eventfd: stop requested */
    int reap_fd; /* eventfd: a client thread finished */
    bool bound;
    dev_t sock_dev;
    ino_t sock_ino;
    unsigned max_clients;
    char *const *render_argv; /* NULL: in-process */
    bool no_seccomp;
    size_t nvals;  /* counters in a report */
    bool stopping; /* atomic: the stop has begun (render processes may be killed) */

    pthread_mutex_t lock; /* guards clients, nclients */
    struct client *clients;
    unsigned nclients;
    uint32_t next_client_id;
    uint32_t next_ctx_id;
};

/* ---- clients on threads of this process ----------------------------------- */

static void
finished(struct client *c)
{
    __atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t w = write(c->srv->reap_fd, &one, sizeof(one));
    (void)w;
}

static void *
inproc_thread(void *arg)
{
    struct client *c = arg;
    struct pv_vtest_session *sess;
    int err = pv_vtest_session_create(c->srv->renderer, c->fd, c->id, c->ctx_id, NULL, &sess);
    if (err) {
        pv_err(MOD, "client %u: refused: %s", c->id, strerror(-err));
        shutdown(c->fd, SHUT_RDWR);
    } else {
        pv_vtest_session_serve(sess);
        pv_vtest_session_destroy(sess);
    }
    /* A long-running server: hand what this client's threads freed back to
     * the system rather than keep it in per-thread malloc arenas. */
    malloc_trim(0);
    finished(c);
    return NULL;
}

/* ---- render processes ----------------------------------------------------- */

static int
open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

static void
kill_render(pid_t pid, int pidfd)
{
#ifdef SYS_pidfd_send_signal
    /* Race-free: the pidfd names this process even after it was reaped. */
    if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
        return;
    if (pidfd >= 0 && errno == ESRCH)
        return;
#else
    (void)pidfd;
#endif
    kill(pid, SIGKILL);
}

/*
 * Starts a render process serving `client_fd` (or, for the start-up check,
 * none: -1). Its fds: 0-2 as ours, PV_VTEST_RENDER_CLIENT_FD, the channel at
 * PV_VTEST_RENDER_CHANNEL_FD, nothing else. 0 or -errno.
 */
static int
spawn_render(char *const *argv, int client_fd, const struct pv_rp_setup *setup, pid_t *pid_out,
             int *pidfd_out, int *chan_out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    /* Above both target numbers, so that neither dup2 overwrites the other's source. */
    int cfd = fcntl(client_fd >= 0 ? client_fd : sv[1], F_DUPFD_CLOEXEC, 8);
    int pfd = fcntl(sv[1], F_DUPFD_CLOEXEC, 8);
    close(sv[1]);
    int err = cfd < 0 || pfd < 0 ? -errno : 0;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    pid_t pid = 0;
    if (!err) {
        posix_spawn_file_actions_adddup2(&fa, cfd, PV_VTEST_RENDER_CLIENT_FD);
        posix_spawn_file_actions_adddup2(&fa, pfd, PV_VTEST_RENDER_CHANNEL_FD);
        posix_spawn_file_actions_addclosefrom_np(&fa, PV_VTEST_RENDER_CHANNEL_FD + 1);
        /* No blocked signals (ours are blocked on client threads); its own
         * process group, so a terminal's ^C reaches the server, which ends it. */
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
        err = -posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (cfd >= 0)
        close(cfd);
    if (pfd >= 0)
        close(pfd);
    if (err) {
        close(sv[0]);
        return err;
    }
    ssize_t n = send(sv[0], setup, sizeof(*setup), MSG_NOSIGNAL);
    if (n != (ssize_t)sizeof(*setup)) {
        /* It cannot start without its set-up: it ends at once. */
        pv_err(MOD, "render process %d: the set-up was not sent: %s", (int)pid,
               n < 0 ? strerror(errno) : "short");
    }
    *pid_out = pid;
    *pidfd_out = open_pidfd(pid);
    *chan_out = sv[0];
    return 0;
}

/* Reaps the render process: waits up to `ms` for its end, then kills it. Its wait status. */
static int
reap_render(pid_t pid, int pidfd, int ms)
{
    int st = 0;
    if (pidfd >= 0 ? !pv_proc_wait_exit(pidfd, ms) : false)
        kill_render(pid, pidfd);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return 0;
    }
    return st;
}

/* "was killed by signal 11 (SIGSEGV)" or "exited with status 1". */
static void
describe_end(char *buf, size_t size, int st)
{
    if (WIFSIGNALED(st)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(st));
        snprintf(buf, size, "was killed by signal %d (SIG%s)", WTERMSIG(st),
                 abbrev ? abbrev : "?");
    } else {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
    }
}

/*
 * One report, `n` bytes in buf. The process is as hostile as its client: a
 * report of the wrong size, magic or count is refused (false).
 */
static bool
take_report(struct client *c, const void *buf, size_t n, uint64_t *vals)
{
    struct pv_vtest_server *s = c->srv;
    struct pv_rp_report hdr;
    if (n != sizeof(hdr) + s->nvals * sizeof(uint64_t))
        return false;
    memcpy(&hdr, buf, sizeof(hdr));
    if (hdr.magic != PV_RP_MAGIC || hdr.count != s->nvals)
        return false;
    memcpy(vals, (const char *)buf + sizeof(hdr), s->nvals * sizeof(uint64_t));
    pv_renderer_stats_add(s->renderer, c->last, vals, s->nvals);
    memcpy(c->last, vals, s->nvals * sizeof(uint64_t));
    c->flags = hdr.flags;
    if (hdr.flags & PV_RP_REPORT_CONTEXT) {
        hdr.name[sizeof(hdr.name) - 1] = '\0';
        pv_log_sanitize(c->name, sizeof(c->name), hdr.name);
    }
    return true;
}

/* The render process ended (status `st`): one line saying how, and its statistics settled. */
static void
render_ended(struct client *c, int st)
{
    struct pv_vtest_server *s = c->srv;
    char how[64];
    describe_end(how, sizeof(how), st);
    bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    bool lost = false;
    if (c->flags & PV_RP_REPORT_FINAL) {
        if (clean)
            pv_dbg(MOD, "client %u: its render process %d ended", c->id, (int)c->pid);
        else /* e.g. LeakSanitizer's exit status after a clean teardown */
            pv_warn(MOD, "client %u: its render process %d %s after the client left", c->id,
                    (int)c->pid, how);
    } else if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
        pv_info(MOD, "client %u: its render process %d %s at the server's stop", c->id,
                (int)c->pid, how);
    } else if (c->flags & PV_RP_REPORT_FATAL) {
        pv_warn(MOD, "context %u (%s): its render process %d %s after the context was disabled",
                c->ctx_id, c->name, (int)c->pid, how);
    } else if (c->flags & PV_RP_REPORT_CONTEXT) {
        lost = true;
        pv_warn(MOD, "context %u (%s): fatal (lost): its render process %d %s; the client is "
                "dropped", c->ctx_id, c->name, (int)c->pid, how);
    } else {
        pv_warn(MOD, "client %u: its render process %d %s before the client had a context; the "
                "client is dropped", c->id, (int)c->pid, how);
    }
    pv_renderer_stats_gone(s->renderer, c->last, s->nvals, lost);
}

static void *
render_thread(void *arg)
{
    struct client *c = arg;
    struct pv_vtest_server *s = c->srv;
    size_t cap = sizeof(struct pv_rp_report) + s->nvals * sizeof(uint64_t);
    char *buf = malloc(cap);
    uint64_t *vals = calloc(s->nvals, sizeof(uint64_t));
    bool bad = !buf || !vals;
    while (!bad) {
        /* MSG_TRUNC: the length the message had, so an oversized one is seen. */
        ssize_t n = recv(c->chan, buf, cap, MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* it ended (nothing else holds its end) */
        bad = !take_report(c, buf, (size_t)n, vals);
    }
    free(buf);
    free(vals);
    if (bad) {
        pv_warn(MOD, "client %u: its render process %d sent a malformed report; it is killed",
                c->id, (int)c->pid);
        kill_render(c->pid, c->pidfd);
    }
    /* Its end of the channel closes when it exits, LeakSanitizer's check and
     * all; one that closed it and went on is killed. */
    render_ended(c, reap_render(c->pid, c->pidfd, EXIT_GRACE_MS));
    /* The client sees its connection end only now, after the line above. */
    shutdown(c->fd, SHUT_RDWR);
    finished(c);
    return NULL;
}

int
pv_vtest_render_check(char *const *render_argv, bool no_seccomp)
{
    const struct pv_rp_setup setup = {.magic = PV_RP_MAGIC,
                                      .flags = PV_RP_SETUP_CHECK |
                                               (no_seccomp ? PV_RP_SETUP_NO_SECCOMP : 0),
                                      .server_pid = getpid()};
    pid_t pid;
    int pidfd, chan;
    int err = spawn_render(render_argv, -1, &setup, &pid, &pidfd, &chan);
    if (err)
        return err;
    bool final = false;
    int64_t end = pv_clock_now_ms() + CHECK_TIMEOUT_MS;
    for (;;) {
        struct pollfd p = {.fd = chan, .events = POLLIN};
        int left = pv_clock_ms_left(end);
        if (left <= 0 || poll(&p, 1, left) == 0)
            break;
        struct pv_rp_report hdr;
        ssize_t n = recv(chan, &hdr, sizeof(hdr), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if ((size_t)n >= sizeof(hdr) && hdr.magic == PV_RP_MAGIC &&
            (hdr.flags & PV_RP_REPORT_FINAL))
            final = true;
    }
    int st = reap_render(pid, pidfd, pv_clock_ms_left(end) > 0 ? pv_clock_ms_left(end) : 1);
    close(chan);
    if (pidfd >= 0)
        close(pidfd);
    if (final && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    char how[64];
    describe_end(how, sizeof(how), st);
    pv_err(MOD, "the start-up check's render process %d %s%s", (int)pid, how,
           final ? "" : " without its report");
    return -ECHILD;
}

/* ---- the server ------------------------------------------------------------ */

static void
client_free(struct client *c)
{
    if (c->pidfd >= 0)
        close(c->pidfd);
    if (c->chan >= 0)
        close(c->chan);
    close(c->fd);
    free(c->last);
    free(c);
}

/* Joins and frees finished clients (all of them when `all`). */
static void
reap(struct pv_vtest_server *s, bool all)
{
    for (;;) {
        struct client *found = NULL;
        pthread_mutex_lock(&s->lock);
        for (struct client **pp = &s->clients; *pp; pp = &(*pp)->next) {
            if (all || __atomic_load_n(&(*pp)->done, __ATOMIC_ACQUIRE)) {
                found = *pp;
                *pp = found->next;
                s->nclients--;
                break;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (!found)
            return;
        pthread_join(found->thread, NULL);
        client_free(found);
    }
}

static void
add_client(struct pv_vtest_server *s, int fd)
{
    pthread_mutex_lock(&s->lock);
    bool full = s->nclients >= s->max_clients;
    uint32_t id = ++s->next_client_id;
    uint32_t ctx_id = full ? 0 : ++s->next_ctx_id;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        pv_warn(MOD, "client %u: refused, already serving %u clients", id, s->max_clients);
        close(fd);
        return;
    }

    struct client *c = calloc(1, sizeof(*c));
    if (c && s->render_argv)
        c->last = calloc(s->nvals, sizeof(uint64_t));
    if (!c || (s->render_argv && !c->last)) {
        pv_err(MOD, "client %u: refused: %s", id, strerror(ENOMEM));
        free(c);
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->id = id;
    c->ctx_id = ctx_id;
    c->pidfd = c->chan = -1;
    snprintf(c->name, sizeof(c->name), "unnamed");

    int err = 0;
    if (s->render_argv) {
        const struct pv_rp_setup setup = {
            .magic = PV_RP_MAGIC, .flags = s->no_seccomp ? PV_RP_SETUP_NO_SECCOMP : 0,
            .client_id = id, .ctx_id = ctx_id, .server_pid = getpid()};
        err = spawn_render(s->render_argv, fd, &setup, &c->pid, &c->pidfd, &c->chan);
        if (err) {
            pv_err(MOD, "client %u: refused, no render process: %s", id, strerror(-err));
            client_free(c);
            return;
        }
    }

    /*
     * Client threads (and the renderer threads they start) leave SIGINT and
     * friends to the thread that runs the server.
     */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_mutex_lock(&s->lock);
    err = -pthread_create(&c->thread, NULL, s->render_argv ? render_thread : inproc_thread, c);
    if (!err) {
        c->next = s->clients;
        s->clients = c;
        s->nclients++;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        pv_err(MOD, "client %u: refused, no thread: %s", id, strerror(-err));
        if (c->pid > 0) {
            kill_render(c->pid, c->pidfd);
            reap_render(c->pid, c->pidfd, 0);
        }
        client_free(c);
        return;
    }
    if (c->pid > 0)
        pv_dbg(MOD, "client %u: connected, render process %d", id, (int)c->pid);
    else
        pv_dbg(MOD, "client %u: connected", id);
}

/*
 * Makes `path` free for bind(): absent is fine, a stale socket is removed,
 * a live one (someone accepts connections) or a non-socket is refused.
 */
static int
claim_path(const char *path, const struct sockaddr_un *addr)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;

    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    int r = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
    int err = r < 0 ? errno : 0;
    close(probe);
    if (r == 0 || err == EAGAIN) /* EAGAIN: a live server with a full backlog */
        return -EADDRINUSE;
    if (err != ECONNREFUSED)
        return -err;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    pv_info(MOD, "removed stale socket %s", path);
    return 0;
}

int
pv_vtest_server_create(const struct pv_vtest_opts *opts, struct pv_renderer *renderer,
                       struct pv_vtest_server **out)
{
    const char *path = opts ? opts->socket_path : NULL;
    if (!path)
        path = getenv("VTEST_SOCKET_NAME");
    if (!path)
        path = PV_VTEST_DEFAULT_SOCKET;
    if (!path[0])
        return -EINVAL;

    struct pv_vtest_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (strlen(path) >= sizeof(s->path)) {
        free(s);
        return -ENAMETOOLONG;
    }
    strcpy(s->path, path);
    s->renderer = renderer;
    s->max_clients = opts && opts->max_clients ? opts->max_clients : PV_VTEST_DEFAULT_MAX_CLIENTS;
    s->render_argv = opts ? opts->render_argv : NULL;
    s->no_seccomp = opts && opts->no_seccomp;
    s->nvals = pv_renderer_stats_save(renderer, NULL, 0);
    s->listen_fd = s->stop_fd = s->reap_fd = -1;
    pthread_mutex_init(&s->lock, NULL);

    int err;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stop_fd < 0 || s->reap_fd < 0) {
        err = -errno;
        goto err_free;
    }
    if (s->render_argv && !s->no_seccomp) {
        /* Render processes run as our user: none may ptrace us, read our
         * memory through /proc/PID/mem or open our fds through /proc/PID/fd. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
            err = -errno;
            goto err_free;
        }
    }

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
    err = claim_path(s->path, &addr);
    if (err)
        goto err_free;

    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        err = -errno;
        goto err_free;
    }
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err = -errno;
        goto err_free;
    }
    s->bound = true;
    struct stat st;
    /* Nobody can connect before listen(), so tightening the mode here is not racy. */
    if (chmod(s->path, 0600) < 0 || stat(s->path, &st) < 0) {
        err = -errno;
        goto err_unlink;
    }
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    if (listen(s->listen_fd, 16) < 0) {
        err = -errno;
        goto err_unlink;
    }
    *out = s;
    return 0;

err_unlink:
    unlink(s->path);
    s->bound = false;
err_free:
    pv_vtest_server_destroy(s);
    return err;
}

const char *
pv_vtest_server_path(const struct pv_vtest_server *s)
{
    return s->path;
}

/* Closes the listening socket and removes its path if it is still ours. */
static void
stop_listening(struct pv_vtest_server *s)
{
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->bound) {
        struct stat st;
        if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
            unlink(s->path);
        s->bound = false;
    }
}

static bool
all_done(struct pv_vtest_server *s)
{
    bool all = true;
    pthread_mutex_lock(&s->lock);
    for (struct client *c = s->clients; c; c = c->next)
        all = all && __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&s->lock);
    return all;
}

/*
 * Stops accepting, then ends every client (shutdown() wakes its reads and
 * waits, in this process or in its render process), kills the render
 * processes still there after STOP_GRACE_MS, and waits for the threads.
 */
static void
end_all_clients(struct pv_vtest_server *s)
{
    stop_listening(s);
    __atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
    pthread_mutex_lock(&s->lock);
    for (struct client *c = s->clients; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    if (s->render_argv) {
        int64_t end = pv_clock_now_ms() + STOP_GRACE_MS;
        while (!all_done(s) && pv_clock_ms_left(end) > 0) {
            struct pollfd p = {.fd = s->reap_fd, .events = POLLIN};
            if (poll(&p, 1, pv_clock_ms_left(end)) > 0) {
                uint64_t n;
                ssize_t r = read(s->reap_fd, &n, sizeof(n));
                (void)r;
            }
        }
        pthread_mutex_lock(&s->lock);
        for (struct client *c = s->clients; c; c = c->next)
            if (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE))
                kill_render(c->pid, c->pidfd);
        pthread_mutex_unlock(&s->lock);
    }
    reap(s, true);
}

int
pv_vtest_server_run(struct pv_vtest_server *s)
{
    int err = 0;
    if (s->listen_fd < 0)
        return -EBADF;

    for (;;) {
        struct pollfd fds[3] = {
            {.fd = s->stop_fd, .events = POLLIN},
            {.fd = s->reap_fd, .events = POLLIN},
            {.fd = s->listen_fd, .events = POLLIN},
        };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            pv_err(MOD, "poll failed: %s", strerror(-err));
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents) {
            uint64_t n;
            ssize_t r = read(s->reap_fd, &n, sizeof(n));
            (void)r;
            reap(s, false);
        }
        if (fds[2].revents & POLLIN) {
            int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                add_client(s, fd);
            } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                       errno == ENOMEM) {
                /* Out of descriptors: back off instead of spinning. */
                pv_warn(MOD, "accept failed: %s", strerror(errno));
                poll(NULL, 0, 100);
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                err = -errno;
                pv_err(MOD, "accept failed: %s", strerror(-err));
                break;
            }
        }
    }

    end_all_clients(s);
    return err;
}

void
pv_vtest_server_stop(struct pv_vtest_server *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->stop_fd, &one, sizeof(one));
    (void)w;
}

void
pv_vtest_server_destroy(struct pv_vtest_server *s)
{
    if (!s)
        return;
    end_all_clients(s);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->reap_fd >= 0)
        close(s->reap_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
