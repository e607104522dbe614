/* vm/paths: where PearVisor keeps VMs (XDG base directories) and their files. */
#include "vm.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $VAR/pearvisor if VAR is an absolute path, else $HOME/fallback/pearvisor. */
static int
xdg_dir(char *out, size_t size, const char *var, const char *fallback)
{
    const char *v = getenv(var);
    int n;
    if (v && v[0] == '/') {
        n = snprintf(out, size, "%s/pearvisor", v);
    } else {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
            return -ENOENT;
        n = snprintf(out, size, "%s/%s/pearvisor", home, fallback);
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int
pv_dirs_get(struct pv_dirs *d)
{
    int err;
    if ((err = xdg_dir(d->data, sizeof(d->data), "XDG_DATA_HOME", ".local/share")) ||
        (err = xdg_dir(d->state, sizeof(d->state), "XDG_STATE_HOME", ".local/state")))
        return err;
    const char *cache = getenv("PEARVISOR_CACHE");
    if (cache && cache[0] == '/')
        snprintf(d->cache, sizeof(d->cache), "%s", cache);
    else if ((err = xdg_dir(d->cache, sizeof(d->cache), "XDG_CACHE_HOME", ".cache")))
        return err;
    /* XDG_RUNTIME_DIR is often unset for root and in containers; sockets then
     * go to a private directory in /tmp (short, so sun_path fits). */
    const char *run = getenv("XDG_RUNTIME_DIR");
    int n = run && run[0] == '/'
                ? snprintf(d->runtime, sizeof(d->runtime), "%s/pearvisor", run)
                : snprintf(d->runtime, sizeof(d->runtime), "/tmp/pearvisor-%u", (unsigned)getuid());
    return n < 0 || (size_t)n >= sizeof(d->runtime) ? -ENAMETOOLONG : 0;
}

#define PATHF(dst, ...)                                                                            \
    do {                                                                                           \
        int n_ = snprintf(dst, sizeof(dst), __VA_ARGS__);                                          \
        if (n_ < 0 || (size_t)n_ >= sizeof(dst))                                                   \
            return -ENAMETOOLONG;                                                                  \
    } while (0)

int
pv_vm_paths_get(const struct pv_dirs *d, const struct pv_vm_def *def, struct pv_vm_paths *p)
{
    memset(p, 0, sizeof(*p));
    PATHF(p->vm_dir, "%s/vms/%s", d->data, def->name);
    PATHF(p->conf, "%s/vm.conf", p->vm_dir);
    PATHF(p->disk, "%s/disk.qcow2", p->vm_dir);
    PATHF(p->state_dir, "%s/%s", d->state, def->name);
    PATHF(p->console_log, "%s/console.log", p->state_dir);
    PATHF(p->qemu_log, "%s/qemu.log", p->state_dir);
    PATHF(p->qemu_debug_log, "%s/qemu-debug.log", p->state_dir);
    PATHF(p->qemu_venus_log, "%s/qemu-venus.log", p->state_dir);
    PATHF(p->run_dir, "%s/%s", d->runtime, def->name);
    PATHF(p->qmp_sock, "%s/qmp.sock", p->run_dir);
    PATHF(p->agent_sock, "%s/agent.sock", p->run_dir);
    PATHF(p->console_sock, "%s/console.sock", p->run_dir);
    PATHF(p->pidfile, "%s/qemu.pid", p->run_dir);
    PATHF(p->stats_sock, "%s/gpu-stats.sock", p->run_dir);
    PATHF(p->vnc_sock, "%s/vnc.sock", p->run_dir);
    PATHF(p->xvfb_pidfile, "%s/xvfb.pid", p->run_dir);
    /* Xvfb -fbdir DIR keeps screen 0 in DIR/Xvfb_screen0 (XWD format). */
    PATHF(p->xvfb_screen, "%s/Xvfb_screen0", p->run_dir);
    if (def->image_dir[0]) {
        PATHF(p->kernel, "%s/vmlinuz", def->image_dir);
        PATHF(p->initrd, "%s/initrd.img", def->image_dir);
        PATHF(p->base, "%s/root.img", def->image_dir);
    }
    return 0;
}

int
pv_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *s = buf + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(buf, mode) && errno != EEXIST)
                return -errno;
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

int
pv_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st))
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return -errno;
        struct dirent *e;
        int err = 0;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub)) {
                err = -ENAMETOOLONG;
                continue;
            }
            int e2 = pv_rm_rf(sub);
            if (e2)
                err = e2;
        }
        closedir(d);
        if (err)
            return err;
        return rmdir(path) ? -errno : 0;
    }
    return unlink(path) ? -errno : 0;
}
