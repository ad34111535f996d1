/* A loop of 1,024 calls to a trivial helper (r0 = r1 * 3 + r2), each depending on the one before. The eBPF build
 * calls helper id 1, which the benchmark host registers; the native build calls the driver's function instead. */
#include "workload.h"

#ifdef __bpf__
static u64 (*bench_trivial)(u64 a, u64 b) = (void *)1;
#else
u64 bench_trivial(u64 a, u64 b);
#endif

WORKLOAD(helper_calls)
{
    u64 acc = len;
    for (u64 i = 0; i < 1024; i++) {
        acc = bench_trivial(acc, i);
    }
    return acc;
}
