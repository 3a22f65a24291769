// SPDX-License-Identifier: GPL-2.0
/*
 * FlowPlane's datapath: fp_ingress runs on every port (XDP); fp_egress_flood on every flood
 * copy (devmap program). Known unicast has one output port, so fp_ingress applies that port's
 * STP state and VLAN rule itself and the copy leaves through fp_tx with no egress program:
 * no second port lookup, parse or program run per frame. The logic lives in include/; this
 * file only wires the stages together in the order DESIGN.md gives: parse, port, reserved
 * groups, VLAN, STP, learn, forward.
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

/* The output port's rule for a copy in VLAN vlan, shared by known unicast and flood copies:
 * FP_STAT_TX_PACKETS when it leaves (*act then says in which form), FP_DROP_STP_EGRESS when
 * the port is not forwarding, FP_DROP_VLAN_EGRESS when it does not carry the VLAN. */
static __always_inline __u32 fp_output_rule(const struct fp_port *out, __u32 vlan, int *act)
{
	if (out->stp_state != FP_STP_FORWARDING)
		return FP_DROP_STP_EGRESS;
	*act = fp_vlan_egress_action(out, vlan);
	return *act == FP_EGRESS_REFUSE ? FP_DROP_VLAN_EGRESS : FP_STAT_TX_PACKETS;
}

/* Sends a known-unicast frame in VLAN vlan to port out_ifindex: the output port's STP state
 * and VLAN rule decide whether and in which form it leaves (what fp_egress_flood does for a
 * flood copy); the copy is counted on the output port at the exit. f is what parsing found. */
static __always_inline void fp_unicast(struct xdp_md *ctx, struct fp_frame *f, __u32 vlan,
				       __u32 out_ifindex, struct fp_outcome *o)
{
	const struct fp_port *out = bpf_map_lookup_elem(&fp_ports, &out_ifindex);
	int act = FP_EGRESS_KEEP, rc;
	__u32 rule;

	if (!out) /* no longer a port: its VLAN rule is unknown */
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
	fp_verdict(o, FP_STAT_UNICAST, XDP_DROP);
	o->out_slot = out->slot;
	rule = fp_output_rule(out, vlan, &act);
	if (rule != FP_STAT_TX_PACKETS) {
		o->out_stat = rule;
		return;
	}
	if (fp_vlan_output(ctx, f, vlan, act) < 0)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
	rc = bpf_redirect_map(&fp_tx, out_ifindex, XDP_DROP);
	if (rc != XDP_REDIRECT)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
	o->action = rc;
	o->out_stat = FP_STAT_TX_PACKETS;
	o->out_bytes = ctx->data_end - ctx->data;
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

	if (dst)
		return fp_unicast(ctx, &f, vlan, dst->ifindex, o);

	if (fp_vlan_normalise(ctx, &f, vlan) < 0)
		return fp_verdict(o, FP_DROP_REDIRECT, XDP_DROP);
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
	struct fp_outcome o = { .stat = FP_DROP_MALFORMED, .action = XDP_DROP };
	__u64 bytes;

	if (!port)
		return XDP_PASS; /* not a port of ours */
	bytes = ctx->data_end - ctx->data;
	fp_switch(ctx, port, ifindex, &o);
	return fp_ingress_exit(port->slot, bytes, &o);
}

/* Applies the output port's STP state and VLAN rule to one flood copy of a canonical frame.
 * A copy that the port's VLAN rule refuses is not a drop (the frame went to the VLAN's
 * members): it leaves uncounted. */
SEC("xdp/devmap")
int fp_egress_flood(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->egress_ifindex;
	const struct fp_port *port = bpf_map_lookup_elem(&fp_ports, &ifindex);
	struct fp_frame f;
	__u32 stat;
	int act = FP_EGRESS_KEEP;

	if (!port)
		return XDP_DROP; /* no longer a port: its VLAN rule is unknown */
	if (fp_parse_frame(ctx, &f) < 0) /* cannot happen to a copy fp_ingress parsed */
		return fp_egress_exit(port->slot, FP_DROP_MALFORMED, 0);
	stat = fp_output_rule(port, f.tag ? (f.tci & FP_VID_MASK) : 0, &act);
	if (stat == FP_DROP_VLAN_EGRESS)
		return XDP_DROP;
	if (stat == FP_STAT_TX_PACKETS && act == FP_EGRESS_UNTAG && fp_vlan_pop(ctx) < 0)
		stat = FP_DROP_MALFORMED;
	return fp_egress_exit(port->slot, stat, ctx->data_end - ctx->data);
}

char LICENSE[] SEC("license") = "GPL";
