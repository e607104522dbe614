/*
 * Unit tests for the VM manager (src/vm/), with nothing started:
 *  1. parsers: names, sizes, ports, GPU modes, UUIDs;
 *  2. definitions: format/parse round trip and every rejection path;
 *  3. host probe: the KVM verdict from handcrafted cpuinfo and module facts
 *     (kvm_pvm, as on our machines, must mean TCG);
 *  4. the configurator: QEMU argv for TCG and KVM, CPUs, memory, forwards,
 *     GPU modes, kernel arguments, quoting for --dry-run; the error line
 *     picked from QEMU 10.0's and 11.1's start-up output (warnings are none);
 *  5. QMP's JSON key finder;
 *  6. the agent protocol's host side against a fake guest on a Unix socket:
 *     stale replies are skipped by id, output and exit status come through,
 *     a malformed frame ends the link with -EPROTO;
 *  7. an installed layout (PREFIX/bin, PREFIX/DATADIR/pearvisor/guest,
 *     PREFIX/LIBDIR/pearvisor) in a temporary directory: the binary finds
 *     its own copy of the image recipe and the door beside it.
 */
#include "vm.h"
#include "check.h"

#include "../../guest/agent/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- 1. parsers ---------------------------------------------------------- */

static void
test_parsers(void)
{
    CHECK(pv_vm_name_valid("web-1"));
    CHECK(pv_vm_name_valid("a.b_c"));
    CHECK(!pv_vm_name_valid(""));
    CHECK(!pv_vm_name_valid("-x"));
    CHECK(!pv_vm_name_valid(".."));
    CHECK(!pv_vm_name_valid("a/b"));
    CHECK(!pv_vm_name_valid("a b"));
    CHECK(!pv_vm_name_valid("0123456789012345678901234567890123456789x")); /* 41 */
    CHECK(pv_vm_name_valid("0123456789012345678901234567890123456789"));   /* 40 */

    uint64_t v;
    CHECK(pv_parse_size("2G", &v) == 0 && v == 2ull << 30);
    CHECK(pv_parse_size("512M", &v) == 0 && v == 512ull << 20);
    CHECK(pv_parse_size("1536MiB", &v) == 0 && v == 1536ull << 20);
    CHECK(pv_parse_size("1gb", &v) == 0 && v == 1ull << 30);
    CHECK(pv_parse_size("4096", &v) == 0 && v == 4096ull << 20); /* MiB, like -m */
    CHECK(pv_parse_size("100B", &v) == 0 && v == 100);
    CHECK(pv_parse_size("", &v) == -EINVAL);
    CHECK(pv_parse_size("G", &v) == -EINVAL);
    CHECK(pv_parse_size("-1G", &v) == -EINVAL);
    CHECK(pv_parse_size("2X", &v) == -EINVAL);
    CHECK(pv_parse_size("2GG", &v) == -EINVAL);
    CHECK(pv_parse_size("99999999999T", &v) == -ERANGE);

    struct pv_port_fwd p;
    CHECK(pv_parse_port("8080:80", &p) == 0 && p.host == 8080 && p.guest == 80);
    CHECK(pv_parse_port("0:80", &p) == -EINVAL);
    CHECK(pv_parse_port("65536:80", &p) == -EINVAL);
    CHECK(pv_parse_port("80", &p) == -EINVAL);
    CHECK(pv_parse_port("80:80x", &p) == -EINVAL);
    CHECK(pv_parse_port("+80:80", &p) == -EINVAL);

    enum pv_gpu_mode g;
    CHECK(pv_parse_gpu("venus", &g) == 0 && g == PV_GPU_VENUS);
    CHECK(pv_parse_gpu("2d", &g) == 0 && g == PV_GPU_2D);
    CHECK(pv_parse_gpu("off", &g) == 0 && g == PV_GPU_OFF);
    CHECK(pv_parse_gpu("3d", &g) == -EINVAL);
    CHECK(!strcmp(pv_gpu_name(PV_GPU_VENUS), "venus"));

    char buf[32];
    CHECK(!strcmp(pv_size_str(2ull << 30, buf, sizeof(buf)), "2G"));
    CHECK(!strcmp(pv_size_str(1536ull << 20, buf, sizeof(buf)), "1.5G"));
    CHECK(!strcmp(pv_size_str(512ull << 20, buf, sizeof(buf)), "512M"));

    uint8_t u[16], u2[16];
    char s[37];
    pv_uuid_generate(u);
    pv_uuid_str(u, s);
    CHECK(strlen(s) == 36 && s[14] == '4');
    CHECK(pv_uuid_parse(s, u2) == 0 && !memcmp(u, u2, 16));
    CHECK(pv_uuid_parse("not-a-uuid", u2) == -EINVAL);
    CHECK(pv_uuid_parse("123e4567-e89b-12d3-a456-42661417400g", u2) == -EINVAL);
}

