#!/usr/bin/env bash
# mrpc_load --method against a real examples/kv server on a free port: puts
# from a --request_file that land (read back with curl over HTTP/JSON on the
# same port), a missing key's NOT_FOUND, --expect_json matching and not, an
# unknown method and bad JSON refused with exit code 2 before any load, and
# the open loop.
# Usage: mrpc_load_method_test.sh <test_servers.sh> <kv_server> <mrpc_load>
set -u
servers_lib=$1
server_bin=$2
load_bin=$3
command -v curl >/dev/null || { echo "FAIL: curl is missing (tools/setup.sh installs it)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is missing"; exit 1; }
test_name=mrpc_load_method
# shellcheck source=tools/test_servers.sh
source "$servers_lib"

start server '^kv_server listening on \([0-9][0-9]*\)$' \
  "$server_bin" --port=0 --threads=1
svc=mrpc.examples.kv.KvService

# load <name> <flags...>: runs mrpc_load; its exit code in $rc, its JSON
# report in $tmp/<name>.json, its stderr in $tmp/<name>.err.
load() {
  local name=$1
  shift
  "$load_bin" --target="127.0.0.1:$port" --progress=false --json --warmup=0 \
    "$@" > "$tmp/$name.json" 2> "$tmp/$name.err"
  rc=$?
}
# field <name> <python expression over the report r>
field() {
  python3 -c "import json,sys; r=json.load(sys.stdin); print($2)" \
    < "$tmp/$1.json" || fail "$1: the report is not JSON"
}
# get <key>: the body curl gets for Get(key).
get() {
  curl -sS --max-time 10 -d "{\"key\":\"$1\"}" "http://127.0.0.1:$port/$svc/Get"
}

# (a) Puts from a file, cycled: all 300 OK, and they landed.
cat > "$tmp/puts.jsonl" <<'JSON'
# three puts, sent in turn
{"key": "k1", "value": "v1"}

{"key": "k2", "value": "v2"}
{"key": "k3", "value": "v3"}
JSON
load puts --method=$svc/Put --request_file="$tmp/puts.jsonl" --requests=300 \
  --conns=2 --depth=4
[[ $rc == 0 ]] || fail "puts: exit $rc"
[[ "$(field puts 'r["ok"]')" == 300 ]] || fail "puts: ok is not 300"
[[ "$(field puts 'r["method"]')" == "$svc/Put" ]] || fail "puts: no method in the report"
for i in 1 2 3; do
  [[ "$(get k$i)" == "{\"value\":\"v$i\"}" ]] || fail "puts: k$i is $(get k$i)"
done
echo "ok: puts from a file landed"

# (b) A missing key: every call NOT_FOUND, and the exit code says so.
load missing --method=$svc/Get --request_json='{"key":"nope"}' --requests=20
[[ $rc != 0 ]] || fail "missing: exit 0"
[[ "$(field missing 'r["errors"].get("NOT_FOUND", 0) > 0 and r["ok"] == 0')" == True ]] ||
  fail "missing: no NOT_FOUND errors"
echo "ok: a missing key fails with NOT_FOUND"

# (c) --expect_json, matching and not.
load expect_ok --method=$svc/Get --request_json='{"key":"k1"}' \
  --expect_json='{"value":"v1"}' --requests=50
[[ $rc == 0 && "$(field expect_ok 'r["ok"]')" == 50 ]] || fail "expect_ok: exit $rc"
load expect_bad --method=$svc/Get --request_json='{"key":"k1"}' \
  --expect_json='{"value":"v2"}' --requests=50
[[ $rc != 0 ]] || fail "expect_bad: exit 0"
[[ "$(field expect_bad 'r["errors"].get("MISMATCH", 0) >= 50 and r["ok"] == 0')" == True ]] ||
  fail "expect_bad: mismatches not counted"
echo "ok: --expect_json"

# (d) An unknown method: exit 2, named, before any load.
load unknown --method=$svc/Nope --request_json='{}' --requests=10
[[ $rc == 2 ]] || fail "unknown: exit $rc, want 2"
grep -q "$svc/Nope" "$tmp/unknown.err" || fail "unknown: the error does not name the method"
echo "ok: an unknown method -> exit 2: $(cat "$tmp/unknown.err")"

# (e) Bad JSON: exit 2, naming the line; the good line before it not sent.
printf '{"key": "early", "value": "x"}\n{"key": "k9", "valu": "y"}\n' > "$tmp/bad.jsonl"
load bad_file --method=$svc/Put --request_file="$tmp/bad.jsonl" --requests=10
[[ $rc == 2 ]] || fail "bad_file: exit $rc, want 2"
grep -q "bad.jsonl:2: " "$tmp/bad_file.err" || fail "bad_file: the error does not name line 2"
[[ "$(get early)" == *NOT_FOUND* ]] || fail "bad_file: a request was sent"
load bad_json --method=$svc/Get --request_json='{"key":' --requests=10
[[ $rc == 2 ]] || fail "bad_json: exit $rc, want 2"
grep -q -- "--request_json" "$tmp/bad_json.err" || fail "bad_json: the error does not name the flag"
load slow_mix --method=$svc/Get --request_json='{"key":"k1"}' --slow_fraction=0.1 --requests=10
[[ $rc == 2 ]] || fail "slow_mix: exit $rc, want 2"
echo "ok: bad JSON and echo-only flags -> exit 2"

# (f) Open loop.
load open --method=$svc/Get --request_json='{"key":"k2"}' --qps=200 --duration=1
[[ $rc == 0 ]] || fail "open: exit $rc"
[[ "$(field open 'r["ok"] > 0 and r["qps_target"] == 200')" == True ]] || fail "open: no OK calls"
echo "ok: open loop, $(field open 'r["ok"]') calls"
echo "PASS"
