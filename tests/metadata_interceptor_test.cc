// End-to-end tests of call metadata, interceptors, trace context and
// server-side cancellation callbacks, through the public API only: real
// Servers on 127.0.0.1:0 and real Channels.
//
// Synchronization: blocking calls, Notifications and latches; Eventually()
// only for server counters, which signal nothing.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/inet_address.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/channel.h"
#include "rpc/client_context.h"
#include "rpc/codec.h"
#include "rpc/interceptor.h"
#include "rpc/metadata.h"
#include "rpc/server.h"
#include "rpc/stub.h"
#include "rpc/trace.h"
#include "tests/test_service.h"

// glog has no CHECK_OK for absl::Status.
#define MRPC_CHECK_OK(...)                      \
  do {                                          \
    const absl::Status status_ = (__VA_ARGS__); \
    CHECK(status_.ok()) << status_;             \
  } while (0)

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::kTestService;

constexpr char kProbeService[] = "mrpc.test.ProbeService";
// The example of the W3C trace context spec.
constexpr char kW3cExample[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
// A value no text protocol would carry: NULs inside, 0xff last.
const std::string kBinary("nul\0in\0side\xff", 12);

// A copy with a representation of its own: absl::Status shares its heap
// representation between copies and frees it inside Debian's libabsl, which
// ThreadSanitizer cannot see; a status kept across threads must not share.
absl::Status Own(const absl::Status& status) {
  return status.ok() ? status : absl::Status(status.code(), status.message());
}

// Events from handlers, interceptors and callbacks, in the order they
// happened (on whatever threads).
class EventLog {
 public:
  void Add(std::string event) {
    MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    cv_.SignalAll();
  }
  // Waits up to 10 s for `n` events; returns what is logged by then.
  std::vector<std::string> WaitFor(size_t n) {
    MutexLock lock(&mu_);
    cv_.WaitUntil(
        &mu_, absl::Now() + absl::Seconds(10),
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return events_.size() >= n; });
    return events_;
  }
  std::vector<std::string> Snapshot() {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

// ProbeService.Record: records what its handler saw and answers with
// `response_metadata` (set before the server starts). Payload "fail" makes
// it answer NOT_FOUND (after adding the response metadata).
class Probe {
 public:
  struct Seen {
    int runs = 0;
    Metadata metadata;
    absl::Time deadline = absl::InfinitePast();
    absl::Time handled_at = absl::InfinitePast();
  };

  explicit Probe(Metadata response_metadata = {})
      : response_metadata_(std::move(response_metadata)) {}

  absl::Status Register(Server* server, EventLog* log = nullptr) {
    return server->RegisterMethod<EchoRequest, EchoResponse>(
        kProbeService, "Record",
        [this, log](ServerContext* ctx, const EchoRequest& req,
                    EchoResponse* resp, RpcDone done) {
          {
            MutexLock lock(&mu_);
            ++seen_.runs;
            seen_.metadata = ctx->metadata();
            seen_.deadline = ctx->deadline();
            seen_.handled_at = absl::Now();
          }
          if (log != nullptr) log->Add("handler");
          for (const auto& [key, value] : response_metadata_) {
            MRPC_CHECK_OK(ctx->AddResponseMetadata(key, value));
          }
          if (req.payload() == "fail") {
            done(absl::NotFoundError("probe failed on request"));
            return;
          }
          resp->set_payload(req.payload());
          done(absl::OkStatus());
        });
  }

  Seen seen() {
    MutexLock lock(&mu_);
    return seen_;
  }

 private:
  const Metadata response_metadata_;
  Mutex mu_;
  Seen seen_ ABSL_GUARDED_BY(mu_);
};

// ProbeService.AwaitCancel: never answers until cancelled. Its cancel
// callback calls `done` (late, so dropped) and then notifies `cancelled`.
struct CancelProbe {
  Notification registered;
  Notification cancelled;
  // Written before `cancelled` is notified.
  bool was_cancelled = false;
  bool second_ran_at_once = false;

  absl::Status Register(Server* server) {
    return server->RegisterMethod<EchoRequest, EchoResponse>(
        kProbeService, "AwaitCancel",
        [this](ServerContext* ctx, const EchoRequest&, EchoResponse* resp,
               RpcDone done) {
          resp->set_payload("must never be sent");
          ctx->NotifyOnCancel([this, ctx, done = std::move(done)]() mutable {
            was_cancelled = ctx->IsCancelled();
            // Registered once cancelled, a callback runs at once, here.
            bool ran = false;
            ctx->NotifyOnCancel([&ran] { ran = true; });
            second_ran_at_once = ran;
            // `ctx` is invalid from here on.
            done(absl::OkStatus());
            cancelled.Notify();
          });
          registered.Notify();
        });
  }
};

class MetadataInterceptorTest : public ::testing::Test {
 protected:
  static ServerOptions Quick() {
    ServerOptions options;
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(100);
    return options;
  }
  // Starts a server on 127.0.0.1:0 with the test service, after `setup`
  // has registered its methods and interceptors. Stopped in TearDown.
  Server* StartServer(std::function<void(Server*)> setup,
                      ServerOptions options = Quick()) {
    servers_.push_back(std::make_unique<Server>(options));
    Server* server = servers_.back().get();
    MRPC_CHECK_OK(testing::RegisterTestService(server, &counters_));
    setup(server);
    MRPC_CHECK_OK(server->Start("127.0.0.1:0"));
    return server;
  }
  void TearDown() override {
    for (auto& server : servers_) server->Shutdown();
    for (auto& server : servers_) server->Wait();
  }
  static std::unique_ptr<Channel> NewChannel(Server* server,
                                             ChannelOptions options = {}) {
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(
        absl::StrCat("127.0.0.1:", server->port()), std::move(options));
    CHECK(channel.ok()) << channel.status();
    return std::move(*channel);
  }
  // A blocking call of `service`.`method` with `payload`.
  static absl::Status Call(Channel* channel, const char* service,
                           const char* method, const std::string& payload,
                           ClientContext* ctx = nullptr) {
    EchoRequest req;
    req.set_payload(payload);
    EchoResponse resp;
    return channel->CallMethodBlocking(service, method, req, &resp, ctx);
  }
  static absl::Status Record(Channel* channel, ClientContext* ctx = nullptr,
                             const std::string& payload = "x") {
    return Call(channel, kProbeService, "Record", payload, ctx);
  }
  // REQUEST frames the server has received once `channel`'s next call is
  // through: everything sent before it has been read by then (one
  // connection, in order).
  static uint64_t RequestsAfterOneMore(Server* server, Channel* channel) {
    MRPC_CHECK_OK(Call(channel, kTestService, "Echo", "fence"));
    return server->stats().requests;
  }

  testing::TestServiceCounters counters_;
  // Outlives the servers: a cancel callback may run as they shut down.
  CancelProbe cancel_;
  std::vector<std::unique_ptr<Server>> servers_;
};

// ---------------------------------------------------------------------------
// Metadata both ways.

TEST_F(MetadataInterceptorTest, RequestAndResponseMetadataKeepOrderDupsBytes) {
  const Metadata response = {
      {"r-dup", "1"}, {"r-bin", kBinary}, {"r-dup", "2"}, {"r-empty", ""}};
  Probe probe(response);
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);

  ClientContext ctx;
  ASSERT_TRUE(ctx.AddMetadata("x-dup", "a").ok());
  ASSERT_TRUE(ctx.AddMetadata("x-bin", kBinary).ok());
  ASSERT_TRUE(ctx.AddMetadata("x-dup", "b").ok());
  ASSERT_TRUE(ctx.AddMetadata("x-empty", "").ok());
  ASSERT_TRUE(Record(channel.get(), &ctx).ok());

  const Metadata sent = {
      {"x-dup", "a"}, {"x-bin", kBinary}, {"x-dup", "b"}, {"x-empty", ""}};
  const Probe::Seen seen = probe.seen();
  EXPECT_EQ(seen.metadata, sent);  // Exactly: no trace, nothing added.
  EXPECT_EQ(seen.metadata[1].second.size(), kBinary.size());
  EXPECT_EQ(ctx.response_metadata(), response);
  EXPECT_TRUE(ctx.status().ok());
  EXPECT_TRUE(absl::StartsWith(ctx.peer(), "127.0.0.1:")) << ctx.peer();
}

TEST_F(MetadataInterceptorTest, ResponseMetadataArrivesWithAnError) {
  const Metadata response = {{"r-why", "because"}, {"r-bin", kBinary}};
  Probe probe(response);
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);

  ClientContext ctx;
  absl::Status status = Record(channel.get(), &ctx, "fail");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(ctx.status().code(), absl::StatusCode::kNotFound);
  // The handler's entries, and nothing of mrpc's: it adds its server time
  // to DEADLINE_EXCEEDED and UNAVAILABLE answers only.
  EXPECT_EQ(ctx.response_metadata(), response);
}

