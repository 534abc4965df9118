// PrometheusWriter: builds a page in Prometheus' text exposition format
// 0.0.4 (what /metrics serves). Each family's "# HELP" and "# TYPE" lines
// are written once, and its samples are grouped under them whatever order
// they are added in; label values and HELP text are escaped; a family with
// no samples is left out.
//
// Internal to mrpc. A value type, for one thread at a time.
//
// Example:
//   PrometheusWriter w;
//   w.Add("mrpc_server_requests_total", PrometheusWriter::kCounter,
//         "Requests answered.", {{"method", "Echo"}}, 42);
//   std::string page = w.Finish();
#ifndef MRPC_RPC_HTTP_PROMETHEUS_H_
#define MRPC_RPC_HTTP_PROMETHEUS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace mrpc {

// The Content-Type of the text format.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

class PrometheusWriter {
 public:
  enum Type { kCounter, kGauge, kHistogram };
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // One sample of the family `name` (a counter's name ends in "_total").
  // `type` and `help` are those of the family's first sample. Names must
  // be valid metric and label names (a CHECK: they are ours, not a peer's).
  void Add(absl::string_view name, Type type, absl::string_view help,
           const Labels& labels, double value);
  // A histogram: `bounds` are the buckets' upper bounds in ascending order
  // (without +Inf), `counts` the observations in each bucket, not
  // cumulative, with one more for those above the last bound. Writes the
  // cumulative `_bucket{le=...}` lines, then `_sum` and `_count`.
  void AddHistogram(absl::string_view name, absl::string_view help,
                    const Labels& labels, const std::vector<double>& bounds,
                    const std::vector<uint64_t>& counts, double sum);

  // The page.
  std::string Finish() const;

  // Exposed for tests: the text format's escapes and numbers.
  static std::string EscapeHelp(absl::string_view help);
  static std::string EscapeLabelValue(absl::string_view value);
  static std::string FormatValue(double value);

 private:
  struct Family {
    std::string name;
    Type type;
    std::string help;
    std::string samples;
  };
  Family& FamilyFor(absl::string_view name, Type type, absl::string_view help);
  static void AppendSample(std::string* out, absl::string_view name,
                           const Labels& labels, absl::string_view extra_name,
                           absl::string_view extra_value, double value);

  std::vector<Family> families_;  // In order of first appearance.
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PROMETHEUS_H_
