#include "rpc/cluster/system_lookup.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>

#include <deque>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

class LookupThread {
 public:
  // The thread, started on first use; RESOURCE_EXHAUSTED if it cannot be
  // (a later call tries again).
  static absl::StatusOr<LookupThread*> Get() {
    static Mutex* const mu = new Mutex;
    static LookupThread* instance = nullptr;
    MutexLock lock(mu);
    if (instance != nullptr) return instance;
    auto* thread = new LookupThread;
    try {
      std::thread(&LookupThread::Run, thread).detach();
    } catch (const std::system_error& e) {
      delete thread;
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot start the DNS lookup thread: ", e.what()));
    }
    instance = thread;  // Never freed: the thread runs for the process.
    return instance;
  }

  void Post(Functor task) {
    MutexLock lock(&mutex_);
    tasks_.push_back(std::move(task));
    cv_.Signal();
  }

 private:
  void Run() {
    for (;;) {
      Functor task;
      {
        MutexLock lock(&mutex_);
        while (tasks_.empty()) cv_.Wait(&mutex_);
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  Mutex mutex_;
  CondVar cv_;
  std::deque<Functor> tasks_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

bool LoopMailbox::Post(Functor task) {
  MutexLock lock(&mutex_);
  if (loop_ == nullptr) return false;
  loop_->QueueInLoop(std::move(task));
  return true;
}

void LoopMailbox::Close() {
  MutexLock lock(&mutex_);
  loop_ = nullptr;
}

absl::StatusOr<std::vector<InetAddress>> LookupHost(const std::string& host,
                                                    uint16_t port, bool ipv6) {
  struct addrinfo hints = {};
  hints.ai_family = ipv6 ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_STREAM;  // One entry per address, not per type.
  struct addrinfo* results = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &results);
  if (rc != 0) {
    const std::string what =
        absl::StrCat("cannot resolve '", host, "': ", ::gai_strerror(rc));
    switch (rc) {
      case EAI_NONAME:
#ifdef EAI_NODATA
      case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
      case EAI_ADDRFAMILY:
#endif
        return absl::NotFoundError(what);
      case EAI_MEMORY:
        return absl::ResourceExhaustedError(what);
      case EAI_SYSTEM:
        return absl::ErrnoToStatus(errno, what);
      default:  // EAI_AGAIN, EAI_FAIL, ...
        return absl::UnavailableError(what);
    }
  }
  std::vector<InetAddress> addresses;
  for (const struct addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      struct sockaddr_in a = *reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      a.sin_port = htons(port);
      addresses.emplace_back(a);
    } else if (ai->ai_family == AF_INET6) {
      struct sockaddr_in6 a =
          *reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      a.sin6_port = htons(port);
      addresses.emplace_back(a);
    }
  }
  ::freeaddrinfo(results);
  if (addresses.empty()) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve '", host, "': no IP addresses"));
  }
  return addresses;
}

absl::Status LookupHostAsync(std::string host, uint16_t port, bool ipv6,
                             std::shared_ptr<LoopMailbox> mailbox,
                             LookupCallback done) {
  absl::StatusOr<LookupThread*> thread = LookupThread::Get();
  if (!thread.ok()) return thread.status();
  (*thread)->Post([host = std::move(host), port, ipv6,
                   mailbox = std::move(mailbox),
                   done = std::move(done)]() mutable {
    absl::StatusOr<std::vector<InetAddress>> result =
        LookupHost(host, port, ipv6);
    mailbox->Post([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  });
  return absl::OkStatus();
}

}  // namespace mrpc
