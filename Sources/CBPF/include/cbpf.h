/* C shims over libbpf 1.1, rtnetlink, ethtool and network namespaces, for Swift.
 *
 * Functions returning int return 0 (or a count/fd) on success and a negative errno on
 * failure; where several system calls are involved, *op names the one that failed. */
#ifndef CBPF_H
#define CBPF_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <sys/types.h>
#include "flowplane_abi.h"
#include "cbpf_mem.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

/* The loaded datapath object: programs and (possibly reused pinned) maps. */
struct cbpf_datapath {
	struct bpf_object *obj;
	int ingress_fd, egress_flood_fd;
	__u32 ingress_id, egress_flood_id;
	int ports_fd, fdb_fd, tx_fd, flood_fd, stats_fd, learn_ev_fd, learn_pend_fd, abi_fd;
	/* Maps that were found pinned and reused (by count). */
	int reused_maps;
	/* The FDB's capacity in entries (the map itself holds FP_FDB_HEADROOM times as many). */
	__u32 fdb_max_entries;
	/* Transient maps found pinned with other parameters, unpinned and created afresh
	 * (enum cbpf_recreated bits). */
	__u32 recreated_maps;
};

/* cbpf_datapath.recreated_maps bits. */
enum cbpf_recreated {
	CBPF_RECREATED_LEARN_EV = 1,   /* fp_learn_ev: events in flight were dropped */
	CBPF_RECREATED_LEARN_PEND = 2, /* fp_learn_pend: learn dedup starts empty */
};

/* Opens the object (from memory, or from obj_path when not NULL), sizes fp_fdb (capacity,
 * or what a pinned fp_fdb has), loads it reusing/pinning maps under pin_root, and pins the
 * programs there as fp_ingress / fp_egress_flood (and removes the fp_egress pin that
 * daemons before known unicast skipped the egress program left). A pinned fp_learn_ev or
 * fp_learn_pend whose parameters differ from the object's (an older build's ring size) is
 * unpinned and created afresh, reported in dp->recreated_maps; any other mismatch fails. */
int cbpf_datapath_load(const void *buf, size_t len, const char *obj_path, const char *pin_root,
		       __u32 fdb_capacity, struct cbpf_datapath *dp, const char **op);
void cbpf_datapath_close(struct cbpf_datapath *dp);

/* Mounts bpffs at path unless it is on bpffs already. */
int cbpf_ensure_bpffs(const char *path, const char **op);
/* 1 when path is on a bpffs, 0 when not, -errno when it cannot be examined. */
int cbpf_is_bpffs(const char *path);

/* XDP attach modes (XDPAttachMode): 0 auto, 1 native, 2 generic. */
enum cbpf_xdp_mode { CBPF_XDP_AUTO = 0, CBPF_XDP_NATIVE = 1, CBPF_XDP_GENERIC = 2 };

/* Attaches prog_fd to ifindex in mode; a program already attached in the same mode is
 * replaced atomically (XDP_FLAGS_REPLACE). *used gets the mode used (1 native, 2 generic). */
int cbpf_xdp_attach(int ifindex, int prog_fd, int mode, int *used, const char **op);
/* Detaches the program of ifindex in whatever mode, only when its name is `name` (NULL:
 * any). Returns 1 when something was detached, 0 when nothing was. */
int cbpf_xdp_detach(int ifindex, const char *name, const char **op);
/* The id and mode (1 native, 2 generic, 0 none) of the XDP program attached to ifindex. */
int cbpf_xdp_query(int ifindex, __u32 *prog_id, int *mode);
/* The name of program `id` into name[16]. */
int cbpf_prog_name(__u32 id, char *name);

/* A link's kind ("veth", "tun", ...), its peer ifindex (IFLA_LINK, 0 if none) and the
 * peer's netns id (IFLA_LINK_NETNSID, -1 if the peer is in the same netns). */
struct cbpf_link_info {
	char kind[32];
	int link;
	int link_netnsid;
};
int cbpf_link_info(int ifindex, struct cbpf_link_info *info, const char **op);
/* An fd of the network namespace whose id (as seen from ours) is nsid: searched among
 * /run/netns/ * and /proc/ * /ns/net. -ENOENT when none matches. */
int cbpf_netns_fd_for_id(int nsid, const char **op);

/* What cbpf_prepare_veth_peer changed (bit mask). */
enum cbpf_peer_change {
	CBPF_PEER_GRO_ON = 1,
	CBPF_PEER_TX_CSUM_OFF = 2,
	CBPF_PEER_TX_VLAN_OFF = 4,
};
/* In the netns netns_fd (-1: ours), on a short-lived thread: turns GRO on, TX checksum off
 * and tx-vlan-hw-insert off on ifindex. Returns the cbpf_peer_change mask. */
int cbpf_prepare_veth_peer(int netns_fd, int ifindex, const char **op);

enum cbpf_port_change {
	CBPF_PORT_RX_VLAN_OFF = 1,
};
/* On a port itself (our netns): turns rx-vlan-hw-parse off, so a NIC that strips VLAN tags
 * into metadata hands XDP the tag inline. Returns the cbpf_port_change mask; a device whose
 * feature is fixed is left alone. */
int cbpf_prepare_port(int ifindex, const char **op);

/* Test and tool helpers. */
/* An AF_PACKET raw socket bound to ifname in the netns at netns_path (NULL: ours), with
 * PACKET_AUXDATA on. Returns the fd. */
int cbpf_packet_socket(const char *netns_path, const char *ifname, const char **op);
/* Receives one incoming frame (outgoing ones are skipped) within timeout_ms, re-inserting a
 * VLAN tag the kernel moved into metadata. Returns its length, 0 on timeout. */
ssize_t cbpf_packet_recv(int fd, void *buf, size_t cap, int timeout_ms);
/* The ifindex of ifname in the netns at netns_path (NULL: ours). */
int cbpf_ifindex_in_netns(const char *netns_path, const char *ifname);

/* BPF_PROG_TEST_RUN of an XDP program on one frame arriving on ingress_ifindex. out may be
 * NULL (required with BPF_F_TEST_XDP_LIVE_FRAMES); *out_len is its capacity in, length out. */
int cbpf_xdp_test_run(int prog_fd, const void *data, __u32 len, void *out, __u32 *out_len,
		      __u32 ingress_ifindex, __u32 flags, __u32 repeat, __u32 *retval);
#endif
