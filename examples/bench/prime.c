/* Counts the primes below n by trial division; n is the u32 at offset 0. Loop-heavy, division-bound. */
#include "workload.h"

WORKLOAD(prime)
{
    u32 n = *(u32 *)mem;
    u32 count = 0;
    for (u32 i = 2; i < n; i++) {
        u32 prime = 1;
        for (u32 d = 2; d * d <= i; d++) {
            if (i % d == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}
