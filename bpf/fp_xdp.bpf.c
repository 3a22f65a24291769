// SPDX-License-Identifier: GPL-2.0
/* Placeholder until the datapath lands. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "flowplane_abi.h"

SEC("xdp")
int fp_ingress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
