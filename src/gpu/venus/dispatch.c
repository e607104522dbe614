/*
 * gpu/venus/dispatch: decodes Venus commands and runs them on the host.
 *
 * Most commands go through one generic path driven by the generated command
 * table: decode (ids become host handles, type-checked), call the host
 * driver through the owning instance's or device's dispatch table, record
 * created objects, forget destroyed ones, encode the reply when asked. The
 * commands that need policy (instance and device creation, queues, memory,
 * pools, extension filtering, the emulated interop) have hand-written
 * handlers instead, listed in handlers.c and kept in the file of their
 * object family; this file also holds the pieces those handlers share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "context.h"
#include "dispatch.h"
#include "log.h"

bool
pv_dispatch_fail(struct pv_cs_dec *dec, const char *why)
{
    pv_cs_dec_set_fatal_as(dec, PV_FATAL_REFUSED, why);
    return false;
}

bool
pv_dispatch_fail_as(struct pv_cs_dec *dec, enum pv_fatal_reason reason, const char *why)
{
    pv_cs_dec_set_fatal_as(dec, reason, why);
    return false;
}

/* ---- objects a command uses: copied out, their device or instance pinned ---- */

bool
pv_channel_pin(struct pv_channel *ch, struct pv_life *life)
{
    if (ch->npins == PV_CHANNEL_PINS)
        return false;
    ch->pins[ch->npins++] = life;
    return true;
}

void
pv_channel_unpin_to(struct pv_channel *ch, unsigned mark)
{
    /* The last reference runs the teardown of what the client destroyed meanwhile. */
    while (ch->npins > mark)
        pv_life_put(ch->pins[--ch->npins]);
}

bool
pv_dispatch_pin(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id, VkObjectType type,
                struct pv_obj *out)
{
    if (!pv_objtab_pin(&ch->ctx->objs, id, type, out))
        return pv_dispatch_fail_as(dec, PV_FATAL_OBJECT, "unknown object id, wrong object type "
                                   "or a destroyed device's object");
    if (out->life && !pv_channel_pin(ch, out->life)) {
        pv_life_put(out->life);
        return pv_dispatch_fail_as(dec, PV_FATAL_LIMIT, "a command names too many devices");
    }
    return true;
}

struct pv_device *
pv_dispatch_device(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t id)
{
    if (ch->owner.type == VK_OBJECT_TYPE_DEVICE && ch->owner.id == id)
        return ch->owner.dev;
    struct pv_obj o;
    if (!pv_dispatch_pin(ch, dec, id, VK_OBJECT_TYPE_DEVICE, &o))
        return NULL;
    return o.dev;
}

struct pv_instance *
pv_dispatch_instance(struct pv_channel *ch, struct pv_cs_dec *dec)
{
    VkObjectType t = ch->owner.type;
    if (t != VK_OBJECT_TYPE_INSTANCE && t != VK_OBJECT_TYPE_PHYSICAL_DEVICE) {
        pv_dispatch_fail(dec, "no instance");
        return NULL;
    }
    return ch->owner.priv;
}

bool
pv_dispatch_insert(struct pv_channel *ch, struct pv_cs_dec *dec, const struct pv_obj *obj)
{
    int err = pv_objtab_insert(&ch->ctx->objs, obj);
    if (!err)
        return true;
    /* The host made it; nothing would ever destroy it. */
    if (obj->dev)
        pv_lifetime_destroy_host(obj->dev, obj);
    if (err == -ENOSPC)
        return pv_dispatch_fail_as(dec, PV_FATAL_LIMIT, "the context holds its budget of "
                                   "objects (PV_CTX_MAX_OBJECTS)");
    if (err == -EEXIST)
        return pv_dispatch_fail(dec, "object id is 0 or already in use");
    return pv_dispatch_fail(dec, "out of memory for the object table");
}

/* ---- replies ---- */

