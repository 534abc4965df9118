"""What tools/bench_net.py, tools/bench_rpc.py and tools/bench_tls_handshake.py
share: where the optimized binaries are, starting a server pinned to CPU 0 and
stopping it by its PID, throwaway TLS certificates, and a line describing the
machine."""
import os
import platform
import signal
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The optimized binaries' directory. Not the bazel-bin symlink: it follows
# whichever configuration built last (a fastbuild or sanitizer test run
# would silently swap in unoptimized binaries).
BIN = subprocess.run(["bazel", "info", "--config=opt", "bazel-bin"], cwd=ROOT, check=True,
                     capture_output=True, text=True).stdout.strip()


def start_server(cmd, port, name):
    """Starts `cmd --port=port` pinned to CPU 0; returns the process once it
    prints its "listening" line."""
    proc = subprocess.Popen(["taskset", "-c", "0"] + list(cmd) + ["--port=%d" % port],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        proc.wait()
        raise RuntimeError("%s server did not start: %r" % (name, line))
    return proc


def stop_server(proc):
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def make_test_certs(directory):
    """A throwaway CA and certificates in `directory` (tools/make_test_certs.sh:
    EC P-256; the server's for IP:127.0.0.1 and DNS:localhost); returns their
    paths: ca, server_cert, server_key, client_cert, client_key."""
    subprocess.run([os.path.join(ROOT, "tools/make_test_certs.sh"), directory], check=True)
    names = {"ca": "ca.pem", "server_cert": "server.pem", "server_key": "server.key",
             "client_cert": "client.pem", "client_key": "client.key"}
    return {k: os.path.join(directory, v) for k, v in names.items()}


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%s, %d vCPUs, Linux %s" % (model, os.cpu_count(), platform.release())
