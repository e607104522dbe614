/* vm/image: guest image recipes. The recipe itself is guest/build-image.sh,
 * which owns the cache key; this file runs it and finds its result. */
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

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
    char *argv[4] = {script};
    size_t n = 1;
    if (lookup)
        argv[n++] = "--lookup";
    argv[n] = (char *)name;
    struct pv_proc_spec s = PV_PROC_SPEC(argv);
    s.out = PV_PROC_CAPTURE;
    int r = pv_proc_capture(&s, 0, dir, size);
    if (r < 0)
        return r;
    size_t len = strlen(dir);
    while (len && (dir[len - 1] == '\n' || dir[len - 1] == ' '))
        dir[--len] = '\0';
    if (r == 0 && dir[0] != '/')
        return 1;
    return r;
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
