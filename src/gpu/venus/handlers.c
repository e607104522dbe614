/* gpu/venus/handlers: which commands take a hand-written path (see dispatch.h). */
#include "dispatch.h"

#define PV_HANDLERS(X)                                                                             \
    X(vkSetReplyCommandStreamMESA)                                                                 \
    X(vkSeekReplyCommandStreamMESA)                                                                \
    X(vkExecuteCommandStreamsMESA)                                                                 \
    X(vkCreateRingMESA)                                                                            \
    X(vkDestroyRingMESA)                                                                           \
    X(vkNotifyRingMESA)                                                                            \
    X(vkWriteRingExtraMESA)                                                                        \
    X(vkSubmitVirtqueueSeqnoMESA)                                                                  \
    X(vkWaitVirtqueueSeqnoMESA)                                                                    \
    X(vkWaitRingSeqnoMESA)                                                                         \
    X(vkGetMemoryResourcePropertiesMESA)                                                           \
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
    X(vkGetPhysicalDeviceProperties2)                                                              \
    X(vkCreateDevice)                                                                              \
    X(vkDestroyDevice)                                                                             \
    X(vkGetDeviceQueue)                                                                            \
    X(vkGetDeviceQueue2)                                                                           \
    X(vkQueueSubmit)                                                                               \
    X(vkQueueSubmit2)                                                                              \
    X(vkQueueWaitIdle)                                                                             \
    X(vkQueueBindSparse)                                                                           \
    X(vkAllocateMemory)                                                                            \
    X(vkFreeMemory)                                                                                \
    X(vkAllocateCommandBuffers)                                                                    \
    X(vkFreeCommandBuffers)                                                                        \
    X(vkDestroyCommandPool)                                                                        \
    X(vkAllocateDescriptorSets)                                                                    \
    X(vkFreeDescriptorSets)                                                                        \
    X(vkDestroyDescriptorPool)                                                                     \
    X(vkResetDescriptorPool)                                                                       \
    X(vkCreateComputePipelines)                                                                    \
    X(vkCreateGraphicsPipelines)                                                                   \
    X(vkGetPhysicalDeviceExternalSemaphoreProperties)                                              \
    X(vkGetPhysicalDeviceExternalFenceProperties)                                                  \
    X(vkGetPhysicalDeviceExternalBufferProperties)                                                 \
    X(vkGetPhysicalDeviceImageFormatProperties2)                                                   \
    X(vkGetPhysicalDeviceFormatProperties2)                                                        \
    X(vkCreateImage)                                                                               \
    X(vkCreateBuffer)                                                                              \
    X(vkCreateSemaphore)                                                                           \
    X(vkCreateFence)                                                                               \
    X(vkGetImageDrmFormatModifierPropertiesEXT)                                                    \
    X(vkGetImageSubresourceLayout)                                                                 \
    X(vkGetImageSubresourceLayout2KHR)                                                             \
    X(vkCmdPipelineBarrier)                                                                        \
    X(vkCmdWaitEvents)                                                                             \
    X(vkCmdPipelineBarrier2)                                                                       \
    X(vkCmdSetEvent2)                                                                              \
    X(vkCmdWaitEvents2)                                                                            \
    X(vkImportSemaphoreResourceMESA)                                                               \
    X(vkWaitSemaphoreResourceMESA)                                                                 \
    X(vkResetFenceResourceMESA)

#define DECLARE(name) PV_DECLARE_HANDLER(name);
PV_HANDLERS(DECLARE)
#undef DECLARE

#define ENTRY(name) [PVG_CMD_##name] = pv_handle_##name,
const pv_dispatch_fn pv_dispatch_handlers[PVG_CMD_COUNT] = {PV_HANDLERS(ENTRY)};
#undef ENTRY
