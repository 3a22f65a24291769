#!/bin/bash
# FlowPlane benchmark harness (interim shell version; see issue 5).
# Usage: bench.sh [--smoke] [--flowctl PATH]
# Arms: linux-bridge (measured), flowplane and xdp-limit (reported MISSING until implemented).
# Every subprocess has a timeout; namespaces/links are unique per run and always cleaned up.
set -u
SMOKE=0; FLOWCTL=""
while [ $# -gt 0 ]; do case "$1" in
  --smoke) SMOKE=1 ;; --flowctl) FLOWCTL="$2"; shift ;; *) echo "usage: $0 [--smoke] [--flowctl PATH]" >&2; exit 64 ;;
esac; shift; done
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
HERE="$(cd "$(dirname "$0")" && pwd)"
T="timeout -k 2 10"
if [ $SMOKE = 1 ]; then SECS=1; RUNS=1; else SECS=5; RUNS=5; fi
ID="fpb$$"; NS_BR="${ID}br"; NS_SRC="${ID}s"; NPORTS=4
cleanup() {
  for n in "$NS_BR" "$NS_SRC" $(seq -f "${ID}d%g" 1 $NPORTS); do $T ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT INT TERM
mac_of() { $T ip netns exec "$1" cat "/sys/class/net/$2/address"; }
rx_of() { $T ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

setup() {
  $T ip netns add "$NS_BR" && $T ip netns add "$NS_SRC" || return 1
  $T ip link add s0 netns "$NS_SRC" type veth peer name b0 netns "$NS_BR" || return 1
  for i in $(seq 1 $NPORTS); do
    $T ip netns add "${ID}d$i" || return 1
    $T ip link add d$i netns "${ID}d$i" type veth peer name p$i netns "$NS_BR" || return 1
    $T ip -n "${ID}d$i" link set d$i up
  done
  $T ip -n "$NS_SRC" link set s0 up
  for p in b0 $(seq -f "p%g" 1 $NPORTS); do $T ip -n "$NS_BR" link set "$p" up; done
}

# measure ARM NAME DSTMAC SIZE -> prints median min max (frames/s, summed over receivers)
measure() {
  local dst="$1" size="$2" rates=() r
  local src; src=$(mac_of "$NS_SRC" s0)
  for _ in $(seq 1 $RUNS); do
    local before=0 after=0 i
    for i in $(seq 1 $NPORTS); do before=$((before + $(rx_of "${ID}d$i" d$i))); done
    $T ip netns exec "$NS_SRC" python3 "$HERE/afp_send.py" s0 "$dst" "$src" "$size" "$SECS" >/dev/null
    sleep 0.2
    for i in $(seq 1 $NPORTS); do after=$((after + $(rx_of "${ID}d$i" d$i))); done
    rates+=($(( (after - before) / SECS )))
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)], a[1], a[NR]}'
}

arm_linux_bridge() {
  $T ip -n "$NS_BR" link add fpbr type bridge || return 1
  for p in b0 $(seq -f "p%g" 1 $NPORTS); do $T ip -n "$NS_BR" link set "$p" master fpbr; done
  $T ip -n "$NS_BR" link set fpbr up
  # pre-learn: one frame from each receiver
  local d1; d1=$(mac_of "${ID}d1" d1)
  for i in $(seq 1 $NPORTS); do
    $T ip netns exec "${ID}d$i" python3 "$HERE/afp_send.py" d$i ff:ff:ff:ff:ff:ff "$(mac_of "${ID}d$i" d$i)" 64 0.01 >/dev/null
  done
  for size in 64 1500; do
    echo "linux-bridge skb unicast $size $(measure "$d1" $size)"
    echo "linux-bridge skb flood $size $(measure ff:ff:ff:ff:ff:ff $size)"
  done
  $T ip -n "$NS_BR" link del fpbr
}

setup || { echo "bench: topology setup failed" >&2; exit 1; }
RESULTS=$(mktemp); 
arm_linux_bridge >>"$RESULTS" || echo "bench: linux-bridge arm failed" >&2
for arm in flowplane xdp-limit; do
  for src in live-frames skb; do echo "$arm $src - - MISSING"; done >>"$RESULTS"
done
echo "linux-bridge live-frames - - MISSING" >>"$RESULTS"
echo "| arm | source | traffic | size | median delivered fps (sum of receivers) | min | max |"
echo "|---|---|---|---|---|---|---|"
while read -r arm src traffic size med min max; do
  if [ "$med" = MISSING ]; then echo "| $arm | $src | - | - | MISSING (not implemented yet) | | |"
  else echo "| $arm | $src | $traffic | $size | $med | $min | $max |"; fi
done <"$RESULTS"
rm -f "$RESULTS"
