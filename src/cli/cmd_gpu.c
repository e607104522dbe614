/*
 * cli/cmd_gpu: `pearvisor gpu serve [--socket PATH] [--max-clients N] [--in-process]
 * [--no-seccomp] [--verbose]`, the hidden `pearvisor gpu render-process`
 * that the server runs (from /proc/self/exe) for each client, and the hidden
 * `pearvisor gpu door-process` that our libvirglrenderer.so.1 runs inside
 * QEMU for each VM (src/gpu/door-process/).
 */
#include "cli.h"

#include <pvgpu/pvgpu.h>
#include "door-process.h"
#include "vtest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char gpu_usage[] =
    "Usage: pearvisor gpu <subcommand> [<args>]\n"
    "\n"
    "Subcommands:\n"
    "  serve     serve the host GPU to Mesa Venus (Vulkan) clients over vtest\n"
    "  stats     print the live statistics of a running renderer\n"
    "  probe     check that the host's Vulkan can run the renderer\n"
    "\n"
    "Run 'pearvisor gpu <subcommand> --help' for its options.\n";

static const char serve_usage[] =
    "Usage: pearvisor gpu serve [--socket PATH] [--stats-socket PATH] [--max-clients N]\n"
    "                           [--in-process] [--no-seccomp] [--verbose]\n"
    "\n"
    "Serves the host's Vulkan device to unmodified Mesa Venus clients over the\n"
    "vtest socket protocol. Point a client at it with:\n"
    "  VN_DEBUG=vtest VTEST_SOCKET_NAME=PATH \\\n"
    "  VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json vulkaninfo\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH  listen on PATH (default: $VTEST_SOCKET_NAME,\n"
    "                     else " PV_VTEST_DEFAULT_SOCKET ")\n"
    "  --stats-socket PATH  serve live renderer statistics on PATH\n"
    "                     (read them with 'pearvisor gpu stats PATH')\n"
    "  --max-clients N    serve at most N clients at once (default 64); more are\n"
    "                     refused until one leaves\n"
    "  --in-process       serve every client on a thread of this process instead\n"
    "                     of a render process of its own (a host driver crash\n"
    "                     then ends every client)\n"
    "  --no-seccomp       render processes run without their syscall filter\n"
    "                     (debugging; as PEARVISOR_NO_SECCOMP=1)\n"
    "  -v, --verbose      log every vtest message (as PEARVISOR_LOG=debug)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Each client is served by a render process of its own (this program again),\n"
    "which loads the host's Vulkan driver, then enters a sandbox: a client that\n"
    "crashes the driver ends only its own process. SIGINT or SIGTERM stops the\n"
    "server: clients are disconnected, their contexts destroyed (render\n"
    "processes still there after a second are killed) and the socket removed.\n";

/* What the server execs for each client, when no loader stands in front (the usual case). */
static char *plain_render_argv[] = {"/proc/self/exe", "gpu", "render-process", NULL};

