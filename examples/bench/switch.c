/* A 16-way switch over every byte of the buffer, updating an accumulator (a tiny bytecode loop). */
#include "workload.h"

WORKLOAD(switch)
{
    u64 acc = 0;
    for (u64 i = 0; i < len; i++) {
        u8 op = mem[i];
        switch (op & 15) {
        case 0: acc += 1; break;
        case 1: acc ^= 0x5a5a; break;
        case 2: acc *= 3; break;
        case 3: acc -= 7; break;
        case 4: acc = (acc << 1) | (acc >> 63); break;
        case 5: acc += i; break;
        case 6: acc |= 0x100; break;
        case 7: acc &= ~(u64)0xff; break;
        case 8: acc >>= 3; break;
        case 9: acc += op; break;
        case 10: acc ^= i << 4; break;
        case 11: acc = ~acc; break;
        case 12: acc += 0x12345; break;
        case 13: acc = acc * 5 + 1; break;
        case 14: acc -= i; break;
        default: acc ^= acc >> 7; break;
        }
    }
    return acc;
}
