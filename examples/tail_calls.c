/*
 * Tail calls: the entry program "dispatch" jumps to a per-protocol program through a program array that is
 * initialised statically (BTF-defined ".maps" with .values, as libbpf does): index 6 = handle_tcp, 17 =
 * handle_udp. A protocol without an entry makes bpf_tail_call fail and execution continues after the call,
 * returning 0. handle_tcp returns 600 + the TCP destination port's low byte, handle_udp returns 1700.
 * "chain" tail-calls itself through the same array (index 0) and counts its runs in .bss: the chain stops
 * after 33 tail calls, so one run of "chain" makes the counter grow by 34.
 */
#include "bpf_defs.h"

int handle_tcp(PACKET_ARGS);
int handle_udp(PACKET_ARGS);
int chain(PACKET_ARGS);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 32);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __array(values, int (PACKET_ARGS));
} jump_table SEC(".maps") = {
    .values = {
        [0] = (void *)&chain,
        [IPPROTO_TCP] = (void *)&handle_tcp,
        [IPPROTO_UDP] = (void *)&handle_udp,
    },
};

__u64 chain_runs;

SEC("xdp")
int dispatch(PACKET_ARGS)
{
    if (len < sizeof(struct ethhdr) + sizeof(struct iphdr))
        return 0;
    struct iphdr *ip = data + sizeof(struct ethhdr);
    bpf_tail_call(data, &jump_table, ip->protocol);
    return 0;
}

SEC("xdp/tcp")
int handle_tcp(PACKET_ARGS)
{
    if (len < sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))
        return 0;
    struct tcphdr *tcp = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
    return 600 + (bswap16(tcp->dest) & 0xff);
}

SEC("xdp/udp")
int handle_udp(PACKET_ARGS)
{
    return 1700;
}

SEC("xdp/chain")
int chain(PACKET_ARGS)
{
    chain_runs++;
    bpf_tail_call(data, &jump_table, 0);
    return 1;
}

char _license[] SEC("license") = "GPL";
