// SPDX-License-Identifier: MIT
/* An event stream from XDP through a ring buffer: one record per frame with bpf_ringbuf_reserve and
 * bpf_ringbuf_submit (length, EtherType, VLAN tags, IPv4 addresses and ports), then for IPv4 a copy of the first 16
 * bytes after the IP header with bpf_ringbuf_output; frames that are not IPv4 reserve a second record and discard it.
 * Every frame passes. */
#include "common.h"

struct event {
	__u32 len;
	__be16 proto;
	__u8 vlans;
	__u8 l4;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int xdp_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = 0, vlans = 0;
	__be16 proto = parse_ethernet(data, data_end, &l3, &vlans);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct iphdr *ip = data + l3;
	__u8 head[16];
	__u64 *dropped;

	if (!e)
		return XDP_PASS;
	__builtin_memset(e, 0, sizeof(*e));
	e->len = data_end - data;
	e->proto = proto;
	e->vlans = vlans;
	if (proto == bpf_htons(ETH_P_IP) && (void *)(ip + 1) <= data_end) {
		struct udphdr *ports = (void *)(ip + 1);

		e->l4 = ip->protocol;
		e->saddr = ip->saddr;
		e->daddr = ip->daddr;
		if ((void *)(ports + 1) <= data_end && (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP)) {
			e->sport = ports->source;
			e->dport = ports->dest;
		}
		bpf_ringbuf_submit(e, 0);
		if ((void *)(ip + 1) + sizeof(head) <= data_end) {
			__builtin_memcpy(head, (void *)(ip + 1), sizeof(head));
			bpf_ringbuf_output(&events, head, sizeof(head), 0);
		}
		return XDP_PASS;
	}
	bpf_ringbuf_submit(e, 0);
	dropped = bpf_ringbuf_reserve(&events, sizeof(*dropped), 0);
	if (dropped) {
		*dropped = 0xdead;
		bpf_ringbuf_discard(dropped, 0);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
