// SPDX-License-Identifier: MIT
/* bpf_csum_diff on socket buffers (tc): the sums of an IPv4 header (to only, from only, both, with seeds, sizes that
 * are not a multiple of 4) kept in an array map, then the destination rewritten to 10.0.0.99 with the checksums fixed
 * from one bpf_csum_diff through bpf_l3_csum_replace and bpf_l4_csum_replace (the idiom of Cilium-style NAT). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} sums SEC(".maps");

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define UDP_CSUM_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, check))

static __always_inline void put(__u32 slot, __s64 value)
{
	bpf_map_update_elem(&sums, &slot, &value, BPF_ANY);
}

SEC("tc")
int tc_csum_diff(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__be32 old_dst, new_dst = bpf_htonl(0x0a000063);
	__u8 odd[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	__s64 diff;
	__u8 protocol;

	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	if (skb->protocol != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return TC_ACT_OK;
	old_dst = ip->daddr;
	protocol = ip->protocol;

	put(0, bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
	put(1, bpf_csum_diff((__be32 *)ip, sizeof(*ip), 0, 0, 0));
	put(2, bpf_csum_diff(&old_dst, 4, &new_dst, 4, 0));
	put(3, bpf_csum_diff(&old_dst, 4, &new_dst, 4, 0xffff1234));
	put(4, bpf_csum_diff(0, 0, 0, 0, 0x12345678));
	put(5, bpf_csum_diff((__be32 *)odd, 6, (__be32 *)odd, 8, 0));
	put(6, bpf_csum_diff((__be32 *)ip, 8, (__be32 *)odd, 8, 7));

	/* bpf_skb_store_bytes may move the packet: nothing read through ip after it */
	diff = bpf_csum_diff(&old_dst, 4, &new_dst, 4, 0);
	if (bpf_skb_store_bytes(skb, IP_DST_OFF, &new_dst, 4, 0))
		return TC_ACT_SHOT;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, 0, diff, 0))
		return TC_ACT_SHOT;
	if (protocol == IPPROTO_UDP &&
	    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
