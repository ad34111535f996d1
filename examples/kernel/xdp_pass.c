// SPDX-License-Identifier: MIT
/* The smallest XDP program: passes every frame (the floor of a test run's per-run time). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