bool
pv_dispatch_reply(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd, const void *args)
{
    const struct pvg_command_info *info = &pvg_command_infos[cmd];
    struct pv_reply_stream *rs = &ch->reply;
    if (!rs->res)
        return pv_dispatch_fail(dec, "reply requested but no reply stream is set");
    bool enc_fatal = false;
    struct pv_cs_enc enc = {rs->base + rs->pos, rs->base + rs->size, &enc_fatal};
    if (!info->encode_reply(&enc, args) || enc_fatal) {
        if (pv_log_enabled(PV_LOG_DEBUG)) {
            /* How much the reply needed, to tell a short stream from a wrong encoding. */
            size_t cap = 1u << 20;
            uint8_t *scratch = malloc(cap);
            bool f = false;
            struct pv_cs_enc probe = {scratch, scratch + (scratch ? cap : 0), &f};
            if (scratch)
                info->encode_reply(&probe, args);
            size_t need = (size_t)(probe.cur - scratch);
            free(scratch);
            pv_dbg("venus", "%s reply needs %zu bytes, stream has %llu at %llu", info->name,
                   need, (unsigned long long)rs->size,
                   (unsigned long long)rs->pos);
            if (cmd == PVG_CMD_vkGetPhysicalDeviceFeatures2) {
                const struct pvg_args_vkGetPhysicalDeviceFeatures2 *a = args;
                for (const VkBaseOutStructure *s = a->pFeatures ? a->pFeatures->pNext : NULL; s;
                     s = s->pNext)
                    pv_dbg("venus", "  chain sType %d", s->sType);
            }
        }
        return pv_dispatch_fail(dec, "reply does not fit in the reply stream");
    }
    rs->pos = (uint64_t)(enc.cur - rs->base);
    return true;
}

/* ---- the generic path ---- */

/*
 * The command's dispatchable object, named by the next u64 of the stream
 * (not consumed): copied into ch->owner, its device or instance pinned
 * until the command ends.
 */
static bool
pin_owner(struct pv_channel *ch, struct pv_cs_dec *dec, VkObjectType type)
{
    uint64_t id;
    if (!pv_cs_dec_peek(dec, &id, sizeof(id)))
        return false;
    if (!pv_objtab_pin(&ch->ctx->objs, id, type, &ch->owner)) {
        ch->owner.type = VK_OBJECT_TYPE_UNKNOWN;
        return pv_dispatch_fail_as(dec, PV_FATAL_OBJECT, "invalid dispatchable handle");
    }
    if (ch->owner.life && !pv_channel_pin(ch, ch->owner.life)) {
        pv_life_put(ch->owner.life);
        ch->owner.type = VK_OBJECT_TYPE_UNKNOWN;
        return pv_dispatch_fail_as(dec, PV_FATAL_LIMIT, "a command names too many devices");
    }
    return true;
}

/* The dispatch table to call `cmd` through, NULL when the host lacks the command. */
static const void *
table_for(uint32_t cmd, const struct pv_obj *owner)
{
    const uint8_t *has;
    const void *table;
    if (pvg_command_infos[cmd].device_level) {
        if (!owner->dev)
            return NULL;
        has = owner->dev->has_cmd;
        table = &owner->dev->t;
    } else {
        /* Instance-level objects keep their (pinned) instance in priv. */
        const struct pv_instance *inst = owner->priv;
        if (owner->dev || !inst)
            return NULL;
        has = inst->has_cmd;
        table = &inst->t;
    }
    return (has[cmd / 8] >> (cmd % 8)) & 1 ? table : NULL;
}

void
pv_dispatch_probe_commands(uint8_t *has, bool device_level, const void *table)
{
    for (uint32_t cmd = 0; cmd < PVG_CMD_COUNT; cmd++) {
        const struct pvg_command_info *info = &pvg_command_infos[cmd];
        PFN_vkVoidFunction f = NULL;
        if (info->name && info->call && info->device_level == device_level &&
            info->dispatch_type != VK_OBJECT_TYPE_UNKNOWN)
            memcpy(&f, (const char *)table + info->table_offset, sizeof(f));
        if (f)
            has[cmd / 8] |= (uint8_t)(1u << (cmd % 8));
    }
}

bool
pv_dispatch_generic(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd, uint32_t flags)
{
    const void *table;
    void *args = pv_dispatch_generic_decode(ch, dec, cmd, &table);
    return args && pv_dispatch_generic_call(ch, dec, cmd, flags, table, args);
}

