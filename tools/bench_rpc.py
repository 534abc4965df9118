#!/usr/bin/env python3
"""mrpc vs gRPC vs the raw epoll baseline, in one run, as one Markdown report.

The same echo service (proto/echo.proto) served three ways:
  mrpc      examples/echo:echo_server, driven by tools/load:mrpc_load
  grpc      tools/grpc:grpc_echo_server (async API, a completion queue per
            thread), driven by tools/grpc:grpc_load (same flags, same driver)
  baseline  tools/baseline:baseline_server (a raw epoll echo of 4-byte-length
            frames), driven by examples/tcp_echo:echo_client
Each measurement starts a fresh server pinned to CPU 0 (one thread/loop) and
the client pinned to CPU 1; the client reads the server's CPU time over
exactly the measured window. Passes alternate the order of the systems.
Reported: medians over passes; ratios are medians of per-pass ratios (each
pass measures the systems back to back, so the VM's slow and fast phases
cancel).

  tools/bench_rpc.py [--passes 3] [--seconds 5] [--warmup 1] [--no-build]
                     [--skip-matrix] [--skip-slow] [--skip-idle]
"""
import argparse
import json
import statistics
import subprocess
import sys

from benchlib import BIN, ROOT, machine, start_server, stop_server

SERVERS = {
    "mrpc": [BIN + "/examples/echo/echo_server", "--threads=1"],
    "grpc": [BIN + "/tools/grpc/grpc_echo_server", "--threads=1"],
    "baseline": [BIN + "/tools/baseline/baseline_server"],
}
CLIENTS = {
    "mrpc": [BIN + "/tools/load/mrpc_load", "--progress=false"],
    "grpc": [BIN + "/tools/grpc/grpc_load", "--progress=false"],
    "baseline": [BIN + "/examples/tcp_echo/echo_client"],
}
CELLS = [(1, 1), (8, 8), (64, 4)]
PAYLOADS = [16, 4096]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def start(system, port, extra=()):
    return start_server(SERVERS[system] + list(extra), port, system)


