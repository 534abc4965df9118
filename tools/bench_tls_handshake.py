#!/usr/bin/env python3
"""TLS handshakes per second: mrpc's echo_server vs grpc_echo_server.

Each measurement starts a fresh server with a throwaway certificate (EC
P-256, from tools/make_test_certs.sh in a temporary directory), pinned to
CPU 0 with one I/O thread, and runs tools:tls_handshake_bench pinned to CPU 1:
--parallel threads each connecting, doing a full TLS handshake (verifying the
server against the throwaway CA and IP 127.0.0.1), closing, and again. Both
servers are offered the same key exchange (--groups, default P-256: gRPC's
server accepts only P-256, and with OpenSSL's default X25519 key share it
would cost a HelloRetryRequest round trip the mrpc side does not pay).
Against gRPC the client offers ALPN h2, which gRPC's server requires.

Reported per system: handshakes/s, handshake latency p50/p99 (connect() to
SSL_connect() done), the server's CPU time per handshake over the measured
window (/proc/PID/stat utime+stime; the connection's setup and teardown
included), how busy that made the server's core, and the client's CPU per
handshake. The client does as much crypto as the server or more (ECDHE and
two ECDSA verifications against ECDHE and one signature), so handshakes/s
can be bound by the client's core (client CPU per handshake near 1e6 /
rate): compare the servers by their CPU per handshake. Passes alternate the
order of the systems; medians over passes, ratios are paired per pass.

  tools/bench_tls_handshake.py [--passes 3] [--seconds 5] [--warmup 1]
      [--parallel 4] [--resume] [--systems mrpc,grpc] [--no-build]

--resume adds rows for resumed handshakes (each client thread offers its
previous connection's session).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile

from benchlib import BIN, ROOT, machine, make_test_certs, start_server, stop_server

SERVERS = {
    # --tls_required: a client that fails to start TLS is refused, never
    # served (and measured) in plaintext.
    "mrpc": [BIN + "/examples/echo/echo_server", "--threads=1", "--tls_required"],
    "grpc": [BIN + "/tools/grpc/grpc_echo_server", "--threads=1"],
}
NAMES = {"mrpc": "mrpc", "grpc": "gRPC"}
# gRPC's server refuses connections that do not negotiate HTTP/2.
CLIENT_EXTRA = {"mrpc": [], "grpc": ["--alpn=h2"]}
CLIENT = BIN + "/tools/tls_handshake_bench"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def measure(system, resume, port, certs, args):
    proc = start_server(SERVERS[system] + ["--tls_cert=" + certs["server_cert"],
                                           "--tls_key=" + certs["server_key"]], port, system)
    try:
        cmd = (["taskset", "-c", "1", CLIENT, "--target=127.0.0.1:%d" % port,
                "--tls_ca=" + certs["ca"], "--groups=" + args.groups,
                "--seconds=%g" % args.seconds, "--warmup=%g" % args.warmup,
                "--connections_parallel=%d" % args.parallel, "--server_pid=%d" % proc.pid,
                "--resume=%s" % ("true" if resume else "false")] + CLIENT_EXTRA[system])
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=args.seconds + args.warmup + 60)
    finally:
        stop_server(proc)
    if out.returncode != 0:
        raise RuntimeError("%s: tls_handshake_bench failed (%d): %s %s" % (
            system, out.returncode, out.stdout[-1000:], out.stderr[-2000:]))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["server_busy"] = r["server_cpu_us_per_handshake"] * r["rate"] / 1e6
    return r


def parse_systems(text):
    systems = [x for x in text.split(",") if x]
    if not systems or any(x not in SERVERS for x in systems):
        raise argparse.ArgumentTypeError("systems are %s: %r" % (",".join(SERVERS), text))
    return systems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--parallel", type=int, default=4,
                        help="client threads, each with one connection at a time")
    parser.add_argument("--groups", default="P-256",
                        help="key exchange groups the client offers (both servers)")
    parser.add_argument("--resume", action="store_true",
                        help="also measure resumed handshakes")
    parser.add_argument("--systems", type=parse_systems, default=list(SERVERS))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--port", type=int, default=21500)
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["bazel", "build", "--config=opt", "//examples/echo:echo_server",
                        "//tools/grpc:grpc_echo_server", "//tools:tls_handshake_bench"],
                       cwd=ROOT, check=True)
    modes = [False, True] if args.resume else [False]
    runs = [(s, m) for m in modes for s in args.systems]
    results = {run: [] for run in runs}
    port = args.port
    with tempfile.TemporaryDirectory(prefix="bench_tls_handshake.") as cert_dir:
        certs = make_test_certs(cert_dir)
        for p in range(args.passes):
            for system, resume in (runs if p % 2 == 0 else list(reversed(runs))):
                port += 1
                r = measure(system, resume, port, certs, args)
                results[(system, resume)].append(r)
                log("pass %d %-4s %-7s %7.0f/s p50 %7.0fus p99 %7.0fus server %6.1fus/hs "
                    "(%3.0f%% busy) client %6.1fus/hs resumed %d/%d" % (
                        p + 1, system, "resumed" if resume else "full", r["rate"],
                        r["p50_us"], r["p99_us"], r["server_cpu_us_per_handshake"],
                        100 * r["server_busy"], r["client_cpu_us_per_handshake"],
                        r["resumed"], r["handshakes"]))

    def m(run, key):
        return statistics.median(x[key] for x in results[run])

    def paired(a, b, key):
        return statistics.median(x[key] / y[key] for x, y in zip(results[a], results[b]))

    print("Machine: %s. %d passes, %gs measured after %gs warm-up; server on CPU 0 (one "
          "I/O thread), client on CPU 1 (%d connections in parallel).\n" % (
              machine(), args.passes, args.seconds, args.warmup, args.parallel))
    print("### TLS handshakes\n")
    print("Each connection: TCP connect, TLS handshake (server certificate EC P-256 from a "
          "throwaway CA, verified by IP; key exchange %s; ALPN h2 against gRPC), "
          "close_notify, close. Full: no session offered; resumed: the client offers its "
          "previous session. CPU per handshake covers the whole connection. handshakes/s "
          "may be bound by the client's core (then client CPU per handshake is near "
          "1e6 / rate): compare servers by their CPU per handshake.\n" % args.groups)
    print("| server | handshake | handshakes/s | p50 us | p99 us | server CPU us/handshake "
          "| server core busy | client CPU us/handshake |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        print("| %s | %s | %.0f | %.0f | %.0f | %.1f | %.0f%% | %.1f |" % (
            NAMES[run[0]], "resumed" if run[1] else "full", m(run, "rate"), m(run, "p50_us"),
            m(run, "p99_us"), m(run, "server_cpu_us_per_handshake"),
            100 * m(run, "server_busy"), m(run, "client_cpu_us_per_handshake")))
    if "mrpc" in args.systems and "grpc" in args.systems:
        print("\nmrpc/gRPC, paired per pass: " + "; ".join(
            "%s: handshakes/s %.2fx, server CPU per handshake %.2fx" % (
                "resumed" if resume else "full",
                paired(("mrpc", resume), ("grpc", resume), "rate"),
                paired(("mrpc", resume), ("grpc", resume), "server_cpu_us_per_handshake"))
            for resume in modes))
    print()


if __name__ == "__main__":
    main()
