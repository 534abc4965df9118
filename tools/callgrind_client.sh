#!/usr/bin/env bash
# The channel's instructions per call, repeatable run to run: mrpc_load
# under callgrind (1 connection x 8 in flight, 16 B unless PAYLOAD) against an echo server
# running normally on CPU 0, for N = 20,000 and 60,000 calls; the
# difference over 40,000 is the marginal count per call (start-up and
# shutdown cancel). The load tester's own work (pacing, histograms,
# checking each echo) is counted with the channel's.
#
# Usage: tools/callgrind_client.sh ECHO_SERVER MRPC_LOAD
#   e.g. tools/callgrind_client.sh "$(bazel info --config=opt bazel-bin)"/examples/echo/echo_server \
#          "$(bazel info --config=opt bazel-bin)"/tools/load/mrpc_load
# KEEP=prefix keeps the callgrind outputs as prefix.20000 and prefix.60000;
# PAYLOAD=bytes sets the payload (default 16). Calls have a 5 s deadline,
# shorter than mrpc_load's 10 s connection check, as in the benchmarks
# (1 to 2 s): a longer one hid a timer armed per call (issue 17).
set -euo pipefail
server=$1 client=$2
out=$(mktemp -d)
port=$((24000 + RANDOM % 1000))
taskset -c 0 "$server" --port=$port --threads=1 > "$out/server.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 150); do grep -q listening "$out/server.log" && break; sleep 0.2; done
run() {
  local n=$1
  taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" \
    "$client" --target=127.0.0.1:$port --conns=1 --depth=8 --requests="$n" \
    --payload="${PAYLOAD:-16}" --warmup=0 --duration=600 --progress=false --deadline_ms=5000 > "$out/client.$n.log" 2>&1
  grep -E "^summary:|^totals:" "$out/cg.$n" | head -1 | awk '{print $2}'
  if [[ -n "${KEEP:-}" ]]; then cp "$out/cg.$n" "$KEEP.$n"; fi
}
a=$(run 20000)
b=$(run 60000)
echo "$a $b" | awk '{printf "%.0f client instructions per call (marginal)\n", ($2 - $1) / 40000}'
