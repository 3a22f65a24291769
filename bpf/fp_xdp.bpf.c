// SPDX-License-Identifier: GPL-2.0
/*
 * FlowPlane's datapath: fp_ingress runs on every port (XDP), fp_egress on every output copy
 * (devmap program). The logic lives in include/; this file only wires the stages together
 * in the order DESIGN.md gives: parse, port, reserved groups, VLAN, STP, learn, forward.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "flowplane_abi.h"
#include "fp_maps.h"
#include "fp_parsing.h"
#include "fp_vlan.h"
#include "fp_fdb.h"
#include "fp_stats.h"

/* 01:80:C2:00:00:0X, never forwarded by a bridge [802.1D-2004 7.12.6]. */
static __always_inline int fp_is_reserved_group(const __u8 *d)
{
	return d[0] == 0x01 && d[1] == 0x80 && d[2] == 0xC2 && d[3] == 0 && d[4] == 0 &&
	       (d[5] & 0xF0) == 0;
}

/* A source address must be a unicast, non-zero one. */
static __always_inline int fp_bad_source(const __u8 *s)
{
	return (s[0] & 1) || !(s[0] | s[1] | s[2] | s[3] | s[4] | s[5]);
}

static __always_inline void fp_verdict(struct fp_outcome *o, __u32 stat, int action)
{
	o->stat = stat;
	o->action = action;
}

/* Switches one frame from port (ifindex); fills o with the verdict. */
static __always_inline void fp_switch(struct xdp_md *ctx, const struct fp_port *port, __u32 ifindex,
				      struct fp_outcome *o)
{
	struct fp_frame f;
	struct fp_fdb_value *dst;
	__u8 dmac[ETH_ALEN];
	__u32 bridge = port->bridge;
	void *flood;
	int vlan, rc;

	if (fp_parse_frame(ctx, &f) < 0 || fp_bad_source(f.eth->h_source))
		return fp_verdict(o, FP_DROP_MALFORMED, XDP_DROP);

	/* Reserved group addresses, before VLAN and STP: a blocked port still hears BPDUs. */
	if (fp_is_reserved_group(f.eth->h_dest)) {
		if (f.eth->h_dest[5] == 0 && (port->flags & FP_PORT_F_STP))
			return fp_verdict(o, FP_STAT_TO_HOST, XDP_PASS);
		if (f.eth->h_dest[5] != 0 || !(port->flags & FP_PORT_F_FORWARD_BPDU))
			return fp_verdict(o, FP_DROP_RESERVED, XDP_DROP);
	}

	/* A priority tag around another tag would hide a VLAN behind VLAN 0: refuse it. */
	if (f.tag && (f.tci & FP_VID_MASK) == 0 &&
	    (f.inner_proto == bpf_htons(ETH_P_8021Q) || f.inner_proto == bpf_htons(ETH_P_8021AD)))
		return fp_verdict(o, FP_DROP_VLAN_INGRESS, XDP_DROP);
	vlan = fp_vlan_classify(port, f.tag != 0, f.tci & FP_VID_MASK);
	if (vlan < 0)
		return fp_verdict(o, FP_DROP_VLAN_INGRESS, XDP_DROP);

	if (port->stp_state == FP_STP_DISCARDING)
		return fp_verdict(o, FP_DROP_STP, XDP_DROP);
	if (!(port->flags & FP_PORT_F_NO_LEARN))
		o->learn_stat = fp_fdb_learn(bridge, vlan, f.eth->h_source, ifindex);
	if (port->stp_state != FP_STP_FORWARDING)
		return fp_verdict(o, FP_DROP_STP, XDP_DROP);

	__builtin_memcpy(dmac, f.eth->h_dest, ETH_ALEN);
	dst = (dmac[0] & 1) ? 0 : fp_fdb_lookup(bridge, vlan, dmac);
	if (dst && dst->ifindex == ifindex)
		return fp_verdict(o, FP_DROP_SAME_PORT, XDP_DROP);

	if (fp_vlan_normalise(ctx, &f, vlan) < 0)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);

	if (dst) {
		rc = bpf_redirect_map(&fp_tx, dst->ifindex, XDP_DROP);
		if (rc != XDP_REDIRECT)
			return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
		return fp_verdict(o, FP_STAT_UNICAST, rc);
	}
	flood = bpf_map_lookup_elem(&fp_flood, &bridge);
	if (!flood)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
	rc = bpf_redirect_map(flood, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (rc != XDP_REDIRECT)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
	return fp_verdict(o, FP_STAT_FLOOD, rc);
}

SEC("xdp")
int fp_ingress(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct fp_port *port = bpf_map_lookup_elem(&fp_ports, &ifindex);
	struct fp_outcome o = { .stat = FP_DROP_MALFORMED, .learn_stat = 0, .action = XDP_DROP };
	__u64 bytes;

	if (!port)
		return XDP_PASS; /* not a port of ours */
	bytes = ctx->data_end - ctx->data;
	fp_switch(ctx, port, ifindex, &o);
	return fp_ingress_exit(port->slot, bytes, &o);
}

/* Applies the output port's STP state and VLAN rule to one copy of a canonical frame. */
static __always_inline __u32 fp_egress_frame(struct xdp_md *ctx, const struct fp_port *port)
{
	struct fp_frame f;
	__u32 vlan;
	int act;

	if (port->stp_state != FP_STP_FORWARDING)
		return FP_DROP_STP_EGRESS;
	if (fp_parse_frame(ctx, &f) < 0)
		return FP_DROP_MALFORMED;
	vlan = f.tag ? (f.tci & FP_VID_MASK) : 0;
	act = fp_vlan_egress_action(port, vlan);
	if (act == FP_EGRESS_REFUSE)
		return FP_DROP_VLAN_EGRESS;
	if (act == FP_EGRESS_UNTAG && fp_vlan_pop(ctx) < 0)
		return FP_DROP_MALFORMED;
	return FP_STAT_TX_PACKETS;
}

/* The egress exit, shared by both devmap programs. A flood copy that the port's VLAN rule
 * refuses is not a drop (the frame went to the VLAN's members): it leaves uncounted. */
static __always_inline int fp_egress_common(struct xdp_md *ctx, int flood)
{
	__u32 ifindex = ctx->egress_ifindex;
	struct fp_port *port = bpf_map_lookup_elem(&fp_ports, &ifindex);
	__u32 stat;

	if (!port)
		return XDP_DROP; /* no longer a port: its VLAN rule is unknown */
	stat = fp_egress_frame(ctx, port);
	if (flood && stat == FP_DROP_VLAN_EGRESS)
		return XDP_DROP;
	return fp_egress_exit(port->slot, stat, ctx->data_end - ctx->data);
}

/* Runs on each known-unicast copy (fp_tx entries). */
SEC("xdp/devmap")
int fp_egress(struct xdp_md *ctx)
{
	return fp_egress_common(ctx, 0);
}

/* Runs on each flood copy (entries of the bridges' flood sets). */
SEC("xdp/devmap")
int fp_egress_flood(struct xdp_md *ctx)
{
	return fp_egress_common(ctx, 1);
}

char LICENSE[] SEC("license") = "GPL";
