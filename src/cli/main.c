/* cli/main: `pearvisor [--version] [--help] <command> ...`; see cli.h. */
#include "cli.h"
#include "cmd_vm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PV_VERSION
#define PV_VERSION "unknown"
#endif

static const char usage[] =
    "Usage: pearvisor [--version] [--help] <command> [<args>]\n"
    "\n"
    "Commands:\n"
    "  image     build and list guest images (pearvisor image create debian-13)\n"
    "  create    define a VM: create NAME --image debian-13 --cpus N --memory SIZE\n"
    "  start     boot a VM in the background\n"
    "  list      list VMs with state, CPUs, memory, GPU mode and uptime\n"
    "  stop      shut a VM down (ACPI power button, then quit after a timeout)\n"
    "  delete    delete a VM and its disk\n"
    "  console   attach to a VM's serial console (or --log to print it)\n"
    "  run       boot a VM, run one command in it, print its output, shut down\n"
    "  exec      run one command in a running VM\n"
    "  stats     live GPU statistics of a running VM (--gpu venus)\n"
    "  screenshot  save a running VM's display as a PNG\n"

    "  gpu       the GPU renderer and its front doors (pearvisor gpu serve)\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  -V, --version  print the version\n"
    "\n"
    "Run 'pearvisor <command> --help' for a command's options.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"image", pv_cmd_image},
    {"create", pv_cmd_create},
    {"start", pv_cmd_start},
    {"list", pv_cmd_list},
    {"stop", pv_cmd_stop},
    {"delete", pv_cmd_delete},
    {"console", pv_cmd_console},
    {"run", pv_cmd_run},
    {"exec", pv_cmd_exec},
    {"stats", pv_cmd_stats},
    {"screenshot", pv_cmd_screenshot},
    {"gpu", pv_cli_gpu},
};

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    /* '+': stop at the command name; its options are the command's. */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            exit(PV_EXIT_OK);
        case 'V':
            printf("pearvisor %s\n", PV_VERSION);
            exit(PV_EXIT_OK);
        default: {
            char buf[3];
            fprintf(stderr, "pearvisor: unknown option '%s'\nTry 'pearvisor --help'.\n",
                    pv_cli_bad_option(argv, buf));
            exit(PV_EXIT_USAGE);
        }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "pearvisor: no command given\nTry 'pearvisor --help'.\n");
        exit(PV_EXIT_USAGE);
    }

    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(name, commands[i].name)) {
            int argc_sub = argc - optind;
            char **argv_sub = argv + optind;
            optind = 0; /* the command restarts getopt on its own argv */
            exit(commands[i].run(argc_sub, argv_sub));
        }
    }
    fprintf(stderr, "pearvisor: unknown command '%s'\nTry 'pearvisor --help'.\n", name);
    exit(PV_EXIT_USAGE);
}
