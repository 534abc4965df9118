#include "rpc/http/pages_status.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "rpc/http/http_status.h"
#include "rpc/http/pages_text.h"
#include "rpc/version.h"

namespace mrpc {
namespace {

// What this binary was built with: the page says whether it is looking at
// a debug or sanitizer build before anyone reads its latencies.
struct BuildInfo {
  std::string compiler;
  bool ndebug = false;
  std::vector<std::string> sanitizers;
};

BuildInfo TheBuild() {
  BuildInfo b;
#if defined(__clang__)
  b.compiler = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
  b.compiler = absl::StrCat("gcc ", __VERSION__);
#else
  b.compiler = __VERSION__;
#endif
#ifdef NDEBUG
  b.ndebug = true;
#endif
  // gcc defines __SANITIZE_*__; clang answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
  b.sanitizers.push_back("address");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  b.sanitizers.push_back("address");
#endif
#endif
#if defined(__SANITIZE_THREAD__)
  b.sanitizers.push_back("thread");
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  b.sanitizers.push_back("thread");
#endif
#endif
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
  b.sanitizers.push_back("memory");
#endif
#endif
  return b;
}

const BuildInfo& Build() {
  static const BuildInfo* const build = new BuildInfo(TheBuild());
  return *build;
}

// Upper bound of the slowest non-empty bucket (the open last bucket: its
// lower bound); 0 with no calls.
double MaxBucketUs(const MethodSnapshot& s) {
  for (int i = LatencyBuckets::kCount - 1; i >= 0; --i) {
    if (s.buckets[i] == 0) continue;
    const int bound = i == LatencyBuckets::kBounded ? i - 1 : i;
    return static_cast<double>(LatencyBuckets::UpperBoundUs(bound));
  }
  return 0;
}

struct MethodRow {
  const MethodSnapshot* total;
  MethodSnapshot window;  // The last minute.
  double qps = 0;
  double error_rate = 0;  // Errors / calls in the window, 0..1.
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max_bucket = 0;
};

struct LoopRow {
  const LoopView* loop;
  double busy_pct = 0;  // Over the window, or since start if no sample.
};

// Everything the page shows, computed once for either form.
struct Report {
  std::string address;
  absl::Time start;
  absl::Time now;
  bool draining = false;
  double uptime_s = 0;
  double window_s = 0;  // What "last minute" covers so far.
  ServerStats stats;
  ServerStats base;  // At the window's start (zeros: since Start()).
  std::vector<MethodSnapshot> methods;
  std::vector<LoopView> loops;
  std::vector<MethodRow> method_rows;
  std::vector<LoopRow> loop_rows;