/* ---- 2. definitions ------------------------------------------------------ */

static void
sample_def(struct pv_vm_def *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "web");
    pv_uuid_parse("123e4567-e89b-42d3-a456-426614174000", d->uuid);
    snprintf(d->image, sizeof(d->image), "debian-13");
    snprintf(d->os, sizeof(d->os), "debian-13");
    snprintf(d->image_dir, sizeof(d->image_dir), "/cache/images/debian-13-abc");
    d->cpus = 2;
    d->mem_bytes = 1ull << 30;
    d->disk_bytes = 4ull << 30;
    d->gpu = PV_GPU_2D;
    d->nports = 2;
    d->ports[0] = (struct pv_port_fwd){8080, 80};
    d->ports[1] = (struct pv_port_fwd){2222, 22};
    d->created = 1700000000;
}

static int
parse(const char *text, struct pv_vm_def *d, char *err)
{
    return pv_vm_def_parse(text, d, err, 256);
}

static void
test_definitions(void)
{
    struct pv_vm_def d, e;
    char text[4096], err[256];
    sample_def(&d);
    int n = pv_vm_def_format(&d, text, sizeof(text));
    CHECK(n > 0);
    CHECK(parse(text, &e, err) == 0);
    CHECK(!memcmp(&d, &e, sizeof(d)));
    CHECK(pv_vm_def_format(&d, text, 40) == -ENOSPC);

    snprintf(d.append, sizeof(d.append), "loglevel=7 pearvisor.break=initramfs");
    pv_vm_def_format(&d, text, sizeof(text));
    CHECK(parse(text, &e, err) == 0 && !strcmp(e.append, d.append));
    CHECK(!strstr(text, "desktop=") && !e.desktop);
    d.desktop = true;
    pv_vm_def_format(&d, text, sizeof(text));
    CHECK(strstr(text, "\ndesktop=1\n") && parse(text, &e, err) == 0 && e.desktop);
    d.desktop = false;

    const char *base = "version=1\nname=a\nuuid=123e4567-e89b-42d3-a456-426614174000\n"
                       "image=debian-13\nimage_dir=/x\ncpus=1\nmemory=1073741824\n";
    snprintf(text, sizeof(text), "%s", base);
    CHECK(parse(text, &e, err) == 0 && e.gpu == PV_GPU_OFF && !strcmp(e.os, "debian-13"));
    /* No arch= is an x86_64 VM (definitions older than arm64 support). */
    CHECK(e.arch == PV_ARCH_X86_64);
    CHECK(pv_vm_def_format(&d, text, sizeof(text)) > 0 && !strstr(text, "arch="));
    d.arch = PV_ARCH_ARM64;
    CHECK(pv_vm_def_format(&d, text, sizeof(text)) > 0 && strstr(text, "\narch=arm64\n"));
    CHECK(parse(text, &e, err) == 0 && e.arch == PV_ARCH_ARM64 && !memcmp(&d, &e, sizeof(d)));
    d.arch = PV_ARCH_X86_64;
    enum pv_arch arch;
    CHECK(pv_parse_arch("aarch64", &arch) == 0 && arch == PV_ARCH_ARM64);
    CHECK(pv_parse_arch("amd64", &arch) == 0 && arch == PV_ARCH_X86_64);
    CHECK(pv_parse_arch("riscv64", &arch) == -EINVAL && pv_parse_arch(NULL, &arch) == -EINVAL);
    CHECK(!strcmp(pv_arch_name(PV_ARCH_ARM64), "arm64"));
    /* CRLF and comments are fine. */
    CHECK(parse("# c\r\nversion=1\r\nname=a\r\nuuid=123e4567-e89b-42d3-a456-426614174000\r\n"
                "image=i\r\nimage_dir=/x\r\ncpus=1\r\nmemory=1073741824\r\n",
                &e, err) == 0);

    struct {
        const char *extra, *why;
    } bad[] = {
        {"cpus=0\n", "cpus"},
        {"cpus=256\n", "bad value"},
        {"cpus=two\n", "bad value"},
        {"memory=1000\n", "memory"},
        {"memory=1073741825\n", "memory"},
        {"gpu=3d\n", "bad value"},
        {"port=1:2:3\n", "bad value"},
        {"port=80:80\nport=80:81\n", "twice"},
        {"colour=red\n", "unknown key"},
        {"version=2\n", "version"},
        {"noequals\n", "key=value"},
        {"=x\n", "key=value"},
        {"name=../etc\n", "invalid VM name"},
        {"image_dir=relative\n", "bad value"},
        {"append=a\"b\n", "quotes"},
        {"uuid=xyz\n", "bad value"},
        {"arch=mips\n", "bad value"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", base, bad[i].extra);
        err[0] = '\0';
        int r = parse(text, &e, err);
        CHECK(r == -EINVAL);
        CHECK_MSG(strstr(err, bad[i].why), "case %zu: '%s' lacks '%s'", i, err, bad[i].why);
    }
    CHECK(parse("version=1\nname=a\n", &e, err) == -EINVAL && strstr(err, "uuid"));
    CHECK(parse("", &e, err) == -EINVAL && strstr(err, "version"));
    char longline[PATH_MAX + 200];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    CHECK(parse(longline, &e, err) == -EINVAL && strstr(err, "too long"));
}

/* ---- 3. host probe ------------------------------------------------------- */

static void
test_kvm_verdict(void)
{
    const char *intel = "processor\t: 0\nflags\t\t: fpu vme sse2 vmx ssse3\n";
    const char *nested_pvm = "processor\t: 0\nflags\t\t: fpu vme sse2 ssse3 hypervisor\n";
    const char *vmxish = "flags\t\t: fpu vmxnot svmx\n";
    char why[192];
    CHECK(pv_host_kvm_verdict(intel, true, false, true, why, sizeof(why)));
    CHECK(pv_host_kvm_verdict("flags : svm\n", true, false, true, why, sizeof(why)));
    /* Our machines: /dev/kvm works, but it is kvm_pvm and cpuinfo has no vmx. */
    CHECK(!pv_host_kvm_verdict(nested_pvm, true, true, false, why, sizeof(why)));
    CHECK(strstr(why, "kvm_pvm") != NULL);
    CHECK(!pv_host_kvm_verdict(intel, true, true, true, why, sizeof(why)));
    CHECK(!pv_host_kvm_verdict(intel, false, false, true, why, sizeof(why)));
    CHECK(strstr(why, "/dev/kvm") != NULL);
    CHECK(!pv_host_kvm_verdict(nested_pvm, true, false, true, why, sizeof(why)));
    CHECK(strstr(why, "vmx/svm") != NULL);
    CHECK(!pv_host_kvm_verdict(vmxish, true, false, true, why, sizeof(why)));
    CHECK(!pv_host_kvm_verdict(intel, true, false, false, why, sizeof(why)));
    CHECK(!pv_host_kvm_verdict(NULL, true, false, true, why, sizeof(why)));
}

/* ---- 4. configurator ----------------------------------------------------- */

static void
sample_host(struct pv_host *h, bool kvm)
{
    memset(h, 0, sizeof(*h));
    h->kvm_usable = kvm;
    snprintf(h->qemu, sizeof(h->qemu), "/usr/bin/qemu-system-x86_64");
    h->mem_total = 24ull << 30;
    h->cpus = 2;
}

/* Index of the argument after flag whose value equals val, or -1. */
static int
find_pair(const struct pv_argv *a, const char *flag, const char *val)
{
    for (size_t i = 0; i + 1 < a->n; i++) {
        if (!strcmp(a->v[i], flag) && !strcmp(a->v[i + 1], val))
            return (int)i;
    }
    return -1;
}

static bool
has_prefix_pair(const struct pv_argv *a, const char *flag, const char *prefix)
{
    for (size_t i = 0; i + 1 < a->n; i++) {
        if (!strcmp(a->v[i], flag) && !strncmp(a->v[i + 1], prefix, strlen(prefix)))
            return true;
    }
    return false;
}

static void
test_configurator(void)
{
    struct pv_dirs dirs = {.data = "/d", .state = "/s", .runtime = "/r", .cache = "/c"};
    struct pv_vm_def d;
    struct pv_host h;
    struct pv_vm_paths p;
    struct pv_argv a;
    char err[512];
    sample_def(&d);
    CHECK(pv_vm_paths_get(&dirs, &d, &p) == 0);
    CHECK(!strcmp(p.disk, "/d/vms/web/disk.qcow2"));
    CHECK(!strcmp(p.qmp_sock, "/r/web/qmp.sock"));
    CHECK(!strcmp(p.console_log, "/s/web/console.log"));
    CHECK(!strcmp(p.qemu_venus_log, "/s/web/qemu-venus.log"));
    CHECK(!strcmp(p.kernel, "/cache/images/debian-13-abc/vmlinuz"));

    /* TCG (our machines). */
    sample_host(&h, false);
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(!strcmp(a.v[0], "/usr/bin/qemu-system-x86_64"));
    CHECK(a.v[a.n] == NULL);
    CHECK(find_pair(&a, "-accel", "tcg") >= 0);
    CHECK(find_pair(&a, "-cpu", "max") >= 0);
    CHECK(find_pair(&a, "-machine", "q35") >= 0);
    CHECK(find_pair(&a, "-smp", "2") >= 0);
    CHECK(find_pair(&a, "-m", "1024M") >= 0);
    CHECK(find_pair(&a, "-uuid", "123e4567-e89b-42d3-a456-426614174000") >= 0);
    CHECK(find_pair(&a, "-kernel", "/cache/images/debian-13-abc/vmlinuz") >= 0);
    CHECK(find_pair(&a, "-netdev", "user,id=pv-net,hostfwd=tcp:127.0.0.1:8080-:80,"
                                   "hostfwd=tcp:127.0.0.1:2222-:22") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-net-pci,netdev=pv-net") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-blk-pci,drive=pv-disk") >= 0);
    CHECK(find_pair(&a, "-drive", "file=/d/vms/web/disk.qcow2,if=none,id=pv-disk,format=qcow2,"
                                  "discard=unmap") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-rng-pci,rng=pv-rng") >= 0);
    CHECK(find_pair(&a, "-device", "virtserialport,bus=pv-vser.0,chardev=pv-agent,"
                                   "name=" PV_AGENT_PORT) >= 0);
    /* QMP through -qmp: -mon warns on QEMU 11.1, -object monitor-qmp fails on 10.0. */
    CHECK(find_pair(&a, "-qmp", "unix:/r/web/qmp.sock,server=on,wait=off") >= 0);
    for (size_t i = 0; i < a.n; i++)
        CHECK(strcmp(a.v[i], "-mon") != 0);
    CHECK(has_prefix_pair(&a, "-chardev", "socket,id=pv-console,path=/r/web/console.sock,"));
    CHECK(find_pair(&a, "-device", "virtio-gpu-pci") >= 0);
    CHECK(find_pair(&a, "-display", "none") >= 0);
    CHECK(find_pair(&a, "-append", "console=ttyS0 root=/dev/vda rw quiet panic=-1 "
                                   "pearvisor.name=web") >= 0);
    CHECK(find_pair(&a, "-nodefaults", "-no-user-config") >= 0);
    char *line = pv_argv_join(&a);
    CHECK(line && strstr(line, "-append 'console=ttyS0 root=/dev/vda rw quiet panic=-1 "
                               "pearvisor.name=web'"));
    free(line);
    pv_argv_free(&a);

    /* KVM, more CPUs and memory, no GPU, no forwards, extra kernel args. */
    sample_host(&h, true);
    d.cpus = 4;
    d.mem_bytes = 6ull << 30;
    d.gpu = PV_GPU_OFF;
    d.nports = 0;
    snprintf(d.append, sizeof(d.append), "loglevel=7");
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-accel", "kvm") >= 0);
    CHECK(find_pair(&a, "-cpu", "host") >= 0);
    CHECK(find_pair(&a, "-smp", "4") >= 0);
    CHECK(find_pair(&a, "-m", "6144M") >= 0);
    CHECK(find_pair(&a, "-netdev", "user,id=pv-net") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-gpu-pci") < 0);
    CHECK(find_pair(&a, "-append", "console=ttyS0 root=/dev/vda rw quiet panic=-1 "
                                   "pearvisor.name=web loglevel=7") >= 0);
    pv_argv_free(&a);

    /* Venus: refused without a GL display or render node, else the GL device
     * with blob memory on a shared memfd. */
    d.gpu = PV_GPU_VENUS;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == -ENODEV);
    CHECK(strstr(err, "--gpu venus") != NULL);
    CHECK(a.n == 0);
    h.has_gl_display = true;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-machine", "q35,memory-backend=pv-mem") >= 0);
    CHECK(find_pair(&a, "-object", "memory-backend-memfd,id=pv-mem,size=6144M,share=on") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-gpu-gl-pci,venus=on,blob=on,hostmem=4096M") >= 0);
    CHECK(find_pair(&a, "-display", "sdl,gl=on") >= 0);
    pv_argv_free(&a);
    /* $DISPLAY first (a window), then a render node, then a private Xvfb. */
    h.has_render_node = true;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-display", "sdl,gl=on") >= 0);
    CHECK(pv_gpu_display(&h, NULL) == PV_DISPLAY_WINDOW);
    pv_argv_free(&a);
    h.has_gl_display = false;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-display", "egl-headless") >= 0);
    pv_argv_free(&a);
    h.has_render_node = false;
    snprintf(h.xvfb, sizeof(h.xvfb), "/usr/bin/Xvfb");
    CHECK(pv_gpu_display(&h, NULL) == PV_DISPLAY_XVFB);
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-display", "sdl,gl=on") >= 0);
    pv_argv_free(&a);
    /* A desktop: input devices and the session's mode on the kernel line;
     * VNC only where QEMU serves it beside the display (not SDL's GL). */
    d.desktop = true;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-device", "virtio-keyboard-pci") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-tablet-pci") >= 0);
    CHECK(find_pair(&a, "-append", "console=ttyS0 root=/dev/vda rw quiet panic=-1 "
                                   "pearvisor.name=web pearvisor.desktop=venus loglevel=7") >= 0);
    CHECK(!has_prefix_pair(&a, "-vnc", "") && !pv_qemu_has_vnc(&d, &h));
    pv_argv_free(&a);
    h.has_render_node = true;
    CHECK(pv_qemu_has_vnc(&d, &h));
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    char vnc[160];
    snprintf(vnc, sizeof(vnc), "unix:%s", p.vnc_sock);
    CHECK(find_pair(&a, "-vnc", vnc) >= 0);
    pv_argv_free(&a);
    h.has_render_node = false;
    d.gpu = PV_GPU_2D;
    CHECK(pv_qemu_has_vnc(&d, &h));
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-append", "console=ttyS0 root=/dev/vda rw quiet panic=-1 "
                                   "pearvisor.name=web pearvisor.desktop=2d loglevel=7") >= 0);
    pv_argv_free(&a);
    d.gpu = PV_GPU_OFF;
    CHECK(pv_vm_def_check(&d, err, sizeof(err)) == -EINVAL && strstr(err, "desktop"));
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == -EINVAL && a.n == 0);
    d.gpu = PV_GPU_VENUS;
    d.desktop = false;
    /* hostmem: RAM rounded down to a power of two, 256 MiB to 4 GiB. */
    d.mem_bytes = 1536ull << 20;
    CHECK(pv_qemu_hostmem_mib(&d) == 1024);
    d.mem_bytes = 128ull << 20;
    CHECK(pv_qemu_hostmem_mib(&d) == 256);
    d.mem_bytes = 6ull << 30;
    /* The environment: our door and the stats socket, or the system's
     * virglrenderer with our door kept out. */
    struct pv_argv e;
    snprintf(h.door_dir, sizeof(h.door_dir), "/b/src/gpu/virgl-abi");
    /* ... and the door's render process: this program. */
    char saved_exe[sizeof(h.self_exe)];
    memcpy(saved_exe, h.self_exe, sizeof(saved_exe));
    snprintf(h.self_exe, sizeof(h.self_exe), "/b/src/cli/pearvisor");
    CHECK(pv_qemu_env(&d, &h, &p, ":7", &e) == 0);
    CHECK(e.n == 4 && !strcmp(e.v[0], "LD_LIBRARY_PATH=/b/src/gpu/virgl-abi") &&
          !strcmp(e.v[1], "PEARVISOR_STATS_SOCKET=/r/web/gpu-stats.sock") &&
          !strcmp(e.v[2], "PEARVISOR_RENDER_EXE=/b/src/cli/pearvisor") &&
          !strcmp(e.v[3], "DISPLAY=:7"));
    memcpy(h.self_exe, saved_exe, sizeof(saved_exe));
    pv_argv_free(&e);
    d.renderer = PV_RENDERER_VIRGL;
    snprintf(h.render_server, sizeof(h.render_server), "/usr/libexec/virgl_render_server");
    CHECK(pv_qemu_env(&d, &h, &p, NULL, &e) == 0);
    CHECK(e.n == 2 && !strcmp(e.v[0], "LD_LIBRARY_PATH=") &&
          !strcmp(e.v[1], "RENDER_SERVER_EXEC_PATH=/usr/libexec/virgl_render_server"));
    pv_argv_free(&e);
    d.renderer = PV_RENDERER_PEARVISOR;
    d.gpu = PV_GPU_2D;
    CHECK(pv_qemu_env(&d, &h, &p, NULL, &e) == 0 && e.n == 0);
    pv_argv_free(&e);
    d.gpu = PV_GPU_VENUS;

    /* ARM64: qemu-system-aarch64 -M virt, the PL011 console, TCG on this
     * x86_64 host even where KVM is usable (another instruction set), the
     * same devices and Venus GPU as x86. */
    d.arch = PV_ARCH_ARM64;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(!strcmp(a.v[0], "qemu-system-aarch64")); /* none probed: found on PATH */
    pv_argv_free(&a);
    snprintf(h.qemu_arm64, sizeof(h.qemu_arm64), "/usr/bin/qemu-system-aarch64");
    CHECK(h.kvm_usable && !pv_qemu_uses_kvm(&d, &h));
    CHECK(!strcmp(pv_qemu_binary(&d, &h), "/usr/bin/qemu-system-aarch64"));
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(!strcmp(a.v[0], "/usr/bin/qemu-system-aarch64"));
    CHECK(find_pair(&a, "-accel", "tcg") >= 0);
    CHECK(find_pair(&a, "-cpu", "max") >= 0);
    CHECK(find_pair(&a, "-machine", "virt,memory-backend=pv-mem") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-gpu-gl-pci,venus=on,blob=on,hostmem=4096M") >= 0);
    CHECK(find_pair(&a, "-device", "virtio-blk-pci,drive=pv-disk") >= 0);
    CHECK(find_pair(&a, "-append", "console=ttyAMA0 root=/dev/vda rw quiet panic=-1 "
                                   "pearvisor.name=web loglevel=7") >= 0);
    pv_argv_free(&a);
    d.cpus = 16; /* more than GICv2's 8 */
    d.gpu = PV_GPU_2D;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(find_pair(&a, "-machine", "virt,gic-version=3") >= 0);
    pv_argv_free(&a);
    d.cpus = 4;
    d.gpu = PV_GPU_VENUS;
    d.arch = PV_ARCH_X86_64;
    CHECK(pv_qemu_uses_kvm(&d, &h));

    /* Invalid definitions never reach QEMU. */
    d.cpus = 0;
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == -EINVAL);
    d.cpus = 1;
    snprintf(d.append, sizeof(d.append), "a'b");
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == -EINVAL);
    d.append[0] = '\0';

    /* Commas in paths are doubled for QEMU's option parser. */
    struct pv_dirs cdirs = {.data = "/d,x", .state = "/s", .runtime = "/r", .cache = "/c"};
    d.gpu = PV_GPU_OFF;
    CHECK(pv_vm_paths_get(&cdirs, &d, &p) == 0);
    CHECK(pv_qemu_argv(&d, &h, &p, &a, err, sizeof(err)) == 0);
    CHECK(has_prefix_pair(&a, "-drive", "file=/d,,x/vms/web/disk.qcow2,if=none"));
    pv_argv_free(&a);

    /* Socket paths that cannot fit sun_path are refused up front. */
    struct pv_dirs ldirs = {.data = "/d", .state = "/s", .cache = "/c"};
    memset(ldirs.runtime, 'r', 100);
    ldirs.runtime[0] = '/';
    CHECK(pv_vm_paths_get(&ldirs, &d, &p) == -ENAMETOOLONG);

    /* Quoting for --dry-run. */
    pv_argv_init(&a);
    pv_argv_add(&a, "plain");
    pv_argv_add(&a, "it's");
    pv_argv_add(&a, "");
    pv_argv_addf(&a, "%d,%s", 1, "a b");
    line = pv_argv_join(&a);
    CHECK(line && !strcmp(line, "plain 'it'\\''s' '' '1,a b'"));
    free(line);
    pv_argv_free(&a);
}

