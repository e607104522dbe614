/*
 * gpu/venus/lifetime: objects that own other objects. Pools free their
 * command buffers and descriptor sets (command.c and descriptor.c forget
 * them here), devices everything created from them, and a context that
 * goes away (a client that vanished mid-frame) everything it still had:
 * the host must end up with nothing of it.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dispatch.h"

struct obj_list {
    struct pv_obj **v;
    size_t n, cap;
    bool oom;
};

static void
collect(struct pv_obj *o, void *data)
{
    struct obj_list *l = ((void **)data)[1];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct pv_obj **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->oom = true;
            free(o); /* leaks the host object, but never crashes */
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = o;
}

struct match_args {
    struct pv_device *dev;
    uint64_t parent;
    VkObjectType type;
};

static bool
match_children(const struct pv_obj *o, void *data)
{
    struct match_args *m = ((void **)data)[0];
    return o->parent == m->parent && o->type == m->type;
}

static bool
match_device(const struct pv_obj *o, void *data)
{
    struct match_args *m = ((void **)data)[0];
    return o->dev == m->dev && o->type != VK_OBJECT_TYPE_DEVICE;
}

static void
remove_matching(struct pv_ctx *ctx, bool (*match)(const struct pv_obj *, void *),
                struct match_args *m, struct obj_list *out)
{
    void *data[2] = {m, out};
    pv_objtab_remove_if(&ctx->objs, match, collect, data);
}

static void
free_list(struct obj_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* ---- pools ---- */

void
pv_lifetime_forget_ids(struct pv_ctx *ctx, VkObjectType type, uint32_t n, const uint64_t *ids)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i])
            free(pv_objtab_remove(&ctx->objs, ids[i], type));
}

void
pv_lifetime_forget_children(struct pv_ctx *ctx, VkObjectType type, uint64_t parent)
{
    struct match_args m = {.parent = parent, .type = type};
    struct obj_list l = {0};
    remove_matching(ctx, match_children, &m, &l);
    free_list(&l);
}

/* ---- teardown ---- */

/* Order in which a device's leftovers are destroyed: users before what they use. */
static int
destroy_rank(VkObjectType t)
{
    switch (t) {
    case VK_OBJECT_TYPE_COMMAND_BUFFER:
    case VK_OBJECT_TYPE_DESCRIPTOR_SET:
    case VK_OBJECT_TYPE_QUEUE:
        return 0; /* not destroyed on their own */
    case VK_OBJECT_TYPE_COMMAND_POOL:
        return 1;
    case VK_OBJECT_TYPE_PIPELINE:
    case VK_OBJECT_TYPE_FRAMEBUFFER:
    case VK_OBJECT_TYPE_FENCE:
    case VK_OBJECT_TYPE_SEMAPHORE:
    case VK_OBJECT_TYPE_EVENT:
    case VK_OBJECT_TYPE_QUERY_POOL:
    case VK_OBJECT_TYPE_DESCRIPTOR_POOL:
    case VK_OBJECT_TYPE_DESCRIPTOR_UPDATE_TEMPLATE:
    case VK_OBJECT_TYPE_PRIVATE_DATA_SLOT:
        return 2;
    case VK_OBJECT_TYPE_PIPELINE_LAYOUT:
    case VK_OBJECT_TYPE_PIPELINE_CACHE:
    case VK_OBJECT_TYPE_SHADER_MODULE:
    case VK_OBJECT_TYPE_RENDER_PASS:
    case VK_OBJECT_TYPE_BUFFER_VIEW:
    case VK_OBJECT_TYPE_IMAGE_VIEW:
        return 3;
    case VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT:
    case VK_OBJECT_TYPE_SAMPLER:
        return 4;
    case VK_OBJECT_TYPE_SAMPLER_YCBCR_CONVERSION:
    case VK_OBJECT_TYPE_BUFFER:
    case VK_OBJECT_TYPE_IMAGE:
        return 5;
    case VK_OBJECT_TYPE_DEVICE_MEMORY:
        return 6;
    default:
        return 7;
    }
}

