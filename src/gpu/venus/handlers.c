/*
 * gpu/venus/handlers: the table of hand-written handlers, by command id.
 * Commands not listed take the generic path (dispatch.c). Each handler
 * lives in the file of its Vulkan object family, named above its entries.
 */
#include "dispatch.h"

#define PV_HANDLERS(X)                                                                             \
    /* transport.c */                                                                              \
    X(vkCreateRingMESA)                                                                            \
    X(vkDestroyRingMESA)                                                                           \
    X(vkNotifyRingMESA)                                                                            \
    X(vkWriteRingExtraMESA)                                                                        \
    X(vkSubmitVirtqueueSeqnoMESA)                                                                  \
    X(vkWaitRingSeqnoMESA)                                                                         \
    X(vkWaitVirtqueueSeqnoMESA)                                                                    \
    X(vkSetReplyCommandStreamMESA)                                                                 \
    X(vkSeekReplyCommandStreamMESA)                                                                \
    X(vkExecuteCommandStreamsMESA)                                                                 \
    /* instance.c */                                                                               \
    X(vkEnumerateInstanceVersion)                                                                  \
    X(vkEnumerateInstanceExtensionProperties)                                                      \
    X(vkEnumerateInstanceLayerProperties)                                                          \
    X(vkCreateInstance)                                                                            \
    X(vkDestroyInstance)                                                                           \
    X(vkEnumeratePhysicalDevices)                                                                  \
    X(vkEnumeratePhysicalDeviceGroups)                                                             \
    X(vkEnumerateDeviceExtensionProperties)                                                        \
    X(vkEnumerateDeviceLayerProperties)                                                            \
    X(vkGetPhysicalDeviceProperties)                                                               \
    X(vkGetPhysicalDeviceMemoryProperties)                                                     \
    X(vkGetPhysicalDeviceMemoryProperties2)                                                    \
    X(vkGetPhysicalDeviceProperties2)                                                              \
    X(vkGetPhysicalDeviceExternalSemaphoreProperties)                                              \
    X(vkGetPhysicalDeviceExternalFenceProperties)                                                  \
    X(vkGetPhysicalDeviceExternalBufferProperties)                                                 \
    X(vkGetPhysicalDeviceImageFormatProperties2)                                                   \
    X(vkGetPhysicalDeviceFormatProperties2)                                                        \
    /* device.c */                                                                                 \
    X(vkCreateDevice)                                                                              \
    X(vkGetDeviceQueue2)                                                                           \
    X(vkGetDeviceQueue)                                                                            \
    X(vkQueueSubmit)                                                                               \
    X(vkQueueSubmit2)                                                                              \
    X(vkQueueWaitIdle)                                                                             \
    X(vkDeviceWaitIdle)                                                                            \
    X(vkQueueBindSparse)                                                                           \
    X(vkDestroyDevice)                                                                             \
    /* memory.c */                                                                                 \
    X(vkAllocateMemory)                                                                            \
    X(vkFreeMemory)                                                                                \
    X(vkGetMemoryResourcePropertiesMESA)                                                           \
    /* buffer.c */                                                                                 \
    X(vkCreateBuffer)                                                                              \
    /* image.c */                                                                                  \
    X(vkCreateImage)                                                                               \
    X(vkGetImageDrmFormatModifierPropertiesEXT)                                                    \
    X(vkGetImageSubresourceLayout)                                                                 \
    X(vkGetImageSubresourceLayout2KHR)                                                             \
    X(vkCopyImageToMemoryMESA)                                                                     \
    X(vkCopyMemoryToImageMESA)                                                                     \
    /* sync.c */                                                                                   \
    X(vkCreateSemaphore)                                                                           \
    X(vkCreateFence)                                                                               \
    X(vkWaitForFences)                                                                             \
    X(vkWaitSemaphores)                                                                            \
    X(vkGetQueryPoolResults)                                                                       \
    X(vkImportSemaphoreResourceMESA)                                                               \
    X(vkWaitSemaphoreResourceMESA)                                                                 \
    X(vkResetFenceResourceMESA)                                                                    \
    /* command.c */                                                                                \
    X(vkAllocateCommandBuffers)                                                                    \
    X(vkFreeCommandBuffers)                                                                        \
    X(vkDestroyCommandPool)                                                                        \
    X(vkCmdPipelineBarrier)                                                                        \
    X(vkCmdWaitEvents)                                                                             \
    X(vkCmdPipelineBarrier2)                                                                       \
    X(vkCmdSetEvent2)                                                                              \
    X(vkCmdWaitEvents2)                                                                            \
    /* descriptor.c */                                                                             \
    X(vkAllocateDescriptorSets)                                                                    \
    X(vkFreeDescriptorSets)                                                                        \
    X(vkDestroyDescriptorPool)                                                                     \
    X(vkResetDescriptorPool)                                                                       \
    /* pipeline.c */                                                                               \
    X(vkCreateComputePipelines)                                                                    \
    X(vkCreateGraphicsPipelines)

#define DECLARE(name) PV_DECLARE_HANDLER(name);
PV_HANDLERS(DECLARE)
#undef DECLARE

#define ENTRY(name) [PVG_CMD_##name] = pv_handle_##name,
const pv_dispatch_fn pv_dispatch_handlers[PVG_CMD_COUNT] = {PV_HANDLERS(ENTRY)};
#undef ENTRY