/* QEMU's start-up output (stderr, then the -D debug log) as QEMU 11.1.3 and
 * 10.0.13 wrote it when the GL module could not load a libvirglrenderer.so.1,
 * and what pearvisor must quote from it. */
static void
test_qemu_error_line(void)
{
    char line[256];
    const char *mon_warning =
        "qemu-system-x86_64: -mon chardev=pv-qmp,mode=control: warning: '-mon' is deprecated, "
        "use '-object' with 'monitor-hmp' or 'monitor-qmp' types instead\n";
    const char *module_error =
        "qemu-system-x86_64: -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=256M: failed to "
        "open module: /usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-gl.so: undefined "
        "symbol: virgl_renderer_resource_unref\n";
    const char *reason = "-device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=256M: failed to "
                         "open module: /usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-gl.so: "
                         "undefined symbol: virgl_renderer_resource_unref";
    char out[2048];
    /* 11.1: the deprecation warning first, the error after it. */
    snprintf(out, sizeof(out), "%s%s", mon_warning, module_error);
    CHECK(pv_qemu_error_line(out, line, sizeof(line)) && !strncmp(line, reason, sizeof(line) - 1));
    /* 10.0: the error alone. */
    CHECK(pv_qemu_error_line(module_error, line, sizeof(line)) &&
          !strncmp(line, reason, sizeof(line) - 1));
    /* Only warnings and notes: no reason at all. */
    snprintf(out, sizeof(out),
             "\n%slibEGL warning: DRI3 error: Could not get DRI3 device\n"
             "pearvisor info virgl-abi: PearVisor libvirglrenderer.so.1 (front door 2) active\n"
             "pearvisor warning virgl-abi: a context for a capset other than Venus was created\n"
             "info: a note\nwarning: a bare warning\n  \n",
             mon_warning);
    CHECK(!pv_qemu_error_line(out, line, sizeof(line)) && line[0] == '\0');
    CHECK(!pv_qemu_error_line("", line, sizeof(line)));
    /* The door's own errors and other programs' lines are reasons. */
    CHECK(pv_qemu_error_line("libEGL warning: x\npearvisor error virgl-abi: cannot map\n", line,
                             sizeof(line)) &&
          !strcmp(line, "pearvisor error virgl-abi: cannot map"));
    CHECK(pv_qemu_error_line("cannot run /usr/bin/qemu-system-x86_64: No such file or directory",
                             line, sizeof(line)) &&
          !strcmp(line, "cannot run /usr/bin/qemu-system-x86_64: No such file or directory"));
    /* A warning word inside an error's text does not hide the error. */
    CHECK(pv_qemu_error_line("qemu-system-x86_64: -drive file=warning: Could not open 'x'\n",
                             line, sizeof(line)) &&
          !strcmp(line, "-drive file=warning: Could not open 'x'"));
}

