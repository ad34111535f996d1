// SPDX-License-Identifier: MIT
/* The struct __sk_buff a test run is given in (BPF_PROG_TEST_RUN's ctx_in) as programs see it, and what they write
 * into it for the ctx_out: `tc_ctx_in` and `socket_ctx_in` keep every field a context in may set (and a few the run
 * fills) in an array map before writing the writable ones; `tc_ctx_wide` and `socket_ctx_wide` make the accesses the
 * kernel allows beyond whole 4-byte fields: 8-byte loads and stores in cb, 1- and 2-byte stores in cb, the sk pointer
 * (compared with NULL only) and, in tc, tstamp_type. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
} seen SEC(".maps");

static __always_inline void put(__u32 slot, __u32 value)
{
	bpf_map_update_elem(&seen, &slot, &value, BPF_ANY);
}

/* The fields both program types may read: slots 0-8 and 12-13, 16-17. */
static __always_inline void put_common(struct __sk_buff *skb)
{
	put(0, skb->mark);
	put(1, skb->priority);
	put(2, skb->ingress_ifindex);
	put(3, skb->ifindex);
	for (int i = 0; i < 5; i++)
		put(4 + i, skb->cb[i]);
	put(12, skb->gso_segs);
	put(13, skb->gso_size);
	put(16, skb->len);
	put(17, skb->pkt_type);
}

SEC("tc")
int tc_ctx_in(struct __sk_buff *skb)
{
	__u64 tstamp = skb->tstamp, hwtstamp = skb->hwtstamp;

	put_common(skb);
	put(9, (__u32)tstamp);
	put(10, (__u32)(tstamp >> 32));
	put(11, skb->wire_len);
	put(14, (__u32)hwtstamp);
	put(15, (__u32)(hwtstamp >> 32));

	skb->mark = skb->mark + 1;
	skb->priority = skb->priority ^ 0xff;
	for (int i = 0; i < 5; i++)
		skb->cb[i] = skb->cb[i] + 0x10 * (i + 1);
	skb->tstamp = tstamp + 1000;
	skb->tc_classid = 0x10002;
	skb->tc_index = 9;
	skb->queue_mapping = 1;
	return TC_ACT_OK;
}

SEC("socket")
int socket_ctx_in(struct __sk_buff *skb)
{
	put_common(skb);
	for (int i = 0; i < 5; i++)
		skb->cb[i] = ~skb->cb[i];
	return skb->len;
}

/* cb as 8-byte words and bytes, and the sk pointer (the kernel's test run gives every socket buffer a socket). */
static __always_inline void wide(struct __sk_buff *skb)
{
	__u64 *words = (__u64 *)&skb->cb[0];
	__u8 *bytes = (__u8 *)&skb->cb[0];
	__u16 *halves = (__u16 *)&skb->cb[0];
	__u64 low = words[0], high = words[1];

	put(20, (__u32)low);
	put(21, (__u32)(low >> 32));
	put(22, (__u32)high);
	put(23, (__u32)(high >> 32));
	put(24, skb->sk != 0);
	words[1] = low + 1;
	bytes[0] = 0xab;
	halves[9] = 0x1234;
}

SEC("tc")
int tc_ctx_wide(struct __sk_buff *skb)
{
	wide(skb);
	put(25, skb->tstamp_type);
	return TC_ACT_OK;
}

SEC("socket")
int socket_ctx_wide(struct __sk_buff *skb)
{
	wide(skb);
	return skb->len;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
