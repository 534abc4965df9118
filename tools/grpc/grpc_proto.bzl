"""grpc_cc_proto_gen: C++ messages and gRPC stubs for one .proto, generated
into the calling package (tools/grpc only).

Why not //proto:echo_proto: that target already defines the mrpc::echo
message classes for mrpc; a binary linking both would hold two definitions of
the same classes (an ODR violation). The gRPC binaries therefore generate
their own copy of the messages from the same .proto file, and nothing else in
the repository links them.

protoc runs with the .proto's own directory as its import root (`-Iproto`),
so the outputs land directly in this package's bin directory:

  grpc_cc_proto_gen(name = "echo_grpc_gen", src = "//proto:echo.proto")
  -> tools/grpc/echo.pb.{h,cc}, tools/grpc/echo.grpc.pb.{h,cc}

and echo.grpc.pb.h's `#include "echo.pb.h"` resolves next to it. The
consequence: the .proto may not import other .proto files (echo.proto
imports none). Output groups `hdrs` and `srcs` split the files for a
cc_library.
"""

def _grpc_cc_proto_gen_impl(ctx):
    src = ctx.file.src
    if not src.basename.endswith(".proto"):
        fail("src must be a .proto file, got " + src.short_path)
    stem = src.basename[:-len(".proto")]
    hdrs = [
        ctx.actions.declare_file(stem + ".pb.h"),
        ctx.actions.declare_file(stem + ".grpc.pb.h"),
    ]
    srcs = [
        ctx.actions.declare_file(stem + ".pb.cc"),
        ctx.actions.declare_file(stem + ".grpc.pb.cc"),
    ]

    # The declared outputs live in <bin>/<this package>; protoc writes
    # <out_dir>/<name relative to -I>, i.e. the same place.
    out_dir = hdrs[0].dirname
    plugin = ctx.executable._grpc_plugin
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-grpc=" + plugin.path)
    args.add("--cpp_out=" + out_dir)
    args.add("--grpc_out=" + out_dir)
    args.add("-I" + src.dirname)
    args.add(src)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = [src],
        tools = [plugin],
        outputs = hdrs + srcs,
        mnemonic = "GrpcProtoc",
        progress_message = "Generating gRPC C++ from %s" % src.short_path,
    )
    return [
        DefaultInfo(files = depset(hdrs + srcs)),
        OutputGroupInfo(hdrs = depset(hdrs), srcs = depset(srcs)),
    ]

grpc_cc_proto_gen = rule(
    implementation = _grpc_cc_proto_gen_impl,
    doc = "Runs protoc with grpc_cpp_plugin over `src` into this package.",
    attrs = {
        "src": attr.label(allow_single_file = [".proto"], mandatory = True),
        "_protoc": attr.label(
            default = "@system//:protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        "_grpc_plugin": attr.label(
            default = "@system//:grpc_cpp_plugin",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)
