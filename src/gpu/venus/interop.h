/*
 * gpu/venus/interop: the emulated sharing capabilities (dma-buf memory,
 * DRM format modifiers, the foreign queue family, sync-fd semaphores) as
 * helpers for the handlers of each object family. interop.c says what is
 * emulated and why.
 *
 * Threads: any ring thread; pv_interop_any_queue() takes the context lock,
 *          the submissions take the queue's lock. The caller holds a pin on
 *          the device, which keeps its queues alive.
 */
#ifndef PV_VENUS_INTEROP_H
#define PV_VENUS_INTEROP_H

#include "context.h"

/* The one DRM format modifier the renderer offers. */
#define PV_DRM_FORMAT_MOD_LINEAR 0ull

/* Extensions the renderer provides itself, listed after the host's. */
uint32_t pv_interop_extension_count(void);
bool pv_interop_extension(uint32_t i, VkExtensionProperties *out);
bool pv_interop_is_emulated(const char *name);

/* Memory handle types the client may ask for (dma-buf, opaque fd), and what they offer. */
bool pv_interop_memory_shareable(VkExternalMemoryHandleTypeFlags t);
extern const VkExternalMemoryProperties pv_interop_shareable_memory;

/* Fills a modifier list with the one modifier we offer when linear tiling has features. */
void pv_interop_fill_modifiers(uint32_t *count, VkDrmFormatModifierPropertiesEXT *props,
                               VkDrmFormatModifierProperties2EXT *props2,
                               VkFormatFeatureFlags2 linear);
/* Memory-plane aspects name the planes of a modifier image; ours are linear images. */
VkImageAspectFlags pv_interop_plane_aspect(VkImageAspectFlags aspect);

/* Rewrites ownership transfers to or from the foreign queue family in place. */
void pv_interop_unforeign_barriers(uint32_t nbuf, const VkBufferMemoryBarrier *buf, uint32_t nimg,
                                   const VkImageMemoryBarrier *img);
void pv_interop_unforeign_dependency(const VkDependencyInfo *d);

/* Any queue of the device, for the renderer's own small submissions; NULL if none yet. */
struct pv_queue *pv_interop_any_queue(struct pv_ctx *ctx, struct pv_device *dev);
/* Imports an already-signalled sync-fd payload: a submission that signals `sem`. */
VkResult pv_interop_signal_semaphore(struct pv_device *dev, struct pv_queue *q, VkSemaphore sem);
/*
 * Consumes the payload of `sem` on the host, as exporting a sync file
 * would: waits for it (pv_sync_wait_fences: VK_ERROR_DEVICE_LOST when the
 * wait was cut short).
 */
VkResult pv_interop_consume_semaphore(struct pv_channel *ch, struct pv_device *dev,
                                      struct pv_queue *q, VkSemaphore sem);

#endif /* PV_VENUS_INTEROP_H */
