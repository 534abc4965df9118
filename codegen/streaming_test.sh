#!/usr/bin/env bash
# protoc-gen-mrpc must reject streaming methods with a clear protoc error.
# Usage: streaming_test.sh <protoc> <protoc-gen-mrpc> <streaming.proto>
set -u
protoc=$1 plugin=$2 proto=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if "$protoc" --plugin=protoc-gen-mrpc="$plugin" --mrpc_out="$out" -I. "$proto" \
    2> "$out/stderr"; then
  echo "FAIL: protoc accepted a streaming method"
  exit 1
fi
want="method mrpc.codegen_test.Uploader.Upload: streaming RPCs are not supported by protoc-gen-mrpc yet"
if ! grep -qF "$want" "$out/stderr"; then
  echo "FAIL: unexpected error output:"
  cat "$out/stderr"
  exit 1
fi
echo "PASS: $(cat "$out/stderr")"
