/* fp-bench shims; see include/cbpf_bench.h. */
#define _GNU_SOURCE
#include "cbpf_bench.h"
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
	return p ? bpf_program__fd(p) : -ENOENT;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	return m ? bpf_map__fd(m) : -ENOENT;
}

/* Opens and loads an embedded object; NULL with *err (negative errno) and *op on failure. */
static struct bpf_object *open_and_load(const void *buf, size_t len, const char *name, int *err,
					const char **op)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = name);
	struct bpf_object *obj = bpf_object__open_mem(buf, len, &oo);

	if (!obj) {
		*op = "bpf_object__open_mem";
		*err = -errno;
		return NULL;
	}
	*err = bpf_object__load(obj);
	if (*err) {
		*op = "bpf_object__load";
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

int cbpf_bench_load(const void *buf, size_t len, struct cbpf_bench *b, const char **op)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->obj = open_and_load(buf, len, "fpb", &err, op);
	if (!b->obj)
		return err;
	b->redirect_fd = prog_fd(b->obj, "fpb_redirect");
	b->flood_fd = prog_fd(b->obj, "fpb_flood");
	b->pass_fd = prog_fd(b->obj, "fpb_pass");
	b->count_fd = prog_fd(b->obj, "fpb_count");
	b->tx_fd = map_fd(b->obj, "fpb_tx");
	b->flood_ports_fd = map_fd(b->obj, "fpb_flood_ports");
	b->rx_fd = map_fd(b->obj, "fpb_rx");
	b->rx_slot_fd = map_fd(b->obj, "fpb_rx_slot");
	if (b->redirect_fd < 0 || b->flood_fd < 0 || b->pass_fd < 0 || b->count_fd < 0 ||
	    b->tx_fd < 0 || b->flood_ports_fd < 0 || b->rx_fd < 0 || b->rx_slot_fd < 0) {
		*op = "bpf_object__find_program_by_name";
		cbpf_bench_close(b);
		return -ENOENT;
	}
	return 0;
}

void cbpf_bench_close(struct cbpf_bench *b)
{
	if (b->obj)
		bpf_object__close(b->obj);
	b->obj = NULL;
}

int cbpf_percpu_sum(int fd, __u32 key, __u64 *sum)
{
	int n = libbpf_num_possible_cpus();
	__u64 *vals;
	int err;

	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	vals = calloc((size_t)n, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &key, vals);
	if (err) {
		err = -errno;
	} else {
		*sum = 0;
		for (int i = 0; i < n; i++)
			*sum += vals[i];
	}
	free(vals);
	return err;
}

int cbpf_obj_get(const char *path)
{
	int fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int cbpf_xdp_live_run(int prog_fd, const void *data, __u32 len, __u32 ingress_ifindex,
		      __u32 repeat, __u32 batch_size, __u32 *duration_ns)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = data, .data_size_in = len,
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = (int)repeat, .batch_size = batch_size,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int err = bpf_prog_test_run_opts(prog_fd, &o);

	if (err)
		return err < 0 ? err : -errno;
	if (duration_ns)
		*duration_ns = o.duration;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cbpf_afp_blast(int fd, const void *frame, size_t len, unsigned batch, __u64 max_frames,
		   double max_seconds, __u64 *sent)
{
	struct mmsghdr msgs[256];
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	double end = now_seconds() + max_seconds;
	unsigned errors = 0;

	if (batch == 0 || batch > 256)
		batch = 256;
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	*sent = 0;
	/* Bounded by frames and time; the clock is read every 16 calls. */
	for (__u64 calls = 0; *sent < max_frames; calls++) {
		unsigned n = batch;
		int r;

		if (max_frames - *sent < n)
			n = (unsigned)(max_frames - *sent);
		r = sendmmsg(fd, msgs, n, 0);
		if (r > 0) {
			*sent += (unsigned)r;
		} else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			return -errno;
		} else if (++errors > 1000000) {
			return -EIO;
		}
		if ((calls & 15) == 0 && now_seconds() >= end)
			break;
	}
	return 0;
}

