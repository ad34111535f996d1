// SPDX-License-Identifier: MIT
/* Every context field issue 14 lists, read by a program and kept in an array map (one u32 per field), so that a test
 * compares each field with the kernel's value: xdp_md in `xdp_fields`, __sk_buff in `tc_fields` (after writing the
 * fields a tc program may write: mark, priority, queue_mapping, tc_index, tc_classid, cb[0..4]) and in
 * `socket_fields` (the fields a socket filter may read; it writes cb[0..4]). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
} fields SEC(".maps");

static __always_inline void put(__u32 slot, __u32 value)
{
	bpf_map_update_elem(&fields, &slot, &value, BPF_ANY);
}

SEC("xdp")
int xdp_fields(struct xdp_md *ctx)
{
	put(0, ctx->data_end - ctx->data);
	put(1, ctx->data - ctx->data_meta);
	put(2, ctx->ingress_ifindex);
	put(3, ctx->rx_queue_index);

	return XDP_PASS;
}

/* The __sk_buff fields both a tc program and a socket filter may read: slots 0-17. */
static __always_inline void put_skb(struct __sk_buff *skb)
{
	put(0, skb->len);
	put(1, skb->pkt_type);
	put(2, skb->mark);
	put(3, skb->queue_mapping);
	put(4, skb->protocol);
	put(5, skb->vlan_present);
	put(6, skb->vlan_tci);
	put(7, skb->vlan_proto);
	put(8, skb->priority);
	put(9, skb->ingress_ifindex);
	put(10, skb->ifindex);
	put(11, skb->tc_index);
	for (int i = 0; i < 5; i++)
		put(12 + i, skb->cb[i]);
	put(17, skb->hash);
}

SEC("tc")
int tc_fields(struct __sk_buff *skb)
{
	skb->mark = skb->mark ^ 0x5a;
	skb->priority = 3;
	skb->queue_mapping = 1;
	skb->tc_index = 9;
	skb->tc_classid = 0x10002;
	for (int i = 0; i < 5; i++)
		skb->cb[i] = 0x100 + i;
	put_skb(skb);
	put(18, skb->tc_classid);
	put(19, skb->data_end - skb->data);
	put(20, skb->data - skb->data_meta);
	put(21, skb->napi_id);
	put(22, skb->wire_len);
	put(23, skb->gso_segs);
	put(24, skb->gso_size);
	return TC_ACT_OK;
}

SEC("socket")
int socket_fields(struct __sk_buff *skb)
{
	for (int i = 0; i < 5; i++)
		skb->cb[i] = 0x200 + i;
	put_skb(skb);
	return skb->len;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
