// Poller: the epoll instance of one event loop.
//
// Internal. Loop-owned: all methods run on the owning loop's thread. The
// epoll_event's data pointer is the IoChannel itself, so dispatch needs no map.
#ifndef MRPC_NET_POLLER_H_
#define MRPC_NET_POLLER_H_

#include <sys/epoll.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace mrpc {

class IoChannel;

class Poller {
 public:
  static absl::StatusOr<std::unique_ptr<Poller>> Create();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Waits up to `timeout_ms` (-1: forever) and appends the channels with
  // fired events (their revents set) to *active.
  void Poll(int timeout_ms, std::vector<IoChannel*>* active);
  // Adds, modifies or (when it wants no events) removes the registration.
  void UpdateChannel(IoChannel* channel);
  void RemoveChannel(IoChannel* channel);
  int num_channels() const { return num_channels_; }

 private:
  explicit Poller(int epoll_fd);
  void Control(int operation, IoChannel* channel);

  const int epoll_fd_;
  int num_channels_ = 0;
  std::vector<struct epoll_event> events_;
};

}  // namespace mrpc

#endif  // MRPC_NET_POLLER_H_
