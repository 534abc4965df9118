// /status?format=json: the report as JSON (field names: docs/guide.md,
// "### /status").
#include "absl/strings/str_cat.h"
#include "rpc/http/http_status.h"
#include "rpc/http/pages_status_report.h"
#include "rpc/http/pages_text.h"
#include "rpc/version.h"

namespace mrpc::status_page {
namespace {

void CodesJson(JsonWriter& json, absl::string_view key,
               const MethodSnapshot& s) {
  json.Key(key);
  json.BeginObject();
  for (size_t c = 1; c < s.codes.size(); ++c) {
    if (s.codes[c] == 0) continue;
    json.FieldUint(CodeName(static_cast<absl::StatusCode>(c)), s.codes[c]);
  }
  json.EndObject();
}

}  // namespace

std::string RenderJson(const Report& r) {
  const BuildInfo& build = Build();
  JsonWriter json;
  json.BeginObject();
  json.FieldString("address", r.address);
  json.FieldString("state", r.draining ? "draining" : "serving");
  json.FieldString("start_time", UtcTime(r.start));
  json.FieldInt("start_time_unix_s", absl::ToUnixSeconds(r.start));
  json.FieldString("now", UtcTime(r.now));
  json.FieldDouble("uptime_s", r.uptime_s);
  json.FieldDouble("window_s", r.window_s);
  json.Key("build");
  json.BeginObject();
  json.FieldString("version", kMrpcVersion);
  json.FieldString("compiler", build.compiler);
  json.FieldBool("ndebug", build.ndebug);
  json.Key("sanitizers");
  json.BeginArray();
  for (const std::string& s : build.sanitizers) json.String(s);
  json.EndArray();
  json.EndObject();

  json.Key("methods");
  json.BeginArray();
  for (const MethodRow& m : r.method_rows) {
    json.BeginObject();
    json.FieldString("service", m.total->service);
    json.FieldString("method", m.total->method);
    json.FieldUint("calls_total", m.total->calls());
    json.FieldUint("errors_total", m.total->errors());
    CodesJson(json, "errors_by_code_total", *m.total);
    json.FieldUint("calls", m.window.calls());
    json.FieldDouble("qps", m.qps);
    json.FieldUint("errors", m.window.errors());
    json.FieldDouble("error_rate", m.error_rate);
    CodesJson(json, "errors_by_code", m.window);
    json.Key("latency_us");
    json.BeginObject();
    json.FieldDouble("p50", m.p50);
    json.FieldDouble("p90", m.p90);
    json.FieldDouble("p99", m.p99);
    json.FieldDouble("p999", m.p999);
    json.FieldDouble("max_bucket", m.max_bucket);
    json.EndObject();
    json.EndObject();
  }
  json.EndArray();

  const ServerStats& s = r.stats;
  json.Key("requests");
  json.BeginObject();
  // Calls of methods, both protocols; HTTP requests, calls and pages.
  json.FieldUint("calls_total", s.requests);
  json.FieldDouble("calls_per_s", r.Rate(&ServerStats::requests));
  json.FieldUint("http_total", s.http_requests);
  json.FieldDouble("http_per_s", r.Rate(&ServerStats::http_requests));
  json.FieldUint("responses_total", s.responses);
  json.FieldInt("in_flight", s.calls_in_flight);
  json.FieldUint("unimplemented_total", s.unimplemented);
  json.FieldUint("deadline_exceeded_total", s.deadline_exceeded);
  json.FieldUint("cancels_total", s.cancels);
  json.FieldUint("pings_total", s.pings);
  json.FieldUint("invalid_metadata_total", s.invalid_metadata);
  json.FieldUint("protocol_errors_total", s.protocol_errors);
  json.FieldUint("frame_timeouts_total", s.frame_timeouts);
  json.FieldUint("http_bad_requests_total", s.http_bad_requests);
  json.FieldUint("http_timeouts_total", s.http_timeouts);
  json.EndObject();

  json.Key("connections");
  json.BeginObject();
  json.FieldInt("open", s.connections);
  json.FieldUint("accepted_total", s.connections_accepted);
  json.FieldDouble("accepted_per_s",
                   r.Rate(&ServerStats::connections_accepted));
  json.FieldUint("mrpc_total", s.mrpc_connections);
  json.FieldUint("http_total", s.http_connections);
  json.Key("closes_total");
  json.BeginObject();
  json.FieldUint("idle", s.idle_closes);
  json.FieldUint("output_overflow", s.overflow_closes);
  json.FieldUint("output_stalled", s.stall_closes);
  json.FieldUint("error", s.error_closes);
  json.FieldUint("unknown_protocol", s.unknown_protocol_closes);
  json.FieldUint("tls_plaintext_refused", s.tls_plaintext_refused);
  json.EndObject();
  json.FieldUint("tls_handshakes_total", s.tls_handshakes);
  json.FieldUint("tls_handshake_failures_total", s.tls_handshake_failures);
  json.FieldUint("tls_reloads_total", s.tls_reloads);
  json.FieldUint("rejected_over_cap_total", s.rejected_over_cap);
  json.FieldUint("fd_exhaustion_drops_total", s.fd_exhaustion_drops);
  json.EndObject();

  json.Key("loops");
  json.BeginArray();
  for (const LoopRow& row : r.loop_rows) {
    const LoopView& l = *row.loop;
    json.BeginObject();
    json.FieldString("name", l.name);
    json.FieldDouble("busy_pct", row.busy_pct);
    json.FieldUint("iterations", l.iterations);
    json.FieldUint("stalls", l.stalls);
    json.FieldDouble("stalled_ms", l.stalled_ns / 1e6);
    json.FieldBool("stalling", l.current_stall_ns > 0);
    json.FieldDouble("current_stall_ms", l.current_stall_ns / 1e6);
    json.FieldString("holder", l.holder);
    json.FieldDouble("slowest_stall_ms", l.slowest_stall_ns / 1e6);
    json.FieldString("slowest_holder", l.slowest_holder);
    json.EndObject();
  }
  json.EndArray();

  json.Key("memory");
  json.BeginObject();
  json.FieldInt("used_bytes", s.memory_used);
  json.FieldUint("limit_bytes", s.memory_limit);
  json.FieldInt("peak_bytes", s.memory_peak);
  json.EndObject();

  json.Key("worker_queue");
  json.BeginObject();
  json.FieldUint("calls", s.worker_queue_calls);
  json.FieldUint("bytes", s.worker_queue_bytes);
  json.EndObject();

  json.Key("overload");
  json.BeginObject();
  json.FieldUint("overloaded_total", s.overloaded);
  json.FieldUint("overloaded", r.Delta(&ServerStats::overloaded));
  json.FieldUint("limited_total", s.limited);
  json.FieldUint("limited", r.Delta(&ServerStats::limited));
  json.FieldUint("shed_total", s.shed);
  json.FieldUint("shed", r.Delta(&ServerStats::shed));
  json.FieldUint("memory_refusals_total", s.memory_refusals);
  json.FieldUint("memory_refusals", r.Delta(&ServerStats::memory_refusals));
  json.FieldUint("connection_cap_refusals_total", s.connection_cap_refusals);
  json.FieldUint("oversized_requests_total", s.oversized_requests);
  json.FieldUint("oversized_responses_total", s.oversized_responses);
  json.EndObject();
  json.EndObject();
  return absl::StrCat(json.Take(), "\n");
}

}  // namespace mrpc::status_page
