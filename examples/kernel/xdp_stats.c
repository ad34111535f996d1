// SPDX-License-Identifier: MIT
/* Per-CPU and LRU statistics from XDP: frames and bytes per EtherType class in a per-CPU array, and per IPv4 source
 * address in an LRU hash of two entries (a third source evicts the least recently used). */
#include "common.h"

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct counters);
} per_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2);
	__type(key, __be32);
	__type(value, struct counters);
} per_source SEC(".maps");

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 class = 0, bytes = data_end - data;
	struct counters *c, fresh = { 1, 0 };

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		class = 1;
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		class = 2;
	c = bpf_map_lookup_elem(&per_class, &class);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	if (class != 1 || (void *)(ip + 1) > data_end)
		return XDP_PASS;
	c = bpf_map_lookup_elem(&per_source, &ip->saddr);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, bytes);
	} else {
		fresh.bytes = bytes;
		bpf_map_update_elem(&per_source, &ip->saddr, &fresh, BPF_NOEXIST);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
