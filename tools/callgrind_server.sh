#!/usr/bin/env bash
# The server's instructions per call, repeatable run to run: the echo server
# (one loop) under callgrind, mrpc_load outside it sending N calls (16 B unless PAYLOAD) on
# 1 connection x 8 in flight, for N = 20,000 and 60,000; the difference over
# 40,000 is the marginal count per call (start-up and shutdown cancel).
#
# Usage: tools/callgrind_server.sh ECHO_SERVER MRPC_LOAD
#   e.g. tools/callgrind_server.sh "$(bazel info --config=opt bazel-bin)"/examples/echo/echo_server \
#          "$(bazel info --config=opt bazel-bin)"/tools/load/mrpc_load
# KEEP=prefix keeps the callgrind outputs as prefix.20000 and prefix.60000;
# PAYLOAD=bytes sets the payload (default 16). Calls have a 5 s deadline,
# shorter than mrpc_load's 10 s connection check, as in the benchmarks
# (1 to 2 s): a longer one hid a timer armed per call (issue 17).
set -euo pipefail
server=$1 client=$2
run() {
  local n=$1 port=$((23000 + RANDOM % 1000)) out
  out=$(mktemp -d)
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
    "$server" --port=$port --threads=1 > "$out/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do grep -q listening "$out/server.log" && break; sleep 0.2; done
  taskset -c 1 "$client" --target=127.0.0.1:$port --conns=1 --depth=8 --requests="$n" \
    --payload="${PAYLOAD:-16}" --warmup=0 --duration=600 --progress=false --deadline_ms=5000 > "$out/client.log" 2>&1
  kill -TERM "$pid"
  wait "$pid" 2> /dev/null || true
  grep -E "^summary:|^totals:" "$out/cg.out" | head -1 | awk '{print $2}'
  if [[ -n "${KEEP:-}" ]]; then cp "$out/cg.out" "$KEEP.$n"; fi
  rm -rf "$out"
}
a=$(run 20000)
b=$(run 60000)
echo "$a $b" | awk '{printf "%.0f server instructions per call (marginal)\n", ($2 - $1) / 40000}'
