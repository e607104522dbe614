/*
 * gpu/venus/lifetime: objects that own other objects. Pools free their
 * command buffers and descriptor sets (command.c and descriptor.c forget
 * them here), devices everything created from them, and a context that
 * goes away (a client that vanished mid-frame) everything it still had:
 * the host must end up with nothing of it.
 *
 * Devices and instances are destroyed in two steps. When the client
 * destroys one (or its instance, or the context ends), the table forgets it
 * and drops its reference (pv_life_kill); the host object and everything
 * hanging off it go when the last user lets go: a command on another ring,
 * a pending context fence, a device of the instance. That thread runs the
 * teardown (pv_device_last, pv_instance_last). Before destroying anything
 * the teardown makes the device's queues idle, within PV_TEARDOWN_DRAIN_NS:
 * timeline semaphores and events a stuck submission could wait on are
 * signalled first (the client is gone; nobody else will); a queue that is
 * still busy after that (an endless shader) leaves the device's host
 * objects alive rather than freeing what the driver still uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "clock.h"
#include "dispatch.h"
#include "log.h"

/* How long a teardown waits for a device's queues to finish their work. */
#define PV_TEARDOWN_DRAIN_NS 1000000000ull

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

void
pv_lifetime_destroy_host(struct pv_device *dev, const struct pv_obj *o)
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

/*
 * Host objects a submission can wait on forever: a timeline semaphore
 * value or an event nobody will ever signal now. Signalled, so that the
 * queue can finish. Only done at teardown, when the client is gone.
 */
static void
unstick(struct pv_device *dev, struct obj_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct pv_obj *o = l->v[i];
        if (o->type == VK_OBJECT_TYPE_SEMAPHORE && (o->flags & PV_OBJ_TIMELINE) &&
            dev->t.SignalSemaphore) {
            const VkSemaphoreSignalInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
                                              .semaphore = (VkSemaphore)(uintptr_t)o->host,
                                              .value = UINT64_MAX};
            dev->t.SignalSemaphore(dev->host, &si);
        } else if (o->type == VK_OBJECT_TYPE_EVENT) {
            dev->t.SetEvent(dev->host, (VkEvent)(uintptr_t)o->host);
        }
    }
}

/* The device's queues (among its objects in l) idle within the drain time? */
static bool
drain(struct pv_device *dev, struct obj_list *l)
{
    struct pv_queue *queues[64];
    uint32_t n = 0;
    for (size_t i = 0; i < l->n && n < 64; i++)
        if (l->v[i]->type == VK_OBJECT_TYPE_QUEUE && l->v[i]->priv)
            queues[n++] = l->v[i]->priv;
    if (!n)
        return true;
    unstick(dev, l);
    return pv_sync_wait_queues(NULL, dev, queues, n, PV_TEARDOWN_DRAIN_NS) != VK_TIMEOUT;
}

/*
 * Host devices the renderer could not destroy, and their instances (the
 * driver's queue still uses both), kept reachable: a leak, on purpose.
 */
struct leaked_device {
    struct leaked_device *next;
    VkDevice host;
    struct pv_instance *inst; /* its reference is never dropped */
};
static struct leaked_device *_Atomic leaked_devices_singleton;

static void
leave_busy_device(struct pv_ctx *ctx, struct pv_device *dev, struct obj_list *l)
{
    pv_warn("venus", "context %u (%s): a queue of device %#llx was still busy %llu ms after its "
            "client went; its host objects are left alive", ctx->id, ctx->name,
            (unsigned long long)dev->id,
            (unsigned long long)(PV_TEARDOWN_DRAIN_NS / 1000000));
    struct leaked_device *d = malloc(sizeof(*d));
    if (d) {
        d->host = dev->host;
        d->inst = dev->inst;
        d->next = atomic_load(&leaked_devices_singleton);
        while (!atomic_compare_exchange_weak(&leaked_devices_singleton, &d->next, d))
            ;
    }
    /* Our own state goes; what the driver may still touch (imported host memory) stays. */
    for (size_t i = 0; i < l->n; i++) {
        struct pv_obj *o = l->v[i];
        if (o->type == VK_OBJECT_TYPE_QUEUE && o->priv) {
            struct pv_queue *q = o->priv;
            pthread_mutex_destroy(&q->lock);
            free(q);
        } else if (o->type == VK_OBJECT_TYPE_DEVICE_MEMORY && o->priv) {
            struct pv_memory *mem = o->priv;
            if (mem->fd >= 0) {
                close(mem->fd);
                atomic_fetch_sub(&ctx->memfds, 1);
            }
            free(mem); /* its mapping stays: the host memory may be in use */
        }
    }
}

