#!/bin/bash
# FlowPlane demo: three veth "hosts" in network namespaces and one TAP "VM guest" switched by
# FlowPlane's XDP datapath, driven by flowctl. Shows pings, the learned FDB, and that a SIGKILLed
# daemon leaves known MACs forwarding and a restarted one comes back with config and FDB.
# Usage: scripts/demo.sh /path/to/flowctl     (as root; `make demo` passes the built binary)
# Everything is bounded by timeouts and removed on exit (trap), also after a failure.
set -u

FLOWCTL=${1:-${FLOWCTL_BIN:-}}
if [ -z "$FLOWCTL" ] || [ ! -x "$FLOWCTL" ]; then
  echo "usage: $0 PATH-TO-FLOWCTL (the built flowctl binary)" >&2; exit 64
fi
FLOWCTL=$(readlink -f "$FLOWCTL")
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (it creates namespaces, veths, a tap device and loads XDP)" >&2; exit 1
fi

# Unique names for this run: namespaces fpd<pid>h1.., host-side veths fpd<pid>p1.. (<= 15 chars).
ID=$$
NS_PREFIX="fpd${ID}h"
PORT_PREFIX="fpd${ID}p"
TAP="fpd${ID}t"
BR="br0"
WORK=$(mktemp -d /tmp/flowplane-demo.XXXXXX)
SOCK="$WORK/flowplane.sock"
DB="$WORK/flowplane.db"
PIN="/sys/fs/bpf/flowplane_demo_${ID}"
DAEMON_PID=""
GUEST_PID=""
HOSTS="1 2 3"
T=5                       # seconds: timeout for every ip/ethtool/flowctl call
GUEST_IP=10.77.0.100
GUEST_MAC=02:fb:00:00:00:64

run() { timeout -k 2 "$T" "$@"; }
fc() { timeout -k 2 10 "$FLOWCTL" --socket "$SOCK" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns_ping() {  # ns_ping N IP: three pings, 1 s apart, bounded
  run ip netns exec "${NS_PREFIX}$1" ping -c 3 -i 0.2 -W 1 "$2"
}

cleanup() {
  set +e
  say "cleaning up"
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    # A running daemon: remove the bridge so it detaches XDP and unpins, then stop it.
    fc del-br --if-exists "$BR" >/dev/null 2>&1
    kill -TERM "$DAEMON_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON_PID" 2>/dev/null
  fi
  # TERM first: timeout(1) forwards it to the python guest; KILL would orphan the guest.
  [ -n "$GUEST_PID" ] && { kill -TERM "$GUEST_PID" 2>/dev/null; sleep 0.2; kill -KILL "$GUEST_PID" 2>/dev/null; }
  for h in $HOSTS; do
    run ip link set dev "${PORT_PREFIX}$h" xdp off 2>/dev/null
    run ip link set dev "${PORT_PREFIX}$h" xdpgeneric off 2>/dev/null
    run ip link del "${PORT_PREFIX}$h" 2>/dev/null
    run ip netns del "${NS_PREFIX}$h" 2>/dev/null
  done
  run ip link set dev "$TAP" xdp off 2>/dev/null
  run ip link set dev "$TAP" xdpgeneric off 2>/dev/null
  run ip link del "$TAP" 2>/dev/null
  rm -rf "$PIN" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_daemon() {
  "$FLOWCTL" daemon --socket "$SOCK" --db "$DB" --pin-root "$PIN" >>"$WORK/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do   # at most 10 s
    if [ -S "$SOCK" ] && fc list-br >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "demo: the daemon did not answer on $SOCK; its log:" >&2
  cat "$WORK/daemon.log" >&2
  exit 1
}

# The TAP "VM guest": a process holding the tap fd that answers ARP and ICMP echo for its IP,
# as a VM's kernel would. It lives at most 300 s and dies with stdin (the demo's pipe).
start_guest() {
  timeout -k 2 300 python3 -u - "$TAP" "$GUEST_MAC" "$GUEST_IP" <<'PY' >"$WORK/guest.log" 2>&1 &
import fcntl, os, select, struct, sys, time
name, mac, ip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), bytes(int(x) for x in sys.argv[3].split("."))
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
print("guest: holding", name, flush=True)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return (~s) & 0xFFFF
end = time.time() + 290
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 1.0)
    if not r: continue
    f = os.read(fd, 65536)
    if len(f) < 14: continue
    dst, src, et = f[0:6], f[6:12], struct.unpack("!H", f[12:14])[0]
    if et == 0x0806 and len(f) >= 42 and f[20:22] == b"\x00\x01" and f[38:42] == ip:  # ARP who-has us
        reply = src + mac + b"\x08\x06" + f[14:20] + b"\x00\x02" + mac + ip + f[22:28] + f[28:32]
        os.write(fd, reply)
    elif et == 0x0800 and dst == mac and len(f) >= 34 and f[23] == 1 and f[30:34] == ip:
        ihl = (f[14] & 0x0F) * 4; icmp = f[14 + ihl:]
        if icmp[0] != 8: continue
        icmp = b"\x00\x00\x00\x00" + icmp[4:]; icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        hdr = bytearray(f[14:14 + ihl]); hdr[12:16], hdr[16:20] = f[30:34], f[26:30]; hdr[10:12] = b"\0\0"
        hdr[8] = 64; hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
        os.write(fd, src + mac + b"\x08\x00" + bytes(hdr) + icmp)
PY
  GUEST_PID=$!
  for _ in $(seq 1 50); do ip link show "$TAP" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: the TAP guest did not come up; its log:" >&2; cat "$WORK/guest.log" >&2; exit 1
}

