// EtcdClient against a real etcd (tests/etcd_process.h), and against a fake
// HTTP server in the test that answers with hostile bytes.
#include "rpc/cluster/etcd_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "tests/etcd_process.h"

namespace mrpc {
namespace {

using ::mrpc::testing::EtcdProcess;
using ::mrpc::testing::Eventually;

// Events a watch delivered, and how it ended; filled on the loop.
struct WatchLog {
  Mutex mu;
  std::vector<EtcdEvent> events ABSL_GUARDED_BY(mu);
  std::optional<absl::Status> end ABSL_GUARDED_BY(mu);

  size_t size() {
    MutexLock lock(&mu);
    return events.size();
  }
  bool ended() {
    MutexLock lock(&mu);
    return end.has_value();
  }
};

class EtcdClientTest : public ::testing::Test {
 protected:
  EtcdClientTest() : loop_(mrpc::testing::StartOrDie(&thread_)) {}
  ~EtcdClientTest() override {
    RunInLoopAndWait(loop_, [this] {
      watch_.reset();
      client_.reset();
    });
  }

  void MakeClient(std::vector<InetAddress> endpoints,
                  EtcdClientOptions options = {}) {
    RunInLoopAndWait(loop_, [&] {
      client_ = std::make_unique<EtcdClient>(loop_, endpoints, options);
    });
  }

  // Runs `start` on the loop with a callback and waits for its result.
  template <typename T, typename F>
  T Call(F start) {
    Notification done;
    std::optional<T> result;
    RunInLoopAndWait(loop_, [&] {
      start([&](T r) {
        result.emplace(std::move(r));
        done.Notify();
      });
    });
    CHECK(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return std::move(*result);
  }

  absl::Status Put(const std::string& key, const std::string& value,
                   int64_t lease = 0) {
    return Call<absl::Status>([&](auto cb) {
      client_->Put(key, value, lease, std::move(cb));
    });
  }
  absl::StatusOr<EtcdRangeResult> Range(const std::string& prefix) {
    return Call<absl::StatusOr<EtcdRangeResult>>(
        [&](auto cb) { client_->Range(prefix, std::move(cb)); });
  }

  void StartWatch(const std::string& prefix, int64_t revision, WatchLog* log) {
    RunInLoopAndWait(loop_, [&] {
      watch_ = client_->Watch(
          prefix, revision,
          [log](const EtcdWatchUpdate& update) {
            MutexLock lock(&log->mu);
            for (const EtcdEvent& e : update.events) log->events.push_back(e);
          },
          [log](absl::Status status) {
            MutexLock lock(&log->mu);
            log->end = status;
          });
    });
  }
  bool WatchCreated() {
    bool created = false;
    RunInLoopAndWait(loop_, [&] { created = watch_ && watch_->created(); });
    return created;
  }

  EventLoopThread thread_{"etcd-test"};
  EventLoop* const loop_;
  // Outlive the watch: it may end (etcd stopping) after a test's locals.
  WatchLog logs_[2];
  std::unique_ptr<EtcdClient> client_;
  std::unique_ptr<EtcdWatch> watch_;
};

TEST(EtcdPrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(EtcdPrefixEnd("/a/"), "/a0");
  EXPECT_EQ(EtcdPrefixEnd("a\xff"), "b");
  EXPECT_EQ(EtcdPrefixEnd(""), std::string(1, '\0'));
}

TEST_F(EtcdClientTest, PutRangeDelete) {
  EtcdProcess etcd;
  MakeClient({etcd.address()});
  ASSERT_TRUE(Put("/svc/a", "1").ok());
  ASSERT_TRUE(Put("/svc/b", "2").ok());
  ASSERT_TRUE(Put("/svcx", "outside the prefix").ok());
  absl::StatusOr<EtcdRangeResult> range = Range("/svc/");
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[0].key, "/svc/a");
  EXPECT_EQ(range->kvs[0].value, "1");
  EXPECT_EQ(range->kvs[1].key, "/svc/b");
  EXPECT_GE(range->revision, range->kvs[1].mod_revision);
  ASSERT_TRUE(Call<absl::Status>([&](auto cb) {
                client_->Delete("/svc/a", std::move(cb));
              }).ok());
  range = Range("/svc/");
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].key, "/svc/b");
  // etcdctl sees what the client wrote.
  absl::StatusOr<std::string> out = etcd.Etcdctl({"get", "/svc/b"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "/svc/b\n2\n");
}

TEST_F(EtcdClientTest, LeaseKeepAliveAndExpiry) {
  EtcdProcess etcd;
  MakeClient({etcd.address()});
  absl::StatusOr<int64_t> lease = Call<absl::StatusOr<int64_t>>(
      [&](auto cb) { client_->LeaseGrant(absl::Seconds(1), std::move(cb)); });
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(Put("/lease/k", "v", *lease).ok());
  absl::StatusOr<int64_t> ttl = Call<absl::StatusOr<int64_t>>(
      [&](auto cb) { client_->LeaseKeepAliveOnce(*lease, std::move(cb)); });
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GE(*ttl, 1);
  // No more keepalives: the lease expires and takes the key with it.
  EXPECT_TRUE(Eventually(
      [&] {
        absl::StatusOr<EtcdRangeResult> range = Range("/lease/");
        return range.ok() && range->kvs.empty();
      },
      absl::Seconds(10)));
  ttl = Call<absl::StatusOr<int64_t>>(
      [&](auto cb) { client_->LeaseKeepAliveOnce(*lease, std::move(cb)); });
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 0);

