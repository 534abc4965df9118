#!/usr/bin/env python3
"""mrpc vs gRPC vs the raw epoll baseline, in one run, as one Markdown report.

The same echo service (proto/echo.proto) served three ways, and a fourth on
request:
  mrpc      examples/echo:echo_server, driven by tools/load:mrpc_load
  grpc      tools/grpc:grpc_echo_server (async API, a completion queue per
            thread), driven by tools/grpc:grpc_load (same flags, same driver)
  baseline  tools/baseline:baseline_server (a raw epoll echo of 4-byte-length
            frames), driven by examples/tcp_echo:echo_client
  mrpc_raw  examples/echo:echo_server again, driven by the same echo_client
            in the RPC protocol's frames (--protocol=mrpc, no channel): the
            client's work per call is the baseline's, so mrpc_raw/baseline
            compares the servers alone, while mrpc/baseline compares the
            whole stack (mrpc_load's channel included)
Each measurement starts a fresh server pinned to CPU 0 (one thread/loop) and
the client pinned to CPU 1; the client reads the server's CPU time over
exactly the measured window. Passes alternate the order of the systems.
Reported: medians over passes; ratios are medians of per-pass ratios (each
pass measures the systems back to back, so the VM's slow and fast phases
cancel).

--tls: mrpc and gRPC over TLS. A throwaway CA and server certificate (EC
P-256, for IP:127.0.0.1 and DNS:localhost) are made in a temporary directory;
the servers get --tls_cert/--tls_key (mrpc also --tls_required, so nothing is
measured in plaintext by mistake), the clients --tls --tls_ca. The raw epoll
baseline has no TLS and stays plaintext: mrpc/baseline then shows what TLS
and the RPC layer cost together. The slow-request mix runs over TLS too; the
idle-connection test stays plaintext (idle_conns has no TLS flags).

  tools/bench_rpc.py [--passes 3] [--seconds 5] [--warmup 1] [--no-build]
                     [--skip-matrix] [--skip-slow] [--skip-idle] [--tls]
                     [--cells 1x1,8x8,64x4] [--payloads 16,4096]
                     [--systems mrpc,grpc,baseline,mrpc_raw]
(mrpc_raw is left out by default and with --tls: echo_client has no TLS.)
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile

from benchlib import BIN, ROOT, machine, make_test_certs, start_server, stop_server

SERVERS = {
    "mrpc": [BIN + "/examples/echo/echo_server", "--threads=1"],
    "grpc": [BIN + "/tools/grpc/grpc_echo_server", "--threads=1"],
    "baseline": [BIN + "/tools/baseline/baseline_server"],
    "mrpc_raw": [BIN + "/examples/echo/echo_server", "--threads=1"],
}
CLIENTS = {
    "mrpc": [BIN + "/tools/load/mrpc_load", "--progress=false"],
    "grpc": [BIN + "/tools/grpc/grpc_load", "--progress=false"],
    "baseline": [BIN + "/examples/tcp_echo/echo_client"],
    "mrpc_raw": [BIN + "/examples/tcp_echo/echo_client", "--protocol=mrpc"],
}
CELLS = [(1, 1), (8, 8), (64, 4)]
PAYLOADS = [16, 4096]
NAMES = {"mrpc": "mrpc", "grpc": "gRPC", "baseline": "baseline",
         "mrpc_raw": "mrpc (raw client)"}
DEFAULT_SYSTEMS = ["mrpc", "grpc", "baseline"]
# Extra flags per system with --tls (filled in by main); the baseline has none.
TLS_SERVER_FLAGS = {}
TLS_CLIENT_FLAGS = {}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def start(system, port, extra=()):
    return start_server(SERVERS[system] + TLS_SERVER_FLAGS.get(system, []) + list(extra), port,
                        system)


def run_client(system, port, pid, conns, depth, payload, seconds, warmup, extra=()):
    if CLIENTS[system][0].endswith("/echo_client"):
        timing = ["--seconds=%g" % seconds]
    else:
        timing = ["--duration=%g" % seconds]
    cmd = (["taskset", "-c", "1"] + CLIENTS[system] + TLS_CLIENT_FLAGS.get(system, []) +
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
    systems = args.systems
    results = {}
    for p in range(args.passes):
        order = systems if p % 2 == 0 else list(reversed(systems))
        for payload in args.payloads:
            for conns, depth in args.cells:
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

    if args.tls:
        print("### mrpc vs gRPC over TLS vs the raw baseline (plaintext)\n")
        print("mrpc and gRPC over TLS (throwaway EC P-256 CA and server certificate; "
              "connections made before the measured window, so this is the record "
              "layer, not handshakes); the raw epoll baseline has no TLS and stays "
              "plaintext.\n")
    else:
        print("### mrpc vs gRPC vs the raw baseline\n")
    print("Per system: QPS | p50 | p99 (us) | server CPU per call (us). Ratios: paired "
          "per-pass medians.\n")
    # The ratio columns whose two systems were both measured (see --systems).
    ratios = [(a, b, key, fmt, "%s/%s %s" % (NAMES[a], NAMES[b], label))
              for a, b, key, fmt, label in [
                  ("mrpc", "grpc", "qps", "%.1fx", "QPS"),
                  ("mrpc", "baseline", "qps", "%.2fx", "QPS"),
                  ("mrpc", "baseline", "server_cpu_us_per_req", "%.2fx", "CPU/call"),
                  ("mrpc", "grpc", "p99_us", "%.3fx", "p99"),
                  ("mrpc", "baseline", "p50_us", "%.2fx", "p50"),
                  ("mrpc_raw", "baseline", "qps", "%.2fx", "QPS"),
                  ("mrpc_raw", "baseline", "server_cpu_us_per_req", "%.2fx", "CPU/call")]
              if a in systems and b in systems]
    heads = [NAMES[s] for s in systems] + [r[4] for r in ratios]
    print("| payload | conns x depth | %s |" % " | ".join(heads))
    print("|---|---|%s" % ("---|" * len(heads)))
    for payload in args.payloads:
        for cell in args.cells:
            key = (payload,) + cell
            cols = []
            for system in systems:
                cols.append("%.0f \\| %.1f \\| %.1f \\| %.2f" % (
                    m(system, key, "qps"), m(system, key, "p50_us"), m(system, key, "p99_us"),
                    m(system, key, "server_cpu_us_per_req")))
            for a, b, metric, fmt, _ in ratios:
                cols.append(fmt % paired(a, b, key, metric))
            print("| %d B | %dx%d | %s |" % (payload, cell[0], cell[1], " | ".join(cols)))
    print()
    # Which core limits each cell (what the acceptance ratios above mean
    # depends on it).
    print("Busy share of each core (QPS x CPU per call; 1.00 is a full core), "
          "server / client, per system. Where the client is the fuller, the cell "
          "measures the clients and the server's CPU per call includes its wake-ups "
          "from idle.\n")
    print("| payload | conns x depth | %s |" % " | ".join(NAMES[s] for s in systems))
    print("|---|---|%s" % ("---|" * len(systems)))
    for payload in args.payloads:
        for cell in args.cells:
            key = (payload,) + cell
            cols = []
            for system in systems:
                rs = results[(system,) + key]
                cols.append("%.2f / %.2f" % (
                    med([r["qps"] * r["server_cpu_us_per_req"] / 1e6 for r in rs]),
                    med([r["qps"] * r.get("client_cpu_us_per_req", 0) / 1e6 for r in rs])))
            print("| %d B | %dx%d | %s |" % (payload, cell[0], cell[1], " | ".join(cols)))
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
    print("### Slow-request mix%s\n" % (" (TLS)" if args.tls else ""))
    print("Open loop at %d calls/s over 8 connections (latency from the intended send "
          "time), 16 B; 1%% of calls are SlowEcho with 5 ms of blocking work. mrpc "
          "server on one loop with 4 worker threads%s.\n" %
          (rate, ", over TLS" if args.tls else ""))
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
    print("### Idle connections%s\n" % (" (plaintext: idle_conns has no TLS flags)"
                                         if args.tls else ""))
    print("%d mrpc connections that each made one call and then only exchange heartbeats "
          "(PING every %d ms), held for %.0f s; server on one loop.\n" %
          (r["conns"], r["heartbeat_ms"], r["idle_seconds"]))
    print("| server RSS before | after | per connection | server CPU while idle | "
          "pings | connections lost |")
    print("|---|---|---|---|---|---|")
    print("| %d KiB | %d KiB | %.0f bytes | %.2f%% of one core | %d | %d |\n" % (
        r["rss_before_kib"], r["rss_after_kib"], r["rss_per_conn_bytes"],
        r["idle_cpu_percent"], r["pings"], r["connection_losses"]))


def parse_ints(text):
    return [int(x) for x in text.split(",") if x]


def parse_systems(text):
    systems = [x for x in text.split(",") if x]
    unknown = [x for x in systems if x not in SERVERS]
    if unknown or not systems:
        raise argparse.ArgumentTypeError("systems are %s: %r" % (",".join(SERVERS), text))
    return systems


def parse_cells(text):
    """"1x1,8x8" -> [(1, 1), (8, 8)]."""
    try:
        cells = [tuple(int(n) for n in cell.split("x")) for cell in text.split(",") if cell]
    except ValueError:
        cells = []
    if not cells or any(len(c) != 2 for c in cells):
        raise argparse.ArgumentTypeError("cells are CONNSxDEPTH, comma-separated: %r" % text)
    return cells


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
    parser.add_argument("--tls", action="store_true",
                        help="mrpc and gRPC over TLS (the baseline stays plaintext)")
    parser.add_argument("--cells", type=parse_cells, default=CELLS,
                        help="conns x depth cells of the matrix, e.g. 1x1,64x4")
    parser.add_argument("--payloads", type=parse_ints, default=PAYLOADS,
                        help="payload sizes of the matrix in bytes, e.g. 16,4096")
    parser.add_argument("--systems", type=parse_systems, default=DEFAULT_SYSTEMS,
                        help="systems of the matrix, e.g. grpc,baseline,mrpc_raw "
                        "(default: mrpc,grpc,baseline)")
    args = parser.parse_args()
    if args.tls and "mrpc_raw" in args.systems:
        parser.error("mrpc_raw has no TLS (echo_client speaks plaintext only)")
    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt", "//examples/echo:all",
                        "//examples/tcp_echo:all", "//tools/baseline:all", "//tools/load:all",
                        "//tools/grpc:all"], cwd=ROOT, check=True)
    port = [args.port]
    with tempfile.TemporaryDirectory(prefix="bench_rpc_tls.") as cert_dir:
        if args.tls:
            certs = make_test_certs(cert_dir)
            server_flags = ["--tls_cert=" + certs["server_cert"],
                            "--tls_key=" + certs["server_key"]]
            TLS_SERVER_FLAGS["mrpc"] = server_flags + ["--tls_required"]
            TLS_SERVER_FLAGS["grpc"] = server_flags
            for system in ("mrpc", "grpc"):
                TLS_CLIENT_FLAGS[system] = ["--tls", "--tls_ca=" + certs["ca"]]
        print("Machine: %s. %d passes, %gs measured after %gs warm-up; server on CPU 0, "
              "client on CPU 1.%s\n" % (
                  machine(), args.passes, args.seconds, args.warmup,
                  " TLS: mrpc and gRPC over TLS, the baseline plaintext." if args.tls
                  else ""))
        if not args.skip_matrix:
            run_matrix(args, port)
        if not args.skip_slow:
            run_slow(args, port)
        if not args.skip_idle:
            if args.tls:
                TLS_SERVER_FLAGS.pop("mrpc")  # idle_conns speaks plaintext only.
            run_idle(args, port)


if __name__ == "__main__":
    main()
