/*
 * vm/qemu: the configurator. Every QEMU flag PearVisor uses is chosen here,
 * from a definition and a host probe, by a pure function (docs/STYLE.md
 * §B.8): unit tested without starting anything, printed by --dry-run.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pv_argv_init(struct pv_argv *a)
{
    memset(a, 0, sizeof(*a));
}

int
pv_argv_add(struct pv_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strdup(s)))
        return -ENOMEM;
    a->v[++a->n] = NULL;
    return 0;
}

int
pv_argv_addf(struct pv_argv *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int err = pv_argv_add(a, s);
    free(s);
    return err;
}

void
pv_argv_free(struct pv_argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    pv_argv_init(a);
}

static bool
shell_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    "_-+=/.,:@%", *s))
            return false;
    }
    return true;
}

char *
pv_argv_join(const struct pv_argv *a)
{
    size_t cap = 1;
    for (size_t i = 0; i < a->n; i++)
        cap += 4 * strlen(a->v[i]) + 3;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            *o++ = ' ';
        if (shell_safe(a->v[i])) {
            o = stpcpy(o, a->v[i]);
            continue;
        }
        *o++ = '\'';
        for (const char *s = a->v[i]; *s; s++) {
            if (*s == '\'')
                o = stpcpy(o, "'\\''");
            else
                *o++ = *s;
        }
        *o++ = '\'';
    }
    *o = '\0';
    return out;
}

/* QEMU's option parser splits on ',' ("a,,b" is a literal comma). Paths with
 * commas are rare but legal; double them rather than corrupt the option. */
static void
qemu_escape(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    for (; *src && o + 2 < size; src++) {
        dst[o++] = *src;
        if (*src == ',')
            dst[o++] = ',';
    }
    dst[o] = '\0';
}

uint64_t
pv_qemu_hostmem_mib(const struct pv_vm_def *d)
{
    /* hostmem is the PCI BAR through which the guest maps host-visible
     * Vulkan memory (Venus rings, reply streams and every HOST_VISIBLE
     * allocation). It costs address space, not RAM: pages appear only when
     * the renderer maps a blob into it. Its size caps what the guest can
     * map at once, and a guest rarely maps more than it has RAM to fill, so:
     * the guest's RAM, rounded down to a power of two (a BAR's size is one),
     * at least 256 MiB (rings plus a few buffers; Venus works with 256M,
     * docs/qemu-and-hosts.md §3) and at most 4 GiB (well inside q35's and
     * virt's 64-bit PCI windows). */
    uint64_t mib = d->mem_bytes >> 20, p2 = 256;
    while (p2 * 2 <= mib && p2 < 4096)
        p2 *= 2;
    return p2;
}

int
pv_qemu_env(const struct pv_vm_def *d, const struct pv_host *h, const struct pv_vm_paths *p,
            const char *xdisplay, struct pv_argv *out)
{
    int err = 0;
    pv_argv_init(out);
    if (d->gpu != PV_GPU_VENUS)
        return 0;
    if (d->renderer == PV_RENDERER_PEARVISOR) {
        /* QEMU's GL module links libvirglrenderer.so.1: ours comes first. */
        if ((err = pv_argv_addf(out, "LD_LIBRARY_PATH=%s", h->door_dir)))
            goto fail;
        if ((err = pv_argv_addf(out, "PEARVISOR_STATS_SOCKET=%s", p->stats_sock)))
            goto fail;
        /* The door's render process is this very program (gpu door-process). */
        if (h->self_exe[0] &&
            (err = pv_argv_addf(out, "PEARVISOR_RENDER_EXE=%s", h->self_exe)))
            goto fail;
    } else {
        /* The system's virglrenderer, unmodified: LD_LIBRARY_PATH must not
         * point at our door (ours may be set by a developer's shell). */
        if ((err = pv_argv_add(out, "LD_LIBRARY_PATH=")))
            goto fail;
        if (h->render_server[0] &&
            (err = pv_argv_addf(out, "RENDER_SERVER_EXEC_PATH=%s", h->render_server)))
            goto fail;
    }
    if (xdisplay && (err = pv_argv_addf(out, "DISPLAY=%s", xdisplay)))
        goto fail;
    return 0;
fail:
    pv_argv_free(out);
    return err;
}

