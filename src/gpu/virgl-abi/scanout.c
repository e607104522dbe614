/*
 * gpu/virgl-abi/scanout: GL textures behind 2D resources, so QEMU's GL
 * console (which draws resource_get_info()'s tex_id, e.g. the guest's fbcon)
 * shows the guest's screen. See virgl-abi.h.
 *
 * QEMU owns the GL winsys: through its create_gl_context callback we get a
 * context shared with its display, and we upload pixels into textures on
 * QEMU's thread. GL entry points come from the process at run time, so the
 * library links no GL and QEMUs without a GL display still load it. Without
 * GL every texture id is 0: Venus works, the console stays blank.
 *
 * Inside QEMU we call GL through QEMU's own libepoxy, as the real
 * virglrenderer does, because its entry points are process-wide: epoxy
 * resolves each one on its first call and needs a current context for that.
 * QEMU 10.0's virtio-gpu reset (the guest resets the device at shutdown or
 * reboot) disables the GL scanout on a vCPU thread, where no context is
 * current, and calls glDeleteFramebuffers there. If that is the process's
 * first call of it, epoxy aborts QEMU ("Couldn't find current GLX or EGL
 * context"); once resolved, the call is a harmless no-op on that thread. The
 * real virglrenderer has resolved it long before, in its own GL work, so we
 * resolve the entry points QEMU's scanout teardown uses while our context
 * is current (gl_warm), before QEMU can enter GL scanout mode through us.
 * Outside epoxy (another VMM) we take them from libGL directly.
 */
#include "virgl-abi.h"

#include <dlfcn.h>
#include <stdio.h>

#include "log.h"

/* The few GL enums we use (from the OpenGL registry). */
#define GL_TEXTURE_2D 0x0DE1
#define GL_RGBA 0x1908
#define GL_RGBA8 0x8058
#define GL_BGRA 0x80E1
#define GL_UNSIGNED_BYTE 0x1401
#define GL_UNSIGNED_INT_8_8_8_8 0x8035
#define GL_TEXTURE_MIN_FILTER 0x2801
#define GL_TEXTURE_MAG_FILTER 0x2800
#define GL_LINEAR 0x2601
#define GL_UNPACK_ROW_LENGTH 0x0CF2
#define GL_UNPACK_ALIGNMENT 0x0CF5
#define GL_TEXTURE_SWIZZLE_A 0x8E45
#define GL_ONE 1

/* name, return type, parameters: every GL entry point we call. */
#define GL_FUNCS(X)                                                                                \
    X(GenTextures, void, (int n, uint32_t *tex))                                                   \
    X(DeleteTextures, void, (int n, const uint32_t *tex))                                          \
    X(DeleteFramebuffers, void, (int n, const uint32_t *fb))                                       \
    X(BindTexture, void, (uint32_t target, uint32_t tex))                                          \
    X(TexParameteri, void, (uint32_t target, uint32_t pname, int param))                           \
    X(TexImage2D, void,                                                                            \
      (uint32_t target, int level, int ifmt, int w, int h, int border, uint32_t fmt,              \
       uint32_t type, const void *data))                                                           \
    X(TexSubImage2D, void,                                                                         \
      (uint32_t target, int level, int x, int y, int w, int h, uint32_t fmt, uint32_t type,        \
       const void *data))                                                                          \
    X(PixelStorei, void, (uint32_t pname, int param))                                              \
    X(Flush, void, (void))

#define GL_TYPEDEF(name, ret, params) typedef ret(*gl_##name##_fn) params;
GL_FUNCS(GL_TYPEDEF)
#undef GL_TYPEDEF

/* The GL state of the door: one per process (QEMU has one virtio-gpu-gl). */
static struct {
    bool tried, ok;
    void *lib;
    virgl_renderer_gl_context ctx;
    /* Each entry point through a slot: epoxy's own pointer (rewritten by epoxy
     * on first use) or, from libGL, the address in `direct`. */
#define GL_SLOT(name, ret, params) gl_##name##_fn *name;
    GL_FUNCS(GL_SLOT)
#undef GL_SLOT
    struct {
#define GL_DIRECT(name, ret, params) gl_##name##_fn name;
        GL_FUNCS(GL_DIRECT)
#undef GL_DIRECT
    } direct;
} gl;

#define GL(name) (*gl.name)

/* Finds every entry point: in the process's libepoxy when QEMU has loaded one
 * (RTLD_NOLOAD: we never bring epoxy in ourselves), else in libGL. */
