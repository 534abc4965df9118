#!/usr/bin/env bash
# Regenerates codegen/testdata/*.golden from the current protoc-gen-mrpc.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //codegen/testdata:golden_mrpc_gen
for suffix in .mrpc.h .mrpc.cc .mrpc.mock.h; do
  cp -f "bazel-bin/codegen/testdata/golden${suffix}" "codegen/testdata/golden${suffix}.golden"
  chmod 644 "codegen/testdata/golden${suffix}.golden"
done
echo "updated codegen/testdata/*.golden"
