#include "rpc/cluster/outlier_detector.h"

#include <algorithm>

namespace mrpc {

bool OutlierDetector::OnFailure(BackendHealth* health, int64_t now_ms,
                                int ejected_now, int backends) const {
  ++health->consecutive_failures;
  if (options_.consecutive_failures <= 0 || health->ejected(now_ms) ||
      health->consecutive_failures < options_.consecutive_failures) {
    return false;
  }
  const int allowed =
      std::max(1, backends * options_.max_ejection_percent / 100);
  if (ejected_now >= allowed) return false;
  const int64_t max_ms = absl::ToInt64Milliseconds(options_.max_ejection_time);
  // A backend that stayed in rotation for a whole max_ejection_time since
  // its last ejection starts over at the base time.
  if (health->ejections > 0 && now_ms - health->last_ejected_ms > 2 * max_ms) {
    health->ejections = 0;
  }
  ++health->ejections;
  int64_t ms = absl::ToInt64Milliseconds(options_.base_ejection_time);
  for (int i = 1; i < health->ejections && ms < max_ms; ++i) ms *= 2;
  ms = std::min(ms, max_ms);
  health->ejected_until_ms = now_ms + ms;
  health->last_ejected_ms = now_ms;
  // Back in rotation, one more failure in a row ejects it again.
  health->consecutive_failures = options_.consecutive_failures - 1;
  return true;
}

}  // namespace mrpc
