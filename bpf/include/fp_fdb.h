/* SPDX-License-Identifier: GPL-2.0 */
/* FDB lookup, last-seen refresh and learn events. */
#ifndef FP_FDB_H
#define FP_FDB_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "flowplane_abi.h"
#include "fp_maps.h"

static __always_inline struct fp_fdb_value *fp_fdb_lookup(__u32 bridge, __u32 vlan, const __u8 *mac)
{
	struct fp_fdb_key key = { .bridge = bridge, .vlan = (__u16)vlan };

	__builtin_memcpy(key.mac, mac, ETH_ALEN);
	return bpf_map_lookup_elem(&fp_fdb, &key);
}

/* Sends a learn record for (bridge, vlan, mac) seen on ifindex, unless one naming the same
 * port went out less than FP_LEARN_DEDUP_NS ago. A record the full ring could not take is
 * not remembered as sent, so the MAC's next frame tries again. Returns the counter to bump
 * (FP_STAT_LEARN_EVENTS / FP_STAT_LEARN_LOST) or 0 when deduplicated. */
static __always_inline __u32 fp_learn_event(__u32 bridge, __u32 vlan, const __u8 *mac,
					    __u32 ifindex, __u32 old_ifindex, __u64 now)
{
	struct fp_fdb_key key = { .bridge = bridge, .vlan = (__u16)vlan };
	struct fp_learn_pend fresh = { .time_ns = now, .ifindex = ifindex };
	struct fp_learn_event *ev;
	struct fp_learn_pend *sent;

	__builtin_memcpy(key.mac, mac, ETH_ALEN);
	sent = bpf_map_lookup_elem(&fp_learn_pend, &key);
	if (sent) {
		if (sent->ifindex == ifindex && now - sent->time_ns < FP_LEARN_DEDUP_NS)
			return 0;
		if (!old_ifindex && sent->ifindex != ifindex)
			old_ifindex = sent->ifindex;
	}
	ev = bpf_ringbuf_reserve(&fp_learn_ev, sizeof(*ev), 0);
	if (!ev)
		return FP_STAT_LEARN_LOST;
	ev->bridge = bridge;
	ev->ifindex = ifindex;
	ev->old_ifindex = old_ifindex;
	ev->vlan = (__u16)vlan;
	__builtin_memcpy(ev->mac, mac, ETH_ALEN);
	ev->time_ns = now;
	bpf_ringbuf_submit(ev, 0);
	if (sent) {
		sent->time_ns = now;
		sent->ifindex = ifindex;
	} else {
		bpf_map_update_elem(&fp_learn_pend, &key, &fresh, BPF_ANY);
	}
	return FP_STAT_LEARN_EVENTS;
}

/* Learning for a frame from source MAC mac in (bridge, vlan) on ifindex: a known entry on
 * this port gets its last-seen time refreshed (at most every FP_FDB_REFRESH_NS); an
 * unknown MAC, or one known dynamically on another port, gets a learn record. A static
 * entry never moves and never produces a record. Returns the learn counter, or 0. */
static __always_inline __u32 fp_fdb_learn(__u32 bridge, __u32 vlan, const __u8 *mac, __u32 ifindex)
{
	struct fp_fdb_value *v = fp_fdb_lookup(bridge, vlan, mac);
	__u64 now;

	if (v && (v->flags & FP_FDB_F_STATIC))
		return 0;
	now = bpf_ktime_get_coarse_ns();
	if (!v)
		return fp_learn_event(bridge, vlan, mac, ifindex, 0, now);
	if (v->ifindex == ifindex) {
		if (now - v->last_seen_ns >= FP_FDB_REFRESH_NS)
			v->last_seen_ns = now;
		/* Reported elsewhere meanwhile: report it back here. */
		if (v->flags & FP_FDB_F_MOVING)
			return fp_learn_event(bridge, vlan, mac, ifindex, 0, now);
		return 0;
	}
	if (!(v->flags & FP_FDB_F_MOVING))
		v->flags |= FP_FDB_F_MOVING; /* once per move, not per frame */
	return fp_learn_event(bridge, vlan, mac, ifindex, v->ifindex, now);
}

#endif /* FP_FDB_H */
