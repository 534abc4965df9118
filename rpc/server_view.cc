#include "rpc/server_view.h"

#include <utility>

#include "absl/time/clock.h"
#include "rpc/server_shared.h"

namespace mrpc {

ServerView::ServerView(std::shared_ptr<ServerShared> shared)
    : shared_(std::move(shared)), start_time_(absl::Now()) {}

std::string ServerView::address() const {
  MutexLock lock(&mutex_);
  return address_;
}

void ServerView::SetAddress(std::string address) {
  MutexLock lock(&mutex_);
  address_ = std::move(address);
}

void ServerView::SetSources(Sources sources) {
  MutexLock lock(&mutex_);
  sources_ = std::move(sources);
}

void ServerView::ClearSources() {
  MutexLock lock(&mutex_);
  sources_ = Sources();
}

ServerStats ServerView::stats() const {
  {
    MutexLock lock(&mutex_);
    if (sources_.stats) return sources_.stats();
  }
  ServerStats stats;
  shared_->AddCounters(&stats);
  return stats;
}

std::vector<MethodSnapshot> ServerView::methods() const {
  return shared_->SnapshotMethods();
}

std::vector<LoopView> ServerView::loops() const {
  MutexLock lock(&mutex_);
  if (sources_.loops) return sources_.loops();
  return {};
}

void ServerView::Sample(absl::Time now) {
  StatsSample sample;
  sample.time = now;
  sample.methods = methods();
  sample.stats = stats();
  for (const LoopView& loop : loops()) {
    sample.loop_busy_ns.emplace_back(loop.name, loop.busy_ns);
  }
  window_.Add(std::move(sample));
}

bool ServerView::serving() const { return !draining(); }

bool ServerView::draining() const {
  return shared_->draining.load(std::memory_order_relaxed);
}

}  // namespace mrpc
