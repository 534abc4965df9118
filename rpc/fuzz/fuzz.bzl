"""mrpc_fuzzer: a libFuzzer target that is also a regression test.

mrpc_fuzzer(name, srcs, deps, corpus) defines
  :<name>       the fuzzer binary. With --config=fuzz (clang, ASan+UBSan,
                -fsanitize=fuzzer) it is a libFuzzer binary; in every other
                config it links replay_main, which runs the corpus files
                through LLVMFuzzerTestOneInput once.
  :<name>_test  a test: with --config=fuzz it fuzzes for $FUZZ_SECONDS
                (starting from the corpus); otherwise it replays the corpus,
                so every seed is a regression test in the normal, asan and
                tsan runs.
"""

def mrpc_fuzzer(name, srcs, deps, corpus):
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + select({
            "//rpc/fuzz:fuzzing": [],
            "//conditions:default": ["//rpc/fuzz:replay_main"],
        }),
        linkopts = select({
            "//rpc/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    native.sh_test(
        name = name + "_test",
        size = "medium",
        srcs = ["//rpc/fuzz:run_fuzzer.sh"],
        args = ["$(location :%s)" % name, native.package_name() + "/" + corpus],
        data = [":" + name] + native.glob([corpus + "/**"]),
        tags = ["fuzz"],
    )
