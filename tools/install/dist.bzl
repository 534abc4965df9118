"""mrpc_static_library: one libmrpc.a from the archives of mrpc's cc_libraries.

Bazel 4.2.3 has no cc_static_library. This rule walks the CcInfo of `deps`,
takes every static archive built in this repository (external repositories,
i.e. @system's Debian libraries, carry link options only and are skipped),
and merges them with an `ar -M` script into one archive. PIC archives are
preferred so that libmrpc.a can also go into a user's shared library.

It provides CcInfo: the merged archive as alwayslink (so a linkshared
cc_binary over it keeps every object) plus the Debian link flags of @system.

It also writes `<name>.headers`: one "exec_path short_path" line per mrpc
header the deps export (sources and generated .pb.h alike), which
tools/install/install.sh narrows to what the public headers include.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _mrpc_static_library_impl(ctx):
    archives = []
    seen = {}
    headers = []
    link_flags = []
    for dep in ctx.attr.deps:
        cc = dep[CcInfo]
        for linker_input in cc.linking_context.linker_inputs.to_list():
            if linker_input.owner.workspace_name:
                # @system: Debian's libraries, linked by -l flags.
                for flag in linker_input.user_link_flags:
                    if flag not in link_flags:
                        link_flags.append(flag)
                continue
            for lib in linker_input.libraries:
                archive = lib.pic_static_library or lib.static_library
                if archive and archive.path not in seen:
                    seen[archive.path] = True
                    archives.append(archive)
        for hdr in cc.compilation_context.headers.to_list():
            if hdr.owner.workspace_name or hdr.path in seen:
                continue
            seen[hdr.path] = True
            headers.append(hdr)

    out = ctx.actions.declare_file(ctx.label.name + ".a")

    # ar's MRI script: members of each ADDLIB archive go in as they are
    # (same-named members from different archives are kept side by side).
    script = ctx.actions.declare_file(ctx.label.name + ".mri")
    lines = ["CREATE " + out.path]
    lines += ["ADDLIB " + a.path for a in archives]
    lines += ["SAVE", "END", ""]
    ctx.actions.write(script, "\n".join(lines))
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [out],
        command = "ar -M < %s && ranlib %s" % (script.path, out.path),
        mnemonic = "MrpcArchive",
        progress_message = "Merging %d archives into %s" % (len(archives), out.short_path),
    )

    manifest = ctx.actions.declare_file(ctx.label.name + ".headers")
    ctx.actions.write(
        manifest,
        "".join(["%s %s\n" % (h.path, h.short_path) for h in headers]),
    )

    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    library = cc_common.create_library_to_link(
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        static_library = out,
        alwayslink = True,
    )
    linker_input = cc_common.create_linker_input(
        owner = ctx.label,
        libraries = depset([library]),
        user_link_flags = depset(link_flags),
    )
    return [
        DefaultInfo(files = depset([out, manifest] + headers)),
        CcInfo(linking_context = cc_common.create_linking_context(
            linker_inputs = depset([linker_input]),
        )),
    ]

mrpc_static_library = rule(
    implementation = _mrpc_static_library_impl,
    doc = "Merges the mrpc archives under `deps` into <name>.a (+ a header manifest).",
    attrs = {
        "deps": attr.label_list(providers = [CcInfo], mandatory = True),
        "_cc_toolchain": attr.label(
            default = "@bazel_tools//tools/cpp:current_cc_toolchain",
        ),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