/* ---- 5. JSON ------------------------------------------------------------- */

static void
test_json(void)
{
    const char *j = "{\"timestamp\": {\"seconds\": 1, \"x\": \"}\"}, \"event\": \"SHUTDOWN\", "
                    "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}";
    const char *v;
    size_t vl;
    char s[64];
    CHECK(pv_json_find(j, strlen(j), "event", &v, &vl) && vl == 10 && !strncmp(v, "\"SHUTDOWN\"", vl));
    CHECK(pv_json_find_str(j, strlen(j), "event", s, sizeof(s)) && !strcmp(s, "SHUTDOWN"));
    CHECK(!pv_json_find(j, strlen(j), "reason", &v, &vl)); /* nested keys do not count */
    CHECK(!pv_json_find(j, strlen(j), "return", &v, &vl));
    CHECK(pv_json_find(j, strlen(j), "data", &v, &vl) && v[0] == '{' && v[vl - 1] == '}');
    const char *r = "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}";
    CHECK(pv_json_find(r, strlen(r), "return", &v, &vl));
    CHECK(pv_json_find_str(v, vl, "status", s, sizeof(s)) && !strcmp(s, "running"));
    const char *e = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"a \\\"q\\\" b\"}}";
    CHECK(pv_json_find(e, strlen(e), "error", &v, &vl));
    CHECK(pv_json_find_str(v, vl, "desc", s, sizeof(s)) && !strcmp(s, "a \"q\" b"));
    /* Cut-off input: no crash, no match. */
    CHECK(!pv_json_find(r, 20, "return", &v, &vl));
    CHECK(!pv_json_find("", 0, "x", &v, &vl));
    CHECK(!pv_json_find("{\"a\": \"unterminated", 19, "b", &v, &vl));
}

