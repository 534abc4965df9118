// SystemLookup: getaddrinfo (so /etc/hosts, nsswitch and resolv.conf apply)
// off the event loops, on one process-wide background thread started on
// first use, with the answer posted back to a loop.
//
// Internal (rpc/cluster; the dns: resolver without an authority).
// Thread-safe. The thread is never joined (a lookup may block in libc for
// as long as resolv.conf allows); it idles on a condition variable.
//
// Example (on `loop`):
//   auto mailbox = std::make_shared<LoopMailbox>(loop);
//   absl::Status s = LookupHostAsync(
//       "kv.internal", 9001, /*ipv6=*/true, mailbox,
//       [weak](absl::StatusOr<std::vector<InetAddress>> r) {...});  // on loop
//   ...
//   mailbox->Close();   // on the loop, before the owner dies: no more posts
#ifndef MRPC_RPC_CLUSTER_SYSTEM_LOOKUP_H_
#define MRPC_RPC_CLUSTER_SYSTEM_LOOKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/event_loop.h"
#include "net/inet_address.h"
#include "net/sync.h"

namespace mrpc {

// Where a background thread may post tasks while the owner lives: Close()
// (under the same lock the posters take) guarantees that nothing is posted
// to the loop afterwards, so the loop may then be destroyed. Thread-safe.
class LoopMailbox {
 public:
  // `loop` is not owned; it must outlive Close().
  explicit LoopMailbox(EventLoop* loop) : loop_(loop) {}
  LoopMailbox(const LoopMailbox&) = delete;
  LoopMailbox& operator=(const LoopMailbox&) = delete;

  // Queues `task` on the loop unless closed; returns whether it did.
  bool Post(Functor task);
  void Close();

 private:
  Mutex mutex_;
  EventLoop* loop_ ABSL_GUARDED_BY(mutex_);
};

using LookupCallback =
    absl::AnyInvocable<void(absl::StatusOr<std::vector<InetAddress>> result)>;

// Looks `host` up with getaddrinfo on the lookup thread and posts `done`
// with every address found (each with `port`, in getaddrinfo's order) to
// the mailbox's loop; `done` is dropped, not run, if the mailbox is closed
// by then. Lookup errors: NOT_FOUND for an unknown host or one without
// addresses, UNAVAILABLE for a temporary or server failure, other codes
// from errno. Returns RESOURCE_EXHAUSTED (and posts nothing) if the lookup
// thread cannot be started.
absl::Status LookupHostAsync(std::string host, uint16_t port, bool ipv6,
                             std::shared_ptr<LoopMailbox> mailbox,
                             LookupCallback done);

// The same, blocking, on the calling thread.
absl::StatusOr<std::vector<InetAddress>> LookupHost(const std::string& host,
                                                    uint16_t port, bool ipv6);

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_SYSTEM_LOOKUP_H_
