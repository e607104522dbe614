/*
 * gpu/venus/dispatch: internal interface between the stream loop, the
 * generic command path and the hand-written command handlers.
 *
 * A handler is called with the 8-byte command header already consumed and,
 * for a command with a dispatchable first argument, that object copied into
 * ch->owner and its device or instance pinned until the command ends. It
 * returns false (after pv_dispatch_fail or a failed decode) to make the
 * context fatal; Vulkan errors from the host are not failures, they go back
 * to the client in the reply.
 */
#ifndef PV_VENUS_DISPATCH_H
#define PV_VENUS_DISPATCH_H

#include "context.h"

typedef bool (*pv_dispatch_fn)(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                               uint32_t flags);

/* Hand-written handlers by command id; NULL entries take the generic path. */
extern const pv_dispatch_fn pv_dispatch_handlers[PVG_CMD_COUNT];

bool pv_dispatch_fail(struct pv_cs_dec *dec, const char *why);
/* The same with the kind of failure named; pv_dispatch_fail counts it as "refused". */
bool pv_dispatch_fail_as(struct pv_cs_dec *dec, enum pv_fatal_reason reason, const char *why);
/* The device the client calls ID, pinned for the command; NULL (and the stream failed) if none. */
struct pv_device *pv_dispatch_device(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id);
/* The instance of the command's owner (an instance or physical device); NULL + failed if none. */
struct pv_instance *pv_dispatch_instance(struct pv_channel *ch, struct pv_cs_dec *dec);
/* The object `id` of `type`, copied into *out and pinned for the command; false + failed if none. */
bool pv_dispatch_pin(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id, VkObjectType type,
                     struct pv_obj *out);
/* Records a created object; false + failed (the host object destroyed) when it cannot be. */
bool pv_dispatch_insert(struct pv_channel *ch, struct pv_cs_dec *dec, const struct pv_obj *obj);
bool pv_dispatch_generic(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                         uint32_t flags);
/* The generic path in two halves, for handlers that adjust arguments in between. */
void *pv_dispatch_generic_decode(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                                 const void **table);
bool pv_dispatch_generic_call(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                              uint32_t flags, const void *table, void *args);
bool pv_dispatch_reply(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                       const void *args);
/* The object named by the next u64 of the stream (not consumed), or NULL + fatal. */
struct pv_obj *pv_dispatch_peek_object(struct pv_channel *ch, struct pv_cs_dec *dec,
                                       VkObjectType type);
/* Fills the has_cmd bitmap of an instance or device from its loaded table
 * (struct pvg_instance_table or pvg_device_table): a command is there when
 * the host gave a function for any of its names (core, KHR, EXT). */
void pv_dispatch_probe_commands(uint8_t *has, bool device_level, const void *table);

/*
 * Creates `n` objects at once (command buffers, descriptor sets, pipelines):
 * checks every client id first, calls `call`, then records each host handle
 * with `parent` (the pool, or 0). `handles` holds the ids on entry and the
 * ids again on return (replies echo them). False after a stream failure.
 */
bool pv_dispatch_create_many(struct pv_channel *ch, struct pv_cs_dec *dec, struct pv_device *dev,
                             VkObjectType type, uint64_t parent, uint32_t n, uint64_t *handles,
                             VkResult (*call)(void *), void *call_data, VkResult *ret);
/*
 * For commands that free objects in bulk: decode with ids left as they are
 * (no lookup), so the handler knows which ids to forget, then translate each
 * id to its host handle itself, type-checked (0 stays 0). translate_array
 * keeps a copy of the ids in *ids_out (arena memory).
 */
void *pv_dispatch_decode_raw(struct pv_cs_dec *dec, uint32_t cmd);
bool pv_dispatch_translate(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t *handle,
                           VkObjectType type);
bool pv_dispatch_translate_array(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t *v,
                                 uint32_t n, VkObjectType type, uint64_t **ids_out);

/*
 * Host waits (sync.c), made in slices of PV_WAIT_SLICE_NS: the result of
 * the host call, VK_TIMEOUT once timeout_ns (UINT64_MAX: none) has passed,
 * or VK_ERROR_DEVICE_LOST as soon as pv_channel_alive(ch) is false (ch
 * NULL: only the timeout ends it). wait_queues waits until the work
 * submitted to each queue so far has finished.
 */
