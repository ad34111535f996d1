/*
 * Counts IPv4 packets per IP protocol (ICMP = 1, TCP = 6, UDP = 17, ...) in a hash map declared the BTF way
 * (section ".maps"): key = the protocol number (u32), value = the packet count (u64). Packets that are not IPv4
 * are counted under key 0xffff. Always lets the packet pass (XDP_PASS = 2); returns XDP_DROP (1) only if the
 * map is full and the protocol cannot be added.
 */
#include "bpf_defs.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 16);
} protocol_counts SEC(".maps");

SEC("xdp")
int count_protocols(PACKET_ARGS)
{
    __u32 key = 0xffff;
    struct ethhdr *eth = data;
    if (len >= sizeof(struct ethhdr) + sizeof(struct iphdr) && eth->h_proto == bswap16(ETH_P_IP)) {
        struct iphdr *ip = data + sizeof(struct ethhdr);
        key = ip->protocol;
    }

    __u64 *count = bpf_map_lookup_elem(&protocol_counts, &key);
    if (count) {
        __sync_fetch_and_add(count, 1);
        return XDP_PASS;
    }

    __u64 one = 1;
    if (bpf_map_update_elem(&protocol_counts, &key, &one, BPF_NOEXIST) == 0)
        return XDP_PASS;

    /* Another run added the key first: count in the entry it created. */
    count = bpf_map_lookup_elem(&protocol_counts, &key);
    if (count) {
        __sync_fetch_and_add(count, 1);
        return XDP_PASS;
    }

    return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
