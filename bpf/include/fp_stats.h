/* SPDX-License-Identifier: GPL-2.0 */
/* Per-port, per-CPU counters and the one counted exit of each program. */
#ifndef FP_STATS_H
#define FP_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "flowplane_abi.h"
#include "fp_maps.h"

/* What one ingress frame did, recorded at the exit. */
struct fp_outcome {
	/* The verdict's counter: FP_STAT_UNICAST, FP_STAT_FLOOD, FP_STAT_TO_HOST or FP_DROP_*. */
	__u32 stat;
	/* FP_STAT_LEARN_EVENTS or FP_STAT_LEARN_LOST when the frame produced a learn record,
	 * else 0. */
	__u32 learn_stat;
	/* The XDP action to return. */
	int action;
	/* Known unicast only: the output port's counter slot and what its copy did there
	 * (FP_STAT_TX_PACKETS, FP_DROP_STP_EGRESS or FP_DROP_VLAN_EGRESS); out_stat is 0 when no
	 * copy was made. out_bytes is the copy's length as sent (bytes). */
	__u32 out_slot;
	__u32 out_stat;
	__u64 out_bytes;
};

/* Counts one output copy on the output port's slot: a sent copy as TX packets and bytes, a
 * refused one as its drop reason. */
static __always_inline void fp_count_output(__u32 slot, __u32 stat, __u64 bytes)
{
	struct fp_port_stats *s = bpf_map_lookup_elem(&fp_stats, &slot);

	if (!s)
		return;
	if (stat == FP_STAT_TX_PACKETS) {
		s->count[FP_STAT_TX_PACKETS]++;
		s->count[FP_STAT_TX_BYTES] += bytes;
	} else if (stat < FP_STAT_MAX) {
		s->count[stat]++;
	}
}

/* The ingress exit: counts the frame as received (packets and bytes), its verdict and any
 * learn record on the port's slot with a single per-CPU lookup, a known-unicast copy on the
 * output port's slot with another, and returns the action. */
static __always_inline int fp_ingress_exit(__u32 slot, __u64 bytes, const struct fp_outcome *o)
{
	struct fp_port_stats *s = bpf_map_lookup_elem(&fp_stats, &slot);

	if (s) {
		s->count[FP_STAT_RX_PACKETS]++;
		s->count[FP_STAT_RX_BYTES] += bytes;
		if (o->stat < FP_STAT_MAX)
			s->count[o->stat]++;
		if (o->learn_stat && o->learn_stat < FP_STAT_MAX)
			s->count[o->learn_stat]++;
	}
	if (o->out_stat)
		fp_count_output(o->out_slot, o->out_stat, o->out_bytes);
	return o->action;
}

/* The flood-copy exit: counts the copy (fp_count_output) and returns its action. */
static __always_inline int fp_egress_exit(__u32 slot, __u32 stat, __u64 bytes)
{
	fp_count_output(slot, stat, bytes);
	return stat == FP_STAT_TX_PACKETS ? XDP_PASS : XDP_DROP;
}

#endif /* FP_STATS_H */
