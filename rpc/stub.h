// The call forms generated stubs offer, written once here as templates:
// blocking (returns StatusOr), callback (receives StatusOr), and future.
//
// Public (generated code uses it; hand-written clients may too). Thread-
// safe: every function may be called from any thread. Callbacks run on the
// channel's loop thread. BlockingCall on the channel's own loop thread
// returns FAILED_PRECONDITION instead of deadlocking.
#ifndef MRPC_RPC_STUB_H_
#define MRPC_RPC_STUB_H_

#include <google/protobuf/message.h>

#include <future>
#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/channel.h"
#include "rpc/client_context.h"

namespace mrpc {

// A generated stub's completion callback: the response or the error.
template <typename Response>
using StubCallback = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

// Calls and waits for the response.
template <typename Response>
absl::StatusOr<Response> BlockingCall(Channel* channel,
                                      absl::string_view service,
                                      absl::string_view method,
                                      const google::protobuf::Message& request,
                                      const CallOptions& options) {
  ClientContext context;
  context.ApplyOptions(options);
  return BlockingCall<Response>(channel, service, method, request, &context);
}

// Calls and waits, with `context` (may be null) for metadata both ways.
template <typename Response>
absl::StatusOr<Response> BlockingCall(Channel* channel,
                                      absl::string_view service,
                                      absl::string_view method,
                                      const google::protobuf::Message& request,
                                      ClientContext* context) {
  Response response;
  absl::Status status = channel->CallMethodBlocking(service, method, request,
                                                    &response, context);
  if (!status.ok()) return status;
  return response;
}

// Calls; `done` receives the response or the error, on the channel's loop.
// `context` may be null; if given it must outlive the call.
template <typename Response>
void AsyncCall(Channel* channel, absl::string_view service,
               absl::string_view method,
               const google::protobuf::Message& request, ClientContext* context,
               StubCallback<Response> done) {
  auto response = std::make_unique<Response>();
  Response* raw = response.get();
  channel->CallMethod(service, method, request, raw, context,
                      [response = std::move(response),
                       done = std::move(done)](absl::Status status) mutable {
                        if (status.ok()) {
                          done(std::move(*response));
                        } else {
                          done(std::move(status));
                        }
                      });
}

// Calls; the future becomes ready with the response or the error.
template <typename Response>
std::future<absl::StatusOr<Response>> FutureCall(
    Channel* channel, absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request, const CallOptions& options) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Response>>>();
  std::future<absl::StatusOr<Response>> future = promise->get_future();
  auto context = std::make_unique<ClientContext>();
  context->ApplyOptions(options);
  ClientContext* raw_context = context.get();
  AsyncCall<Response>(channel, service, method, request, raw_context,
                      [promise, context = std::move(context)](
                          absl::StatusOr<Response> result) mutable {
                        promise->set_value(std::move(result));
                      });
  return future;
}

// The same three forms for a method whose name has lasting storage
// (generated stubs pass their constants): the channel neither copies nor
// interns the names.
template <typename Response>
absl::StatusOr<Response> BlockingCall(Channel* channel, const MethodName& name,
                                      const google::protobuf::Message& request,
                                      ClientContext* context) {
  Response response;
  absl::Status status =
      channel->CallMethodBlocking(name, request, &response, context);
  if (!status.ok()) return status;
  return response;
}

template <typename Response>
absl::StatusOr<Response> BlockingCall(Channel* channel, const MethodName& name,
                                      const google::protobuf::Message& request,
                                      const CallOptions& options) {
  ClientContext context;
  context.ApplyOptions(options);
  return BlockingCall<Response>(channel, name, request, &context);
}

template <typename Response>
void AsyncCall(Channel* channel, const MethodName& name,
               const google::protobuf::Message& request, ClientContext* context,
               StubCallback<Response> done) {
  auto response = std::make_unique<Response>();
  Response* raw = response.get();
  channel->CallMethod(name, request, raw, context,
                      [response = std::move(response),
                       done = std::move(done)](absl::Status status) mutable {
                        if (status.ok()) {
                          done(std::move(*response));
                        } else {
                          done(std::move(status));
                        }
                      });
}

template <typename Response>
std::future<absl::StatusOr<Response>> FutureCall(
    Channel* channel, const MethodName& name,
    const google::protobuf::Message& request, const CallOptions& options) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Response>>>();
  std::future<absl::StatusOr<Response>> future = promise->get_future();
  auto context = std::make_unique<ClientContext>();
  context->ApplyOptions(options);
  ClientContext* raw_context = context.get();
  AsyncCall<Response>(channel, name, request, raw_context,
                      [promise, context = std::move(context)](
                          absl::StatusOr<Response> result) mutable {
                        promise->set_value(std::move(result));
                      });
  return future;
}

}  // namespace mrpc

#endif  // MRPC_RPC_STUB_H_
