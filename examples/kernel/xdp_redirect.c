// SPDX-License-Identifier: MIT
/* Redirects from XDP: IPv4 frames to interface 7 with bpf_redirect, everything else with bpf_redirect_map through
 * slot 0 of a device map (XDP_PASS when the slot is empty). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return bpf_redirect(7, 0);
	return bpf_redirect_map(&ports, 0, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
