// SPDX-License-Identifier: MIT
/* A socket filter that keeps IPv4 UDP datagrams (the whole packet) and the first 40 bytes of ICMP ones, and drops
 * everything else. Socket filters see the packet from the network header on: offset 0 is the IP header. */
#include "common.h"

SEC("socket")
int socket_udp(struct __sk_buff *skb)
{
	__u8 version_ihl, protocol;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &version_ihl, 1) || bpf_skb_load_bytes(skb, offsetof(struct iphdr, protocol), &protocol, 1))
		return 0;
	if ((version_ihl >> 4) != 4)
		return 0;
	if (protocol == IPPROTO_UDP)
		return skb->len;
	if (protocol == IPPROTO_ICMP)
		return 40;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
