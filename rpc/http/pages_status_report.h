// The report /status renders (rpc/http/pages_status.h): computed once from
// a ServerView, then written as HTML (pages_status_html.cc) or JSON
// (pages_status_json.cc).
//
// Internal to the page. Plain values, any thread.
#ifndef MRPC_RPC_HTTP_PAGES_STATUS_REPORT_H_
#define MRPC_RPC_HTTP_PAGES_STATUS_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "rpc/method_stats.h"
#include "rpc/server.h"
#include "rpc/server_view.h"

namespace mrpc::status_page {

// What this binary was built with: the page says whether it is looking at
// a debug or sanitizer build before anyone reads its latencies.
struct BuildInfo {
  std::string compiler;
  bool ndebug = false;
  std::vector<std::string> sanitizers;
};

const BuildInfo& Build();

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

// Everything the page shows, computed once for either form. The rows point
// into `methods` and `loops`: a Report moves (the vectors keep their
// buffers) but is not copied.
struct Report {
  Report() = default;
  Report(Report&&) = default;
  Report& operator=(Report&&) = default;
  Report(const Report&) = delete;
  Report& operator=(const Report&) = delete;

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

Report MakeReport(const ServerView& view, absl::Time now);

// "2026-01-02T03:04:05Z".
std::string UtcTime(absl::Time t);

std::string RenderJson(const Report& r);
std::string RenderHtml(const Report& r);

}  // namespace mrpc::status_page

#endif  // MRPC_RPC_HTTP_PAGES_STATUS_REPORT_H_
