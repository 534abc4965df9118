#include "rpc/free_list_allocator.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/base/config.h"

namespace mrpc {
namespace {

struct Object {
  explicit Object(int v) : value(v) {}
  int value;
  char bytes[200];
};

std::shared_ptr<Object> Make(int v) {
  return std::allocate_shared<Object>(FreeListAllocator<Object>(), v);
}

#ifndef ABSL_HAVE_ADDRESS_SANITIZER

TEST(FreeListAllocatorTest, ReusesTheBlockJustFreed) {
  const void* first;
  {
    auto a = Make(1);
    first = a.get();
  }
  auto b = Make(2);
  EXPECT_EQ(b.get(), first);
  EXPECT_EQ(b->value, 2);
}

TEST(FreeListAllocatorTest, KeepsAtMostMaxFreeBlocks) {
  constexpr size_t kMax = FreeListAllocator<Object>::kMaxFree;
  std::vector<std::shared_ptr<Object>> held;
  for (size_t i = 0; i < 3 * kMax; ++i) held.push_back(Make(int(i)));
  std::vector<const void*> addresses;
  for (const auto& o : held) addresses.push_back(o.get());
  // The allocations emptied the list; freeing in order, the first kMax
  // join it and the rest go back to the heap.
  held.clear();
  // The next kMax allocations come off the list, last freed first.
  std::vector<std::shared_ptr<Object>> again;
  for (size_t i = 0; i < kMax; ++i) again.push_back(Make(int(i)));
  for (size_t i = 0; i < kMax; ++i) {
    EXPECT_EQ(again[i].get(), addresses[kMax - 1 - i]) << i;
  }
}

TEST(FreeListAllocatorTest, ABlockFreedOnAnotherThreadJoinsThatThreadsList) {
  auto made_here = Make(7);
  const void* address = made_here.get();
  const void* reused_there = nullptr;
  std::thread other([&, held = std::move(made_here)]() mutable {
    held.reset();  // Freed on `other`: its list, not this thread's.
    reused_there = Make(8).get();
  });
  other.join();  // Its list is emptied (freed) as it exits.
  EXPECT_EQ(reused_there, address);
}

#endif  // ABSL_HAVE_ADDRESS_SANITIZER

// In every build: objects from the list are whole, distinct and live
// together (a use after free here is ASan's to catch).
TEST(FreeListAllocatorTest, LiveObjectsAreDistinct) {
  std::vector<std::shared_ptr<Object>> live;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) live.push_back(Make(i));
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ(live[size_t(i)]->value, i);
      live[size_t(i)]->bytes[199] = char(i);
    }
    for (size_t i = 1; i < live.size(); ++i) {
      EXPECT_NE(live[i].get(), live[i - 1].get());
    }
    live.clear();
  }
}

}  // namespace
}  // namespace mrpc
