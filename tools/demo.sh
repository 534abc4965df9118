#!/usr/bin/env bash
# mrpc's main job: installs what is missing, builds, starts the example
# services (echo, kv, and a gateway that calls kv), drives them with real
# calls (binary, and JSON over HTTP with curl on the same port; mrpc_cli
# listing, describing and calling them by reflection; then TLS on
# a kv server with throwaway certificates), load-tests the echo service with
# the bundled load tester, then
# runs a small fleet on etcd (replicas that register themselves, a gateway
# and a load tester that find them through etcd, a replica killed and
# another started under load), prints what happened, and stops every
# process it started.
#
# Usage: tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]:-}"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "building mrpc, the examples and the load tester (bazel build --config=opt)"
if ! bazel build --config=opt //examples/... //tools/load:mrpc_load //tools/cli:mrpc_cli //net:make_test_certs \
    > "$work/build.log" 2>&1; then
  cat "$work/build.log"
  exit 1
fi
tail -n 1 "$work/build.log"
# The optimized outputs (bazel-bin follows whichever config built last).
opt_bin=$(bazel info --config=opt bazel-bin 2>/dev/null)
bin=$opt_bin/examples

# start NAME BINARY [FLAGS...]: runs a server on a free port, waits until it
# listens, and sets PORT.
start() {
  local name=$1
  shift
  "$@" --port=0 > "$work/$name.out" 2> "$work/$name.log" &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 200); do
    if PORT=$(grep -oE 'listening on [0-9]+' "$work/$name.out" 2>/dev/null | awk '{print $3}') &&
        [[ -n "$PORT" ]]; then
      echo "$name: pid $pid, port $PORT"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited at start:"
      cat "$work/$name.log"
      exit 1
    fi
    sleep 0.05
  done
  echo "$name did not start listening within 10 s"
  exit 1
}

# run DESCRIPTION EXPECTED_EXIT COMMAND...: prints the command's output.
failures=0
run() {
  local what=$1 want=$2
  shift 2
  printf -- '-- %s\n' "$what"
  set +e
  "$@" 2> "$work/client.log"
  local rc=$?
  set -e
  if [[ $rc -ne $want ]]; then
    echo "   UNEXPECTED: exit code $rc (wanted $want)"
    cat "$work/client.log"
    failures=$((failures + 1))
  fi
}

step "starting the example services"
start echo_server "$bin/echo/echo_server" --threads=2
echo_port=$PORT
start kv_server "$bin/kv/kv_server" --threads=2
kv_port=$PORT
start gateway_server "$bin/gateway/gateway_server" --threads=2 --kv_target=127.0.0.1:$kv_port
gateway_port=$PORT

step "echo: one call in each stub form"
run "echo_client" 0 "$bin/echo/echo_client" --target=127.0.0.1:$echo_port

step "kv: an in-memory key-value backend"
kv() { "$bin/kv/kv_client" --target=127.0.0.1:$kv_port "$@"; }
run "put color = blue" 0 kv put color blue
run "put colour = blue (British)" 0 kv put colour blue
run "put color = green (replaces)" 0 kv put color green
run "get color" 0 kv get color
run "list prefix \"col\"" 0 kv list col
run "delete colour" 0 kv delete colour
run "get colour (deleted: NOT_FOUND expected)" 1 kv get colour
run "put with an empty key (INVALID_ARGUMENT expected)" 1 kv put "" value

step "gateway: each call fans out to kv asynchronously, deadline passed on"
gw() { "$bin/gateway/gateway_client" --target=127.0.0.1:$gateway_port "$@"; }
run "set profile of ada" 0 gw set ada "Ada Lovelace" ada@example.org
run "set profile of alan (no email)" 0 gw set alan "Alan Turing"
run "get profile of ada" 0 gw get ada
run "get profile of alan" 0 gw get alan
run "get profile of nobody (NOT_FOUND expected)" 1 gw get nobody
run "what the gateway stored, seen in kv" 0 kv list user/

