/*
 * The ABI between FlowPlane's eBPF datapath (bpf/) and its Swift control plane.
 *
 * Both sides include this header: the BPF programs through -I Sources/CBPF/include, Swift
 * through the CBPF module. Every struct here is a BPF map key or value, so field order and
 * sizes are part of the ABI; bump FP_ABI_VERSION when any of them changes. Integers are in
 * host byte order unless a field says otherwise; MAC addresses are in wire order.
 */
#ifndef FLOWPLANE_ABI_H
#define FLOWPLANE_ABI_H

#include <linux/types.h>

/* Raised whenever a map key or value below changes layout. */
#define FP_ABI_VERSION 1

#ifndef FP_MAX_PORTS
/* Ports over all bridges; also the number of counter slots. */
#define FP_MAX_PORTS 1024
#endif
#ifndef FP_MAX_BRIDGES
/* Bridges; bridge numbers run 1 ... FP_MAX_BRIDGES - 1 (0 is never used). */
#define FP_MAX_BRIDGES 256
#endif
#ifndef FP_FDB_MAX
/* Default FDB capacity in entries; the daemon may resize the map before loading. */
#define FP_FDB_MAX 131072
#endif
/* The FDB map is created for this many times its capacity in entries, unpreallocated: the
 * kernel gives a hash map one bucket per entry of max_entries, so a full FDB has at least 4
 * buckets per MAC (short chains, fewer cache misses per lookup; at 1 M MACs 2.0-7.3 % of the
 * forwarding rate lost instead of 10.5 % with 1 bucket per MAC, docs/benchmarks.md), at
 * 16 bytes of kernel memory per bucket; entries take memory only when stored. */
#define FP_FDB_HEADROOM 4
#ifndef FP_LEARN_RING_BYTES
/* Size of the learn-event ring buffer in bytes (a power of two, a multiple of the page).
 * A record takes 40 bytes (struct fp_learn_event and the ring's 8-byte header), so 4 MiB
 * holds a burst of 104857 new MACs even while the control plane reads none. The daemon maps
 * the data pages twice (libbpf), so its RSS grows by twice this size. */
#define FP_LEARN_RING_BYTES (4 << 20)
#endif
#ifndef FP_LEARN_PEND_MAX
/* Entries of the learn-event dedup table (LRU). */
#define FP_LEARN_PEND_MAX 8192
#endif
/* Datapath refreshes an FDB entry's last-seen time at most this often (ns). */
#define FP_FDB_REFRESH_NS 1000000000ULL
/* A learn event for one (bridge, VLAN, MAC) naming the same port is re-sent at most this
 * often (ns); one naming a different port goes out at once. */
#define FP_LEARN_DEDUP_NS 100000000ULL

/* VLAN modes, with Open vSwitch's `vlan_mode` semantics (spec/vlan.md). */
enum fp_vlan_mode {
	FP_VLAN_TRUNK = 0,
	FP_VLAN_ACCESS = 1,
	FP_VLAN_NATIVE_TAGGED = 2,
	FP_VLAN_NATIVE_UNTAGGED = 3,
};

/* Port states as the datapath sees them [802.1D-2004 17.4]. Forwarding is 0, so a port
 * whose bridge runs no spanning tree forwards. */
enum fp_stp_state {
	FP_STP_FORWARDING = 0,
	FP_STP_LEARNING = 1,
	FP_STP_DISCARDING = 2,
};

/* Port flags (struct fp_port.flags). */
enum fp_port_flags {
	/* The bridge runs STP/RSTP: BPDUs on this port go to the control plane. */
	FP_PORT_F_STP = 1u << 0,
	/* The bridge forwards BPDUs (OVS forward-bpdu); only meaningful without STP. */
	FP_PORT_F_FORWARD_BPDU = 1u << 1,
	/* Do not learn source MACs on this port. */
	FP_PORT_F_NO_LEARN = 1u << 2,
	/* Control-plane bookkeeping, ignored by the datapath: the configuration had a `tag`
	 * (else tag is 0 and means unset), an explicit `vlan_mode`, a non-empty `trunks`. */
	FP_PORT_F_TAG_SET = 1u << 8,
	FP_PORT_F_MODE_SET = 1u << 9,
	FP_PORT_F_TRUNKS_SET = 1u << 10,
	/* Control-plane bookkeeping: the requested XDP attach mode (neither bit: auto). */
	FP_PORT_F_XDP_NATIVE = 1u << 11,
	FP_PORT_F_XDP_GENERIC = 1u << 12,
};

