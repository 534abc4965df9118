#include "net/poller.h"

#include <errno.h>
#include <glog/logging.h>
#include <unistd.h>

#include "net/io_channel.h"

namespace mrpc {

absl::StatusOr<std::unique_ptr<Poller>> Poller::Create() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  return std::unique_ptr<Poller>(new Poller(fd));
}

Poller::Poller(int epoll_fd) : epoll_fd_(epoll_fd), events_(64) {}

Poller::~Poller() { ::close(epoll_fd_); }

void Poller::Poll(int timeout_ms, std::vector<IoChannel*>* active) {
  const int n = ::epoll_wait(epoll_fd_, events_.data(),
                             static_cast<int>(events_.size()), timeout_ms);
  if (n < 0) {
    if (errno != EINTR) PLOG(ERROR) << "epoll_wait";
    return;
  }
  for (int i = 0; i < n; ++i) {
    auto* channel = static_cast<IoChannel*>(events_[i].data.ptr);
    channel->set_revents(events_[i].events);
    active->push_back(channel);
  }
  // A full batch suggests more are ready: take more next time.
  if (static_cast<size_t>(n) == events_.size()) events_.resize(n * 2);
}

void Poller::UpdateChannel(IoChannel* channel) {
  if (!channel->in_poller()) {
    if (channel->IsNoneEvent()) return;
    Control(EPOLL_CTL_ADD, channel);
    channel->set_in_poller(true);
    ++num_channels_;
  } else if (channel->IsNoneEvent()) {
    RemoveChannel(channel);
  } else {
    Control(EPOLL_CTL_MOD, channel);
  }
}

void Poller::RemoveChannel(IoChannel* channel) {
  if (!channel->in_poller()) return;
  Control(EPOLL_CTL_DEL, channel);
  channel->set_in_poller(false);
  --num_channels_;
}

void Poller::Control(int operation, IoChannel* channel) {
  struct epoll_event event = {};
  event.events = channel->events();
  event.data.ptr = channel;
  if (::epoll_ctl(epoll_fd_, operation, channel->fd(), &event) != 0) {
    // Our bug (a stale or foreign fd), except DEL of an fd already closed.
    if (operation == EPOLL_CTL_DEL) {
      PLOG(ERROR) << "epoll_ctl DEL fd " << channel->fd();
    } else {
      PLOG(FATAL) << "epoll_ctl "
                  << (operation == EPOLL_CTL_ADD ? "ADD" : "MOD") << " fd "
                  << channel->fd() << " events "
                  << IoChannel::EventsToString(event.events);
    }
  }
}

}  // namespace mrpc
