// SPDX-License-Identifier: MIT
/* Frames longer than the XDP buffer: Linux's test run keeps the first 3,520 bytes in the buffer the program sees
 * (data..data_end) and the rest in fragments of up to a page, which bpf_xdp_adjust_tail grows and shrinks from the
 * end. xdp_frag_tail records what the helper answered and the linear length after each call. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s32);
} seen SEC(".maps");

static __always_inline void put(__u32 slot, __s32 value)
{
	bpf_map_update_elem(&seen, &slot, &value, BPF_ANY);
}

static __always_inline __s32 linear(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

SEC("xdp.frags")
int xdp_frag_tail(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__s32 *grow = bpf_map_lookup_elem(&seen, &zero);
	__s32 delta = grow ? *grow : 0;

	put(1, linear(ctx));
	put(2, bpf_xdp_adjust_tail(ctx, delta));
	put(3, linear(ctx));
	put(4, bpf_xdp_adjust_tail(ctx, 4096));
	put(5, linear(ctx));
	return XDP_PASS;
}

SEC("xdp")
int xdp_linear_len(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *last = data + 3519;

	put(1, linear(ctx));
	if ((void *)(last + 1) > data_end)
		return XDP_PASS;
	put(2, *last);
	*last = 0xee;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
