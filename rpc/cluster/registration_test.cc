// Servers registering in a real etcd: the key etcdctl sees, re-registering
// when the lease is lost, deregistering before the server stops serving,
// and a SIGKILLed server's key expiring with its lease.
#include "rpc/cluster/registration.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/cluster/etcd_client.h"
#include "rpc/cluster/etcd_resolver.h"
#include "rpc/server.h"
#include "tests/etcd_process.h"
#include "tests/server_process.h"

namespace mrpc {
namespace {

using ::mrpc::echo::EchoRequest;
using ::mrpc::echo::EchoResponse;
using ::mrpc::testing::EtcdProcess;
using ::mrpc::testing::Eventually;

constexpr char kService[] = "mrpc.test.Registered";

// `etcdctl get --prefix`: key -> value.
std::vector<std::pair<std::string, std::string>> GetPrefix(
    EtcdProcess& etcd, const std::string& prefix) {
  absl::StatusOr<std::string> out = etcd.Etcdctl({"get", "--prefix", prefix});
  CHECK(out.ok()) << out.status();
  std::vector<std::string> lines = absl::StrSplit(*out, '\n', absl::SkipEmpty());
  std::vector<std::pair<std::string, std::string>> kvs;
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    kvs.emplace_back(lines[i], lines[i + 1]);
  }
  return kvs;
}

ServerOptions Options(const EtcdProcess& etcd, const std::string& name) {
  ServerOptions options;
  options.num_threads = 1;
  options.registration.target =
      absl::StrCat("etcd://", etcd.client_address(), "/services/", name);
  options.registration.ttl = absl::Seconds(2);
  return options;
}

TEST(RegistrationTest, ServerKeyIsVisibleToEtcdctlAndGoneAfterShutdown) {
  EtcdProcess etcd;
  Server server(Options(etcd, "echo"));
  ASSERT_TRUE(server.Start("0.0.0.0:0").ok());
  // 0.0.0.0 is published as 127.0.0.1.
  const std::string address = absl::StrCat("127.0.0.1:", server.port());
  ASSERT_TRUE(Eventually([&] { return !GetPrefix(etcd, "/services/echo").empty(); },
                         absl::Seconds(10)));
  auto kvs = GetPrefix(etcd, "/services/echo");
  ASSERT_EQ(kvs.size(), 1u);
  EXPECT_EQ(kvs[0].first, "/services/echo/" + address);
  EXPECT_TRUE(absl::StrContains(kvs[0].second,
                                absl::StrCat("\"pid\":", ::getpid())))
      << kvs[0].second;
  absl::StatusOr<InetAddress> published = ParseEtcdEndpointValue(kvs[0].second);
  ASSERT_TRUE(published.ok()) << kvs[0].second;
  EXPECT_EQ(published->ToString(), address);
  server.Shutdown();
  server.Wait();
  // Deregistration finished before the drain began: nothing to wait for.
  EXPECT_TRUE(GetPrefix(etcd, "/services/echo").empty());
}

TEST(RegistrationTest, BadTargetFailsStartEtcdDownDoesNot) {
  ServerOptions options;
  options.registration.target = "etcd://etcd.example.com:2379/services/x";
  Server bad(options);
  absl::Status status = bad.Start("127.0.0.1:0");
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;

  options.registration.target = absl::StrCat(
      "etcd://127.0.0.1:", mrpc::testing::PickUnusedPort(), "/services/x");
  options.registration.advertise = "not an address";
  Server bad_advertise(options);
  EXPECT_TRUE(absl::IsInvalidArgument(bad_advertise.Start("127.0.0.1:0")));

  options.registration.advertise = "";
  Server down(options);
  ASSERT_TRUE(down.Start("127.0.0.1:0").ok());
  const absl::Time start = absl::Now();
  down.Shutdown();
  down.Wait();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST(RegistrationTest, LostLeaseIsGrantedAgain) {
  EtcdProcess etcd;
  Server server(Options(etcd, "kv"));
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_TRUE(Eventually([&] { return !GetPrefix(etcd, "/services/kv").empty(); },
                         absl::Seconds(10)));
  // Take the lease away behind the server's back.
  absl::StatusOr<std::string> leases = etcd.Etcdctl({"lease", "list"});
  ASSERT_TRUE(leases.ok()) << leases.status();
  std::vector<std::string> lines = absl::StrSplit(*leases, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << *leases;  // "found 1 leases", the id.
  ASSERT_TRUE(etcd.Etcdctl({"lease", "revoke", lines[1]}).ok());
  EXPECT_TRUE(GetPrefix(etcd, "/services/kv").empty());
  // The next renewal (every ttl/3) finds it gone and registers again.
  EXPECT_TRUE(Eventually([&] { return !GetPrefix(etcd, "/services/kv").empty(); },
                         absl::Seconds(10)));
  server.Shutdown();
  server.Wait();
}

// Holds each Hold call until the test releases it.
struct Held {
  Mutex mu;
  std::vector<RpcDone> calls ABSL_GUARDED_BY(mu);
  size_t size() {
    MutexLock lock(&mu);
    return calls.size();
  }
  void ReleaseAll() {
    std::vector<RpcDone> calls_now;
    {
      MutexLock lock(&mu);
      calls_now.swap(calls);
    }
    for (RpcDone& done : calls_now) done(absl::OkStatus());
  }
};

TEST(RegistrationTest, ShutdownDeregistersBeforeItStopsServing) {
  EtcdProcess etcd;
  Server server(Options(etcd, "held"));
  Held held;
  absl::Status registered = server.RegisterMethod<EchoRequest, EchoResponse>(
                      kService, "Echo",
                      [](ServerContext*, const EchoRequest& request,
                         EchoResponse* response, RpcDone done) {
                        response->set_payload(request.payload());
                        done(absl::OkStatus());
                      });
  ASSERT_TRUE(registered.ok());
  registered = server.RegisterMethod<EchoRequest, EchoResponse>(
                      kService, "Hold",
                      [&held](ServerContext*, const EchoRequest& request,
                              EchoResponse* response, RpcDone done) {
                        response->set_payload(request.payload());
                        MutexLock lock(&held.mu);
                        held.calls.push_back(std::move(done));
                      });
  ASSERT_TRUE(registered.ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_TRUE(Eventually([&] { return !GetPrefix(etcd, "/services/held").empty(); },
                         absl::Seconds(10)));

  // Watch the service's keys the way a resolver does.
  EventLoopThread thread("watch");
  EventLoop* loop = mrpc::testing::StartOrDie(&thread);
  std::unique_ptr<EtcdClient> client;
  std::unique_ptr<EtcdWatch> watch;
  Notification deleted;
  RunInLoopAndWait(loop, [&] {
    client = std::make_unique<EtcdClient>(
        loop, std::vector<InetAddress>{etcd.address()});
    watch = client->Watch(
        "/services/held/", 0,
        [&deleted](const EtcdWatchUpdate& update) {
          for (const EtcdEvent& e : update.events) {
            if (e.type == EtcdEvent::Type::kDelete) deleted.Notify();
          }
        },
        [](absl::Status) {});
  });
  ASSERT_TRUE(Eventually(
      [&] {
        bool created = false;
        RunInLoopAndWait(loop, [&] { created = watch->created(); });
        return created;
      },
      absl::Seconds(10)));

  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server.port()));
  ASSERT_TRUE(channel.ok());
  EchoRequest request;
  request.set_payload("held");
  EchoResponse echo;
  ASSERT_TRUE((*channel)->CallMethodBlocking(kService, "Echo", request, &echo).ok());
  // A call in flight across the shutdown.
  Notification held_done;
  absl::Status held_status;
  EchoResponse held_response;
  (*channel)->CallMethod(kService, "Hold", request, &held_response, nullptr,
                         [&](absl::Status status) {
                           held_status = status;
                           held_done.Notify();
                         });
  ASSERT_TRUE(Eventually([&] { return held.size() == 1; }, absl::Seconds(10)));

  const absl::Time start = absl::Now();
  server.Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));  // Returns at once.
  // Callers are told first: the key goes while the server still serves.
  ASSERT_TRUE(deleted.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(held_done.HasBeenNotified());
  EXPECT_TRUE(GetPrefix(etcd, "/services/held").empty());
  held.ReleaseAll();
  ASSERT_TRUE(held_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(held_status.ok()) << held_status;
  EXPECT_EQ(held_response.payload(), "held");
  server.Wait();
  RunInLoopAndWait(loop, [&] {
    watch.reset();
    client.reset();
  });
}

TEST(RegistrationTest, KilledServerKeyExpiresWithinTheTtl) {
  EtcdProcess etcd;
  mrpc::testing::ServerProcess child(
      0, {absl::StrCat("--register=etcd://", etcd.client_address(),
                       "/services/child"),
          "--register_ttl=2s"});
  const std::string key =
      absl::StrCat("/services/child/127.0.0.1:", child.port());
  ASSERT_TRUE(Eventually(
      [&] {
        auto kvs = GetPrefix(etcd, "/services/child");
        return kvs.size() == 1 && kvs[0].first == key &&
               absl::StrContains(kvs[0].second,
                                 absl::StrCat("\"pid\":", child.pid()));
      },
      absl::Seconds(10)));
  child.Kill(SIGKILL);
  const absl::Time killed = absl::Now();
  // No deregistration: the lease runs out (ttl 2 s; etcd checks expiry
  // every 500 ms).
  ASSERT_TRUE(Eventually([&] { return GetPrefix(etcd, "/services/child").empty(); },
                         absl::Seconds(8)));
  EXPECT_LT(absl::Now() - killed, absl::Seconds(5));
}

}  // namespace
}  // namespace mrpc
