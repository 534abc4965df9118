#include "tools/cli/cli_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mrpc::cli {
namespace {

TEST(ExitCodeTest, OneCodePerKind) {
  EXPECT_EQ(ExitCode(UsageError("x")), 2);
  EXPECT_EQ(ExitCode(LocalError(absl::NotFoundError("x"))), 1);
  EXPECT_EQ(ExitCode(RpcError(absl::NotFoundError("x"))), 69);
  EXPECT_EQ(ExitCode(RpcError(absl::DeadlineExceededError("x"))), 68);
  EXPECT_EQ(ExitCode(RpcError(absl::UnavailableError("x"))), 78);
  EXPECT_EQ(ExitCode(RpcError(absl::UnauthenticatedError("x"))), 80);
}

TEST(ParseCommandTest, Forms) {
  absl::StatusOr<Command> ls = ParseCommand({"ls", "h:1"});
  ASSERT_TRUE(ls.ok()) << ls.status();
  EXPECT_EQ(ls->kind, CommandKind::kList);
  EXPECT_EQ(ls->target, "h:1");
  EXPECT_EQ(ls->name, "");

  absl::StatusOr<Command> call = ParseCommand({"call", "h:1", "p.S/M"});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->kind, CommandKind::kCall);
  EXPECT_EQ(call->name, "p.S/M");
  EXPECT_EQ(call->request, "-");

  call = ParseCommand({"call", "h:1", "p.S/M", "{}"});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->request, "{}");

  absl::StatusOr<Command> describe = ParseCommand({"describe", "h:1", "p.M"});
  ASSERT_TRUE(describe.ok()) << describe.status();
  EXPECT_EQ(describe->kind, CommandKind::kDescribe);
}

TEST(ParseCommandTest, BadUsage) {
  EXPECT_FALSE(ParseCommand({}).ok());
  absl::StatusOr<Command> unknown = ParseCommand({"frobnicate", "h:1"});
  EXPECT_NE(unknown.status().message().find("unknown subcommand"),
            absl::string_view::npos)
      << unknown.status();
  EXPECT_FALSE(ParseCommand({"ls"}).ok());
  EXPECT_FALSE(ParseCommand({"ls", "h:1", "S", "x"}).ok());
  EXPECT_FALSE(ParseCommand({"describe", "h:1"}).ok());
  EXPECT_FALSE(ParseCommand({"call", "h:1"}).ok());
  EXPECT_FALSE(ParseCommand({"call", "h:1", "p.S/M", "{}", "x"}).ok());
}

TEST(ParseHeaderTest, KeyLowercasedValueTrimmed) {
  absl::StatusOr<std::pair<std::string, std::string>> h =
      ParseHeader("Authorization: Bearer abc ");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->first, "authorization");
  EXPECT_EQ(h->second, "Bearer abc");
  h = ParseHeader("x-id:42");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->second, "42");
  EXPECT_FALSE(ParseHeader("no colon").ok());
  EXPECT_FALSE(ParseHeader("mrpc-refused: 1").ok());  // Reserved.
  EXPECT_FALSE(ParseHeader("bad key: 1").ok());
}

std::vector<std::string> Strings(const std::vector<char*>& argv) {
  return std::vector<std::string>(argv.begin(), argv.end());
}

TEST(PreParseTest, TakesHeadersOutAndSpellsVerbose) {
  std::vector<std::string> in = {
      "mrpc_cli", "-H",   "a: 1",   "call", "-H=b:2", "-v",  "--header=c:3",
      "--header", "d: 4", "--json", "--",   "-H",     "e: 5"};
  std::vector<char*> argv;
  for (std::string& s : in) argv.push_back(s.data());
  absl::StatusOr<PreParsed> pre =
      PreParse(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_EQ(Strings(pre->argv),
            (std::vector<std::string>{"mrpc_cli", "call", "--verbose", "--json",
                                      "--", "-H", "e: 5"}));
  EXPECT_EQ(pre->headers,
            (Metadata{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}));
}

TEST(PreParseTest, HeaderWithoutValue) {
  std::vector<std::string> in = {"mrpc_cli", "ls", "h:1", "-H"};
  std::vector<char*> argv;
  for (std::string& s : in) argv.push_back(s.data());
  EXPECT_FALSE(PreParse(static_cast<int>(argv.size()), argv.data()).ok());
}

}  // namespace
}  // namespace mrpc::cli