static void
destroy_host_object(struct pv_device *dev, struct pv_obj *o)
{
    const struct pvg_device_table *t = &dev->t;
    VkDevice d = dev->host;
#define H(type) ((type)(uintptr_t)o->host)
    switch (o->type) {
    case VK_OBJECT_TYPE_COMMAND_POOL: t->DestroyCommandPool(d, H(VkCommandPool), NULL); break;
    case VK_OBJECT_TYPE_PIPELINE: t->DestroyPipeline(d, H(VkPipeline), NULL); break;
    case VK_OBJECT_TYPE_FRAMEBUFFER: t->DestroyFramebuffer(d, H(VkFramebuffer), NULL); break;
    case VK_OBJECT_TYPE_FENCE: t->DestroyFence(d, H(VkFence), NULL); break;
    case VK_OBJECT_TYPE_SEMAPHORE: t->DestroySemaphore(d, H(VkSemaphore), NULL); break;
    case VK_OBJECT_TYPE_EVENT: t->DestroyEvent(d, H(VkEvent), NULL); break;
    case VK_OBJECT_TYPE_QUERY_POOL: t->DestroyQueryPool(d, H(VkQueryPool), NULL); break;
    case VK_OBJECT_TYPE_DESCRIPTOR_POOL:
        t->DestroyDescriptorPool(d, H(VkDescriptorPool), NULL);
        break;
    case VK_OBJECT_TYPE_DESCRIPTOR_UPDATE_TEMPLATE:
        t->DestroyDescriptorUpdateTemplate(d, H(VkDescriptorUpdateTemplate), NULL);
        break;
    case VK_OBJECT_TYPE_PRIVATE_DATA_SLOT:
        if (t->DestroyPrivateDataSlot)
            t->DestroyPrivateDataSlot(d, H(VkPrivateDataSlot), NULL);
        break;
    case VK_OBJECT_TYPE_PIPELINE_LAYOUT:
        t->DestroyPipelineLayout(d, H(VkPipelineLayout), NULL);
        break;
    case VK_OBJECT_TYPE_PIPELINE_CACHE: t->DestroyPipelineCache(d, H(VkPipelineCache), NULL); break;
    case VK_OBJECT_TYPE_SHADER_MODULE: t->DestroyShaderModule(d, H(VkShaderModule), NULL); break;
    case VK_OBJECT_TYPE_RENDER_PASS: t->DestroyRenderPass(d, H(VkRenderPass), NULL); break;
    case VK_OBJECT_TYPE_BUFFER_VIEW: t->DestroyBufferView(d, H(VkBufferView), NULL); break;
    case VK_OBJECT_TYPE_IMAGE_VIEW: t->DestroyImageView(d, H(VkImageView), NULL); break;
    case VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT:
        t->DestroyDescriptorSetLayout(d, H(VkDescriptorSetLayout), NULL);
        break;
    case VK_OBJECT_TYPE_SAMPLER: t->DestroySampler(d, H(VkSampler), NULL); break;
    case VK_OBJECT_TYPE_SAMPLER_YCBCR_CONVERSION:
        t->DestroySamplerYcbcrConversion(d, H(VkSamplerYcbcrConversion), NULL);
        break;
    case VK_OBJECT_TYPE_BUFFER: t->DestroyBuffer(d, H(VkBuffer), NULL); break;
    case VK_OBJECT_TYPE_IMAGE: t->DestroyImage(d, H(VkImage), NULL); break;
    case VK_OBJECT_TYPE_DEVICE_MEMORY: pv_memory_free(dev, o->priv); break;
    case VK_OBJECT_TYPE_QUEUE: {
        struct pv_queue *q = o->priv;
        if (q)
            pthread_mutex_destroy(&q->lock);
        free(q);
        break;
    }
    default:
        break;
    }
#undef H
}

static int
by_rank(const void *x, const void *y)
{
    const struct pv_obj *a = *(struct pv_obj *const *)x, *b = *(struct pv_obj *const *)y;
    return destroy_rank(a->type) - destroy_rank(b->type);
}

static bool
fence_pending_on(struct pv_ctx *ctx, struct pv_device *dev)
{
    for (uint32_t i = ctx->fence_head; i != ctx->fence_tail; i = (i + 1) % PV_FENCE_QUEUE_MAX)
        if (ctx->fences[i].dev == dev)
            return true;
    return false;
}

void
pv_device_destroy(struct pv_ctx *ctx, struct pv_device *dev)
{
    dev->t.DeviceWaitIdle(dev->host);
    /* The fence thread may still hold fences of this device: let it finish them. */
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < PV_MAX_TIMELINES; i++)
        if (ctx->timelines[i] && ctx->timelines[i]->dev == dev)
            ctx->timelines[i] = NULL;
    while (fence_pending_on(ctx, dev) && ctx->fence_thread_started && !ctx->stopping) {
        pthread_mutex_unlock(&ctx->lock);
        pv_clock_sleep_ns(1000000);
        pthread_mutex_lock(&ctx->lock);
    }
    pthread_mutex_unlock(&ctx->lock);

    struct match_args m = {.dev = dev};
    struct obj_list l = {0};
    remove_matching(ctx, match_device, &m, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), by_rank);
    for (size_t i = 0; i < l.n; i++)
        destroy_host_object(dev, l.v[i]);
    free_list(&l);
    pv_loader_lock();
    dev->t.DestroyDevice(dev->host, NULL);
    pv_loader_unlock();
    free(pv_objtab_remove(&ctx->objs, dev->id, VK_OBJECT_TYPE_DEVICE));
    free(dev);
}

static bool
match_type(const struct pv_obj *o, void *data)
{
    struct match_args *m = ((void **)data)[0];
    return o->type == m->type;
}

void
pv_venus_destroy_all(struct pv_ctx *ctx)
{
    for (;;) {
        struct match_args m = {.type = VK_OBJECT_TYPE_DEVICE};
        struct obj_list l = {0};
        remove_matching(ctx, match_type, &m, &l);
        if (!l.n) {
            free_list(&l);
            break;
        }
        /* pv_device_destroy removes the device's entry itself: put them back first. */
        for (size_t i = 0; i < l.n; i++) {
            struct pv_device *dev = l.v[i]->dev;
            pv_objtab_insert(&ctx->objs, l.v[i], NULL);
            pv_device_destroy(ctx, dev);
        }
        free_list(&l);
    }
    struct pv_instance *inst = ctx->instance;
    if (!inst)
        return;
    struct match_args m = {.type = VK_OBJECT_TYPE_PHYSICAL_DEVICE};
    struct obj_list l = {0};
    remove_matching(ctx, match_type, &m, &l);
    free_list(&l);
    pv_loader_lock();
    inst->t.DestroyInstance(inst->host, NULL);
    pv_loader_unlock();
    free(pv_objtab_remove(&ctx->objs, inst->id, VK_OBJECT_TYPE_INSTANCE));
    free(inst->phys);
    free(inst->phys_ids);
    free(inst);
    ctx->instance = NULL;
}
