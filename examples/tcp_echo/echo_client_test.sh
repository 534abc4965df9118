#!/usr/bin/env bash
# echo_client, the benchmarks' raw client, against real servers on free
# ports: length-prefixed frames against tools/baseline's server, and
# --protocol=mrpc against examples/echo's RPC server, each completing calls
# with every echo checked and no error; --protocol=mrpc against a real RPC
# server without EchoService (examples/kv: every call UNIMPLEMENTED) counts
# each answer as an error and exits 1, as it does against the baseline
# server, which does not speak the RPC protocol; an unknown --protocol
# exits 2 before connecting.
# Usage: echo_client_test.sh <test_servers.sh> <echo_client> <echo_server>
#            <baseline_server> <kv_server>
set -u
servers_lib=$1
client_bin=$2
rpc_server_bin=$3
baseline_bin=$4
kv_bin=$5
test_name=echo_client_test
# shellcheck source=tools/test_servers.sh
source "$servers_lib"

# run <name> <port> <flags...>: 2 connections x 4 in flight for 1 s; the
# exit code in $rc, the JSON report in $tmp/<name>.json.
run() {
  local name=$1 target_port=$2
  shift 2
  timeout 60 "$client_bin" --target=127.0.0.1:$target_port --conns=2 --depth=4 \
    --payload=100 --seconds=1 --warmup=0.2 --json "$@" \
    > "$tmp/$name.json" 2> "$tmp/$name.err"
  rc=$?
}
# field <name> <key>: a number from the report.
field() {
  python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$2" \
    < "$tmp/$1.json" || fail "$1: the report is not JSON"
}

start rpc_server '^echo_server listening on \([0-9][0-9]*\)$' \
  "$rpc_server_bin" --port=0 --threads=1
rpc_port=$port
start baseline '^listening on 0\.0\.0\.0:\([0-9][0-9]*\)$' "$baseline_bin" --port=0
baseline_port=$port
start kv '^kv_server listening on \([0-9][0-9]*\)$' "$kv_bin" --port=0 --threads=1
kv_port=$port

run length "$baseline_port"
[[ $rc == 0 ]] || fail "length frames against the baseline: exit $rc"
[[ $(field length requests) -gt 100 ]] || fail "length: too few calls"
[[ $(field length errors) == 0 ]] || fail "length: errors"
echo "ok: length-prefixed frames against the baseline server"

run mrpc "$rpc_port" --protocol=mrpc
[[ $rc == 0 ]] || fail "--protocol=mrpc against the RPC server: exit $rc"
[[ $(field mrpc requests) -gt 100 ]] || fail "mrpc: too few calls"
[[ $(field mrpc errors) == 0 ]] || fail "mrpc: errors"
echo "ok: RPC frames against examples/echo's server, every echo checked"

run unimplemented "$kv_port" --protocol=mrpc
[[ $rc == 1 ]] || fail "--protocol=mrpc against kv_server: exit $rc, not 1"
[[ $(field unimplemented errors) -gt 100 ]] ||
  fail "--protocol=mrpc against kv_server: UNIMPLEMENTED answers not counted as errors"
echo "ok: answers that are not OK echoes count as errors"

run wrong "$baseline_port" --protocol=mrpc
[[ $rc != 0 ]] || fail "--protocol=mrpc against the baseline server: exit 0"
echo "ok: RPC frames against a server that does not speak them fail"

timeout 10 "$client_bin" --target=127.0.0.1:$rpc_port --protocol=http \
  > "$tmp/bad.out" 2> "$tmp/bad.err"
rc=$?
[[ $rc == 2 ]] || fail "--protocol=http: exit $rc, not 2"
grep -q "bad --protocol" "$tmp/bad.err" || fail "--protocol=http: no message"
echo "ok: an unknown --protocol is refused"
echo PASS
