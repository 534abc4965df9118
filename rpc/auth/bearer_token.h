// Bearer token authentication (RFC 6750) for an mrpc Server: a server
// interceptor that admits a call only if its request metadata carries
//   authorization: Bearer <token>
// with one of the configured tokens, each of which names a principal (the
// caller, e.g. "ops-team"). Binary and HTTP/JSON calls alike are checked:
// an HTTP caller sends the `Authorization` header, which reaches the server
// as that metadata. Rejected calls get UNAUTHENTICATED (HTTP 401) and their
// handler does not run.
//
// Public (//rpc/auth). A BearerTokenInterceptor is immutable once created:
// OnRequest and Verify may run on several loops (and worker threads) at once.
//
// The tokens are secrets: they are compared in constant time (SHA-256 of
// both sides compared with CRYPTO_memcmp, every configured token each time,
// so neither a token's length nor which token matched shows in the timing),
// and no status message, log line or error of this file contains a token or
// any part of one. Send them over TLS only (ServerOptions::tls.required).
//
// Example:
//   absl::StatusOr<std::vector<BearerToken>> tokens =
//       LoadTokenFile("/etc/myserver/tokens");  // "ops-team <token>" lines
//   if (!tokens.ok()) return tokens.status();
//   BearerTokenOptions options;
//   options.tokens = *std::move(tokens);
//   options.exempt_methods = {"mrpc.health.v1.Health/*"};
//   absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>> auth =
//       BearerTokenInterceptor::Create(std::move(options));
//   if (!auth.ok()) return auth.status();
//   const BearerTokenInterceptor* verifier = auth->get();  // For handlers.
//   server.AddInterceptor(*std::move(auth));
//   ...in a handler, the caller's principal:
//   absl::StatusOr<std::string> who = verifier->Verify(*ctx);
//
// A client sends its token as metadata:
//   ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
#ifndef MRPC_RPC_AUTH_BEARER_TOKEN_H_
#define MRPC_RPC_AUTH_BEARER_TOKEN_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/auth/method_table.h"
#include "rpc/interceptor.h"
#include "rpc/metadata.h"
#include "rpc/server_context.h"

namespace mrpc {

// One accepted token and the principal it authenticates. A principal may
// have several tokens (rotation: the old and the new one for a while).
struct BearerToken {
  std::string principal;  // Not secret: appears in errors. "ops-team"
  std::string token;      // Secret. Printable ASCII, no spaces.
};

// Reads a token file: one "<principal> <token>" per line, separated by
// spaces or tabs; blank lines and lines whose first non-blank character is
// '#' are skipped (a comment cannot follow a token on its line). Errors name
// the file and the line ("tokens.txt:3: ...") and never quote the line:
// NOT_FOUND and the like if the file cannot be read; INVALID_ARGUMENT for a
// line without exactly two fields, a token with a non-printable byte, or a
// token repeated from an earlier line.
absl::StatusOr<std::vector<BearerToken>> LoadTokenFile(const std::string& path);

// True if `a` and `b` are equal, in time that depends on their lengths only
// through SHA-256 and not at all on where they differ: compares their
// SHA-256 digests with CRYPTO_memcmp.
bool TokensEqual(absl::string_view a, absl::string_view b);

struct BearerTokenOptions {
  // The accepted tokens (e.g. from LoadTokenFile). At least one; each
  // principal and token non-empty printable ASCII without spaces; no token
  // twice. Default: none (Create fails).
  std::vector<BearerToken> tokens;
  // Methods callable without a token: "pkg.Service/Method" or
  // "pkg.Service/*" (e.g. "mrpc.health.v1.Health/Check" for load
  // balancers' health checks). Default: none.
  std::vector<std::string> exempt_methods;
};

class BearerTokenInterceptor : public ServerInterceptor {
 public:
  // Rejections since creation, by reason. Exempt and accepted calls are
  // not counted here (the server's per-method counters in /metrics count
  // every call by status): a counter every call writes would be a cache
  // line all loops write.
  struct Stats {
    uint64_t missing = 0;    // No authorization metadata.
    uint64_t malformed = 0;  // Not "Bearer <token>", or sent twice.
    uint64_t unknown = 0;    // A Bearer token that matches none.
  };

  // INVALID_ARGUMENT for bad options (naming the principal or the pattern
  // at fault, never a token). Keeps only the tokens' SHA-256 digests and
  // wipes the copies in `options`.
  static absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>> Create(
      BearerTokenOptions options);
  BearerTokenInterceptor(const BearerTokenInterceptor&) = delete;
  BearerTokenInterceptor& operator=(const BearerTokenInterceptor&) = delete;

  // Admits the call if its method is exempt or Verify(*context) is OK;
  // otherwise counts and logs the rejection (rate limited per peer: peer,
  // method and reason) and returns Verify's UNAUTHENTICATED.
  absl::Status OnRequest(ServerContext* context) override;

  // The principal whose token the call carries; UNAUTHENTICATED with
  // "missing authorization metadata", "authorization is not a Bearer token"
  // (also for an empty token), "more than one authorization metadata
  // entry", or "unknown bearer token". The scheme is case-insensitive;
  // exemptions do not apply (an exempt method's handler can still ask who
  // called, if anyone did). Counts and logs nothing. Thread-safe.
  absl::StatusOr<std::string> Verify(const ServerContext& context) const;
  // The same, from the request metadata.
  absl::StatusOr<std::string> Verify(const Metadata& metadata) const;

  // Whether calls of service/method skip the token check.
  bool IsExempt(absl::string_view service, absl::string_view method) const {
    return exempt_.Find(service, method) != nullptr;
  }

  Stats stats() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  enum class Outcome { kOk, kMissing, kMalformed, kDuplicate, kUnknown };

  BearerTokenInterceptor() = default;
  // The outcome, and for kOk the index of the matching token.
  Outcome Check(const Metadata& metadata, size_t* index) const;
  // UNAUTHENTICATED with the outcome's fixed message; OK for kOk.
  static absl::Status Error(Outcome outcome);

  std::vector<Digest> digests_;          // SHA-256 of each token.
  std::vector<std::string> principals_;  // By the same index.
  auth_internal::MethodTable<bool> exempt_;
  std::atomic<uint64_t> missing_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> unknown_{0};
};

// The client side: sends `authorization: Bearer <token>` with every call
// of the channel it is added to (ChannelOptions::interceptors). Keep the
// channel on TLS: a bearer token is a password. Thread-safe.
class BearerTokenCredentials : public ClientInterceptor {
 public:
  explicit BearerTokenCredentials(std::string token)
      : value_("Bearer " + std::move(token)) {}
  absl::Status OnCall(const ClientCall& call, Metadata* metadata) override;

 private:
  const std::string value_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_AUTH_BEARER_TOKEN_H_