void
pv_device_last(struct pv_life *life)
{
    struct pv_device *dev = (struct pv_device *)((char *)life - offsetof(struct pv_device, life));
    struct pv_ctx *ctx = dev->ctx;
    /* No context fence can be queued on it any more (fences hold a reference). */
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < PV_MAX_TIMELINES; i++)
        if (ctx->timelines[i] && ctx->timelines[i]->dev == dev)
            ctx->timelines[i] = NULL;
    pthread_mutex_unlock(&ctx->lock);

    struct match_args m = {.dev = dev};
    struct obj_list l = {0};
    remove_matching(ctx, match_device, &m, &l);
    bool idle = drain(dev, &l);
    if (idle) {
        if (l.n)
            qsort(l.v, l.n, sizeof(*l.v), by_rank);
        for (size_t i = 0; i < l.n; i++)
            pv_lifetime_destroy_host(dev, l.v[i]);
        /* Pooled fences are signalled and reset: nothing uses them. */
        for (uint32_t i = 0; i < dev->fence_pool_count; i++)
            dev->t.DestroyFence(dev->host, dev->fence_pool[i], NULL);
        pv_loader_lock();
        dev->t.DestroyDevice(dev->host, NULL);
        pv_loader_unlock();
    } else {
        leave_busy_device(ctx, dev, &l);
    }
    free_list(&l);
    struct pv_instance *inst = dev->inst;
    pthread_mutex_destroy(&dev->fence_pool_lock);
    free(dev);
    /* A device left busy keeps its instance for good: the driver's queue still uses it. */
    if (idle)
        pv_life_put(&inst->life);
}

void
pv_lifetime_adopt_fence(struct pv_ctx *ctx, struct pv_device *dev, VkFence fence)
{
    /*
     * Destroying a fence a queue may still signal is a use after free in
     * the driver. As a child of its device it is destroyed by the device's
     * teardown, after the queues are idle. Its id is one the renderer picks
     * from the top of the id space, where a client's ids seldom are.
     */
    struct pv_obj o = {.host = (uint64_t)(uintptr_t)fence, .type = VK_OBJECT_TYPE_FENCE,
                       .dev = dev, .life = &dev->life};
    for (uint64_t id = UINT64_MAX; id > UINT64_MAX - 4096; id--) {
        o.id = id;
        int err = pv_objtab_insert(&ctx->objs, &o);
        if (err != -EEXIST)
            return; /* kept, or (out of budget or memory) left to the driver: never freed early */
    }
}

void
pv_device_kill(struct pv_ctx *ctx, struct pv_device *dev)
{
    free(pv_objtab_remove(&ctx->objs, dev->id, VK_OBJECT_TYPE_DEVICE));
    pv_life_kill(&dev->life);
}

void
pv_instance_last(struct pv_life *life)
{
    struct pv_instance *inst =
        (struct pv_instance *)((char *)life - offsetof(struct pv_instance, life));
    pv_loader_lock();
    inst->t.DestroyInstance(inst->host, NULL);
    pv_loader_unlock();
    pthread_mutex_destroy(&inst->lock);
    free(inst->phys);
    free(inst->phys_ids);
    free(inst);
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
    pthread_mutex_lock(&ctx->lock);
    struct pv_instance *inst = ctx->instance;
    ctx->instance = NULL;
    pthread_mutex_unlock(&ctx->lock);

    struct match_args m = {.type = VK_OBJECT_TYPE_DEVICE};
    struct obj_list l = {0};
    remove_matching(ctx, match_type, &m, &l);
    for (size_t i = 0; i < l.n; i++)
        pv_life_kill(&l.v[i]->dev->life);
    free_list(&l);
    if (!inst)
        return;
    struct match_args mp = {.type = VK_OBJECT_TYPE_PHYSICAL_DEVICE};
    struct obj_list lp = {0};
    remove_matching(ctx, match_type, &mp, &lp);
    free_list(&lp);
    free(pv_objtab_remove(&ctx->objs, inst->id, VK_OBJECT_TYPE_INSTANCE));
    /* Goes when its last device has gone. */
    pv_life_kill(&inst->life);
}