TEST_F(MetadataInterceptorTest, StubCallsCarryMetadataByContextAndOptions) {
  Probe probe(Metadata{{"r-stub", "yes"}});
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);
  EchoRequest req;
  req.set_payload("stub");

  // BlockingCall with a ClientContext: metadata both ways.
  ClientContext ctx;
  ASSERT_TRUE(ctx.AddMetadata("x-via", "context").ok());
  absl::StatusOr<EchoResponse> reply = BlockingCall<EchoResponse>(
      channel.get(), kProbeService, "Record", req, &ctx);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->payload(), "stub");
  EXPECT_EQ(probe.seen().metadata, (Metadata{{"x-via", "context"}}));
  EXPECT_EQ(ctx.response_metadata(), (Metadata{{"r-stub", "yes"}}));

  // BlockingCall with CallOptions::metadata.
  CallOptions options;
  options.metadata = {{"x-via", "options"}, {"x-via", "twice"}};
  reply = BlockingCall<EchoResponse>(channel.get(), kProbeService, "Record",
                                     req, options);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(probe.seen().metadata, options.metadata);

  // FutureCall with CallOptions::metadata.
  options.metadata = {{"x-via", "future"}};
  absl::StatusOr<EchoResponse> future_reply =
      FutureCall<EchoResponse>(channel.get(), kProbeService, "Record", req,
                               options)
          .get();
  ASSERT_TRUE(future_reply.ok()) << future_reply.status();
  EXPECT_EQ(probe.seen().metadata, options.metadata);
  EXPECT_EQ(probe.seen().runs, 3);
}

TEST_F(MetadataInterceptorTest, BadKeysAreRefusedAndNothingIsSent) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);

  ClientContext ctx;
  EXPECT_EQ(ctx.AddMetadata("mrpc-x", "v").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ctx.AddMetadata("Bad Key", "v").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ctx.AddMetadata("", "v").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ctx.metadata().empty());  // Nothing added.

  const uint64_t before = RequestsAfterOneMore(server, channel.get());

  // A context that refused a key fails its call (metadata_error()).
  absl::Status status = Record(channel.get(), &ctx);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;

  // CallOptions::metadata with a bad key fails the call, unsent.
  CallOptions options;
  options.metadata = {{"x-good", "1"}, {"Bad Key", "2"}};
  EchoRequest req;
  absl::StatusOr<EchoResponse> reply = BlockingCall<EchoResponse>(
      channel.get(), kProbeService, "Record", req, options);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument)
      << reply.status();
  options.metadata = {{"mrpc-server-us", "1"}};
  reply = BlockingCall<EchoResponse>(channel.get(), kProbeService, "Record",
                                     req, options);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument)
      << reply.status();

  // Only the fence itself reached the server.
  EXPECT_EQ(RequestsAfterOneMore(server, channel.get()), before + 1);
  EXPECT_EQ(probe.seen().runs, 0);
}

// ---------------------------------------------------------------------------
// Limits.

// Counts OnRequest calls: proves refused requests never reach interceptors.
class CountingServerInterceptor : public ServerInterceptor {
 public:
  explicit CountingServerInterceptor(std::atomic<int>* requests)
      : requests_(requests) {}
  absl::Status OnRequest(ServerContext*) override {
    ++*requests_;
    return absl::OkStatus();
  }

 private:
  std::atomic<int>* const requests_;
};

Metadata Entries(int n) {
  Metadata metadata;
  for (int i = 0; i < n; ++i) metadata.emplace_back(absl::StrCat("k", i), "v");
  return metadata;
}

