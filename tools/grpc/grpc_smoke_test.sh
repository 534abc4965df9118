#!/usr/bin/env bash
# Smoke test of the gRPC benchmark pair: grpc_echo_server on a free port, then
# two short closed-loop runs of grpc_load against it (plain Echo, and a mix
# with SlowEcho); each must exit 0 with "error_count": 0 in its JSON.
# Usage: grpc_smoke_test.sh <grpc_echo_server> <grpc_load>
set -u
server_bin=$1 load_bin=$2
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/grpc_smoke.XXXXXX")
pid=
cleanup() {
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*; do
    [[ -s "$f" ]] && { echo "--- $(basename "$f")"; cat "$f"; }
  done
  exit 1
}

"$server_bin" --port=0 > "$tmp/server.out" 2> "$tmp/server.err" &
pid=$!

# Up to 10 s for the "listening on <port>" line.
port=
for _ in $(seq 200); do
  port=$(sed -n 's/^grpc_echo_server listening on \([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || fail "server exited before listening"
  sleep 0.05
done
[[ -n "$port" ]] || fail "server did not print its port within 10 s"

# run <name> <grpc_load flags...>
run() {
  local name=$1
  shift
  "$load_bin" --target="127.0.0.1:$port" --warmup=0 --payload=64 --json \
    --progress=false "$@" > "$tmp/$name.json" 2> "$tmp/$name.err" ||
    fail "$name: grpc_load exited with $?"
  grep -q '"error_count": 0[,}]' "$tmp/$name.json" || fail "$name: errors in the report"
  echo "PASS $name: $(cat "$tmp/$name.json")"
}

run echo --conns=2 --depth=2 --requests=2000
run slow_mix --conns=2 --depth=2 --requests=400 --slow_fraction=0.05 --slow_ms=1

kill -TERM "$pid"
wait "$pid"
status=$?
pid=
[[ $status -eq 0 ]] || fail "server exited with $status after SIGTERM"
echo "PASS server stopped cleanly"
