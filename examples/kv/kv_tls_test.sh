#!/usr/bin/env bash
# TLS as a user meets it: examples/kv's server on a free port with
# certificates from make_test_certs and --tls_required; kv_client, curl and
# openssl s_client against it; then a certificate rotation on SIGHUP: new
# handshakes see the new certificate, the process is the same, and a
# connection made before the rotation goes on working after it.
# Usage: kv_tls_test.sh <kv_server> <kv_client> <make_test_certs>
set -u
server_bin=$1
client_bin=$2
certs_bin=$3
for tool in curl openssl timeout; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL: $tool is missing (tools/setup.sh installs it)"; exit 1; }
done
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/kv_tls.XXXXXX")
pid=
old_pid=
cleanup() {
  if [[ -n "$old_pid" ]]; then
    kill -TERM "$old_pid" 2>/dev/null
    wait "$old_pid" 2>/dev/null
  fi
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*; do
    [[ -f "$f" && -s "$f" ]] && { echo "--- $(basename "$f")"; cat "$f"; }
  done
  exit 1
}
# wait_for <what> <command...>: runs the command every 50 ms, up to 10 s,
# until it succeeds; fails the test if the server died or time ran out.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 200); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || fail "server exited while waiting for $what"
    sleep 0.05
  done
  fail "no $what within 10 s"
}

certs=$tmp/certs
"$certs_bin" --dir="$certs" --server_names=localhost,127.0.0.1 > /dev/null ||
  fail "make_test_certs"

# Bearer tokens too: a file of "principal token" lines (made here, 0600).
token=t0k-$RANDOM$RANDOM$RANDOM
printf '# kv callers\nops %s\n' "$token" > "$tmp/tokens"
chmod 600 "$tmp/tokens"
"$server_bin" --port=0 --threads=1 --tls_cert="$certs/server.pem" \
  --tls_key="$certs/server.key" --tls_ca="$certs/ca.pem" --tls_required \
  --auth_tokens_file="$tmp/tokens" \
  > "$tmp/server.out" 2> "$tmp/server.err" &
