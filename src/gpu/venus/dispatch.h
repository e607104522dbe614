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
bool pv_dispatch_generic(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                         uint32_t flags);
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

/* Handlers in other files. */
#define PV_DECLARE_HANDLER(name)                                                                   \
    bool pv_handle_##name(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,            \
                          uint32_t flags)

#endif /* PV_VENUS_DISPATCH_H */
