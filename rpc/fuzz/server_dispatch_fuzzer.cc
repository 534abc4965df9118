// Fuzzes the server's handling of whatever a client sends: each input is
// written on a fresh connection to a live in-process server (then the
// client half-closes), exercising protocol detection, decoding and the
// dispatch of every frame type, metadata and an interceptor included, and
// HTTP requests on the same port. Properties: the process never crashes
// (ASan, UBSan); to binary input the server answers only with well-formed
// RESPONSE and PONG frames whose metadata is within the default limits; to
// input that starts as HTTP, only with well-formed HTTP/1.1 responses; it
// always closes the connection (a hang is a finding); and every 64 inputs
// a normal client is still served.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/buffer.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/codec.h"
#include "rpc/fuzz/fuzz_check.h"
#include "rpc/server.h"

namespace {

using mrpc::echo::EchoRequest;
using mrpc::echo::EchoResponse;

constexpr char kService[] = "mrpc.echo.EchoService";

// The server under test (started once, kept for the process's life).
struct Target {
  Target() {
    mrpc::ServerOptions options;
    options.num_threads = 1;
    options.worker_threads = 1;
    options.max_frame_size = 64 * 1024;
    options.idle_timeout = absl::Seconds(2);
    options.frame_timeout = absl::Seconds(1);
    server = std::make_unique<mrpc::Server>(options);
    auto echo = [](mrpc::ServerContext*, const EchoRequest& req,
                   EchoResponse* resp, mrpc::RpcDone done) {
      resp->set_payload(req.payload());
      done(absl::OkStatus());
    };
    FUZZ_CHECK(
        (server
             ->RegisterMethod<EchoRequest, EchoResponse>(kService, "Echo", echo)
             .ok()));
    mrpc::MethodOptions pool;
    pool.use_worker_pool = true;
    FUZZ_CHECK((server
                    ->RegisterMethod<EchoRequest, EchoResponse>(
                        kService, "SlowEcho", echo, pool)
                    .ok()));
    FUZZ_CHECK((server
                    ->RegisterMethod<EchoRequest, EchoResponse>(
                        kService, "Fail",
                        [](mrpc::ServerContext*, const EchoRequest& req,
                           EchoResponse*, mrpc::RpcDone done) {
                          done(absl::Status(static_cast<absl::StatusCode>(
                                                1 + req.payload().size() % 16),
                                            req.payload()));
                        })
                    .ok()));
    // Metadata both ways: "Meta" echoes the request's metadata into the
    // response's (reserved keys are refused by AddResponseMetadata), and an
    // interceptor rejects calls that carry "deny".
    FUZZ_CHECK((server
                    ->RegisterMethod<EchoRequest, EchoResponse>(
                        kService, "Meta",
                        [](mrpc::ServerContext* ctx, const EchoRequest&,
                           EchoResponse*, mrpc::RpcDone done) {
                          for (const auto& [key, value] : ctx->metadata()) {
                            ctx->AddResponseMetadata(key, value).IgnoreError();
                          }
                          done(absl::OkStatus());
                        })
                    .ok()));
    struct Deny : mrpc::ServerInterceptor {
      absl::Status OnRequest(mrpc::ServerContext* ctx) override {
        if (mrpc::FindMetadata(ctx->metadata(), "deny").has_value()) {
          return absl::PermissionDeniedError("denied");
        }
        return absl::OkStatus();
      }
    };
    FUZZ_CHECK(server->AddInterceptor(std::make_unique<Deny>()).ok());
    FUZZ_CHECK(server->Start("127.0.0.1:0").ok());
    address = mrpc::InetAddress::Loopback(server->port());
    auto created =
        mrpc::Channel::Create(absl::StrCat("127.0.0.1:", server->port()));
    FUZZ_CHECK(created.ok());
    health = std::move(*created);
  }

