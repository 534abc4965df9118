#!/usr/bin/env bash
# Installs the Debian packages mrpc needs to build, test and benchmark.
#
# Idempotent and quick when everything is present: it asks dpkg what is missing
# and only then runs apt-get (update + install). Safe to run on every command.
set -euo pipefail

# Build: Bazel and the rule packages it needs offline; the C++ libraries.
# Tools: clang (sanitizers, libFuzzer), perf and valgrind (profiling),
# procps/util-linux for ps/taskset used by the benchmark scripts.
PACKAGES=(
  bazel-bootstrap bazel-platforms bazel-rules-java bazel-skylib
  g++ clang-14 libclang-rt-14-dev clang-format-14
  libprotobuf-dev libprotoc-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc
  pkg-config linux-perf valgrind procps util-linux python3 git
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing missing Debian packages: ${missing[*]}"
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
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
