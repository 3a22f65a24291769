#!/bin/bash
# Removes what one test run left behind: usage `test-cleanup.sh RUN_DIR`, where RUN_DIR is the
# directory scripts/run-tests.sh made for the run. It holds `ledger`, every name the tests'
# UniqueName.make handed out (one a line, written before anything was created under it), and
# `tmp`, the run's TMPDIR. In this order, it
#   1. SIGKILLs every process whose environment carries FLOWPLANE_TEST_LEDGER=RUN_DIR/ledger
#      (the test bundle, flowctl daemons, TAP guests, any `ip` still running),
#   2. for each ledger name that exists: deletes the network namespace, deletes the link in
#      the root namespace, removes trace instances and unmounts the tracefs mount at
#      /tmp/NAME, removes /tmp/NAME and /tmp/NAME.*, the bpffs pins /sys/fs/bpf/NAME and the
#      daemon's pin-root lock /run/flowplane/pin-root_sys_fs_bpf_NAME.lock,
#   3. removes RUN_DIR with the run's TMPDIR.
# Only ledger names of the tests' shape (fp, lower-case letters, `_` or `-`, then digits) are
# touched: never anything a user named, never another run's resources.
# Prints what it removed; exits 1 when something could not be removed.
set -u

run=${1:?usage: test-cleanup.sh RUN_DIR}
ledger=$run/ledger
failed=0

# Bounded commands: a wedged `ip` or `umount` must not hang the cleanup.
t() { timeout -k 2 10 "$@"; }

# Pids (other than ours) whose environment holds this run's ledger.
marked_pids() {
    grep -lzxF "FLOWPLANE_TEST_LEDGER=$ledger" /proc/[0-9]*/environ 2>/dev/null |
        sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | grep -vx "$$"
}

killed=""
for _ in $(seq 50); do
    pids=$(marked_pids)
    [ -z "$pids" ] && break
    for p in $pids; do
        case " $killed " in *" $p "*) ;; *) killed="$killed $p" ;; esac
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
done
if [ -n "$(marked_pids)" ]; then
    echo "test-cleanup: processes still alive: $(marked_pids | tr '\n' ' ')" >&2
    failed=1
fi
[ -n "$killed" ] && echo "test-cleanup: killed processes:$killed"

names=""
if [ -f "$ledger" ]; then
    names=$(grep -E '^fp[a-z_-]*[0-9]+$' "$ledger" | sort -u)
fi

removed_ns="" removed_links="" removed_mounts="" removed_files="" removed_pins="" removed_locks=0
note_failure() { echo "test-cleanup: could not remove $1" >&2; failed=1; }

# Namespaces first: deleting one takes the veth peers and bridges inside it along.
for n in $names; do
    [ -e "/run/netns/$n" ] || continue
    if t ip netns del "$n"; then removed_ns="$removed_ns $n"; else note_failure "netns $n"; fi
done

# Links left in the root namespace (veths, taps).
for n in $names; do
    [ -e "/sys/class/net/$n" ] || continue
    if t ip link del dev "$n" 2>/dev/null || [ ! -e "/sys/class/net/$n" ]; then
        removed_links="$removed_links $n"
    else
        note_failure "link $n"
    fi
done

# Files under /tmp (also when the run did not set TMPDIR): a tracefs mount first loses its
# trace instances (they outlive the mount) and is unmounted; rm never crosses a mount.
for n in $names; do
    d=/tmp/$n
    for _ in 1 2 3; do
        mountpoint -q "$d" 2>/dev/null || break
        for i in $names; do
            [ -d "$d/instances/$i" ] && rmdir "$d/instances/$i" 2>/dev/null
        done
        if t umount "$d"; then removed_mounts="$removed_mounts $d"; else t umount -l "$d"; fi
    done
    for f in "$d" "$d".*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        if mountpoint -q "$f" 2>/dev/null; then note_failure "$f (still mounted)"; continue; fi
        if rm -rf --one-file-system -- "$f"; then removed_files="$removed_files $f"; else note_failure "$f"; fi
    done
done

# bpffs pins (pin roots and single pins), then the daemon's lock for each pin root.
for n in $names; do
    p=/sys/fs/bpf/$n
    if [ -e "$p" ]; then
        if rm -rf -- "$p"; then removed_pins="$removed_pins $p"; else note_failure "$p"; fi
    fi
    l=/run/flowplane/pin-root_sys_fs_bpf_$n.lock
    if [ -e "$l" ]; then
        if rm -f -- "$l"; then removed_locks=$((removed_locks + 1)); else note_failure "$l"; fi
    fi
done

# The run's own directory: its TMPDIR holds daemon sockets, databases and logs.
while read -r _ mnt _; do
    case "$mnt" in "$run"/*) t umount -l "$mnt" ;; esac
done < /proc/mounts
if [ -d "$run" ] && ! rm -rf --one-file-system -- "$run"; then note_failure "$run"; fi

[ -n "$removed_ns" ] && echo "test-cleanup: removed namespaces:$removed_ns"
[ -n "$removed_links" ] && echo "test-cleanup: removed links:$removed_links"
[ -n "$removed_mounts" ] && echo "test-cleanup: unmounted:$removed_mounts"
[ -n "$removed_files" ] && echo "test-cleanup: removed files:$removed_files"
[ -n "$removed_pins" ] && echo "test-cleanup: removed pins:$removed_pins"
[ "$removed_locks" -gt 0 ] && echo "test-cleanup: removed $removed_locks daemon pin-root lock files"
exit "$failed"
