#include "rpc/metadata.h"

#include <gtest/gtest.h>

#include <string>

namespace mrpc {
namespace {

TEST(MetadataKeyTest, AcceptsLowercaseDigitsDashUnderscoreDot) {
  EXPECT_TRUE(ValidateUserMetadataKey("x-user").ok());
  EXPECT_TRUE(ValidateUserMetadataKey("a").ok());
  EXPECT_TRUE(ValidateUserMetadataKey("abc.def_ghi-0123456789").ok());
  EXPECT_TRUE(ValidateUserMetadataKey("traceparent").ok());
  // "mrpc" without the dash is not the reserved prefix.
  EXPECT_TRUE(ValidateUserMetadataKey("mrpcx").ok());
}

TEST(MetadataKeyTest, LengthIsOneTo128Bytes) {
  EXPECT_EQ(ValidateMetadataKey("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUserMetadataKey("").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateUserMetadataKey(std::string(128, 'k')).ok());
  EXPECT_EQ(ValidateUserMetadataKey(std::string(129, 'k')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMetadataKey(std::string(129, 'k')).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetadataKeyTest, RejectsCharactersOutsideTheSet) {
  for (const char* key : {"X-User", "x-User", "bad key", "x:y", "x/y", "\xff",
                          "tab\t", "caf\xc3\xa9"}) {
    EXPECT_EQ(ValidateMetadataKey(key).code(),
              absl::StatusCode::kInvalidArgument)
        << key;
    EXPECT_EQ(ValidateUserMetadataKey(key).code(),
              absl::StatusCode::kInvalidArgument)
        << key;
  }
  // A NUL inside the key, not just at its end.
  EXPECT_EQ(ValidateMetadataKey(std::string("a\0b", 3)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetadataKeyTest, ReservedPrefixIsWellFormedButNotForUsers) {
  EXPECT_TRUE(ValidateMetadataKey("mrpc-server-us").ok());
  EXPECT_TRUE(ValidateMetadataKey(kServerTimeKey).ok());
  absl::Status user = ValidateUserMetadataKey("mrpc-x");
  EXPECT_EQ(user.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(user.message().find("reserved"), absl::string_view::npos) << user;
  EXPECT_EQ(ValidateUserMetadataKey(kServerTimeKey).code(),
            absl::StatusCode::kInvalidArgument);
  // The prefix match is exact: "mrpc-" itself is reserved.
  EXPECT_EQ(ValidateUserMetadataKey("mrpc-").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FindMetadataTest, ReturnsTheFirstOfDuplicates) {
  const Metadata metadata = {
      {"a", "1"}, {"dup", "first"}, {"b", ""}, {"dup", "second"}};
  absl::optional<absl::string_view> dup = FindMetadata(metadata, "dup");
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(*dup, "first");
  absl::optional<absl::string_view> empty = FindMetadata(metadata, "b");
  ASSERT_TRUE(empty.has_value());  // Present with an empty value.
  EXPECT_EQ(*empty, "");
  EXPECT_FALSE(FindMetadata(metadata, "missing").has_value());
  EXPECT_FALSE(FindMetadata(metadata, "du").has_value());  // No prefix match.
  EXPECT_FALSE(FindMetadata(Metadata(), "a").has_value());
}

}  // namespace
}  // namespace mrpc