/* Whether /proc/self/exe is the file our own code was loaded from. */
static bool
exe_is_us(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return true;
    uintptr_t here = (uintptr_t)&exe_is_us;
    char line[4096], path[4096] = "";
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || !off)
            continue;
        if (here >= lo && here < hi) {
            snprintf(path, sizeof(path), "%s", line + off);
            path[strcspn(path, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
    struct stat a, b;
    if (!path[0] || stat(path, &a) || stat("/proc/self/exe", &b))
        return true;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * What the server execs for each client: this very binary (/proc/self/exe,
 * even if the file was replaced). Started through an explicit dynamic loader
 * (`ld-linux-x86-64.so.2 --library-path DIR pearvisor ...`, as the launcher
 * of scripts/device-bundle.sh does), /proc/self/exe is the loader: then the
 * loader's own arguments, which /proc/self/cmdline still shows before our
 * argv[0], come first again. NULL on failure (no memory, an unreadable
 * command line). *storage gets what the returned argv points into (free both
 * unless it is plain_render_argv).
 */
static char **
make_render_argv(char **storage)
{
    const char *argv0 = program_invocation_name; /* main's argv[0], after the loader's */
    *storage = NULL;
    if (exe_is_us())
        return plain_render_argv;
    FILE *f = fopen("/proc/self/cmdline", "re");
    if (!f)
        return NULL;
    char *cmd = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            char *n = realloc(cmd, cap = cap ? cap * 2 : 8192);
            if (!n) {
                free(cmd);
                fclose(f);
                return NULL;
            }
            cmd = n;
        }
        size_t r = fread(cmd + len, 1, cap - len - 1, f);
        if (!r)
            break;
        len += r;
    }
    fclose(f);
    cmd[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
        n++;
    char **argv = calloc(n + 3, sizeof(*argv));
    if (!argv) {
        free(cmd);
        return NULL;
    }
    /* The loader and its arguments: everything up to the first argument equal to our argv[0]. */
    size_t k = 0;
    bool found = false;
    for (size_t i = 0; i < len && !found; i += strlen(cmd + i) + 1) {
        argv[k] = k == 0 ? "/proc/self/exe" : cmd + i;
        found = k > 0 && !strcmp(cmd + i, argv0);
        k++;
    }
    if (!found) {
        free(argv);
        free(cmd);
        return NULL;
    }
    argv[k++] = "gpu";
    argv[k++] = "render-process";
    argv[k] = NULL;
    *storage = cmd;
    return argv;
}

/* The server the signal handlers stop (one per process). */
static struct pv_vtest_server *serving_singleton;

static void
on_stop_signal(int sig)
{
    (void)sig;
    struct pv_vtest_server *s = __atomic_load_n(&serving_singleton, __ATOMIC_ACQUIRE);
    if (s)
        pv_vtest_server_stop(s); /* async-signal-safe */
}

/*
 * Runs before the renderer and the socket exist, so that no SIGINT or SIGTERM
 * can find the default action (death, the socket left behind): both are
 * blocked, then handled. Threads started from here on (the renderer's)
 * inherit the block; the main thread unblocks them once the server can be
 * stopped (unblock_stop_signals), and a signal that came in between is
 * delivered then. *old gets the mask to restore.
 */
static void
stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static int
install_signals(sigset_t *old)
{
    sigset_t stop;
    stop_signals(&stop);
    int err = -pthread_sigmask(SIG_BLOCK, &stop, old);
    if (err)
        return err;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return -errno;
    sa.sa_handler = SIG_IGN; /* a vanished client must not kill the server */
    if (sigaction(SIGPIPE, &sa, NULL))
        return -errno;
    return 0;
}

/* SIGINT and SIGTERM reach the main thread again (any pending one now). */
static void
unblock_stop_signals(void)
{
    sigset_t stop;
    stop_signals(&stop);
    pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
}

static const char *
listen_error(int err)
{
    switch (err) {
    case -EADDRINUSE:
        return "another server is already listening there";
    case -EEXIST:
        return "the path exists and is not a socket; refusing to replace it";
    case -ENAMETOOLONG:
        return "the path is too long for a Unix socket";
    default:
        return strerror(-err);
    }
}

/* The server's life once its options are known: the exit status. */
static int
serve(struct pv_vtest_opts *vopts, const char *stats_socket)
{
    bool in_process = !vopts->render_argv;
    int err;
    if (!in_process) {
        err = pv_vtest_render_check(vopts->render_argv, vopts->no_seccomp);
        if (err) {
            fprintf(stderr, "pearvisor: cannot start a render process: %s\n",
                    err == -ECHILD ? "it failed (its error is above)" : strerror(-err));
            return PV_EXIT_FAIL;
        }
    }

    struct pv_renderer *renderer;
    const struct pv_renderer_opts ropts = {
        .flags = in_process ? 0 : PV_RENDERER_STATS_ONLY, .stats_socket = stats_socket};
    err = pv_renderer_create(&ropts, &renderer);
    if (err) {
        fprintf(stderr, "pearvisor: cannot start the Venus renderer: %s\n", strerror(-err));
        return PV_EXIT_FAIL;
    }

    struct pv_vtest_server *server;
    err = pv_vtest_server_create(vopts, renderer, &server);
    if (err) {
        const char *path = vopts->socket_path ? vopts->socket_path : getenv("VTEST_SOCKET_NAME");
        fprintf(stderr, "pearvisor: cannot listen on %s: %s\n",
                path ? path : PV_VTEST_DEFAULT_SOCKET, listen_error(err));
        pv_renderer_destroy(renderer);
        return PV_EXIT_FAIL;
    }

    __atomic_store_n(&serving_singleton, server, __ATOMIC_RELEASE);
    unblock_stop_signals();
    printf("pearvisor: serving Venus over vtest on %s (%s)\n", pv_vtest_server_path(server),
           in_process ? "in this process"
           : vopts->no_seccomp ? "a render process per client, without the syscall filter"
                               : "a sandboxed render process per client");
    fflush(stdout);
    err = pv_vtest_server_run(server);
    if (err)
        fprintf(stderr, "pearvisor: vtest server failed: %s\n", strerror(-err));
    __atomic_store_n(&serving_singleton, NULL, __ATOMIC_RELEASE);
    pv_vtest_server_destroy(server);
    pv_renderer_destroy(renderer);
    return err ? PV_EXIT_FAIL : PV_EXIT_OK;
}

static int
gpu_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"stats-socket", required_argument, NULL, 'S'},
        {"max-clients", required_argument, NULL, 'm'},
        {"in-process", no_argument, NULL, 'i'},
        {"no-seccomp", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pv_vtest_opts vopts = {0};
    const char *stats_socket = NULL;
    bool in_process = false;
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":s:vh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            vopts.socket_path = optarg;
            break;
        case 'S':
            stats_socket = optarg;
            break;
        case 'm': {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*end || !*optarg || n == 0 || n > 4096) {
                fprintf(stderr, "pearvisor gpu serve: --max-clients wants 1 to 4096, not '%s'\n",
                        optarg);
                return PV_EXIT_USAGE;
            }
            vopts.max_clients = (unsigned)n;
            break;
        }
        case 'i':
            in_process = true;
            break;
        case 'n':
            vopts.no_seccomp = true;
            break;
        case 'v':
            /* Read by the logger on its first line; nothing has logged yet. */
            setenv("PEARVISOR_LOG", "debug", 1);
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return PV_EXIT_OK;
        case ':':
            fprintf(stderr, "pearvisor gpu serve: option '%s' needs a value\n"
                            "Try 'pearvisor gpu serve --help'.\n", argv[optind - 1]);
            return PV_EXIT_USAGE;
        default: {
            char buf[3];
            fprintf(stderr, "pearvisor gpu serve: unknown option '%s'\n"
                            "Try 'pearvisor gpu serve --help'.\n", pv_cli_bad_option(argv, buf));
            return PV_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pearvisor gpu serve: unexpected argument '%s'\n"
                        "Try 'pearvisor gpu serve --help'.\n", argv[optind]);
        return PV_EXIT_USAGE;
    }

    sigset_t old_mask;
    int err = install_signals(&old_mask);
    if (err) {
        fprintf(stderr, "pearvisor: cannot install signal handlers: %s\n", strerror(-err));
        return PV_EXIT_FAIL;
    }

    const char *no_seccomp = getenv("PEARVISOR_NO_SECCOMP");
    if (no_seccomp && !strcmp(no_seccomp, "1"))
        vopts.no_seccomp = true;
    char *argv_storage = NULL;
    if (!in_process) {
        /* Render processes: this one never loads the host driver. */
        vopts.render_argv = make_render_argv(&argv_storage);
        if (!vopts.render_argv) {
            fprintf(stderr, "pearvisor: cannot tell how to start a render process (this program "
                            "runs under a loader whose command line cannot be read); try "
                            "--in-process\n");
            pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
            return PV_EXIT_FAIL;
        }
    }
    int rc = serve(&vopts, stats_socket);
    if (vopts.render_argv != plain_render_argv)
        free((void *)vopts.render_argv);
    free(argv_storage);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

int
pv_cli_gpu(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "pearvisor gpu: no subcommand given\nTry 'pearvisor gpu --help'.\n");
        return PV_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(gpu_usage, stdout);
        return PV_EXIT_OK;
    }
    if (!strcmp(sub, "serve"))
        return gpu_serve(argc - 1, argv + 1);
    if (!strcmp(sub, "stats"))
        return pv_cli_gpu_stats(argc - 1, argv + 1);
    if (!strcmp(sub, "probe"))
        return pv_cli_gpu_probe(argc - 1, argv + 1);
    /* Not in the help: only `gpu serve` starts it, with its fds set up. */
    if (!strcmp(sub, "render-process") && argc == 2)
        return pv_vtest_render_process();
    /* Not in the help either: our libvirglrenderer.so.1 starts it inside QEMU. */
    if (!strcmp(sub, "door-process") && argc == 2)
        return pv_door_process_main();
    if (sub[0] == '-')
        fprintf(stderr, "pearvisor gpu: unknown option '%s'\n", sub);
    else
        fprintf(stderr, "pearvisor gpu: unknown subcommand '%s'\n", sub);
    fprintf(stderr, "Try 'pearvisor gpu --help'.\n");
    return PV_EXIT_USAGE;
}
