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

/* Exit statuses: success, runtime failure, usage error. */
#define PV_EXIT_OK 0
#define PV_EXIT_FAIL 1
#define PV_EXIT_USAGE 2

/* `pearvisor gpu ...`; argv[0] is "gpu". Returns the exit status. */
int pv_cli_gpu(int argc, char **argv);

#endif /* PV_CLI_H */
