#!/usr/bin/env bash
# Installs mrpc under a prefix: tools/install.sh [--prefix=DIR] (default
# /usr/local). The machinery lives in tools/install/; see install.sh there.
exec "$(dirname "${BASH_SOURCE[0]}")/install/install.sh" "$@"
