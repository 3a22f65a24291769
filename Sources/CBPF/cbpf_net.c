/* rtnetlink, netns and ethtool shims: find a veth's peer and prepare it for XDP redirects;
 * AF_PACKET helpers for tests and tools. */
#define _GNU_SOURCE
#include "cbpf.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#define FAIL(name, err) do { if (op) *op = (name); return -(err); } while (0)

/* Sends one rtnetlink request and reads the first reply into buf. */
static int nl_request(struct nlmsghdr *req, char *buf, size_t cap)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n, err = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	n = recv(fd, buf, cap, 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if (n < (int)sizeof(struct nlmsghdr) || !NLMSG_OK((struct nlmsghdr *)buf, (unsigned)n)) {
		err = -EPROTO;
		goto out;
	}
	if (((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)buf);
		err = e->error ? e->error : -EPROTO;
		goto out;
	}
	err = n;
out:
	close(fd);
	return err;
}

int cbpf_link_info(int ifindex, struct cbpf_link_info *info, const char **op)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[16384];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *rta;
	int n, len;

	memset(info, 0, sizeof(*info));
	info->link_netnsid = -1;
	n = nl_request(&req.nh, buf, sizeof(buf));
	if (n < 0)
		FAIL("RTM_GETLINK", -n);
	len = IFLA_PAYLOAD(nh);
	for (rta = IFLA_RTA(NLMSG_DATA(nh)); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type) {
		case IFLA_LINK:
			info->link = *(int *)RTA_DATA(rta);
			break;
		case IFLA_LINK_NETNSID:
			info->link_netnsid = *(int *)RTA_DATA(rta);
			break;
		case IFLA_LINKINFO: {
			struct rtattr *in = RTA_DATA(rta);
			int ilen = RTA_PAYLOAD(rta);
			for (; RTA_OK(in, ilen); in = RTA_NEXT(in, ilen))
				if (in->rta_type == IFLA_INFO_KIND)
					snprintf(info->kind, sizeof(info->kind), "%.*s",
						 (int)RTA_PAYLOAD(in), (char *)RTA_DATA(in));
			break;
		}
		}
	}
	return 0;
}

/* The id our netns gives the netns of fd (RTM_GETNSID with NETNSA_FD), or < 0. */
static int nsid_of_fd(int nsfd)
{
	struct {
		struct nlmsghdr nh;
		struct rtgenmsg g;
		char pad[3];
		struct rtattr a;
		__u32 fd;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETNSID, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.g = { .rtgen_family = AF_UNSPEC },
		.a = { .rta_len = RTA_LENGTH(sizeof(__u32)), .rta_type = NETNSA_FD },
		.fd = (__u32)nsfd,
	};
	char buf[1024];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *rta;
	int n, len;

	n = nl_request(&req.nh, buf, sizeof(buf));
	if (n < 0)
		return n;
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct rtgenmsg));
	rta = (struct rtattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == NETNSA_NSID)
			return *(int *)RTA_DATA(rta);
	return -ENOENT;
}

static int try_ns(const char *path, int nsid)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (nsid_of_fd(fd) == nsid)
		return fd;
	close(fd);
	return -1;
}

int cbpf_netns_fd_for_id(int nsid, const char **op)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd = -1;

	if (nsid < 0)
		FAIL("RTM_GETNSID", EINVAL);
	if ((d = opendir("/run/netns"))) {
		while (fd < 0 && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			fd = try_ns(path, nsid);
		}
		closedir(d);
	}
	if (fd < 0 && (d = opendir("/proc"))) {
		while (fd < 0 && (de = readdir(d))) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
			fd = try_ns(path, nsid);
		}
		closedir(d);
	}
	if (fd < 0)
		FAIL("RTM_GETNSID", ENOENT);
	return fd;
}

/* Runs fn(arg) on a new thread that first enters netns_fd (when >= 0). */
struct ns_job {
	int netns_fd;
	int (*fn)(void *);
	void *arg;
	int result;
};

static void *ns_thread(void *p)
{
	struct ns_job *j = p;

	if (j->netns_fd >= 0 && setns(j->netns_fd, CLONE_NEWNET)) {
		j->result = -errno;
		return NULL;
	}
	j->result = j->fn(j->arg);
	return NULL;
}

