/* vm/image: guest image recipes. The recipe itself is guest/build-image.sh,
 * which owns the cache key; this file finds the recipe (installed or in the
 * source tree), runs it and finds its result. */
#include "vm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* Set by src/vm/meson.build: the source tree's guest/, and where `meson
 * install` puts its copy (DATADIR/pearvisor/guest, DATADIR relative to the
 * prefix and absolute). */
#ifndef PV_GUEST_DIR
#define PV_GUEST_DIR "guest"
#endif
#ifndef PV_DATADIR_REL
#define PV_DATADIR_REL "share"
#endif
#ifndef PV_DATADIR_ABS
#define PV_DATADIR_ABS "/usr/local/share"
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

static bool
recipe_in(const char *dir)
{
    char script[PATH_MAX];
    return snprintf(script, sizeof(script), "%s/build-image.sh", dir) < (int)sizeof(script) &&
           !access(script, X_OK);
}

void
pv_guest_dir_find(const char *exe, char *out, size_t size)
{
    const char *env = getenv("PEARVISOR_GUEST_DIR");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return; /* an explicit choice: no guessing past it */
    }
    /* Installed: PREFIX/bin/pearvisor and PREFIX/DATADIR/pearvisor/guest,
     * looked up relative to the binary so a staged tree (DESTDIR) finds its
     * own copy too. */
    char cand[PATH_MAX], real[PATH_MAX];
    snprintf(cand, sizeof(cand), "%s", exe);
    char *slash = strrchr(cand, '/');
    if (slash) {
        *slash = '\0';
        size_t n = strlen(cand);
        if (snprintf(cand + n, sizeof(cand) - n, "/../%s/pearvisor/guest", PV_DATADIR_REL) <
                (int)(sizeof(cand) - n) &&
            recipe_in(cand) && realpath(cand, real)) {
            snprintf(out, size, "%s", real);
            return;
        }
    }
    /* The build tree's binary: the source tree it was configured from. */
    if (recipe_in(PV_GUEST_DIR)) {
        snprintf(out, size, "%s", PV_GUEST_DIR);
        return;
    }
    /* Installed with a bindir outside the prefix: the configured path. When
     * nothing is found, messages name the source tree's path. */
    snprintf(out, size, "%s",
             recipe_in(PV_DATADIR_ABS "/pearvisor/guest") ? PV_DATADIR_ABS "/pearvisor/guest"
                                                          : PV_GUEST_DIR);
}

void
pv_guest_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    pv_guest_dir_find(exe, out, size);
}

/* Runs build-image.sh [--lookup] name; its stdout (the directory) goes to
 * dir, its stderr (progress) to ours. Returns its exit status or -errno
 * (-ENOEXEC: there is no recipe to run). */
static int
run_recipe(const char *name, enum pv_arch arch, bool lookup, char *dir, size_t size)
{
    char gdir[PATH_MAX], script[PATH_MAX];
    pv_guest_dir(gdir, sizeof(gdir));
    if (snprintf(script, sizeof(script), "%s/build-image.sh", gdir) >= (int)sizeof(script))
        return -ENAMETOOLONG;
    if (access(script, X_OK))
        return -ENOEXEC;
    char *argv[6] = {script};
    size_t n = 1;
    if (lookup)
        argv[n++] = "--lookup";
    if (arch != PV_ARCH_X86_64) {
        argv[n++] = "--arch";
        argv[n++] = (char *)pv_arch_name(arch);
    }
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
pv_image_lookup(const char *name, enum pv_arch arch, char *dir, size_t size)
{
    if (!pv_image_find(name))
        return -EINVAL;
    int r = run_recipe(name, arch, true, dir, size);
    if (r == 3)
        return -ENOENT;
    if (r < 0)
        return r;
    return r ? -EIO : 0;
}

int
pv_image_build(const char *name, enum pv_arch arch, char *dir, size_t size)
{
    if (!pv_image_find(name))
        return -EINVAL;
    int r = run_recipe(name, arch, false, dir, size);
    if (r < 0)
        return r;
    return r ? -EIO : 0;
}
