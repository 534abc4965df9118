#!/usr/bin/env bash
# Installs the Debian packages mrpc needs to build, test and benchmark.
#
# Idempotent and quick when everything is present: it asks dpkg what is missing
# and only then runs apt-get (update + install). Safe to run on every command.
# Silent when nothing is missing; otherwise one line per step, with apt-get's
# output in a log file (its tail is printed if apt-get fails).
set -euo pipefail

# Build: Bazel and the rule packages it needs offline; the C++ libraries.
# Tools: clang (sanitizers, libFuzzer), perf and valgrind (profiling),
# procps/util-linux for ps/taskset used by the benchmark scripts.
# Cluster tests: etcd (server and etcdctl) and dnsmasq, started by the tests
# on free loopback ports. HTTP on the server's port: curl (tests and demo),
# wrk (the JSON benchmark).
# Page tests: chromium (headless) renders /status; promtool (prometheus)
# checks /metrics.
# TLS: libssl-dev (the library) and openssl (tests' s_client, certificates).
# Consumers: cmake (tools/consumer_cmake_test.sh builds examples/consumer/cmake
# against an installed mrpc; pkg-config is above).
PACKAGES=(
  bazel-bootstrap bazel-platforms bazel-rules-java bazel-skylib
  g++ clang-14 libclang-rt-14-dev clang-format-14
  libprotobuf-dev libprotoc-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc
  pkg-config linux-perf valgrind procps util-linux python3 git
  etcd-server etcd-client dnsmasq-base
  curl wrk chromium prometheus
  libssl-dev openssl
  cmake
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

log="${TMPDIR:-/tmp}/mrpc-setup.log"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "setup: need root to install packages; run as root or install sudo:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "setup: installing ${#missing[@]} packages (log: $log)"
export DEBIAN_FRONTEND=noninteractive
rc=0
{
  echo "setup: missing: ${missing[*]}"
  $SUDO apt-get update &&
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
} >"$log" 2>&1 </dev/null || rc=$?
if ((rc != 0)); then
  echo "setup: apt-get failed (exit $rc); last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit "$rc"
fi
echo "setup: done"
