#include "rpc/http/pages_window.h"

namespace mrpc {

void StatsWindow::Add(StatsSample sample) {
  MutexLock lock(&mutex_);
  samples_.push_back(std::move(sample));
  while (samples_.size() > static_cast<size_t>(kSamples)) samples_.pop_front();
}

std::optional<StatsSample> StatsWindow::Base(absl::Time now) const {
  MutexLock lock(&mutex_);
  for (const StatsSample& sample : samples_) {
    if (now - sample.time <= kSpan) return sample;
  }
  return std::nullopt;
}

int StatsWindow::size() const {
  MutexLock lock(&mutex_);
  return static_cast<int>(samples_.size());
}

}  // namespace mrpc
