/* fp-bench's frame driver for the control-plane section, not part of the switch:
 *   fpb_vary      run by BPF_PROG_TEST_RUN with `repeat` = N on one frame: run i writes the
 *                 i-th value of fpb_vary_seq into the last three bytes of the frame's
 *                 destination MAC (fpb_vary_ctl.field FPB_VARY_DST) or source MAC
 *                 (FPB_VARY_SRC), then tail-calls fpb_vary_jump[0], the switch's fp_ingress.
 *                 One system call so presents N frames, back to back, that differ in that MAC
 *                 (a burst of new source MACs; traffic to a set of destinations);
 *   fpb_vary_end  XDP_DROP: fpb_vary_jump[0] points here to time the driver alone.
 * A test run (not live) keeps the frame between runs, so only the three bytes change. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#ifndef FPB_VARY_MAX
/* Most frames one run can vary over (entries of fpb_vary_seq). */
#define FPB_VARY_MAX (1 << 18)
#endif

enum fpb_vary_field {
	FPB_VARY_DST = 0,
	FPB_VARY_SRC = 1,
};

struct fpb_vary_ctl {
	/* Index into fpb_vary_seq of the next run; fp-bench sets it to 0 before a burst. */
	__u32 next;
	/* enum fpb_vary_field: which MAC the runs vary. */
	__u32 field;
};

/* Index 0: where the runs are and what they vary. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fpb_vary_ctl);
} fpb_vary_ctl SEC(".maps");

/* The low 24 bits of the MAC of each run, in order. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FPB_VARY_MAX);
	__type(key, __u32);
	__type(value, __u32);
} fpb_vary_seq SEC(".maps");

/* Index 0: the program each run goes on to (fp_ingress, or fpb_vary_end). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fpb_vary_jump SEC(".maps");

SEC("xdp")
int fpb_vary(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct fpb_vary_ctl *c;
	__u32 zero = 0, *v;
	__u8 *mac;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	c = bpf_map_lookup_elem(&fpb_vary_ctl, &zero);
	if (!c)
		return XDP_ABORTED;
	v = bpf_map_lookup_elem(&fpb_vary_seq, &c->next);
	if (!v)
		return XDP_ABORTED;
	c->next++;
	mac = c->field == FPB_VARY_SRC ? eth->h_source : eth->h_dest;
	mac[3] = (__u8)(*v >> 16);
	mac[4] = (__u8)(*v >> 8);
	mac[5] = (__u8)*v;
	bpf_tail_call(ctx, &fpb_vary_jump, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int fpb_vary_end(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
