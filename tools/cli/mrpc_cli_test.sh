#!/usr/bin/env bash
# mrpc_cli as a stranger meets it: only binaries, no .proto anywhere in the
# runfiles. A real kv_server, a second one that wants bearer tokens, and a
# real gateway_server in front of the first, each on a free port and stopped
# by its own PID; every case asserts the exact output or exit code.
# Usage: mrpc_cli_test.sh <test_servers.sh> <mrpc_cli> <kv_server>
#            <gateway_server>
set -u
servers_lib=$1
cli=$2
kv_bin=$3
gateway_bin=$4
command -v python3 >/dev/null || { echo "FAIL: python3 is missing"; exit 1; }
test_name=mrpc_cli
# shellcheck source=tools/test_servers.sh
source "$servers_lib"

# run <case> <want exit> <mrpc_cli args...>: stdout in $tmp/<case>.out,
# stderr in $tmp/<case>.err.
run() {
  local name=$1 want=$2 got
  shift 2
  "$cli" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" < /dev/null
  got=$?
  [[ "$got" == "$want" ]] || fail "$name: exit $got, want $want"
}
# expect_out <case> <text>: the case's stdout is exactly <text>.
expect_out() {
  [[ "$(cat "$tmp/$1.out")" == "$2" ]] ||
    fail "$1: stdout is <$(cat "$tmp/$1.out")>, want <$2>"
  echo "ok: $1"
}
# expect_err <case> <text>: the case's stderr is exactly <text>.
expect_err() {
  [[ "$(cat "$tmp/$1.err")" == "$2" ]] ||
    fail "$1: stderr is <$(cat "$tmp/$1.err")>, want <$2>"
  echo "ok: $1"
}
# expect_has <case> out|err <text>: the output contains <text>.
expect_has() {
  grep -qF -- "$3" "$tmp/$1.$2" || fail "$1: $2 lacks <$3>"
}

# Each server has its own output files (two kv_servers run): a shared file
# could still hold the first one's port when the second is polled.
kv_listening='^kv_server listening on \([0-9][0-9]*\)$'
start kv "$kv_listening" "$kv_bin" --port=0 --threads=1
kv=127.0.0.1:$port
echo "token-1 s3cret" > "$tmp/tokens"
start kv_auth "$kv_listening" "$kv_bin" --port=0 --threads=1 \
  --auth_tokens_file="$tmp/tokens"
kv_auth=127.0.0.1:$port
start gateway '^gateway_server listening on \([0-9][0-9]*\)$' \
  "$gateway_bin" --port=0 --threads=1 --kv_target="$kv"
gateway=127.0.0.1:$port
# A port nothing listens on.
dead=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# --- ls
run ls 0 ls "$kv"
expect_out ls "mrpc.examples.kv.KvService
  Get(mrpc.examples.kv.GetRequest)       returns (mrpc.examples.kv.GetResponse)  [idempotent]
  Put(mrpc.examples.kv.PutRequest)       returns (mrpc.examples.kv.PutResponse)  [idempotent]
  Delete(mrpc.examples.kv.DeleteRequest) returns (mrpc.examples.kv.DeleteResponse)  [idempotent]
  List(mrpc.examples.kv.ListRequest)     returns (mrpc.examples.kv.ListResponse)  [idempotent]
mrpc.health.v1.Health
  Check(mrpc.health.v1.HealthCheckRequest) returns (mrpc.health.v1.HealthCheckResponse)
mrpc.reflection.v1.Reflection
  ListServices(mrpc.reflection.v1.ListServicesRequest) returns (mrpc.reflection.v1.ListServicesResponse)
  GetFiles(mrpc.reflection.v1.GetFilesRequest)         returns (mrpc.reflection.v1.GetFilesResponse)"

run ls_service 0 ls "$kv" mrpc.health.v1.Health
expect_out ls_service "mrpc.health.v1.Health
  Check(mrpc.health.v1.HealthCheckRequest) returns (mrpc.health.v1.HealthCheckResponse)"

run ls_no_service 1 ls "$kv" mrpc.Nope
expect_err ls_no_service 'ERROR: NOT_FOUND: the server has no service "mrpc.Nope"; it offers mrpc.examples.kv.KvService, mrpc.health.v1.Health, mrpc.reflection.v1.Reflection'

run ls_json 0 ls --json "$kv"
python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
services = {s["name"]: s for s in doc["services"]}
assert set(services) == {"mrpc.examples.kv.KvService", "mrpc.health.v1.Health",
                         "mrpc.reflection.v1.Reflection"}, services
kv = services["mrpc.examples.kv.KvService"]["methods"]
assert [m["name"] for m in kv] == ["Get", "Put", "Delete", "List"], kv
assert kv[0] == {"name": "Get", "requestType": "mrpc.examples.kv.GetRequest",
                 "responseType": "mrpc.examples.kv.GetResponse",
                 "idempotent": True}, kv[0]
