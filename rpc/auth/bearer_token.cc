#include "rpc/auth/bearer_token.h"

#include <glog/logging.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"
#include "net/log_limiter.h"

namespace mrpc {
namespace {

constexpr absl::string_view kAuthorizationKey = "authorization";
constexpr absl::string_view kScheme = "Bearer";

// Principals and tokens: printable ASCII without spaces (a token file
// splits on whitespace; an HTTP header value cannot carry control bytes).
bool IsPrintableWord(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

using Digest = std::array<unsigned char, 32>;

// Overwrites a secret's bytes before its memory is freed (OPENSSL_cleanse:
// a write the compiler may not drop as dead).
void Wipe(std::string* secret) {
  if (!secret->empty()) OPENSSL_cleanse(&(*secret)[0], secret->size());
}

Digest Sha256(absl::string_view data) {
  Digest digest;
  unsigned int length = 0;
  // EVP_Digest fails only when out of memory or without SHA-256 at all.
  CHECK_EQ(EVP_Digest(data.data(), data.size(), digest.data(), &length,
                      EVP_sha256(), nullptr),
           1);
  CHECK_EQ(length, digest.size());
  return digest;
}

// 1 if the digests are equal, else 0, without a branch on their contents.
uint32_t DigestsEqual(const Digest& a, const Digest& b) {
  // CRYPTO_memcmp returns 0 if equal, else nonzero (which nonzero value
  // varies by platform); for nonzero d, d | -d has its top bit set.
  const uint32_t diff =
      static_cast<uint32_t>(CRYPTO_memcmp(a.data(), b.data(), a.size()));
  return 1 ^ ((diff | (0u - diff)) >> 31);
}

std::string LinePrefix(const std::string& path, int line) {
  return absl::StrCat(path, ":", line, ": ");
}

}  // namespace

bool TokensEqual(absl::string_view a, absl::string_view b) {
  return DigestsEqual(Sha256(a), Sha256(b)) == 1;
}

absl::StatusOr<std::vector<BearerToken>> LoadTokenFile(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot open token file ", path, ": ", strerror(error));
    return error == ENOENT   ? absl::NotFoundError(message)
           : error == EACCES ? absl::PermissionDeniedError(message)
                             : absl::UnavailableError(message);
  }
  // The file's bytes are wiped once parsed (best effort: a buffer the
  // string outgrew is freed unwiped; token files are small).
  std::string content;
  content.reserve(4096);
  const absl::Cleanup wipe = [&content] { Wipe(&content); };
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    content.append(chunk, n);
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return absl::UnavailableError(
        absl::StrCat("cannot read token file ", path));
  }

  std::vector<BearerToken> tokens;
  // A token's digest -> its line, for repeats. Errors never quote a line:
  // a line that does not parse may hold a token (a principal left out, a
  // stray space).
  absl::flat_hash_map<std::string, int> seen;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);  // "\r" of CRLF files too.
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          LinePrefix(path, number), "expected \"<principal> <token>\", found ",
          fields.size(), fields.size() == 1 ? " field" : " fields",
          fields.size() > 2 ? " (a comment must be on a line of its own)"
                            : ""));
    }
    if (!IsPrintableWord(fields[0]) || !IsPrintableWord(fields[1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          LinePrefix(path, number), "a byte that is not printable ASCII"));
    }
    const Digest digest = Sha256(fields[1]);
    auto [at, added] = seen.try_emplace(
        std::string(reinterpret_cast<const char*>(digest.data()),
                    digest.size()),
        number);
    if (!added) {
      return absl::InvalidArgumentError(absl::StrCat(
          LinePrefix(path, number), "the same token as line ", at->second));
    }
    tokens.push_back(
        BearerToken{std::string(fields[0]), std::string(fields[1])});
  }
  return tokens;
}

absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>>
BearerTokenInterceptor::Create(BearerTokenOptions options) {
  if (options.tokens.empty()) {
    return absl::InvalidArgumentError("no bearer tokens configured");
  }
  std::unique_ptr<BearerTokenInterceptor> interceptor(
      new BearerTokenInterceptor());
  // Only digests outlive Create: the options' copies of the tokens are
  // wiped (the caller's own copies are the caller's to wipe).
  const absl::Cleanup wipe = [&options] {
    for (BearerToken& token : options.tokens) Wipe(&token.token);
  };
  // Digest -> the token's index: repeats found without more copies.
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t i = 0; i < options.tokens.size(); ++i) {
    const BearerToken& token = options.tokens[i];
    if (!IsPrintableWord(token.principal)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bearer token ", i, ": the principal \"",
                       absl::CHexEscape(token.principal),
                       "\" is not printable ASCII without spaces"));
    }
    if (!IsPrintableWord(token.token)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bearer token ", i, " (principal ", token.principal,
                       ") is empty or not printable ASCII without spaces"));
    }
    const Digest digest = Sha256(token.token);
    auto [at, added] = seen.try_emplace(
        std::string(reinterpret_cast<const char*>(digest.data()),
                    digest.size()),
        i);
    if (!added) {
      return absl::InvalidArgumentError(
          absl::StrCat("bearer token ", i, " (principal ", token.principal,
                       ") is the same as token ", at->second, " (principal ",
                       options.tokens[at->second].principal, ")"));
    }
    interceptor->digests_.push_back(digest);
    interceptor->principals_.push_back(token.principal);
  }
  for (const std::string& pattern : options.exempt_methods) {
    absl::Status added =
        interceptor->exempt_.Add(pattern, true, /*allow_any=*/false);
    if (!added.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exempt_methods: ", added.message()));
    }
  }
  return interceptor;
}

