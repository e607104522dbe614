/* vm/image: guest image recipes. The recipe itself is guest/build-image.sh,
 * which owns the cache key; this file runs it and finds its result. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PV_GUEST_DIR
#define PV_GUEST_DIR "guest"
#endif

const struct pv_image_info pv_images[] = {
    {"debian-13", "Debian 13 (trixie), stock kernel 6.12, Mesa Venus, vulkan-tools, vkmark"},
    {NULL, NULL},
};

const struct pv_image_info *
pv_image_find(const char *name)
{
    for (const struct pv_image_info *i = pv_images; i->name; i++) {
        if (!strcmp(i->name, name))
            return i;
    }
    return NULL;
}

const char *
pv_guest_dir(void)
{
    const char *d = getenv("PEARVISOR_GUEST_DIR");
    return d && *d ? d : PV_GUEST_DIR;
}

/* Runs build-image.sh [--lookup] name; its stdout (the directory) goes to
 * dir, its stderr (progress) to ours. Returns its exit status or -errno. */
static int
run_recipe(const char *name, bool lookup, char *dir, size_t size)
{
    char script[PATH_MAX];
    if (snprintf(script, sizeof(script), "%s/build-image.sh", pv_guest_dir()) >= (int)sizeof(script))
        return -ENAMETOOLONG;
    if (access(script, X_OK))
        return -ENOENT;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC))
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(pfd[0]);
        close(pfd[1]);
        return err;
    }
    if (pid == 0) {
        dup2(pfd[1], 1);
        if (lookup)
            execl(script, script, "--lookup", name, (char *)NULL);
        else
            execl(script, script, name, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(pfd[0], dir + len, size - 1 - len)) > 0 ||
           (n < 0 && errno == EINTR)) {
        if (n > 0)
            len += (size_t)n;
        if (len == size - 1)
            break;
    }
    close(pfd[0]);
    dir[len] = '\0';
    while (len && (dir[len - 1] == '\n' || dir[len - 1] == ' '))
        dir[--len] = '\0';
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (!WIFEXITED(st))
        return 128 + WTERMSIG(st);
    if (WEXITSTATUS(st) == 0 && dir[0] != '/')
        return 1;
    return WEXITSTATUS(st);
}

int
pv_image_lookup(const char *name, char *dir, size_t size)
{
    if (!pv_image_find(name))
        return -EINVAL;
    int r = run_recipe(name, true, dir, size);
    if (r == 3)
        return -ENOENT;
    if (r < 0)
        return r;
    return r ? -EIO : 0;
}

int
pv_image_build(const char *name, char *dir, size_t size)
{
    if (!pv_image_find(name))
        return -EINVAL;
    int r = run_recipe(name, false, dir, size);
    if (r < 0)
        return r;
    return r ? -EIO : 0;
}
