// SPDX-License-Identifier: MIT
/* XDP parser: Ethernet, up to two VLAN tags, IPv4/IPv6, TCP/UDP/ICMP/ICMPv6. Counts frames and bytes per class in
 * an array map and drops TCP to port 9999 and malformed frames; everything else passes. */
#include "common.h"

enum { CLASS_OTHER, CLASS_TCP4, CLASS_UDP4, CLASS_ICMP4, CLASS_TCP6, CLASS_UDP6, CLASS_ICMP6, CLASS_MALFORMED, CLASS_VLAN, CLASSES };

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CLASSES);
	__type(key, __u32);
	__type(value, struct counters);
} stats SEC(".maps");

static __always_inline void count(__u32 class, __u64 bytes)
{
	struct counters *c = bpf_map_lookup_elem(&stats, &class);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int l4(void *l4h, void *data_end, __u8 protocol, __u32 tcp_class, __u32 bytes)
{
	if (protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4h;

		if ((void *)(tcp + 1) > data_end)
			goto malformed;
		count(tcp_class, bytes);
		return tcp->dest == bpf_htons(9999) ? XDP_DROP : XDP_PASS;
	}
	if (protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4h;

		if ((void *)(udp + 1) > data_end)
			goto malformed;
		count(tcp_class + 1, bytes);
		return XDP_PASS;
	}
	if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) {
		if (l4h + 4 > data_end)
			goto malformed;
		count(tcp_class + 2, bytes);
		return XDP_PASS;
	}
	count(CLASS_OTHER, bytes);
	return XDP_PASS;
malformed:
	count(CLASS_MALFORMED, bytes);
	return XDP_DROP;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 bytes = data_end - data;
	__u32 l3 = 0, vlans = 0;
	__be16 proto = parse_ethernet(data, data_end, &l3, &vlans);

	if (!proto) {
		count(CLASS_MALFORMED, bytes);
		return XDP_DROP;
	}
	if (vlans)
		count(CLASS_VLAN, vlans);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			count(CLASS_MALFORMED, bytes);
			return XDP_DROP;
		}
		return l4((void *)ip + ip->ihl * 4, data_end, ip->protocol, CLASS_TCP4, bytes);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end) {
			count(CLASS_MALFORMED, bytes);
			return XDP_DROP;
		}
		return l4(ip6 + 1, data_end, ip6->nexthdr, CLASS_TCP6, bytes);
	}
	count(CLASS_OTHER, bytes);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
