/* Shared by the kernel-style examples: Ethernet/VLAN parsing over the packet pointers the context gives. */
#ifndef EBPF_KERNEL_COMMON_H
#define EBPF_KERNEL_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* Walks the Ethernet header and up to two VLAN tags (802.1Q or 802.1ad); returns the inner EtherType in network
 * order and the offset of the network header, or 0 when the frame is too short. */
static __always_inline __be16 parse_ethernet(void *data, void *data_end, __u32 *l3_offset, __u32 *vlans)
{
	struct ethhdr *eth = data;
	__be16 proto;
	__u32 offset = sizeof(*eth);

	*vlans = 0;
	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_tag *tag = data + offset;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > data_end)
			return 0;
		proto = tag->proto;
		offset += sizeof(*tag);
		(*vlans)++;
	}
	*l3_offset = offset;
	return proto;
}

#endif