static int run_in_netns(int netns_fd, int (*fn)(void *), void *arg)
{
	struct ns_job j = { .netns_fd = netns_fd, .fn = fn, .arg = arg };
	pthread_t t;
	int err;

	if (netns_fd < 0)
		return fn(arg);
	err = pthread_create(&t, NULL, ns_thread, &j);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return j.result;
}

static int ethtool(int fd, const char *ifname, void *cmd)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	return ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

static int get_value(int fd, const char *ifname, __u32 cmd, __u32 *val)
{
	struct ethtool_value v = { .cmd = cmd };
	int err = ethtool(fd, ifname, &v);

	*val = v.data;
	return err;
}

static int set_value(int fd, const char *ifname, __u32 cmd, __u32 val)
{
	struct ethtool_value v = { .cmd = cmd, .data = val };
	return ethtool(fd, ifname, &v);
}

/* Turns off the named feature (ETH_SS_FEATURES string). 1 if changed, 0 if already off. */
static int feature_off(int fd, const char *ifname, const char *feature)
{
	union { struct ethtool_sset_info hdr; char b[sizeof(struct ethtool_sset_info) + 8]; } sset;
	struct ethtool_gstrings *strings = NULL;
	struct ethtool_gfeatures *gf = NULL;
	struct ethtool_sfeatures *sf = NULL;
	__u32 n, blocks, i, idx = ~0u;
	int err;

	memset(&sset, 0, sizeof(sset));
	sset.hdr.cmd = ETHTOOL_GSSET_INFO;
	sset.hdr.sset_mask = 1ULL << ETH_SS_FEATURES;
	if ((err = ethtool(fd, ifname, &sset)))
		return err;
	n = sset.hdr.data[0];
	strings = calloc(1, sizeof(*strings) + (size_t)n * ETH_GSTRING_LEN);
	if (!strings)
		return -ENOMEM;
	strings->cmd = ETHTOOL_GSTRINGS;
	strings->string_set = ETH_SS_FEATURES;
	strings->len = n;
	if ((err = ethtool(fd, ifname, strings)))
		goto out;
	for (i = 0; i < n; i++)
		if (!strncmp((char *)strings->data + i * ETH_GSTRING_LEN, feature, ETH_GSTRING_LEN))
			idx = i;
	err = -ENOENT;
	if (idx == ~0u)
		goto out;
	blocks = (n + 31) / 32;
	gf = calloc(1, sizeof(*gf) + blocks * sizeof(gf->features[0]));
	sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
	err = -ENOMEM;
	if (!gf || !sf)
		goto out;
	gf->cmd = ETHTOOL_GFEATURES;
	gf->size = blocks;
	if ((err = ethtool(fd, ifname, gf)))
		goto out;
	err = 0;
	if (!(gf->features[idx / 32].active & (1u << (idx % 32))))
		goto out;
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = blocks;
	sf->features[idx / 32].valid = 1u << (idx % 32);
	sf->features[idx / 32].requested = 0;
	err = ethtool(fd, ifname, sf);
	if (err >= 0)
		err = 1;
out:
	free(strings);
	free(gf);
	free(sf);
	return err;
}

struct peer_job {
	int ifindex;
	const char *op;
};

static int prepare_peer(void *p)
{
	struct peer_job *j = p;
	char ifname[IF_NAMESIZE];
	__u32 v;
	int fd, err, changed = 0;

	if (!if_indextoname(j->ifindex, ifname)) {
		j->op = "if_indextoname";
		return -errno;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		j->op = "socket";
		return -errno;
	}
	j->op = "ETHTOOL_GGRO";
	if ((err = get_value(fd, ifname, ETHTOOL_GGRO, &v)))
		goto out;
	if (!v) {
		j->op = "ETHTOOL_SGRO";
		if ((err = set_value(fd, ifname, ETHTOOL_SGRO, 1)))
			goto out;
		changed |= CBPF_PEER_GRO_ON;
	}
	j->op = "ETHTOOL_GTXCSUM";
	if ((err = get_value(fd, ifname, ETHTOOL_GTXCSUM, &v)))
		goto out;
	if (v) {
		j->op = "ETHTOOL_STXCSUM";
		if ((err = set_value(fd, ifname, ETHTOOL_STXCSUM, 0)))
			goto out;
		changed |= CBPF_PEER_TX_CSUM_OFF;
	}
	j->op = "ETHTOOL_SFEATURES";
	err = feature_off(fd, ifname, "tx-vlan-hw-insert");
	if (err < 0)
		goto out;
	if (err > 0)
		changed |= CBPF_PEER_TX_VLAN_OFF;
	err = changed;
out:
	close(fd);
	return err;
}

