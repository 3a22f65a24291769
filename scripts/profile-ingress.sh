#!/bin/bash
# Profiles fp_ingress alone (issue 5, "use the figures"): the kernel's average ns per run of
# the program on one frame, BPF_PROG_TEST_RUN with repeat (no live frames: the redirect is
# decided, not carried out), for the paths a frame can take:
#   known unicast    learned source, static destination on the other port
#   unknown unicast  learned source, flooded
#   malformed drop   an 802.1Q TPID with no tag: the port lookup, the parse and the counters
# Run as root from the repository:  scripts/profile-ingress.sh [FLOWCTL] [REPEAT]
# With FLOWPLANE_BPF_OBJECT=path/to/fp_xdp.o in the environment it profiles that object
# instead of the one built into flowctl (to compare a change). Creates two veth pairs, a
# daemon and a pin root with unique names, and removes them on exit.
set -euo pipefail
FLOWCTL=${1:-.build/release/flowctl}
REPEAT=${2:-5000000}
[ "$(id -u)" = 0 ] || { echo "profile-ingress: needs root" >&2; exit 1; }
[ -x "$FLOWCTL" ] || { echo "profile-ingress: no flowctl at $FLOWCTL (swift build -c release --product flowctl)" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "profile-ingress: needs bpftool (apt-get install bpftool)" >&2; exit 1; }

id=$$
work=$(mktemp -d /tmp/fp-profile.XXXXXX)
pin=/sys/fs/bpf/fpprof$id
a=fppa$id b=fppb$id
daemon=
cleanup() {
  # Deleting the bridge first lets the daemon remove its pins and pin-root lock as it stops.
  [ -n "$daemon" ] && timeout 10 "$FLOWCTL" --socket "$work/sock" del-br --if-exists fpprof0 >/dev/null 2>&1
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  ip link del "$a" 2>/dev/null || true
  ip link del "$b" 2>/dev/null || true
  rm -rf "$pin" "$work"
}
trap cleanup EXIT INT TERM

ip link add "$a" type veth peer name "${a}p"
ip link add "$b" type veth peer name "${b}p"
for l in "$a" "${a}p" "$b" "${b}p"; do ip link set "$l" up; done
"$FLOWCTL" daemon --socket "$work/sock" --db "$work/db" --pin-root "$pin" >"$work/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.1; done
fc() { timeout 10 "$FLOWCTL" --socket "$work/sock" "$@" >/dev/null; }
fc add-br fpprof0
fc add-port fpprof0 "$a"
fc add-port fpprof0 "$b"
fc fdb-add fpprof0 "$a" 0 02:00:00:00:00:01
fc fdb-add fpprof0 "$b" 0 02:00:00:00:00:02

ifindex=$(cat "/sys/class/net/$a/ifindex")
python3 - "$ifindex" "$work" <<'PY'
import struct, sys
ifindex, work = int(sys.argv[1]), sys.argv[2]
frames = {
    "known-unicast": bytes.fromhex("020000000002" "020000000001" "0800") + bytes(46),
    "unknown-unicast": bytes.fromhex("02000000ffff" "020000000001" "0800") + bytes(46),
    "malformed-drop": bytes.fromhex("020000000002" "020000000001" "8100"),
}
for name, frame in frames.items():
    open(f"{work}/{name}", "wb").write(frame)
    # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    open(f"{work}/{name}.ctx", "wb").write(struct.pack("<6I", 0, len(frame), 0, ifindex, 0, 0))
PY
printf '%-16s %8s %s\n' path ns/run "XDP action"
for path in known-unicast unknown-unicast malformed-drop; do
  out=$(bpftool prog run pinned "$pin/fp_ingress" data_in "$work/$path" ctx_in "$work/$path.ctx" repeat "$REPEAT")
  ns=$(sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p' <<<"$out")
  rv=$(sed -n 's/.*Return value: \([0-9]*\).*/\1/p' <<<"$out")
  printf '%-16s %8s %s\n' "$path" "$ns" "$rv"
done
