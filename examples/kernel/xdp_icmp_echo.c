// SPDX-License-Identifier: MIT
/* Answers ICMP echo requests (IPv4, untagged) from XDP: swaps the MAC and IP addresses, turns the request into a
 * reply, resets the TTL, recomputes the IP checksum with bpf_csum_diff, updates the ICMP checksum incrementally and
 * sends the frame back with XDP_TX. Everything else passes. The section name is not one libbpf knows: loaders treat
 * unknown xdp_* sections as XDP. */
#include "common.h"

struct echo_header {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__be16 id;
	__be16 sequence;
};

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp_icmp_echo")
int icmp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct echo_header *icmp = (void *)(ip + 1);
	unsigned char mac[ETH_ALEN];
	__be32 address;
	__u16 old_word, new_word;
	__u32 sum;

	if ((void *)(icmp + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP || icmp->type != 8)
		return XDP_PASS;

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	address = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = address;
	ip->ttl = 64;
	ip->check = 0;
	ip->check = fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));

	old_word = *(__u16 *)icmp;
	icmp->type = 0;
	new_word = *(__u16 *)icmp;
	sum = (__u16)~icmp->checksum + (__u16)~old_word + new_word;
	icmp->checksum = fold(sum);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
