#include "net/io_channel.h"

#include <glog/logging.h>
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"

namespace mrpc {

IoChannel::IoChannel(EventLoop* loop, int fd) : loop_(loop), fd_(fd) {}

IoChannel::~IoChannel() {
  CHECK(!handling_event_) << "channel fd " << fd_
                          << " destroyed in its handler";
  CHECK(!in_poller_) << "channel fd " << fd_ << " destroyed while registered";
}

void IoChannel::Tie(const std::shared_ptr<void>& owner) {
  tie_ = owner;
  tied_ = true;
}

uint32_t IoChannel::events() const {
  return events_ | (edge_triggered_ ? EPOLLET : 0u);
}

bool IoChannel::IsReading() const { return events_ & EPOLLIN; }
bool IoChannel::IsWriting() const { return events_ & EPOLLOUT; }

void IoChannel::EnableReading() {
  events_ |= EPOLLIN | EPOLLPRI | EPOLLRDHUP;
  Update();
}

void IoChannel::DisableReading() {
  events_ &= ~(EPOLLIN | EPOLLPRI | EPOLLRDHUP);
  Update();
}

void IoChannel::EnableWriting() {
  events_ |= EPOLLOUT;
  Update();
}

void IoChannel::DisableWriting() {
  events_ &= ~EPOLLOUT;
  Update();
}

void IoChannel::DisableAll() {
  events_ = 0;
  Update();
}

void IoChannel::Update() { loop_->UpdateChannel(this); }

void IoChannel::Remove() {
  events_ = 0;
  loop_->RemoveChannel(this);
}

void IoChannel::HandleEvent() {
  loop_->AssertInLoopThread();
  if (tied_) {
    std::shared_ptr<void> guard = tie_.lock();
    if (guard) HandleEventWithGuard();
    return;
  }
  HandleEventWithGuard();
}

void IoChannel::HandleEventWithGuard() {
  handling_event_ = true;
  // Hang-up with nothing left to read: the peer is gone.
  if ((revents_ & EPOLLHUP) && !(revents_ & EPOLLIN)) {
    if (close_callback_) close_callback_();
  }
  if (revents_ & EPOLLERR) {
    if (error_callback_) error_callback_();
  }
  // EPOLLRDHUP (peer half-closed) is delivered as a read: read() returns 0.
  if (revents_ & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) {
    if (read_callback_) read_callback_();
  }
  if (revents_ & EPOLLOUT) {
    if (write_callback_) write_callback_();
  }
  handling_event_ = false;
}

std::string IoChannel::EventsToString(uint32_t events) {
  std::string text;
  if (events & EPOLLIN) absl::StrAppend(&text, "IN ");
  if (events & EPOLLPRI) absl::StrAppend(&text, "PRI ");
  if (events & EPOLLOUT) absl::StrAppend(&text, "OUT ");
  if (events & EPOLLHUP) absl::StrAppend(&text, "HUP ");
  if (events & EPOLLRDHUP) absl::StrAppend(&text, "RDHUP ");
  if (events & EPOLLERR) absl::StrAppend(&text, "ERR ");
  if (events & EPOLLET) absl::StrAppend(&text, "ET ");
  if (!text.empty()) text.pop_back();
  return text;
}

}  // namespace mrpc