' "$tmp/ls_json.out" || fail "ls --json: unexpected document"
echo "ok: ls_json"

# --- describe
run describe_service 0 describe "$kv" mrpc.examples.kv.KvService
expect_has describe_service out "// mrpc.examples.kv.KvService: service in examples/kv/kv.proto"
expect_has describe_service out "service KvService {"
expect_has describe_service out "rpc Get(.mrpc.examples.kv.GetRequest) returns (.mrpc.examples.kv.GetResponse)"
expect_has describe_service out "option idempotency_level = NO_SIDE_EFFECTS;"
echo "ok: describe_service"

run describe_method 0 describe "$kv" mrpc.examples.kv.KvService/List
expect_has describe_method out "rpc List(.mrpc.examples.kv.ListRequest) returns (.mrpc.examples.kv.ListResponse)"
expect_has describe_method out "message ListRequest {"
expect_has describe_method out "message ListResponse {"
expect_has describe_method out "message Entry {"
echo "ok: describe_method"

run describe_method_dot 0 describe "$kv" mrpc.examples.kv.KvService.Get
expect_has describe_method_dot out "message GetRequest {"
echo "ok: describe_method_dot"

run describe_message 0 describe "$kv" mrpc.examples.kv.GetRequest
expect_out describe_message "// mrpc.examples.kv.GetRequest: message in examples/kv/kv.proto
message GetRequest {
  string key = 1;
}"

run describe_enum 0 describe "$kv" mrpc.health.v1.HealthCheckResponse.ServingStatus
expect_has describe_enum out "enum ServingStatus {"
expect_has describe_enum out "SERVING = 1;"
echo "ok: describe_enum"

run describe_json 0 describe --json "$kv" mrpc.examples.kv.KvService/Get
python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["symbol"] == "mrpc.examples.kv.KvService/Get", doc
assert doc["kind"] == "method" and doc["file"] == "examples/kv/kv.proto", doc
assert doc["descriptor"]["inputType"] == ".mrpc.examples.kv.GetRequest", doc
assert doc["request"]["field"][0]["name"] == "key", doc
' "$tmp/describe_json.out" || fail "describe --json: unexpected document"
echo "ok: describe_json"

run describe_unknown 1 describe "$kv" mrpc.examples.kv.Nope
expect_has describe_unknown err "ERROR: NOT_FOUND: the server has no service, method, message or enum \"mrpc.examples.kv.Nope\""
echo "ok: describe_unknown"

# --- call
run put 0 call "$kv" mrpc.examples.kv.KvService/Put '{"key":"color","value":"blue"}'
expect_out put '{
 "created": true
}'
run get 0 call "$kv" mrpc.examples.kv.KvService/Get '{"key":"color"}'
expect_out get '{
 "value": "blue"
}'
run get_json 0 call --json "$kv" mrpc.examples.kv.KvService.Get '{"key":"color"}'
expect_out get_json '{"value":"blue"}'
run put_defaults 0 call --json --emit_defaults "$kv" mrpc.examples.kv.KvService/Put '{"key":"color","value":"green"}'
expect_out put_defaults '{"created":false}'

echo '{"key": "color"}' > "$tmp/request.json"
run get_file 0 call --json "$kv" mrpc.examples.kv.KvService/Get "@$tmp/request.json"
expect_out get_file '{"value":"green"}'

"$cli" call --json "$kv" mrpc.examples.kv.KvService/Get < "$tmp/request.json" > "$tmp/stdin.out" 2> "$tmp/stdin.err" ||
  fail "stdin: exit $?"
expect_out stdin '{"value":"green"}'
"$cli" call --json "$kv" mrpc.examples.kv.KvService/Get - < "$tmp/request.json" > "$tmp/stdin_dash.out" 2> "$tmp/stdin_dash.err" ||
  fail "stdin_dash: exit $?"
expect_out stdin_dash '{"value":"green"}'

run missing 69 call "$kv" mrpc.examples.kv.KvService/Get '{"key":"nope"}'
expect_err missing 'ERROR: NOT_FOUND: no key "nope"'
run missing_json 69 call --json "$kv" mrpc.examples.kv.KvService/Get '{"key":"nope"}'
expect_out missing_json '{"code":"NOT_FOUND","code_number":5,"message":"no key \"nope\""}'

run verbose 69 call -v "$kv" mrpc.examples.kv.KvService/Get '{"key":"nope"}'
expect_has verbose err "peer: $kv"
echo "ok: verbose"

run no_file 1 call "$kv" mrpc.examples.kv.KvService/Get @"$tmp/no-such-file"
expect_has no_file err "cannot read the request from $tmp/no-such-file: No such file or directory"
echo "ok: no_file"

