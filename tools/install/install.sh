#!/usr/bin/env bash
# Builds mrpc with Bazel (--config=opt) and installs it under a prefix, in
# the layout Debian's -dev packages use:
#
#   PREFIX/include/mrpc/rpc/..., net/...   public headers and what they include
#   PREFIX/lib/libmrpc.a                    all of mrpc's library code, static
#   PREFIX/lib/libmrpc.so -> .so.X.Y -> .so.X.Y.Z   the same, shared
#   PREFIX/lib/pkgconfig/mrpc.pc            pkg-config --cflags --libs mrpc
#   PREFIX/lib/cmake/mrpc/mrpcConfig*.cmake find_package(mrpc CONFIG)
#   PREFIX/bin/protoc-gen-mrpc, mrpc_cli
#
# The include root is PREFIX/include/mrpc (-I that), so user code includes
# "rpc/server.h" exactly as mrpc's own code and generated stubs do, and
# mrpc's net/ and rpc/ directories stay out of /usr/include's namespace.
#
# Usage: tools/install.sh [--prefix=DIR] [--quick]   (default /usr/local)
#   --quick: build without optimization (Bazel's default configuration),
#            reusing what `bazel test //...` built; for tests of the install.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit "$1"
}

prefix=/usr/local
config=(--config=opt)
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix=${arg#--prefix=} ;;
    --quick) config=() ;;
    -h | --help) usage 0 ;;
    *)
      echo "install.sh: unknown argument '$arg'" >&2
      usage 2 >&2
      ;;
  esac
done
[[ -n "$prefix" ]] || { echo "install.sh: empty --prefix" >&2; exit 2; }
prefix=$(realpath -m "$prefix")

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# What a user includes; install.sh adds everything these include from mrpc.
PUBLIC_HEADERS=(
  rpc/server.h rpc/service.h rpc/channel.h rpc/stub.h
  rpc/client_context.h rpc/server_context.h rpc/interceptor.h
  rpc/metadata.h rpc/tls_options.h rpc/cluster_options.h rpc/version.h
  rpc/reflection/reflection_client.h
  rpc/auth/bearer_token.h rpc/auth/authorization.h
)

version=$(sed -n 's/.*kMrpcVersion\[\] = "\([0-9]*\.[0-9]*\.[0-9]*\)".*/\1/p' rpc/version.h)
[[ -n "$version" ]] || { echo "install.sh: no version in rpc/version.h" >&2; exit 1; }
soversion=${version%.*}  # major.minor: before 1.0 a minor release may break the ABI

echo "install.sh: building mrpc $version (bazel build ${config[*]})" >&2
bazel build "${config[@]}" //tools/install:install
bin=$(bazel info "${config[@]}" bazel-bin 2>/dev/null)
execroot=$(bazel info "${config[@]}" execution_root 2>/dev/null)

so="$bin/tools/install/libmrpc.so"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ "$soname" != "libmrpc.so.$soversion" ]]; then
  echo "install.sh: libmrpc.so's soname is '$soname', rpc/version.h says" \
    "libmrpc.so.$soversion; update -soname in tools/install/BUILD.bazel" >&2
  exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Stage every header the libraries export, then keep the closure of the
# public ones as the compiler sees it (-MM: mrpc's headers, not the system's).
while read -r path short; do
  mkdir -p "$stage/all/$(dirname "$short")"
  cp "$execroot/$path" "$stage/all/$short"
done <"$bin/tools/install/libmrpc_static.headers"
(cd "$stage/all" && c++ -std=c++17 -x c++ -MM -I. "${PUBLIC_HEADERS[@]}") >"$stage/deps" ||
  { echo "install.sh: the public headers do not preprocess (above)" >&2; exit 1; }
mapfile -t headers < <(
  sed 's/\\$//' "$stage/deps" | tr -s ' ' '\n' | grep -v -e '^$' -e ':$' |
    sed 's|^\./||' | sort -u
)

echo "install.sh: installing into $prefix" >&2
rm -rf "$prefix/include/mrpc"
for h in "${headers[@]}"; do
  install -D -m 644 "$stage/all/$h" "$prefix/include/mrpc/$h"
done

install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/mrpc" "$prefix/bin"
install -m 644 "$bin/tools/install/libmrpc_static.a" "$prefix/lib/libmrpc.a"
install -m 755 "$so" "$prefix/lib/libmrpc.so.$version"
ln -sfn "libmrpc.so.$version" "$prefix/lib/libmrpc.so.$soversion"
ln -sfn "libmrpc.so.$soversion" "$prefix/lib/libmrpc.so"
install -m 755 "$bin/codegen/protoc-gen-mrpc" "$bin/tools/cli/mrpc_cli" "$prefix/bin/"
# --config=opt builds with -g; like Debian's packages, install without the
# debug info (libmrpc.a: ~95 MB -> a tenth of it). Symbols stay.
strip --strip-debug "$prefix/lib/libmrpc.a" "$prefix/lib/libmrpc.so.$version" \
  "$prefix/bin/protoc-gen-mrpc" "$prefix/bin/mrpc_cli"

subst() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" \
    -e "s|@SOVERSION@|$soversion|g" -e "s|@VERSION_MAJOR@|${version%%.*}|g" "$1"
}
subst tools/install/mrpc.pc.in >"$prefix/lib/pkgconfig/mrpc.pc"
subst tools/install/mrpcConfig.cmake.in >"$prefix/lib/cmake/mrpc/mrpcConfig.cmake"
subst tools/install/mrpcConfigVersion.cmake.in >"$prefix/lib/cmake/mrpc/mrpcConfigVersion.cmake"
chmod 644 "$prefix/lib/pkgconfig/mrpc.pc" "$prefix/lib/cmake/mrpc/"*.cmake

echo "install.sh: installed mrpc $version into $prefix (${#headers[@]} headers)" >&2
