#!/usr/bin/env bash
# Runs a fuzz target: for $FUZZ_SECONDS of libFuzzer when set (--config=fuzz),
# else once over its seed corpus (a regression test).
# Usage: run_fuzzer.sh <fuzzer binary> <corpus directory>
set -u
fuzzer=$1 corpus=$2
if [[ -n "${FUZZ_SECONDS:-}" ]]; then
  # New inputs go to a scratch directory; the checked-in seeds stay as they are.
  scratch=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  "$fuzzer" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="${TEST_UNDECLARED_OUTPUTS_DIR:-/tmp}/" \
      "$scratch" "$corpus"
  exit $?
fi
exec "$fuzzer" "$corpus"
