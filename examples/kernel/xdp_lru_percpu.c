// SPDX-License-Identifier: MIT
/* An LRU per-CPU hash from XDP: packets and bytes per IPv4 source address, counted in the value of the CPU the program
 * runs on (bpf_get_smp_processor_id is kept in the value too), so a run on CPU 1 leaves CPU 0's values alone. */
#include "common.h"

struct counters {
	__u64 packets;
	__u64 bytes;
	__u32 cpu;
	__u32 seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 8);
	__type(key, __be32);
	__type(value, struct counters);
} per_source SEC(".maps");

SEC("xdp")
int xdp_lru_percpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct counters *c, fresh = {};

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&per_source, &ip->saddr);
	if (c) {
		c->packets++;
		c->bytes += data_end - data;
		c->cpu = bpf_get_smp_processor_id();
		c->seen++;
		return XDP_TX;
	}
	fresh.packets = 1;
	fresh.bytes = data_end - data;
	fresh.cpu = bpf_get_smp_processor_id();
	bpf_map_update_elem(&per_source, &ip->saddr, &fresh, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
