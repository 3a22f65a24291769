/* fp-bench shims: the reference XDP programs (bpf/bench_redirect.bpf.c), timed live-frame
 * runs and an AF_PACKET sendmmsg frame source. Negative errno on failure, as in cbpf.h. */
#ifndef CBPF_BENCH_H
#define CBPF_BENCH_H
#include <stddef.h>
#include <linux/types.h>

struct bpf_object;

/* The loaded bench_redirect object. */
struct cbpf_bench {
	struct bpf_object *obj;
	int redirect_fd, flood_fd, pass_fd, count_fd;
	int tx_fd, flood_ports_fd, rx_fd, rx_slot_fd;
};

int cbpf_bench_load(const void *buf, size_t len, struct cbpf_bench *b, const char **op);
void cbpf_bench_close(struct cbpf_bench *b);

/* The sum over CPUs of the per-CPU u64 at key of map fd. */
int cbpf_percpu_sum(int fd, __u32 key, __u64 *sum);

/* Opens a pinned object (program or map); the fd or a negative errno. */
int cbpf_obj_get(const char *path);

/* BPF_PROG_TEST_RUN of an XDP program with BPF_F_TEST_XDP_LIVE_FRAMES: `repeat` copies of
 * the frame arriving on ingress_ifindex. *duration_ns gets the kernel's time per frame. */
int cbpf_xdp_live_run(int prog_fd, const void *data, __u32 len, __u32 ingress_ifindex,
		      __u32 repeat, __u32 batch_size, __u32 *duration_ns);

/* Sends `frame` on the bound AF_PACKET socket fd with sendmmsg, `batch` frames per call,
 * until `max_frames` are sent or `max_seconds` elapsed. Returns 0; *sent gets the frames the
 * kernel accepted. */
int cbpf_afp_blast(int fd, const void *frame, size_t len, unsigned batch, __u64 max_frames,
		   double max_seconds, __u64 *sent);
/* Pins the calling thread to cpu (sched_setaffinity); cpu < 0: every online CPU. */
int cbpf_pin_cpu(int cpu);
/* Pins every thread of process pid to cpu (cpu < 0: every online CPU); threads it creates
 * later inherit that. */
int cbpf_pin_process(int pid, int cpu);

/* The loaded bench_vary object (bpf/bench_vary.bpf.c): one test run presents many frames
 * that differ in one MAC to a program of the switch, through a tail call. */
struct cbpf_vary {
	struct bpf_object *obj;
	int prog_fd, end_fd;
	int ctl_fd, seq_fd, jump_fd;
	/* Entries of fpb_vary_seq: the most frames one run varies over. */
	__u32 max_frames;
};

/* Which MAC of the frame the runs vary (enum fpb_vary_field). */
enum cbpf_vary_field { CBPF_VARY_DST = 0, CBPF_VARY_SRC = 1 };

int cbpf_vary_load(const void *buf, size_t len, struct cbpf_vary *v, const char **op);
void cbpf_vary_close(struct cbpf_vary *v);
/* Points the driver at target_fd (a program of the switch, or v->end_fd to time the driver
 * alone) and loads seq[0 ... n-1] (the low 24 bits of each run's MAC in `field`). */
int cbpf_vary_prepare(struct cbpf_vary *v, int target_fd, int field, const __u32 *seq, __u32 n);
/* One BPF_PROG_TEST_RUN of the driver with repeat = n on `frame` arriving on ingress_ifindex
 * (n <= the n given to cbpf_vary_prepare), with BPF_F_TEST_XDP_LIVE_FRAMES when `live` (the
 * switch's redirects are carried out). *duration_ns gets the kernel's mean time per frame,
 * *retval the verdict of the last frame (0 when live). */
int cbpf_vary_run(struct cbpf_vary *v, const void *frame, __u32 len, __u32 ingress_ifindex, __u32 n,
		  int live, __u32 *duration_ns, __u32 *retval);
#endif
