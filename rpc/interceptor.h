// Interceptors: code that runs around every call, on the server and on the
// client, for cross-cutting concerns (authentication, quotas, logging,
// metrics, adding metadata). Each Server and Channel holds an ordered chain.
//
// Public. Interceptors run on the event loop that owns the call (the
// connection's loop on a server, the channel's loop on a client), so they
// must never block; they may be called from several loops at once, so any
// state they keep must be thread-safe. A server interceptor is owned by its
// Server, a client interceptor by its Channel.
//
// Server order: OnRequest runs in chain order before the request is parsed
// and before the handler; the first non-OK status rejects the call with that
// status (the handler and later interceptors do not run). OnResponse runs
// once the call is answered, in reverse order, for every interceptor whose
// OnRequest ran.
//
// Client order: OnCall runs in chain order before the request is sent; a
// non-OK status fails the call with it. OnComplete runs, in reverse order,
// for every interceptor whose OnCall ran, just before the call's callback.
//
// Example (reject calls without a token):
//   class AuthInterceptor : public ServerInterceptor {
//     absl::Status OnRequest(ServerContext* ctx) override {
//       if (!FindMetadata(ctx->metadata(), "authorization"))
//         return absl::UnauthenticatedError("no token");
//       return absl::OkStatus();
//     }
//   };
//   server.AddInterceptor(std::make_unique<AuthInterceptor>());
#ifndef MRPC_RPC_INTERCEPTOR_H_
#define MRPC_RPC_INTERCEPTOR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rpc/metadata.h"
#include "rpc/server_context.h"

namespace mrpc {

class ClientContext;

class ServerInterceptor {
 public:
  virtual ~ServerInterceptor() = default;
  // Before the handler. `context` has the service, method, peer, deadline
  // and request metadata; an interceptor may add response metadata. Return
  // a non-OK status to answer the call with it instead.
  virtual absl::Status OnRequest(ServerContext* context) {
    return absl::OkStatus();
  }
  // After the call was answered with `status`; `latency` runs from the
  // loop iteration that read the request to the answer.
  virtual void OnResponse(ServerContext* context, const absl::Status& status,
                          absl::Duration latency) {}
};

// What a client interceptor sees of a call. Valid during each hook only.
struct ClientCall {
  absl::string_view service;
  absl::string_view method;
  absl::Time deadline = absl::InfiniteFuture();
  // The caller's context; null if the call has none.
  const ClientContext* context = nullptr;
};

class ClientInterceptor {
 public:
  virtual ~ClientInterceptor() = default;
  // Before the request is sent. May append to `metadata` (the request's
  // metadata, the context's entries first; keys as ValidateUserMetadataKey
  // allows). Return a non-OK status to fail the call with it.
  virtual absl::Status OnCall(const ClientCall& call, Metadata* metadata) {
    return absl::OkStatus();
  }
  // The call's outcome; `latency` runs from the loop iteration that took
  // the call up to the one that saw its outcome (response read, deadline
  // fired, ...): the loop's own clock reads, so timing costs no clock read.
  virtual void OnComplete(const ClientCall& call, const absl::Status& status,
                          absl::Duration latency) {}
};

}  // namespace mrpc

#endif  // MRPC_RPC_INTERCEPTOR_H_
