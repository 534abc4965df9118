#include "rpc/cluster/load_balancer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace mrpc {

absl::StatusOr<LbPolicy> ParseLbPolicy(absl::string_view name) {
  if (name == "round_robin") return LbPolicy::kRoundRobin;
  if (name == "p2c") return LbPolicy::kPowerOfTwoChoices;
  if (name == "consistent_hash") return LbPolicy::kConsistentHash;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown load balancing policy \"", name,
                   "\" (round_robin, p2c or consistent_hash)"));
}

const char* LbPolicyName(LbPolicy policy) {
  switch (policy) {
    case LbPolicy::kRoundRobin:
      return "round_robin";
    case LbPolicy::kPowerOfTwoChoices:
      return "p2c";
    case LbPolicy::kConsistentHash:
      return "consistent_hash";
  }
  return "?";
}

uint64_t StableHash(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a offset basis.
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // FNV's low bits mix poorly for short inputs; finish as splitmix64 does.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void LatencyEwma::Add(double sample_us, int64_t now_ms) {
  const double current = Get(now_ms);
  value_us_ =
      current == 0 ? sample_us : current + kWeight * (sample_us - current);
  updated_ms_ = now_ms;
}

double LatencyEwma::Get(int64_t now_ms) const {
  if (value_us_ == 0) return 0;
  const int64_t idle_ms = now_ms - updated_ms_;
  if (idle_ms <= 0) return value_us_;
  return value_us_ *
         std::exp2(-static_cast<double>(idle_ms) / kDecayHalfLifeMs);
}

void HashRing::Build(const std::vector<std::string>& names) {
  points_.clear();
  backends_ = names.size();
  points_.reserve(names.size() * kPointsPerBackend);
  for (size_t i = 0; i < names.size(); ++i) {
    for (int p = 0; p < kPointsPerBackend; ++p) {
      points_.emplace_back(StableHash(absl::StrCat(names[i], "#", p)),
                           static_cast<int>(i));
    }
  }
  std::sort(points_.begin(), points_.end());
}

size_t HashRing::LowerBound(uint64_t key_hash) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), key_hash,
                             [](const std::pair<uint64_t, int>& p, uint64_t h) {
                               return p.first < h;
                             });
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

}  // namespace mrpc