/* Is the text [s, end) one of the words of a log level that is no error? */
static bool
level_word(const char *s, const char *end)
{
    static const char *const words[] = {"warning", "info", "note", "debug"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - s) == n && !strncmp(s, words[i], n))
            return true;
    }
    return false;
}

/* A line that reports no failure. QEMU's warn_report() and info_report()
 * write "PROG: [LOCATION: ]warning: TEXT" and "info: TEXT", where LOCATION
 * is the option being parsed; libraries and the door write "NAME LEVEL:
 * TEXT" or "pearvisor LEVEL MODULE: TEXT". So: a level word as a whole
 * ": "-separated field, or as a word of the first field. */
static bool
noise_line(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s == end)
        return true;
    for (bool first = true; s < end; first = false) {
        const char *fe = s; /* the field [s, fe) ends at ": " or the line's end */
        while (fe < end && !(fe + 1 < end && fe[0] == ':' && fe[1] == ' '))
            fe++;
        const char *we = fe;
        if (we == end && we > s && we[-1] == ':') /* "...: warning:" closing the line */
            we--;
        if (level_word(s, we))
            return true;
        for (const char *w = s; first && w < we;) {
            const char *e = memchr(w, ' ', (size_t)(we - w));
            if (!e)
                e = we;
            if (level_word(w, e))
                return true;
            w = e + 1;
        }
        s = fe < end ? fe + 2 : end;
    }
    return false;
}

bool
pv_qemu_error_line(const char *out, char *line, size_t size)
{
    if (size)
        line[0] = '\0';
    for (const char *s = out; *s;) {
        const char *end = strchr(s, '\n');
        if (!end)
            end = s + strlen(s);
        if (!noise_line(s, end)) {
            /* "qemu-system-x86_64: " says who, not why. */
            const char *c = s;
            while (c + 1 < end && !(c[0] == ':' && c[1] == ' '))
                c++;
            if (!strncmp(s, "qemu-", 5) && c + 1 < end)
                s = c + 2;
            if (size)
                snprintf(line, size, "%.*s", (int)(end - s), s);
            return true;
        }
        s = *end ? end + 1 : end;
    }
    return false;
}

const char *
pv_qemu_binary(const struct pv_vm_def *d, const struct pv_host *h)
{
    return d->arch == PV_ARCH_ARM64 ? h->qemu_arm64 : h->qemu;
}

bool
pv_qemu_uses_kvm(const struct pv_vm_def *d, const struct pv_host *h)
{
    /* KVM runs only the host's own instruction set; another one is TCG's. */
    return h->kvm_usable && d->arch == pv_arch_native();
}

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if ((err = pv_argv_addf(out, __VA_ARGS__)))                                                \
            goto fail;                                                                             \
    } while (0)

bool
pv_qemu_has_vnc(const struct pv_vm_def *d, const struct pv_host *h)
{
    return d->desktop && (d->gpu == PV_GPU_2D || (d->gpu == PV_GPU_VENUS &&
                                                  pv_gpu_display(h, NULL) == PV_DISPLAY_EGL_HEADLESS));
}

int
pv_qemu_argv(const struct pv_vm_def *d, const struct pv_host *h, const struct pv_vm_paths *p,
             struct pv_argv *out, char *errbuf, size_t err_size)
{
    int err;
    char e1[2 * PATH_MAX], e2[2 * PATH_MAX];
    char uuid[37];
    pv_uuid_str(d->uuid, uuid);
    pv_argv_init(out);

    if ((err = pv_vm_def_check(d, errbuf, err_size)))
        return err;
    if (d->gpu == PV_GPU_VENUS && pv_gpu_display(h, NULL) == PV_DISPLAY_NONE) {
        snprintf(errbuf, err_size,
                 "--gpu venus needs an OpenGL display for QEMU (set DISPLAY, install Xvfb, "
                 "or give the host a DRM render node); use --gpu 2d or off");
        return -ENODEV;
    }

