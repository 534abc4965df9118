"""Bazel rules that compile .proto files with Debian's protoc.

mrpc_proto_library(name, srcs, deps) turns .proto sources into a cc_library of
the generated messages. `deps` are other mrpc_proto_library targets whose
.proto files the sources import; import paths are relative to the repository
root (`import "proto/echo.proto";`).
"""

MrpcProtoInfo = provider(
    doc = "The .proto files a proto target and its dependencies provide.",
    fields = {
        "transitive_srcs": "depset of .proto Files, own and imported",
        "proto_roots": "depset of -I roots for protoc",
    },
)

def _proto_root(src):
    # The directory protoc must search so that `src` is found under its
    # repository-relative path (generated files and external repos included).
    root = src.root.path
    if src.owner.workspace_root:
        root = root + "/" + src.owner.workspace_root if root else src.owner.workspace_root
    return root or "."

def _out_base(ctx, src):
    # protoc writes foo/bar.proto as <out_dir>/foo/bar.pb.h; compute that path.
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
    for src in srcs:
        stem = src.basename[:-len(".proto")]
        hdrs.append(ctx.actions.declare_file(stem + ".pb.h", sibling = src))
        cc_srcs.append(ctx.actions.declare_file(stem + ".pb.cc", sibling = src))
    outputs = hdrs + cc_srcs
    out_dir = _out_base(ctx, srcs[0])
    args = ctx.actions.args()
    args.add("--cpp_out=" + out_dir)
    args.add_all(roots, format_each = "-I%s")
    args.add_all(srcs)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = transitive,
        outputs = outputs,
        mnemonic = "MrpcProtoc",
        progress_message = "Generating C++ from %s" % ", ".join([s.short_path for s in srcs]),
    )
    return [
        DefaultInfo(files = depset(outputs)),
        OutputGroupInfo(hdrs = depset(hdrs), srcs = depset(cc_srcs)),
        MrpcProtoInfo(transitive_srcs = transitive, proto_roots = roots),
    ]

mrpc_proto_gen = rule(
    implementation = _mrpc_proto_gen_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".proto"], mandatory = True),
        "deps": attr.label_list(providers = [MrpcProtoInfo]),
        "_protoc": attr.label(
            default = "@system//:protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)

def mrpc_proto_library(name, srcs, deps = [], visibility = None, **kwargs):
    """A cc_library of the protobuf messages in `srcs`.

    Args:
      name: the cc_library's name; `<name>_gen` holds the generated sources.
      srcs: .proto files in this package.
      deps: other mrpc_proto_library targets that `srcs` import.
      visibility: of the cc_library (the generator target follows it).
      **kwargs: passed to the cc_library (e.g. testonly).
    """
    mrpc_proto_gen(
        name = name + "_gen",
        srcs = srcs,
        deps = [d + "_gen" for d in deps],
        visibility = visibility,
        testonly = kwargs.get("testonly", False),
    )
    for group in ["hdrs", "srcs"]:
        native.filegroup(
            name = "%s_gen_%s" % (name, group),
            srcs = [name + "_gen"],
            output_group = group,
            visibility = ["//visibility:private"],
            testonly = kwargs.get("testonly", False),
        )
    native.cc_library(
        name = name,
        srcs = [name + "_gen_srcs"],
        hdrs = [name + "_gen_hdrs"],
        deps = deps + ["@system//:protobuf"],
        visibility = visibility,
        **kwargs
    )
