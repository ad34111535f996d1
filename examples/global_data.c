/*
 * Global data and a local function: computes a weighted byte sum of the packet in a non-inlined function of
 * .text (a BPF-to-BPF call). The weights come from a read-only table (.rodata), the number of runs is kept in
 * .data (initialised to 100), and the largest sum seen so far in .bss (zero-initialised). Returns the sum.
 */
#include "bpf_defs.h"

static const __u8 weights[4] = { 1, 2, 3, 4 };
__u64 runs = 100;
__u64 largest_sum;

__noinline __u64 weighted_sum(const __u8 *bytes, __u64 count)
{
    __u64 sum = 0;
    for (__u64 i = 0; i < count && i < 256; i++)
        sum += (__u64)bytes[i] * weights[i & 3];
    return sum;
}

SEC("socket")
int global_data(PACKET_ARGS)
{
    __u64 sum = weighted_sum(data, len);
    runs++;
    if (sum > largest_sum)
        largest_sum = sum;
    return (int)sum;
}

char _license[] SEC("license") = "GPL";
