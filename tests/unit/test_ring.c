/*
 * Unit tests for the ring layout checks of the renderer (src/gpu/venus/ring.c),
 * through libpvgpu's public API: a front door may import client memory at
 * any address (QEMU's door maps guest iovecs), so a ring whose control
 * words fall on a host address that is not 4-byte aligned must be refused
 * even when their offsets are multiples of 4; the same layout on aligned
 * memory must work. Needs the Vulkan loader (pv_renderer_create); skips
 * (77) without one.
 */
#include "check.h"
#include <pvgpu/pvgpu.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cs.h"
#include "pvg.gen.h"

#define RES_SIZE (64u * 1024)

/* A valid vkCreateRingMESA for a ring at the start of resource 1. */
static size_t
encode_ring(uint8_t *buf, size_t size)
{
    const VkRingCreateInfoMESA ci = {
        .sType = VK_STRUCTURE_TYPE_RING_CREATE_INFO_MESA, .resourceId = 1, .offset = 0,
        .size = RES_SIZE, .idleTimeout = 1000000, .headOffset = 0, .tailOffset = 64,
        .statusOffset = 128, .bufferOffset = 4096, .bufferSize = 16384,
        .extraOffset = 256, .extraSize = 4};
    bool fatal = false;
    struct pv_cs_enc e = {buf, buf + size, &fatal};
    struct pvg_args_vkCreateRingMESA a = {.ring = 0x5151, .pCreateInfo = &ci};
    pvg_encode_vkCreateRingMESA(&e, 0, &a);
    CHECK(!fatal);
    return (size_t)(e.cur - buf);
}

/* Imports memory at `base`, creates the ring; whether the context stayed usable. */
static bool
ring_on(struct pv_renderer *r, uint8_t *base)
{
    struct pv_ctx *ctx;
    CHECK(pv_ctx_create(r, 1, "test-ring", NULL, &ctx) == 0);
    memset(base, 0, RES_SIZE);
    CHECK(pv_ctx_import_resource(ctx, 1, base, RES_SIZE) == 0);
    uint8_t cmd[256];
    size_t n = encode_ring(cmd, sizeof(cmd));
    int err = pv_ctx_submit(ctx, cmd, n);
    bool usable = err == 0 && !pv_ctx_is_fatal(ctx);
    pv_ctx_destroy(ctx);
    return usable;
}

int
main(void)
{
    struct pv_renderer *r;
    if (pv_renderer_create(NULL, &r)) {
        fprintf(stderr, "test_ring: no Vulkan loader for the renderer, skipping\n");
        return 77;
    }
    uint8_t *mem = aligned_alloc(64, RES_SIZE + 64);
    CHECK(mem != NULL);
    if (mem) {
        CHECK_MSG(ring_on(r, mem), "a ring on 64-byte aligned memory was refused");
        for (unsigned skew = 1; skew < 4; skew++)
            CHECK_MSG(!ring_on(r, mem + skew),
                      "a ring whose head is at host address base+%u (misaligned) was accepted",
                      skew);
        CHECK_MSG(ring_on(r, mem + 4), "a ring on 4-byte aligned memory was refused");
    }
    free(mem);
    pv_renderer_destroy(r);
    return check_report("test_ring");
}
