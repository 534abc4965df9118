#include "rpc/metadata.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mrpc {

absl::Status ValidateMetadataKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxMetadataKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key of ", key.size(),
                     " bytes (want 1 to ", kMaxMetadataKeySize, ")"));
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata key \"", absl::CHexEscape(key.substr(0, 64)),
          "\" has a character outside [a-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUserMetadataKey(absl::string_view key) {
  if (absl::StartsWith(key, kReservedMetadataPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key \"", absl::CHexEscape(key),
                     "\" uses the reserved prefix \"mrpc-\""));
  }
  return ValidateMetadataKey(key);
}

absl::optional<absl::string_view> FindMetadata(const Metadata& metadata,
                                               absl::string_view key) {
  for (const auto& [k, v] : metadata) {
    if (k == key) return absl::string_view(v);
  }
  return absl::nullopt;
}

}  // namespace mrpc
