#!/usr/bin/env python3
"""Net-layer benchmark: examples/tcp_echo against tools/baseline, one run.

Every cell (payload x connections x depth) is measured for each server in
turn, the order alternating between passes; each measurement starts a fresh
server pinned to CPU 0 and the load client pinned to CPU 1, and reads the
server's CPU time over exactly the measured window (--server_pid). Prints a
Markdown table of medians. Ratios are paired: each server's figure divided
by the baseline's from the same pass (measured back to back), then the median
of those; this VM's speed drifts by a third between phases, which pairs
cancel and unpaired medians do not.

  tools/bench_net.py [--passes 5] [--seconds 5] [--warmup 1] [--no-build]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import BIN, ROOT, machine, start_server, stop_server

CLIENT = os.path.join(BIN, "examples/tcp_echo/echo_client")

SERVERS = {
    "baseline": [os.path.join(BIN, "tools/baseline/baseline_server")],
    "mrpc-lt": [os.path.join(BIN, "examples/tcp_echo/echo_server"), "--threads=1"],
    "mrpc-et": [os.path.join(BIN, "examples/tcp_echo/echo_server"), "--threads=1",
                "--edge_triggered"],
}
CELLS = [(1, 1), (8, 8), (64, 4)]
PAYLOADS = [16, 4096]


def measure(server, payload, conns, depth, args, port):
    proc = start_server(SERVERS[server], port, server)
    try:
        out = subprocess.run(
            ["taskset", "-c", "1", CLIENT, "--target=127.0.0.1:%d" % port,
             "--conns=%d" % conns, "--depth=%d" % depth, "--payload=%d" % payload,
             "--seconds=%g" % args.seconds, "--warmup=%g" % args.warmup,
             "--server_pid=%d" % proc.pid, "--json"],
            capture_output=True, text=True, timeout=args.seconds + args.warmup + 60)
    finally:
        stop_server(proc)
    if out.returncode != 0:
        raise RuntimeError("client failed on %s: %s" % (server, out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--port", type=int, default=19500)
    args = parser.parse_args()
    servers = args.servers.split(",")
    if "baseline" not in servers:
        servers.insert(0, "baseline")

    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt",
                        "//examples/tcp_echo:all", "//tools/baseline:all"],
                       cwd=ROOT, check=True)

    results = {}  # (server, payload, conns, depth) -> [runs]
    port = args.port
    for p in range(args.passes):
        order = servers if p % 2 == 0 else list(reversed(servers))
        for payload in PAYLOADS:
            for conns, depth in CELLS:
                for server in order:
                    port += 1  # A fresh port: no TIME_WAIT interplay.
                    r = measure(server, payload, conns, depth, args, port)
                    results.setdefault((server, payload, conns, depth), []).append(r)
                    print("pass %d %-9s %5dB %2dx%-2d qps %10.0f p50 %7.1fus "
                          "p99 %7.1fus cpu %.3fus/req" %
                          (p + 1, server, payload, conns, depth, r["qps"],
                           r["p50_us"], r["p99_us"], r["server_cpu_us_per_req"]),
                          file=sys.stderr)

    def med(server, payload, conns, depth, key):
        return statistics.median(r[key] for r in results[(server, payload, conns, depth)])

    def paired(server, payload, conns, depth, key):
        runs = results[(server, payload, conns, depth)]
        base = results[("baseline", payload, conns, depth)]
        return statistics.median(r[key] / b[key] for r, b in zip(runs, base))

    print("\nMachine: %s. %d passes, %gs measured after %gs warm-up, "
          "server on CPU 0, client on CPU 1; medians; ratios are medians of "
          "per-pass ratios to the baseline.\n" %
          (machine(), args.passes, args.seconds, args.warmup))
    print("| payload | conns x depth | server | QPS | p50 us | p99 us "
          "| server CPU us/req | QPS vs baseline | CPU/req vs baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for payload in PAYLOADS:
        for conns, depth in CELLS:
            for server in servers:
                cell = (server, payload, conns, depth)
                print("| %d B | %dx%d | %s | %.0f | %.1f | %.1f | %.3f | %.2f | %.2f |" %
                      (payload, conns, depth, server, med(*cell, "qps"),
                       med(*cell, "p50_us"), med(*cell, "p99_us"),
                       med(*cell, "server_cpu_us_per_req"), paired(*cell, "qps"),
                       paired(*cell, "server_cpu_us_per_req")))


if __name__ == "__main__":
    main()
