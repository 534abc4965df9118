// The server's HTTP side of a connection: built-in pages and calls of
// registered methods with JSON or protobuf bodies (docs/guide.md, "HTTP,
// metrics and status pages"). Framing, limits and timeouts are the
// session's (rpc/http/http_session.h); a call runs exactly as a binary one
// (the same admission, interceptors, worker pool and counters), answered
// through AnswerHttp.
#include <glog/logging.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/tcp_connection.h"
#include "rpc/free_list_allocator.h"
#include "rpc/http/http_status.h"
#include "rpc/http/json_codec.h"
#include "rpc/limits.h"
#include "rpc/overload.h"
#include "rpc/server_call.h"
#include "rpc/server_connection.h"

namespace mrpc {
namespace {

// The request header that carries a call's timeout, in milliseconds.
constexpr absl::string_view kTimeoutHeader = "mrpc-timeout-ms";

// Headers that frame the HTTP exchange itself; the others reach the
// handler as request metadata.
bool IsHttpFramingHeader(absl::string_view name) {
  static constexpr absl::string_view kFraming[] = {
      "host",   "content-length", "content-type", "transfer-encoding",
      "connection", "keep-alive", "expect",       "te",
      "trailer", "upgrade",       "accept",       "accept-encoding",
      "proxy-connection", kTimeoutHeader,
  };
  for (absl::string_view f : kFraming) {
    if (name == f) return true;
  }
  return false;
}

enum class BodyFormat { kJson, kProtobuf, kUnsupported };

BodyFormat FormatOf(const HttpServerRequest& request) {
  const std::string* type = request.Header("content-type");
  if (type == nullptr) return BodyFormat::kJson;
  absl::string_view media = *type;
  media = media.substr(0, media.find(';'));
  media = absl::StripAsciiWhitespace(media);
  const std::string lower = absl::AsciiStrToLower(media);
  // curl -d sends its body as a form; text/plain is what a browser's
  // simple request may use. Both bodies are read as JSON.
  if (lower.empty() || lower == "application/json" ||
      lower == "application/x-www-form-urlencoded" || lower == "text/plain") {
    return BodyFormat::kJson;
  }
  if (lower == "application/x-protobuf" || lower == "application/protobuf" ||
      lower == "application/octet-stream") {
    return BodyFormat::kProtobuf;
  }
  return BodyFormat::kUnsupported;
}

// A metadata value that can go out as a header value.
bool IsHeaderSafe(absl::string_view value) {
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

void ServerConnection::OnHttpRequest(const TcpConnectionPtr& conn,
                                     HttpServerRequest* request) {
  const std::string& path = request->path;
  auto page = shared_->pages.find(path);
  if (page != shared_->pages.end()) {
    if (request->method != "GET" && request->method != "HEAD") {
      HttpReply reply;
      reply.status = 405;
      reply.headers.emplace_back("Allow", "GET, HEAD");
      reply.body = JsonErrorBody(absl::InvalidArgumentError(
          absl::StrCat(path, " takes GET or HEAD, not ", request->method)));
      http_->Reply(conn, std::move(reply));
      return;
    }
    HttpReply reply;
    page->second(*request, &reply);
    http_->Reply(conn, std::move(reply));
    return;
  }
  // /<service>/<method>
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(absl::string_view(path).substr(1),
                     absl::MaxSplits('/', 1));
  auto service = shared_->methods.end();
  if (!path.empty() && !parts.first.empty() && !parts.second.empty()) {
    service = shared_->methods.find(parts.first);
  }
  if (service == shared_->methods.end()) {
    HttpReply reply;
    reply.status = 404;
    reply.body = JsonErrorBody(absl::NotFoundError(absl::StrCat(
        "no page or service at ", path,
        "; call a method with POST /<package.Service>/<Method>")));
    http_->Reply(conn, std::move(reply));
    return;
  }
  auto method = service->second.find(parts.second);
  if (method == service->second.end()) {
    LoopCounters::Add(counters_.unimplemented);
    ReplyHttpError(conn, absl::UnimplementedError(absl::StrCat(
                             "unknown method \"", parts.second,
                             "\" of service \"", parts.first, "\"")));
    return;
  }
  if (request->method != "POST") {
    HttpReply reply;
    reply.status = 405;
    reply.headers.emplace_back("Allow", "POST");
    reply.body = JsonErrorBody(absl::InvalidArgumentError(
        absl::StrCat("call a method with POST, not ", request->method)));
    http_->Reply(conn, std::move(reply));
    return;
  }
  StartHttpCall(conn, method->second, request);
}

void ServerConnection::StartHttpCall(const TcpConnectionPtr& conn,
                                     const ServerMethod& method,
                                     HttpServerRequest* request) {
  // Also reached from ResumeHttp (a pipelined request after an answer),
  // outside OnMessage: protobuf's and the JSON parser's logs name the peer.
  const ScopedLogPeer log_peer(conn->peer_address());
  LoopCounters::Add(counters_.requests);
  const BodyFormat format = FormatOf(*request);
  if (format == BodyFormat::kUnsupported) {
    HttpReply reply;
    reply.status = 415;
    reply.body = JsonErrorBody(absl::InvalidArgumentError(absl::StrCat(
        "unsupported Content-Type \"", *request->Header("content-type"),
        "\"; use application/json or application/x-protobuf")));
    http_->Reply(conn, std::move(reply));
    return;
  }
  if (shared_->draining.load(std::memory_order_relaxed)) {
    ReplyHttpError(conn, absl::UnavailableError("the server is shutting down"),
                   /*refused=*/true);
    return;
  }
  if (shared_->budget.Exhausted()) {
    LoopCounters::Add(counters_.memory_refusals);
    LoopCounters::Add(counters_.overloaded);
    ReplyHttpError(conn,
                   MemoryError(absl::StrCat("the request of ",
                                            request->body.size(), " bytes"),
                               *conn),
                   /*refused=*/true);
    return;
  }
  // Request headers become metadata, under the same limits as binary
  // callers' (a header whose name is not a valid key is not passed on).
  Metadata metadata;
  uint64_t timeout_us = 0;
  for (const auto& [name, value] : request->headers) {
    if (name == kTimeoutHeader) {
      uint64_t ms = 0;
      if (!absl::SimpleAtoi(value, &ms)) {
        ReplyHttpError(conn, absl::InvalidArgumentError(absl::StrCat(
                                 kTimeoutHeader, " \"", value,
                                 "\" is not a number of milliseconds")));
        return;
      }
      timeout_us = ms > kMaxTimeoutUs / 1000 ? 0 : ms * 1000;
      continue;
    }
    if (IsHttpFramingHeader(name) || !ValidateMetadataKey(name).ok()) continue;
    metadata.emplace_back(name, value);
  }
  const ServerOptions& o = shared_->options;
  absl::Status fits =
      CheckMetadata(metadata, o.max_metadata_bytes, o.max_metadata_entries);
  if (!fits.ok()) {
    LoopCounters::Add(counters_.invalid_metadata);
    ReplyHttpError(conn, absl::Status(fits.code(),
                                      absl::StrCat("request metadata: ",
                                                   fits.message())));
    return;
  }
  const absl::Time now = absl::Now();
  const absl::Time deadline =
      timeout_us == 0 ? absl::InfiniteFuture()
                      : now + absl::Microseconds(static_cast<int64_t>(timeout_us));
  absl::Status refused;
  bool light = false;
  ConcurrencyLimiter* limiter = AdmitCall(handle_.get(), method, o, timeout_us,
                                          calls_.size(), &refused, &light);
  if (!refused.ok()) {
    handle_->method_stats[method.index].Record(refused.code(), 0);
    ReplyHttpError(conn, refused, /*refused=*/true);
    return;
  }
  const uint64_t id = ++http_calls_;
  auto call = std::allocate_shared<ServerCall>(
      FreeListAllocator<ServerCall>(), &method, id, now, deadline, conn, this,
      shared_.get(), handle_.get());
  call->SetHttp(format == BodyFormat::kJson);
  if (limiter != nullptr && !limiter->inline_only()) {
    call->SetLimiter(limiter, loop_->CachedNowNs(), light);
  }
  if (!metadata.empty()) call->SetMetadata(std::move(metadata));
  const std::string body = std::move(request->body);
  call->Start(conn, body, call);  // An HTTP call is always pending.
  if (limiter != nullptr && limiter->inline_only() && !call->answered()) {
    limiter->EndInlineOnly();
    call->SetLimiter(limiter, loop_->CachedNowNs(), /*light=*/false);
  }
}

absl::Status ServerConnection::AnswerHttp(ServerCall* call,
                                          const absl::Status& status) {
  const TcpConnectionPtr& conn = call->connection();
  HttpReply reply;
  absl::Status sent = status;
  if (sent.ok()) {
    const google::protobuf::Message* response = call->response();
    if (call->json()) {
      sent = MessageToJson(*response, &reply.body);
    } else {
      reply.content_type = "application/x-protobuf";
      if (!response->SerializeToString(&reply.body)) {
        sent = absl::InternalError("cannot serialize the response");
      }
    }
    const size_t max = shared_->options.max_frame_size;
    if (sent.ok() && reply.body.size() > max) {
      LoopCounters::Add(counters_.oversized_responses);
      LoopCounters::Add(counters_.overloaded);
      sent = absl::ResourceExhaustedError(absl::StrCat(
          "the response of ", reply.body.size(),
          " bytes is over the server's limit of ", max,
          " bytes (max_frame_size); it was not sent"));
    }
  }
  if (!sent.ok()) {
    reply.status = HttpStatusFromCode(sent.code());
    reply.content_type = "application/json";
    reply.body = JsonErrorBody(sent);
  }
  reply.headers.emplace_back("mrpc-status",
                             absl::StrCat(static_cast<int>(sent.code())));
  // The handler's response metadata is ours to read once it is done.
  if (call->handler_done()) {
    for (const auto& [key, value] : call->context()->response_metadata()) {
      if (IsHeaderSafe(value)) reply.headers.emplace_back(key, value);
    }
  }
  if (http_ != nullptr && http_->serving()) http_->Reply(conn, std::move(reply));
  return sent;
}

void ServerConnection::ReplyHttpError(const TcpConnectionPtr& conn,
                                      const absl::Status& status,
                                      bool refused) {
  HttpReply reply;
  reply.status = HttpStatusFromCode(status.code());
  reply.body = JsonErrorBody(status);
  reply.headers.emplace_back("mrpc-status",
                             absl::StrCat(static_cast<int>(status.code())));
  if (refused) reply.headers.emplace_back(kRefusedKey, "1");
  LoopCounters::Add(counters_.responses);
  http_->Reply(conn, std::move(reply));
}

}  // namespace mrpc
