/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FlowPlane's maps, and how they fit.
 *
 * A frame arriving on a port finds the port's configuration in fp_ports (keyed by the
 * ifindex it arrived on); no entry means the netdev is not ours and the frame goes to the
 * stack untouched. The port names its bridge and its counter slot. The FDB, fp_fdb, is keyed
 * by (bridge, VLAN, MAC): the ingress program reads it twice per frame, once for the source
 * (learning) and once for the destination (forwarding). The datapath never inserts into the
 * FDB itself: the Swift control plane owns the MAC-learning table and projects it into
 * fp_fdb. What the datapath does write is the last-seen time of an entry, at most once per
 * FP_FDB_REFRESH_NS, so the control plane can age entries without a write per frame.
 *
 * A source MAC that is unknown, or known on another port, becomes a record on the
 * fp_learn_ev ring buffer. fp_learn_pend remembers (bridge, VLAN, MAC) -> the port last
 * reported and when, so a burst of frames from one new MAC yields one record per
 * FP_LEARN_DEDUP_NS, not one per frame, while a MAC that moves is reported at once; it is
 * an LRU so it needs no cleaning. When the datapath reports a known MAC on a new port it
 * marks the FDB entry FP_FDB_F_MOVING (the control plane's next install clears it); a frame
 * from the old port meanwhile is reported again, so the FDB ends where the last frame was.
 *
 * Known unicast leaves through fp_tx, a DEVMAP_HASH ifindex -> {ifindex, no program}:
 * fp_ingress has looked up the output port in fp_ports and applied its STP state, VLAN
 * membership and tagging, and counted the copy, before the redirect. Flooded frames leave
 * through the bridge's own DEVMAP_HASH, found in fp_flood (ARRAY_OF_MAPS indexed by bridge
 * number), with one bpf_redirect_map(BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS); each entry
 * there carries fp_egress_flood, which runs once per flood copy and applies the same rules
 * for its port (a copy its VLAN rule refuses is not counted as a drop).
 *
 * Counters live in fp_stats, a PERCPU_ARRAY indexed by the port's slot: no frame ever writes
 * a cache line shared with another CPU. fp_abi holds FP_ABI_VERSION, written by the control
 * plane when it creates the maps, so a daemon can refuse maps pinned by an incompatible one.
 *
 * Every map is pinned by name under the pin root, so the FDB and the configuration survive
 * the daemon: a restarted daemon reopens them and keeps forwarding.
 */
#ifndef FP_MAPS_H
#define FP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "flowplane_abi.h"

/* Port configuration, keyed by the port's ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct fp_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_ports SEC(".maps");

/* The forwarding database: (bridge, VLAN, MAC) -> output port; resized by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_FDB_MAX);
	__type(key, struct fp_fdb_key);
	__type(value, struct fp_fdb_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_fdb SEC(".maps");

/* Unicast output: ifindex -> {ifindex, no program}. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_tx SEC(".maps");

/* The inner map type of fp_flood: one bridge's ports, ifindex -> {ifindex, fp_egress_flood}. */
struct fp_flood_set {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
};

/* Flood sets: bridge number -> that bridge's devmap of ports (created by the daemon). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FP_MAX_BRIDGES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fp_flood_set);
} fp_flood SEC(".maps");

/* Per-port, per-CPU counters, keyed by the port's slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct fp_port_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_stats SEC(".maps");

/* Learn events for the control plane (struct fp_learn_event records). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FP_LEARN_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_learn_ev SEC(".maps");

/* Learn-event dedup: (bridge, VLAN, MAC) -> the port last reported and when. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FP_LEARN_PEND_MAX);
	__type(key, struct fp_fdb_key);
	__type(value, struct fp_learn_pend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_learn_pend SEC(".maps");

/* The ABI version of the maps (index 0), written by the control plane. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fp_abi SEC(".maps");

#endif /* FP_MAPS_H */
