/*
 * Packet filter (the rbpf showcase scenario): drops IPv4 TCP packets sent to TCP port 9999 (XDP_DROP = 1),
 * lets everything else pass (XDP_PASS = 2). Counts both verdicts in an array map declared the legacy way
 * (section "maps", struct bpf_map_def) and reports drops through bpf_trace_printk.
 */
#include "bpf_defs.h"

#define BLOCKED_PORT 9999

struct bpf_map_def SEC("maps") verdicts = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 3,
};

static __u32 verdict(__u32 v)
{
    __u64 *count = bpf_map_lookup_elem(&verdicts, &v);
    if (count)
        __sync_fetch_and_add(count, 1);
    return v;
}

SEC("xdp")
int block_port(PACKET_ARGS)
{
    if (len < sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))
        return verdict(XDP_PASS);

    struct ethhdr *eth = data;
    if (eth->h_proto != bswap16(ETH_P_IP))
        return verdict(XDP_PASS);

    struct iphdr *ip = data + sizeof(struct ethhdr);
    if (ip->protocol != IPPROTO_TCP)
        return verdict(XDP_PASS);

    __u32 ihl = (ip->ihl_version & 0x0f) * 4;
    if (ihl < sizeof(struct iphdr) || sizeof(struct ethhdr) + ihl + sizeof(struct tcphdr) > len)
        return verdict(XDP_PASS);

    struct tcphdr *tcp = data + sizeof(struct ethhdr) + ihl;
    if (tcp->dest == bswap16(BLOCKED_PORT)) {
        char fmt[] = "dropping packet to port %d\n";
        bpf_trace_printk(fmt, sizeof(fmt), BLOCKED_PORT);
        return verdict(XDP_DROP);
    }

    return verdict(XDP_PASS);
}

char _license[] SEC("license") = "GPL";