void *
pv_dispatch_generic_decode(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                           const void **table_out)
{
    const struct pvg_command_info *info = &pvg_command_infos[cmd];
    if (!info->call || info->dispatch_type == VK_OBJECT_TYPE_UNKNOWN) {
        pv_dispatch_fail_as(dec, PV_FATAL_UNSUPPORTED, "command not supported by the renderer");
        return NULL;
    }
    const struct pv_obj *owner = &ch->owner;
    if (owner->type != info->dispatch_type) {
        pv_dispatch_fail(dec, "invalid dispatchable handle");
        return NULL;
    }
    const void *table = table_for(cmd, owner);
    if (!table) {
        pv_dispatch_fail_as(dec, PV_FATAL_UNSUPPORTED, "command the host driver does not offer");
        return NULL;
    }
    void *args = pv_dispatch_decode(dec, cmd);
    /*
     * The dispatchable handle was peeked before decoding to pick the table;
     * the decoded handle (the first argument) must still be that object.
     */
    uint64_t first;
    if (args) {
        memcpy(&first, args, sizeof(first));
        if (first != owner->host) {
            pv_dispatch_fail_as(dec, PV_FATAL_DECODE, "the command changed while it was decoded");
            return NULL;
        }
    }
    *table_out = table;
    return args;
}

bool
pv_dispatch_generic_call(struct pv_channel *ch, struct pv_cs_dec *dec, uint32_t cmd,
                         uint32_t flags, const void *table, void *args)
{
    const struct pvg_command_info *info = &pvg_command_infos[cmd];
    struct pv_ctx *ctx = ch->ctx;
    const struct pv_obj *owner = &ch->owner;
    uint64_t new_id = 0;
    uint64_t *new_slot = NULL;
    if (info->created_type != VK_OBJECT_TYPE_UNKNOWN) {
        new_slot = *(uint64_t **)((uint8_t *)args + info->created_ptr_offset);
        if (!new_slot)
            return pv_dispatch_fail_as(dec, PV_FATAL_DECODE, "missing output handle");
        new_id = *new_slot;
        if (!new_id || pv_objtab_contains(&ctx->objs, new_id))
            return pv_dispatch_fail_as(dec, PV_FATAL_OBJECT, "object id is 0 or already in use");
        *new_slot = 0;
    }

    info->call(table, args);

    /* A failed creation leaves the handle VK_NULL_HANDLE (we cleared it). */
    if (new_slot && *new_slot) {
        struct pv_obj obj = {.id = new_id, .host = *new_slot, .type = info->created_type,
                             .dev = owner->dev, .life = owner->life};
        if (!pv_dispatch_insert(ch, dec, &obj))
            return false;
    }
    if (new_slot)
        *new_slot = new_id; /* replies echo the client's id */
    if (info->destroyed_type != VK_OBJECT_TYPE_UNKNOWN) {
        uint64_t id = *(uint64_t *)((uint8_t *)args + info->destroyed_id_offset);
        free(pv_objtab_remove(&ctx->objs, id, info->destroyed_type));
    }
    if (flags & VK_COMMAND_GENERATE_REPLY_BIT_EXT)
        return pv_dispatch_reply(ch, dec, cmd, args);
    return true;
}

/* ---- helpers for handlers that create or free objects in bulk ---- */

static int
cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

bool
pv_dispatch_create_many(struct pv_channel *ch, struct pv_cs_dec *dec, struct pv_device *dev,
                        VkObjectType type, uint64_t parent, uint32_t n, uint64_t *handles,
                        VkResult (*call)(void *), void *call_data, VkResult *ret)
{
    uint64_t *ids = pv_cs_dec_alloc(dec, n, sizeof(uint64_t));
    uint64_t *sorted = pv_cs_dec_alloc(dec, n, sizeof(uint64_t));
    if (n && (!ids || !sorted))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = sorted[i] = handles[i];
        if (!ids[i] || pv_objtab_contains(&ch->ctx->objs, ids[i]))
            return pv_dispatch_fail(dec, "object id is 0 or already in use");
        handles[i] = 0;
    }
    /* n comes from the client: a repeat is found in O(n log n), not by comparing all pairs. */
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    for (uint32_t i = 1; i < n; i++)
        if (sorted[i] == sorted[i - 1])
            return pv_dispatch_fail(dec, "object id repeated");
    *ret = call(call_data);
    bool ok = true;
    struct pv_life *life = dev ? &dev->life : NULL;
    for (uint32_t i = 0; i < n; i++) {
        /* Pipelines may be created partially: record those that exist. */
        if (handles[i] && *ret >= 0) {
            struct pv_obj obj = {.id = ids[i], .host = handles[i], .type = type, .dev = dev,
                                 .life = life, .parent = parent};
            if (ok)
                ok = pv_dispatch_insert(ch, dec, &obj);
            else if (dev)
                pv_lifetime_destroy_host(dev, &obj);
        }
        handles[i] = ids[i];
    }
    return ok;
}

