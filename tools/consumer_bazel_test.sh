#!/usr/bin/env bash
# Proves that another Bazel workspace can build a service on mrpc with the
# set-up docs/guide.md gives: copies examples/consumer/bazel into a fresh
# directory outside this checkout, points its local_repository at this
# checkout, runs `bazel test //...` there (greeter_test: a server and a
# client in one process), then runs greeter_server and greeter_client as
# separate programs. Ends with one line "consumer_bazel_test: PASS" or
# "consumer_bazel_test: FAIL: <why>", and exits non-zero on failure.
#
# The workspace gets its own output base (inside the temporary directory), so
# it compiles mrpc's //rpc from scratch; Bazel is shut down and everything
# removed at the end. Needs only what tools/setup.sh installs; offline.
#
# Usage: tools/consumer_bazel_test.sh [extra bazel test flags]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/mrpc_consumer_bazel.XXXXXX")
ws="$work/greeter"
log="$work/log"
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [[ -d "$ws" ]]; then
    (cd "$ws" && bazel --output_base="$work/out" shutdown) >/dev/null 2>&1
  fi
  # Bazel leaves parts of its output base read-only.
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  [[ -s "$log" ]] && tail -n 40 "$log"
  echo "consumer_bazel_test: FAIL: $*"
  exit 1
}

start=$SECONDS
mkdir "$ws"
cp -R "$root/examples/consumer/bazel/." "$ws/"
rm -f "$ws"/bazel-*  # convenience links, if the template was built in place
sed -i "s|path = \"../../..\"|path = \"$root\"|" "$ws/WORKSPACE"
grep -qF "path = \"$root\"" "$ws/WORKSPACE" ||
  fail "could not point the template's WORKSPACE at $root"

cd "$ws"
echo "consumer_bazel_test: bazel test //... in $ws (log: bazel's output below on failure)"
bazel --output_base="$work/out" test "$@" //... >"$log" 2>&1 ||
  fail "bazel test //... in the consumer workspace"

# The two programs, as a user would run them.
bazel-bin/greeter_server 0 >"$work/server.out" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^greeter_server listening on \([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/server.out"; fail "greeter_server did not start"; }
reply=$(bazel-bin/greeter_client "127.0.0.1:$port" consumer 2>&1)
[[ "$reply" == "hello, consumer" ]] ||
  fail "greeter_client printed '$reply', expected 'hello, consumer'"
kill -TERM "$server_pid"
wait "$server_pid" || fail "greeter_server exited with $? on SIGTERM"
server_pid=

echo "consumer_bazel_test: PASS ($((SECONDS - start)) s: bazel test //... and greeter_client -> greeter_server)"
