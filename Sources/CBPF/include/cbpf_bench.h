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
/* Pins the calling thread to cpu (sched_setaffinity). */
int cbpf_pin_cpu(int cpu);
#endif
