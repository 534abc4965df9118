// IoChannel: one fd's registration with an event loop: the events of interest,
// the events that fired, and the handlers to call. It does not own the fd.
//
// Internal. Loop-owned: every method except the accessors runs on the owning
// loop's thread (asserted). The owner of the fd (Acceptor, TcpConnection,
// Connector, EventLoop) owns its IoChannel and must Remove() it before
// destroying it.
//
// The weak "tie": an owner held by shared_ptr (a TcpConnection) ties itself
// to its channel, and HandleEvent() upgrades the tie for the duration of the
// dispatch, so a close handler that drops the last outside reference cannot
// destroy the connection while its own handler is still on the stack.
#ifndef MRPC_NET_IO_CHANNEL_H_
#define MRPC_NET_IO_CHANNEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace mrpc {

class EventLoop;

class IoChannel {
 public:
  using EventCallback = std::function<void()>;

  // `loop` is not owned and must outlive the channel.
  IoChannel(EventLoop* loop, int fd);
  ~IoChannel();
  IoChannel(const IoChannel&) = delete;
  IoChannel& operator=(const IoChannel&) = delete;

  // Dispatches the fired events to the handlers.
  void HandleEvent();

  void SetReadCallback(EventCallback cb) { read_callback_ = std::move(cb); }
  void SetWriteCallback(EventCallback cb) { write_callback_ = std::move(cb); }
  void SetCloseCallback(EventCallback cb) { close_callback_ = std::move(cb); }
  void SetErrorCallback(EventCallback cb) { error_callback_ = std::move(cb); }

  // Keeps `owner` alive while HandleEvent() runs (see the file comment).
  void Tie(const std::shared_ptr<void>& owner);

  // Edge-triggered registration (EPOLLET): the owner then reads and writes
  // until EAGAIN. Set before the first Enable*().
  void SetEdgeTriggered(bool on) { edge_triggered_ = on; }
  bool edge_triggered() const { return edge_triggered_; }

  void EnableReading();
  void DisableReading();
  void EnableWriting();
  void DisableWriting();
  void DisableAll();
  // Unregisters from the poller; the channel may then be destroyed.
  void Remove();

  bool IsNoneEvent() const { return events_ == 0; }
  bool IsReading() const;
  bool IsWriting() const;

  int fd() const { return fd_; }
  EventLoop* owner_loop() const { return loop_; }
  // The epoll event mask to register (interest plus EPOLLET if chosen).
  uint32_t events() const;
  // For the poller: what fired, and whether the fd is in the epoll set.
  void set_revents(uint32_t revents) { revents_ = revents; }
  bool in_poller() const { return in_poller_; }
  void set_in_poller(bool in) { in_poller_ = in; }

  // "IN OUT HUP" etc., for logs.
  static std::string EventsToString(uint32_t events);

 private:
  void Update();
  void HandleEventWithGuard();

  EventLoop* const loop_;
  const int fd_;
  uint32_t events_ = 0;
  uint32_t revents_ = 0;
  bool edge_triggered_ = false;
  bool in_poller_ = false;
  bool handling_event_ = false;
  bool tied_ = false;
  std::weak_ptr<void> tie_;
  EventCallback read_callback_;
  EventCallback write_callback_;
  EventCallback close_callback_;
  EventCallback error_callback_;
};

}  // namespace mrpc

#endif  // MRPC_NET_IO_CHANNEL_H_
