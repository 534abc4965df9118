#include "net/memory_budget.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>

#include "absl/time/time.h"
#include "net/event_loop.h"

namespace mrpc {

void TrimFreedMemorySoon(EventLoop* loop) {
  // Each loop is one thread: the flag is per loop.
  static thread_local bool pending = false;
  if (pending) return;
  pending = true;
  loop->RunAfter(absl::Milliseconds(100), [] {
    pending = false;
    ::malloc_trim(0);
  });
}

size_t MemoryBudget::DefaultLimit() {
  constexpr size_t kMin = size_t{256} << 20;
  constexpr size_t kMax = size_t{4} << 30;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return kMin;
  const size_t physical = static_cast<size_t>(pages) *
                          static_cast<size_t>(page_size);
  return std::clamp(physical / 8, kMin, kMax);
}

}  // namespace mrpc
