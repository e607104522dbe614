/*
 * cli/cmd_vmgpu: the GPU of a running VM: `pearvisor stats NAME [--json]`
 * (the renderer's live statistics, from the control socket libpvgpu serves
 * inside that VM's QEMU) and `pearvisor screenshot NAME FILE.png` (the
 * guest's current scanout).
 *
 * Screenshots: a VM with a private Xvfb (headless host, --gpu venus) is
 * read from that server's screen file (Xvfb -fbdir: XWD in RUN_DIR), which
 * needs no X client and shows exactly what QEMU's SDL/GL window drew.
 * Otherwise (2D, or a window on the user's $DISPLAY, or egl-headless) QEMU
 * saves it: QMP screendump, format png.
 */
#include "cli.h"
#include "cmd_vm.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int
load_running(const char *verb, const char *name, struct pv_dirs *dirs, struct pv_vm_def *def,
             struct pv_vm_paths *p)
{
    int err;
    if (pv_cli_load_vm(verb, name, dirs, def))
        return -ENOENT;
    if ((err = pv_vm_paths_get(dirs, def, p))) {
        fprintf(stderr, "pearvisor %s: VM '%s': a runtime path is too long\n", verb, name);
        return err;
    }
    struct pv_vm_status st;
    if (pv_vm_status(dirs, def, &st) || st.state != PV_VM_RUNNING) {
        fprintf(stderr, "pearvisor %s: VM '%s' is not running\n", verb, name);
        return -ESRCH;
    }
    return 0;
}

/* ----------------------------------------------------------------- stats */

static const char stats_help[] =
    "Usage: pearvisor stats NAME [--json]\n"
    "\n"
    "Prints the live GPU statistics of a running VM with --gpu venus on\n"
    "PearVisor's renderer, from the control socket the renderer serves in the\n"
    "VM's QEMU: contexts, Venus commands decoded per type, bytes through the\n"
    "rings, ring waits, blob memory mapped, fences signalled, errors.\n"
    "\n"
    "Options:\n"
    "  --json      print the raw JSON object\n"
    "  -h, --help  show this help\n";

int
pv_cmd_stats(int argc, char **argv)
{
    const char *verb = "stats", *name = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(stats_help, stdout);
            return PV_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "pearvisor %s: unexpected argument '%s'\nTry 'pearvisor %s --help'.\n",
                    verb, argv[i], verb);
            return PV_EXIT_USAGE;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        fprintf(stderr, "pearvisor %s: expected one VM name\nTry 'pearvisor %s --help'.\n", verb,
                verb);
        return PV_EXIT_USAGE;
    }
    struct pv_dirs dirs;
    struct pv_vm_def def;
    struct pv_vm_paths p;
    if (load_running(verb, name, &dirs, &def, &p))
        return PV_EXIT_FAIL;
    if (access(p.stats_sock, F_OK)) {
        fprintf(stderr, "pearvisor %s: VM '%s' has no GPU statistics: it does not run Venus on "
                        "PearVisor's renderer (gpu %s%s)\n", verb, name, pv_gpu_name(def.gpu),
                def.gpu == PV_GPU_VENUS ? ", which fell back to 2D or uses --renderer virgl" : "");
        return PV_EXIT_FAIL;
    }
    char what[PV_VM_NAME_MAX + 8];
    snprintf(what, sizeof(what), "VM '%s'", name);
    return pv_cli_print_stats(what, p.stats_sock, json);
}

/* ------------------------------------------------------------ screenshot */

/* A PNG writer with stored (uncompressed) deflate blocks: no zlib needed,
 * and screenshots are written rarely. */
/* CRC-32 (PNG's), bit by bit: no table to build or keep; a screenshot's few
 * MB take milliseconds. */
