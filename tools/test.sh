#!/usr/bin/env bash
# Runs every mrpc test: the whole suite in the default config, then again under
# AddressSanitizer+UBSan (gcc) and under ThreadSanitizer (clang 14, which also
# compiles every target with -Werror=thread-safety, so this suite is the check
# of the ABSL_GUARDED_BY annotations), then each libFuzzer target for 60 s
# (clang, ASan+UBSan; the fuzz targets' corpora are also replayed in the three
# runs before). The gcc suites run first and the clang ones last, so the
# toolchain switches once per run. After the default suite, the consumer
# templates (a Bazel workspace and a CMake project outside the tree) are
# built against this checkout and run. Installs missing Debian packages first
# (tools/setup.sh). Ends with one line "N passed, M failed", counted from
# Bazel's per-test results, and exits non-zero on any failure.
#
# Usage: tools/test.sh [extra bazel test flags, e.g. --test_filter=...]
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() {
  local label=$1; shift
  echo "=== tests: ${label} ==="
  bazel test --keep_going "$@" -- //... 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # Bazel prints one summary line per test target: "//pkg:name  STATUS ...".
  local ok bad
  ok=$(grep -cE '^//[^ ]+ +(\(cached\) +)?PASSED' "$log")
  bad=$(grep -cE '^//[^ ]+ +(\(cached\) +)?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|REMOTE FAILURE|FAILED TO BUILD)' "$log")
  # A failure before any test ran (analysis or build error) prints no test
  # lines at all; count it so it cannot pass silently. Exit code 4 means
  # "no test targets", which is not a failure.
  if [[ $rc -ne 0 && $rc -ne 4 && $bad -eq 0 ]]; then
    echo "tests: bazel exited with ${rc}: an error outside any test (${label}); counted as 1 failure"
    bad=1
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
}

# mrpc as another project uses it (docs/guide.md, "Use mrpc in your
# project"): a Bazel workspace and a CMake project outside the tree, built
# against this checkout and run end to end. Right after the default suite,
# whose build the install reuses. Each script is one test.
run_consumers() {
  echo "=== tests: consumers ==="
  local script
  for script in tools/consumer_*_test.sh; do
    if "$script"; then
      passed=$((passed + 1))
    else
      echo "tests: ${script} FAILED"
      failed=$((failed + 1))
    fi
  done
}

run_suite default "$@"
run_consumers
run_suite asan --config=asan "$@"
run_suite tsan --config=tsan "$@"
run_suite fuzz --config=fuzz "$@"

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
