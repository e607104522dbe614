/*
 * gpu/venus/dispatch: internal interface between the stream loop, the
 * generic command path and the hand-written command handlers.
 *
 * A handler is called with the 8-byte command header already consumed. It
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
/* The device the client calls ID; NULL (and the stream failed) if none. */
struct pv_device *pv_dispatch_device(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id);
bool pv_dispatch_generic(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                         uint32_t flags);
/* The generic path in two halves, for handlers that adjust arguments in between. */
void *pv_dispatch_generic_decode(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                                 struct pv_obj **owner, const void **table);
bool pv_dispatch_generic_call(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                              uint32_t flags, struct pv_obj *owner, const void *table, void *args);
bool pv_dispatch_reply(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                       const void *args);
/* The object named by the next u64 of the stream (not consumed), or NULL + fatal. */
struct pv_obj *pv_dispatch_peek_object(struct pv_channel *ch, struct pv_cs_dec *dec,
                                       VkObjectType type);
/* The dispatch table to call `cmd` through, NULL when the host lacks the command. */
const void *pv_dispatch_table_for(struct pv_channel *ch, uint32_t cmd, struct pv_obj *obj);
/* Fills the has_cmd bitmap of an instance or device from its proc-address function. */
void pv_dispatch_probe_commands(uint8_t *has, bool device_level,
                                PFN_vkVoidFunction (*get)(void *, const char *), void *data);

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

/* Extensions the renderer provides itself (interop.c). */
uint32_t pv_interop_extension_count(void);
bool pv_interop_extension(uint32_t i, VkExtensionProperties *out);
bool pv_interop_is_emulated(const char *name);

/*
 * In a handler: decode the command's arguments into `a` (returning false
 * on a decode failure), and encode the reply when the client asked for one.
 */
#define ARGS(name)                                                                                 \
    struct pvg_args_##name *a = pv_dispatch_decode(dec, cmd);                                      \
    if (!a)                                                                                        \
    return false
#define REPLY() ((flags & VK_COMMAND_GENERATE_REPLY_BIT_EXT) ? pv_dispatch_reply(ch, dec, cmd, a) : true)

/* Handlers in other files. */
#define PV_DECLARE_HANDLER(name)                                                                   \
    bool pv_handle_##name(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,            \
                          uint32_t flags)

#endif /* PV_VENUS_DISPATCH_H */
