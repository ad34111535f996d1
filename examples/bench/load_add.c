/* Two loads and an add: the sum of the first two u64 values of the buffer (four eBPF instructions). */
#include "workload.h"

WORKLOAD(load_add)
{
    (void)len;
    const u64 *values = (const u64 *)mem;
    return values[0] + values[1];
}
