/* fp-bench's reference programs (issue 5), not part of the switch:
 *   fpb_redirect  the trivial XDP switch: every frame to the other port (fpb_tx[0]), the
 *                 limit of any XDP switch on this machine;
 *   fpb_flood     every frame to every port of fpb_flood but the ingress one, one
 *                 bpf_redirect_map with BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
 *   fpb_pass      XDP_PASS: a live frame from BPF_PROG_TEST_RUN enters the stack on its
 *                 ingress port (the Linux-bridge arm's frame source);
 *   fpb_count     the receivers' counter: counts in the receiver's per-CPU slot, drops. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Key 0: the output port of fpb_redirect. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fpb_tx SEC(".maps");

/* Every port of the flood arm, keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} fpb_flood_ports SEC(".maps");

/* Receiver ifindex to its counter slot in fpb_rx (read-only per frame). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} fpb_rx_slot SEC(".maps");

/* Frames each receiver saw, per CPU (no shared cache line written per frame). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} fpb_rx SEC(".maps");

SEC("xdp")
int fpb_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&fpb_tx, 0, 0);
}

SEC("xdp")
int fpb_flood(struct xdp_md *ctx)
{
	return bpf_redirect_map(&fpb_flood_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
}

SEC("xdp")
int fpb_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int fpb_count(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 *slot = bpf_map_lookup_elem(&fpb_rx_slot, &ifindex);
	__u64 *n;

	if (!slot)
		return XDP_DROP;
	n = bpf_map_lookup_elem(&fpb_rx, slot);

	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