TEST_F(MetadataInterceptorTest,
       ServerRefusesTooMuchMetadataAndKeepsTheConnection) {
  Probe probe;
  std::atomic<int> intercepted{0};
  Server* server = StartServer([&](Server* s) {
    MRPC_CHECK_OK(probe.Register(s));
    MRPC_CHECK_OK(s->AddInterceptor(
        std::make_unique<CountingServerInterceptor>(&intercepted)));
  });
  ChannelOptions roomy;  // The client would send more than the server takes.
  roomy.max_metadata_bytes = 64 * 1024;
  roomy.max_metadata_entries = 1024;
  auto channel = NewChannel(server, roomy);

  // 9 KiB against the server's default 8 KiB.
  ClientContext big;
  ASSERT_TRUE(big.AddMetadata("x-big", std::string(9 * 1024, 'v')).ok());
  absl::Status status = Record(channel.get(), &big);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "request metadata"))
      << status;
  EXPECT_EQ(probe.seen().runs, 0);
  EXPECT_EQ(intercepted.load(), 0);
  EXPECT_EQ(server->stats().invalid_metadata, 1u);
  // The connection is kept: the next call works on it.
  ASSERT_TRUE(Record(channel.get()).ok());
  EXPECT_EQ(probe.seen().runs, 1);

  // 65 entries against the default 64.
  ClientContext many;
  for (const auto& [k, v] : Entries(65))
    ASSERT_TRUE(many.AddMetadata(k, v).ok());
  status = Record(channel.get(), &many);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(probe.seen().runs, 1);
  EXPECT_EQ(server->stats().invalid_metadata, 2u);

  // Exactly 64 entries is within the limit.
  ClientContext at_limit;
  for (const auto& [k, v] : Entries(64)) {
    ASSERT_TRUE(at_limit.AddMetadata(k, v).ok());
  }
  ASSERT_TRUE(Record(channel.get(), &at_limit).ok());
  EXPECT_EQ(probe.seen().metadata, Entries(64));
  EXPECT_EQ(intercepted.load(), 2);

  const ChannelStats stats = channel->stats();
  EXPECT_EQ(stats.connection_losses, 0u);
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_EQ(stats.protocol_errors, 0u);
  EXPECT_EQ(server->stats().protocol_errors, 0u);
}

TEST_F(MetadataInterceptorTest, ChannelRefusesTooMuchMetadataBeforeSending) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);  // Default limits: 8 KiB, 64 entries.
  const uint64_t before = RequestsAfterOneMore(server, channel.get());

  ClientContext big;
  ASSERT_TRUE(big.AddMetadata("x-big", std::string(9 * 1024, 'v')).ok());
  absl::Status status = Record(channel.get(), &big);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // It never left the client, so it has no peer (ClientContext::peer()).
  EXPECT_EQ(big.peer(), "");

  ClientContext many;
  for (const auto& [k, v] : Entries(65))
    ASSERT_TRUE(many.AddMetadata(k, v).ok());
  status = Record(channel.get(), &many);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;

  // Neither was sent: only the fence reached the server.
  EXPECT_EQ(RequestsAfterOneMore(server, channel.get()), before + 1);
  EXPECT_EQ(server->stats().invalid_metadata, 0u);
  EXPECT_EQ(probe.seen().runs, 0);
}

TEST_F(MetadataInterceptorTest,
       ResponseMetadataPastTheServersLimitFailsTheCall) {
  Probe probe(Metadata{{"r-big", std::string(9 * 1024, 'v')}});
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  ChannelOptions roomy;
  roomy.max_metadata_bytes = 64 * 1024;
  auto channel = NewChannel(server, roomy);
  ClientContext ctx;
  absl::Status status = Record(channel.get(), &ctx);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "response metadata"))
      << status;
  EXPECT_EQ(probe.seen().runs, 1);  // It ran; its answer could not be sent.
  EXPECT_EQ(FindMetadata(ctx.response_metadata(), "r-big"), absl::nullopt);
  EXPECT_EQ(channel->stats().connection_losses, 0u);
}

TEST_F(MetadataInterceptorTest,
       ResponseMetadataPastTheChannelsLimitFailsTheCall) {
  Probe probe(Metadata{{"r-big", std::string(2 * 1024, 'v')}});
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  ChannelOptions tight;
  tight.max_metadata_bytes = 1024;
  auto channel = NewChannel(server, tight);
  absl::Status status = Record(channel.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "response metadata"))
      << status;
  // Refused without dropping the connection.
  ASSERT_TRUE(Call(channel.get(), kTestService, "Echo", "after").ok());
  EXPECT_EQ(channel->stats().connection_losses, 0u);
  EXPECT_EQ(channel->stats().connects, 1u);
}

// ---------------------------------------------------------------------------
// Server interceptors.

// Logs "<name>.req" / "<name>.resp" and what each hook saw.
class LoggingServerInterceptor : public ServerInterceptor {
 public:
  struct Seen {
    std::string service, method, peer_ip;
    Metadata metadata;
    absl::Status status = absl::UnknownError("OnResponse never ran");
    absl::Duration latency = -absl::InfiniteDuration();
  };

  LoggingServerInterceptor(std::string name, EventLog* log,
                           Notification* responded = nullptr)
      : name_(std::move(name)), log_(log), responded_(responded) {}

  absl::Status OnRequest(ServerContext* ctx) override {
    {
      MutexLock lock(&mu_);
      seen_.service = ctx->service();
      seen_.method = ctx->method();
      seen_.peer_ip = ctx->peer().Ip();
      seen_.metadata = ctx->metadata();
    }
    log_->Add(name_ + ".req");
    // Interceptors may answer with metadata of their own.
    MRPC_CHECK_OK(ctx->AddResponseMetadata("x-seen-by", name_));
    return absl::OkStatus();
  }
  void OnResponse(ServerContext*, const absl::Status& status,
                  absl::Duration latency) override {
    {
      MutexLock lock(&mu_);
      seen_.status = Own(status);
      seen_.latency = latency;
    }
    log_->Add(name_ + ".resp");
    if (responded_ != nullptr) responded_->Notify();
  }
  Seen seen() {
    MutexLock lock(&mu_);
    return seen_;
  }

 private:
  const std::string name_;
  EventLog* const log_;
  Notification* const responded_;
  Mutex mu_;
  Seen seen_ ABSL_GUARDED_BY(mu_);
};

