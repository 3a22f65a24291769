/* libbpf shims: load/pin the datapath object, mount bpffs, attach XDP, test runs. */
#include "cbpf.h"
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#define FAIL(name, err) do { if (op) *op = (name); return -(err); } while (0)

int cbpf_is_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC;
}

int cbpf_ensure_bpffs(const char *path, const char **op)
{
	struct statfs st;

	if (statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(path, 0700) && errno != EEXIST)
		FAIL("mkdir", errno);
	if (mount("bpf", path, "bpf", 0, "mode=0700"))
		FAIL("mount", errno);
	return 0;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	return m ? bpf_map__fd(m) : -1;
}

/* Maps that hold only transient state (learn events in flight, learn-event dedup): a
 * pinned one whose parameters differ from this build's (an upgrade resized it) is unpinned
 * so that a fresh one is created, instead of libbpf refusing to reuse it. */
static const struct {
	const char *name;
	__u32 flag;
} transient_maps[] = {
	{ "fp_learn_ev", CBPF_RECREATED_LEARN_EV },
	{ "fp_learn_pend", CBPF_RECREATED_LEARN_PEND },
};

/* When `m` is a transient map pinned at `path` with another type, key or value size, size or
 * flags than the object's, unlinks the pin and returns its flag (0 when kept or absent). */
static __u32 unpin_mismatched_transient(struct bpf_map *m, const char *path)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), flag = 0;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(transient_maps) / sizeof(transient_maps[0]); i++)
		if (!strcmp(bpf_map__name(m), transient_maps[i].name))
			flag = transient_maps[i].flag;
	if (!flag)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) ||
	    (info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
	     info.value_size == bpf_map__value_size(m) && info.max_entries == bpf_map__max_entries(m) &&
	     info.map_flags == bpf_map__map_flags(m)))
		flag = 0;
	close(fd);
	if (flag && unlink(path))
		flag = 0; /* libbpf will refuse it and say why */
	return flag;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static int pin_prog(struct bpf_object *obj, const char *pin_root, const char *name, int *fd)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
	char path[PATH_MAX];

	if (!p)
		return -ENOENT;
	*fd = bpf_program__fd(p);
	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	unlink(path);
	return bpf_program__pin(p, path);
}

int cbpf_datapath_load(const void *buf, size_t len, const char *obj_path, const char *pin_root,
		       __u32 fdb_capacity, struct cbpf_datapath *dp, const char **op)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root, .object_name = "fp_xdp");
	struct bpf_object *obj;
	struct bpf_map *m;
	char path[PATH_MAX];
	__u32 fdb_entries, fdb_flags;
	int err, fd;

	memset(dp, 0, sizeof(*dp));
	obj = obj_path ? bpf_object__open_file(obj_path, &opts) : bpf_object__open_mem(buf, len, &opts);
	if (!obj)
		FAIL(obj_path ? "bpf_object__open_file" : "bpf_object__open_mem", errno ? errno : EINVAL);

	/* A new FDB of capacity C is a hash map of FP_FDB_HEADROOM * C entries without
	 * preallocation: the kernel sizes a hash map's bucket array from max_entries, so a full
	 * FDB still has short chains (fewer cache misses per lookup), while its memory follows
	 * the entries stored. The control plane keeps to C (mac-table-size <= C). A pinned FDB
	 * keeps its size and flags: reusing it requires the same max_entries and map_flags. */
	dp->fdb_max_entries = fdb_capacity ? fdb_capacity : FP_FDB_MAX;
	fdb_entries = dp->fdb_max_entries <= UINT32_MAX / FP_FDB_HEADROOM ?
		      dp->fdb_max_entries * FP_FDB_HEADROOM : dp->fdb_max_entries;
	fdb_flags = BPF_F_NO_PREALLOC;
	snprintf(path, sizeof(path), "%s/fp_fdb", pin_root);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_map_info info = {};
		__u32 ilen = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			fdb_entries = info.max_entries;
			fdb_flags = info.map_flags;
			dp->fdb_max_entries = (fdb_flags & BPF_F_NO_PREALLOC) ? fdb_entries / FP_FDB_HEADROOM
									       : fdb_entries;
		}
		close(fd);
	}
	m = bpf_object__find_map_by_name(obj, "fp_fdb");
	if (!m || (err = bpf_map__set_max_entries(m, fdb_entries)) ||
	    (err = bpf_map__set_map_flags(m, fdb_flags))) {
		bpf_object__close(obj);
		FAIL("bpf_map__set_max_entries", m ? -err : ENOENT);
	}
	/* Count maps already pinned, to tell the caller it adopted state. The kernel adds
	 * BPF_F_RDONLY_PROG to a devmap's flags, which libbpf 1.1's reuse check then refuses,
	 * so devmaps are reused and pinned here rather than by libbpf. */
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		if (strchr(name, '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, name);
		dp->recreated_maps |= unpin_mismatched_transient(m, path);
		if (access(path, F_OK) == 0)
			dp->reused_maps++;
		if (bpf_map__type(m) != BPF_MAP_TYPE_DEVMAP_HASH && bpf_map__type(m) != BPF_MAP_TYPE_DEVMAP)
			continue;
		bpf_map__set_pin_path(m, NULL);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			err = bpf_map__reuse_fd(m, fd);
			close(fd);
			if (err) {
				bpf_object__close(obj);
				FAIL("bpf_map__reuse_fd", -err);
			}
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		bpf_object__close(obj);
		FAIL("bpf_object__load", -err);
	}
	dp->obj = obj;
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		if (strchr(name, '.') ||
		    (bpf_map__type(m) != BPF_MAP_TYPE_DEVMAP_HASH && bpf_map__type(m) != BPF_MAP_TYPE_DEVMAP))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, name);
		if (access(path, F_OK) != 0 && (err = bpf_obj_pin(bpf_map__fd(m), path))) {
			bpf_object__close(obj);
			dp->obj = NULL;
			FAIL("bpf_obj_pin", -err);
		}
	}
	if ((err = pin_prog(obj, pin_root, "fp_ingress", &dp->ingress_fd)) ||
	    (err = pin_prog(obj, pin_root, "fp_egress_flood", &dp->egress_flood_fd))) {
		bpf_object__close(obj);
		dp->obj = NULL;
		FAIL("bpf_program__pin", -err);
	}
	/* Older datapaths ran a unicast egress program; adopting their ports drops it. */
	snprintf(path, sizeof(path), "%s/fp_egress", pin_root);
	unlink(path);
	dp->ingress_id = prog_id(dp->ingress_fd);
	dp->egress_flood_id = prog_id(dp->egress_flood_fd);
	dp->ports_fd = map_fd(obj, "fp_ports");
	dp->fdb_fd = map_fd(obj, "fp_fdb");
	dp->tx_fd = map_fd(obj, "fp_tx");
	dp->flood_fd = map_fd(obj, "fp_flood");
	dp->stats_fd = map_fd(obj, "fp_stats");
	dp->learn_ev_fd = map_fd(obj, "fp_learn_ev");
	dp->learn_pend_fd = map_fd(obj, "fp_learn_pend");
	dp->abi_fd = map_fd(obj, "fp_abi");
	return 0;
}