step "HTTP on the same port: curl calls kv with JSON; /metrics for Prometheus"
kv_http=http://127.0.0.1:$kv_port
run "curl -d '{\"key\":\"color\"}' $kv_http/mrpc.examples.kv.KvService/Get" 0 \
  curl -sS --fail-with-body -d '{"key":"color"}' "$kv_http/mrpc.examples.kv.KvService/Get"
run "the same for a missing key (HTTP 404, the code in the body; curl exits 22)" 22 \
  curl -sS --fail-with-body -d '{"key":"nope"}' "$kv_http/mrpc.examples.kv.KvService/Get"
run "curl $kv_http/metrics (its first samples)" 0 \
  bash -c "curl -sS --fail '$kv_http/metrics' | grep -v '^#' | head -n 12"
echo "(also: $kv_http/status in a browser, /health, /rpcz)"

step "mrpc_cli: list, describe and call kv with JSON, no .proto on hand (server reflection)"
cli() { "$opt_bin/tools/cli/mrpc_cli" "$@"; }
run "mrpc_cli ls 127.0.0.1:$kv_port" 0 cli ls 127.0.0.1:$kv_port
run "mrpc_cli describe 127.0.0.1:$kv_port mrpc.examples.kv.KvService/Put" 0 \
  cli describe 127.0.0.1:$kv_port mrpc.examples.kv.KvService/Put
run "mrpc_cli call ... KvService/Put '{\"key\":\"shape\",\"value\":\"round\"}'" 0 \
  cli call 127.0.0.1:$kv_port mrpc.examples.kv.KvService/Put '{"key":"shape","value":"round"}'
run "mrpc_cli call --json ... KvService/List '{\"prefix\":\"sh\"}'" 0 \
  cli call --json 127.0.0.1:$kv_port mrpc.examples.kv.KvService/List '{"prefix":"sh"}'
run "mrpc_cli call ... KvService/Get '{\"key\":\"nope\"}' (NOT_FOUND: exit 64+5)" 69 \
  cli call 127.0.0.1:$kv_port mrpc.examples.kv.KvService/Get '{"key":"nope"}'
sed 's/^/   /' "$work/client.log"
run "mrpc_cli ls 127.0.0.1:$gateway_port (the gateway, likewise)" 0 cli ls 127.0.0.1:$gateway_port

step "TLS on the same port: a kv server with throwaway certificates, mutual TLS"
# make_test_certs: a fresh CA, server.pem for localhost/127.0.0.1, client.pem.
certs=$work/certs
"$opt_bin/net/make_test_certs" --dir="$certs" > /dev/null
start kv_tls "$bin/kv/kv_server" --threads=1 --tls_cert="$certs/server.pem" \
  --tls_key="$certs/server.key" --tls_ca="$certs/ca.pem" --tls_required
kv_tls_port=$PORT
kvt() {
  "$bin/kv/kv_client" --target=127.0.0.1:$kv_tls_port --tls_ca="$certs/ca.pem" \
    --tls_cert="$certs/client.pem" --tls_key="$certs/client.key" "$@"
}
run "kv_client --tls_ca --tls_cert --tls_key put lang C++" 0 kvt put lang C++
run "kv_client over TLS: get lang" 0 kvt get lang
run "kv_client without TLS (refused: --tls_required)" 1 \
  "$bin/kv/kv_client" --target=127.0.0.1:$kv_tls_port get lang
run "curl --cacert ca.pem -d '{\"key\":\"lang\"}' https://localhost:$kv_tls_port/mrpc.examples.kv.KvService/Get" 0 \
  curl -sS --fail-with-body --cacert "$certs/ca.pem" -d '{"key":"lang"}' \
  "https://localhost:$kv_tls_port/mrpc.examples.kv.KvService/Get"
echo
echo "(a rotated certificate: the server reads its files again every 10 s, or at once on SIGHUP)"