  // Revoking a lease deletes its keys at once.
  lease = Call<absl::StatusOr<int64_t>>(
      [&](auto cb) { client_->LeaseGrant(absl::Seconds(60), std::move(cb)); });
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(Put("/lease/k2", "v", *lease).ok());
  ASSERT_EQ(Range("/lease/")->kvs.size(), 1u);
  ASSERT_TRUE(Call<absl::Status>([&](auto cb) {
                client_->LeaseRevoke(*lease, std::move(cb));
              }).ok());
  EXPECT_TRUE(Range("/lease/")->kvs.empty());
  // An unknown lease is etcd's NOT_FOUND.
  absl::Status revoke = Call<absl::Status>(
      [&](auto cb) { client_->LeaseRevoke(*lease, std::move(cb)); });
  EXPECT_TRUE(absl::IsNotFound(revoke)) << revoke;
}

TEST_F(EtcdClientTest, WatchSeesPutsAndDeletesInOrder) {
  EtcdProcess etcd;
  MakeClient({etcd.address()});
  WatchLog& log = logs_[0];
  StartWatch("/w/", 0, &log);
  ASSERT_TRUE(Eventually([&] { return WatchCreated(); }, absl::Seconds(10)));
  ASSERT_TRUE(Put("/w/a", "1").ok());
  ASSERT_TRUE(Put("/w/b", "2").ok());
  ASSERT_TRUE(Put("/other", "x").ok());
  ASSERT_TRUE(Call<absl::Status>([&](auto cb) {
                client_->Delete("/w/a", std::move(cb));
              }).ok());
  ASSERT_TRUE(Eventually([&] { return log.size() >= 3; }, absl::Seconds(10)));
  MutexLock lock(&log.mu);
  ASSERT_EQ(log.events.size(), 3u);
  EXPECT_EQ(log.events[0].type, EtcdEvent::Type::kPut);
  EXPECT_EQ(log.events[0].kv.key, "/w/a");
  EXPECT_EQ(log.events[0].kv.value, "1");
  EXPECT_EQ(log.events[1].kv.key, "/w/b");
  EXPECT_EQ(log.events[2].type, EtcdEvent::Type::kDelete);
  EXPECT_EQ(log.events[2].kv.key, "/w/a");
  EXPECT_LT(log.events[0].kv.mod_revision, log.events[1].kv.mod_revision);
  EXPECT_LT(log.events[1].kv.mod_revision, log.events[2].kv.mod_revision);
  EXPECT_FALSE(log.end.has_value());
}

