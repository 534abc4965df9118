// MethodTable: values keyed by method patterns, looked up most specific
// first: "pkg.Service/Method", then "pkg.Service/*", then "*". What the
// bearer token exemptions and the authorizer's rules are keyed by.
//
// Internal to rpc/auth. Filled once (Add), then only read (Find): reads from
// several loops at once are safe once filling is done.
//
// Example:
//   MethodTable<int> table;
//   CHECK(table.Add("pkg.Svc/*", 1).ok());
//   CHECK(table.Add("pkg.Svc/Get", 2).ok());
//   *table.Find("pkg.Svc", "Get") == 2; *table.Find("pkg.Svc", "Put") == 1;
//   table.Find("pkg.Other", "Get") == nullptr;
#ifndef MRPC_RPC_AUTH_METHOD_TABLE_H_
#define MRPC_RPC_AUTH_METHOD_TABLE_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mrpc::auth_internal {

// OK if `name` can be a service or method name in a pattern: not empty, no
// '/', '*' or whitespace, printable ASCII.
inline bool IsPatternName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '*') return false;
  }
  return true;
}

template <typename T>
class MethodTable {
 public:
  // Adds `value` under `pattern`: "service/method", "service/*", or "*" if
  // `allow_any`. INVALID_ARGUMENT, quoting the pattern, if it is malformed
  // or already present.
  absl::Status Add(absl::string_view pattern, T value, bool allow_any = true) {
    if (pattern == "*") {
      if (!allow_any) {
        return absl::InvalidArgumentError("\"*\" is not allowed here");
      }
      if (any_.has_value()) return Repeated(pattern);
      any_.emplace(std::move(value));
      return absl::OkStatus();
    }
    const size_t slash = pattern.find('/');
    if (slash == absl::string_view::npos) return Malformed(pattern);
    const absl::string_view service = pattern.substr(0, slash);
    const absl::string_view method = pattern.substr(slash + 1);
    if (!IsPatternName(service)) return Malformed(pattern);
    if (method == "*") {
      Service& entry = services_[service];
      if (entry.any_method.has_value()) return Repeated(pattern);
      entry.any_method.emplace(std::move(value));
      return absl::OkStatus();
    }
    if (!IsPatternName(method)) return Malformed(pattern);
    Service& entry = services_[service];
    if (!entry.methods.try_emplace(method, std::move(value)).second) {
      return Repeated(pattern);
    }
    return absl::OkStatus();
  }

  // The value of the most specific pattern that matches, or null.
  const T* Find(absl::string_view service, absl::string_view method) const {
    auto entry = services_.find(service);
    if (entry != services_.end()) {
      auto exact = entry->second.methods.find(method);
      if (exact != entry->second.methods.end()) return &exact->second;
      if (entry->second.any_method.has_value()) {
        return &*entry->second.any_method;
      }
    }
    return any_.has_value() ? &*any_ : nullptr;
  }

  bool empty() const { return services_.empty() && !any_.has_value(); }

 private:
  struct Service {
    std::optional<T> any_method;  // "service/*"
    absl::flat_hash_map<std::string, T> methods;
  };

  static absl::Status Malformed(absl::string_view pattern) {
    return absl::InvalidArgumentError(
        absl::StrCat("method pattern \"", pattern,
                     "\" is not \"service/method\", \"service/*\" or \"*\""));
  }
  static absl::Status Repeated(absl::string_view pattern) {
    return absl::InvalidArgumentError(
        absl::StrCat("method pattern \"", pattern, "\" is given twice"));
  }

  absl::flat_hash_map<std::string, Service> services_;
  std::optional<T> any_;  // "*"
};

}  // namespace mrpc::auth_internal

#endif  // MRPC_RPC_AUTH_METHOD_TABLE_H_
