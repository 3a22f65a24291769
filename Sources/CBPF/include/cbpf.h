/* C shims over libbpf 1.1 for Swift. */
#ifndef CBPF_H
#define CBPF_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include "flowplane_abi.h"
#endif
