/*
 * venus-garbage: a guest program that sends a malformed Venus command stream
 * through the virtio-gpu kernel driver, as a hostile guest app could.
 *
 * It creates a Venus context (DRM_IOCTL_VIRTGPU_CONTEXT_INIT, capset 4, one
 * ring), submits words that are no Venus command, then submits again with an
 * out-fence on ring 0 and waits for it. The host must mark only this context
 * fatal (its renderer logs it) and keep the VM, and later contexts, working;
 * the fence must still signal so the app gets an answer instead of a hang.
 *
 *   venus-garbage [/dev/dri/renderD128]
 * Exit: 0 the submits went through and the fence signalled; 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm/virtgpu_drm.h>

static int
submit(int fd, const uint32_t *words, uint32_t n, int *fence_fd)
{
    struct drm_virtgpu_execbuffer eb = {
        .flags = VIRTGPU_EXECBUF_RING_IDX | (fence_fd ? VIRTGPU_EXECBUF_FENCE_FD_OUT : 0),
        .size = n * 4,
        .command = (uintptr_t)words,
        .fence_fd = -1,
        .ring_idx = 0,
    };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &eb) < 0)
        return -errno;
    if (fence_fd)
        *fence_fd = eb.fence_fd;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/dri/renderD128";
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "venus-garbage: open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct drm_virtgpu_context_set_param params[] = {
        {VIRTGPU_CONTEXT_PARAM_CAPSET_ID, 4 /* Venus */},
        {VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 1},
    };
    struct drm_virtgpu_context_init init = {.num_params = 2, .ctx_set_params = (uintptr_t)params};
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &init) < 0) {
        fprintf(stderr, "venus-garbage: CONTEXT_INIT: %s\n", strerror(errno));
        return 1;
    }
    /* An unknown command type, then a length field claiming far more than was sent. */
    uint32_t garbage[64];
    for (unsigned i = 0; i < 64; i++)
        garbage[i] = 0xfffffff0u - i * 0x01010101u;
    int err = submit(fd, garbage, 64, NULL);
    if (err) {
        fprintf(stderr, "venus-garbage: garbage submit: %s\n", strerror(-err));
        return 1;
    }
    int fence = -1;
    err = submit(fd, garbage, 4, &fence);
    if (err || fence < 0) {
        fprintf(stderr, "venus-garbage: fenced submit: %s\n", strerror(-err));
        return 1;
    }
    struct pollfd p = {.fd = fence, .events = POLLIN};
    int n = poll(&p, 1, 20000);
    if (n != 1) {
        fprintf(stderr, "venus-garbage: the fence did not signal within 20 s\n");
        return 1;
    }
    printf("venus-garbage: submitted; fence signalled\n");
    close(fence);
    close(fd);
    return 0;
}
