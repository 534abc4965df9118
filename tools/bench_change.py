#!/usr/bin/env python3
"""Before vs after a change, in one run: the echo server and load tester built
at a base revision against the working tree's, plus the working tree with one
no-op interceptor on each side (what the interceptor chain costs), plus the
working tree's client on a cluster channel (list://) over the one server
(what the cluster layer costs).

  tools/bench_change.py --base REV [--passes 5] [--seconds 5] [--warmup 1]
                        [--cells 16:8x8,16:1x1,4096:8x8]

The base is built once per revision, in a git worktree under $TMPDIR with its
own Bazel output base (the first build takes minutes), and its binaries kept
in $TMPDIR/mrpc-bench-<rev>/. Each measurement starts a fresh server pinned
to CPU 0 (one loop) and the client pinned to CPU 1; passes alternate the
order of the variants. Reported: medians over passes, and ratios as medians
of per-pass ratios against "before" (each pass measures the variants back to
back, so the VM's slow and fast phases cancel).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import BIN, ROOT, machine, start_server, stop_server

TARGETS = ["//examples/echo:echo_server", "//tools/load:mrpc_load"]
BINARIES = ["examples/echo/echo_server", "tools/load/mrpc_load"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build_base(rev):
    """Builds the base revision's binaries once; returns their directory."""
    full = subprocess.run(["git", "rev-parse", "--short=12", rev], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    out = os.path.join(tempfile.gettempdir(), "mrpc-bench-" + full)
    if all(os.path.exists(os.path.join(out, os.path.basename(b))) for b in BINARIES):
        return out
    tree = out + "-src"
    if os.path.exists(tree):
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT)
    subprocess.run(["git", "worktree", "add", "--detach", tree, full], cwd=ROOT, check=True)
    try:
        subprocess.run(["bazel", "build", "--config=opt"] + TARGETS, cwd=tree, check=True)
        bin_dir = subprocess.run(["bazel", "info", "--config=opt", "bazel-bin"], cwd=tree,
                                 check=True, capture_output=True, text=True).stdout.strip()
        os.makedirs(out, exist_ok=True)
        for b in BINARIES:
            shutil.copy2(os.path.join(bin_dir, b), out)
        subprocess.run(["bazel", "shutdown"], cwd=tree)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT)
    return out


def run(server_bin, client_bin, port, conns, depth, payload, args, server_extra=(),
        client_extra=(), target="127.0.0.1:%d"):
    proc = start_server([server_bin, "--threads=1"] + list(server_extra), port, "echo_server")
    try:
        cmd = (["taskset", "-c", "1", client_bin, "--progress=false",
                "--target=" + target % port, "--conns=%d" % conns, "--depth=%d" % depth,
                "--payload=%d" % payload, "--warmup=%g" % args.warmup,
                "--duration=%g" % args.seconds, "--server_pid=%d" % proc.pid, "--json"] +
               list(client_extra))
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=args.seconds + args.warmup + 120)
        if out.returncode != 0:
            raise RuntimeError("client failed: %s" % out.stderr[-2000:])
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop_server(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--cells", default="16:8x8,16:1x1,4096:8x8")
    parser.add_argument("--port", type=int, default=21500)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--only", default="",
                        help="comma-separated variant names to run (e.g. before,after)")
    args = parser.parse_args()
    base = build_base(args.base)
    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt"] + TARGETS, cwd=ROOT, check=True)
    new = {os.path.basename(b): os.path.join(BIN, b) for b in BINARIES}
    old = {os.path.basename(b): os.path.join(base, os.path.basename(b)) for b in BINARIES}
    plain = "127.0.0.1:%d"
    variants = [
        ("before", old, [], [], plain),
        ("after", new, [], [], plain),
        ("after, 1 no-op interceptor each side", new, ["--noop_interceptors=1"],
         ["--noop_interceptors=1"], plain),
        ("after, list:// channel over the one server", new, [], [],
         "list://127.0.0.1:%d"),
    ]
    if args.only:
        wanted = args.only.split(",")
        variants = [v for v in variants if v[0] in wanted]
    cells = []
    for cell in args.cells.split(","):
        payload, shape = cell.split(":")
        conns, depth = shape.split("x")
        cells.append((int(payload), int(conns), int(depth)))
    results = {}
    port = args.port
    for p in range(args.passes):
        order = variants if p % 2 == 0 else list(reversed(variants))
        for cell in cells:
            for name, bins, server_extra, client_extra, target in order:
                port += 1
                r = run(bins["echo_server"], bins["mrpc_load"], port, cell[1], cell[2], cell[0],
                        args, server_extra, client_extra, target)
                results.setdefault((name,) + cell, []).append(r)
                log("pass %d %-40s %5dB %dx%d qps %9.0f p50 %7.1fus p99 %7.1fus cpu %.3fus "
                    "client %.3fus" % (
                        p + 1, name, cell[0], cell[1], cell[2], r["qps"], r["p50_us"],
                        r["p99_us"], r["server_cpu_us_per_req"], r["client_cpu_us_per_req"]))

    med = statistics.median
    print("Machine: %s. Base %s vs the working tree; %d passes, %gs measured after %gs "
          "warm-up; server (one loop) on CPU 0, client on CPU 1.\n" % (
              machine(), args.base, args.passes, args.seconds, args.warmup))
    print("Per variant: QPS | p50 us | p99 us | server CPU us per call (medians). Ratios vs "
          "before: medians of per-pass ratios.\n")
    print("| payload | conns x depth | variant | QPS | p50 | p99 | CPU/call | QPS ratio | "
          "CPU/call ratio | client CPU/call ratio | QPS vs after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for cell in cells:
        before = results[("before",) + cell]
        after = results[("after",) + cell]
        for name, _, _, _, _ in variants:
            rs = results[(name,) + cell]
            qps_ratio = med([a["qps"] / b["qps"] for a, b in zip(rs, before)])
            vs_after = med([a["qps"] / b["qps"] for a, b in zip(rs, after)])
            cpu_ratio = med([a["server_cpu_us_per_req"] / b["server_cpu_us_per_req"]
                             for a, b in zip(rs, before)])
            # The load tester's own CPU per call: the client's side of a
            # change, which QPS shows only where the client is the fuller core.
            client_ratio = med([a["client_cpu_us_per_req"] / b["client_cpu_us_per_req"]
                                for a, b in zip(rs, before)])
            print("| %d B | %dx%d | %s | %.0f | %.1f | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f |"
                  % (cell[0], cell[1], cell[2], name, med([r["qps"] for r in rs]),
                     med([r["p50_us"] for r in rs]), med([r["p99_us"] for r in rs]),
                     med([r["server_cpu_us_per_req"] for r in rs]), qps_ratio, cpu_ratio,
                     client_ratio, vs_after))
    print()


if __name__ == "__main__":
    main()
