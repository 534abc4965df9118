// The load driver shared by mrpc's load tester and the gRPC comparison
// client: flags, closed and open loop, pacing, slow-request mix, counting
// each call's outcome, latency histograms, the progress line, the final
// table and JSON. Each RPC system plugs in only an EchoTransport, so both
// clients have the same flags and the same output by construction.
//
// The driver numbers the calls and hands each one an echo payload that
// depends on its number; the transport sends it (or, for mrpc_load
// --method, a request of its own picked by the number) and reports the
// status and whether the response checked out (an echo of that payload, or
// the expected message). The names say "echo" because that is what both
// clients send by default.
//
// Tool-only. Run() is called once per process (from main) or per test;
// EchoConnection::Call may be invoked from any thread and its callbacks may
// run on any thread.
#ifndef MRPC_TOOLS_LOAD_LOAD_DRIVER_H_
#define MRPC_TOOLS_LOAD_LOAD_DRIVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/histogram.h"

namespace mrpc::load {

// One call. `seq` numbers the calls from 0 in the order they are issued.
// `payload` is what an echo should answer with: the run's payload number
// `variant` (see EchoTransport::Prepare), so it stays valid until the run
// ends. `work_us` > 0 asks for SlowEcho with that much work.
struct EchoCall {
  uint64_t seq = 0;
  absl::string_view payload;
  uint32_t variant = 0;
  uint32_t work_us = 0;
  absl::Duration deadline;  // Relative; the call fails after this long.
};

// Completes a call: its status code and, when OK, whether the response
// checked out (for an echo: its payload equals the call's; the transport
// compares, so the driver never sees a response and any method fits).
// `checked` is ignored when the code is not OK. Runs once, on any thread,
// but never inside EchoConnection::Call itself: the closed loop sends the
// next call from this callback, and an inline completion would recurse
// without end.
using EchoDone = absl::AnyInvocable<void(absl::StatusCode code, bool checked)>;

class EchoConnection {
 public:
  virtual ~EchoConnection() = default;
  virtual void Call(const EchoCall& call, EchoDone done) = 0;
};

class EchoTransport {
 public:
  virtual ~EchoTransport() = default;
  // "mrpc", "grpc", ...: for the report.
  virtual std::string name() const = 0;
  // Called by Run() before its first Connect(), on Run()'s thread: every
  // payload the run's calls will carry, in order, so that a call with
  // `variant` v carries exactly payloads[v]. The bytes stay valid until
  // Run() returns. A transport may build its requests here once instead of
  // per call (the baseline's client builds its frames once, too). Default:
  // nothing.
  virtual void Prepare(const std::vector<absl::string_view>& payloads) {}
  // Connection number `index` to `target` ("host:port"); returns once it is
  // usable (or failed).
  virtual absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(
      const std::string& target, int index) = 0;
  // Requests sent to each server so far, for a target that names several
  // ("127.0.0.1:9001" -> count). Default: none known.
  virtual std::vector<std::pair<std::string, uint64_t>> CallsByServer() {
    return {};
  }
};

struct LoadSpec {
  std::vector<std::string> targets = {"127.0.0.1:9000"};
  int conns = 8;
  int depth = 8;  // Closed loop: calls in flight per connection.
  absl::Duration duration = absl::Seconds(5);
  int64_t requests = 0;  // > 0: stop after this many measured calls.
  absl::Duration warmup = absl::Seconds(1);
  int payload = 16;
  // For the report: the method called when it is not the echo (then
  // `payload` is 0). Default: empty.
  std::string method;
  int threads = 1;
  double qps = 0;  // > 0: open loop at this rate.
  double slow_fraction = 0;
  absl::Duration slow_time = absl::Milliseconds(5);
  absl::Duration deadline = absl::Seconds(1);
  int server_pid = 0;              // > 0: charge this process's CPU time.
  bool progress = true;            // A line per second on stderr.
  int64_t max_in_flight = 100000;  // Open loop: calls beyond this are dropped.
};

// The flags every load tester shares, read into a spec.
LoadSpec SpecFromFlags();
// Whether --json was given.
bool JsonFromFlags();
// --target's value as targets: one with a scheme ("list://a,b"), or a
// comma-separated list of host:port.
std::vector<std::string> SplitTargets(absl::string_view flag);

struct LoadReport {
  std::string transport;
  absl::Duration measured;  // The measured window's length.
  uint64_t ok = 0;          // Calls in the window that were OK and checked.
  Histogram fast;           // Latency (ns) of the window's normal calls,
  Histogram slow;           // and of its slow-mix calls.
  std::map<std::string, uint64_t> errors;  // Code name -> count, whole run.
  uint64_t dropped = 0;  // Open loop: not sent, too many in flight.
  double server_cpu_seconds = -1;
  double client_cpu_seconds = 0;
  // EchoTransport::CallsByServer() at the end of the run.
  std::vector<std::pair<std::string, uint64_t>> servers;

  uint64_t measured_calls() const { return fast.count() + slow.count(); }
  double qps() const;
  uint64_t error_count() const;
};

// Connects, runs the load, and returns what was measured. Fails only if the
// connections cannot be made.
absl::StatusOr<LoadReport> Run(const LoadSpec& spec, EchoTransport* transport);

// The final table (or one JSON object) on stdout.
void PrintReport(const LoadSpec& spec, const LoadReport& report, bool json);

// main() of a load tester: flags -> Run -> PrintReport. Exit code 0 when
// every call succeeded and checked out.
int RunFromFlags(EchoTransport* transport);
// The same with a spec the tester has adjusted (SpecFromFlags() and then
// its own flags).
int RunFromFlags(const LoadSpec& spec, EchoTransport* transport);

}  // namespace mrpc::load

#endif  // MRPC_TOOLS_LOAD_LOAD_DRIVER_H_
