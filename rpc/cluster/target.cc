#include "rpc/cluster/target.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rpc/cluster/dns_resolver.h"
#include "rpc/cluster/etcd_resolver.h"

namespace mrpc {

absl::StatusOr<ParsedTarget> ParseTarget(absl::string_view target) {
  ParsedTarget parsed;
  if (absl::StartsWith(target, "dns:")) {
    parsed.kind = ParsedTarget::Kind::kDns;
    return parsed;
  }
  if (absl::StartsWith(target, "etcd://")) {
    absl::StatusOr<EtcdTarget> etcd = ParseEtcdTarget(target);
    if (!etcd.ok()) return etcd.status();
    parsed.kind = ParsedTarget::Kind::kEtcd;
    return parsed;
  }
  if (absl::ConsumePrefix(&target, "list://")) {
    parsed.kind = ParsedTarget::Kind::kList;
    for (absl::string_view server : absl::StrSplit(target, ',')) {
      if (server.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("list:// target \"", target, "\" has an empty entry"));
      }
      absl::StatusOr<InetAddress> address = InetAddress::Resolve(server);
      if (!address.ok()) return address.status();
      bool seen = false;
      for (const InetAddress& a : parsed.addresses)
        seen = seen || a == *address;
      if (!seen) parsed.addresses.push_back(*address);
    }
    return parsed;
  }
  if (absl::StrContains(target, "://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown target scheme in \"", target,
                     "\" (host:port, list://, dns:/// or etcd://)"));
  }
  absl::StatusOr<InetAddress> address = InetAddress::Resolve(target);
  if (!address.ok()) return address.status();
  parsed.addresses.push_back(*address);
  return parsed;
}

absl::StatusOr<std::unique_ptr<Resolver>> NewResolver(
    EventLoop* loop, const ParsedTarget& parsed, absl::string_view target,
    const EtcdClientOptions& etcd) {
  switch (parsed.kind) {
    case ParsedTarget::Kind::kDns:
      return NewDnsResolver(loop, target);
    case ParsedTarget::Kind::kEtcd: {
      EtcdResolverOptions options;
      options.client = etcd;
      return NewEtcdResolver(loop, target, options);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "target \"", target, "\" names fixed servers, not a resolver"));
  }
}

}  // namespace mrpc
