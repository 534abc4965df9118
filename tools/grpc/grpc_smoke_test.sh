#!/usr/bin/env bash
# Smoke test of the gRPC benchmark pair: grpc_echo_server on a free port, then
# short closed-loop runs of grpc_load against it; each must exit 0 with
# "error_count": 0 in its JSON, and the server must stop cleanly on SIGTERM.
#   plaintext: plain Echo, and a mix with SlowEcho
#   TLS:       a server certificate from a throwaway CA (make_test_certs.sh),
#              the client verifying it (by IP, then by --tls_server_name)
#   mTLS:      the server also requiring a client certificate
# Usage: grpc_smoke_test.sh <grpc_echo_server> <grpc_load> <make_test_certs.sh>
set -u
server_bin=$1 load_bin=$2 make_certs=$3
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
  for f in "$tmp"/*.out "$tmp"/*.err "$tmp"/*.json; do
    [[ -s "$f" ]] && { echo "--- $(basename "$f")"; cat "$f"; }
  done
  exit 1
}

# start_server <name> <grpc_echo_server flags...>: sets pid and port.
start_server() {
  local name=$1
  shift
  "$server_bin" --port=0 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pid=$!
  # Up to 10 s for the "listening on <port>" line.
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's/^grpc_echo_server listening on \([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
    [[ -n "$port" ]] && return
    kill -0 "$pid" 2>/dev/null || fail "$name: server exited before listening"
    sleep 0.05
  done
  fail "$name: server did not print its port within 10 s"
}

stop_server() {
  local name=$1 status
  kill -TERM "$pid"
  wait "$pid"
  status=$?
  pid=
  [[ $status -eq 0 ]] || fail "$name: server exited with $status after SIGTERM"
  echo "PASS $name: server stopped cleanly"
}

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

start_server plain
run echo --conns=2 --depth=2 --requests=2000
run slow_mix --conns=2 --depth=2 --requests=400 --slow_fraction=0.05 --slow_ms=1
stop_server plain

mkdir "$tmp/certs"
"$make_certs" "$tmp/certs" > "$tmp/certs.out" 2>&1 || fail "make_test_certs.sh failed"
c=$tmp/certs

start_server tls --tls_cert="$c/server.pem" --tls_key="$c/server.key"
run tls_echo --conns=2 --depth=2 --requests=2000 --tls --tls_ca="$c/ca.pem"
run tls_server_name --conns=1 --depth=2 --requests=200 --tls --tls_ca="$c/ca.pem" \
  --tls_server_name=localhost
stop_server tls

start_server mtls --tls_cert="$c/server.pem" --tls_key="$c/server.key" --tls_ca="$c/ca.pem"
run mtls_echo --conns=2 --depth=2 --requests=2000 --tls --tls_ca="$c/ca.pem" \
  --tls_cert="$c/client.pem" --tls_key="$c/client.key"
stop_server mtls
