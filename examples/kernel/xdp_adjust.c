// SPDX-License-Identifier: MIT
/* Moving the packet's edges from XDP: VLAN pop and push with bpf_xdp_adjust_head, frame length with
 * bpf_xdp_adjust_tail (zeroed growth, trimming) and metadata in front of the packet with bpf_xdp_adjust_meta. */
#include "common.h"

#define VLAN_ID 100

SEC("xdp")
int xdp_vlan_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char macs[2 * ETH_ALEN];

	if (data + sizeof(*eth) + sizeof(struct vlan_tag) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_8021Q) && eth->h_proto != bpf_htons(ETH_P_8021AD))
		return XDP_PASS;
	__builtin_memcpy(macs, data, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_tag)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(macs) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, macs, sizeof(macs));
	return XDP_TX;
}

SEC("xdp")
int xdp_vlan_push(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;
	struct vlan_tag *tag;
	__be16 proto;

	if (data + sizeof(*eth) > data_end)
		return XDP_DROP;
	proto = ((struct ethhdr *)data)->h_proto;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_tag)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	tag = (void *)(eth + 1);
	if ((void *)(tag + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memmove(data, data + sizeof(*tag), 2 * ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_8021Q);
	tag->tci = bpf_htons(VLAN_ID);
	tag->proto = proto;
	return XDP_TX;
}

SEC("xdp")
int xdp_trailer(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	/* cut long frames to 64 bytes, grow short ones by 4 (zeroed) bytes */
	if (bpf_xdp_adjust_tail(ctx, len > 64 ? 64 - (int)len : 4))
		return XDP_ABORTED;
	return XDP_TX;
}

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	void *data, *meta;
	__u32 *mark;

	if (bpf_xdp_adjust_meta(ctx, -8))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	mark = meta;
	if ((void *)(mark + 2) > data)
		return XDP_ABORTED;
	mark[0] = 0x11223344;
	mark[1] = ctx->ingress_ifindex + (ctx->rx_queue_index << 16);
	return XDP_PASS;
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

/* The helpers' limits: what each call returns is recorded in slot 0-7 of results. */
SEC("xdp")
int xdp_limits(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	record(0, bpf_xdp_adjust_head(ctx, -300));             /* beyond the headroom */
	record(1, bpf_xdp_adjust_head(ctx, (int)len));         /* less than an Ethernet header left */
	record(2, bpf_xdp_adjust_meta(ctx, -36));              /* more than 32 bytes of metadata */
	record(3, bpf_xdp_adjust_meta(ctx, -6));               /* not a multiple of 4 */
	record(4, bpf_xdp_adjust_tail(ctx, 4096));             /* beyond the frame */
	record(5, bpf_xdp_adjust_tail(ctx, -(int)len));        /* less than an Ethernet header left */
	record(6, bpf_xdp_adjust_head(ctx, -216));             /* to the frame header: allowed */
	record(7, bpf_xdp_adjust_head(ctx, -1));               /* one byte further: refused */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