static void cpu_set_for(int cpu, cpu_set_t *set)
{
	CPU_ZERO(set);
	if (cpu >= 0) {
		CPU_SET(cpu, set);
	} else {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		for (long i = 0; i < n && i < CPU_SETSIZE; i++)
			CPU_SET(i, set);
	}
}

int cbpf_pin_cpu(int cpu)
{
	cpu_set_t set;

	cpu_set_for(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int cbpf_pin_process(int pid, int cpu)
{
	char path[64];
	struct dirent *d;
	cpu_set_t set;
	int err = 0;
	DIR *dir;

	cpu_set_for(cpu, &set);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		int tid = atoi(d->d_name);
		/* A thread may have exited meanwhile. */
		if (tid > 0 && sched_setaffinity(tid, sizeof(set), &set) && errno != ESRCH && !err)
			err = -errno;
	}
	closedir(dir);
	return err;
}

int cbpf_vary_load(const void *buf, size_t len, struct cbpf_vary *v, const char **op)
{
	struct bpf_map *seq;
	int err;

	memset(v, 0, sizeof(*v));
	v->obj = open_and_load(buf, len, "fpb_vary", &err, op);
	if (!v->obj)
		return err;
	v->prog_fd = prog_fd(v->obj, "fpb_vary");
	v->end_fd = prog_fd(v->obj, "fpb_vary_end");
	v->ctl_fd = map_fd(v->obj, "fpb_vary_ctl");
	v->seq_fd = map_fd(v->obj, "fpb_vary_seq");
	v->jump_fd = map_fd(v->obj, "fpb_vary_jump");
	seq = bpf_object__find_map_by_name(v->obj, "fpb_vary_seq");
	v->max_frames = seq ? bpf_map__max_entries(seq) : 0;
	if (v->prog_fd < 0 || v->end_fd < 0 || v->ctl_fd < 0 || v->seq_fd < 0 || v->jump_fd < 0) {
		*op = "bpf_object__find_program_by_name";
		cbpf_vary_close(v);
		return -ENOENT;
	}
	return 0;
}

void cbpf_vary_close(struct cbpf_vary *v)
{
	if (v->obj)
		bpf_object__close(v->obj);
	v->obj = NULL;
}

int cbpf_vary_prepare(struct cbpf_vary *v, int target_fd, int field, const __u32 *seq, __u32 n)
{
	struct { __u32 next, field; } ctl = { 0, (__u32)field };
	__u32 zero = 0, done = 0;
	__u32 *keys;
	int err;

	if (n > v->max_frames)
		return -E2BIG;
	if (bpf_map_update_elem(v->jump_fd, &zero, &target_fd, BPF_ANY) ||
	    bpf_map_update_elem(v->ctl_fd, &zero, &ctl, BPF_ANY))
		return -errno;
	keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	/* One system call for the whole sequence where the kernel has array batch updates. */
	done = n;
	err = n ? bpf_map_update_batch(v->seq_fd, keys, seq, &done, NULL) : 0;
	if (err)
		for (err = 0; done < n && !err; done++)
			err = bpf_map_update_elem(v->seq_fd, &keys[done], &seq[done], BPF_ANY) ? -errno : 0;
	free(keys);
	return err;
}

int cbpf_vary_run(struct cbpf_vary *v, const void *frame, __u32 len, __u32 ingress_ifindex, __u32 n,
		  int live, __u32 *duration_ns, __u32 *retval)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ingress_ifindex };
	struct { __u32 next, field; } ctl;
	__u32 zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = frame, .data_size_in = len,
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = (int)n, .flags = live ? BPF_F_TEST_XDP_LIVE_FRAMES : 0);
	int err;

	if (bpf_map_lookup_elem(v->ctl_fd, &zero, &ctl))
		return -errno;
	ctl.next = 0;
	if (bpf_map_update_elem(v->ctl_fd, &zero, &ctl, BPF_ANY))
		return -errno;
	err = bpf_prog_test_run_opts(v->prog_fd, &o);
	if (err)
		return err < 0 ? err : -errno;
	if (duration_ns)
		*duration_ns = o.duration;
	if (retval)
		*retval = o.retval;
	return 0;
}
