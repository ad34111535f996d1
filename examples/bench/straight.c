/* A small straight-line program: four SipHash-style rounds over the first 32 bytes. No loops, no branches. */
#include "workload.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define ROUND(a, b, c, d)                \
    do {                                 \
        a += b; b = ROTL(b, 13); b ^= a; \
        a = ROTL(a, 32);                 \
        c += d; d = ROTL(d, 16); d ^= c; \
        a += d; d = ROTL(d, 21); d ^= a; \
        c += b; b = ROTL(b, 17); b ^= c; \
        c = ROTL(c, 32);                 \
    } while (0)

WORKLOAD(straight)
{
    const u64 *p = (const u64 *)mem;
    u64 a = p[0] ^ 0x736f6d6570736575ULL;
    u64 b = p[1] ^ 0x646f72616e646f6dULL;
    u64 c = p[2] ^ 0x6c7967656e657261ULL;
    u64 d = p[3] ^ 0x7465646279746573ULL;
    ROUND(a, b, c, d);
    ROUND(a, b, c, d);
    ROUND(a, b, c, d);
    ROUND(a, b, c, d);
    return a ^ b ^ c ^ d ^ len;
}
