#!/bin/bash
# Runs the built tests (`swift test --skip-build`, extra arguments passed on) for at most
# TEST_TIMEOUT seconds (default 2700), as `make test` does, and leaves nothing behind.
#
# `swift test` starts the test bundle in a process group of its own, and the bundle starts
# flowctl daemons, TAP guests and `ip` under timeout(1), each in yet another group: a signal to
# `swift test` reaches none of them. So the tests run in a session of their own (setsid) with
# FLOWPLANE_TEST_LEDGER and TMPDIR pointing into a private run directory. When the tests end,
# the timeout fires, or this script gets SIGINT, SIGTERM or SIGHUP, every process of that
# session and every process carrying the ledger in its environment is SIGKILLed, and
# scripts/test-cleanup.sh removes what the ledger names (namespaces, links, pins, mounts,
# files) and the run directory. A run directory whose runner died (SIGKILL) is cleaned up
# the same way by the next run.
#
# Exit status: the tests' own; 124 when the timeout fired; 128+N after signal N (130 SIGINT,
# 143 SIGTERM, 129 SIGHUP).
set -u

here=$(cd "$(dirname "$0")" && pwd)
SWIFT=${SWIFT:-swift}
TEST_TIMEOUT=${TEST_TIMEOUT:-2700}
case "$TEST_TIMEOUT" in
    '' | *[!0-9]* | 0) echo "run-tests: TEST_TIMEOUT must be a positive number of seconds, not '$TEST_TIMEOUT'" >&2; exit 2 ;;
esac
if [ "${BASH_VERSINFO[0]}" -lt 5 ] || { [ "${BASH_VERSINFO[0]}" -eq 5 ] && [ "${BASH_VERSINFO[1]}" -lt 1 ]; }; then
    echo "run-tests: needs bash 5.1 or later (wait -n -p)" >&2
    exit 2
fi
base=${TMPDIR:-/tmp}

# Earlier runs whose runner is gone (SIGKILLed, machine reset): clean them up first.
for d in "$base"/flowplane-test-run.*; do
    [ -d "$d" ] || continue
    pid=$(cat "$d/runner.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q 'run-tests\.sh'; then
        continue # still running
    fi
    # No pid yet: a run that is starting this very moment, unless the directory is old.
    [ -z "$pid" ] && [ -z "$(find "$d" -maxdepth 0 -mmin +1)" ] && continue
    echo "run-tests: cleaning up after an earlier run that did not finish ($d)" >&2
    "$here/test-cleanup.sh" "$d" >&2
done

run=$(mktemp -d "$base/flowplane-test-run.XXXXXX") || exit 1
# Reachable by user nobody, like /tmp: the non-root client test opens its daemon's directory.
chmod 0755 "$run"
mkdir -m 0755 "$run/tmp"
: > "$run/ledger"
echo $$ > "$run/runner.pid"

caught=""
trap 'caught=INT' INT
trap 'caught=TERM' TERM
trap 'caught=HUP' HUP

# A background job of a non-interactive shell is not a group leader, so setsid(1) calls
# setsid() without forking: the session's id is the job's pid.
FLOWPLANE_TEST_LEDGER=$run/ledger TMPDIR=$run/tmp setsid "$SWIFT" test --skip-build "$@" &
child=$!
# The timer carries the ledger too: a later cleanup of this run (runner SIGKILLed) ends it.
FLOWPLANE_TEST_LEDGER=$run/ledger sleep "$TEST_TIMEOUT" &
timer=$!

status=""
reason=""
while [ -z "$status" ]; do
    finished=""
    wait -n -p finished "$child" "$timer"
    rc=$?
    if [ -n "$caught" ]; then
        reason="got SIG$caught"
        case "$caught" in INT) status=130 ;; TERM) status=143 ;; HUP) status=129 ;; esac
    elif [ "$finished" = "$child" ]; then
        status=$rc
    elif [ "$finished" = "$timer" ]; then
        reason="timed out after $TEST_TIMEOUT s (TEST_TIMEOUT)"
        status=124
    elif [ -z "$finished" ]; then
        reason="lost track of the test process (wait: $rc)"
        status=1
    fi
done

kill "$timer" 2>/dev/null
[ -n "$reason" ] && echo "run-tests: $reason: killing the test processes" >&2

# Every process of the tests' session that is not a zombie (zombies are dead already).
session_pids() {
    ps -e -o pid=,sid=,stat= | awk -v sid="$child" -v self=$$ '$2 == sid && $1 != self && $3 !~ /^Z/ { print $1 }'
}
for _ in $(seq 50); do
    pids=$(session_pids)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
done
wait "$child" 2>/dev/null
wait "$timer" 2>/dev/null
# Killed orphans are reaped by init: give it a moment (bounded) so none shows as <defunct>.
for _ in $(seq 20); do
    ps -e -o sid= | grep -qx " *$child" || break
    sleep 0.1
done

# The ledger-marked processes (also any that left the session), then the resources.
if ! "$here/test-cleanup.sh" "$run" >&2; then
    echo "run-tests: some test resources could not be removed (see above)" >&2
    [ "$status" -eq 0 ] && status=1
fi
[ -n "$reason" ] && echo "run-tests: $reason; exit status $status" >&2
exit "$status"
