#!/usr/bin/env bash
# mrpc_load's default mode (the echo every benchmark runs) against real
# servers on free ports: examples/echo's server answers every call, each
# echo checked byte for byte against the payload sent, at 16 B and 4 KiB,
# over two client loops, with a slow-call mix, through a list:// channel and
# in the open loop; examples/kv's server (no EchoService) fails the
# connection's first echo: exit 1 with a line saying so, and no report.
# Usage: mrpc_load_echo_test.sh <test_servers.sh> <mrpc_load> <echo_server>
#            <kv_server>
set -u
servers_lib=$1
load_bin=$2
echo_bin=$3
kv_bin=$4
command -v python3 >/dev/null || { echo "FAIL: python3 is missing"; exit 1; }
test_name=mrpc_load_echo
# shellcheck source=tools/test_servers.sh
source "$servers_lib"

# load <name> <target> <flags...>: the exit code in $rc, the JSON report in
# $tmp/<name>.json.
load() {
  local name=$1 target=$2
  shift 2
  timeout 60 "$load_bin" --target="$target" --progress=false --json \
    --warmup=0 "$@" > "$tmp/$name.json" 2> "$tmp/$name.err"
  rc=$?
}
# field <name> <python expression over the report r>
field() {
  python3 -c "import json,sys; r=json.load(sys.stdin); print($2)" \
    < "$tmp/$1.json" || fail "$1: the report is not JSON"
}
# all_ok <name> <calls>: exit 0, exactly <calls> measured, all OK and
# checked, no error of any kind.
all_ok() {
  [[ $rc == 0 ]] || fail "$1: exit $rc"
  [[ "$(field "$1" 'r["requests"]')" == "$2" ]] || fail "$1: not $2 measured"
  [[ "$(field "$1" 'r["ok"]')" == "$2" ]] || fail "$1: not all $2 OK and checked"
  [[ "$(field "$1" 'r["error_count"]')" == 0 ]] || fail "$1: errors"
}

start echo '^echo_server listening on \([0-9][0-9]*\)$' "$echo_bin" --port=0 --threads=1
echo_port=$port
start kv '^kv_server listening on \([0-9][0-9]*\)$' "$kv_bin" --port=0 --threads=1
kv_port=$port

load small 127.0.0.1:$echo_port --payload=16 --conns=2 --depth=4 --requests=3000
all_ok small 3000
[[ "$(field small 'r["payload"]')" == 16 ]] || fail "small: payload not 16"
echo "ok: 3000 echoes of 16 B, each checked"

load large 127.0.0.1:$echo_port --payload=4096 --conns=4 --depth=4 --threads=2 \
  --requests=3000
all_ok large 3000
echo "ok: 3000 echoes of 4 KiB over two client loops, each checked"

load slow 127.0.0.1:$echo_port --payload=100 --conns=2 --depth=4 --requests=1000 \
  --slow_fraction=0.05 --slow_ms=1
all_ok slow 1000
[[ "$(field slow 'r["slow"]["count"]')" -gt 0 ]] || fail "slow: no slow call measured"
[[ "$(field slow 'r["fast"]["count"]')" -gt 0 ]] || fail "slow: no normal call measured"
echo "ok: a 5% SlowEcho mix, every call checked"

load list "list://127.0.0.1:$echo_port" --payload=64 --conns=2 --depth=4 --requests=1000
all_ok list 1000
[[ "$(field list 'r["servers"]["127.0.0.1:'$echo_port'"]')" -ge 1000 ]] ||
  fail "list: the report does not count the server's requests"
echo "ok: through a list:// channel"

load open 127.0.0.1:$echo_port --payload=16 --conns=2 --qps=2000 --duration=0.5
[[ $rc == 0 ]] || fail "open: exit $rc"
python3 -c "import sys; n=int(sys.argv[1]); sys.exit(0 if 700 <= n <= 1300 else 1)" \
  "$(field open 'r["requests"]')" || fail "open: not about 1000 calls at 2000/s for 0.5 s"
[[ "$(field open 'r["error_count"]')" == 0 ]] || fail "open: errors"
echo "ok: the open loop at 2000/s"

load kv 127.0.0.1:$kv_port --payload=16 --conns=1 --depth=2 --requests=200
[[ $rc == 1 ]] || fail "kv: exit $rc, want 1"
grep -q 'connection 0 to 127.0.0.1:'$kv_port': unknown service "mrpc.echo.EchoService"' \
  "$tmp/kv.err" || fail "kv: no line naming the connection and the unknown service"
[[ ! -s "$tmp/kv.json" ]] || fail "kv: a report, though no connection was usable"
echo "ok: a server without EchoService is refused at connect, exit 1"
