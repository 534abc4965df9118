"""mrpc_dependencies(): every external repository mrpc needs, offline.

A project that builds on mrpc declares it and calls this, in its WORKSPACE:

  local_repository(name = "mrpc", path = "/path/to/mrpc")
  load("@mrpc//:deps.bzl", "mrpc_dependencies")
  mrpc_dependencies()

mrpc's own WORKSPACE calls it too. Nothing is downloaded: the C++ libraries
come from Debian's -dev packages (tools/setup.sh), the Bazel rule sets from
Debian's bazel-* packages under /usr/share/bazel, and two tiny stand-ins from
mrpc's third_party/ (see third_party/README.md). A repository the caller has
already declared under the same name is left alone.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//third_party/system:system.bzl", "system_libraries")

# Resolved against mrpc's repository, whichever workspace loads this file:
# "@mrpc" in a consumer's, the main repository in mrpc's own.
_MRPC_ROOT_FILE = Label("//:deps.bzl")

def _mrpc_third_party_impl(rctx):
    # local_repository paths are relative to the main workspace, which is not
    # mrpc's in a consumer's build; so find mrpc's checkout through a label
    # and link the directory's files into this repository instead.
    mrpc_root = rctx.path(_MRPC_ROOT_FILE).dirname
    src = mrpc_root.get_child("third_party").get_child(rctx.attr.dir)
    if not src.exists:
        fail("%s is missing from mrpc's checkout" % src)
    for entry in src.readdir():
        rctx.symlink(entry, entry.basename)

_mrpc_third_party = repository_rule(
    implementation = _mrpc_third_party_impl,
    doc = "A repository made of mrpc's third_party/<dir>.",
    attrs = {"dir": attr.string(mandatory = True)},
)

def mrpc_dependencies():
    """Declares the repositories mrpc needs that the caller has not."""

    # Bazel 4.2.3 asks for these even for C++ only; its defaults download.
    maybe(_mrpc_third_party, name = "rules_cc", dir = "rules_cc")
    maybe(_mrpc_third_party, name = "remote_coverage_tools", dir = "remote_coverage_tools")
    maybe(native.local_repository, name = "platforms", path = "/usr/share/bazel/platforms")
    maybe(native.local_repository, name = "rules_java", path = "/usr/share/bazel/rules/java")
    maybe(native.local_repository, name = "bazel_skylib", path = "/usr/share/bazel/tools/skylib")

    # Debian's protobuf, abseil, glog, GoogleTest, OpenSSL, ... as @system//:...
    maybe(system_libraries, name = "system")
