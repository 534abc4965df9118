#include "rpc/http/pages_status.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rpc/http/pages_status_report.h"

namespace mrpc {
namespace status_page {
namespace {

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

}  // namespace

const BuildInfo& Build() {
  static const BuildInfo* const build = new BuildInfo(TheBuild());
  return *build;
}

// Upper bound of the slowest non-empty bucket (the open last bucket: its

namespace {

// lower bound); 0 with no calls.
double MaxBucketUs(const MethodSnapshot& s) {
  for (int i = LatencyBuckets::kCount - 1; i >= 0; --i) {
    if (s.buckets[i] == 0) continue;
    const int bound = i == LatencyBuckets::kBounded ? i - 1 : i;
    return static_cast<double>(LatencyBuckets::UpperBoundUs(bound));
  }
  return 0;
}

}  // namespace

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

}  // namespace status_page

std::string StatusHtml(const ServerView& view, absl::Time now) {
  return status_page::RenderHtml(status_page::MakeReport(view, now));
}

std::string StatusJson(const ServerView& view, absl::Time now) {
  return status_page::RenderJson(status_page::MakeReport(view, now));
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