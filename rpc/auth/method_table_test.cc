#include "rpc/auth/method_table.h"

#include <gtest/gtest.h>

namespace mrpc::auth_internal {
namespace {

TEST(MethodTableTest, MostSpecificPatternWins) {
  MethodTable<int> table;
  ASSERT_TRUE(table.Add("*", 1).ok());
  ASSERT_TRUE(table.Add("pkg.Svc/*", 2).ok());
  ASSERT_TRUE(table.Add("pkg.Svc/Get", 3).ok());
  EXPECT_EQ(*table.Find("pkg.Svc", "Get"), 3);
  EXPECT_EQ(*table.Find("pkg.Svc", "Put"), 2);
  EXPECT_EQ(*table.Find("pkg.Other", "Get"), 1);
  // Names match exactly: no prefixes, no case folding.
  EXPECT_EQ(*table.Find("pkg.Svc", "get"), 2);
  EXPECT_EQ(*table.Find("pkg.Sv", "Get"), 1);
}

TEST(MethodTableTest, NothingMatchesWithoutAStar) {
  MethodTable<int> table;
  EXPECT_TRUE(table.empty());
  ASSERT_TRUE(table.Add("pkg.Svc/Get", 3).ok());
  EXPECT_FALSE(table.empty());
  EXPECT_EQ(table.Find("pkg.Svc", "Put"), nullptr);
  EXPECT_EQ(table.Find("pkg.Other", "Get"), nullptr);
}

TEST(MethodTableTest, MalformedAndRepeatedPatternsAreRefused) {
  MethodTable<int> table;
  for (const char* bad :
       {"", "pkg.Svc", "/Get", "pkg.Svc/", "pkg.Svc/Get/x", "*/Get",
        "pkg.*/Get", "pkg.Svc/G*", "pkg Svc/Get", "pkg.Svc/**", "**"}) {
    absl::Status s = table.Add(bad, 0);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("is not \"service/method\""),
              absl::string_view::npos)
        << s;
  }
  ASSERT_TRUE(table.Add("pkg.Svc/Get", 1).ok());
  ASSERT_TRUE(table.Add("pkg.Svc/*", 1).ok());
  ASSERT_TRUE(table.Add("*", 1).ok());
  for (const char* again : {"pkg.Svc/Get", "pkg.Svc/*", "*"}) {
    absl::Status s = table.Add(again, 0);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << again;
    EXPECT_EQ(s.message(),
              absl::StrCat("method pattern \"", again, "\" is given twice"));
  }
  MethodTable<int> no_star;
  EXPECT_EQ(no_star.Add("*", 0, /*allow_any=*/false).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mrpc::auth_internal
