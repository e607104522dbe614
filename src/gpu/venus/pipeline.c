/*
 * gpu/venus/pipeline: pipeline creation. Pipelines are created in arrays,
 * and a call may make only some of them (VK_PIPELINE_COMPILE_REQUIRED):
 * each one the host made gets its client id (pv_dispatch_create_many).
 */
#include "dispatch.h"

static VkResult
call_compute_pipelines(void *p)
{
    struct pvg_args_vkCreateComputePipelines *a = ((void **)p)[1];
    struct pv_device *dev = ((void **)p)[0];
    return dev->t.CreateComputePipelines(dev->host, a->pipelineCache, a->createInfoCount,
                                         a->pCreateInfos, NULL, a->pPipelines);
}

PV_DECLARE_HANDLER(vkCreateComputePipelines)
{
    ARGS(vkCreateComputePipelines);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || (a->createInfoCount && (!a->pCreateInfos || !a->pPipelines)))
        return pv_dispatch_fail(dec, "vkCreateComputePipelines: bad arguments");
    void *data[2] = {dev, a};
    if (!pv_dispatch_create_many(ch, dec, dev, VK_OBJECT_TYPE_PIPELINE, 0, a->createInfoCount,
                                 (uint64_t *)a->pPipelines, call_compute_pipelines, data,
                                 &a->ret))
        return false;
    return REPLY();
}

static VkResult
call_graphics_pipelines(void *p)
{
    struct pvg_args_vkCreateGraphicsPipelines *a = ((void **)p)[1];
    struct pv_device *dev = ((void **)p)[0];
    return dev->t.CreateGraphicsPipelines(dev->host, a->pipelineCache, a->createInfoCount,
                                          a->pCreateInfos, NULL, a->pPipelines);
}

PV_DECLARE_HANDLER(vkCreateGraphicsPipelines)
{
    ARGS(vkCreateGraphicsPipelines);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || (a->createInfoCount && (!a->pCreateInfos || !a->pPipelines)))
        return pv_dispatch_fail(dec, "vkCreateGraphicsPipelines: bad arguments");
    void *data[2] = {dev, a};
    if (!pv_dispatch_create_many(ch, dec, dev, VK_OBJECT_TYPE_PIPELINE, 0, a->createInfoCount,
                                 (uint64_t *)a->pPipelines, call_graphics_pipelines, data,
                                 &a->ret))
        return false;
    return REPLY();
}
