// SPDX-License-Identifier: MIT
/* A tail-call chain through a program array libbpf fills at load time (BTF .values): xdp_tail counts the frame and
 * jumps to stage 0 (tail_l3), which parses Ethernet, VLAN and IPv4 and jumps to stage 1 (tail_l4) for TCP and UDP
 * or to the empty stage 2 for ICMP, where the tail call fails and tail_l3 carries on. tail_l4 drops TCP and UDP to
 * port 9999. The visits array counts the programs each frame went through. */
#include "common.h"

enum { VISIT_ENTRY, VISIT_L3, VISIT_L4, VISIT_FALLTHROUGH, VISITS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VISITS);
	__type(key, __u32);
	__type(value, __u64);
} visits SEC(".maps");

static __always_inline void visit(__u32 what)
{
	__u64 *count = bpf_map_lookup_elem(&visits, &what);

	if (count)
		(*count)++;
}

/* The IPv4 header after Ethernet and VLAN tags, or NULL. */
static __always_inline struct iphdr *ipv4_header(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = 0, vlans;
	struct iphdr *ip;

	if (parse_ethernet(data, data_end, &l3, &vlans) != bpf_htons(ETH_P_IP))
		return NULL;
	ip = data + l3;
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return NULL;
	return ip;
}

int tail_l3(struct xdp_md *ctx);
int tail_l4(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} stages SEC(".maps") = {
	.values = {
		[0] = (void *)&tail_l3,
		[1] = (void *)&tail_l4,
	},
};

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	visit(VISIT_ENTRY);
	bpf_tail_call(ctx, &stages, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int tail_l3(struct xdp_md *ctx)
{
	struct iphdr *ip;

	visit(VISIT_L3);
	ip = ipv4_header(ctx);
	if (!ip)
		return XDP_PASS;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP)
		bpf_tail_call(ctx, &stages, 1);
	else if (ip->protocol == IPPROTO_ICMP)
		bpf_tail_call(ctx, &stages, 2);
	visit(VISIT_FALLTHROUGH);
	return XDP_TX;
}

SEC("xdp")
int tail_l4(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip;
	struct udphdr *ports;

	visit(VISIT_L4);
	ip = ipv4_header(ctx);
	if (!ip)
		return XDP_ABORTED;
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 1) > data_end)
		return XDP_DROP;
	return ports->dest == bpf_htons(9999) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
