#include "net/test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mrpc::testing {

absl::StatusOr<RawClient> RawClient::Connect(const InetAddress& server,
                                             absl::Duration timeout,
                                             int receive_buffer) {
  absl::StatusOr<Socket> socket = Socket::CreateTcp(server.family());
  if (!socket.ok()) return socket.status();
  if (receive_buffer > 0 &&
      ::setsockopt(socket->fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                   sizeof receive_buffer) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt SO_RCVBUF");
  }
  const int err = socket->Connect(server);
  if (err != 0 && err != EINPROGRESS) {
    return absl::ErrnoToStatus(err,
                               absl::StrCat("connect ", server.ToString()));
  }
  struct pollfd pfd = {socket->fd(), POLLOUT, 0};
  if (::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) !=
      1) {
    return absl::DeadlineExceededError("connect timed out");
  }
  if (const int pending = socket->PendingError(); pending != 0) {
    return absl::ErrnoToStatus(pending,
                               absl::StrCat("connect ", server.ToString()));
  }
  absl::StatusOr<InetAddress> local = socket->LocalAddress();
  if (!local.ok()) return local.status();
  return RawClient(std::move(*socket), *local);
}

bool RawClient::Poll(short events, absl::Duration timeout) {
  struct pollfd pfd = {socket_.fd(), events, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  } while (rc < 0 && errno == EINTR);
  return rc == 1;
}

absl::Status RawClient::Write(absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(socket_.fd(), data.data() + done,
                             data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += n;
    } else if (n < 0 && errno == EAGAIN) {
      if (!Poll(POLLOUT, absl::Seconds(10))) {
        return absl::DeadlineExceededError("write blocked for 10 s");
      }
    } else if (n < 0 && errno != EINTR) {
      return absl::ErrnoToStatus(errno, "send");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawClient::ReadExactly(size_t n,
                                                   absl::Duration timeout) {
  std::string data(n, '\0');
  size_t got = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (got < n) {
    const ssize_t r = ::recv(socket_.fd(), data.data() + got, n - got, 0);
    if (r > 0) {
      got += r;
    } else if (r == 0) {
      return absl::UnavailableError(
          absl::StrCat("peer closed after ", got, " of ", n, " bytes"));
    } else if (errno == EAGAIN) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration() || !Poll(POLLIN, left)) {
        return absl::DeadlineExceededError(
            absl::StrCat("read ", got, " of ", n, " bytes before the timeout"));
      }
    } else if (errno != EINTR) {
      return absl::ErrnoToStatus(errno, "recv");
    }
  }
  return data;
}

absl::Status RawClient::WaitForClose(absl::Duration timeout,
                                     std::string* drained) {
  const absl::Time deadline = absl::Now() + timeout;
  char chunk[65536];
  for (;;) {
    const ssize_t r = ::recv(socket_.fd(), chunk, sizeof chunk, 0);
    if (r == 0) return absl::OkStatus();
    if (r > 0) {
      if (drained == nullptr) {
        return absl::FailedPreconditionError(
            "got bytes while waiting for close");
      }
      drained->append(chunk, r);
      continue;
    }
    if (errno == ECONNRESET) return absl::OkStatus();
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return absl::ErrnoToStatus(errno, "recv");
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || !Poll(POLLIN, left)) {
      return absl::DeadlineExceededError("peer did not close in time");
    }
  }
}

std::string LengthPrefixed(absl::string_view payload) {
  const uint32_t n = static_cast<uint32_t>(payload.size());
  std::string frame = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  frame.append(payload.data(), payload.size());
  return frame;
}

int CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // The directory stream's own fd.
}

EventLoop* StartOrDie(EventLoopThread* thread) {
  absl::StatusOr<EventLoop*> loop = thread->Start();
  CHECK(loop.ok()) << loop.status();
  return *loop;
}

FdExhaustion::FdExhaustion(int spare) {
  CHECK_GE(spare, 0);
  ::getrlimit(RLIMIT_NOFILE, &saved_);
  int highest = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) highest = fd;
  }
  struct rlimit low = saved_;
  // Room for `spare` above the highest fd, so there are at least that many
  // fillers to give back.
  low.rlim_cur = highest + 1 + spare;
  CHECK_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      CHECK_EQ(errno, EMFILE);
      break;
    }
    fillers_.push_back(fd);
  }
  for (int i = 0; i < spare; ++i) {
    ::close(fillers_.back());
    fillers_.pop_back();
  }
}

FdExhaustion::~FdExhaustion() {
  for (int fd : fillers_) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved_);
}

int PickUnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  PCHECK(fd >= 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  PCHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  PCHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

absl::Duration ProcessCpuTime() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

LogCapture::LogCapture(Filter keep) : keep_(std::move(keep)) {
  google::AddLogSink(this);
}

LogCapture::~LogCapture() { google::RemoveLogSink(this); }

void LogCapture::send(google::LogSeverity severity, const char* full_filename,
                      const char* base_filename, int line,
                      const google::LogMessageTime& time, const char* message,
                      size_t message_len) {
  const absl::string_view text(message, message_len);
  if (keep_ && !keep_(severity, text)) return;
  MutexLock lock(&mutex_);
  lines_.push_back({severity, std::string(text)});
}

std::vector<LogCapture::Line> LogCapture::Lines() {
  MutexLock lock(&mutex_);
  return lines_;
}

std::vector<std::string> LogCapture::Texts() {
  MutexLock lock(&mutex_);
  std::vector<std::string> texts;
  texts.reserve(lines_.size());
  for (const Line& line : lines_) texts.push_back(line.text);
  return texts;
}

}  // namespace mrpc::testing