/* fp_ports value, keyed by the port's ifindex (__u32). */
struct fp_port {
	/* Bridge number (1 ... FP_MAX_BRIDGES - 1). */
	__u32 bridge;
	/* Counter slot in fp_stats (0 ... FP_MAX_PORTS - 1), unique per port. */
	__u32 slot;
	/* enum fp_port_flags. */
	__u32 flags;
	/* PVID: the VLAN of untagged frames in access and native modes (0 ... 4095). */
	__u16 tag;
	/* enum fp_vlan_mode. */
	__u8 vlan_mode;
	/* enum fp_stp_state. */
	__u8 stp_state;
	/* Trunked VIDs, bit v of byte v / 8 (LSB first); all ones when `trunks` is empty. */
	__u8 trunks[512];
};

/* fp_fdb key: one MAC in one VLAN of one bridge. 12 bytes, no padding. */
struct fp_fdb_key {
	/* Bridge number. */
	__u32 bridge;
	/* VID 0 ... 4095 (0 = untagged traffic of trunk ports). */
	__u16 vlan;
	/* MAC address, wire order. */
	__u8 mac[6];
};

/* FDB entry flags (struct fp_fdb_value.flags). */
enum fp_fdb_flags {
	/* Configured by the operator: never aged, never moved by learning. */
	FP_FDB_F_STATIC = 1u << 0,
	/* Set by the datapath when it reported the MAC on another port; cleared when the
	 * control plane installs the entry again. A frame from the entry's own port while it is
	 * set is reported too, so the FDB ends on the port of the last frame. */
	FP_FDB_F_MOVING = 1u << 1,
};

/* fp_fdb value. */
struct fp_fdb_value {
	/* Output port's ifindex. */
	__u32 ifindex;
	/* enum fp_fdb_flags. */
	__u32 flags;
	/* Last time a frame from this MAC arrived on this port, bpf_ktime_get_coarse_ns()
	 * (CLOCK_MONOTONIC, ns); refreshed at most every FP_FDB_REFRESH_NS. */
	__u64 last_seen_ns;
};

/* One record on the fp_learn_ev ring buffer: a source MAC that is unknown, or known on
 * another port. */
struct fp_learn_event {
	/* Bridge number. */
	__u32 bridge;
	/* ifindex the frame arrived on. */
	__u32 ifindex;
	/* ifindex the FDB had for this MAC, 0 when unknown. */
	__u32 old_ifindex;
	/* VLAN the frame was classified into. */
	__u16 vlan;
	/* Source MAC, wire order. */
	__u8 mac[6];
	/* bpf_ktime_get_coarse_ns() when seen (CLOCK_MONOTONIC, ns). */
	__u64 time_ns;
};

/* fp_learn_pend value (datapath-internal dedup of learn events, keyed by struct
 * fp_fdb_key): the last port reported for the MAC, and when. */
struct fp_learn_pend {
	/* bpf_ktime_get_coarse_ns() of the last record sent. */
	__u64 time_ns;
	/* ifindex that record named. */
	__u32 ifindex;
	__u32 pad;
};

/* Per-port counters, one __u64 each in struct fp_port_stats (fp_stats, per CPU, keyed by
 * the port's slot). RX counts what arrives on the port, TX what the port sends. The
 * FP_DROP_* entries are the drop reasons; every frame ends in exactly one verdict. */
enum fp_stat {
	FP_STAT_RX_PACKETS = 0,
	FP_STAT_RX_BYTES,
	/* Known unicast redirected to one port. */
	FP_STAT_UNICAST,
	/* Broadcast, multicast or unknown unicast flooded. */
	FP_STAT_FLOOD,
	/* Passed to the port's own netdev (BPDUs for the control plane). */
	FP_STAT_TO_HOST,
	FP_STAT_TX_PACKETS,
	FP_STAT_TX_BYTES,
	/* Learn events written to the ring buffer / lost because it was full. */
	FP_STAT_LEARN_EVENTS,
	FP_STAT_LEARN_LOST,
	/* Drop reasons. */
	FP_DROP_MALFORMED,     /* truncated Ethernet or VLAN header */
	FP_DROP_VLAN_INGRESS,  /* VLAN not admitted on ingress */
	FP_DROP_VLAN_EGRESS,   /* VLAN not allowed out of this port */
	FP_DROP_STP,           /* ingress port is not forwarding */
	FP_DROP_STP_EGRESS,    /* egress port is not forwarding */
	FP_DROP_SAME_PORT,     /* destination is learned on the ingress port */
	FP_DROP_RESERVED,      /* 01:80:C2:00:00:0X not forwarded */
	FP_DROP_REDIRECT,      /* bpf_redirect_map failed */
	FP_STAT_MAX,
};

/* fp_stats value (BPF_MAP_TYPE_PERCPU_ARRAY, key = port slot). */
struct fp_port_stats {
	__u64 count[FP_STAT_MAX];
};

#endif /* FLOWPLANE_ABI_H */