TEST_F(EtcdClientTest, WatchResumesFromARevisionAfterEtcdRestarts) {
  EtcdProcess etcd;
  EtcdClientOptions options;
  options.request_timeout = absl::Seconds(3);
  MakeClient({etcd.address()}, options);
  ASSERT_TRUE(Put("/r/a", "1").ok());
  WatchLog& log = logs_[0];
  StartWatch("/r/", 0, &log);
  ASSERT_TRUE(Eventually([&] { return WatchCreated(); }, absl::Seconds(10)));
  ASSERT_TRUE(Put("/r/b", "2").ok());
  ASSERT_TRUE(Eventually([&] { return log.size() == 1; }, absl::Seconds(10)));
  int64_t last;
  {
    MutexLock lock(&log.mu);
    last = log.events[0].kv.mod_revision;
  }
  etcd.Stop();
  ASSERT_TRUE(Eventually([&] { return log.ended(); }, absl::Seconds(10)));
  {
    MutexLock lock(&log.mu);
    EXPECT_TRUE(absl::IsUnavailable(*log.end)) << *log.end;
  }
  // While etcd is down, requests fail fast with UNAVAILABLE.
  EXPECT_TRUE(absl::IsUnavailable(Put("/r/c", "3")));
  etcd.Restart();
  // Written while nobody watched; the resumed watch must deliver it.
  ASSERT_TRUE(Eventually([&] { return Put("/r/c", "3").ok(); },
                         absl::Seconds(10)));
  WatchLog& resumed = logs_[1];
  StartWatch("/r/", last + 1, &resumed);
  ASSERT_TRUE(Eventually([&] { return resumed.size() >= 1; },
                         absl::Seconds(10)));
  MutexLock lock(&resumed.mu);
  ASSERT_EQ(resumed.events.size(), 1u);
  EXPECT_EQ(resumed.events[0].kv.key, "/r/c");
  EXPECT_EQ(resumed.events[0].kv.value, "3");
}

TEST_F(EtcdClientTest, CompactedStartRevisionIsOutOfRange) {
  EtcdProcess etcd;
  MakeClient({etcd.address()});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("/c/k", absl::StrCat(i)).ok());
  const int64_t revision = Range("/c/")->revision;
  ASSERT_TRUE(etcd.Etcdctl({"compaction", absl::StrCat(revision)}).ok());
  WatchLog& log = logs_[0];
  StartWatch("/c/", 2, &log);
  ASSERT_TRUE(Eventually([&] { return log.ended(); }, absl::Seconds(10)));
  MutexLock lock(&log.mu);
  EXPECT_TRUE(absl::IsOutOfRange(*log.end)) << *log.end;
}

TEST_F(EtcdClientTest, FirstEndpointDeadSecondWorks) {
  EtcdProcess etcd;
  const InetAddress dead =
      InetAddress::Loopback(mrpc::testing::PickUnusedPort());
  MakeClient({dead, etcd.address()});
  ASSERT_TRUE(Put("/e/a", "1").ok());
  absl::StatusOr<EtcdRangeResult> range = Range("/e/");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->kvs.size(), 1u);
  std::string current;
  RunInLoopAndWait(loop_, [&] { current = client_->current_endpoint(); });
  EXPECT_EQ(current, etcd.client_address());
  // A watch goes to the endpoint that works too.
  WatchLog& log = logs_[0];
  StartWatch("/e/", 0, &log);
  ASSERT_TRUE(Eventually([&] { return WatchCreated(); }, absl::Seconds(10)));
}

TEST_F(EtcdClientTest, NoEndpointAnswersIsUnavailable) {
  MakeClient({InetAddress::Loopback(mrpc::testing::PickUnusedPort()),
              InetAddress::Loopback(mrpc::testing::PickUnusedPort())});
  EXPECT_TRUE(absl::IsUnavailable(Put("/k", "v")));
}

// ---------------------------------------------------------------------------
// Hostile answers from a fake HTTP server.

