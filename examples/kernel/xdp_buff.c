// SPDX-License-Identifier: MIT
/* The XDP helpers that reach the whole frame, its page fragments included: bpf_xdp_get_buff_len,
 * bpf_xdp_load_bytes and bpf_xdp_store_bytes. xdp_buff_ops reads 16 bytes at an offset and writes 8 at another
 * (both taken from the `args` map, so that a test chooses where: in the linear part, across its end, in a fragment,
 * past the frame) and keeps what the helpers answered in `out`. xdp_meta_read keeps the first word of the metadata
 * a test run's context in puts in front of the packet. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} out SEC(".maps");

static __always_inline void put(__u32 slot, __u32 value)
{
	bpf_map_update_elem(&out, &slot, &value, BPF_ANY);
}

static __always_inline __u32 arg(__u32 slot)
{
	__u32 *value = bpf_map_lookup_elem(&args, &slot);

	return value ? *value : 0;
}

SEC("xdp.frags")
int xdp_buff_ops(struct xdp_md *ctx)
{
	__u64 mark = 0x04030201efbeaddeULL; /* de ad be ef 01 02 03 04 in memory */
	__u32 words[4];
	__u32 len = bpf_xdp_get_buff_len(ctx);

	/* what a failing load leaves: the kernel does not touch the buffer */
	__builtin_memset(words, 0x5a, sizeof(words));

	put(0, len);
	put(1, ctx->data_end - ctx->data);
	put(2, bpf_xdp_load_bytes(ctx, arg(0), words, sizeof(words)));
	put(3, words[0]);
	put(4, words[1]);
	put(5, words[2]);
	put(6, words[3]);
	put(7, bpf_xdp_store_bytes(ctx, arg(1), &mark, sizeof(mark)));
	/* the last 4 bytes of the frame, wherever they are */
	put(8, bpf_xdp_load_bytes(ctx, len - 4, words, 4));
	put(9, words[0]);
	put(10, bpf_xdp_get_buff_len(ctx));
	return XDP_PASS;
}

SEC("xdp")
int xdp_meta_read(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	__u32 *meta = (void *)(long)ctx->data_meta;

	if ((void *)(meta + 1) > data)
		return XDP_DROP;
	put(0, *meta);
	put(1, data - (void *)meta);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