# A 4 MiB TCP transfer host 1 -> host 3 (python3, bounded): checks TCP survives XDP redirects.
tcp_transfer() {
  timeout -k 2 20 ip netns exec "${NS_PREFIX}3" python3 -c '
import socket, hashlib
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.77.0.3", 5201)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(15); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print("host 3 received %d bytes, sha256 %s" % (n, h.hexdigest()[:16]))' &
  local server=$!
  sleep 0.5
  timeout -k 2 20 ip netns exec "${NS_PREFIX}1" python3 -c '
import socket, hashlib, os
data = os.urandom(4 << 20); s = socket.create_connection(("10.77.0.3", 5201), timeout=15)
s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
print("host 1 sent %d bytes, sha256 %s" % (len(data), hashlib.sha256(data).hexdigest()[:16]))'
  local rc=$?
  wait "$server" || rc=1
  return $rc
}

set -e
say "topology: 3 veth hosts in namespaces + 1 TAP guest (pid $ID)"
for h in $HOSTS; do
  ns="${NS_PREFIX}$h"
  run ip netns add "$ns"
  run ip link add "${PORT_PREFIX}$h" type veth peer name eth0 netns "$ns"
  run ip -n "$ns" link set lo up
  run ip -n "$ns" link set eth0 address "02:fb:00:00:00:0$h"
  run ip -n "$ns" addr add "10.77.0.$h/24" dev eth0
  run ip -n "$ns" link set eth0 up
  run ip link set "${PORT_PREFIX}$h" up
  echo "host $h: namespace $ns, eth0 02:fb:00:00:00:0$h 10.77.0.$h  <->  switch port ${PORT_PREFIX}$h"
done
start_guest
run ip link set "$TAP" up
echo "guest : tap $TAP held by pid $GUEST_PID, $GUEST_MAC $GUEST_IP  <->  switch port $TAP"

say "starting the daemon (socket $SOCK, pin root $PIN)"
start_daemon
echo "daemon pid $DAEMON_PID"

say "flowctl add-br $BR; add-port for every port"
fc add-br "$BR"
for h in $HOSTS; do fc add-port "$BR" "${PORT_PREFIX}$h"; done
fc add-port "$BR" "$TAP"

say "pings through the switch"
set +e
failed=0
for h in 2 3; do echo "-- host 1 -> host $h"; ns_ping 1 "10.77.0.$h" || failed=1; done
echo "-- host 3 -> host 2"; ns_ping 3 10.77.0.2 || failed=1
echo "-- host 2 -> TAP guest"; ns_ping 2 "$GUEST_IP" || failed=1
echo "-- TCP: 4 MiB host 1 -> host 3"; tcp_transfer || failed=1
set -e
sleep 0.5

say "flowctl show"
fc show
say "flowctl dump-fdb $BR"
fc dump-fdb "$BR"
say "flowctl dump-ports $BR"
fc dump-ports "$BR" || true

say "SIGKILL the daemon (pid $DAEMON_PID): programs and maps stay pinned and attached"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
echo "flowctl now says:"; fc show || echo "(exit $? - no daemon answering, as expected)"
say "pings with no daemon running (known MACs keep forwarding)"
set +e
echo "-- host 1 -> host 3"; ns_ping 1 10.77.0.3 || failed=1
echo "-- host 3 -> TAP guest"; ns_ping 3 "$GUEST_IP" || failed=1
echo "-- TCP: 4 MiB host 1 -> host 3, no daemon"; tcp_transfer || failed=1
set -e

say "restarting the daemon: it adopts what is pinned, with config and FDB"
start_daemon
echo "daemon pid $DAEMON_PID"
fc show
fc dump-fdb "$BR"
set +e
echo "-- host 2 -> host 1"; ns_ping 2 10.77.0.1 || failed=1
set -e

if [ "$failed" -ne 0 ]; then
  say "demo: some pings FAILED (daemon log: below)"; cat "$WORK/daemon.log"; exit 1
fi
say "demo OK"