// Accepts one connection at a time, reads the request, writes `answer`,
// then closes (or, with `hold`, waits for the client to close). Counts the
// bytes the client let it write.
class FakeServer {
 public:
  FakeServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK_GE(fd_, 0);
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    CHECK_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    CHECK_EQ(::listen(fd_, 8), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~FakeServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  // Serves the next connection with `head`, then `tail` `repeat` times.
  void Serve(std::string head, std::string tail = "", int repeat = 0,
             bool hold = false) {
    if (thread_.joinable()) thread_.join();
    written_ = 0;
    thread_ = std::thread([this, head = std::move(head),
                           answer = std::move(tail), repeat, hold] {
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      char buf[4096];
      (void)::recv(conn, buf, sizeof buf, 0);  // The request: ignored.
      if (!head.empty()) {
        (void)::send(conn, head.data(), head.size(), MSG_NOSIGNAL);
      }
      for (int i = 0; i < repeat; ++i) {
        const ssize_t n =
            ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        written_ += n;
      }
      if (hold) {
        while (::recv(conn, buf, sizeof buf, 0) > 0) {
        }
      }
      ::close(conn);
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  InetAddress address() const { return InetAddress::Loopback(port_); }
  int64_t written() const { return written_.load(); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int64_t> written_{0};
};

class HostileEtcdTest : public EtcdClientTest {
 protected:
  HostileEtcdTest() {
    EtcdClientOptions options;
    options.request_timeout = absl::Seconds(3);
    options.limits.max_body_bytes = 64 << 10;
    MakeClient({server_.address()}, options);
  }
  absl::Status RangeStatus(std::string head, std::string tail = "",
                           int repeat = 0, bool hold = false) {
    server_.Serve(std::move(head), std::move(tail), repeat, hold);
    absl::Status status = Range("/x/").status();
    server_.Join();
    return status;
  }
  FakeServer server_;
};

TEST_F(HostileEtcdTest, GarbageStatusLine) {
  absl::Status s = RangeStatus("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  s = RangeStatus("HTTP/1.1 2x0 OK\r\n\r\n");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(HostileEtcdTest, TruncatedChunk) {
  absl::Status s = RangeStatus(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"kvs\":");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  // Truncated Content-Length body.
  s = RangeStatus("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
}

TEST_F(HostileEtcdTest, ChunkSizeOverflowsOrLies) {
  absl::Status s = RangeStatus(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "ffffffffffffffffffffffff\r\n");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  s = RangeStatus(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "-5\r\nabc\r\n");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  // Says 2 bytes, sends more.
  s = RangeStatus(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}garbage\r\n0\r\n\r\n");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  // A chunk over the body cap (64 KiB here) is refused on its size line.
  s = RangeStatus(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "7fffffff\r\n");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
}

TEST_F(HostileEtcdTest, BodyOverTheCapClosesTheConnection) {
  absl::Status s = RangeStatus(
      "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  // Endless small chunks: the client stops at the cap and closes, so the
  // server cannot push much past it (bounded memory).
  const std::string chunk = absl::StrCat("400\r\n", std::string(1024, ' '),
                                         "\r\n");
  s = RangeStatus("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                  chunk, /*repeat=*/64 << 10, /*hold=*/true);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_LT(server_.written(), int64_t{64} << 20);  // Of 64 MiB offered.
  // Headers that never end.
  s = RangeStatus("HTTP/1.1 200 OK\r\nX: ", std::string(1024, 'a'),
                  /*repeat=*/1024, /*hold=*/true);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
}

TEST_F(HostileEtcdTest, WrongJsonTypes) {
  for (const char* body : {"{\"kvs\":\"not a list\"}",
                           "{\"header\":{\"revision\":[1]}}",
                           "{\"kvs\":[{\"key\":\"!!not base64!!\"}]}",
                           "[1,2,3]", "{\"kvs\":[{\"key\":", "null"}) {
    absl::Status s =
        RangeStatus(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: ",
                                 strlen(body), "\r\n\r\n", body));
    EXPECT_TRUE(absl::IsDataLoss(s)) << body << ": " << s;
  }
}

TEST_F(HostileEtcdTest, ErrorAnswerCarriesEtcdsCode) {
  const std::string body =
      "{\"error\":\"etcdserver: requested lease not found\",\"code\":5,"
      "\"message\":\"etcdserver: requested lease not found\"}";
  absl::Status s = RangeStatus(absl::StrCat(
      "HTTP/1.1 404 Not Found\r\nContent-Length: ", body.size(), "\r\n\r\n",
      body));
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
}

TEST_F(HostileEtcdTest, SilentServerTimesOut) {
  EtcdClientOptions options;
  options.request_timeout = absl::Milliseconds(300);
  MakeClient({server_.address()}, options);
  absl::Status s = RangeStatus("", "", 0, /*hold=*/true);
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
}

TEST_F(HostileEtcdTest, GarbageInAWatchStreamEndsIt) {
  server_.Serve(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "12\r\n{\"result\":\"oops\"}\n\r\n",
      "", 0, /*hold=*/true);
  WatchLog& log = logs_[0];
  StartWatch("/x/", 0, &log);
  ASSERT_TRUE(Eventually([&] { return log.ended(); }, absl::Seconds(10)));
  server_.Join();
  MutexLock lock(&log.mu);
  EXPECT_TRUE(absl::IsDataLoss(*log.end)) << *log.end;
}

}  // namespace
}  // namespace mrpc
