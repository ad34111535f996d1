/* A packet filter over a batch of 64-byte Ethernet frames (the buffer holds len/64 of them): counts the frames
 * that are IPv4 (optionally behind one 802.1Q tag), not fragments, TCP to port 80 or 443, from 10.0.0.0/8. */
#include "workload.h"

#define FRAME 64

INLINE u64 match(const u8 *f)
{
    u64 off = 12;
    u64 type = ((u64)f[off] << 8) | f[off + 1];
    if (type == 0x8100) {
        off += 4;
        type = ((u64)f[off] << 8) | f[off + 1];
    }
    if (type != 0x0800) {
        return 0;
    }
    const u8 *ip = f + off + 2;
    if ((ip[0] >> 4) != 4) {
        return 0;
    }
    u64 ihl = (u64)(ip[0] & 15) * 4;
    if (ihl < 20 || off + 2 + ihl + 4 > FRAME) {
        return 0;
    }
    if (ip[9] != 6) {
        return 0;
    }
    if ((((u64)ip[6] << 8) | ip[7]) & 0x3fff) {
        return 0;
    }
    if (ip[12] != 10) {
        return 0;
    }
    const u8 *tcp = ip + ihl;
    u64 port = ((u64)tcp[2] << 8) | tcp[3];
    return port == 80 || port == 443;
}

WORKLOAD(filter)
{
    u64 count = 0;
    for (u64 at = 0; at + FRAME <= len; at += FRAME) {
        count += match(mem + at);
    }
    return count;
}
