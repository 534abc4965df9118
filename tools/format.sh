#!/usr/bin/env bash
# Formats every C++ file in the tree with clang-format (Google style, see
# .clang-format). `tools/format.sh --check` only reports files that differ.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || command -v clang-format) || {
  echo "format: clang-format is missing; run tools/setup.sh" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.h' '*.cc')
((${#files[@]})) || exit 0
if [[ ${1:-} == --check ]]; then
  "$format" --dry-run -Werror "${files[@]}"
else
  "$format" -i "${files[@]}"
fi