int cbpf_prepare_veth_peer(int netns_fd, int ifindex, const char **op)
{
	struct peer_job j = { .ifindex = ifindex, .op = "setns" };
	int rc = run_in_netns(netns_fd, prepare_peer, &j);

	if (rc < 0 && op)
		*op = j.op;
	return rc;
}

static int prepare_port(void *p)
{
	struct peer_job *j = p;
	char ifname[IF_NAMESIZE];
	int fd, err;

	if (!if_indextoname(j->ifindex, ifname)) {
		j->op = "if_indextoname";
		return -errno;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		j->op = "socket";
		return -errno;
	}
	j->op = "ETHTOOL_SFEATURES";
	err = feature_off(fd, ifname, "rx-vlan-hw-parse");
	close(fd);
	if (err == -ENOENT)
		return 0;
	return err < 0 ? err : (err ? CBPF_PORT_RX_VLAN_OFF : 0);
}

int cbpf_prepare_port(int ifindex, const char **op)
{
	struct peer_job j = { .ifindex = ifindex, .op = "ethtool" };
	int rc = prepare_port(&j);

	if (rc < 0 && op)
		*op = j.op;
	return rc;
}

struct sock_job {
	const char *ifname;
	int result_ifindex;
	int want_socket;
	const char *op;
};

static int open_packet(void *p)
{
	struct sock_job *j = p;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, one = 1;

	j->result_ifindex = if_nametoindex(j->ifname);
	if (!j->result_ifindex) {
		j->op = "if_nametoindex";
		return -ENODEV;
	}
	if (!j->want_socket)
		return j->result_ifindex;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		j->op = "socket";
		return -errno;
	}
	sll.sll_ifindex = j->result_ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) {
		int e = errno;
		j->op = "bind";
		close(fd);
		return -e;
	}
	return fd;
}

static int with_netns_path(const char *path, int (*fn)(void *), void *arg)
{
	int nsfd, rc;

	if (!path)
		return fn(arg);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	rc = run_in_netns(nsfd, fn, arg);
	close(nsfd);
	return rc;
}

int cbpf_packet_socket(const char *netns_path, const char *ifname, const char **op)
{
	struct sock_job j = { .ifname = ifname, .want_socket = 1, .op = "setns" };
	int rc = with_netns_path(netns_path, open_packet, &j);

	if (rc < 0 && op)
		*op = j.op;
	return rc;
}

int cbpf_ifindex_in_netns(const char *netns_path, const char *ifname)
{
	struct sock_job j = { .ifname = ifname, .want_socket = 0 };
	return with_netns_path(netns_path, open_packet, &j);
}

ssize_t cbpf_packet_recv(int fd, void *buf, size_t cap, int timeout_ms)
{
	struct sockaddr_ll from;
	union { struct cmsghdr c; char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } ctl;
	struct iovec iov;
	struct msghdr m;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t n;

	if (cap < 18)
		return -EINVAL;
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		if (r == 0)
			return 0;
		/* Leave 4 bytes to re-insert a tag. */
		iov.iov_base = buf;
		iov.iov_len = cap - 4;
		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = &ctl;
		m.msg_controllen = sizeof(ctl);
		n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct tpacket_auxdata *aux;
			__u16 tpid, tci;
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			aux = (struct tpacket_auxdata *)CMSG_DATA(c);
			if (!(aux->tp_status & TP_STATUS_VLAN_VALID) || n < 12)
				continue;
			tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
			tci = aux->tp_vlan_tci;
			memmove((char *)buf + 16, (char *)buf + 12, (size_t)n - 12);
			((__u8 *)buf)[12] = tpid >> 8;
			((__u8 *)buf)[13] = tpid & 0xff;
			((__u8 *)buf)[14] = tci >> 8;
			((__u8 *)buf)[15] = tci & 0xff;
			n += 4;
		}
		return n;
	}
}