// Refuses calls without an "authorization" entry.
class AuthInterceptor : public ServerInterceptor {
 public:
  explicit AuthInterceptor(EventLog* log) : log_(log) {}
  absl::Status OnRequest(ServerContext* ctx) override {
    log_->Add("auth.req");
    if (!FindMetadata(ctx->metadata(), "authorization").has_value()) {
      // Rejecting, it may still say why in metadata; a reserved key is not
      // its to set.
      MRPC_CHECK_OK(ctx->AddResponseMetadata("www-authenticate", "token"));
      CHECK(!ctx->AddResponseMetadata("mrpc-x", "no").ok());
      return absl::UnauthenticatedError("no token");
    }
    return absl::OkStatus();
  }
  void OnResponse(ServerContext*, const absl::Status& status,
                  absl::Duration) override {
    log_->Add(
        absl::StrCat("auth.resp:", absl::StatusCodeToString(status.code())));
  }

 private:
  EventLog* const log_;
};

// The logging interceptor is owned by its server: keep a raw pointer to
// read what it saw.
LoggingServerInterceptor* AddLogging(Server* server, const std::string& name,
                                     EventLog* log,
                                     Notification* responded = nullptr) {
  auto interceptor =
      std::make_unique<LoggingServerInterceptor>(name, log, responded);
  LoggingServerInterceptor* raw = interceptor.get();
  MRPC_CHECK_OK(server->AddInterceptor(std::move(interceptor)));
  return raw;
}

