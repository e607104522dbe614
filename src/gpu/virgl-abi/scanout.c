/*
 * gpu/virgl-abi/scanout: GL textures behind 2D resources, so QEMU's GL
 * console (which draws resource_get_info()'s tex_id, e.g. the guest's fbcon)
 * shows the guest's screen. See virgl-abi.h.
 *
 * QEMU owns the GL winsys: through its create_gl_context callback we get a
 * context shared with its display, and we upload pixels into textures on
 * QEMU's thread. GL entry points come from libGL at run time, so the library
 * links no GL and QEMUs without a GL display still load it. Without GL every
 * texture id is 0: Venus works, the console stays blank.
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

static struct {
    bool tried, ok;
    void *lib;
    virgl_renderer_gl_context ctx;
    void (*GenTextures)(int n, uint32_t *tex);
    void (*DeleteTextures)(int n, const uint32_t *tex);
    void (*BindTexture)(uint32_t target, uint32_t tex);
    void (*TexParameteri)(uint32_t target, uint32_t pname, int param);
    void (*TexImage2D)(uint32_t target, int level, int ifmt, int w, int h, int border,
                       uint32_t fmt, uint32_t type, const void *data);
    void (*TexSubImage2D)(uint32_t target, int level, int x, int y, int w, int h, uint32_t fmt,
                          uint32_t type, const void *data);
    void (*PixelStorei)(uint32_t pname, int param);
    void (*Flush)(void);
} gl;

static bool
gl_current(void)
{
    if (!gl.tried) {
        gl.tried = true;
        if (!va.create_gl_context || !va.make_current)
            return false;
        gl.lib = dlopen("libGL.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!gl.lib)
            gl.lib = dlopen("libOpenGL.so.0", RTLD_LAZY | RTLD_LOCAL);
        if (!gl.lib) {
            pv_warn("virgl-abi", "no libGL: the guest console will not be shown");
            return false;
        }
#define SYM(name) (*(void **)&gl.name = dlsym(gl.lib, "gl" #name))
        if (!SYM(GenTextures) || !SYM(DeleteTextures) || !SYM(BindTexture) ||
            !SYM(TexParameteri) || !SYM(TexImage2D) || !SYM(TexSubImage2D) || !SYM(PixelStorei) ||
            !SYM(Flush)) {
            pv_warn("virgl-abi", "libGL lacks basic entry points: no guest console");
            return false;
        }
#undef SYM
        struct virgl_renderer_gl_ctx_param p = {
            .version = 1, .shared = true, .major_ver = 3, .minor_ver = 3};
        gl.ctx = va.create_gl_context(va.cookie, 0, &p);
        if (!gl.ctx) {
            pv_warn("virgl-abi", "QEMU gave no GL context: the guest console will not be shown");
            return false;
        }
        gl.ok = true;
    }
    return gl.ok && va.make_current(va.cookie, 0, gl.ctx) == 0;
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
    gl.GenTextures(1, &tex);
    gl.BindTexture(GL_TEXTURE_2D, tex);
    gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    if (opaque)
        gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_A, GL_ONE);
    gl.TexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (int)width, (int)height, 0, fmt, type, NULL);
    gl.BindTexture(GL_TEXTURE_2D, 0);
    gl.Flush();
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
    gl.BindTexture(GL_TEXTURE_2D, tex);
    gl.PixelStorei(GL_UNPACK_ALIGNMENT, 4);
    gl.PixelStorei(GL_UNPACK_ROW_LENGTH, (int)(stride / 4));
    gl.TexSubImage2D(GL_TEXTURE_2D, 0, (int)x, (int)y, (int)w, (int)h, fmt, type,
                     pixels + (size_t)y * stride + (size_t)x * 4);
    gl.PixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    gl.BindTexture(GL_TEXTURE_2D, 0);
    /* The display draws it from another (shared) context. */
    gl.Flush();
}

void
va_gl_texture_destroy(uint32_t tex)
{
    if (gl_current())
        gl.DeleteTextures(1, &tex);
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
