// FreeListAllocator: an allocator for std::allocate_shared that keeps each
// thread's last freed blocks of a type for that thread's next allocation of
// it, for objects made and freed once per call (ServerCall). A block comes
// off the list in a few instructions, where malloc and free take about 150
// between them.
//
// Any thread may allocate and free. A block joins the list of the thread
// that frees it: the shared_ptr's last release orders the object's use
// before its reuse, as for malloc. Each list holds at most kMaxFree blocks
// (the rest go back to the heap) and is emptied when its thread exits.
// Under AddressSanitizer every block goes back to the heap, so that a use
// after free is still caught.
#ifndef MRPC_RPC_FREE_LIST_ALLOCATOR_H_
#define MRPC_RPC_FREE_LIST_ALLOCATOR_H_

#include <cstddef>
#include <new>

#include "absl/base/config.h"

namespace mrpc {

template <typename T>
class FreeListAllocator {
 public:
  using value_type = T;
  // Enough for the calls of one batch of input, which end within it.
  static constexpr size_t kMaxFree = 64;

  FreeListAllocator() = default;
  template <typename U>
  FreeListAllocator(const FreeListAllocator<U>&) {}  // NOLINT: rebinding.

  T* allocate(size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                  "blocks come from the default operator new");
#ifndef ABSL_HAVE_ADDRESS_SANITIZER
    if (n == 1) {
      FreeList& list = List();
      if (list.head != nullptr) {
        Block* block = list.head;
        list.head = block->next;
        --list.size;
        return reinterpret_cast<T*>(block);
      }
    }
#endif
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* p, size_t n) {
#ifndef ABSL_HAVE_ADDRESS_SANITIZER
    if (n == 1) {
      FreeList& list = List();
      if (list.size < kMaxFree) {
        Block* block = reinterpret_cast<Block*>(p);
        block->next = list.head;
        list.head = block;
        ++list.size;
        return;
      }
    }
#endif
    ::operator delete(p);
  }

  template <typename U>
  bool operator==(const FreeListAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const FreeListAllocator<U>&) const {
    return false;
  }

 private:
  struct Block {
    Block* next;
  };
  static_assert(sizeof(T) >= sizeof(Block), "a block holds its link");

  struct FreeList {
    Block* head = nullptr;
    size_t size = 0;
    ~FreeList() {
      while (head != nullptr) {
        Block* next = head->next;
        ::operator delete(head);
        head = next;
      }
      // A block freed later in this thread's exit (by another thread-local's
      // destructor) goes straight back to the heap.
      size = kMaxFree;
    }
  };

  static FreeList& List() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace mrpc

#endif  // MRPC_RPC_FREE_LIST_ALLOCATOR_H_