TEST_F(MetadataInterceptorTest, ServerInterceptorsRunInOrderAroundTheHandler) {
  EventLog log;
  Notification a_responded;
  Probe probe;
  LoggingServerInterceptor* a = nullptr;
  LoggingServerInterceptor* b = nullptr;
  Server* server = StartServer([&](Server* s) {
    MRPC_CHECK_OK(probe.Register(s, &log));
    a = AddLogging(s, "A", &log, &a_responded);
    b = AddLogging(s, "B", &log);
  });
  auto channel = NewChannel(server);

  ClientContext ctx;
  ASSERT_TRUE(ctx.AddMetadata("x-user", "ada").ok());
  ASSERT_TRUE(Record(channel.get(), &ctx).ok());
  // OnResponse runs after the answer is sent: wait for the outermost.
  ASSERT_TRUE(a_responded.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(log.Snapshot(),
            (std::vector<std::string>{"A.req", "B.req", "handler", "B.resp",
                                      "A.resp"}));

  for (LoggingServerInterceptor* i : {a, b}) {
    const LoggingServerInterceptor::Seen seen = i->seen();
    EXPECT_EQ(seen.service, kProbeService);
    EXPECT_EQ(seen.method, "Record");
    EXPECT_EQ(seen.peer_ip, "127.0.0.1");
    EXPECT_EQ(seen.metadata, (Metadata{{"x-user", "ada"}}));
    EXPECT_TRUE(seen.status.ok()) << seen.status;
    EXPECT_GE(seen.latency, absl::ZeroDuration());
  }
  // Both interceptors' response metadata reached the client, in chain order.
  EXPECT_EQ(ctx.response_metadata(),
            (Metadata{{"x-seen-by", "A"}, {"x-seen-by", "B"}}));
}

TEST_F(MetadataInterceptorTest,
       RejectingInterceptorStopsTheHandlerAndLaterOnes) {
  EventLog log;
  Probe probe;
  LoggingServerInterceptor* later = nullptr;
  Server* server = StartServer([&](Server* s) {
    MRPC_CHECK_OK(probe.Register(s, &log));
    MRPC_CHECK_OK(s->AddInterceptor(std::make_unique<AuthInterceptor>(&log)));
    later = AddLogging(s, "later", &log);
  });
  auto channel = NewChannel(server);

  ClientContext anonymous;
  absl::Status status = Record(channel.get(), &anonymous);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_EQ(status.message(), "no token");
  EXPECT_EQ(FindMetadata(anonymous.response_metadata(), "www-authenticate"),
            absl::optional<absl::string_view>("token"));
  // The rejecting interceptor's OnRequest ran, so its OnResponse runs too.
  std::vector<std::string> events = log.WaitFor(2);
  EXPECT_EQ(events, (std::vector<std::string>{"auth.req",
                                              "auth.resp:UNAUTHENTICATED"}));
  EXPECT_EQ(probe.seen().runs, 0);

  // With a token the whole chain and the handler run.
  ClientContext authorized;
  ASSERT_TRUE(authorized.AddMetadata("authorization", "Bearer x").ok());
  ASSERT_TRUE(Record(channel.get(), &authorized).ok());
  events = log.WaitFor(7);
  EXPECT_EQ(events, (std::vector<std::string>{
                        "auth.req", "auth.resp:UNAUTHENTICATED", "auth.req",
                        "later.req", "handler", "later.resp", "auth.resp:OK"}));
  EXPECT_EQ(probe.seen().runs, 1);
  EXPECT_TRUE(later->seen().status.ok());
}

TEST_F(MetadataInterceptorTest, OnResponseSeesTheFinalStatusAndLatency) {
  EventLog log;
  Notification responded;
  Probe probe;
  LoggingServerInterceptor* timing = nullptr;
  Server* server = StartServer([&](Server* s) {
    MRPC_CHECK_OK(probe.Register(s));
    timing = AddLogging(s, "timing", &log, &responded);
  });
  auto channel = NewChannel(server);

  // TestService.Delay answers 20 ms later from a loop timer.
  ASSERT_TRUE(Call(channel.get(), kTestService, "Delay", "20").ok());
  ASSERT_TRUE(responded.WaitForNotificationWithTimeout(absl::Seconds(10)));
  LoggingServerInterceptor::Seen seen = timing->seen();
  EXPECT_TRUE(seen.status.ok()) << seen.status;
  EXPECT_GE(seen.latency, absl::Milliseconds(20));
  EXPECT_LT(seen.latency, absl::Seconds(5));
  EXPECT_EQ(seen.method, "Delay");

  // A handler's error is what OnResponse sees (a fresh notification per
  // call: wait for the second OnResponse through the log).
  ClientContext ctx;
  EXPECT_EQ(Record(channel.get(), &ctx, "fail").code(),
            absl::StatusCode::kNotFound);
  log.WaitFor(4);  // timing.req, timing.resp, timing.req, timing.resp
  seen = timing->seen();
  EXPECT_EQ(seen.status.code(), absl::StatusCode::kNotFound) << seen.status;
  EXPECT_EQ(seen.status.message(), "probe failed on request");
  EXPECT_EQ(seen.method, "Record");
}

// ---------------------------------------------------------------------------
// Client interceptors.

// Logs "<name>.call" / "<name>.complete", may add metadata or reject.
class LoggingClientInterceptor : public ClientInterceptor {
 public:
  struct Seen {
    std::string service, method;
    absl::Time deadline;
    const ClientContext* context = nullptr;
    absl::Status status = absl::UnknownError("OnComplete never ran");
    absl::Duration latency = -absl::InfiniteDuration();
  };

  // A non-OK `verdict` (code, message) rejects every call.
  LoggingClientInterceptor(std::string name, EventLog* log,
                           absl::StatusCode verdict = absl::StatusCode::kOk,
                           std::string message = "")
      : name_(std::move(name)),
        log_(log),
        verdict_(verdict),
        message_(std::move(message)) {}

  absl::Status OnCall(const ClientCall& call, Metadata* metadata) override {
    {
      MutexLock lock(&mu_);
      seen_.service = std::string(call.service);
      seen_.method = std::string(call.method);
      seen_.deadline = call.deadline;
      seen_.context = call.context;
    }
    log_->Add(name_ + ".call");
    if (verdict_ != absl::StatusCode::kOk) {
      return absl::Status(verdict_, message_);
    }
    metadata->emplace_back("x-added-by", name_);
    return absl::OkStatus();
  }
  void OnComplete(const ClientCall&, const absl::Status& status,
                  absl::Duration latency) override {
    {
      MutexLock lock(&mu_);
      seen_.status = Own(status);
      seen_.latency = latency;
    }
    log_->Add(name_ + ".complete");
  }
  Seen seen() {
    MutexLock lock(&mu_);
    return seen_;
  }

 private:
  const std::string name_;
  EventLog* const log_;
  const absl::StatusCode verdict_;
  const std::string message_;
  Mutex mu_;
  Seen seen_ ABSL_GUARDED_BY(mu_);
};

TEST_F(MetadataInterceptorTest,
       ClientInterceptorsAddMetadataAndWrapTheCallback) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  EventLog log;
  auto outer = std::make_shared<LoggingClientInterceptor>("outer", &log);
  auto inner = std::make_shared<LoggingClientInterceptor>("inner", &log);
  ChannelOptions options;
  options.interceptors = {outer, inner};
  auto channel = NewChannel(server, options);

  ClientContext ctx;
  ctx.set_timeout(absl::Seconds(30));
  ASSERT_TRUE(ctx.AddMetadata("x-user", "ada").ok());
  EchoRequest req;
  req.set_payload("20");
  EchoResponse resp;
  Notification done;
  absl::Status status = absl::UnknownError("callback never ran");
  channel->CallMethod(kTestService, "Delay", req, &resp, &ctx,
                      [&](absl::Status s) {
                        status = std::move(s);
                        log.Add("callback");
                        done.Notify();
                      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(log.Snapshot(), (std::vector<std::string>{
                                "outer.call", "inner.call", "inner.complete",
                                "outer.complete", "callback"}));
  for (LoggingClientInterceptor* i : {outer.get(), inner.get()}) {
    const LoggingClientInterceptor::Seen seen = i->seen();
    EXPECT_EQ(seen.service, kTestService);
    EXPECT_EQ(seen.method, "Delay");
    EXPECT_EQ(seen.deadline, ctx.deadline());
    EXPECT_EQ(seen.context, &ctx);
    EXPECT_TRUE(seen.status.ok()) << seen.status;
    EXPECT_GE(seen.latency, absl::Milliseconds(20));
    EXPECT_LT(seen.latency, absl::Seconds(5));
  }

  // What the interceptors add follows the context's entries, in chain order.
  ClientContext ctx2;
  ASSERT_TRUE(ctx2.AddMetadata("x-user", "bob").ok());
  ASSERT_TRUE(Record(channel.get(), &ctx2).ok());
  EXPECT_EQ(probe.seen().metadata, (Metadata{{"x-user", "bob"},
                                             {"x-added-by", "outer"},
                                             {"x-added-by", "inner"}}));
  // Without a context too (and the interceptors see none).
  ASSERT_TRUE(Record(channel.get(), nullptr).ok());
  EXPECT_EQ(probe.seen().metadata,
            (Metadata{{"x-added-by", "outer"}, {"x-added-by", "inner"}}));
  EXPECT_EQ(outer->seen().context, nullptr);
}

TEST_F(MetadataInterceptorTest, RejectingClientInterceptorFailsTheCallUnsent) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  EventLog log;
  auto first = std::make_shared<LoggingClientInterceptor>("first", &log);
  auto gate = std::make_shared<LoggingClientInterceptor>(
      "gate", &log, absl::StatusCode::kPermissionDenied, "not today");
  auto last = std::make_shared<LoggingClientInterceptor>("last", &log);
  ChannelOptions options;
  options.interceptors = {first, gate, last};
  auto channel = NewChannel(server, options);
  // A channel without the gate, to count what reaches the server.
  auto plain = NewChannel(server);
  const uint64_t before = RequestsAfterOneMore(server, plain.get());

  ClientContext ctx;
  EchoRequest req;
  EchoResponse resp;
  Notification done;
  absl::Status status;
  channel->CallMethod(kProbeService, "Record", req, &resp, &ctx,
                      [&](absl::Status s) {
                        status = std::move(s);
                        log.Add("callback");
                        done.Notify();
                      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status, absl::PermissionDeniedError("not today"));
  EXPECT_EQ(ctx.status(), absl::PermissionDeniedError("not today"));
  // The gate's OnCall ran, so its OnComplete does; "last" never started.
  EXPECT_EQ(log.Snapshot(), (std::vector<std::string>{
                                "first.call", "gate.call", "gate.complete",
                                "first.complete", "callback"}));
  EXPECT_EQ(gate->seen().status.code(), absl::StatusCode::kPermissionDenied);
  // The first channel's connection may not even be up yet; whether it is
  // or not, the server saw no request from it.
  EXPECT_EQ(RequestsAfterOneMore(server, plain.get()), before + 1);
  EXPECT_EQ(probe.seen().runs, 0);
}

// A client interceptor may add only what user code may: a reserved or
// malformed key fails the call INVALID_ARGUMENT, unsent.
TEST_F(MetadataInterceptorTest, ClientInterceptorCannotAddReservedKeys) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  class Sneaky : public ClientInterceptor {
   public:
    explicit Sneaky(std::string key) : key_(std::move(key)) {}
    absl::Status OnCall(const ClientCall&, Metadata* metadata) override {
      metadata->emplace_back(key_, "1");
      return absl::OkStatus();
    }
    const std::string key_;
  };
  for (const char* key : {"mrpc-server-us", "Not Lowercase"}) {
    ChannelOptions options;
    options.interceptors = {std::make_shared<Sneaky>(key)};
    auto channel = NewChannel(server, options);
    absl::Status status = Record(channel.get());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_TRUE(absl::StrContains(status.message(), "client interceptor"))
        << status;
  }
  EXPECT_EQ(probe.seen().runs, 0);
}

// Thread-safe counters shared by every channel that holds it.
class CountingClientInterceptor : public ClientInterceptor {
 public:
  absl::Status OnCall(const ClientCall&, Metadata* metadata) override {
    metadata->emplace_back("x-call-number", absl::StrCat(calls_.fetch_add(1)));
    return absl::OkStatus();
  }
  void OnComplete(const ClientCall&, const absl::Status& status,
                  absl::Duration) override {
    (status.ok() ? ok_ : failed_).fetch_add(1);
  }
  std::atomic<int> calls_{0};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
};

TEST_F(MetadataInterceptorTest, OneClientInterceptorServesTwoChannels) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto counting = std::make_shared<CountingClientInterceptor>();
  ChannelOptions options;
  options.interceptors = {counting};
  auto one = NewChannel(server, options);
  auto two = NewChannel(server, options);

  // Both channels' loops run the interceptor at once.
  constexpr int kCallsEach = 50;
  EchoRequest req;
  req.set_payload("shared");
  std::vector<EchoResponse> responses(2 * kCallsEach);
  std::atomic<int> ok{0};
  CountDownLatch all(2 * kCallsEach);
  for (int i = 0; i < 2 * kCallsEach; ++i) {
    Channel* channel = i % 2 == 0 ? one.get() : two.get();
    channel->CallMethod(kProbeService, "Record", req, &responses[i], nullptr,
                        [&](absl::Status s) {
                          if (s.ok()) ++ok;
                          all.CountDown();
                        });
  }
  ASSERT_TRUE(all.WaitWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(ok.load(), 2 * kCallsEach);
  EXPECT_EQ(counting->calls_.load(), 2 * kCallsEach);
  EXPECT_EQ(counting->ok_.load(), 2 * kCallsEach);
  EXPECT_EQ(counting->failed_.load(), 0);
  // The handler saw the interceptor's entry (from whichever call was last).
  const Probe::Seen seen = probe.seen();
  ASSERT_EQ(seen.metadata.size(), 1u);
  EXPECT_EQ(seen.metadata[0].first, "x-call-number");
  EXPECT_EQ(seen.runs, 2 * kCallsEach);
}

// ---------------------------------------------------------------------------
// Trace context and deadline through a chained call A -> B.

struct RelaySeen {
  TraceContext a_trace;       // A's ctx->trace().
  absl::Time a_deadline;      // A's ctx->deadline().
  absl::Time child_deadline;  // The ClientContext's, after set_parent.
  absl::optional<TraceContext> child_trace;
  absl::Time sent_at;  // Just before A's CallMethod to B.
};

TEST_F(MetadataInterceptorTest, ParentPassesTraceAndDeadlineToTheNextHop) {
  Probe b_probe;
  Server* b =
      StartServer([&](Server* s) { MRPC_CHECK_OK(b_probe.Register(s)); });
  auto to_b = NewChannel(b);

  Mutex mu;
  RelaySeen relay;  // Guarded by mu.
  Channel* const next = to_b.get();
  Server* a = StartServer([&](Server* s) {
    MRPC_CHECK_OK(s->RegisterMethod<EchoRequest, EchoResponse>(
        kProbeService, "Relay",
        [&mu, &relay, next](ServerContext* ctx, const EchoRequest& req,
                            EchoResponse* resp, RpcDone done) {
          // The chained call's state lives until its callback.
          struct Hop {
            ClientContext ctx;
            EchoResponse response;
          };
          auto hop = std::make_shared<Hop>();
          hop->ctx.set_parent(*ctx);
          {
            MutexLock lock(&mu);
            relay.a_trace = ctx->trace();
            relay.a_deadline = ctx->deadline();
            relay.child_deadline = hop->ctx.deadline();
            relay.child_trace = hop->ctx.trace();
            relay.sent_at = absl::Now();
          }
          // Never block the loop: finish from the chained call's callback.
          next->CallMethod(
              kProbeService, "Record", req, &hop->response, &hop->ctx,
              [hop, resp, done = std::move(done)](absl::Status status) mutable {
                if (status.ok()) {
                  resp->set_payload(hop->response.payload());
                }
                done(std::move(status));
              });
        }));
  });
  auto to_a = NewChannel(a);

  absl::optional<TraceContext> sent = TraceContext::Parse(kW3cExample);
  ASSERT_TRUE(sent.has_value());
  ClientContext ctx;
  ctx.set_trace(*sent);
  ctx.set_timeout(absl::Seconds(20));
  ASSERT_TRUE(Call(to_a.get(), kProbeService, "Relay", "hop", &ctx).ok());

  RelaySeen seen_a;
  {
    MutexLock lock(&mu);
    seen_a = relay;
  }
  // A continues the client's trace: the same ids and flags.
  EXPECT_EQ(seen_a.a_trace.ToTraceparent(), kW3cExample);
  // B sees the same trace id, a new span id, the same flags.
  const Probe::Seen seen_b = b_probe.seen();
  absl::optional<absl::string_view> header =
      FindMetadata(seen_b.metadata, kTraceparentKey);
  ASSERT_TRUE(header.has_value());
  absl::optional<TraceContext> at_b = TraceContext::Parse(*header);
  ASSERT_TRUE(at_b.has_value()) << *header;
  EXPECT_EQ(at_b->trace_id, sent->trace_id);
  EXPECT_NE(at_b->span_id, sent->span_id);
  EXPECT_EQ(at_b->flags, sent->flags);
  ASSERT_TRUE(seen_a.child_trace.has_value());
  EXPECT_EQ(*header, seen_a.child_trace->ToTraceparent());

  // The deadline: the child context takes A's exactly. B measures it from
  // its own arrival (the wire carries a relative timeout), so it can be
  // later than A's by at most the time from A's send to B's handler.
  ASSERT_NE(seen_a.a_deadline, absl::InfiniteFuture());
  EXPECT_EQ(seen_a.child_deadline, seen_a.a_deadline);
  ASSERT_NE(seen_b.deadline, absl::InfiniteFuture());
  EXPECT_LE(seen_b.deadline,
            seen_a.a_deadline + (seen_b.handled_at - seen_a.sent_at));
  EXPECT_GE(seen_b.deadline, seen_a.a_deadline - absl::Milliseconds(1));
  EXPECT_LE(seen_b.deadline, ctx.deadline() + absl::Seconds(1));

  // A call without a trace starts one at A (a new root), which B continues.
  ClientContext untraced;
  ASSERT_TRUE(Call(to_a.get(), kProbeService, "Relay", "hop", &untraced).ok());
  {
    MutexLock lock(&mu);
    seen_a = relay;
  }
  EXPECT_NE(seen_a.a_trace.trace_id, sent->trace_id);
  EXPECT_EQ(seen_a.a_deadline, absl::InfiniteFuture());  // None to pass on.
  const Probe::Seen seen_b2 = b_probe.seen();
  header = FindMetadata(seen_b2.metadata, kTraceparentKey);
  ASSERT_TRUE(header.has_value());
  at_b = TraceContext::Parse(*header);
  ASSERT_TRUE(at_b.has_value());
  EXPECT_EQ(at_b->trace_id, seen_a.a_trace.trace_id);
  EXPECT_NE(at_b->span_id, seen_a.a_trace.span_id);
  EXPECT_EQ(b_probe.seen().deadline, absl::InfiniteFuture());

  // A context with neither trace nor parent sends no traceparent at all.
  ClientContext plain;
  ASSERT_TRUE(Record(to_b.get(), &plain).ok());
  EXPECT_TRUE(b_probe.seen().metadata.empty());
  ASSERT_TRUE(Record(to_b.get(), nullptr).ok());
  EXPECT_TRUE(b_probe.seen().metadata.empty());
}

TEST_F(MetadataInterceptorTest, ParentViaCallOptionsAndMalformedTraceparent) {
  Probe b_probe;
  Server* b =
      StartServer([&](Server* s) { MRPC_CHECK_OK(b_probe.Register(s)); });
  auto to_b = NewChannel(b);
  // A: passes its context as CallOptions::parent (the stub path) and blocks
  // on the worker pool, where blocking is allowed.
  Mutex mu;
  std::string a_trace_id;  // Guarded by mu.
  Channel* const next = to_b.get();
  MethodOptions on_worker;
  on_worker.use_worker_pool = true;
  Server* a = StartServer([&](Server* s) {
    MRPC_CHECK_OK(s->RegisterMethod<EchoRequest, EchoResponse>(
        kProbeService, "RelayBlocking",
        [&mu, &a_trace_id, next](ServerContext* ctx, const EchoRequest& req,
                                 EchoResponse* resp, RpcDone done) {
          {
            MutexLock lock(&mu);
            a_trace_id = ctx->trace().TraceIdHex();
          }
          CallOptions options;
          options.parent = ctx;
          absl::StatusOr<EchoResponse> reply = BlockingCall<EchoResponse>(
              next, kProbeService, "Record", req, options);
          if (reply.ok()) *resp = *reply;
          done(std::move(reply).status());
        },
        on_worker));
  });
  auto to_a = NewChannel(a);

  // A malformed traceparent from the client: A starts a new trace.
  CallOptions options;
  options.metadata = {{"traceparent", "00-not-a-trace-01"}};
  EchoRequest req;
  ASSERT_TRUE(BlockingCall<EchoResponse>(to_a.get(), kProbeService,
                                         "RelayBlocking", req, options)
                  .ok());
  std::string trace_id;
  {
    MutexLock lock(&mu);
    trace_id = a_trace_id;
  }
  EXPECT_EQ(trace_id.size(), 32u);
  const Probe::Seen seen_b = b_probe.seen();
  absl::optional<absl::string_view> header =
      FindMetadata(seen_b.metadata, kTraceparentKey);
  ASSERT_TRUE(header.has_value());
  absl::optional<TraceContext> at_b = TraceContext::Parse(*header);
  ASSERT_TRUE(at_b.has_value()) << *header;
  EXPECT_EQ(at_b->TraceIdHex(), trace_id);
}

// ---------------------------------------------------------------------------
// ServerContext::NotifyOnCancel.

TEST_F(MetadataInterceptorTest, TryCancelRunsTheServersCancelCallback) {
  CancelProbe& probe = cancel_;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);

  ClientContext ctx;
  EchoRequest req;
  EchoResponse resp;
  Notification done;
  absl::Status status;
  channel->CallMethod(kProbeService, "AwaitCancel", req, &resp, &ctx,
                      [&](absl::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
  ASSERT_TRUE(
      probe.registered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ctx.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  ASSERT_TRUE(
      probe.cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(probe.was_cancelled);
  EXPECT_TRUE(probe.second_ran_at_once);
  EXPECT_TRUE(resp.payload().empty());

  // The server answers a CANCEL at once (CANCELLED; the client has already
  // completed, so it counts as late), marking the call answered before the
  // callback runs: the `done` the callback calls sends nothing. One late
  // response, not two; the fence call's answer comes after any of them.
  ASSERT_TRUE(Call(channel.get(), kTestService, "Echo", "fence").ok());
  EXPECT_EQ(channel->stats().late_responses, 1u);
  ASSERT_TRUE(Eventually([&] { return server->stats().responses >= 2; }));
  EXPECT_EQ(server->stats().responses, 2u);
  EXPECT_EQ(server->stats().cancels, 1u);
  EXPECT_EQ(channel->stats().connection_losses, 0u);
}

TEST_F(MetadataInterceptorTest, DeadlineRunsTheServersCancelCallback) {
  CancelProbe& probe = cancel_;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);

  ClientContext ctx;
  ctx.set_timeout(absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  absl::Status status =
      Call(channel.get(), kProbeService, "AwaitCancel", "", &ctx);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
  ASSERT_TRUE(
      probe.cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(probe.was_cancelled);

  // Whichever came first at the server (its own deadline timer or the
  // client's CANCEL) answered once; the callback's `done` sent nothing.
  ASSERT_TRUE(Call(channel.get(), kTestService, "Echo", "fence").ok());
  EXPECT_LE(channel->stats().late_responses, 1u);
  ASSERT_TRUE(Eventually([&] { return server->stats().responses >= 2; }));
  EXPECT_EQ(server->stats().responses, 2u);
  EXPECT_EQ(channel->stats().connection_losses, 0u);
}

// A connection reset (the client process died) cancels the call.
TEST_F(MetadataInterceptorTest, ConnectionResetRunsTheServersCancelCallback) {
  CancelProbe& probe = cancel_;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  absl::StatusOr<testing::RawClient> raw =
      testing::RawClient::Connect(InetAddress::Loopback(server->port()));
  ASSERT_TRUE(raw.ok()) << raw.status();
  RpcMeta meta;
  meta.set_type(REQUEST);
  meta.set_correlation_id(1);
  meta.set_service(kProbeService);
  meta.set_method("AwaitCancel");
  Buffer frame;
  EncodeFrame(meta, absl::string_view(), &frame);
  ASSERT_TRUE(raw->Write(frame.RetrieveAllAsString()).ok());
  ASSERT_TRUE(
      probe.registered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(raw->SetLingerZero().ok());
  raw->Close();  // RST.
  ASSERT_TRUE(
      probe.cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(probe.was_cancelled);
  ASSERT_TRUE(Eventually([&] { return server->stats().calls_in_flight == 0; }));
  EXPECT_EQ(server->stats().responses, 0u);  // Nobody left to answer.
}

// Destroying a Channel with a call in flight sends CANCEL before it closes:
// the server cancels the call (a FIN alone would read as a half-close, after
// which the server keeps serving what it owes) and answers it CANCELLED.
TEST_F(MetadataInterceptorTest,
       ChannelDestroyedRunsTheServersCancelCallback) {
  CancelProbe& probe = cancel_;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  auto channel = NewChannel(server);
  EchoRequest req;
  EchoResponse resp;
  Notification done;
  absl::Status status;
  channel->CallMethod(kProbeService, "AwaitCancel", req, &resp, nullptr,
                      [&](absl::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
  ASSERT_TRUE(
      probe.registered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  channel.reset();  // Completes the call CANCELLED and closes the connection.
  ASSERT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  ASSERT_TRUE(
      probe.cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(probe.was_cancelled);
  ASSERT_TRUE(Eventually([&] { return server->stats().calls_in_flight == 0; }));
  EXPECT_EQ(server->stats().cancels, 1u);
  EXPECT_EQ(server->stats().responses, 1u);  // The CANCELLED answer.
}

TEST_F(MetadataInterceptorTest, CancelCallbackNeverRunsAfterANormalAnswer) {
  std::atomic<bool> callback_ran{false};
  Server* server = StartServer([&](Server* s) {
    MRPC_CHECK_OK(s->RegisterMethod<EchoRequest, EchoResponse>(
        kProbeService, "AnswerAtOnce",
        [&callback_ran](ServerContext* ctx, const EchoRequest&, EchoResponse*,
                        RpcDone done) {
          ctx->NotifyOnCancel([&callback_ran] { callback_ran = true; });
          done(absl::OkStatus());
        }));
  });
  auto channel = NewChannel(server);
  ASSERT_TRUE(Call(channel.get(), kProbeService, "AnswerAtOnce", "").ok());
  channel.reset();  // The connection closes after the call was answered.
  ASSERT_TRUE(Eventually([&] { return server->stats().connections == 0; }));
  EXPECT_FALSE(callback_ran.load());
}

// OnComplete sees the call's names however they were passed: as views of
// strings that are gone by then (the channel interns them), or as a
// MethodName with lasting storage (kept as is); on the loop or from another
// thread.
TEST_F(MetadataInterceptorTest, ClientInterceptorSeesNamesAtCompletion) {
  Probe probe;
  Server* server =
      StartServer([&](Server* s) { MRPC_CHECK_OK(probe.Register(s)); });
  class Names : public ClientInterceptor {
   public:
    void OnComplete(const ClientCall& call, const absl::Status&,
                    absl::Duration) override {
      MutexLock lock(&mu_);
      seen_.push_back(absl::StrCat(call.service, "/", call.method));
    }
    std::vector<std::string> seen() {
      MutexLock lock(&mu_);
      return seen_;
    }

   private:
    Mutex mu_;
    std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
  };
  auto names = std::make_shared<Names>();
  ChannelOptions options;
  options.interceptors = {names};
  auto channel = NewChannel(server, options);
  EchoRequest req;
  EchoResponse resp;
  {
    // Temporaries, gone before the call completes.
    std::string service = kProbeService;
    std::string method = "Record";
    Notification done;
    channel->CallMethod(service, method, req, &resp, nullptr,
                        [&](absl::Status) { done.Notify(); });
    service.assign(service.size(), 'x');  // Overwritten, then freed.
    method.assign(method.size(), 'y');
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  static const MethodName kRecord = {kProbeService, "Record"};
  MRPC_CHECK_OK(channel->CallMethodBlocking(kRecord, req, &resp));
  // And from the channel's own loop, where the views are used directly.
  Notification on_loop;
  channel->loop()->RunInLoop([&] {
    channel->CallMethod(kRecord, req, &resp, nullptr,
                        [&](absl::Status) { on_loop.Notify(); });
  });
  ASSERT_TRUE(on_loop.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const std::string want = absl::StrCat(kProbeService, "/Record");
  EXPECT_EQ(names->seen(), (std::vector<std::string>{want, want, want}));
}

}  // namespace
}  // namespace mrpc