/* ---- 6. agent protocol against a fake guest ------------------------------ */

static void
put_frame(int fd, uint8_t type, uint32_t id, const void *data, uint32_t len)
{
    struct pv_agent_hdr h = {.magic = {'P', 'V'}, .type = type, .id = pv_agent_le32(id),
                             .len = pv_agent_le32(len)};
    if (write(fd, &h, sizeof(h)) != sizeof(h) || (len && write(fd, data, len) != (ssize_t)len))
        _exit(3);
}

static bool
get_frame(int fd, struct pv_agent_hdr *h, char *payload)
{
    if (recv(fd, h, sizeof(*h), MSG_WAITALL) != sizeof(*h))
        return false;
    uint32_t len = pv_agent_le32(h->len);
    return len <= 4096 && (!len || recv(fd, payload, len, MSG_WAITALL) == (ssize_t)len);
}

/* The fake guest: answers one PING (after a stale reply), then one EXEC
 * with output, an unknown frame type and the exit status, then sends a
 * frame whose length is absurd. */
static void
fake_guest(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    struct pv_agent_hdr h;
    char payload[4096];
    if (fd < 0 || !get_frame(fd, &h, payload) || h.type != PV_AGENT_PING)
        _exit(1);
    uint32_t id = pv_agent_le32(h.id);
    put_frame(fd, PV_AGENT_EXIT, id - 7, "\x05\0\0\0", 4); /* an earlier client's */
    put_frame(fd, PV_AGENT_READY, id, NULL, 0);
    if (!get_frame(fd, &h, payload) || h.type != PV_AGENT_EXEC)
        _exit(1);
    id = pv_agent_le32(h.id);
    if (pv_agent_le32(h.len) != 12 || memcmp(payload, "echo\0hello\0", 11)) /* "echo","hello","" */
        _exit(2);
    put_frame(fd, PV_AGENT_OUT, id, "hello\n", 6);
    put_frame(fd, 'Z', id, "??", 2);
    put_frame(fd, PV_AGENT_ERR, id, "warn\n", 5);
    uint32_t st = pv_agent_le32(42);
    put_frame(fd, PV_AGENT_EXIT, id, &st, 4);
    if (!get_frame(fd, &h, payload))
        _exit(1);
    struct pv_agent_hdr bad = {.magic = {'P', 'V'}, .type = PV_AGENT_OUT, .id = h.id,
                               .len = pv_agent_le32(PV_AGENT_MAX_PAYLOAD + 1)};
    if (write(fd, &bad, sizeof(bad)) != sizeof(bad))
        _exit(3);
    char c;
    while (read(fd, &c, 1) > 0) /* until the host hangs up */
        ;
    _exit(0);
}

