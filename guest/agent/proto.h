/*
 * guest/agent/proto: the wire format between `pearvisor` on the host and
 * pv-init, our agent in the guest, over one virtio-serial port named
 * PV_AGENT_PORT (QEMU connects it to a Unix socket on the host).
 *
 * Every message is a 12-byte header and a payload of at most
 * PV_AGENT_MAX_PAYLOAD bytes; integers are little endian. The host sends
 * requests with a fresh id; every reply carries the id of its request, so a
 * host that reconnects ignores replies meant for an earlier client.
 *
 *   host -> guest                      guest -> host
 *   PING  (empty)                      READY (empty): the agent is up
 *   EXEC  argv, each NUL-terminated    OUT/ERR chunks, then EXIT (int32 status:
 *                                      exit code, or 128 + signal number)
 *   POWEROFF (empty)                   DONE (empty), then the guest shuts down
 *
 * Shared by the host (src/vm/agent.c) and the guest (guest/agent/pv-init.c);
 * both treat the other side's bytes as untrusted: length-checked, unknown
 * types ignored.
 */
#ifndef PV_AGENT_PROTO_H
#define PV_AGENT_PROTO_H

#include <stdint.h>

#define PV_AGENT_PORT "org.pearvisor.agent.0"
#define PV_AGENT_MAGIC0 'P'
#define PV_AGENT_MAGIC1 'V'
#define PV_AGENT_MAX_PAYLOAD 65536u

enum pv_agent_type {
    PV_AGENT_PING = 'p',
    PV_AGENT_EXEC = 'x',
    PV_AGENT_POWEROFF = 'o',
    PV_AGENT_READY = 'R',
    PV_AGENT_OUT = 'O',
    PV_AGENT_ERR = 'E',
    PV_AGENT_EXIT = 'X',
    PV_AGENT_DONE = 'D',
};

struct pv_agent_hdr {
    uint8_t magic[2];
    uint8_t type;
    uint8_t flags; /* 0 */
    uint32_t id;   /* little endian */
    uint32_t len;  /* little endian; payload bytes that follow */
};
_Static_assert(sizeof(struct pv_agent_hdr) == 12, "agent header is 12 bytes on the wire");

static inline uint32_t
pv_agent_le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

#endif /* PV_AGENT_PROTO_H */