step "load: the bundled load tester against the echo service (3 s)"
# Closed loop, 8 connections x 8 calls in flight; every response is checked.
# On a 2-core machine client and server share the cores, so this shows the
# framework working under load, not a benchmark (tools/bench_rpc.py is).
run "mrpc_load --conns=8 --depth=8 --payload=64 --duration=3 --warmup=1" 0 \
  "$opt_bin/tools/load/mrpc_load" --target=127.0.0.1:$echo_port --conns=8 --depth=8 \
  --payload=64 --duration=3 --warmup=1 --progress=false

run "mrpc_load --method=mrpc.examples.kv.KvService/Get (any method, JSON request, by reflection; 2 s)" 0 \
  "$opt_bin/tools/load/mrpc_load" --target=127.0.0.1:$kv_port \
  --method=mrpc.examples.kv.KvService/Get --request_json='{"key":"color"}' \
  --expect_json='{"value":"green"}' --conns=4 --depth=8 --duration=2 --warmup=0.5 --progress=false

step "fleet: etcd, three kv replicas registered in it, the gateway finding kv through etcd"
# Two free loopback ports for etcd (client, peer).
read -r etcd_port peer_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
etcd --name demo --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "demo=http://127.0.0.1:$peer_port" > "$work/etcd.log" 2>&1 &
pids+=($!)
etcdctl() { command etcdctl --endpoints="127.0.0.1:$etcd_port" "$@"; }
for _ in $(seq 1 100); do
  etcdctl endpoint health > /dev/null 2>&1 && break
  sleep 0.1
done
echo "etcd: pid ${pids[-1]}, port $etcd_port"
reg="etcd://127.0.0.1:$etcd_port/services"
for i in 1 2 3; do
  start "kv_replica$i" "$bin/kv/kv_server" --threads=1 --register="$reg/kv" --register_ttl=3s
done
run "the replicas in etcd (etcdctl get --prefix /services/kv)" 0 etcdctl get --prefix /services/kv
# consistent_hash on the user keeps each user's keys on one replica.
start gateway_fleet "$bin/gateway/gateway_server" --threads=1 --kv_target="$reg/kv" \
  --lb=consistent_hash
gwf_port=$PORT
gwf() { "$bin/gateway/gateway_client" --target=127.0.0.1:$gwf_port "$@"; }
run "set profile of grace, through etcd" 0 gwf set grace "Grace Hopper" grace@example.org
run "get profile of grace" 0 gwf get grace

step "fleet: load through etcd; one echo replica killed with SIGKILL, another started"
for i in 1 2 3; do
  start "echo_replica$i" "$bin/echo/echo_server" --threads=1 --register="$reg/echo" --register_ttl=3s
  replica_pids[$i]=${pids[-1]}
done
# Echo has no side effects (its .proto says so): calls in flight on the
# killed replica are retried on the others, so none fails.
"$opt_bin/tools/load/mrpc_load" --target="$reg/echo" --lb=p2c --conns=4 --depth=8 \
  --payload=64 --duration=5 --warmup=1 > "$work/load.out" 2>&1 &
load_pid=$!
pids+=($load_pid)
sleep 2.5
echo "killing echo_replica1 (pid ${replica_pids[1]}) with SIGKILL"
kill -KILL "${replica_pids[1]}"
sleep 1
start echo_replica4 "$bin/echo/echo_server" --threads=1 --register="$reg/echo" --register_ttl=3s
set +e
wait "$load_pid"
load_rc=$?
set -e
cat "$work/load.out"
if [[ $load_rc -ne 0 ]]; then
  echo "   UNEXPECTED: mrpc_load exit code $load_rc (calls failed)"
  failures=$((failures + 1))
fi
# The killed replica's key goes when its lease (3 s) runs out.
for _ in $(seq 1 50); do
  [[ $(etcdctl get --prefix /services/echo --keys-only | grep -c .) -eq 3 ]] && break
  sleep 0.1
done
run "the echo replicas in etcd now (the killed one's key expired with its lease)" 0 \
  etcdctl get --prefix /services/echo --keys-only

step "stopping the services"
cleanup
trap - EXIT
pids=()
if [[ $failures -ne 0 ]]; then
  echo "demo: $failures step(s) did not go as expected"
  exit 1
fi
echo "demo: every call behaved as expected"
