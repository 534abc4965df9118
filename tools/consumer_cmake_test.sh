#!/usr/bin/env bash
# mrpc as a stranger's CMake or pkg-config build sees it, end to end:
#   1. tools/install.sh into a fresh temporary prefix;
#   2. every installed header compiles alone (c++ -fsyntax-only with
#      pkg-config's cflags);
#   3. a tiny program compiles and links with exactly
#      `pkg-config --cflags --libs mrpc` (libmrpc.so) and runs; libmrpc.a,
#      linked whole with `pkg-config --static`'s dependencies, leaves no
#      symbol unresolved and runs without libmrpc.so;
#   4. examples/consumer/cmake, copied out of the tree, configures with
#      find_package(mrpc) (-DCMAKE_PREFIX_PATH=<prefix>), builds (libmrpc.so),
#      passes its ctest, and its greeter_server and greeter_client talk;
#   5. the same project with -DMRPC_USE_STATIC_LIBS=ON builds and passes its
#      test linked against libmrpc.a.
# Prints one PASS/FAIL line; exits non-zero on failure. Temporary
# directories are removed and the server it starts is stopped by its PID.
#
# Usage: tools/consumer_cmake_test.sh   (run it under `nice` on a shared box)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mrpc_consumer_cmake.XXXXXX")
server_pid=

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step=setup
fail() {
  echo "consumer_cmake_test: FAIL ($step): $*" >&2
  echo "FAIL: consumer_cmake_test ($step, $((SECONDS - start))s)"
  exit 1
}
# Runs a command with its output in $tmp/<log>; on failure shows the tail.
run() {
  local log="$tmp/$1" rc=0
  shift
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$log" >&2
    fail "$* (exit $rc)"
  fi
}
jobs=$(nproc 2>/dev/null || echo 2)

step=install
prefix="$tmp/prefix"
# --quick: the unoptimized build `bazel test //...` already made (the
# install's machinery is the same; only the compiler's -O differs).
run install.log "$root/tools/install.sh" "--prefix=$prefix" --quick
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
for f in include/mrpc/rpc/server.h lib/libmrpc.a lib/libmrpc.so \
  lib/pkgconfig/mrpc.pc lib/cmake/mrpc/mrpcConfig.cmake \
  lib/cmake/mrpc/mrpcConfigVersion.cmake bin/protoc-gen-mrpc bin/mrpc_cli; do
  [[ -e "$prefix/$f" ]] || fail "not installed: $f"
done

step=headers
read -ra cflags <<<"$(pkg-config --cflags mrpc)" || fail "pkg-config --cflags mrpc"
mapfile -t headers < <(cd "$prefix/include/mrpc" && find . -name '*.h' | sed 's|^\./||' | sort)
((${#headers[@]} > 0)) || fail "no headers installed"
# Each header as its own translation unit: it must include what it uses.
if ! printf '%s\n' "${headers[@]}" |
  xargs -P "$jobs" -I{} sh -c \
    'c++ -std=c++17 -fsyntax-only -x c++ "$@" "'"$prefix"'/include/mrpc/{}" 2>&1 ||
       { echo "^^^ {} does not compile alone"; exit 1; }' \
    sh "${cflags[@]}" >"$tmp/headers.log"; then
  grep -B 20 'does not compile alone' "$tmp/headers.log" | tail -n 40 >&2
  fail "$(grep -c 'does not compile alone' "$tmp/headers.log") header(s) do not compile alone"
fi

step=pkg-config
mkdir "$tmp/pc"
cat >"$tmp/pc/hello.cc" <<'EOF'
// Starts a server on a free port and connects a channel to it.
#include <stdio.h>

#include <string>

#include "rpc/channel.h"
#include "rpc/server.h"
#include "rpc/version.h"

int main() {
  mrpc::Server server;
  absl::Status status = server.Start("127.0.0.1:0");
  if (!status.ok()) return 1;
  auto channel =
      mrpc::Channel::Create("127.0.0.1:" + std::to_string(server.port()));
  if (!channel.ok()) return 1;
  channel->reset();
  server.Shutdown();
  server.Wait();
  printf("mrpc %s ok\n", mrpc::kMrpcVersion);
  return 0;
}
EOF
# Shared: exactly the pkg-config line; the prefix is not in ld.so's path.
pc_line=$(pkg-config --cflags --libs mrpc) || fail "pkg-config --cflags --libs mrpc"
# shellcheck disable=SC2086  # the line is meant to split
run pc_shared.log c++ -std=c++17 "$tmp/pc/hello.cc" -o "$tmp/pc/hello" $pc_line
LD_LIBRARY_PATH="$prefix/lib" run hello_shared.log "$tmp/pc/hello"
grep -q ' ok$' "$tmp/hello_shared.log" || fail "hello printed: $(cat "$tmp/hello_shared.log")"
# Static: all of libmrpc.a, so any symbol whose library .pc misses fails.
static_libs=$(pkg-config --static --libs mrpc | sed 's/\(^\| \)-lmrpc\( \|$\)/ /')
# shellcheck disable=SC2086
run pc_static.log c++ -std=c++17 "$tmp/pc/hello.cc" -o "$tmp/pc/hello_static" \
  "${cflags[@]}" -Wl,--whole-archive "$prefix/lib/libmrpc.a" \
  -Wl,--no-whole-archive $static_libs
! ldd "$tmp/pc/hello_static" | grep -q libmrpc || fail "hello_static needs libmrpc.so"
run hello_static.log "$tmp/pc/hello_static"

step=cmake
cp -r "$root/examples/consumer/cmake" "$tmp/src"
build="$tmp/build"
run cmake_configure.log cmake -S "$tmp/src" -B "$build" -DCMAKE_PREFIX_PATH="$prefix"
run cmake_build.log cmake --build "$build" -j "$jobs"
ldd "$build/greeter_test" | grep -q "libmrpc.so.* => $prefix/lib/" ||
  fail "greeter_test does not use $prefix/lib/libmrpc.so"
run ctest.log ctest --test-dir "$build" --output-on-failure

step=cmake-server-client
"$build/greeter_server" 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^greeter_server listening on \([0-9]*\)$/\1/p' "$tmp/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err" >&2; fail "server exited"; }
  sleep 0.1
done
[[ -n "$port" ]] || fail "server did not report its port in 10s"
reply=$("$build/greeter_client" "127.0.0.1:$port" consumer 2>&1) || fail "client: $reply"
[[ "$reply" == "hello, consumer" ]] || fail "client printed '$reply'"
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
((rc == 0)) || fail "server exited $rc on SIGTERM"

step=cmake-static
run cmake_static_configure.log cmake -S "$tmp/src" -B "$tmp/build_static" \
  -DCMAKE_PREFIX_PATH="$prefix" -DMRPC_USE_STATIC_LIBS=ON
run cmake_static_build.log cmake --build "$tmp/build_static" -j "$jobs" --target greeter_test
! ldd "$tmp/build_static/greeter_test" | grep -q libmrpc ||
  fail "MRPC_USE_STATIC_LIBS=ON still links libmrpc.so"
run ctest_static.log "$tmp/build_static/greeter_test"

echo "PASS: consumer_cmake_test (install, ${#headers[@]} headers alone, pkg-config shared+static, CMake shared+static; $((SECONDS - start))s)"
