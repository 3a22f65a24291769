/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VLAN classification and tagging with Open vSwitch's vlan_mode semantics (spec/vlan.md).
 *
 * Canonical form inside the switch: a flooded frame in VLAN v != 0 carries exactly one
 * 802.1Q tag (VID v and the frame's PCP) right after the MACs between fp_ingress and
 * fp_egress_flood; a frame in VLAN 0 is untagged. fp_egress_flood derives the VLAN from that
 * form alone. Known unicast goes straight to its output port's form (fp_vlan_output).
 */
#ifndef FP_VLAN_H
#define FP_VLAN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "flowplane_abi.h"
#include "fp_parsing.h"

/* VID 4095 is reserved [802.1Q-2018 Table 9-2]; as a tag it isolates a port. */
#define FP_VID_RESERVED 4095

/* Whether VID vid is in the port's trunks bitmap. */
static __always_inline int fp_vlan_trunked(const struct fp_port *p, __u32 vid)
{
	return (p->trunks[(vid >> 3) & 511] >> (vid & 7)) & 1;
}

/* The VLAN a frame arriving on port p belongs to, or -1 when the port does not admit it.
 * tagged: the frame carried an 802.1Q tag with VID vid (a VID-0 tag counts as untagged). */
static __always_inline int fp_vlan_classify(const struct fp_port *p, int tagged, __u32 vid)
{
	int vlan;

	if (!tagged || vid == 0) {
		if (p->vlan_mode == FP_VLAN_TRUNK)
			return fp_vlan_trunked(p, 0) ? 0 : -1;
		vlan = p->tag & FP_VID_MASK;
		return vlan == FP_VID_RESERVED ? -1 : vlan;
	}
	if (vid == FP_VID_RESERVED)
		return -1;
	switch (p->vlan_mode) {
	case FP_VLAN_TRUNK:
		return fp_vlan_trunked(p, vid) ? (int)vid : -1;
	case FP_VLAN_NATIVE_TAGGED:
	case FP_VLAN_NATIVE_UNTAGGED:
		return (vid == p->tag || fp_vlan_trunked(p, vid)) ? (int)vid : -1;
	default: /* access: tagged frames are refused, even with VID = tag */
		return -1;
	}
}

/* What leaving through port p does to a frame in VLAN vlan. */
enum fp_vlan_egress {
	FP_EGRESS_REFUSE = -1,
	/* Send as it is (tagged with vlan, or untagged when vlan is 0). */
	FP_EGRESS_KEEP = 0,
	/* Remove the tag. */
	FP_EGRESS_UNTAG = 1,
};

static __always_inline int fp_vlan_egress_action(const struct fp_port *p, __u32 vlan)
{
	int native = vlan == p->tag;

	if (vlan == FP_VID_RESERVED)
		return FP_EGRESS_REFUSE;
	switch (p->vlan_mode) {
	case FP_VLAN_TRUNK:
		return fp_vlan_trunked(p, vlan) ? FP_EGRESS_KEEP : FP_EGRESS_REFUSE;
	case FP_VLAN_ACCESS:
		if (!native)
			return FP_EGRESS_REFUSE;
		return vlan ? FP_EGRESS_UNTAG : FP_EGRESS_KEEP;
	case FP_VLAN_NATIVE_TAGGED:
		return (native || fp_vlan_trunked(p, vlan)) ? FP_EGRESS_KEEP : FP_EGRESS_REFUSE;
	default: /* native-untagged */
		if (native)
			return vlan ? FP_EGRESS_UNTAG : FP_EGRESS_KEEP;
		return fp_vlan_trunked(p, vlan) ? FP_EGRESS_KEEP : FP_EGRESS_REFUSE;
	}
}

/* Inserts an 802.1Q tag with TCI tci (host order) after the MACs. Returns 0, or -1 when
 * there is no headroom. Bounds are re-checked after the head moved. */
static __always_inline int fp_vlan_push(struct xdp_md *ctx, __u16 tci)
{
	void *data, *end;
	__u8 macs[ETH_ALEN * 2];
	__be16 *tag;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct fp_vlan_hdr)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + sizeof(struct fp_vlan_hdr) > end)
		return -1;
	__builtin_memcpy(macs, data + sizeof(struct fp_vlan_hdr), sizeof(macs));
	__builtin_memcpy(data, macs, sizeof(macs));
	/* The old EtherType stays where it was, right after the new tag. */
	tag = data + ETH_ALEN * 2;
	tag[0] = bpf_htons(ETH_P_8021Q); /* TPID */
	tag[1] = bpf_htons(tci);         /* TCI */
	return 0;
}

/* Removes the 802.1Q tag after the MACs (the caller checked it is there). Returns 0 or -1.
 * Bounds are re-checked after the head moved. */
static __always_inline int fp_vlan_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 macs[ETH_ALEN * 2];

	if (data + ETH_ALEN * 2 + sizeof(struct fp_vlan_hdr) > end)
		return -1;
	__builtin_memcpy(macs, data, sizeof(macs));
	__builtin_memcpy(data + sizeof(struct fp_vlan_hdr), macs, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct fp_vlan_hdr)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) > end)
		return -1;
	return 0;
}

/* Brings a frame classified into VLAN vlan into canonical form. f is what parsing found
 * (its pointers are stale afterwards). Returns 0 or -1. */
static __always_inline int fp_vlan_normalise(struct xdp_md *ctx, struct fp_frame *f, __u32 vlan)
{
	if (!f->tag)
		return vlan ? fp_vlan_push(ctx, (__u16)vlan) : 0;
	if (vlan == 0)
		return fp_vlan_pop(ctx); /* priority-tagged on a trunk of VLAN 0 */
	if ((f->tci & FP_VID_MASK) != vlan) /* priority-tagged: set the VID, keep PCP and DEI */
		f->tag->tci = bpf_htons((f->tci & ~FP_VID_MASK) | vlan);
	return 0;
}

/* Brings a frame classified into VLAN vlan into the form port p sends it in, given p's
 * egress action act (not FP_EGRESS_REFUSE): canonical form when kept, untagged when p
 * untags. f is what parsing found (its pointers are stale afterwards). Returns 0 or -1. */
static __always_inline int fp_vlan_output(struct xdp_md *ctx, struct fp_frame *f, __u32 vlan, int act)
{
	if (act == FP_EGRESS_UNTAG)
		return f->tag ? fp_vlan_pop(ctx) : 0;
	return fp_vlan_normalise(ctx, f, vlan);
}

#endif /* FP_VLAN_H */
