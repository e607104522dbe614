/*
 * cli/cmd_stats: reads a renderer's live statistics from its control socket
 * (`pearvisor gpu stats SOCKET`, and `pearvisor stats NAME` for a VM) and
 * prints them as a table, or as the raw JSON with --json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

/* Reads everything the stats socket sends; NULL (and errno) on failure. */
static char *
read_stats(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (len + 1 >= cap) {
            char *n = realloc(buf, cap *= 2);
            if (!n) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = n;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

struct kv {
    char key[96];
    unsigned long long value;
};

static int
by_value_desc(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    return x->value < y->value ? 1 : x->value > y->value ? -1 : strcmp(x->key, y->key);
}

/*
 * Walks our own flat JSON ("key":number pairs and one level of nested
 * objects: "commands", sorted by count, and "fatal_reasons", in order) and
 * prints it. Not a general JSON parser: the socket speaks only what
 * pv_renderer_stats_json writes.
 */
static void
print_table(const char *json)
{
    struct kv cmds[512];
    size_t ncmd = 0;
    bool in_cmds = false, in_obj = false;
    const char *p = json;
    while ((p = strchr(p, '"'))) {
        const char *k = p + 1, *e = strchr(k, '"');
        if (!e)
            break;
        char key[96];
        size_t kl = (size_t)(e - k) < sizeof(key) - 1 ? (size_t)(e - k) : sizeof(key) - 1;
        memcpy(key, k, kl);
        key[kl] = '\0';
        p = e + 1;
        if (*p != ':')
            continue;
        p++;
        if (*p == '{') {
            in_cmds = !strcmp(key, "commands");
            in_obj = !in_cmds;
            if (in_cmds)
                printf("%-28s\n", "commands decoded (by type):");
            else
                printf("%s:\n", key);
            p++;
            if (*p == '}') /* empty: nothing decoded yet */
                in_cmds = in_obj = false;
            continue;
        }
        unsigned long long v = strtoull(p, (char **)&p, 10);
        if (in_cmds && ncmd < sizeof(cmds) / sizeof(cmds[0])) {
            snprintf(cmds[ncmd].key, sizeof(cmds[ncmd].key), "%s", key);
            cmds[ncmd++].value = v;
        } else if (in_obj) {
            printf("  %-26s %llu\n", key, v);
        } else if (!in_cmds) {
            printf("%-28s %llu\n", key, v);
        }
        if (*p == '}' && in_obj)
            in_obj = false;
        if (*p == '}' && in_cmds) {
            in_cmds = false;
            qsort(cmds, ncmd, sizeof(cmds[0]), by_value_desc);
            for (size_t i = 0; i < ncmd; i++)
                printf("  %-40s %llu\n", cmds[i].key, cmds[i].value);
        }
    }
}

int
pv_cli_print_stats(const char *what, const char *socket_path, bool json)
{
    char *s = read_stats(socket_path);
    if (!s) {
        fprintf(stderr, "pearvisor: cannot read statistics of %s from %s: %s\n", what,
                socket_path, strerror(errno));
        return PV_EXIT_FAIL;
    }
    if (json)
        fputs(s, stdout);
    else
        print_table(s);
    free(s);
    return PV_EXIT_OK;
}

static const char stats_usage[] =
    "Usage: pearvisor gpu stats [--json] SOCKET\n"
    "\n"
    "Prints the live statistics of a PearVisor renderer that serves them on\n"
    "SOCKET ('pearvisor gpu serve --stats-socket SOCKET', or a VM's renderer):\n"
    "contexts, Venus commands decoded per type, bytes through rings and\n"
    "submits, ring sleeps and notifies, blob memory, fences, fatal errors\n"
    "(contexts_fatal, and fatal_reasons: how many contexts each kind of\n"
    "failed check made fatal).\n"
    "\n"
    "Options:\n"
    "  --json      print the raw JSON object\n"
    "  -h, --help  show this help\n";

int
pv_cli_gpu_stats(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(stats_usage, stdout);
            return PV_EXIT_OK;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "pearvisor gpu stats: unexpected argument '%s'\n"
                            "Try 'pearvisor gpu stats --help'.\n", argv[i]);
            return PV_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "pearvisor gpu stats: which socket?\nTry 'pearvisor gpu stats --help'.\n");
        return PV_EXIT_USAGE;
    }
    return pv_cli_print_stats("the renderer", path, json);
}
