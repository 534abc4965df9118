// Creating loops, loop threads, pools and servers while the process is out
// of file descriptors: each returns RESOURCE_EXHAUSTED naming what it could
// not make, leaks nothing (not even on a partial failure), and works once fds
// are free again. Its own test binary: it lowers RLIMIT_NOFILE, process-wide.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/tcp_server.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

constexpr char kNoFds[] = "Too many open files";  // strerror(EMFILE)

// UBSan's vptr check (--config=asan) probes memory with pipe(2); out of fds
// that fails and it reports a bogus error. It caches the types it has
// checked, so it is shown a loop thread's while fds are free.
void ShowSanitizersALoopThread() {
  EventLoopThread thread("warm-up");
  testing::StartOrDie(&thread);
}

// A loop needs three fds, made in this order; with `spare` fds left, the
// (spare+1)-th is the one that fails.
struct LoopFdCase {
  int spare;
  const char* fd_name;
};

TEST(LoopFdExhaustionTest, EventLoopCreateNamesTheFdItCouldNotMake) {
  const int fds_before = testing::CountOpenFds();
  for (const LoopFdCase& c :
       {LoopFdCase{0, "eventfd"}, LoopFdCase{1, "timerfd"},
        LoopFdCase{2, "epoll"}}) {
    SCOPED_TRACE(c.fd_name);
    {
      testing::FdExhaustion exhausted(c.spare);
      absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
      ASSERT_FALSE(loop.ok());
      EXPECT_EQ(loop.status().code(), absl::StatusCode::kResourceExhausted)
          << loop.status();
      EXPECT_TRUE(absl::StrContains(loop.status().message(), c.fd_name))
          << loop.status();
      EXPECT_TRUE(absl::StrContains(loop.status().message(), kNoFds))
          << loop.status();
      EXPECT_EQ(EventLoop::CurrentThreadLoop(), nullptr);
    }
    // The fds made before the failing one were closed.
    EXPECT_EQ(testing::CountOpenFds(), fds_before);
  }
  {
    // Three are enough.
    testing::FdExhaustion exhausted(3);
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    EXPECT_EQ(EventLoop::CurrentThreadLoop(), loop->get());
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

TEST(LoopFdExhaustionTest, EventLoopThreadStartFailsCleanlyAndCanRetry) {
  ShowSanitizersALoopThread();
  const int fds_before = testing::CountOpenFds();
  {
    EventLoopThread thread("test-loop");
    {
      testing::FdExhaustion exhausted;
      absl::StatusOr<EventLoop*> loop = thread.Start();
      ASSERT_FALSE(loop.ok());
      EXPECT_EQ(loop.status().code(), absl::StatusCode::kResourceExhausted)
          << loop.status();
      EXPECT_TRUE(absl::StrContains(loop.status().message(), "test-loop"))
          << loop.status();
      EXPECT_TRUE(absl::StrContains(loop.status().message(), "eventfd"))
          << loop.status();
    }
    thread.Stop();  // Safe after a failed start: nothing runs.
    absl::StatusOr<EventLoop*> loop = thread.Start();
    ASSERT_TRUE(loop.ok()) << loop.status();
    bool ran = false;
    RunInLoopAndWait(*loop, [&] { ran = (*loop)->IsInLoopThread(); });
    EXPECT_TRUE(ran);
  }
  {
    // Destroyed right after a failed start (no Stop()).
    EventLoopThread thread("test-loop");
    testing::FdExhaustion exhausted;
    EXPECT_FALSE(thread.Start().ok());
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

TEST(LoopFdExhaustionTest, ThreadCreationFailureIsAStatusNotAnException) {
  // Root is exempt from RLIMIT_NPROC, so this only bites as another user.
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores RLIMIT_NPROC";
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NPROC, &saved), 0);
  struct rlimit none = saved;
  none.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_NPROC, &none), 0);
  EventLoopThread thread("no-thread");
  absl::StatusOr<EventLoop*> loop = thread.Start();
  ASSERT_EQ(::setrlimit(RLIMIT_NPROC, &saved), 0);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().code(), absl::StatusCode::kResourceExhausted)
      << loop.status();
  EXPECT_TRUE(absl::StrContains(loop.status().message(), "thread"))
      << loop.status();
  loop = thread.Start();
  EXPECT_TRUE(loop.ok()) << loop.status();
}

TEST(LoopFdExhaustionTest, PoolStopsTheThreadsItStartedWhenOneFails) {
  ShowSanitizersALoopThread();
  const int fds_before = testing::CountOpenFds();
  // Not used: the pool has threads.
  EventLoopThreadPool pool(nullptr, "pool");
  {
    // Enough for the first loop, and for all but the epoll of the second.
    testing::FdExhaustion exhausted(3 + 2);
    const absl::Status status = pool.Start(3);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "pool1")) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "epoll")) << status;
    EXPECT_TRUE(pool.loops().empty());
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
  ASSERT_TRUE(pool.Start(3).ok());
  EXPECT_EQ(pool.loops().size(), 3u);
  pool.Stop();
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

TEST(LoopFdExhaustionTest, TcpServerStartFailsCleanlyAndCanRetry) {
  ShowSanitizersALoopThread();
  const int fds_before = testing::CountOpenFds();
  {
    EventLoopThread base("test-base");
    EventLoop* base_loop = testing::StartOrDie(&base);
    TcpServerOptions options;
    options.name = "srv";
    options.num_threads = 2;
    {
      // No fd at all: the listening socket fails.
      TcpServer server(base_loop, InetAddress::Loopback(0), options);
      testing::FdExhaustion exhausted;
      const absl::Status status = server.Start();
      EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "socket")) << status;
    }  // Destroying a server whose Start() failed is fine.
    EXPECT_EQ(testing::CountOpenFds(), fds_before + 3);  // The base loop's.

    TcpServer server(base_loop, InetAddress::Loopback(0), options);
    {
      // The listening socket, the acceptor's spare fd and the first
      // sub-loop fit; the second sub-loop has its eventfd only.
      testing::FdExhaustion exhausted(2 + 3 + 1);
      const absl::Status status = server.Start();
      EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "srv1")) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "timerfd")) << status;
    }
    EXPECT_EQ(testing::CountOpenFds(), fds_before + 3);

    // Fds are back: the same server starts and serves.
    ASSERT_TRUE(server.Start().ok());
    EXPECT_EQ(server.loops().size(), 2u);
    absl::StatusOr<testing::RawClient> client =
        testing::RawClient::Connect(server.listen_address());
    ASSERT_TRUE(client.ok()) << client.status();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (server.num_connections() < 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(server.num_connections(), 1);
    client->Close();
    server.Stop();
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

}  // namespace
}  // namespace mrpc
