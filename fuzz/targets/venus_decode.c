/*
 * fuzz/venus_decode: every generated Venus decoder, fed arbitrary streams.
 *
 * The input is a Venus command stream. Each command is decoded with the
 * generated decoder for its id (ids pass through without a table, so every
 * path below the handle lookups is reached) and, when it decodes, its reply
 * is encoded into a bounded buffer. Neither may read or write out of bounds
 * or allocate without limit, whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cs.h"
#include "pvg.gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pv_arena arena;
    pv_arena_init(&arena, 16u << 20);
    static uint8_t reply[64 * 1024];
    bool fatal = false;
    struct pv_cs_dec dec;
    pv_cs_dec_init(&dec, data, size, &fatal, &arena);
    while (pv_cs_dec_remaining(&dec) >= 8 && !fatal) {
        int32_t cmd;
        uint32_t flags;
        pv_cs_dec_read(&dec, &cmd, 4);
        pv_cs_dec_read(&dec, &flags, 4);
        if (cmd < 0 || cmd >= PVG_CMD_COUNT || !pvg_command_infos[cmd].name)
            break;
        const struct pvg_command_info *info = &pvg_command_infos[cmd];
        /* Named but not decodable (e.g. vkCmdPushDescriptorSetWithTemplate):
         * the renderer refuses these before decoding, and so do we. */
        if (!info->decode_args)
            break;
        void *args = pv_cs_dec_alloc(&dec, 1, info->args_size);
        if (!args || !info->decode_args(&dec, args) || fatal)
            break;
        if (info->encode_reply) {
            bool enc_fatal = false;
            struct pv_cs_enc enc = {reply, reply + sizeof(reply), &enc_fatal};
            info->encode_reply(&enc, args);
        }
        pv_arena_reset(&arena);
    }
    pv_arena_fini(&arena);
    return 0;
}
