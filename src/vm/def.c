/* vm/def: VM definitions as key=value text, and the small parsers they use. */
#include "vm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ull * 1024)
#define MIN_MEM (128 * MIB)
#define MAX_CPUS 255

bool
pv_vm_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PV_VM_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

int
pv_parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    unsigned shift;
    switch (toupper((unsigned char)*end)) {
    case '\0': shift = 20; break; /* bare numbers are MiB, as QEMU's -m takes them */
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    case 'B': shift = 0; break;
    default: return -EINVAL;
    }
    /* Optional "iB" or "B" after the unit letter. */
    if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'B' || end[1] == 'b'))
        end += 2;
    else if (end[0] == 'B' || end[0] == 'b')
        end += 1;
    if (*end)
        return -EINVAL;
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

int
pv_parse_port(const char *s, struct pv_port_fwd *out)
{
    unsigned h, g;
    char tail;
    if (!s || sscanf(s, "%5u:%5u%c", &h, &g, &tail) != 2)
        return -EINVAL;
    if (!isdigit((unsigned char)s[0]) || h == 0 || h > 65535 || g == 0 || g > 65535)
        return -EINVAL;
    out->host = (uint16_t)h;
    out->guest = (uint16_t)g;
    return 0;
}

static const char *const gpu_names[] = {
    [PV_GPU_OFF] = "off",
    [PV_GPU_2D] = "2d",
    [PV_GPU_VENUS] = "venus",
};

