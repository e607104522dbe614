/*
 * gpu/venus/descriptor: descriptor pools and sets. Sets are allocated and
 * freed in bulk and die with their pool, on destroy and on reset: the
 * object table keeps each set's pool as its parent (lifetime.c).
 */
#include <stdlib.h>

#include "dispatch.h"

static VkResult
call_alloc_sets(void *p)
{
    struct pvg_args_vkAllocateDescriptorSets *a = ((void **)p)[1];
    struct pv_device *dev = ((void **)p)[0];
    return dev->t.AllocateDescriptorSets(dev->host, a->pAllocateInfo, a->pDescriptorSets);
}

PV_DECLARE_HANDLER(vkAllocateDescriptorSets)
{
    ARGS(vkAllocateDescriptorSets);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev || !a->pAllocateInfo || !a->pDescriptorSets)
        return pv_dispatch_fail(dec, "vkAllocateDescriptorSets: bad arguments");
    void *data[2] = {dev, a};
    if (!pv_dispatch_create_many(ch, dec, dev, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                 (uint64_t)(uintptr_t)a->pAllocateInfo->descriptorPool,
                                 a->pAllocateInfo->descriptorSetCount,
                                 (uint64_t *)a->pDescriptorSets, call_alloc_sets, data, &a->ret))
        return false;
    return REPLY();
}

PV_DECLARE_HANDLER(vkFreeDescriptorSets)
{
    struct pvg_args_vkFreeDescriptorSets *a = pv_dispatch_decode_raw(dec, cmd);
    if (!a)
        return false;
    struct pv_device *dev = pv_dispatch_device(ch, dec, (uint64_t)(uintptr_t)a->device);
    uint64_t *ids;
    if (!dev ||
        !pv_dispatch_translate(ch, dec, (uint64_t *)&a->descriptorPool,
                               VK_OBJECT_TYPE_DESCRIPTOR_POOL) ||
        !a->pDescriptorSets ||
        !pv_dispatch_translate_array(ch, dec, (uint64_t *)a->pDescriptorSets,
                                     a->descriptorSetCount, VK_OBJECT_TYPE_DESCRIPTOR_SET, &ids))
        return pv_dispatch_fail(dec, "vkFreeDescriptorSets: bad arguments");
    a->ret = dev->t.FreeDescriptorSets(dev->host, a->descriptorPool, a->descriptorSetCount,
                                       a->pDescriptorSets);
    pv_lifetime_forget_ids(ch->ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET, a->descriptorSetCount, ids);
    return REPLY();
}

PV_DECLARE_HANDLER(vkDestroyDescriptorPool)
{
    ARGS(vkDestroyDescriptorPool);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev)
        return false;
    if (!a->descriptorPool)
        return true;
    pv_lifetime_forget_children(ch->ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                (uint64_t)(uintptr_t)a->descriptorPool);
    dev->t.DestroyDescriptorPool(dev->host, a->descriptorPool, NULL);
    free(pv_objtab_remove(&ch->ctx->objs, a->id_descriptorPool, VK_OBJECT_TYPE_DESCRIPTOR_POOL));
    return true;
}

PV_DECLARE_HANDLER(vkResetDescriptorPool)
{
    ARGS(vkResetDescriptorPool);
    struct pv_device *dev = pv_dispatch_device(ch, dec, a->id_device);
    if (!dev)
        return false;
    pv_lifetime_forget_children(ch->ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                                (uint64_t)(uintptr_t)a->descriptorPool);
    a->ret = dev->t.ResetDescriptorPool(dev->host, a->descriptorPool, a->flags);
    return REPLY();
}