pid=$!
port=
has_port() {
  port=$(sed -n 's/^kv_server listening on \([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
  [[ -n "$port" ]]
}
wait_for "\"listening on <port>\" line" has_port
target=127.0.0.1:$port

# kv <args...>: kv_client over mutual TLS, bounded.
kv() {
  timeout 20 "$client_bin" --target="$target" --tls_ca="$certs/ca.pem" \
    --tls_cert="$certs/client.pem" --tls_key="$certs/client.key" \
    --auth_token="$token" "$@" 2> "$tmp/client.err"
}
out=$(kv put color blue) || fail "kv_client put over TLS: $out"
[[ "$out" == "put color = blue (created)" ]] || fail "put answered: $out"
out=$(kv get color) || fail "kv_client get over TLS: $out"
[[ "$out" == "get color = blue" ]] || fail "get answered: $out"
echo "ok: kv_client put and get over mutual TLS with a bearer token"

# No token, or a wrong one: UNAUTHENTICATED, and the token is never echoed.
out=$(timeout 20 "$client_bin" --target="$target" --tls_ca="$certs/ca.pem" \
  --tls_cert="$certs/client.pem" --tls_key="$certs/client.key" get color 2>&1) &&
  fail "a call without a token succeeded: $out"
[[ "$out" == *"UNAUTHENTICATED: missing authorization metadata"* ]] ||
  fail "without a token: $out"
out=$(timeout 20 "$client_bin" --target="$target" --tls_ca="$certs/ca.pem" \
  --auth_token=wrong-$token get color 2>&1) && fail "a wrong token succeeded"
[[ "$out" == *"UNAUTHENTICATED: unknown bearer token"* ]] || fail "wrong token: $out"
grep -q "$token" "$tmp/server.err" && fail "the server logged the token"
echo "ok: no token or a wrong one -> UNAUTHENTICATED; the token is not logged"

# Plaintext is refused (--tls_required): a failed call, not a hang.
timeout 20 "$client_bin" --target="$target" --timeout_ms=2000 get color \
  > "$tmp/plain.out" 2> "$tmp/plain.err"
rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "kv_client without TLS: exit $rc, want a failure"
echo "ok: kv_client without TLS fails (exit $rc): $(cat "$tmp/plain.out")"
if curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$port/health" 2> /dev/null; then
  fail "plaintext HTTP was answered"
fi
echo "ok: plaintext HTTP refused"

# curl over https, checking the chain and the name ("localhost").
status=$(curl -sS --max-time 10 --cacert "$certs/ca.pem" -o "$tmp/health.body" \
  -w '%{http_code}' "https://localhost:$port/health") || fail "curl https /health"
[[ "$status" == 200 ]] || fail "https /health: HTTP $status"
echo "ok: curl --cacert https://localhost:$port/health -> 200"
status=$(curl -sS --max-time 10 --cacert "$certs/ca.pem" -o /dev/null \
  -w '%{http_code}' -d '{"key":"color"}' \
  "https://localhost:$port/mrpc.examples.kv.KvService/Get") || fail "curl https Get"
[[ "$status" == 401 ]] || fail "https Get without a token: HTTP $status, want 401"
status=$(curl -sS --max-time 10 --cacert "$certs/ca.pem" --cert "$certs/client.pem" \
  --key "$certs/client.key" -o "$tmp/get.body" -w '%{http_code}' -d '{"key":"color"}' \
  -H "Authorization: Bearer $token" \
  "https://localhost:$port/mrpc.examples.kv.KvService/Get") || fail "curl https Get"
[[ "$status" == 200 && "$(cat "$tmp/get.body")" == '{"value":"blue"}' ]] ||
  fail "https Get: HTTP $status $(cat "$tmp/get.body")"
echo "ok: JSON call over https with a client certificate -> 200 $(cat "$tmp/get.body")"

# s_client <extra flags...>: one handshake with openssl's own client.
s_client() {
  timeout 10 openssl s_client -connect "$target" -CAfile "$certs/ca.pem" \
    -verify_return_error "$@" < /dev/null > "$tmp/s_client.out" 2>&1
}
s_client || fail "openssl s_client -verify_return_error"
s_client -verify_hostname localhost || fail "openssl s_client: not localhost"
s_client -verify_hostname renamed.test && fail "the first certificate claims renamed.test"
echo "ok: openssl s_client verifies the chain and the name localhost"

# A connection made before the rotation: openssl s_client kept open on a
# fifo, an HTTP/1.1 request on it now and another after the rotation.
mkfifo "$tmp/old.in"
exec 3<> "$tmp/old.in"  # Read-write: s_client never sees EOF until we say.
openssl s_client -connect "$target" -CAfile "$certs/ca.pem" -verify_return_error \
  -verify_hostname localhost -brief -nocommands <&3 > "$tmp/old.out" 2> "$tmp/old.err" &
old_pid=$!
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n' >&3
responses() { [[ $(grep -c '^HTTP/1.1 200' "$tmp/old.out") -ge $1 ]]; }
wait_for "answer on the long-lived connection" responses 1
grep -q 'Peer certificate: CN = localhost' "$tmp/old.err" ||
  fail "the long-lived connection did not get the first certificate"

# Rotation: a new server certificate from the same CA with other names,
# moved over the served files (each rename atomic), then SIGHUP.
"$certs_bin" --dir="$tmp/certs2" --ca_dir="$certs" \
  --server_names=renamed.test,127.0.0.1 > /dev/null || fail "make_test_certs --ca_dir"
mv "$tmp/certs2/server.key" "$certs/server.key" &&
  mv "$tmp/certs2/server.pem" "$certs/server.pem" || fail "cannot move the new certificate"
kill -HUP "$pid"
hangup_logged() { grep -q 'kv_server: SIGHUP: ' "$tmp/server.err"; }
wait_for "log line of the SIGHUP" hangup_logged
grep -q 'kv_server: SIGHUP: TLS not reloaded' "$tmp/server.err" && fail "the reload failed"
# The SIGHUP or, if it came first, the periodic check took the new files.
grep -q 'TLS reloaded (.*CN *= *renamed.test' "$tmp/server.err" ||
  fail "the server did not log a reload to the new certificate"
echo "ok: SIGHUP reloaded the certificate ($(grep -o 'SIGHUP: .*' "$tmp/server.err"))"

s_client -verify_hostname renamed.test || fail "new handshake: not renamed.test"
s_client -verify_hostname localhost && fail "new handshake still gets the old certificate"
echo "ok: new handshakes get the new certificate (renamed.test)"
out=$(kv get color) || fail "kv_client get after the rotation: $out"
[[ "$out" == "get color = blue" ]] || fail "get after the rotation answered: $out"
status=$(curl -sS --max-time 10 --cacert "$certs/ca.pem" \
  --resolve "renamed.test:$port:127.0.0.1" -o /dev/null -w '%{http_code}' \
  "https://renamed.test:$port/health") || fail "curl https://renamed.test"
[[ "$status" == 200 ]] || fail "https://renamed.test /health: HTTP $status"
echo "ok: kv_client and curl after the rotation, the data still there"

# The old connection still works, on its first handshake.
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n' >&3
wait_for "second answer on the long-lived connection" responses 2
[[ $(grep -c 'CONNECTION ESTABLISHED' "$tmp/old.err") -eq 1 ]] ||
  fail "the long-lived connection was made more than once"
kill -0 "$old_pid" 2>/dev/null || fail "the long-lived s_client exited"
echo "ok: a connection made before the rotation still works after it"
kill -TERM "$old_pid"
wait "$old_pid" 2>/dev/null
old_pid=
exec 3>&-

# Same process all along: alive, one "listening" line.
kill -0 "$pid" 2>/dev/null || fail "the server is gone"
[[ $(grep -c 'listening on' "$tmp/server.out") -eq 1 ]] || fail "the server restarted"
kill -TERM "$pid"
for _ in $(seq 200); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "no exit within 10 s of SIGTERM"; }
wait "$pid"
rc=$?
pid=
[[ $rc -eq 0 ]] || fail "server exit code $rc"
echo "PASS"