static void
test_agent(void)
{
    char dir[] = "/tmp/pv-test-vm-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sock[108];
    snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 1) == 0);
    pid_t pid = fork();
    if (pid == 0)
        fake_guest(lfd);
    close(lfd);

    struct pv_agent ag;
    CHECK(pv_agent_open(&ag, sock) == 0);
    CHECK(pv_agent_ping(&ag, 5000, -1) == 0);
    int out[2], err[2];
    CHECK(pipe(out) == 0 && pipe(err) == 0);
    char *argv[] = {"echo", "hello", "", NULL};
    int status = -1;
    CHECK(pv_agent_exec(&ag, argv, out[1], err[1], &status, -1) == 0);
    CHECK(status == 42);
    char buf[64] = "";
    CHECK(read(out[0], buf, sizeof(buf)) == 6 && !memcmp(buf, "hello\n", 6));
    CHECK(read(err[0], buf, sizeof(buf)) == 5 && !memcmp(buf, "warn\n", 5));
    char *argv2[] = {"true", NULL};
    CHECK(pv_agent_exec(&ag, argv2, out[1], err[1], &status, -1) == -EPROTO);
    pv_agent_close(&ag);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* No agent at all: a clear error, not a hang. */
    unlink(sock);
    CHECK(pv_agent_open(&ag, sock) == -ENOENT);
    CHECK(pv_rm_rf(dir) == 0);
    for (int i = 0; i < 2; i++) {
        close(out[i]);
        close(err[i]);
    }
}