void cbpf_datapath_close(struct cbpf_datapath *dp)
{
	if (dp->obj)
		bpf_object__close(dp->obj);
	dp->obj = NULL;
}

int cbpf_xdp_query(int ifindex, __u32 *prog_id_out, int *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	*prog_id_out = 0;
	*mode = 0;
	if (q.drv_prog_id) {
		*prog_id_out = q.drv_prog_id;
		*mode = CBPF_XDP_NATIVE;
	} else if (q.skb_prog_id) {
		*prog_id_out = q.skb_prog_id;
		*mode = CBPF_XDP_GENERIC;
	}
	return 0;
}

int cbpf_prog_name(__u32 id, char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), err;

	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return err;
	memcpy(name, info.name, 16);
	name[15] = 0;
	return 0;
}

static __u32 mode_flags(int mode)
{
	return mode == CBPF_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/* Attaches in exactly `mode` (native or generic), replacing old_id atomically if set. */
static int attach_in(int ifindex, int prog_fd, int mode, __u32 old_id)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o);
	int old_fd = -1, err;

	if (old_id) {
		old_fd = bpf_prog_get_fd_by_id(old_id);
		if (old_fd < 0)
			return -errno;
		o.old_prog_fd = old_fd;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, mode_flags(mode), &o);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int cbpf_xdp_attach(int ifindex, int prog_fd, int mode, int *used, const char **op)
{
	__u32 cur_id;
	int cur_mode, err;

	err = cbpf_xdp_query(ifindex, &cur_id, &cur_mode);
	if (err)
		FAIL("bpf_xdp_query", -err);
	if (mode == CBPF_XDP_AUTO && cur_mode)
		mode = cur_mode; /* keep the mode it runs in: replace atomically */
	if (mode == CBPF_XDP_AUTO) {
		err = attach_in(ifindex, prog_fd, CBPF_XDP_NATIVE, 0);
		if (!err) {
			*used = CBPF_XDP_NATIVE;
			return 0;
		}
		mode = CBPF_XDP_GENERIC;
	}
	if (cur_mode && cur_mode != mode) {
		/* Changing mode cannot be atomic: the kernel runs one mode at a time. */
		err = bpf_xdp_detach(ifindex, mode_flags(cur_mode), NULL);
		if (err)
			FAIL("bpf_xdp_detach", -err);
		cur_id = 0;
	}
	err = attach_in(ifindex, prog_fd, mode, cur_mode == mode ? cur_id : 0);
	if (err)
		FAIL("bpf_xdp_attach", -err);
	*used = mode;
	return 0;
}

int cbpf_xdp_detach(int ifindex, const char *name, const char **op)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o);
	char pname[16];
	__u32 id;
	int mode, err, fd;

	err = cbpf_xdp_query(ifindex, &id, &mode);
	if (err)
		FAIL("bpf_xdp_query", -err);
	if (!mode)
		return 0;
	if (name && (cbpf_prog_name(id, pname) || strcmp(pname, name)))
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0)
		o.old_prog_fd = fd;
	err = bpf_xdp_detach(ifindex, mode_flags(mode), &o);
	if (fd >= 0)
		close(fd);
	if (err)
		FAIL("bpf_xdp_detach", -err);
	return 1;
}

int cbpf_xdp_test_run(int prog_fd, const void *data, __u32 len, void *out, __u32 *out_len,
		      __u32 ingress_ifindex, __u32 flags, __u32 repeat, __u32 *retval)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = data, .data_size_in = len,
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = (int)repeat, .flags = flags);
	int err;

	if (out && out_len) {
		o.data_out = out;
		o.data_size_out = *out_len;
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err;
	if (out && out_len)
		*out_len = o.data_size_out;
	if (retval)
		*retval = o.retval;
	return 0;
}
