"""Bazel rules that compile .proto files with Debian's protoc.

mrpc_cc_library(name, srcs, deps): messages and mrpc services in one target,
the way cc_grpc_library works. It gives:
  :<name>       cc_library with foo.pb.h (messages) and foo.mrpc.h (server
                base classes and client stubs); depends on mrpc's //rpc.
  :<name>_mock  testonly cc_library with foo.mrpc.mock.h (gmock stubs).

mrpc_proto_library(name, srcs, deps): messages only (no //rpc dependency).

In both, `deps` are other mrpc_cc_library / mrpc_proto_library targets whose
.proto files the sources import. Import paths are relative to the
repository root (`import "proto/echo.proto";`).

Example:
  load("//codegen:defs.bzl", "mrpc_cc_library")
  mrpc_cc_library(name = "greeter", srcs = ["greeter.proto"])
  cc_binary(name = "server", srcs = ["server.cc"], deps = [":greeter"])
"""

MrpcProtoInfo = provider(
    doc = "The .proto files a proto target and its dependencies provide.",
    fields = {
        "transitive_srcs": "depset of .proto Files, own and imported",
        "proto_roots": "depset of -I roots for protoc",
    },
)

# Labels resolve against mrpc's repository wherever the macro is used.
_RPC = str(Label("//rpc"))
_PROTOBUF = str(Label("@system//:protobuf"))
_GMOCK = str(Label("@system//:gmock"))

def _proto_root(src):
    # The directory protoc must search so that `src` is found under its
    # repository-relative path (generated files and external repos included).
    root = src.root.path
    if src.owner.workspace_root:
        root = root + "/" + src.owner.workspace_root if root else src.owner.workspace_root
    return root or "."

def _out_dir(ctx, src):
    # protoc writes foo/bar.proto's outputs under <out_dir>/foo/.
    root = ctx.bin_dir.path
    if src.owner.workspace_root:
        root = root + "/" + src.owner.workspace_root
    return root

def _mrpc_proto_gen_impl(ctx):
    srcs = ctx.files.srcs
    transitive = depset(
        srcs,
        transitive = [d[MrpcProtoInfo].transitive_srcs for d in ctx.attr.deps],
    )
    roots = depset(
        [_proto_root(s) for s in srcs],
        transitive = [d[MrpcProtoInfo].proto_roots for d in ctx.attr.deps],
    )
    hdrs = []
    cc_srcs = []
    mocks = []
    for src in srcs:
        stem = src.basename[:-len(".proto")]
        hdrs.append(ctx.actions.declare_file(stem + ".pb.h", sibling = src))
        cc_srcs.append(ctx.actions.declare_file(stem + ".pb.cc", sibling = src))
        if ctx.attr.services:
            hdrs.append(ctx.actions.declare_file(stem + ".mrpc.h", sibling = src))
            cc_srcs.append(ctx.actions.declare_file(stem + ".mrpc.cc", sibling = src))
            mocks.append(ctx.actions.declare_file(stem + ".mrpc.mock.h", sibling = src))
    outputs = hdrs + cc_srcs + mocks
    out_dir = _out_dir(ctx, srcs[0])
    args = ctx.actions.args()
    args.add("--cpp_out=" + out_dir)
    tools = []
    if ctx.attr.services:
        plugin = ctx.executable._plugin
        args.add("--plugin=protoc-gen-mrpc=" + plugin.path)
        args.add("--mrpc_out=" + out_dir)
        tools.append(plugin)
    args.add_all(roots, format_each = "-I%s")
    args.add_all(srcs)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = transitive,
        tools = tools,
        outputs = outputs,
        mnemonic = "MrpcProtoc",
        progress_message = "Generating C++ from %s" % ", ".join([s.short_path for s in srcs]),
    )
    return [
        DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs)),
        OutputGroupInfo(hdrs = depset(hdrs), srcs = depset(cc_srcs), mocks = depset(mocks)),
        MrpcProtoInfo(transitive_srcs = transitive, proto_roots = roots),
    ]

mrpc_proto_gen = rule(
    implementation = _mrpc_proto_gen_impl,
    doc = "Runs protoc (and protoc-gen-mrpc if `services`) over `srcs`.",
    attrs = {
        "srcs": attr.label_list(allow_files = [".proto"], mandatory = True),
        "deps": attr.label_list(providers = [MrpcProtoInfo]),
        "services": attr.bool(default = False),
        "_protoc": attr.label(
            default = "@system//:protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        "_plugin": attr.label(
            default = "//codegen:protoc-gen-mrpc",
            executable = True,
            cfg = "exec",
        ),
    },
)

def _generated(name, srcs, deps, services, visibility, testonly):
    mrpc_proto_gen(
        name = name + "_gen",
        srcs = srcs,
        deps = [d + "_gen" for d in deps],
        services = services,
        visibility = visibility,
        testonly = testonly,
    )
    for group in ["hdrs", "srcs"] + (["mocks"] if services else []):
        native.filegroup(
            name = "%s_gen_%s" % (name, group),
            srcs = [name + "_gen"],
            output_group = group,
            visibility = ["//visibility:private"],
            testonly = testonly,
        )

def mrpc_proto_library(name, srcs, deps = [], visibility = None, testonly = False):
    """A cc_library of the protobuf messages in `srcs` (no services).

    Args:
      name: the cc_library's name.
      srcs: .proto files in this package.
      deps: other mrpc_proto_library / mrpc_cc_library targets that `srcs` import.
      visibility: of the cc_library.
      testonly: as for any rule.
    """
    _generated(name, srcs, deps, False, visibility, testonly)
    native.cc_library(
        name = name,
        srcs = [name + "_gen_srcs"],
        hdrs = [name + "_gen_hdrs"],
        deps = deps + [_PROTOBUF],
        visibility = visibility,
        testonly = testonly,
    )

def mrpc_cc_library(name, srcs, deps = [], visibility = None, testonly = False):
    """Messages plus mrpc server bases and client stubs for `srcs`.

    Args:
      name: the cc_library's name; `<name>_mock` holds the gmock stubs.
      srcs: .proto files in this package.
      deps: other mrpc_proto_library / mrpc_cc_library targets that `srcs` import.
      visibility: of both libraries.
      testonly: as for any rule.
    """
    _generated(name, srcs, deps, True, visibility, testonly)
    native.cc_library(
        name = name,
        srcs = [name + "_gen_srcs"],
        hdrs = [name + "_gen_hdrs"],
        deps = deps + [_PROTOBUF, _RPC],
        visibility = visibility,
        testonly = testonly,
    )
    native.cc_library(
        name = name + "_mock",
        hdrs = [name + "_gen_mocks"],
        deps = [":" + name, _GMOCK],
        visibility = visibility,
        testonly = True,
    )