    bool arm = d->arch == PV_ARCH_ARM64, kvm = pv_qemu_uses_kvm(d, h);
    const char *qemu = pv_qemu_binary(d, h);
    ADD("%s", qemu[0] ? qemu : arm ? "qemu-system-aarch64" : "qemu-system-x86_64");
    ADD("-name");
    ADD("%s,process=pearvisor-%s", d->name, d->name);
    ADD("-uuid");
    ADD("%s", uuid);
    /* Only the devices listed below: no default NIC, VGA, floppy or CD. */
    ADD("-nodefaults");
    ADD("-no-user-config");
    /* A guest reboot or kernel panic (panic=-1) ends QEMU, so a dead guest
     * never spins: pearvisor sees the process exit. */
    ADD("-no-reboot");

    /* Accelerator. TCG runs anything; KVM only when the probe says it can run
     * a stock kernel (not kvm_pvm, see host.c). -cpu max under TCG offers the
     * newest ISA TCG emulates; under KVM, host passes the real CPU through. */
    ADD("-accel");
    ADD("%s", kvm ? "kvm" : "tcg");
    /* x86: q35: PCIe, ACPI (power button for clean shutdown). microvm would
     * boot faster but corrupts initrds above 1 GiB of RAM
     * (docs/qemu-and-hosts.md §2). ARM64: virt, PCIe too; booted with
     * -kernel it describes itself by device tree, whose gpio-keys power
     * button (KEY_POWER) is what system_powerdown presses; GICv3 where
     * there are more vCPUs than GICv2's 8. */
    const char *machine = arm ? (d->cpus > 8 ? "virt,gic-version=3" : "virt") : "q35";
    ADD("-machine");
    if (d->gpu == PV_GPU_VENUS)
        ADD("%s,memory-backend=pv-mem", machine);
    else
        ADD("%s", machine);
    ADD("-cpu");
    ADD("%s", kvm ? "host" : "max");
    ADD("-smp");
    ADD("%u", d->cpus);
    ADD("-m");
    ADD("%" PRIu64 "M", d->mem_bytes >> 20);
    if (d->gpu == PV_GPU_VENUS) {
        /* Venus maps host-visible memory as blobs: guest RAM must be a
         * shareable memfd. */
        ADD("-object");
        ADD("memory-backend-memfd,id=pv-mem,size=%" PRIu64 "M,share=on", d->mem_bytes >> 20);
    }

    /* Direct kernel boot of the image's stock kernel and our initramfs. */
    ADD("-kernel");
    ADD("%s", p->kernel);
    ADD("-initrd");
    ADD("%s", p->initrd);
    ADD("-append");
    /* The serial console: the first 8250 UART on q35, the PL011 on virt. */
    ADD("console=%s root=/dev/vda rw quiet panic=-1 pearvisor.name=%s%s%s%s%s",
        arm ? "ttyAMA0" : "ttyS0", d->name,
        d->desktop && d->gpu != PV_GPU_OFF ? " pearvisor.desktop=" : "",
        d->desktop && d->gpu != PV_GPU_OFF ? (d->gpu == PV_GPU_VENUS ? "venus" : "2d") : "",
        d->append[0] ? " " : "", d->append);

    /* Control: QMP on a Unix socket (stop, status). -qmp, not -chardev
     * with -mon: QEMU 11.1 deprecates -mon (for -object monitor-qmp, which
     * QEMU 10.0 lacks); -qmp means the same on both and warns on neither. */
    qemu_escape(e1, sizeof(e1), p->qmp_sock);
    ADD("-qmp");
    ADD("unix:%s,server=on,wait=off", e1);

    /* The serial console: kernel messages from the first line (so a guest
     * that fails to boot still tells why), a root shell for `pearvisor
     * console`, all of it recorded in console.log. */
    qemu_escape(e1, sizeof(e1), p->console_sock);
    qemu_escape(e2, sizeof(e2), p->console_log);
    ADD("-chardev");
    ADD("socket,id=pv-console,path=%s,server=on,wait=off,logfile=%s,logappend=off", e1, e2);
    ADD("-serial");
    ADD("chardev:pv-console");