static uint32_t
crc32_update(uint32_t c, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool
png_chunk(FILE *f, const char type[4], const uint8_t *data, size_t len)
{
    uint8_t hdr[8];
    put32(hdr, (uint32_t)len);
    memcpy(hdr + 4, type, 4);
    uint32_t crc = crc32_update(0xffffffffu, hdr + 4, 4);
    crc = crc32_update(crc, data, len) ^ 0xffffffffu;
    uint8_t tail[4];
    put32(tail, crc);
    return fwrite(hdr, 1, 8, f) == 8 && (!len || fwrite(data, 1, len, f) == len) &&
           fwrite(tail, 1, 4, f) == 4;
}

/* rgb: width*height*3 bytes, rows top to bottom. */
static int
write_png(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h)
{
    size_t row = (size_t)w * 3 + 1, raw_len = row * h;
    size_t nblocks = (raw_len + 65534) / 65535;
    size_t z_len = 2 + raw_len + nblocks * 5 + 4;
    uint8_t *z = malloc(z_len), *o = z;
    if (!z)
        return -ENOMEM;
    *o++ = 0x78;
    *o++ = 0x01;
    uint32_t a = 1, b = 0;
    size_t done = 0;
    /* The raw stream is each row prefixed by filter byte 0; emitted lazily. */
    while (done < raw_len) {
        size_t n = raw_len - done < 65535 ? raw_len - done : 65535;
        *o++ = done + n == raw_len;
        *o++ = (uint8_t)n;
        *o++ = (uint8_t)(n >> 8);
        *o++ = (uint8_t)~n;
        *o++ = (uint8_t)(~n >> 8);
        for (size_t i = 0; i < n; i++) {
            size_t pos = done + i, y = pos / row, x = pos % row;
            uint8_t v = x == 0 ? 0 : rgb[y * (size_t)w * 3 + x - 1];
            *o++ = v;
            a = (a + v) % 65521;
            b = (b + a) % 65521;
        }
        done += n;
    }
    put32(o, (b << 16) | a);
    o += 4;
    FILE *f = fopen(path, "wb");
    if (!f) {
        int err = -errno;
        free(z);
        return err;
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13];
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* truecolor RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    bool ok = fwrite(sig, 1, 8, f) == 8 && png_chunk(f, "IHDR", ihdr, 13) &&
              png_chunk(f, "IDAT", z, (size_t)(o - z)) && png_chunk(f, "IEND", NULL, 0);
    free(z);
    if (fclose(f) || !ok)
        return -EIO;
    return 0;
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The private Xvfb's screen (XWD, ZPixmap, 24/32 bpp TrueColor) to PNG. */
static int
xwd_to_png(const char *xwd, const char *png, char *why, size_t why_size)
{
    int fd = open(xwd, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        snprintf(why, why_size, "cannot read %.600s: %s", xwd, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *m = len >= 100 ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(why, why_size, "%.600s is not an XWD screen", xwd);
        return -EINVAL;
    }
    uint32_t hsize = be32(m), fmt = be32(m + 8), w = be32(m + 16), h = be32(m + 20),
             order = be32(m + 28), bpp = be32(m + 44), bpl = be32(m + 48),
             rmask = be32(m + 56), gmask = be32(m + 60), bmask = be32(m + 64),
             ncolors = be32(m + 76);
    size_t data = (size_t)hsize + (size_t)ncolors * 12;
    int err = 0;
    if (fmt != 2 || bpp != 32 || !w || !h || w > 16384 || h > 16384 || bpl < w * 4 ||
        data > len || (size_t)bpl * h > len - data) {
        snprintf(why, why_size, "%.600s: unsupported XWD layout (%u bpp, format %u)", xwd, bpp, fmt);
        err = -EINVAL;
        goto out;
    }
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb) {
        err = -ENOMEM;
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    int rs = __builtin_ctz(rmask ? rmask : 1), gs = __builtin_ctz(gmask ? gmask : 1),
        bs = __builtin_ctz(bmask ? bmask : 1);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = m + data + (size_t)y * bpl;
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *px = row + (size_t)x * 4;
            uint32_t v = order ? be32(px)
                               : (uint32_t)px[0] | (uint32_t)px[1] << 8 | (uint32_t)px[2] << 16 |
                                     (uint32_t)px[3] << 24;
            uint8_t *o = rgb + ((size_t)y * w + x) * 3;
            o[0] = (uint8_t)((v & rmask) >> rs);
            o[1] = (uint8_t)((v & gmask) >> gs);
            o[2] = (uint8_t)((v & bmask) >> bs);
        }
    }
    if ((err = write_png(png, rgb, w, h)))
        snprintf(why, why_size, "cannot write %.600s: %s", png, strerror(-err));
    free(rgb);
out:
    munmap((void *)m, len);
    return err;
}

static const char screenshot_help[] =
    "Usage: pearvisor screenshot NAME FILE.png\n"
    "\n"
    "Saves the running VM's current display (the guest's scanout) as a PNG.\n"
    "Works headless: a --gpu venus VM on a host without $DISPLAY draws into a\n"
    "private Xvfb, whose screen is read directly; otherwise QEMU saves it\n"
    "(QMP screendump).\n";

int
pv_cmd_screenshot(int argc, char **argv)
{
    const char *verb = "screenshot";
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(screenshot_help, stdout);
        return PV_EXIT_OK;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "pearvisor %s: expected NAME FILE.png\nTry 'pearvisor %s --help'.\n",
                verb, verb);
        return PV_EXIT_USAGE;
    }
    struct pv_dirs dirs;
    struct pv_vm_def def;
    struct pv_vm_paths p;
    if (load_running(verb, argv[1], &dirs, &def, &p))
        return PV_EXIT_FAIL;
    char why[PV_MSG_MAX];
    if (!access(p.xvfb_screen, R_OK)) {
        if (xwd_to_png(p.xvfb_screen, argv[2], why, sizeof(why))) {
            fprintf(stderr, "pearvisor %s: %s\n", verb, why);
            return PV_EXIT_FAIL;
        }
        return PV_EXIT_OK;
    }
    /* QEMU writes the file itself: give it an absolute path. */
    char abs[PATH_MAX], esc[2 * PATH_MAX], args[2 * PATH_MAX + 64], ret[512] = "";
    if (argv[2][0] == '/') {
        snprintf(abs, sizeof(abs), "%s", argv[2]);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)) ||
            snprintf(abs, sizeof(abs), "%s/%s", cwd, argv[2]) >= (int)sizeof(abs)) {
            fprintf(stderr, "pearvisor %s: path too long\n", verb);
            return PV_EXIT_FAIL;
        }
    }
    if (!pv_json_escape(abs, esc, sizeof(esc))) {
        fprintf(stderr, "pearvisor %s: path too long\n", verb);
        return PV_EXIT_FAIL;
    }
    snprintf(args, sizeof(args), "{\"filename\": \"%s\", \"format\": \"png\"}", esc);
    struct pv_qmp q;
    int err = pv_qmp_open(&q, p.qmp_sock, 5000);
    if (!err) {
        err = pv_qmp_cmd_args(&q, "screendump", args, ret, sizeof(ret), 30000);
        pv_qmp_close(&q);
    }
    if (err) {
        /* QEMU's screendump has no surface to save while the guest's scanout
         * is a GL texture (a --gpu venus VM in a window or on headless EGL). */
        bool gl = err == -EIO && strstr(ret, "no surface");
        fprintf(stderr, "pearvisor %s: VM '%s': QEMU could not save the screen: %s%s\n", verb,
                argv[1], err == -EIO && ret[0] ? ret : strerror(-err),
                gl ? " (QEMU cannot save a GL display: a --gpu venus VM started without $DISPLAY "
                     "draws into a private Xvfb, which screenshots read; here, use the window)"
                   : "");
        return PV_EXIT_FAIL;
    }
    return PV_EXIT_OK;
}
