#include "tests/fault_proxy.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "net/event_loop.h"

namespace mrpc::testing {
namespace {

struct Chunk {
  int64_t due_ns;
  std::string bytes;
};

// One proxied connection: the client's socket and ours to the server, and
// the bytes in flight each way.
struct Pair {
  Socket side[2];  // [kToServer] reads the client, [kToClient] the server.
  std::deque<Chunk>
      queue[2];  // Bytes read from side[d], to write to the other.
  bool dead = false;
  bool blackholed = false;  // Bytes are read and held, never passed on.
};

}  // namespace

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(
    const InetAddress& upstream) {
  absl::StatusOr<Socket> listener = Socket::CreateTcp(AF_INET);
  if (!listener.ok()) return listener.status();
  absl::Status status = listener->SetReuseAddr(true);
  if (status.ok()) status = listener->Bind(InetAddress::Loopback(0));
  if (status.ok()) status = listener->Listen(128);
  if (!status.ok()) return status;
  absl::StatusOr<InetAddress> address = listener->LocalAddress();
  if (!address.ok()) return address.status();
  const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) return absl::ErrnoToStatus(errno, "eventfd");
  return std::unique_ptr<FaultProxy>(
      new FaultProxy(std::move(*listener), *address, upstream, wake_fd));
}

FaultProxy::FaultProxy(Socket listener, const InetAddress& address,
                       const InetAddress& upstream, int wake_fd)
    : listener_(std::move(listener)),
      address_(address),
      upstream_(upstream),
      wake_fd_(wake_fd) {
  thread_ = std::thread([this] { Run(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  Wake();
  thread_.join();
  ::close(wake_fd_);
}

void FaultProxy::Wake() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void FaultProxy::SetDelay(Direction direction, absl::Duration delay) {
  delay_ns_[direction] = absl::ToInt64Nanoseconds(delay);
  Wake();
}

void FaultProxy::SetStalled(Direction direction, bool stalled) {
  stalled_[direction] = stalled;
  Wake();
}

void FaultProxy::BlackholeExisting() {
  ++blackhole_requests_;
  Wake();
}

void FaultProxy::SetDropping(Direction direction, bool dropping) {
  dropping_[direction] = dropping;
  Wake();
}

void FaultProxy::CutAll(bool reset) {
  cut_reset_ = reset;
  cut_requests_.fetch_add(1);
  Wake();
}

void FaultProxy::Run() {
  std::vector<std::unique_ptr<Pair>> pairs;
  int cuts_done = 0;
  int blackholes_done = 0;
  char buffer[65536];
  while (!stop_.load()) {
    const int64_t now = MonotonicNanos();
    // Poll: the listener, the wake-up fd, and every side (readable always:
    // a stalled direction still reads and holds; writable when due bytes
    // wait).
    std::vector<struct pollfd> fds;
    fds.push_back({listener_.fd(), POLLIN, 0});
    fds.push_back({wake_fd_, POLLIN, 0});
    int64_t next_due = now + 10000000;  // Look again in 10 ms at most.
    for (auto& pair : pairs) {
      for (int d = 0; d < 2; ++d) {
        short events = POLLIN;
        const std::deque<Chunk>& out =
            pair->queue[1 - d];  // Written to side[d].
        if (!out.empty() && !stalled_[1 - d].load() && !pair->blackholed) {
          if (out.front().due_ns <= now) {
            events |= POLLOUT;
          } else {
            next_due = std::min(next_due, out.front().due_ns);
          }
        }
        fds.push_back({pair->side[d].fd(), events, 0});
      }
    }
    const int timeout_ms = static_cast<int>(
        std::max<int64_t>(0, (next_due - now + 999999) / 1000000));
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      (void)!::read(wake_fd_, &count, sizeof count);
    }

    const int cuts = cut_requests_.load();
    if (cuts != cuts_done) {
      cuts_done = cuts;
      for (auto& pair : pairs) {
        for (Socket& s : pair->side) {
          if (cut_reset_.load()) (void)s.SetLingerZero();
        }
      }
      pairs.clear();  // Closing the sockets cuts both sides.
      open_pairs_ = 0;
      continue;
    }

    const int blackholes = blackhole_requests_.load();
    if (blackholes != blackholes_done) {
      blackholes_done = blackholes;
      for (auto& pair : pairs) pair->blackholed = true;
    }

    // Only the pairs polled above have entries in `fds`; pairs accepted
    // below wait for the next round.
    const size_t polled = pairs.size();
    if (fds[0].revents & POLLIN) {
      for (;;) {
        InetAddress peer;
        int err = 0;
        const int fd = listener_.Accept(&peer, &err);
        if (fd < 0) break;
        auto pair = std::make_unique<Pair>();
        pair->side[kToServer] = Socket(fd);
        absl::StatusOr<Socket> up = Socket::CreateTcp(upstream_.family());
        if (!up.ok()) continue;
        const int rc = up->Connect(upstream_);
        if (rc != 0 && rc != EINPROGRESS) continue;  // Upstream refused: drop.
        pair->side[kToClient] = std::move(*up);
        pairs.push_back(std::move(pair));
      }
    }

    // fds[2 + 2i + d] is pair i's side d.
    for (size_t i = 0; i < polled; ++i) {
      Pair& pair = *pairs[i];
      for (int d = 0; d < 2 && !pair.dead; ++d) {
        const short revents = fds[2 + 2 * i + d].revents;
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::recv(pair.side[d].fd(), buffer, sizeof buffer, 0);
          if (n > 0) {
            if (!dropping_[d].load()) {
              pair.queue[d].push_back({MonotonicNanos() + delay_ns_[d].load(),
                                       std::string(buffer, n)});
            } else {
              dropped_[d] += n;
            }
          } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            pair.dead = true;  // Either side gone: end the pair.
          }
        }
        std::deque<Chunk>& out = pair.queue[1 - d];
        if (!pair.dead && !pair.blackholed && (revents & POLLOUT)) {
          const int64_t t = MonotonicNanos();
          while (!out.empty() && out.front().due_ns <= t &&
                 !stalled_[1 - d].load()) {
            Chunk& chunk = out.front();
            const ssize_t n = ::send(pair.side[d].fd(), chunk.bytes.data(),
                                     chunk.bytes.size(), MSG_NOSIGNAL);
            if (n < 0) {
              if (errno != EAGAIN && errno != EINTR) pair.dead = true;
              break;
            }
            chunk.bytes.erase(0, n);
            if (!chunk.bytes.empty()) break;
            out.pop_front();
          }
        }
      }
    }
    pairs.erase(
        std::remove_if(pairs.begin(), pairs.end(),
                       [](const std::unique_ptr<Pair>& p) { return p->dead; }),
        pairs.end());
    open_pairs_ = static_cast<int>(pairs.size());
  }
}

}  // namespace mrpc::testing