int
pv_parse_gpu(const char *s, enum pv_gpu_mode *out)
{
    for (size_t i = 0; i < sizeof(gpu_names) / sizeof(gpu_names[0]); i++) {
        if (s && !strcmp(s, gpu_names[i])) {
            *out = (enum pv_gpu_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
pv_gpu_name(enum pv_gpu_mode gpu)
{
    return (unsigned)gpu < sizeof(gpu_names) / sizeof(gpu_names[0]) ? gpu_names[gpu] : "?";
}

static const char *const renderer_names[] = {
    [PV_RENDERER_PEARVISOR] = "pearvisor",
    [PV_RENDERER_VIRGL] = "virgl",
};

int
pv_parse_renderer(const char *s, enum pv_renderer_kind *out)
{
    for (size_t i = 0; i < sizeof(renderer_names) / sizeof(renderer_names[0]); i++) {
        if (s && !strcmp(s, renderer_names[i])) {
            *out = (enum pv_renderer_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
pv_renderer_name(enum pv_renderer_kind r)
{
    return (unsigned)r < sizeof(renderer_names) / sizeof(renderer_names[0]) ? renderer_names[r]
                                                                             : "?";
}

int
pv_parse_arch(const char *s, enum pv_arch *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "x86_64") || !strcmp(s, "amd64"))
        *out = PV_ARCH_X86_64;
    else if (!strcmp(s, "arm64") || !strcmp(s, "aarch64"))
        *out = PV_ARCH_ARM64;
    else
        return -EINVAL;
    return 0;
}

const char *
pv_arch_name(enum pv_arch a)
{
    return a == PV_ARCH_ARM64 ? "arm64" : "x86_64";
}

enum pv_arch
pv_arch_native(void)
{
#if defined(__aarch64__)
    return PV_ARCH_ARM64;
#else
    return PV_ARCH_X86_64;
#endif
}

const char *
pv_size_str(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGT";
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64 "B", bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (v == (double)(uint64_t)v)
        snprintf(buf, size, "%" PRIu64 "%c", (uint64_t)v, units[u]);
    else
        snprintf(buf, size, "%.1f%c", v, units[u]);
    return buf;
}

void
pv_uuid_generate(uint8_t uuid[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(uuid + got, 16 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* no entropy source at all: still unique enough per host */
            uint64_t t = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
            memcpy(uuid, &t, 8);
            break;
        }
        got += (size_t)n;
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void
pv_uuid_str(const uint8_t u[16], char out[37])
{
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

int
pv_uuid_parse(const char *s, uint8_t u[16])
{
    if (strlen(s) != 36)
        return -EINVAL;
    int j = 0;
    for (int i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i++] != '-')
                return -EINVAL;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
            return -EINVAL;
        char hex[3] = {s[i], s[i + 1], 0};
        u[j++] = (uint8_t)strtoul(hex, NULL, 16);
        i += 2;
    }
    return 0;
}

int
pv_vm_def_check(const struct pv_vm_def *d, char *err, size_t err_size)
{
    if (!pv_vm_name_valid(d->name)) {
        snprintf(err, err_size,
                 "invalid VM name '%.*s' (letters, digits, '.', '_', '-'; at most %d characters)",
                 PV_VM_NAME_MAX, d->name, PV_VM_NAME_MAX);
        return -EINVAL;
    }
    if (d->cpus < 1 || d->cpus > MAX_CPUS) {
        snprintf(err, err_size, "cpus must be 1..%d, not %u", MAX_CPUS, d->cpus);
        return -EINVAL;
    }
    if (d->mem_bytes < MIN_MEM || d->mem_bytes % MIB) {
        snprintf(err, err_size, "memory must be a whole number of MiB, at least 128M");
        return -EINVAL;
    }
    if (d->disk_bytes && d->disk_bytes % MIB) {
        snprintf(err, err_size, "disk size must be a whole number of MiB");
        return -EINVAL;
    }
    if (!d->image[0]) {
        snprintf(err, err_size, "no image");
        return -EINVAL;
    }
    if (d->desktop && d->gpu == PV_GPU_OFF) {
        snprintf(err, err_size, "a desktop needs a display: gpu venus or 2d, not off");
        return -EINVAL;
    }
    for (unsigned i = 0; i < d->nports; i++) {
        for (unsigned j = 0; j < i; j++) {
            if (d->ports[i].host == d->ports[j].host) {
                snprintf(err, err_size, "host port %u is forwarded twice", d->ports[i].host);
                return -EINVAL;
            }
        }
    }
    /* The kernel command line is ours to build: no newlines, no quotes that
     * would change how QEMU or a shell reading --dry-run splits it. */
    for (const char *c = d->append; *c; c++) {
        if (*c == '\n' || *c == '"' || *c == '\'' || *c == '\\') {
            snprintf(err, err_size, "kernel arguments may not contain quotes, backslashes or newlines");
            return -EINVAL;
        }
    }
    return 0;
}

/* Copies v into dst[size], failing when it does not fit. */
static int
set_str(char *dst, size_t size, const char *v)
{
    size_t n = strlen(v);
    if (n >= size)
        return -ENAMETOOLONG;
    memcpy(dst, v, n + 1);
    return 0;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

static int
def_set(struct pv_vm_def *d, const char *key, const char *v)
{
    uint64_t x;
    int err;
    if (!strcmp(key, "version")) {
        return strcmp(v, "1") ? -EPROTO : 0;
    } else if (!strcmp(key, "name")) {
        return set_str(d->name, sizeof(d->name), v);
    } else if (!strcmp(key, "uuid")) {
        return pv_uuid_parse(v, d->uuid);
    } else if (!strcmp(key, "image")) {
        return set_str(d->image, sizeof(d->image), v);
    } else if (!strcmp(key, "os")) {
        return set_str(d->os, sizeof(d->os), v);
    } else if (!strcmp(key, "image_dir")) {
        if (v[0] != '/')
            return -EINVAL;
        return set_str(d->image_dir, sizeof(d->image_dir), v);
    } else if (!strcmp(key, "arch")) {
        return pv_parse_arch(v, &d->arch);
    } else if (!strcmp(key, "cpus")) {
        if ((err = parse_uint(v, MAX_CPUS, &x)))
            return err;
        d->cpus = (unsigned)x;
    } else if (!strcmp(key, "memory")) {
        return parse_uint(v, UINT64_MAX, &d->mem_bytes);
    } else if (!strcmp(key, "disk")) {
        return parse_uint(v, UINT64_MAX, &d->disk_bytes);
    } else if (!strcmp(key, "gpu")) {
        return pv_parse_gpu(v, &d->gpu);
    } else if (!strcmp(key, "renderer")) {
        return pv_parse_renderer(v, &d->renderer);
    } else if (!strcmp(key, "port")) {
        if (d->nports >= PV_VM_MAX_PORTS)
            return -E2BIG;
        return pv_parse_port(v, &d->ports[d->nports++]);
    } else if (!strcmp(key, "append")) {
        return set_str(d->append, sizeof(d->append), v);
    } else if (!strcmp(key, "desktop")) {
        if ((err = parse_uint(v, 1, &x)))
            return err;
        d->desktop = x == 1;
    } else if (!strcmp(key, "created")) {
        if ((err = parse_uint(v, INT64_MAX, &x)))
            return err;
        d->created = (int64_t)x;
    } else {
        return -ENOENT;
    }
    return 0;
}

int
pv_vm_def_parse(const char *text, struct pv_vm_def *d, char *err, size_t err_size)
{
    memset(d, 0, sizeof(*d));
    bool seen_version = false, seen_uuid = false;
    unsigned lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[PATH_MAX + 64];
        if (n >= sizeof(line)) {
            snprintf(err, err_size, "line %u: too long", lineno);
            return -EINVAL;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            snprintf(err, err_size, "line %u: expected key=value", lineno);
            return -EINVAL;
        }
        *eq = '\0';
        const char *key = line, *val = eq + 1;
        int e = def_set(d, key, val);
        if (e == -ENOENT) {
            snprintf(err, err_size, "line %u: unknown key '%.32s'", lineno, key);
            return -EINVAL;
        }
        if (e == -EPROTO) {
            snprintf(err, err_size, "line %u: unsupported definition version '%.16s'", lineno, val);
            return -EINVAL;
        }
        if (e) {
            snprintf(err, err_size, "line %u: bad value for '%s'", lineno, key);
            return -EINVAL;
        }
        seen_version |= !strcmp(key, "version");
        seen_uuid |= !strcmp(key, "uuid");
    }
    if (!seen_version || !seen_uuid || !d->name[0] || !d->image_dir[0]) {
        snprintf(err, err_size, "missing %s", !seen_version ? "version" : !seen_uuid ? "uuid"
                                              : !d->name[0]  ? "name" : "image_dir");
        return -EINVAL;
    }
    if (!d->os[0])
        snprintf(d->os, sizeof(d->os), "%s", d->image);
    return pv_vm_def_check(d, err, err_size);
}

int
pv_vm_def_format(const struct pv_vm_def *d, char *buf, size_t size)
{
    char uuid[37];
    pv_uuid_str(d->uuid, uuid);
    size_t off = 0;
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(buf + off, size - off, __VA_ARGS__);                                     \
        if (n_ < 0 || (size_t)n_ >= size - off)                                                    \
            return -ENOSPC;                                                                        \
        off += (size_t)n_;                                                                         \
    } while (0)
    EMIT("# PearVisor VM definition (pearvisor create). Edit only while the VM is stopped.\n");
    EMIT("version=1\nname=%s\nuuid=%s\nimage=%s\nos=%s\nimage_dir=%s\n", d->name, uuid,
         d->image, d->os, d->image_dir);
    EMIT("cpus=%u\nmemory=%" PRIu64 "\ndisk=%" PRIu64 "\ngpu=%s\n", d->cpus, d->mem_bytes,
         d->disk_bytes, pv_gpu_name(d->gpu));
    /* Written only when not the default, so older definitions read the same. */
    if (d->renderer != PV_RENDERER_PEARVISOR)
        EMIT("renderer=%s\n", pv_renderer_name(d->renderer));
    if (d->arch != PV_ARCH_X86_64)
        EMIT("arch=%s\n", pv_arch_name(d->arch));
    for (unsigned i = 0; i < d->nports; i++)
        EMIT("port=%u:%u\n", d->ports[i].host, d->ports[i].guest);
    if (d->append[0])
        EMIT("append=%s\n", d->append);
    if (d->desktop)
        EMIT("desktop=1\n");
    EMIT("created=%" PRId64 "\n", d->created);
#undef EMIT
    return (int)off;
}