  std::unique_ptr<mrpc::Server> server;
  mrpc::InetAddress address;
  std::unique_ptr<mrpc::Channel> health;
};

Target& GetTarget() {
  // Deliberately never destroyed: the fuzzer exits without running it down.
  static Target* target = new Target;
  return *target;
}

// The input starts as an HTTP/1.1 request line would (a method and a
// space), which is what the server serves as HTTP.
bool StartsAsHttp(absl::string_view input) {
  for (absl::string_view method :
       {"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ",
        "TRACE ", "CONNECT "}) {
    if (absl::StartsWith(input, method)) return true;
  }
  return false;
}

// `received` is a sequence of whole HTTP/1.1 responses, each with a status
// line, headers and a body of its Content-Length (none for 1xx and 204).
// After a HEAD request bodies are omitted: only the first response's head
// is checked then.
void CheckHttpResponses(absl::string_view received, bool head_requests) {
  while (!received.empty()) {
    const size_t end = received.find("\r\n\r\n");
    FUZZ_CHECK(end != absl::string_view::npos);
    std::vector<absl::string_view> lines =
        absl::StrSplit(received.substr(0, end), "\r\n");
    FUZZ_CHECK(absl::StartsWith(lines[0], "HTTP/1.1 "));
    int status = 0;
    FUZZ_CHECK(absl::SimpleAtoi(lines[0].substr(9, 3), &status));
    FUZZ_CHECK(status >= 100 && status <= 599);
    size_t length = 0;
    bool has_length = false;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      FUZZ_CHECK(colon != absl::string_view::npos && colon > 0);
      if (absl::EqualsIgnoreCase(lines[i].substr(0, colon), "content-length")) {
        FUZZ_CHECK(absl::SimpleAtoi(
            absl::StripAsciiWhitespace(lines[i].substr(colon + 1)), &length));
        has_length = true;
      }
    }
    received.remove_prefix(end + 4);
    if (head_requests) return;
    if (status < 200 || status == 204) continue;
    FUZZ_CHECK(has_length && length <= received.size());
    received.remove_prefix(length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& target = GetTarget();
  absl::StatusOr<mrpc::testing::RawClient> client =
      mrpc::testing::RawClient::Connect(target.address, absl::Seconds(5));
  FUZZ_CHECK(client.ok());
  FUZZ_CHECK(
      client
          ->Write(absl::string_view(reinterpret_cast<const char*>(data), size))
          .ok());
  FUZZ_CHECK(client->ShutdownWrite().ok());
  // The server answers what it can, then closes: on our FIN, a protocol
  // error, or (for a stalled partial frame) its timeouts.
  std::string received;
  FUZZ_CHECK(client->WaitForClose(absl::Seconds(10), &received).ok());
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (StartsAsHttp(input)) {
    CheckHttpResponses(received, absl::StrContains(input, "HEAD "));
  } else {
    mrpc::Buffer replies;
    replies.Append(received);
    mrpc::FrameMeta scratch;
    absl::Status decoded = mrpc::DecodeFrames(
        &replies, 1 << 20, &scratch,
        [](const mrpc::FrameMeta& meta, absl::string_view) {
          FUZZ_CHECK(meta.type() == mrpc::RESPONSE ||
                     meta.type() == mrpc::PONG);
          // The server never sends metadata a default client would refuse.
          FUZZ_CHECK(mrpc::CheckMetadata(meta, mrpc::kDefaultMaxMetadataBytes,
                                         mrpc::kDefaultMaxMetadataEntries)
                         .ok());
          return true;
        });
    FUZZ_CHECK(decoded.ok());
    FUZZ_CHECK(replies.ReadableBytes() == 0);  // Only whole frames.
  }

  static int inputs = 0;
  if (++inputs % 64 == 0) {
    EchoRequest request;
    request.set_payload("still alive?");
    EchoResponse response;
    mrpc::ClientContext ctx;
    ctx.set_timeout(absl::Seconds(5));
    FUZZ_CHECK(
        target.health
            ->CallMethodBlocking(kService, "Echo", request, &response, &ctx)
            .ok());
    FUZZ_CHECK(response.payload() == "still alive?");
  }
  return 0;
}
