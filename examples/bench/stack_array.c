/* Local functions over a 64-byte array on the caller's stack, indexed by a loop variable: for each 64-byte block of
 * the buffer, one function copies the block into the array with a stride that is not a constant offset, another
 * mixes the array back in a scattered order. Every array access is a stack access with a computed offset, and the
 * callees reach the array through a pointer into their caller's frame. */
#include "workload.h"

#define BLOCK 64

static __attribute__((noinline)) void load_block(u8 *array, const u8 *block, u64 stride)
{
    for (u64 i = 0; i < BLOCK; i++) {
        array[(i * stride) & (BLOCK - 1)] = block[i];
    }
}

static __attribute__((noinline)) u64 mix_block(const u8 *array, u64 seed)
{
    u64 h = seed;
    for (u64 i = 0; i < BLOCK; i++) {
        h = (h ^ array[(i * 13 + seed) & (BLOCK - 1)]) * 0x100000001b3ULL;
    }
    return h;
}

WORKLOAD(stack_array)
{
    u8 array[BLOCK];
    u64 h = 0xcbf29ce484222325ULL;
    for (u64 at = 0; at + BLOCK <= len; at += BLOCK) {
        load_block(array, mem + at, (at / BLOCK) * 2 + 1);
        h = mix_block(array, h);
    }
    return h;
}
