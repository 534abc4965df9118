// The "physical limit" reference: a minimal single-threaded epoll echo
// server for 4-byte big-endian length-prefixed frames, written for raw
// speed and nothing else (no mrpc code, no abstractions, no safety nets
// beyond closing a bad connection). It does the same per-frame work as
// examples/tcp_echo (parse each frame, copy it into an output buffer, one
// write per read), so the difference between the two is the net layer's
// overhead. Level-triggered, one read and one write per event.
//
//   baseline_server [--port=9000]
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace {

constexpr size_t kMaxPayload = 64u << 20;
constexpr size_t kReadChunk = 64 * 1024;

struct Conn {
  int fd;
  std::vector<char> in;  // [in_begin, in_end) unparsed
  size_t in_begin = 0;
  size_t in_end = 0;
  std::vector<char> out;  // [out_begin, out_end) unsent
  size_t out_begin = 0;
  size_t out_end = 0;
  bool writing = false;
};

int g_epoll = -1;
volatile sig_atomic_t g_stop = 0;

void SetEvents(Conn* c, uint32_t events) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.ptr = c;
  epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

void CloseConn(Conn* c) {
  epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  delete c;
}

// Writes what is pending; false if the connection died.
bool Flush(Conn* c) {
  while (c->out_begin < c->out_end) {
    const ssize_t n = send(c->fd, c->out.data() + c->out_begin,
                           c->out_end - c->out_begin, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_begin += n;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  if (c->out_begin == c->out_end) {
    c->out_begin = c->out_end = 0;
    if (c->writing) {
      c->writing = false;
      SetEvents(c, EPOLLIN);
    }
  } else if (!c->writing) {
    c->writing = true;
    SetEvents(c, EPOLLIN | EPOLLOUT);
  }
  return true;
}

void AppendOut(Conn* c, const char* data, size_t n) {
  if (c->out.size() - c->out_end < n) {
    if (c->out_begin > 0) {  // Slide unsent bytes to the front first.
      memmove(c->out.data(), c->out.data() + c->out_begin,
              c->out_end - c->out_begin);
      c->out_end -= c->out_begin;
      c->out_begin = 0;
    }
    if (c->out.size() - c->out_end < n) c->out.resize((c->out_end + n) * 2);
  }
  memcpy(c->out.data() + c->out_end, data, n);
  c->out_end += n;
}

// Reads once, echoes every complete frame; false if the connection ends.
bool HandleRead(Conn* c) {
  if (c->in.size() - c->in_end < kReadChunk) {
    if (c->in_begin > 0) {
      memmove(c->in.data(), c->in.data() + c->in_begin,
              c->in_end - c->in_begin);
      c->in_end -= c->in_begin;
      c->in_begin = 0;
    }
    if (c->in.size() - c->in_end < kReadChunk)
      c->in.resize(c->in_end + kReadChunk);
  }
  const ssize_t n =
      read(c->fd, c->in.data() + c->in_end, c->in.size() - c->in_end);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  c->in_end += n;
  while (c->in_end - c->in_begin >= 4) {
    uint32_t be;
    memcpy(&be, c->in.data() + c->in_begin, 4);
    const uint32_t len = ntohl(be);
    if (len > kMaxPayload) return false;
    if (c->in_end - c->in_begin < 4 + len) break;
    AppendOut(c, c->in.data() + c->in_begin, 4 + len);
    c->in_begin += 4 + len;
  }
  if (c->in_begin == c->in_end) c->in_begin = c->in_end = 0;
  return c->writing || Flush(c);  // While blocked, EPOLLOUT will flush.
}

}  // namespace

int main(int argc, char** argv) {
  int port = 9000;
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "--port=", 7) == 0) port = atoi(argv[i] + 7);
  }
  signal(SIGINT, [](int) { g_stop = 1; });
  signal(SIGTERM, [](int) { g_stop = 1; });

  const int listener =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(port);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, SOMAXCONN) != 0) {
    perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  printf("listening on 0.0.0.0:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the listener.
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, listener, &ev);

  std::vector<struct epoll_event> events(1024);
  while (!g_stop) {
    const int n =
        epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (c == nullptr) {
        for (;;) {
          const int fd =
              accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          auto* conn = new Conn{fd};
          struct epoll_event cev = {};
          cev.events = EPOLLIN;
          cev.data.ptr = conn;
          epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      const uint32_t got = events[i].events;
      bool alive = true;
      if (got & (EPOLLIN | EPOLLHUP | EPOLLERR)) alive = HandleRead(c);
      if (alive && (got & EPOLLOUT)) alive = Flush(c);
      if (!alive) CloseConn(c);
    }
  }
  return 0;
}
