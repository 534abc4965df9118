#!/usr/bin/env bash
# The one-port acceptance, as a user meets it: examples/kv's server on a free
# port, called with curl over HTTP/JSON on the same port its binary clients
# use (docs/guide.md, "HTTP, metrics and status pages"). JSON in, JSON out; a
# missing key is HTTP 404 with the canonical code in the body.
# Usage: kv_curl_test.sh <test_servers.sh> <kv_server>
set -u
servers_lib=$1
server_bin=$2
command -v curl >/dev/null || { echo "FAIL: curl is missing (tools/setup.sh installs it)"; exit 1; }
test_name=kv_curl
# shellcheck source=tools/test_servers.sh
source "$servers_lib"

start server '^kv_server listening on \([0-9][0-9]*\)$' \
  "$server_bin" --port=0 --threads=1
base=http://127.0.0.1:$port/mrpc.examples.kv.KvService

# call <name> <expected http status> <expected body, or -> <method> <json>
call() {
  local name=$1 want_status=$2 want_body=$3 method=$4 json=$5 status
  status=$(curl -sS -o "$tmp/$name.body" -w '%{http_code}' --max-time 10 \
    -d "$json" "$base/$method") || fail "$name: curl failed"
  [[ "$status" == "$want_status" ]] || fail "$name: HTTP $status, want $want_status"
  [[ "$want_body" == "-" || "$(cat "$tmp/$name.body")" == "$want_body" ]] ||
    fail "$name: body $(cat "$tmp/$name.body"), want $want_body"
  echo "ok: $name -> $status $(cat "$tmp/$name.body")"
}

call put 200 '{"created":true}' Put '{"key":"color","value":"blue"}'
call get 200 '{"value":"blue"}' Get '{"key":"color"}'
call missing 404 '{"code":5,"status":"NOT_FOUND","message":"no key \"nope\""}' \
  Get '{"key":"nope"}'
# Protocol buffers' JSON mapping both ways: proto field names accepted,
# lowerCamelCase and defaults omitted in the answer.
call list 200 '{"entries":[{"key":"color","value":"blue"}]}' List '{"prefix":"co"}'
call bad_json 400 - Get '{"key":'
grep -q '^{"code":3,"status":"INVALID_ARGUMENT","message":"cannot parse the JSON body as mrpc.examples.kv.GetRequest: [^"]*"}$' \
  "$tmp/bad_json.body" || fail "bad JSON is not INVALID_ARGUMENT naming the type"
echo "PASS"