/* ---- 7. installed layout -------------------------------------------------- */

#ifndef PV_DATADIR_REL
#define PV_DATADIR_REL "share"
#endif

static void
touch(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
}

static void
test_installed_layout(void)
{
    char prefix[] = "/tmp/pv-test-prefix.XXXXXX", path[PATH_MAX + 64], want[PATH_MAX], got[PATH_MAX];
    CHECK(mkdtemp(prefix) != NULL);
    char exe[PATH_MAX];
    snprintf(exe, sizeof(exe), "%s/bin/pearvisor", prefix);
    snprintf(path, sizeof(path), "%s/bin", prefix);
    CHECK(pv_mkdir_p(path, 0755) == 0);
    touch(exe, 0755);
    unsetenv("PEARVISOR_GUEST_DIR");
    unsetenv("PEARVISOR_VIRGL_DIR");

    /* No installed copy yet: the source tree's recipe (this build's). */
    pv_guest_dir_find(exe, got, sizeof(got));
    snprintf(path, sizeof(path), "%s/build-image.sh", got);
    CHECK(strncmp(got, prefix, strlen(prefix)) && !access(path, X_OK));

    /* Installed beside the binary, as meson install and the .deb lay it out
     * (a DESTDIR staging tree included). */
    snprintf(path, sizeof(path), "%s/%s/pearvisor/guest", prefix, PV_DATADIR_REL);
    CHECK(pv_mkdir_p(path, 0755) == 0);
    CHECK(realpath(path, want) != NULL);
    snprintf(path, sizeof(path), "%s/%s/pearvisor/guest/build-image.sh", prefix, PV_DATADIR_REL);
    touch(path, 0644);
    pv_guest_dir_find(exe, got, sizeof(got));
    CHECK(strcmp(got, want)); /* not executable: not a recipe */
    CHECK(chmod(path, 0755) == 0);
    pv_guest_dir_find(exe, got, sizeof(got));
    CHECK(!strcmp(got, want));

    /* An explicit choice wins, found or not. */
    setenv("PEARVISOR_GUEST_DIR", "/nonexistent/guest", 1);
    pv_guest_dir_find(exe, got, sizeof(got));
    CHECK(!strcmp(got, "/nonexistent/guest"));
    unsetenv("PEARVISOR_GUEST_DIR");

    /* The door in the private directory under Debian's multiarch libdir. */
    snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/pearvisor", prefix);
    CHECK(pv_mkdir_p(path, 0755) == 0);
    CHECK(realpath(path, want) != NULL);
    snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/pearvisor/libvirglrenderer.so.1", prefix);
    touch(path, 0644);
    pv_host_find_door(exe, got, sizeof(got));
    CHECK(!strcmp(got, want));

    CHECK(pv_rm_rf(prefix) == 0);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_parsers();
    test_definitions();
    test_kvm_verdict();
    test_configurator();
    test_qemu_error_line();
    test_json();
    test_agent();
    test_installed_layout();
    if (check_report("test_vm"))
        return 1;
    printf("test_vm: all checks passed\n");
    return 0;
}
