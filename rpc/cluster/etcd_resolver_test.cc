// EtcdResolver against a real etcd: the initial set, changes made with
// etcdctl, bad values skipped, and an etcd outage (last set kept, then a
// change after etcd is back).
#include "rpc/cluster/etcd_resolver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "tests/etcd_process.h"
#include "tests/fault_proxy.h"

namespace mrpc {
namespace {

using ::mrpc::testing::EtcdProcess;
using ::mrpc::testing::Eventually;
using Backends = std::vector<std::string>;

TEST(ParseEtcdTargetTest, GoodAndBad) {
  absl::StatusOr<EtcdTarget> t =
      ParseEtcdTarget("etcd://127.0.0.1:2379,[::1]:2380/services/kv/");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->endpoints.size(), 2u);
  EXPECT_EQ(t->endpoints[0].ToString(), "127.0.0.1:2379");
  EXPECT_EQ(t->endpoints[1].ToString(), "[::1]:2380");
  EXPECT_EQ(t->path, "/services/kv");
  EXPECT_EQ(t->key_prefix(), "/services/kv/");
  for (const char* bad :
       {"dns:///x", "etcd://", "etcd://127.0.0.1:2379", "etcd:///services/kv",
        "etcd://127.0.0.1:2379/", "etcd://127.0.0.1/services/kv",
        "etcd://etcd.example.com:2379/services/kv",
        "etcd://127.0.0.1:2379,,127.0.0.1:2380/s", "etcd://1.2.3.4:99999/s"}) {
    absl::StatusOr<EtcdTarget> r = ParseEtcdTarget(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "etcd://")) << bad;
  }
}

