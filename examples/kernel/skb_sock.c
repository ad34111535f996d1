// SPDX-License-Identifier: MIT
/* skb->sk in a test run: the kernel's BPF_PROG_TEST_RUN gives every socket buffer a socket of its own, whose family
 * and addresses come from the packet. `tc_sock` and `socket_sock` keep what they read of it in an array map: the
 * fields a struct bpf_sock pointer (sock_common) may read, then in tc what bpf_sk_fullsock and
 * bpf_get_listener_sock give. Slots: 0 bound_dev_if, 1 family, 2-5 src_ip6, 6 src_ip4, 7 src_port, 8 dst_port (16-bit
 * load), 9 dst_port (32-bit load), 10 dst_ip4, 11-14 dst_ip6, 15 state, 16 rx_queue_mapping, 17 the first byte of
 * src_ip4, 18 the high half of dst_ip4; tc only: 19 fullsock != 0, 20 type, 21 protocol, 22 mark, 23 priority,
 * 25 bpf_get_listener_sock != 0; 31 is 1 when skb->sk is NULL. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
} sock_seen SEC(".maps");

static __always_inline void put(__u32 slot, __u32 value)
{
	bpf_map_update_elem(&sock_seen, &slot, &value, BPF_ANY);
}

static __always_inline void put_sock(struct bpf_sock *sk)
{
	put(0, sk->bound_dev_if);
	put(1, sk->family);
	for (int i = 0; i < 4; i++)
		put(2 + i, sk->src_ip6[i]);
	put(6, sk->src_ip4);
	put(7, sk->src_port);
	put(8, sk->dst_port);
	put(9, *(volatile __u32 *)&sk->dst_port);
	put(10, sk->dst_ip4);
	for (int i = 0; i < 4; i++)
		put(11 + i, sk->dst_ip6[i]);
	put(15, sk->state);
	put(16, sk->rx_queue_mapping);
	put(17, *(volatile __u8 *)&sk->src_ip4);
	put(18, *((volatile __u16 *)&sk->dst_ip4 + 1));
}

SEC("tc")
int tc_sock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk, *full, *listener;

	if (!sk) {
		put(31, 1);
		return TC_ACT_SHOT;
	}
	put_sock(sk);
	full = bpf_sk_fullsock(sk);
	put(19, full != 0);
	if (full) {
		put(20, full->type);
		put(21, full->protocol);
		put(22, full->mark);
		put(23, full->priority);
	}
	listener = bpf_get_listener_sock(sk);
	put(25, listener != 0);
	return TC_ACT_OK;
}

SEC("socket")
int socket_sock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk) {
		put(31, 1);
		return 0;
	}
	put_sock(sk);
	return skb->len;
}

/* The same as socket_sock with bpf_sk_fullsock: does the kernel give it to socket filters? */
SEC("socket")
int socket_sock_full(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	return sk->type + 2;
}