BearerTokenInterceptor::Outcome BearerTokenInterceptor::Check(
    const Metadata& metadata, size_t* index) const {
  absl::optional<absl::string_view> value;
  for (const auto& [key, v] : metadata) {
    if (key != kAuthorizationKey) continue;
    // Two credentials: which one a proxy or the handler looks at is
    // anyone's guess, so neither is taken.
    if (value.has_value()) return Outcome::kDuplicate;
    value = v;
  }
  if (!value.has_value()) return Outcome::kMissing;
  // credentials = "Bearer" 1*SP b64token (RFC 6750 2.1; the scheme is
  // case-insensitive, RFC 9110 11.1).
  absl::string_view rest = *value;
  if (rest.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(rest, kScheme) ||
      rest[kScheme.size()] != ' ') {
    return Outcome::kMalformed;
  }
  rest.remove_prefix(kScheme.size());
  rest = absl::StripAsciiWhitespace(rest);
  if (!IsPrintableWord(rest)) return Outcome::kMalformed;

  // Every configured token is compared, and the match is picked with masks,
  // so the time taken says nothing about which token matched, or whether
  // one did. Tokens are distinct (Create), so at most one matches.
  const Digest presented = Sha256(rest);
  uint64_t found = 0;  // 1 + the matching index; 0: none.
  for (size_t i = 0; i < digests_.size(); ++i) {
    const uint64_t mask =
        0 - static_cast<uint64_t>(DigestsEqual(presented, digests_[i]));
    found = (found & ~mask) | ((i + 1) & mask);
  }
  if (found == 0) return Outcome::kUnknown;
  *index = found - 1;
  return Outcome::kOk;
}

absl::Status BearerTokenInterceptor::Error(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      break;
    case Outcome::kMissing:
      return absl::UnauthenticatedError("missing authorization metadata");
    case Outcome::kMalformed:
      return absl::UnauthenticatedError("authorization is not a Bearer token");
    case Outcome::kDuplicate:
      return absl::UnauthenticatedError(
          "more than one authorization metadata entry");
    case Outcome::kUnknown:
      return absl::UnauthenticatedError("unknown bearer token");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BearerTokenInterceptor::Verify(
    const Metadata& metadata) const {
  size_t index = 0;
  const Outcome outcome = Check(metadata, &index);
  if (outcome != Outcome::kOk) return Error(outcome);
  return principals_[index];
}

absl::StatusOr<std::string> BearerTokenInterceptor::Verify(
    const ServerContext& context) const {
  return Verify(context.metadata());
}

absl::Status BearerTokenInterceptor::OnRequest(ServerContext* context) {
  if (IsExempt(context->service(), context->method())) {
    return absl::OkStatus();
  }
  size_t index = 0;
  const Outcome outcome = Check(context->metadata(), &index);
  switch (outcome) {
    case Outcome::kOk:
      return absl::OkStatus();
    case Outcome::kMissing:
      missing_.fetch_add(1, std::memory_order_relaxed);
      break;
    case Outcome::kMalformed:
    case Outcome::kDuplicate:
      malformed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case Outcome::kUnknown:
      unknown_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  const absl::Status status = Error(outcome);
  // The message is one of Error's fixed texts: never token bytes.
  MRPC_PEER_LOG(WARNING, "rpc bearer token rejected", context->peer())
      << "bearer token auth rejected " << context->service() << "/"
      << context->method() << " from " << context->peer().ToString() << ": "
      << status.message();
  return status;
}

BearerTokenInterceptor::Stats BearerTokenInterceptor::stats() const {
  Stats stats;
  stats.missing = missing_.load(std::memory_order_relaxed);
  stats.malformed = malformed_.load(std::memory_order_relaxed);
  stats.unknown = unknown_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status BearerTokenCredentials::OnCall(const ClientCall&,
                                            Metadata* metadata) {
  metadata->emplace_back("authorization", value_);
  return absl::OkStatus();
}

}  // namespace mrpc