void *
pv_dispatch_decode_raw(struct pv_cs_dec *dec, uint32_t cmd)
{
    pv_cs_lookup_fn lookup = dec->lookup;
    dec->lookup = NULL;
    void *args = pv_dispatch_decode(dec, cmd);
    dec->lookup = lookup;
    return args;
}

bool
pv_dispatch_translate(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t *handle,
                      VkObjectType type)
{
    if (!*handle)
        return true;
    if (!pv_objtab_lookup_host(&ch->ctx->objs, *handle, type, handle))
        return pv_dispatch_fail(dec, "invalid object id");
    return true;
}

bool
pv_dispatch_translate_array(struct pv_channel *ch, struct pv_cs_dec *dec, uint64_t *v, uint32_t n,
                            VkObjectType type, uint64_t **ids_out)
{
    uint64_t *ids = pv_cs_dec_alloc(dec, n, sizeof(*ids));
    if (n && !ids)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = v[i];
        if (!pv_dispatch_translate(ch, dec, &v[i], type))
            return false;
    }
    *ids_out = ids;
    return true;
}

/* ---- the stream loop ---- */

bool
pv_venus_dispatch_stream(struct pv_channel *ch, const void *data, size_t size,
                         void (*progress)(struct pv_channel *, size_t consumed))
{
    struct pv_ctx *ctx = ch->ctx;
    bool fatal = false;
    struct pv_cs_dec dec;
    pv_cs_dec_init(&dec, data, size, &fatal, &ch->arena);
    dec.lookup = pv_objtab_lookup_host;
    dec.lookup_data = &ctx->objs;

    while (pv_cs_dec_remaining(&dec) && !fatal) {
        int32_t cmd = -1;
        uint32_t flags = 0;
        if (!pv_cs_dec_read(&dec, &cmd, 4) || !pv_cs_dec_read(&dec, &flags, 4))
            break;
        bool ok;
        /* An indirect stream runs inside a command of this channel: keep its state. */
        unsigned mark = ch->npins;
        struct pv_obj outer = ch->owner;
        ch->owner = (struct pv_obj){.type = VK_OBJECT_TYPE_UNKNOWN};
        if (cmd < 0 || cmd >= PVG_CMD_COUNT || !pvg_command_infos[cmd].name) {
            ok = pv_dispatch_fail_as(&dec, PV_FATAL_UNSUPPORTED, "unknown command type");
        } else {
            PV_STAT_ADD(ctx->r, commands[cmd], 1);
            VkObjectType owner_type = pvg_command_infos[cmd].dispatch_type;
            pv_dispatch_fn fn = pv_dispatch_handlers[cmd];
            uint64_t t0 = ctx->r->profile_commands || ch->trace ? pv_clock_now_ns() : 0;
            ok = owner_type == VK_OBJECT_TYPE_UNKNOWN || pin_owner(ch, &dec, owner_type);
            if (ok)
                ok = fn ? fn(ch, &dec, (uint32_t)cmd, flags)
                        : pv_dispatch_generic(ch, &dec, (uint32_t)cmd, flags);
            if (t0) {
                uint64_t t1 = pv_clock_now_ns();
                if (ctx->r->profile_commands)
                    PV_STAT_ADD(ctx->r, command_ns[cmd], t1 - t0);
                pv_trace_span(ch->trace, t0, t1, pvg_command_infos[cmd].name, flags);
            }
        }
        pv_channel_unpin_to(ch, mark);
        ch->owner = outer;
        pv_arena_reset(&ch->arena);
        if (!ok || fatal || pv_ctx_is_fatal(ctx)) {
            fatal = true;
            char why[160];
            const char *name = cmd >= 0 && cmd < PVG_CMD_COUNT ? pvg_command_infos[cmd].name : NULL;
            snprintf(why, sizeof(why), "%s (command type %d, offset %zu): %s",
                     name ? name : "unknown command", cmd,
                     (size_t)(dec.cur - (const uint8_t *)data),
                     dec.fatal_reason ? dec.fatal_reason : "failed");
            if (!pv_ctx_is_fatal(ctx))
                pv_ctx_fatal(ctx, dec.fatal_kind, why);
            break;
        }
        if (progress)
            progress(ch, (size_t)(dec.cur - (const uint8_t *)data));
    }
    return !fatal;
}