  uint64_t Delta(uint64_t ServerStats::*field) const {
    const uint64_t a = stats.*field, b = base.*field;
    return a >= b ? a - b : 0;
  }
  double Rate(uint64_t ServerStats::*field) const {
    return window_s > 0 ? static_cast<double>(Delta(field)) / window_s : 0;
  }
};

Report MakeReport(const ServerView& view, absl::Time now) {
  Report r;
  r.address = view.address();
  r.start = view.start_time();
  r.now = now;
  r.draining = view.draining();
  r.uptime_s = absl::ToDoubleSeconds(now - r.start);
  r.stats = view.stats();
  r.methods = view.methods();
  r.loops = view.loops();
  const std::optional<StatsSample> base = view.window().Base(now);
  const std::vector<MethodSnapshot> none;
  const std::vector<MethodSnapshot>& base_methods = base ? base->methods : none;
  if (base) {
    r.base = base->stats;
    r.window_s = absl::ToDoubleSeconds(now - base->time);
  } else {
    r.window_s = r.uptime_s;
  }
  for (size_t i = 0; i < r.methods.size(); ++i) {
    MethodRow row;
    row.total = &r.methods[i];
    row.window = i < base_methods.size() ? r.methods[i].Minus(base_methods[i])
                                         : r.methods[i];
    const uint64_t calls = row.window.calls();
    row.qps = r.window_s > 0 ? static_cast<double>(calls) / r.window_s : 0;
    row.error_rate =
        calls > 0 ? static_cast<double>(row.window.errors()) / calls : 0;
    row.p50 = row.window.PercentileUs(0.5);
    row.p90 = row.window.PercentileUs(0.9);
    row.p99 = row.window.PercentileUs(0.99);
    row.p999 = row.window.PercentileUs(0.999);
    row.max_bucket = MaxBucketUs(row.window);
    r.method_rows.push_back(std::move(row));
  }
  for (const LoopView& loop : r.loops) {
    LoopRow row{&loop};
    std::optional<uint64_t> busy_then;
    if (base) {
      for (const auto& [name, busy] : base->loop_busy_ns) {
        if (name == loop.name) busy_then = busy;
      }
    }
    const double span_ns = 1e9 * (busy_then ? r.window_s : r.uptime_s);
    const uint64_t busy =
        loop.busy_ns - std::min(loop.busy_ns, busy_then.value_or(0));
    row.busy_pct =
        span_ns > 0 ? 100.0 * static_cast<double>(busy) / span_ns : 0;
    r.loop_rows.push_back(row);
  }
  return r;
}

std::string UtcTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// ---------------------------------------------------------------- JSON

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
  json.FieldUint("mrpc_total", s.requests);
  json.FieldDouble("mrpc_per_s", r.Rate(&ServerStats::requests));
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
  json.EndObject();
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

// ---------------------------------------------------------------- HTML

std::string Us(double us) {
  if (us <= 0) return "-";
  if (us < 1000) return absl::StrFormat("%.0f&nbsp;us", us);
  if (us < 1e6) return absl::StrFormat("%.2f&nbsp;ms", us / 1e3);
  return absl::StrFormat("%.2f&nbsp;s", us / 1e6);
}

std::string Ms(double ns) { return ns <= 0 ? "-" : Us(ns / 1e3); }

std::string Bytes(double b) {
  if (b < 1024) return absl::StrFormat("%.0f&nbsp;B", b);
  if (b < 1024.0 * 1024) return absl::StrFormat("%.1f&nbsp;KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) {
    return absl::StrFormat("%.1f&nbsp;MiB", b / (1024.0 * 1024));
  }
  return absl::StrFormat("%.2f&nbsp;GiB", b / (1024.0 * 1024 * 1024));
}

std::string Duration(double s) {
  return HtmlEscape(absl::FormatDuration(
      absl::Trunc(absl::Seconds(s), absl::Seconds(s < 60 ? 0.1 : 1))));
}

std::string Rate(double per_s) { return absl::StrFormat("%.1f", per_s); }

// A <td> holding a number (right-aligned).
std::string Num(absl::string_view text) {
  return absl::StrCat("<td class=\"n\">", text, "</td>");
}
std::string Num(uint64_t n) { return Num(absl::StrCat(n)); }

std::string Codes(const MethodSnapshot& s) {
  std::vector<std::string> parts;
  for (size_t c = 1; c < s.codes.size(); ++c) {
    if (s.codes[c] == 0) continue;
    parts.push_back(
        absl::StrCat(HtmlEscape(CodeName(static_cast<absl::StatusCode>(c))),
                     "&nbsp;", s.codes[c]));
  }
  return parts.empty() ? "" : absl::StrJoin(parts, ", ");
}

constexpr char kStyle[] = R"css(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em 2em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
h2{font-size:1.1em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.2em 0}
th,td{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;border-bottom:1px solid #ccc}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{background:none;border:none;color:#555;font-weight:normal;padding-left:0}
table.kv td{border:none}
tr.service td{background:#fafafa;font-weight:600;padding-top:.6em}
tr.stalling td{background:#fde2e2}
.state{display:inline-block;font-size:.75em;padding:.1em .6em;border-radius:1em;vertical-align:middle;color:#fff}
.serving{background:#2e7d32}.draining{background:#c62828}
.err{color:#b71c1c}.muted{color:#888}
footer{margin-top:2em;color:#888;font-size:.9em}
)css";

std::string RenderHtml(const Report& r) {
  const BuildInfo& build = Build();
  const ServerStats& s = r.stats;
  // Truncated as the uptime is, so that the window never reads longer.
  const std::string window =
      absl::StrFormat("%.1f&nbsp;s", std::floor(r.window_s * 10) / 10);
  std::string h;
  absl::StrAppend(
      &h,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"5\">"
      "<title>mrpc status: ",
      HtmlEscape(r.address), "</title><style>", kStyle,
      "</style></head>\n<body>\n<h1>mrpc server ", HtmlEscape(r.address),
      " <span class=\"state ", r.draining ? "draining" : "serving", "\">",
      r.draining ? "draining" : "serving", "</span></h1>\n");

  // Server.
  absl::StrAppend(
      &h, "<table class=\"kv\" id=\"server\">", "<tr><th>Address</th><td>",
      HtmlEscape(r.address), "</td></tr>", "<tr><th>Started</th><td>",
      UtcTime(r.start), "</td></tr>", "<tr><th>Uptime</th><td>",
      Duration(r.uptime_s), "</td></tr>", "<tr><th>Build</th><td>mrpc ",
      HtmlEscape(kMrpcVersion), ", ", HtmlEscape(build.compiler), ", ",
      build.ndebug ? "optimized (NDEBUG)" : "debug (assertions on)",
      build.sanitizers.empty()
          ? std::string()
          : absl::StrCat(", sanitizers: ",
                         HtmlEscape(absl::StrJoin(build.sanitizers, ", "))),
      "</td></tr>",
      "<tr><th>Window</th><td>rates, errors and latencies "
      "below cover the last ",
      window,
      r.window_s < absl::ToDoubleSeconds(StatsWindow::kSpan) - 1
          ? " (less than a minute of data so far)"
          : "",
      "</td></tr></table>\n");

  // Methods, grouped by service in registration order.
  absl::StrAppend(
      &h,
      "<h2>Services and methods</h2>\n<table id=\"methods\"><tr>"
      "<th>Method</th><th class=\"n\">Calls</th><th class=\"n\">QPS</th>"
      "<th class=\"n\">Errors</th><th class=\"n\">Error rate</th>"
      "<th>Errors by code</th><th class=\"n\">p50</th><th class=\"n\">p90</th>"
      "<th class=\"n\">p99</th><th class=\"n\">p99.9</th>"
      "<th class=\"n\">Slowest bucket</th></tr>\n");
  std::vector<std::string> services;
  for (const MethodRow& m : r.method_rows) {
    if (std::find(services.begin(), services.end(), m.total->service) ==
        services.end()) {
      services.push_back(m.total->service);
    }
  }
  for (const std::string& service : services) {
    absl::StrAppend(&h, "<tr class=\"service\"><td colspan=\"11\">",
                    HtmlEscape(service), "</td></tr>\n");
    for (const MethodRow& m : r.method_rows) {
      if (m.total->service != service) continue;
      const uint64_t errors = m.window.errors();
      absl::StrAppend(
          &h, "<tr><td>", HtmlEscape(m.total->method), "</td>",
          Num(m.total->calls()), Num(Rate(m.qps)),
          errors > 0 ? absl::StrCat("<td class=\"n err\">", errors, "</td>")
                     : Num(errors),
          Num(m.window.calls() == 0
                  ? std::string("-")
                  : absl::StrFormat("%.2f%%", 100 * m.error_rate)),
          "<td>", Codes(m.window), "</td>", Num(Us(m.p50)), Num(Us(m.p90)),
          Num(Us(m.p99)), Num(Us(m.p999)), Num(Us(m.max_bucket)), "</tr>\n");
    }
  }
  if (services.empty()) {
    absl::StrAppend(&h,
                    "<tr><td colspan=\"11\" class=\"muted\">no methods "
                    "registered</td></tr>\n");
  }
  absl::StrAppend(&h,
                  "</table>\n<p class=\"muted\">Calls: since start. QPS, "
                  "errors and latencies: the last ",
                  window, ".</p>\n");

  // Connections and requests.
  absl::StrAppend(
      &h, "<h2>Connections</h2>\n<table class=\"kv\" id=\"connections\">",
      "<tr><th>Open</th><td>", s.connections, "</td></tr>",
      "<tr><th>Accepted</th><td>", s.connections_accepted, " (",
      Rate(r.Rate(&ServerStats::connections_accepted)), "/s)</td></tr>",
      "<tr><th>By protocol</th><td>mrpc ", s.mrpc_connections, ", HTTP ",
      s.http_connections, ", unknown (closed) ", s.unknown_protocol_closes,
      "</td></tr>", "<tr><th>Closed</th><td>idle ", s.idle_closes,
      ", output overflow ", s.overflow_closes, ", output stalled ",
      s.stall_closes, ", errors ", s.error_closes, "</td></tr>",
      "<tr><th>Refused</th><td>over max_connections ", s.rejected_over_cap,
      ", out of fds ", s.fd_exhaustion_drops, "</td></tr>",
      "<tr><th>Requests</th><td>mrpc ", s.requests, " (",
      Rate(r.Rate(&ServerStats::requests)), "/s), HTTP ", s.http_requests, " (",
      Rate(r.Rate(&ServerStats::http_requests)), "/s), in flight ",
      s.calls_in_flight, "</td></tr>",
      "<tr><th>Refused requests</th><td>"
      "unimplemented ",
      s.unimplemented, ", deadline exceeded ", s.deadline_exceeded,
      ", invalid metadata ", s.invalid_metadata, ", protocol errors ",
      s.protocol_errors, ", frame timeouts ", s.frame_timeouts,
      ", HTTP bad requests ", s.http_bad_requests, ", HTTP timeouts ",
      s.http_timeouts, "</td></tr></table>\n");

  // Loops.
  absl::StrAppend(&h,
                  "<h2>Loops</h2>\n<table id=\"loops\"><tr><th>Loop</th>"
                  "<th class=\"n\">Busy</th><th class=\"n\">Iterations</th>"
                  "<th class=\"n\">Stalls</th><th class=\"n\">Stalled</th>"
                  "<th class=\"n\">Slowest stall</th><th>Slowest holder</th>"
                  "<th>Now</th></tr>\n");
  for (const LoopRow& row : r.loop_rows) {
    const LoopView& l = *row.loop;
    const bool stalling = l.current_stall_ns > 0;
    absl::StrAppend(
        &h, stalling ? "<tr class=\"stalling\">" : "<tr>", "<td>",
        HtmlEscape(l.name), "</td>",
        Num(absl::StrFormat("%.1f%%", row.busy_pct)), Num(l.iterations),
        Num(l.stalls), Num(Ms(l.stalled_ns)), Num(Ms(l.slowest_stall_ns)),
        "<td>", HtmlEscape(l.slowest_holder), "</td><td>",
        stalling
            ? absl::StrCat("<b class=\"err\">stalled ", Ms(l.current_stall_ns),
                           " in ", HtmlEscape(l.holder), "</b>")
            : std::string("running"),
        "</td></tr>\n");
  }
  if (r.loop_rows.empty()) {
    absl::StrAppend(&h,
                    "<tr><td colspan=\"8\" class=\"muted\">no loop "
                    "statistics from this server</td></tr>\n");
  }
  absl::StrAppend(&h, "</table>\n");

  // Memory, workers, overload.
  const double limit = static_cast<double>(s.memory_limit);
  absl::StrAppend(
      &h, "<h2>Memory budget</h2>\n<table class=\"kv\" id=\"memory\">",
      "<tr><th>Used</th><td>", Bytes(s.memory_used), " of ", Bytes(limit),
      absl::StrFormat(" (%.1f%%)", limit > 0 ? 100 * s.memory_used / limit : 0),
      "</td></tr><tr><th>Peak</th><td>", Bytes(s.memory_peak),
      "</td></tr></table>\n",
      "<h2>Worker queue</h2>\n<table class=\"kv\" id=\"workers\">",
      "<tr><th>Queued</th><td>", s.worker_queue_calls, " calls, ",
      Bytes(s.worker_queue_bytes), "</td></tr></table>\n",
      "<h2>Overload</h2>\n<table id=\"overload\"><tr><th>Refused</th>"
      "<th class=\"n\">Last window</th><th class=\"n\">Total</th></tr>",
      "<tr><td>Server limits (RESOURCE_EXHAUSTED)</td>",
      Num(r.Delta(&ServerStats::overloaded)), Num(s.overloaded), "</tr>",
      "<tr><td>Method concurrency limit</td>",
      Num(r.Delta(&ServerStats::limited)), Num(s.limited), "</tr>",
      "<tr><td>Shed (deadline under latency)</td>",
      Num(r.Delta(&ServerStats::shed)), Num(s.shed), "</tr>",
      "<tr><td>Memory budget spent</td>",
      Num(r.Delta(&ServerStats::memory_refusals)), Num(s.memory_refusals),
      "</tr>", "<tr><td>Per-connection worker cap</td>",
      Num(r.Delta(&ServerStats::connection_cap_refusals)),
      Num(s.connection_cap_refusals), "</tr>",
      "<tr><td>Oversized requests / responses</td><td class=\"n\"></td>",
      Num(absl::StrCat(s.oversized_requests, " / ", s.oversized_responses)),
      "</tr></table>\n");

  absl::StrAppend(&h, "<footer>", UtcTime(r.now),
                  " &middot; refreshes every 5 s &middot; JSON: <a "
                  "href=\"/status?format=json\">/status?format=json</a>"
                  "</footer>\n</body></html>\n");
  return h;
}

}  // namespace

std::string StatusHtml(const ServerView& view, absl::Time now) {
  return RenderHtml(MakeReport(view, now));
}

std::string StatusJson(const ServerView& view, absl::Time now) {
  return RenderJson(MakeReport(view, now));
}

void InstallStatusPage(std::shared_ptr<ServerView> view,
                       absl::flat_hash_map<std::string, HttpPage>* pages) {
  (*pages)["/status"] = [view](const HttpServerRequest& request,
                               HttpReply* reply) {
    const std::optional<std::string> format = request.QueryParam("format");
    if (format.has_value() && *format == "json") {
      reply->content_type = "application/json";
      reply->body = StatusJson(*view, absl::Now());
    } else {
      reply->content_type = "text/html; charset=utf-8";
      reply->body = StatusHtml(*view, absl::Now());
    }
    reply->headers.emplace_back("Cache-Control", "no-store");
  };
}

}  // namespace mrpc
