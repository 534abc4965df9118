#include "rpc/http/pages_rpcz.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rpc/http/http_status.h"
#include "rpc/http/pages_text.h"
#include "rpc/rpcz.h"

namespace mrpc {

namespace {

// What the query asks for: ?format=json, ?min_ms=, ?errors=1, ?limit=.
struct RpczQuery {
  bool json = false;
  int64_t min_us = 0;
  bool errors_only = false;
  size_t limit = SIZE_MAX;
};

// Fills `query` from the request; an error names the bad parameter.
absl::Status ParseQuery(const HttpServerRequest& request, RpczQuery* query) {
  if (std::optional<std::string> format = request.QueryParam("format")) {
    if (*format != "json" && *format != "html") {
      return absl::InvalidArgumentError(
          absl::StrCat("format must be json or html, not \"", *format, "\""));
    }
    query->json = *format == "json";
  }
  if (std::optional<std::string> min_ms = request.QueryParam("min_ms")) {
    double ms = 0;
    if (!absl::SimpleAtod(*min_ms, &ms) || !(ms >= 0) || ms > 1e12) {
      return absl::InvalidArgumentError(absl::StrCat(
          "min_ms must be a number of milliseconds, not \"", *min_ms, "\""));
    }
    query->min_us = static_cast<int64_t>(ms * 1000);
  }
  if (std::optional<std::string> errors = request.QueryParam("errors")) {
    query->errors_only = *errors == "1" || *errors == "true";
  }
  if (std::optional<std::string> limit = request.QueryParam("limit")) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(*limit, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("limit must be a count, not \"", *limit, "\""));
    }
    query->limit = static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// A phase in microseconds as JSON: null when it did not happen.
std::string JsonPhase(int64_t us) { return us < 0 ? "null" : absl::StrCat(us); }

// A phase as milliseconds for a person: "12.345", or "-".
std::string HtmlPhase(int64_t us) {
  return us < 0 ? "-" : absl::StrFormat("%.3f", us / 1000.0);
}

std::string ArrivalText(absl::Time arrival) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", arrival, absl::UTCTimeZone());
}

void RenderJson(const RpczStore& store, const std::vector<RpczRecord>& calls,
                std::string* out) {
  const absl::Duration slow = store.slow_threshold();
  absl::StrAppend(out, "{\"enabled\":", store.enabled() ? "true" : "false",
                  ",\"slow_threshold_us\":",
                  slow == absl::InfiniteDuration()
                      ? std::string("null")
                      : absl::StrCat(absl::ToInt64Microseconds(slow)),
                  ",\"keep_errors\":", store.keep_errors() ? "true" : "false",
                  ",\"max_calls\":", store.max_calls(),
                  ",\"kept_total\":", store.added(), ",\"calls\":[");
  bool first = true;
  for (const RpczRecord& r : calls) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(
        out, "\n{\"seq\":", r.seq,
        ",\"arrival\":", JsonQuote(ArrivalText(r.arrival)),
        ",\"arrival_unix_us\":", absl::ToUnixMicros(r.arrival),
        ",\"service\":", JsonQuote(r.service),
        ",\"method\":", JsonQuote(r.method),
        ",\"peer\":", JsonQuote(r.peer.ToString()),
        ",\"protocol\":", r.http ? "\"http\"" : "\"mrpc\"",
        ",\"code\":", static_cast<int>(r.code),
        ",\"status\":", JsonQuote(CodeName(r.code)),
        ",\"message\":", JsonQuote(r.message), ",\"trace_id\":",
        r.has_trace ? JsonQuote(r.TraceIdHex()) : std::string("null"),
        ",\"request_bytes\":", r.request_bytes,
        ",\"queued_us\":", JsonPhase(r.queued_us),
        ",\"handler_us\":", JsonPhase(r.handler_us),
        ",\"answer_us\":", JsonPhase(r.answer_us), ",\"total_us\":", r.total_us,
        "}");
  }
  out->append("]}\n");
}

void RenderHtml(const RpczStore& store, const ServerView& view,
                const std::vector<RpczRecord>& calls, std::string* out) {
  const absl::Duration slow = store.slow_threshold();
  absl::StrAppend(
      out,
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
      "<title>rpcz</title><style>"
      "body{font-family:sans-serif}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
      "td.n{text-align:right}tr.err{background:#fee}</style></head><body>\n"
      "<h1>/rpcz on ",
      HtmlEscape(view.address()), "</h1>\n<p>");
  if (!store.enabled()) {
    out->append("Recording is off (ServerOptions::rpcz.enabled).</p>\n");
  } else {
    absl::StrAppend(
        out, "Keeps the last ", store.max_calls(), " calls that took ",
        slow == absl::InfiniteDuration()
            ? std::string("(never, by latency)")
            : absl::StrCat("at least ", HtmlEscape(absl::FormatDuration(slow))),
        store.keep_errors() ? " or failed" : "", "; ", store.added(),
        " kept since start. Newest first; times in ms.</p>\n");
  }
  absl::StrAppend(
      out,
      "<p><a href=\"?errors=1\">errors only</a> &middot; "
      "<a href=\"?format=json\">JSON</a></p>\n<table>\n"
      "<tr><th>arrival (UTC)</th><th>method</th><th>peer</th>"
      "<th>protocol</th><th>status</th><th>message</th><th>queued</th>"
      "<th>handler</th><th>answer</th><th>total</th><th>request bytes</th>"
      "<th>trace id</th></tr>\n");
  for (const RpczRecord& r : calls) {
    absl::StrAppend(
        out, r.code == absl::StatusCode::kOk ? "<tr>" : "<tr class=\"err\">",
        "<td>", ArrivalText(r.arrival), "</td><td>",
        HtmlEscape(absl::StrCat(r.service, "/", r.method)), "</td><td>",
        HtmlEscape(r.peer.ToString()), "</td><td>", r.http ? "http" : "mrpc",
        "</td><td>", CodeName(r.code), "</td><td>", HtmlEscape(r.message),
        "</td><td class=\"n\">", HtmlPhase(r.queued_us),
        "</td><td class=\"n\">", HtmlPhase(r.handler_us),
        "</td><td class=\"n\">", HtmlPhase(r.answer_us),
        "</td><td class=\"n\">", HtmlPhase(r.total_us), "</td><td class=\"n\">",
        r.request_bytes, "</td><td>", r.TraceIdHex(), "</td></tr>\n");
  }
  out->append("</table>\n</body></html>\n");
}

}  // namespace

void InstallRpczPage(std::shared_ptr<ServerView> view,
                     absl::flat_hash_map<std::string, HttpPage>* pages) {
  (*pages)["/rpcz"] = [view](const HttpServerRequest& request,
                             HttpReply* reply) {
    RpczQuery query;
    absl::Status valid = ParseQuery(request, &query);
    if (!valid.ok()) {
      reply->status = HttpStatusFromCode(valid.code());
      reply->content_type = "application/json";
      reply->body = JsonErrorBody(valid);
      return;
    }
    const RpczStore& store = view->shared().rpcz;
    std::vector<RpczRecord> calls;
    for (RpczRecord& r : store.Snapshot()) {
      if (calls.size() >= query.limit) break;
      if (r.total_us < query.min_us) continue;
      if (query.errors_only && r.code == absl::StatusCode::kOk) continue;
      calls.push_back(std::move(r));
    }
    if (query.json) {
      reply->content_type = "application/json";
      RenderJson(store, calls, &reply->body);
    } else {
      reply->content_type = "text/html; charset=utf-8";
      RenderHtml(store, *view, calls, &reply->body);
    }
  };
}

}  // namespace mrpc
