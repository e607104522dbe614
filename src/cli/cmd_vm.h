/*
 * cli/cmd_vm: the VM commands of `pearvisor` (image, create, start, list,
 * stop, delete, console, run, exec), thin front ends over src/vm/vm.h.
 * Each takes the subcommand's argv (argv[0] is the verb) and returns the
 * process exit status; see cli.h for the conventions.
 */
#ifndef PV_CLI_CMD_VM_H
#define PV_CLI_CMD_VM_H

/* `run` and `exec` return the guest command's exit status, so their own
 * failures (boot timeout, no image, ...) use this one, as `env` and
 * `docker run` do. */
#define PV_EXIT_RUN_FAILED 125

int pv_cmd_image(int argc, char **argv);
int pv_cmd_create(int argc, char **argv);
int pv_cmd_start(int argc, char **argv);
int pv_cmd_list(int argc, char **argv);
int pv_cmd_stop(int argc, char **argv);
int pv_cmd_delete(int argc, char **argv);
int pv_cmd_console(int argc, char **argv);
int pv_cmd_run(int argc, char **argv);
int pv_cmd_exec(int argc, char **argv);
/* The VM called NAME: its dirs and definition. Returns PV_EXIT_OK, or
 * PV_EXIT_FAIL after saying what went wrong ("pearvisor VERB: ..."). */
struct pv_dirs;
struct pv_vm_def;
int pv_cli_load_vm(const char *verb, const char *name, struct pv_dirs *dirs,
                   struct pv_vm_def *def);
/* cmd_vmgpu.c: a running VM's GPU statistics and screen. */
int pv_cmd_stats(int argc, char **argv);
int pv_cmd_screenshot(int argc, char **argv);

#endif /* PV_CLI_CMD_VM_H */
