// SPDX-License-Identifier: MIT
/* xdp_md.egress_ifindex: Linux lets only devmap programs (expected attach type BPF_XDP_DEVMAP, libbpf sections
 * `xdp/devmap` and `xdp.frags/devmap`) read it; the verifier refuses any other XDP program that touches it, cpumap
 * programs (`xdp/cpumap`) included. */
#include "common.h"

SEC("xdp")
int xdp_egress(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_DROP : XDP_PASS;
}

SEC("xdp/cpumap")
int cpumap_egress(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_DROP : XDP_PASS;
}

SEC("xdp/devmap")
int devmap_egress(struct xdp_md *ctx)
{
	return ctx->egress_ifindex == 3 ? XDP_DROP : XDP_PASS;
}

SEC("xdp.frags/devmap")
int devmap_frags_egress(struct xdp_md *ctx)
{
	return ctx->egress_ifindex + ctx->ingress_ifindex == 0 ? XDP_DROP : XDP_PASS;
}

SEC("xdp/cpumap")
int cpumap_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
