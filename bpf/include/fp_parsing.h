/* SPDX-License-Identifier: GPL-2.0 */
/* Cursor parsers: each checks bounds, advances the cursor and returns the next protocol
 * (network byte order), or -1 when the header is truncated. */
#ifndef FP_PARSING_H
#define FP_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

/* An 802.1Q tag as it follows the MAC addresses: TCI, then the encapsulated EtherType. */
struct fp_vlan_hdr {
	/* PCP (3 bits), DEI (1), VID (12); network order. */
	__be16 tci;
	/* EtherType of what follows; network order. */
	__be16 proto;
};

/* Where a parser is in the frame. */
struct fp_cursor {
	void *pos;
};

#define FP_VID_MASK 0x0fff

static __always_inline int fp_parse_eth(struct fp_cursor *c, void *end, struct ethhdr **eth)
{
	struct ethhdr *h = c->pos;

	if ((void *)(h + 1) > end)
		return -1;
	c->pos = h + 1;
	*eth = h;
	return h->h_proto;
}

static __always_inline int fp_parse_vlan(struct fp_cursor *c, void *end, struct fp_vlan_hdr **vh)
{
	struct fp_vlan_hdr *h = c->pos;

	if ((void *)(h + 1) > end)
		return -1;
	c->pos = h + 1;
	*vh = h;
	return h->proto;
}

/* What ingress parsing found. */
struct fp_frame {
	struct ethhdr *eth;
	/* The 802.1Q tag right after the MACs, or NULL. */
	struct fp_vlan_hdr *tag;
	/* Host-order TCI of that tag (0 when untagged). */
	__u16 tci;
	/* EtherType after the tag (network order), when tagged. */
	__be16 inner_proto;
};

/* Parses Ethernet and the outer 802.1Q tag. Returns 0, or -1 when truncated. */
static __always_inline int fp_parse_frame(struct xdp_md *ctx, struct fp_frame *f)
{
	void *end = (void *)(long)ctx->data_end;
	struct fp_cursor c = { .pos = (void *)(long)ctx->data };
	int proto;

	proto = fp_parse_eth(&c, end, &f->eth);
	if (proto < 0)
		return -1;
	f->tag = 0;
	f->tci = 0;
	f->inner_proto = 0;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		proto = fp_parse_vlan(&c, end, &f->tag);
		if (proto < 0)
			return -1;
		f->tci = bpf_ntohs(f->tag->tci);
		f->inner_proto = (__be16)proto;
	}
	return 0;
}

#endif /* FP_PARSING_H */
