// OutlierDetector: takes a failing backend out of rotation. After
// `consecutive_failures` failed calls in a row a backend is ejected for
// base_ejection_time x 2^(ejections in a row - 1), capped at
// max_ejection_time; when its time is up it is back in rotation, and one
// more failure in a row ejects it again for twice as long (exponential
// back-in). A success resets the failure count, and a backend that has
// served twice max_ejection_time without being ejected starts over at
// the base time. At most max_ejection_percent of the backends (at least one)
// are ejected at once, and the channel still uses an ejected backend when
// no other one is ready.
//
// Internal (rpc/channel.cc). Not thread-safe: used on the channel's loop,
// with the loop's clock in milliseconds.
#ifndef MRPC_RPC_CLUSTER_OUTLIER_DETECTOR_H_
#define MRPC_RPC_CLUSTER_OUTLIER_DETECTOR_H_

#include <cstdint>

#include "absl/time/time.h"
#include "rpc/cluster_options.h"

namespace mrpc {

// One backend's health, as the detector keeps it.
struct BackendHealth {
  int consecutive_failures = 0;
  int ejections = 0;             // In a row.
  int64_t ejected_until_ms = 0;  // 0: in rotation.
  int64_t last_ejected_ms = 0;
  bool ejected(int64_t now_ms) const { return ejected_until_ms > now_ms; }
};

class OutlierDetector {
 public:
  explicit OutlierDetector(const OutlierOptions& options) : options_(options) {}

  void OnSuccess(BackendHealth* health) const {
    health->consecutive_failures = 0;
  }
  // Records a failure; returns true if it ejects the backend now.
  // `ejected_now` and `backends`: how many are ejected already, of how many.
  bool OnFailure(BackendHealth* health, int64_t now_ms, int ejected_now,
                 int backends) const;

 private:
  const OutlierOptions options_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_OUTLIER_DETECTOR_H_
