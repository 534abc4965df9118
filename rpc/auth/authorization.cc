#include "rpc/auth/authorization.h"

#include <glog/logging.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/log_limiter.h"

namespace mrpc {
namespace {

// Identities named in a PERMISSION_DENIED message, at most: a certificate
// may carry many SANs, and the message goes on the wire.
constexpr size_t kMaxNamedIdentities = 8;

// "uri:a, dns:b, cn:c": the verified certificate's identities, as a rule
// would spell them.
std::string DescribeIdentity(const TlsPeer& peer) {
  std::vector<std::string> names;
  for (const std::string& uri : peer.uris) names.push_back("uri:" + uri);
  for (const std::string& dns : peer.dns_names) names.push_back("dns:" + dns);
  if (!peer.common_name.empty()) names.push_back("cn:" + peer.common_name);
  if (names.empty()) return "a certificate with no URI, DNS name or CN";
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamedIdentities; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", names[i]);
  }
  if (names.size() > kMaxNamedIdentities) {
    absl::StrAppend(&out, " and ", names.size() - kMaxNamedIdentities, " more");
  }
  return out;
}

}  // namespace

bool MethodAuthorizer::Rule::Allows(const TlsPeer& peer) const {
  for (const std::string& uri : peer.uris) {
    if (uris.contains(uri)) return true;
  }
  for (const std::string& dns : peer.dns_names) {
    if (dns_names.contains(dns)) return true;
  }
  return !peer.common_name.empty() && common_names.contains(peer.common_name);
}

absl::StatusOr<std::unique_ptr<MethodAuthorizer>> MethodAuthorizer::Create(
    MethodAuthorizerOptions options) {
  std::unique_ptr<MethodAuthorizer> authorizer(
      new MethodAuthorizer(options.allow_unmatched));
  for (AuthorizationRule& spec : options.rules) {
    auto bad = [&spec](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("authorization rule \"", spec.method, "\": ", why));
    };
    if (spec.check != nullptr && !spec.allow.empty()) {
      return bad("has both `allow` and `check`");
    }
    Rule rule;
    rule.check = std::move(spec.check);
    for (const std::string& identity : spec.allow) {
      const size_t colon = identity.find(':');
      const absl::string_view kind =
          absl::string_view(identity).substr(0, colon);
      const absl::string_view name =
          colon == std::string::npos
              ? absl::string_view()
              : absl::string_view(identity).substr(colon + 1);
      absl::flat_hash_set<std::string>* set = kind == "uri"   ? &rule.uris
                                              : kind == "dns" ? &rule.dns_names
                                              : kind == "cn"
                                                  ? &rule.common_names
                                                  : nullptr;
      if (set == nullptr || colon == std::string::npos || name.empty()) {
        return bad(
            absl::StrCat("identity \"", identity,
                         "\" is not uri:<uri>, dns:<name> or cn:<name>"));
      }
      set->emplace(name);
    }
    absl::Status added = authorizer->rules_.Add(spec.method, std::move(rule));
    if (!added.ok()) return bad(added.message());
  }
  return authorizer;
}

absl::Status MethodAuthorizer::Decide(const ServerContext& context) const {
  const Rule* rule = rules_.Find(context.service(), context.method());
  if (rule != nullptr && rule->check != nullptr) return rule->check(context);
  const TlsPeer* peer = context.tls();
  if (peer == nullptr) {
    return absl::UnauthenticatedError(
        "a verified client certificate is required (the connection is not "
        "TLS)");
  }
  if (!peer->verified) {
    return absl::UnauthenticatedError(
        "a verified client certificate is required (the connection has none)");
  }
  if (rule == nullptr ? allow_unmatched_ : rule->Allows(*peer)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(context.service(), "/", context.method(),
                   " is not allowed for ", DescribeIdentity(*peer),
                   rule == nullptr ? " (no rule matches the method)" : ""));
}

absl::Status MethodAuthorizer::OnRequest(ServerContext* context) {
  absl::Status status = Decide(*context);
  if (status.ok()) return status;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      unauthenticated_.fetch_add(1, std::memory_order_relaxed);
      break;
    case absl::StatusCode::kPermissionDenied:
      permission_denied_.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      other_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  MRPC_PEER_LOG(WARNING, "rpc authorization denied", context->peer())
      << "authorization denied " << context->service() << "/"
      << context->method() << " from " << context->peer().ToString() << ": "
      << status;
  return status;
}

MethodAuthorizer::Stats MethodAuthorizer::stats() const {
  Stats stats;
  stats.unauthenticated = unauthenticated_.load(std::memory_order_relaxed);
  stats.permission_denied = permission_denied_.load(std::memory_order_relaxed);
  stats.other = other_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace mrpc
