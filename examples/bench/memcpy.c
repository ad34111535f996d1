/* Copies the first half of the buffer into the second half, one byte at a time. */
#include "workload.h"

WORKLOAD(memcpy)
{
    u64 half = len / 2;
    u8 *src = mem;
    u8 *dst = mem + half;
    for (u64 i = 0; i < half; i++) {
        dst[i] = src[i];
    }
    return dst[half - 1] + half;
}
