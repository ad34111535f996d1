/* Sums floor(log2(v)) over the buffer read as u64 values (branchy binary search, no count-leading-zeros). */
#include "workload.h"

INLINE u64 ilog2(u64 v)
{
    u64 r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}

WORKLOAD(log2)
{
    const u64 *values = (const u64 *)mem;
    u64 n = len / 8;
    u64 sum = 0;
    for (u64 i = 0; i < n; i++) {
        sum += ilog2(values[i]);
    }
    return sum;
}
