// SPDX-License-Identifier: MIT
/* bpf_ktime_get_ns, whose values cannot match the kernel's: what can be checked is kept as bits of the verdict (the
 * first value is not 0, the second is not below the first, the two are less than a second apart, a run's first value
 * is not below the previous run's last, kept in an array map). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last SEC(".maps");

SEC("xdp")
int xdp_ktime(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *previous = bpf_map_lookup_elem(&last, &zero);
	__u64 first = bpf_ktime_get_ns();
	__u64 second = bpf_ktime_get_ns();
	int bits = 0;

	if (!previous)
		return XDP_ABORTED;
	if (first != 0)
		bits |= 1;
	if (second >= first)
		bits |= 2;
	if (second - first < 1000000000ULL)
		bits |= 4;
	if (first >= *previous)
		bits |= 8;
	*previous = second;
	return bits << 4 | XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
