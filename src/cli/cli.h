/*
 * cli: the `pearvisor` command line. main.c picks the subcommand; each
 * cmd_<verb>.c parses its own options and returns the process exit status.
 *
 * Owner:   the CLI (src/cli/). The only code that may call exit().
 * Trust:   argv and the environment come from the local user; nothing here
 *          parses guest or client bytes.
 * Threads: main thread only; signal handlers only call async-signal-safe
 *          stop functions.
 */
#ifndef PV_CLI_H
#define PV_CLI_H

#include <getopt.h>
#include <stdbool.h>

/* Exit statuses: success, runtime failure, usage error. */
#define PV_EXIT_OK 0
#define PV_EXIT_FAIL 1
#define PV_EXIT_USAGE 2

/*
 * The option getopt_long() just rejected with '?', as the user typed it:
 * "-x" for a short option (possibly inside a "-abx" cluster), else the word.
 */
static inline const char *
pv_cli_bad_option(char *const *argv, char buf[3])
{
    if (optopt > 0 && optopt < 128) {
        buf[0] = '-';
        buf[1] = (char)optopt;
        buf[2] = '\0';
        return buf;
    }
    return argv[optind - 1];
}

/* `pearvisor gpu ...`; argv[0] is "gpu". Returns the exit status. */
int pv_cli_gpu(int argc, char **argv);
/* `pearvisor gpu stats ...`; argv[0] is "stats". */
int pv_cli_gpu_stats(int argc, char **argv);
/* `pearvisor gpu probe`; argv[0] is "probe". 0: the host's Vulkan can run the renderer. */
int pv_cli_gpu_probe(int argc, char **argv);
/* Prints the statistics served on socket_path (a table, or the JSON); `what` names it in errors. */
int pv_cli_print_stats(const char *what, const char *socket_path, bool json);

#endif /* PV_CLI_H */