def run_client(system, port, pid, conns, depth, payload, seconds, warmup, extra=()):
    if system == "baseline":
        timing = ["--seconds=%g" % seconds]
    else:
        timing = ["--duration=%g" % seconds]
    cmd = (["taskset", "-c", "1"] + CLIENTS[system] +
           ["--target=127.0.0.1:%d" % port, "--conns=%d" % conns, "--depth=%d" % depth,
            "--payload=%d" % payload, "--warmup=%g" % warmup, "--server_pid=%d" % pid,
            "--json"] + timing + list(extra))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + warmup + 120)
    if out.returncode != 0:
        raise RuntimeError("%s client failed (%d): %s %s" %
                           (system, out.returncode, out.stdout[-1000:], out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(system, port, conns, depth, payload, args):
    proc = start(system, port)
    try:
        return run_client(system, port, proc.pid, conns, depth, payload,
                          args.seconds, args.warmup)
    finally:
        stop_server(proc)


def med(values):
    return statistics.median(values)


def run_matrix(args, port):
    systems = ["mrpc", "grpc", "baseline"]
    results = {}
    for p in range(args.passes):
        order = systems if p % 2 == 0 else list(reversed(systems))
        for payload in PAYLOADS:
            for conns, depth in CELLS:
                for system in order:
                    port[0] += 1
                    r = measure(system, port[0], conns, depth, payload, args)
                    results.setdefault((system, payload, conns, depth), []).append(r)
                    log("pass %d %-8s %5dB %2dx%-2d qps %9.0f p50 %8.1fus p99 %8.1fus "
                        "cpu %.3fus/req" % (p + 1, system, payload, conns, depth, r["qps"],
                                            r["p50_us"], r["p99_us"],
                                            r["server_cpu_us_per_req"]))

    def m(system, cell, key):
        return med([r[key] for r in results[(system,) + cell]])

    def paired(a, b, cell, key):
        return med([x[key] / y[key] for x, y in zip(results[(a,) + cell], results[(b,) + cell])])

    print("### mrpc vs gRPC vs the raw baseline\n")
    print("Per system: QPS | p50 | p99 (us) | server CPU per call (us). Ratios: paired "
          "per-pass medians.\n")
    print("| payload | conns x depth | mrpc | gRPC | baseline | mrpc/gRPC QPS | "
          "mrpc/baseline QPS | mrpc/gRPC p99 | mrpc/baseline p50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for payload in PAYLOADS:
        for cell in CELLS:
            key = (payload,) + cell
            cols = []
            for system in ["mrpc", "grpc", "baseline"]:
                cols.append("%.0f \\| %.1f \\| %.1f \\| %.2f" % (
                    m(system, key, "qps"), m(system, key, "p50_us"), m(system, key, "p99_us"),
                    m(system, key, "server_cpu_us_per_req")))
            print("| %d B | %dx%d | %s | %s | %s | %.1fx | %.2fx | %.3fx | %.2fx |" % (
                payload, cell[0], cell[1], cols[0], cols[1], cols[2],
                paired("mrpc", "grpc", key, "qps"), paired("mrpc", "baseline", key, "qps"),
                paired("mrpc", "grpc", key, "p99_us"),
                paired("mrpc", "baseline", key, "p50_us")))
    print()


def run_slow(args, port):
    """Open loop at a fixed rate, 1% of calls 5 ms of blocking work, vs none."""
    rate = args.slow_qps
    variants = [("worker pool, no slow calls", [], 0),
                ("worker pool, 1% slow", [], 0.01),
                ("inline (blocking the loop), 1% slow", ["--slow_inline"], 0.01)]
    rows = {v[0]: [] for v in variants}
    for p in range(args.passes):
        order = variants if p % 2 == 0 else list(reversed(variants))
        for name, server_extra, fraction in order:
            port[0] += 1
            proc = start("mrpc", port[0], server_extra)
            try:
                r = run_client("mrpc", port[0], proc.pid, 8, 1, 16, args.seconds, args.warmup,
                               ["--qps=%d" % rate, "--slow_fraction=%g" % fraction,
                                "--slow_ms=5", "--deadline_ms=2000"])
            finally:
                stop_server(proc)
            rows[name].append(r)
            log("slow pass %d %-38s fast p50 %.1f p99 %.1f us, slow p99 %.1f us, errors %d" % (
                p + 1, name, r["fast"]["p50_us"], r["fast"]["p99_us"], r["slow"]["p99_us"],
                r["error_count"]))
    print("### Slow-request mix\n")
    print("Open loop at %d calls/s over 8 connections (latency from the intended send "
          "time), 16 B; 1%% of calls are SlowEcho with 5 ms of blocking work. mrpc "
          "server on one loop with 4 worker threads.\n" % rate)
    print("| server | fast calls p50 us | fast calls p99 us | fast p99 vs no slow calls | "
          "slow calls p99 us | errors |")
    print("|---|---|---|---|---|---|")
    base = med([r["fast"]["p99_us"] for r in rows[variants[0][0]]])
    for name, _, _ in variants:
        rs = rows[name]
        fast99 = med([r["fast"]["p99_us"] for r in rs])
        slow99 = med([r["slow"]["p99_us"] for r in rs]) if name != variants[0][0] else 0
        print("| %s | %.1f | %.1f | %.2fx | %s | %d |" % (
            name, med([r["fast"]["p50_us"] for r in rs]), fast99, fast99 / base,
            "%.1f" % slow99 if slow99 else "-", max(r["error_count"] for r in rs)))
    print()


def run_idle(args, port):
    port[0] += 1
    proc = start("mrpc", port[0])
    try:
        cmd = ["taskset", "-c", "1", BIN + "/tools/load/idle_conns",
               "--target=127.0.0.1:%d" % port[0], "--server_pid=%d" % proc.pid,
               "--conns=%d" % args.idle_conns, "--hold=%g" % args.idle_hold, "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError("idle_conns failed: %s" % out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop_server(proc)
    print("### Idle connections\n")
    print("%d mrpc connections that each made one call and then only exchange heartbeats "
          "(PING every %d ms), held for %.0f s; server on one loop.\n" %
          (r["conns"], r["heartbeat_ms"], r["idle_seconds"]))
    print("| server RSS before | after | per connection | server CPU while idle | "
          "pings | connections lost |")
    print("|---|---|---|---|---|---|")
    print("| %d KiB | %d KiB | %.0f bytes | %.2f%% of one core | %d | %d |\n" % (
        r["rss_before_kib"], r["rss_after_kib"], r["rss_per_conn_bytes"],
        r["idle_cpu_percent"], r["pings"], r["connection_losses"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--slow-qps", type=int, default=20000)
    parser.add_argument("--idle-conns", type=int, default=10000)
    parser.add_argument("--idle-hold", type=float, default=30)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--port", type=int, default=20500)
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt", "//examples/echo:all",
                        "//examples/tcp_echo:all", "//tools/baseline:all", "//tools/load:all",
                        "//tools/grpc:all"], cwd=ROOT, check=True)
    port = [args.port]
    print("Machine: %s. %d passes, %gs measured after %gs warm-up; server on CPU 0, "
          "client on CPU 1.\n" % (machine(), args.passes, args.seconds, args.warmup))
    if not args.skip_matrix:
        run_matrix(args, port)
    if not args.skip_slow:
        run_slow(args, port)
    if not args.skip_idle:
        run_idle(args, port)


if __name__ == "__main__":
    main()
