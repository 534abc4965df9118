// /status as HTML: one self-contained page (inline CSS, no scripts); every
// string from the server goes through HtmlEscape.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rpc/http/http_status.h"
#include "rpc/http/pages_status_report.h"
#include "rpc/http/pages_text.h"
#include "rpc/http/pages_window.h"
#include "rpc/version.h"

namespace mrpc::status_page {
namespace {

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

}  // namespace

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
      "</td></tr>", "<tr><th>TLS</th><td>handshakes ", s.tls_handshakes,
      ", failed ", s.tls_handshake_failures, ", plaintext refused ",
      s.tls_plaintext_refused, ", reloads ", s.tls_reloads, "</td></tr>", "<tr><th>Closed</th><td>idle ", s.idle_closes,
      ", output overflow ", s.overflow_closes, ", output stalled ",
      s.stall_closes, ", errors ", s.error_closes, "</td></tr>",
      "<tr><th>Refused</th><td>over max_connections ", s.rejected_over_cap,
      ", out of fds ", s.fd_exhaustion_drops, "</td></tr>",
      "<tr><th>Requests</th><td>calls (both protocols) ", s.requests, " (",
      Rate(r.Rate(&ServerStats::requests)), "/s), HTTP requests (calls and "
      "pages) ", s.http_requests, " (",
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

}  // namespace mrpc::status_page
