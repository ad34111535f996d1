// SPDX-License-Identifier: MIT
/* A tc classifier using __sk_buff fields and skb helpers: records what it sees of the skb in a hash map, marks and
 * prioritises the packet, and rewrites the destination of IPv4 UDP packets to 10.0.0.99 port 5353 with
 * bpf_skb_store_bytes, bpf_l3_csum_replace and bpf_l4_csum_replace. */
#include "common.h"

struct seen {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 ifindex;
	__u32 data_len;
	__u32 hash;
	__u32 queue_mapping;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct seen);
} skb_seen SEC(".maps");

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define UDP_DPORT_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, dest))
#define UDP_CSUM_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, check))

SEC("tc")
int tc_skb(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct seen s = {};
	__u32 key = bpf_ntohs(skb->protocol);
	struct iphdr ip;
	__be32 new_dst = bpf_htonl(0x0a000063);
	__be16 new_port = bpf_htons(5353), old_port;

	s.len = skb->len;
	s.pkt_type = skb->pkt_type;
	s.mark = skb->mark;
	s.protocol = skb->protocol;
	s.vlan_present = skb->vlan_present;
	s.vlan_tci = skb->vlan_tci;
	s.ifindex = skb->ifindex;
	s.data_len = data_end - data;
	s.hash = skb->hash;
	s.queue_mapping = skb->queue_mapping;
	bpf_map_update_elem(&skb_seen, &key, &s, BPF_ANY);

	skb->mark = skb->mark + 0x100;
	skb->priority = 7;
	skb->cb[0] = 0xabcd;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
		return TC_ACT_SHOT;
	if (ip.ihl != 5 || ip.protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, UDP_DPORT_OFF, &old_port, sizeof(old_port)))
		return TC_ACT_SHOT;

	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, ip.daddr, new_dst, BPF_F_PSEUDO_HDR | sizeof(new_dst));
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, ip.daddr, new_dst, sizeof(new_dst));
	bpf_skb_store_bytes(skb, IP_DST_OFF, &new_dst, sizeof(new_dst), 0);
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_port, new_port, sizeof(new_port));
	bpf_skb_store_bytes(skb, UDP_DPORT_OFF, &new_port, sizeof(new_port), 0);
	return skb->mark == 0x142 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int tc_vlan(struct __sk_buff *skb)
{
	/* pop a tag carried in the frame, then push tag 200 (and a second, 300, for QinQ-style stacking) */
	__u32 key = 0x10000;
	struct seen s = {};
	int err;

	if (skb->protocol == bpf_htons(ETH_P_8021Q)) {
		err = bpf_skb_vlan_pop(skb);
		if (err)
			return TC_ACT_SHOT;
	}
	err = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 200);
	if (err)
		return TC_ACT_SHOT;
	err = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 300);
	if (err)
		return TC_ACT_SHOT;
	s.len = skb->len;
	s.protocol = skb->protocol;
	s.vlan_present = skb->vlan_present;
	s.vlan_tci = skb->vlan_tci;
	s.hash = bpf_get_hash_recalc(skb);
	bpf_map_update_elem(&skb_seen, &key, &s, BPF_ANY);
	return TC_ACT_OK;
}

SEC("classifier")
int tc_resize(struct __sk_buff *skb)
{
	/* room for a 4-byte shim after the MAC header, 8 extra bytes at the head, then a tail trimmed to 60 bytes */
	__be32 shim = bpf_htonl(0xcafe0001);
	__u8 head[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	if (bpf_skb_adjust_room(skb, 4, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &shim, sizeof(shim), 0))
		return TC_ACT_SHOT;
	if (bpf_skb_change_head(skb, 8, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, head, sizeof(head), 0))
		return TC_ACT_SHOT;
	if (bpf_skb_change_tail(skb, 60, 0))
		return TC_ACT_SHOT;
	return skb->len;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

static __always_inline void record(__u32 slot, __s64 value)
{
	bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

/* The helpers' limits: what each call returns is recorded in slot 0-7 of results (slot 1 also shows that a failed
 * load zeroes its destination). */
SEC("tc")
int tc_limits(struct __sk_buff *skb)
{
	__u64 buffer = 0x1111111111111111;
	__u32 len = skb->len;

	record(0, bpf_skb_load_bytes(skb, len - 4, &buffer, 8));  /* past the end */
	record(1, buffer);
	record(2, bpf_skb_store_bytes(skb, 0, &buffer, 8, 4));    /* unknown flag */
	record(3, bpf_skb_change_tail(skb, 10, 0));               /* shorter than the MAC header */
	record(4, bpf_skb_change_head(skb, 4, 1));                /* a flag */
	record(5, bpf_skb_adjust_room(skb, 4, 2, 0));             /* unknown mode */
	record(6, bpf_skb_vlan_pop(skb));                          /* no tag: nothing to do */
	record(7, bpf_skb_change_tail(skb, len + 2, 0));          /* two zero bytes more */
	return TC_ACT_OK;
}

SEC("tc")
int tc_redirect(struct __sk_buff *skb)
{
	/* to interface 7's egress; a bad flag would drop the packet */
	return bpf_redirect(7, skb->mark == 0xbad ? 2 : 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