TEST(ParseEtcdEndpointValueTest, GoodAndBad) {
  absl::StatusOr<InetAddress> a = ParseEtcdEndpointValue(
      R"({"address":"127.0.0.1:9001","pid":12,"zone":"a"})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "127.0.0.1:9001");
  for (const char* bad :
       {"", "127.0.0.1:9001", "{}", R"({"address":9001})",
        R"({"address":"nowhere:1"})", R"({"address":"127.0.0.1"})",
        R"({"address":"127.0.0.1:0"})"}) {
    EXPECT_FALSE(ParseEtcdEndpointValue(bad).ok()) << bad;
  }
}

class EtcdResolverTest : public ::testing::Test {
 protected:
  EtcdResolverTest() : loop_(mrpc::testing::StartOrDie(&thread_)) {}
  ~EtcdResolverTest() override {
    RunInLoopAndWait(loop_, [this] { resolver_.reset(); });
  }

  void StartResolver(const std::string& target,
                     absl::Duration check_interval = absl::Seconds(30)) {
    EtcdResolverOptions options;
    options.client.request_timeout = absl::Seconds(2);
    options.max_backoff = absl::Milliseconds(500);
    options.check_interval = check_interval;
    RunInLoopAndWait(loop_, [&] {
      absl::StatusOr<std::unique_ptr<Resolver>> r =
          NewEtcdResolver(loop_, target, options);
      ASSERT_TRUE(r.ok()) << r.status();
      resolver_ = std::move(*r);
      resolver_->Start(
          [this](absl::StatusOr<std::vector<InetAddress>> backends) {
            MutexLock lock(&mu_);
            if (!backends.ok()) {
              errors_++;
              return;
            }
            Backends names;
            for (const InetAddress& a : *backends)
              names.push_back(a.ToString());
            std::sort(names.begin(), names.end());
            reports_.push_back(names);
          });
    });
  }

  // Waits until the latest report is `want`.
  bool WaitFor(Backends want) {
    std::sort(want.begin(), want.end());
    return Eventually(
        [&] {
          MutexLock lock(&mu_);
          return !reports_.empty() && reports_.back() == want;
        },
        absl::Seconds(15));
  }
  size_t num_reports() {
    MutexLock lock(&mu_);
    return reports_.size();
  }

  static std::string Value(int port) {
    return absl::StrCat(R"({"address":"127.0.0.1:)", port, R"(","pid":1})");
  }

  EventLoopThread thread_{"resolver-test"};
  EventLoop* const loop_;
  std::unique_ptr<Resolver> resolver_;
  Mutex mu_;
  std::vector<Backends> reports_ ABSL_GUARDED_BY(mu_);
  int errors_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(EtcdResolverTest, FollowsPutsAndDeletesAndSkipsBadValues) {
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/a", Value(9001)}).ok());
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/b", Value(9002)}).ok());
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kvx/c", Value(9009)}).ok());
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/bad", "not json"}).ok());
  StartResolver(absl::StrCat("etcd://", etcd.client_address(), "/services/kv"));
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001", "127.0.0.1:9002"}));
  {
    MutexLock lock(&mu_);
    EXPECT_EQ(reports_.size(), 1u);  // The first report is the full set.
  }
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/c", Value(9003)}).ok());
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"}));
  ASSERT_TRUE(etcd.Etcdctl({"del", "/services/kv/a"}).ok());
  ASSERT_TRUE(WaitFor({"127.0.0.1:9002", "127.0.0.1:9003"}));
  // A good key turned bad drops out; the bad ones never show up.
  ASSERT_TRUE(
      etcd.Etcdctl({"put", "/services/kv/b", R"({"address":"nowhere"})"}).ok());
  ASSERT_TRUE(WaitFor({"127.0.0.1:9003"}));
  ASSERT_TRUE(etcd.Etcdctl({"del", "/services/kv/c"}).ok());
  ASSERT_TRUE(WaitFor({}));  // An empty set is a real answer: no backends.
  MutexLock lock(&mu_);
  EXPECT_EQ(errors_, 0);
}

TEST_F(EtcdResolverTest, KeepsTheLastSetWhileEtcdIsDownAndResumes) {
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/a", Value(9001)}).ok());
  mrpc::testing::LogCapture log([](google::LogSeverity, absl::string_view t) {
    return absl::StrContains(t, "serving the last known");
  });
  StartResolver(absl::StrCat("etcd://", etcd.client_address(), "/services/kv"));
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001"}));
  const size_t before = num_reports();
  etcd.Stop();
  // The resolver notices (the watch breaks), says it keeps the last set...
  ASSERT_TRUE(
      Eventually([&] { return !log.Texts().empty(); }, absl::Seconds(10)));
  EXPECT_TRUE(absl::StrContains(log.Texts()[0], "last known 1 backend"))
      << log.Texts()[0];
  // ...and keeps retrying without reporting anything (no empty set).
  EXPECT_EQ(num_reports(), before);
  etcd.Restart();
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/b", Value(9002)}).ok());
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001", "127.0.0.1:9002"}));
  EXPECT_EQ(log.Texts().size(), 1u);  // Once per outage.
  MutexLock lock(&mu_);
  EXPECT_EQ(errors_, 0);
  for (const Backends& report : reports_) EXPECT_FALSE(report.empty());
}

TEST_F(EtcdResolverTest, ASilentlyDeadWatchIsFoundOutByTheCheck) {
  // Between the resolver and etcd, a proxy forgets the watch's connection
  // (its bytes vanish, nothing closes it: a NAT or firewall that lost its
  // state). Only the periodic check, over a new connection, can see that
  // the set changed.
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/a", Value(9001)}).ok());
  absl::StatusOr<std::unique_ptr<testing::FaultProxy>> proxy =
      testing::FaultProxy::Start(etcd.address());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  StartResolver(
      absl::StrCat("etcd://", (*proxy)->address().ToString(), "/services/kv"),
      /*check_interval=*/absl::Milliseconds(300));
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001"}));
  // A change the watch delivers: it is up.
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/c", Value(9003)}).ok());
  ASSERT_TRUE(WaitFor({"127.0.0.1:9001", "127.0.0.1:9003"}));
  (*proxy)->BlackholeExisting();
  ASSERT_TRUE(etcd.Etcdctl({"put", "/services/kv/b", Value(9002)}).ok());
  EXPECT_TRUE(WaitFor({"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"}));
  // The restarted watch follows later changes.
  ASSERT_TRUE(etcd.Etcdctl({"del", "/services/kv/a"}).ok());
  EXPECT_TRUE(WaitFor({"127.0.0.1:9002", "127.0.0.1:9003"}));
}

TEST_F(EtcdResolverTest, UnreachableAtStartReportsOneError) {
  StartResolver(absl::StrCat(
      "etcd://127.0.0.1:", mrpc::testing::PickUnusedPort(), "/services/kv"));
  ASSERT_TRUE(Eventually(
      [&] {
        MutexLock lock(&mu_);
        return errors_ == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(num_reports(), 0u);
}

}  // namespace
}  // namespace mrpc
