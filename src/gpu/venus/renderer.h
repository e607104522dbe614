/*
 * gpu/venus/renderer: the renderer's API as front doors see it. It is
 * libpvgpu's public header; this file only keeps internal includes short.
 */
#ifndef PV_VENUS_RENDERER_H
#define PV_VENUS_RENDERER_H
#include <pvgpu/pvgpu.h>
#endif