run bad_json 1 call "$kv" mrpc.examples.kv.KvService/Get '{"key":'
expect_has bad_json err "ERROR: INVALID_ARGUMENT: cannot parse the request as mrpc.examples.kv.GetRequest: "
echo "ok: bad_json"
run unknown_field 1 call "$kv" mrpc.examples.kv.KvService/Get '{"kee":"color"}'
expect_has unknown_field err "ERROR: INVALID_ARGUMENT: cannot parse the request as mrpc.examples.kv.GetRequest: "
expect_has unknown_field err "kee"
echo "ok: unknown_field"

run no_method 1 call "$kv" mrpc.examples.kv.KvService/Nope '{}'
expect_has no_method err 'ERROR: NOT_FOUND: the server has no method "mrpc.examples.kv.KvService/Nope"'
expect_has no_method err '; mrpc.examples.kv.KvService has Get, Put, Delete, List'
echo "ok: no_method"
run no_service 1 call "$kv" mrpc.examples.Nope/Get '{}'
expect_has no_service err '; the server offers mrpc.examples.kv.KvService, mrpc.health.v1.Health, mrpc.reflection.v1.Reflection'
echo "ok: no_service"

# --- usage
run unknown_subcommand 2 frobnicate "$kv"
expect_has unknown_subcommand err 'ERROR: INVALID_ARGUMENT: unknown subcommand "frobnicate" (ls, describe or call)'
echo "ok: unknown_subcommand"
run no_args 2
run too_many 2 ls "$kv" a b
run bad_header 2 -H 'no colon' ls "$kv"
expect_has bad_header err 'is not "key: value"'
echo "ok: usage"
"$cli" --help > "$tmp/help.out" 2>&1
expect_has help out "78 UNAVAILABLE"
expect_has help out "64+N"
echo "ok: help"

# --- bearer tokens: reflection and the call carry -H
run auth_none 80 ls "$kv_auth"
expect_has auth_none err "ERROR: UNAUTHENTICATED: "
run auth_none_call 80 call "$kv_auth" mrpc.examples.kv.KvService/Get '{"key":"x"}'
echo "ok: auth_none"
run auth_put 0 -H 'authorization: Bearer s3cret' call "$kv_auth" mrpc.examples.kv.KvService/Put '{"key":"k","value":"v"}'
run auth_get 0 call --json "$kv_auth" mrpc.examples.kv.KvService/Get -H 'Authorization: Bearer s3cret' '{"key":"k"}'
expect_out auth_get '{"value":"v"}'
run auth_wrong 80 call "$kv_auth" mrpc.examples.kv.KvService/Get --header='authorization: Bearer wrong' '{"key":"k"}'

# --- targets
run list_target 0 call --json "list://$kv,$kv" mrpc.examples.kv.KvService/Get '{"key":"color"}'
expect_out list_target '{"value":"green"}'
start=$(date +%s)
run dead 78 --timeout=3s ls "$dead"
expect_has dead err "ERROR: UNAVAILABLE: "
(( $(date +%s) - start <= 4 )) || fail "dead: took $(( $(date +%s) - start )) s with --timeout=3s"
run dead_json 78 --json --timeout=3s call "$dead" a.B/C '{}'
expect_has dead_json out '{"code":"UNAVAILABLE","code_number":14,"message":'
echo "ok: dead"

# --- the gateway, end to end to the kv server behind it
run gw_ls 0 ls "$gateway" mrpc.examples.gateway.Gateway
expect_out gw_ls "mrpc.examples.gateway.Gateway
  GetProfile(mrpc.examples.gateway.GetProfileRequest) returns (mrpc.examples.gateway.Profile)  [idempotent]
  SetProfile(mrpc.examples.gateway.Profile)           returns (mrpc.examples.gateway.SetProfileResponse)"
run gw_set 0 call --json "$gateway" mrpc.examples.gateway.Gateway/SetProfile \
  '{"user":"ada","name":"Ada Lovelace","email":"ada@example.com"}'
expect_out gw_set '{}'
run gw_get 0 call --json "$gateway" mrpc.examples.gateway.Gateway/GetProfile '{"user":"ada"}'
expect_out gw_get '{"user":"ada","name":"Ada Lovelace","email":"ada@example.com"}'
run gw_missing 69 call "$gateway" mrpc.examples.gateway.Gateway/GetProfile '{"user":"bob"}'
expect_has gw_missing err "ERROR: NOT_FOUND: "
echo "ok: gw_missing"
# What the gateway stored is in the kv server it calls.
run gw_kv 0 call --json "$kv" mrpc.examples.kv.KvService/List '{}'
expect_has gw_kv out '"Ada Lovelace"'
echo "ok: gw_kv"

echo "PASS"