static bool
gl_load(void)
{
    gl.lib = dlopen("libepoxy.so.0", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
    if (gl.lib) {
        bool all = true;
#define GL_EPOXY(name, ret, params)                                                                \
    all = (gl.name = (gl_##name##_fn *)dlsym(gl.lib, "epoxy_gl" #name)) && *gl.name && all;
        GL_FUNCS(GL_EPOXY)
#undef GL_EPOXY
        if (all) {
            pv_info("virgl-abi", "guest console: GL through the process's libepoxy");
            return true;
        }
        dlclose(gl.lib);
    }
    gl.lib = dlopen("libGL.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!gl.lib)
        gl.lib = dlopen("libOpenGL.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (!gl.lib) {
        pv_warn("virgl-abi", "no libGL: the guest console will not be shown");
        return false;
    }
    bool all = true;
#define GL_LIBGL(name, ret, params)                                                                \
    *(void **)&gl.direct.name = dlsym(gl.lib, "gl" #name);                                         \
    gl.name = &gl.direct.name;                                                                     \
    all = gl.direct.name && all;
    GL_FUNCS(GL_LIBGL)
#undef GL_LIBGL
    if (!all)
        pv_warn("virgl-abi", "libGL lacks basic entry points: no guest console");
    return all;
}

/* With our context current: resolve the entry points QEMU's display calls
 * when it leaves GL scanout mode, possibly later on a thread with no current
 * context (see the header). n = 0 makes each call a no-op. */
static void
gl_warm(void)
{
    GL(DeleteFramebuffers)(0, NULL);
    GL(DeleteTextures)(0, NULL);
    GL(GenTextures)(0, NULL);
    GL(BindTexture)(GL_TEXTURE_2D, 0);
}

static bool
gl_current(void)
{
    if (!gl.tried) {
        gl.tried = true;
        if (!va.create_gl_context || !va.make_current || !gl_load())
            return false;
        struct virgl_renderer_gl_ctx_param p = {
            .version = 1, .shared = true, .major_ver = 3, .minor_ver = 3};
        gl.ctx = va.create_gl_context(va.cookie, 0, &p);
        if (!gl.ctx) {
            pv_warn("virgl-abi", "QEMU gave no GL context: the guest console will not be shown");
            return false;
        }
        if (va.make_current(va.cookie, 0, gl.ctx) != 0) {
            pv_warn("virgl-abi", "QEMU's GL context cannot be made current: no guest console");
            return false;
        }
        gl_warm();
        gl.ok = true;
        return true;
    }
    return gl.ok && va.make_current(va.cookie, 0, gl.ctx) == 0;
}

void
va_gl_prepare_scanout(void)
{
    (void)gl_current();
}

/* GL format and type that read virtio-gpu format `f` from memory as laid out. */
static void
gl_format(uint32_t f, uint32_t *fmt, uint32_t *type, bool *opaque)
{
    *opaque = f == 2 || f == 4 || f == 68 || f == 134;
    switch (f) {
    case 1: case 2: /* B,G,R,A bytes */
        *fmt = GL_BGRA, *type = GL_UNSIGNED_BYTE;
        break;
    case 3: case 4: /* A,R,G,B bytes */
        *fmt = GL_BGRA, *type = GL_UNSIGNED_INT_8_8_8_8;
        break;
    case 121: case 68: /* A,B,G,R bytes */
        *fmt = GL_RGBA, *type = GL_UNSIGNED_INT_8_8_8_8;
        break;
    default: /* 67, 134: R,G,B,A bytes */
        *fmt = GL_RGBA, *type = GL_UNSIGNED_BYTE;
        break;
    }
}

uint32_t
va_gl_texture_create(uint32_t format, uint32_t width, uint32_t height)
{
    if (!gl_current())
        return 0;
    uint32_t fmt, type, tex = 0;
    bool opaque;
    gl_format(format, &fmt, &type, &opaque);
    GL(GenTextures)(1, &tex);
    GL(BindTexture)(GL_TEXTURE_2D, tex);
    GL(TexParameteri)(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    GL(TexParameteri)(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    if (opaque)
        GL(TexParameteri)(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_A, GL_ONE);
    GL(TexImage2D)(GL_TEXTURE_2D, 0, GL_RGBA8, (int)width, (int)height, 0, fmt, type, NULL);
    GL(BindTexture)(GL_TEXTURE_2D, 0);
    GL(Flush)();
    return tex;
}

void
va_gl_texture_upload(uint32_t tex, uint32_t format, const uint8_t *pixels, uint32_t stride,
                     uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    if (!gl_current())
        return;
    uint32_t fmt, type;
    bool opaque;
    gl_format(format, &fmt, &type, &opaque);
    GL(BindTexture)(GL_TEXTURE_2D, tex);
    GL(PixelStorei)(GL_UNPACK_ALIGNMENT, 4);
    GL(PixelStorei)(GL_UNPACK_ROW_LENGTH, (int)(stride / 4));
    GL(TexSubImage2D)(GL_TEXTURE_2D, 0, (int)x, (int)y, (int)w, (int)h, fmt, type,
                     pixels + (size_t)y * stride + (size_t)x * 4);
    GL(PixelStorei)(GL_UNPACK_ROW_LENGTH, 0);
    GL(BindTexture)(GL_TEXTURE_2D, 0);
    /* The display draws it from another (shared) context. */
    GL(Flush)();
}

void
va_gl_texture_destroy(uint32_t tex)
{
    if (gl_current())
        GL(DeleteTextures)(1, &tex);
}

void
va_gl_fini(void)
{
    if (gl.ctx && va.destroy_gl_context)
        va.destroy_gl_context(va.cookie, gl.ctx);
    if (gl.lib)
        dlclose(gl.lib);
    gl = (__typeof__(gl)){0};
}
