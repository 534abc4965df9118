// Per-method authorization on the mutual TLS identity: a server interceptor
// that admits a call only if the client's verified certificate
// (ServerContext::tls(), ServerOptions::tls.ca_file) names an identity the
// method's rule allows, or the rule's own check says so.
//
// Public (//rpc/auth). A MethodAuthorizer is immutable once created:
// OnRequest runs on several loops at once.
//
// Rules are keyed by "pkg.Service/Method", "pkg.Service/*" or "*"; the most
// specific one that matches a call decides (method over service over "*").
// A rule either lists identities, each matched exactly against the verified
// certificate:
//   "uri:spiffe://example.org/ns/prod/sa/billing"  a URI subjectAltName
//   "dns:billing.internal"                          a DNS subjectAltName
//   "cn:billing"                                    the subject's common name
// or has a `check` that decides by itself (it sees plaintext callers too).
// For a call:
//   rule with a check        -> the check's status, whatever it is;
//   no verified certificate  -> UNAUTHENTICATED (plaintext, or TLS without
//                               a client certificate);
//   no rule                  -> allow_unmatched ? OK : PERMISSION_DENIED;
//   rule lists an identity
//   the certificate has      -> OK, else PERMISSION_DENIED.
// PERMISSION_DENIED names the method and the caller's identities (from a
// certificate, not secret). Rejections are counted and logged, rate
// limited per peer. Over HTTP they are 401 and 403.
//
// Example:
//   MethodAuthorizerOptions options;
//   options.rules.push_back({"billing.Billing/*",
//                            {"uri:spiffe://example.org/sa/frontend"}});
//   options.rules.push_back({"billing.Billing/Refund", {"cn:support-tool"}});
//   options.rules.push_back({"mrpc.health.v1.Health/*", {},
//                            [](const ServerContext&) {
//                              return absl::OkStatus();  // Anyone.
//                            }});
//   absl::StatusOr<std::unique_ptr<MethodAuthorizer>> authz =
//       MethodAuthorizer::Create(std::move(options));
//   if (!authz.ok()) return authz.status();
//   server.AddInterceptor(*std::move(authz));
#ifndef MRPC_RPC_AUTH_AUTHORIZATION_H_
#define MRPC_RPC_AUTH_AUTHORIZATION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/tls_peer.h"
#include "rpc/auth/method_table.h"
#include "rpc/interceptor.h"
#include "rpc/server_context.h"

namespace mrpc {

// A custom authorization decision: OK admits the call, any other status
// answers it. Runs on the call's loop (never block), from several loops at
// once.
using AuthorizationCheck = std::function<absl::Status(const ServerContext&)>;

struct AuthorizationRule {
  // "pkg.Service/Method", "pkg.Service/*" or "*". Each at most once.
  std::string method;
  // Identities allowed: "uri:...", "dns:..." or "cn:...". Empty (and no
  // check): nobody may call (a method carved out of a service's rule).
  std::vector<std::string> allow;
  // If set, decides instead of `allow` (which must then be empty).
  AuthorizationCheck check;
};

struct MethodAuthorizerOptions {
  std::vector<AuthorizationRule> rules;
  // A call of a method no rule matches, from a verified client: true
  // admits it, false answers PERMISSION_DENIED. Default: false.
  bool allow_unmatched = false;
};

class MethodAuthorizer : public ServerInterceptor {
 public:
  // Rejections since creation, by status code (a check's too). Admitted
  // calls are not counted here (the server's per-method counters in
  // /metrics count every call by status): a counter every call writes
  // would be a cache line all loops write.
  struct Stats {
    uint64_t unauthenticated = 0;
    uint64_t permission_denied = 0;
    uint64_t other = 0;  // A check's other codes.
  };

  // INVALID_ARGUMENT, quoting the rule at fault, for a malformed or
  // repeated pattern, an identity without a known prefix or with an empty
  // name, or a rule with both `allow` and `check`.
  static absl::StatusOr<std::unique_ptr<MethodAuthorizer>> Create(
      MethodAuthorizerOptions options);
  MethodAuthorizer(const MethodAuthorizer&) = delete;
  MethodAuthorizer& operator=(const MethodAuthorizer&) = delete;

  // Decides as the file comment says; counts and logs rejections.
  absl::Status OnRequest(ServerContext* context) override;

  Stats stats() const;

 private:
  struct Rule {
    absl::flat_hash_set<std::string> uris;
    absl::flat_hash_set<std::string> dns_names;
    absl::flat_hash_set<std::string> common_names;
    AuthorizationCheck check;
    bool Allows(const TlsPeer& peer) const;
  };

  explicit MethodAuthorizer(bool allow_unmatched)
      : allow_unmatched_(allow_unmatched) {}
  absl::Status Decide(const ServerContext& context) const;

  const bool allow_unmatched_;
  auth_internal::MethodTable<Rule> rules_;
  std::atomic<uint64_t> unauthenticated_{0};
  std::atomic<uint64_t> permission_denied_{0};
  std::atomic<uint64_t> other_{0};
};

}  // namespace mrpc

#endif  // MRPC_RPC_AUTH_AUTHORIZATION_H_
