# shellcheck shell=bash
# Sourced by shell tests that run real servers on free ports (loopback).
# Before sourcing, set `test_name` (names the scratch directory). Gives:
#   tmp    a scratch directory, removed at exit;
#   pids   the servers started; each is stopped by its PID at exit;
#   fail MESSAGE
#          prints "FAIL: MESSAGE" and the last 20 lines of every file in
#          $tmp (the servers' and clients' output), then exits 1;
#   start NAME PATTERN COMMAND...
#          runs COMMAND (its stdout in $tmp/NAME.out, stderr in
#          $tmp/NAME.err) and waits up to 10 s for a stdout line matching
#          the sed PATTERN, whose \1 is the port; sets $port. Fails if the
#          server exits first or never prints it.
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/${test_name:-test}.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  local f
  for f in "$tmp"/*; do
    [[ -s "$f" ]] && { echo "--- $(basename "$f")"; tail -20 "$f"; }
  done
  exit 1
}
start() {
  local name=$1 pattern=$2
  shift 2
  "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pids+=($!)
  port=
  for _ in $(seq 200); do
    port=$(sed -n "s/$pattern/\1/p" "$tmp/$name.out")
    [[ -n "$port" ]] && return
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited before listening"
    sleep 0.05
  done
  fail "$name did not print its port within 10 s"
}
