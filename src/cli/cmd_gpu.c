/*
 * cli/cmd_gpu: `pearvisor gpu serve [--socket PATH] [--max-clients N] [--in-process]
 * [--no-seccomp] [--verbose]`, and the hidden `pearvisor gpu render-process`
 * that the server runs (from /proc/self/exe) for each client.
 */
#include "cli.h"

#include <pvgpu/pvgpu.h>
#include "vtest.h"

#include <errno.h>
#include <stdbool.h>
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

/* What the server execs for each client: this very binary, even if the file was replaced. */
static char *render_argv[] = {"/proc/self/exe", "gpu", "render-process", NULL};

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
    if (!in_process) {
        /* Render processes: this one never loads the host driver. */
        vopts.render_argv = render_argv;
        err = pv_vtest_render_check(render_argv, vopts.no_seccomp);
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
    err = pv_vtest_server_create(&vopts, renderer, &server);
    if (err) {
        const char *path = vopts.socket_path ? vopts.socket_path : getenv("VTEST_SOCKET_NAME");
        fprintf(stderr, "pearvisor: cannot listen on %s: %s\n",
                path ? path : PV_VTEST_DEFAULT_SOCKET, listen_error(err));
        pv_renderer_destroy(renderer);
        return PV_EXIT_FAIL;
    }

    __atomic_store_n(&serving_singleton, server, __ATOMIC_RELEASE);
    unblock_stop_signals();
    printf("pearvisor: serving Venus over vtest on %s (%s)\n", pv_vtest_server_path(server),
           in_process ? "in this process"
           : vopts.no_seccomp ? "a render process per client, without the syscall filter"
                              : "a sandboxed render process per client");
    fflush(stdout);
    err = pv_vtest_server_run(server);
    if (err)
        fprintf(stderr, "pearvisor: vtest server failed: %s\n", strerror(-err));
    __atomic_store_n(&serving_singleton, NULL, __ATOMIC_RELEASE);
    pv_vtest_server_destroy(server);
    pv_renderer_destroy(renderer);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return err ? PV_EXIT_FAIL : PV_EXIT_OK;
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
    if (sub[0] == '-')
        fprintf(stderr, "pearvisor gpu: unknown option '%s'\n", sub);
    else
        fprintf(stderr, "pearvisor gpu: unknown subcommand '%s'\n", sub);
    fprintf(stderr, "Try 'pearvisor gpu --help'.\n");
    return PV_EXIT_USAGE;
}
