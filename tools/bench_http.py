#!/usr/bin/env python3
"""JSON calls over HTTP/1.1 on the server's own port, measured with wrk, against
binary calls to the same server in the same run.

  tools/bench_http.py [--passes 3] [--seconds 5] [--payload 16] [--conns 8,64]

Each measurement starts a fresh examples/echo server (one loop, pinned to CPU 0)
and a client pinned to CPU 1: wrk (one thread, N keep-alive connections, one
request outstanding on each) POSTing {"payload":"<base64>"} to
/mrpc.echo.EchoService/Echo; then mrpc_load with the same N connections and
depth 1 (binary protocol). Passes alternate the order. Reported: medians of
QPS, p50 and p99 latency (wrk's and mrpc_load's own histograms) and the
server's CPU time per call (from /proc/PID/stat over the measured window), and
the JSON/binary ratios as medians of per-pass ratios.
"""
import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys

from benchlib import BIN, ROOT, machine, start_server, stop_server

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        raise ValueError("latency %r" % text)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def run_wrk(port, conns, args):
    proc = start_server([os.path.join(BIN, "examples/echo/echo_server"), "--threads=1"],
                        port, "echo_server")
    try:
        env = dict(os.environ,
                   MRPC_PAYLOAD_B64=base64.b64encode(b"x" * args.payload).decode())
        url = "http://127.0.0.1:%d/mrpc.echo.EchoService/Echo" % port
        script = os.path.join(ROOT, "tools/wrk_echo.lua")
        base = ["taskset", "-c", "1", "wrk", "-t1", "-c%d" % conns, "-s", script]
        # wrk takes whole seconds.
        subprocess.run(base + ["-d%ds" % max(1, round(args.warmup)), url], env=env, check=True,
                       capture_output=True, timeout=args.warmup + 60)
        cpu0 = cpu_seconds(proc.pid)
        out = subprocess.run(base + ["-d%ds" % max(1, round(args.seconds)), "--latency", url],
                             env=env,
                             check=True, capture_output=True, text=True,
                             timeout=args.seconds + 60).stdout
        cpu1 = cpu_seconds(proc.pid)
    finally:
        stop_server(proc)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    if re.search(r"Non-2xx or 3xx responses", out) or re.search(r"Socket errors", out):
        raise RuntimeError("wrk saw errors:\n" + out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    return {"qps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_us": to_us(lat["50"]), "p99_us": to_us(lat["99"]),
            "server_cpu_us_per_req": (cpu1 - cpu0) * 1e6 / max(requests, 1)}


def run_binary(port, conns, args):
    proc = start_server([os.path.join(BIN, "examples/echo/echo_server"), "--threads=1"],
                        port, "echo_server")
    try:
        cmd = ["taskset", "-c", "1", os.path.join(BIN, "tools/load/mrpc_load"),
               "--progress=false", "--target=127.0.0.1:%d" % port, "--conns=%d" % conns,
               "--depth=1", "--payload=%d" % args.payload, "--warmup=%g" % args.warmup,
               "--duration=%g" % args.seconds, "--server_pid=%d" % proc.pid, "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             timeout=args.seconds + args.warmup + 60)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop_server(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--payload", type=int, default=16)
    parser.add_argument("--conns", default="8,64")
    parser.add_argument("--port", type=int, default=22500)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt", "//examples/echo:echo_server",
                        "//tools/load:mrpc_load"], cwd=ROOT, check=True)
    variants = [("JSON over HTTP (wrk)", run_wrk), ("binary (mrpc_load)", run_binary)]
    results = {}
    port = args.port
    for p in range(args.passes):
        order = variants if p % 2 == 0 else list(reversed(variants))
        for conns in [int(c) for c in args.conns.split(",")]:
            for name, fn in order:
                port += 1
                r = fn(port, conns, args)
                results.setdefault((name, conns), []).append(r)
                print("pass %d %-22s %3d conns: qps %9.0f p50 %7.1fus p99 %7.1fus cpu %.2fus"
                      % (p + 1, name, conns, r["qps"], r["p50_us"], r["p99_us"],
                         r["server_cpu_us_per_req"]), file=sys.stderr)
    med = statistics.median
    print("Machine: %s. %d passes, %gs measured after %gs warm-up; echo server (one loop) on "
          "CPU 0, client on CPU 1; %d-byte payload; one call outstanding per connection.\n"
          % (machine(), args.passes, args.seconds, args.warmup, args.payload))
    print("| conns | protocol | QPS | p50 us | p99 us | server CPU us/call | QPS vs binary | "
          "CPU/call vs binary |")
    print("|---|---|---|---|---|---|---|---|")
    for conns in [int(c) for c in args.conns.split(",")]:
        binary = results[("binary (mrpc_load)", conns)]
        for name, _ in variants:
            rs = results[(name, conns)]
            print("| %d | %s | %.0f | %.1f | %.1f | %.2f | %.3f | %.3f |" % (
                conns, name, med(r["qps"] for r in rs), med(r["p50_us"] for r in rs),
                med(r["p99_us"] for r in rs), med(r["server_cpu_us_per_req"] for r in rs),
                med(a["qps"] / b["qps"] for a, b in zip(rs, binary)),
                med(a["server_cpu_us_per_req"] / b["server_cpu_us_per_req"]
                    for a, b in zip(rs, binary))))


if __name__ == "__main__":
    main()
