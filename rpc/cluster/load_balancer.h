// Load balancing for a cluster channel: which backend gets the next call.
//
//   round_robin      each ready backend in turn.
//   p2c              power of two choices: of two ready backends picked at
//                    random, the one with the lower load, where load is
//                    (calls in flight + 1) x EWMA latency, the latency
//                    decaying toward zero while a backend gets no calls (so
//                    a backend that was slow is tried again now and then).
//   consistent_hash  the backend a key (ClientContext::set_hash_key) maps to
//                    on a hash ring of 160 points per backend; a key whose
//                    backend is not ready goes to the next one on the ring.
//                    Adding or removing one of N backends moves about 1/N of
//                    the keys. The ring hashes the backends' addresses with
//                    a fixed function, so every client maps a key alike.
//
// Internal (rpc/channel.cc). Not thread-safe: the channel uses these on its
// loop. Value types and pure functions, testable without a loop.
#ifndef MRPC_RPC_CLUSTER_LOAD_BALANCER_H_
#define MRPC_RPC_CLUSTER_LOAD_BALANCER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mrpc {

enum class LbPolicy { kRoundRobin, kPowerOfTwoChoices, kConsistentHash };

// "round_robin", "p2c" or "consistent_hash"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LbPolicy> ParseLbPolicy(absl::string_view name);
const char* LbPolicyName(LbPolicy policy);

// A stable 64-bit hash (FNV-1a, then a 64-bit finalizer): the same in every
// process and build, unlike absl::Hash.
uint64_t StableHash(absl::string_view bytes);

// A backend's latency estimate for p2c: an exponentially weighted moving
// average that decays toward zero with the time since its last sample
// (half-life `kDecayHalfLifeMs`).
class LatencyEwma {
 public:
  static constexpr double kWeight = 0.25;  // Of each new sample.
  static constexpr double kDecayHalfLifeMs = 1000;

  void Add(double sample_us, int64_t now_ms);
  // The estimate at `now_ms`; 0 before any sample.
  double Get(int64_t now_ms) const;

 private:
  double value_us_ = 0;
  int64_t updated_ms_ = 0;
};

// p2c's load figure.
inline double P2cLoad(int inflight, double latency_us) {
  return (inflight + 1) * (latency_us + 1.0);
}

// Consistent hashing: backends by name on a ring.
class HashRing {
 public:
  static constexpr int kPointsPerBackend = 160;

  // Rebuilds the ring for `names` (index i = names[i]).
  void Build(const std::vector<std::string>& names);
  // The first backend index at or after `key_hash` on the ring for which
  // `eligible(index)` is true; -1 if none is.
  template <typename Eligible>
  int Find(uint64_t key_hash, Eligible&& eligible) const;

 private:
  size_t LowerBound(uint64_t key_hash) const;
  std::vector<std::pair<uint64_t, int>> points_;  // Sorted by hash.
  size_t backends_ = 0;
};

template <typename Eligible>
int HashRing::Find(uint64_t key_hash, Eligible&& eligible) const {
  if (points_.empty()) return -1;
  const size_t start = LowerBound(key_hash);
  // Walk at most the whole ring once; most keys stop at the first point.
  std::vector<bool> tried;
  size_t distinct = 0;
  for (size_t n = 0; n < points_.size(); ++n) {
    const int index = points_[(start + n) % points_.size()].second;
    if (eligible(index)) return index;
    if (tried.empty()) tried.resize(backends_);
    if (!tried[index]) {
      tried[index] = true;
      if (++distinct == backends_) return -1;  // None is eligible.
    }
  }
  return -1;
}

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_LOAD_BALANCER_H_
