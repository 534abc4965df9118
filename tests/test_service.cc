#include "tests/test_service.h"

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "proto/echo.pb.h"

namespace mrpc::testing {

using echo::EchoRequest;
using echo::EchoResponse;

absl::Status RegisterTestService(Server* server,
                                 TestServiceCounters* counters) {
  absl::Status status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Echo",
      [](ServerContext*, const EchoRequest& req, EchoResponse* resp,
         RpcDone done) {
        resp->set_payload(req.payload());
        done(absl::OkStatus());
      });
  if (!status.ok()) return status;

  status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Delay",
      [counters](ServerContext* ctx, const EchoRequest& req, EchoResponse* resp,
                 RpcDone done) {
        int ms = 0;
        if (!absl::SimpleAtoi(req.payload(), &ms)) {
          done(absl::InvalidArgumentError("Delay wants milliseconds"));
          return;
        }
        resp->set_payload(req.payload());
        ctx->loop()->RunAfter(
            absl::Milliseconds(ms),
            [ctx, counters, done = std::move(done)]() mutable {
              if (ctx->IsCancelled()) ++counters->delays_cancelled;
              done(absl::OkStatus());
            });
      });
  if (!status.ok()) return status;

  MethodOptions blocking;
  blocking.use_worker_pool = true;
  status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Sleep",
      [counters](ServerContext*, const EchoRequest& req, EchoResponse* resp,
                 RpcDone done) {
        ++counters->sleep_runs;
        int ms = 0;
        absl::SimpleAtoi(req.payload(), &ms);
        absl::SleepFor(absl::Milliseconds(ms));  // The blocking work itself.
        resp->set_payload(req.payload());
        done(absl::OkStatus());
      },
      blocking);
  if (!status.ok()) return status;

  status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Hold",
      [counters](ServerContext*, const EchoRequest&, EchoResponse*,
                 RpcDone done) {
        counters->holds_released.WaitForNotificationWithTimeout(
            absl::Seconds(60));
        done(absl::OkStatus());
      },
      blocking);
  if (!status.ok()) return status;

  status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Fail",
      [](ServerContext*, const EchoRequest& req, EchoResponse*, RpcDone done) {
        std::pair<std::string, std::string> parts =
            absl::StrSplit(req.payload(), absl::MaxSplits(':', 1));
        int code = 2;
        absl::SimpleAtoi(parts.first, &code);
        done(absl::Status(static_cast<absl::StatusCode>(code), parts.second));
      });
  if (!status.ok()) return status;

  status = server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "WaitCancel",
      [counters](ServerContext* ctx, const EchoRequest&, EchoResponse*,
                 RpcDone done) {
        // Shared: the callback owns `done` once registered.
        auto pending = std::make_shared<RpcDone>(std::move(done));
        ctx->NotifyOnCancel([counters, pending] {
          ++counters->cancel_callbacks;
          (*pending)(absl::CancelledError("WaitCancel saw the cancellation"));
        });
      });
  if (!status.ok()) return status;

  return server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Big",
      [](ServerContext*, const EchoRequest& req, EchoResponse* resp,
         RpcDone done) {
        size_t size = 0;
        absl::SimpleAtoi(req.payload(), &size);
        resp->set_payload(std::string(size, 'b'));
        done(absl::OkStatus());
      });
}

}  // namespace mrpc::testing