    /* virtio console (virtio-serial): one named port for our guest agent. */
    ADD("-device");
    ADD("virtio-serial-pci,id=pv-vser");
    qemu_escape(e1, sizeof(e1), p->agent_sock);
    ADD("-chardev");
    ADD("socket,id=pv-agent,path=%s,server=on,wait=off", e1);
    ADD("-device");
    ADD("virtserialport,bus=pv-vser.0,chardev=pv-agent,name=org.pearvisor.agent.0");

    /* Block: the VM's qcow2 overlay of the image. QEMU takes a write lock on
     * it (and a shared one on the image), so two VMs can't share a disk. */
    qemu_escape(e1, sizeof(e1), p->disk);
    ADD("-drive");
    ADD("file=%s,if=none,id=pv-disk,format=qcow2,discard=unmap", e1);
    ADD("-device");
    ADD("virtio-blk-pci,drive=pv-disk");

    /* Net: QEMU user networking (libslirp); forwards listen on loopback only. */
    char net[64 + PV_VM_MAX_PORTS * 48];
    size_t off = (size_t)snprintf(net, sizeof(net), "user,id=pv-net");
    for (unsigned i = 0; i < d->nports; i++)
        off += (size_t)snprintf(net + off, sizeof(net) - off, ",hostfwd=tcp:127.0.0.1:%u-:%u",
                                d->ports[i].host, d->ports[i].guest);
    ADD("-netdev");
    ADD("%s", net);
    ADD("-device");
    ADD("virtio-net-pci,netdev=pv-net");

    /* rng: the guest's entropy from the host's urandom. */
    ADD("-object");
    ADD("rng-random,id=pv-rng,filename=/dev/urandom");
    ADD("-device");
    ADD("virtio-rng-pci,rng=pv-rng");

    /* A desktop's input: keyboard and absolute pointer (QEMU's window
     * sends its events to them), virtio so the guest's modalias loads them. */
    if (d->desktop && d->gpu != PV_GPU_OFF) {
        ADD("-device");
        ADD("virtio-keyboard-pci");
        ADD("-device");
        ADD("virtio-tablet-pci");
    }

    /* A desktop's remote view: QEMU's VNC on a socket in the VM's runtime
     * directory (the user's own, removed at stop), wherever QEMU can serve
     * it: the 2D device, or Venus on headless EGL. SDL's GL display takes
     * no second listener ("Display vnc is incompatible with the GL
     * context"), so a Venus desktop on a window or an Xvfb has none. */
    if (pv_qemu_has_vnc(d, h)) {
        qemu_escape(e1, sizeof(e1), p->vnc_sock);
        ADD("-vnc");
        ADD("unix:%s", e1);
    }

    /* GPU. */
    switch (d->gpu) {
    case PV_GPU_OFF:
        ADD("-display");
        ADD("none");
        break;
    case PV_GPU_2D:
        ADD("-device");
        ADD("virtio-gpu-pci");
        ADD("-display");
        ADD("none");
        break;
    case PV_GPU_VENUS:
        /* QEMU's GL device refuses to start without a GL display: SDL on X
         * (Xvfb is enough) or, with a render node, egl-headless. */
        ADD("-device");
        ADD("virtio-gpu-gl-pci,venus=on,blob=on,hostmem=%" PRIu64 "M", pv_qemu_hostmem_mib(d));
        ADD("-display");
        /* A window on the user's desktop when there is one; else headless
         * EGL on a render node; else SDL on the VM's private Xvfb (the
         * same flags: DISPLAY in pv_qemu_env says which X server). */
        ADD("%s", pv_gpu_display(h, NULL) == PV_DISPLAY_EGL_HEADLESS ? "egl-headless"
                                                                     : "sdl,gl=on");
        break;
    }
    return 0;
fail:
    pv_argv_free(out);
    snprintf(errbuf, err_size, "out of memory");
    return err;
}