VkResult pv_sync_wait_fences(struct pv_channel *ch, struct pv_device *dev, uint32_t n,
                             const VkFence *fences, VkBool32 wait_all, uint64_t timeout_ns);
VkResult pv_sync_wait_queues(struct pv_channel *ch, struct pv_device *dev,
                             struct pv_queue *const *queues, uint32_t n, uint64_t timeout_ns);

/* Objects freed with their pool or in bulk (lifetime.c): the host frees them itself. */
void pv_lifetime_forget_ids(struct pv_ctx *ctx, VkObjectType type, uint32_t n, const uint64_t *ids);
void pv_lifetime_forget_children(struct pv_ctx *ctx, VkObjectType type, uint64_t parent);
/* Destroys the host object of a device child (lifetime.c). */
void pv_lifetime_destroy_host(struct pv_device *dev, const struct pv_obj *o);

/*
 * Device extensions (instance.c): those our decoders know (NULL: unknown),
 * and those known but never passed on from the host (fd-based fence export,
 * and what interop.c provides itself).
 */
const struct pvg_extension *pv_instance_extension_known(const char *name);
bool pv_instance_extension_hidden(const char *name);

/* Decodes the arguments of `cmd` into arena memory; NULL after a failure. */
static inline void *
pv_dispatch_decode(struct pv_cs_dec *dec, uint32_t cmd)
{
    const struct pvg_command_info *info = &pvg_command_infos[cmd];
    void *args = pv_cs_dec_alloc(dec, 1, info->args_size);
    if (!args || !info->decode_args(dec, args) || *dec->fatal)
        return NULL;
    return args;
}

/*
 * Unlinking structs the host must not see from a decoded pNext chain, and
 * putting them back where they were before the reply is encoded (the client
 * expects its own chain, in its order). Decoded chains live in the channel's
 * arena, so rewriting them is ours to do. Restore in the reverse order of
 * the takes.
 */
struct pv_chain_hole {
    VkBaseOutStructure **link;
    VkBaseOutStructure *s;
};

static inline void *
pv_chain_take(const void *const *pnext, VkStructureType type, struct pv_chain_hole *hole)
{
    hole->link = NULL;
    hole->s = NULL;
    for (VkBaseOutStructure **pp = (VkBaseOutStructure **)pnext; *pp; pp = &(*pp)->pNext) {
        if ((*pp)->sType == type) {
            hole->link = pp;
            hole->s = *pp;
            *pp = hole->s->pNext;
            return hole->s;
        }
    }
    return NULL;
}

static inline void
pv_chain_restore(struct pv_chain_hole *hole)
{
    if (!hole->s)
        return;
    hole->s->pNext = *hole->link;
    *hole->link = hole->s;
    hole->s = NULL;
}

/*
 * In a handler: decode the command's arguments into `a` (returning false
 * on a decode failure), and encode the reply when the client asked for one.
 */
#define ARGS(name)                                                                                 \
    struct pvg_args_##name *a = pv_dispatch_decode(dec, cmd);                                      \
    if (!a)                                                                                        \
    return false
#define REPLY() ((flags & VK_COMMAND_GENERATE_REPLY_BIT_EXT) ? pv_dispatch_reply(ch, dec, cmd, a) : true)

/*
 * In a handler that adjusts a command's arguments and then lets the generic
 * path call the host: decode into `a` through pv_dispatch_generic_decode(),
 * keeping the table that GENERIC_CALL() hands back to it; `owner` is the
 * command's pinned dispatchable object.
 */
#define GENERIC_ARGS(name)                                                                         \
    const struct pv_obj *owner = &ch->owner;                                                       \
    (void)owner;                                                                                   \
    const void *table;                                                                             \
    struct pvg_args_##name *a = pv_dispatch_generic_decode(ch, dec, cmd, &table);                 \
    if (!a)                                                                                        \
    return false
#define GENERIC_CALL(flags) pv_dispatch_generic_call(ch, dec, cmd, (flags), table, a)

/*
 * The signature of every hand-written handler. Each lives in the file of its
 * Vulkan object family (instance.c, device.c, memory.c, ...); handlers.c
 * lists them all.
 */
#define PV_DECLARE_HANDLER(name)                                                                   \
    bool pv_handle_##name(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,            \
                          uint32_t flags)

#endif /* PV_VENUS_DISPATCH_H */
