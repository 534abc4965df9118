// RetryBudget: how many retries and backup requests a channel may send, so
// that a failing fleet sees at most about `ratio` extra load, not a retry
// storm. Each call that could be retried (one with more than one server to
// go to) earns `ratio` of a token; each retry or backup request
// spends a whole one; the balance is capped at `burst` (and starts there,
// so a channel's first failures can be retried). With every backend down, a
// channel's attempts per call stay below 1 + ratio + burst / calls.
// The same idea as gRPC's retry throttling and Finagle's RetryBudget.
//
// Internal (rpc/channel.cc). Not thread-safe: used on the channel's loop.
#ifndef MRPC_RPC_CLUSTER_RETRY_BUDGET_H_
#define MRPC_RPC_CLUSTER_RETRY_BUDGET_H_

#include <algorithm>

namespace mrpc {

class RetryBudget {
 public:
  RetryBudget(double ratio, double burst)
      : ratio_(ratio), burst_(burst), tokens_(burst) {}

  // A call started.
  void OnCall() { tokens_ = std::min(burst_, tokens_ + ratio_); }
  // Takes a token for a retry or backup request; false if none is left.
  bool TrySpend() {
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  double tokens() const { return tokens_; }

 private:
  const double ratio_;
  const double burst_;
  double tokens_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_RETRY_BUDGET_H_
