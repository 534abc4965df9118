// The callback types of the net layer, in one place.
//
// Internal. One-shot work (queued tasks) is absl::AnyInvocable; handlers that
// run many times are std::function (so they can be copied into each
// connection). Unless a comment says otherwise, a callback runs on the event
// loop thread that owns the object it reports on.
#ifndef MRPC_NET_CALLBACKS_H_
#define MRPC_NET_CALLBACKS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/functional/any_invocable.h"

namespace mrpc {

class Buffer;
class TcpConnection;
using TcpConnectionPtr = std::shared_ptr<TcpConnection>;

// A task for an event loop: runs once, on the loop thread.
using Functor = absl::AnyInvocable<void()>;
// A timer's action: runs on the loop thread, once per expiry.
using TimerCallback = absl::AnyInvocable<void()>;

// Identifies a timer for Cancel(). Ids are never reused, so cancelling a
// timer that already fired (or was never valid) is a harmless no-op.
struct TimerId {
  uint64_t value = 0;  // 0: no timer.
  bool valid() const { return value != 0; }
};

// Called when a connection comes up and again when it goes down
// (check conn->connected()).
using ConnectionCallback = std::function<void(const TcpConnectionPtr&)>;
// Called when bytes arrive; the callback consumes what it can from `buffer`
// and leaves a partial message there for next time.
using MessageCallback =
    std::function<void(const TcpConnectionPtr&, Buffer* buffer)>;
// Called when the output buffer has been fully written to the socket.
using WriteCompleteCallback = std::function<void(const TcpConnectionPtr&)>;
// Called when the output buffer grows past the high-water mark.
using HighWaterMarkCallback =
    std::function<void(const TcpConnectionPtr&, size_t buffered_bytes)>;
// Internal: tells the owner (server or client) to drop the connection.
using CloseCallback = std::function<void(const TcpConnectionPtr&)>;

}  // namespace mrpc

#endif  // MRPC_NET_CALLBACKS_H_
