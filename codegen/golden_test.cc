// Golden-file test of protoc-gen-mrpc: the code generated for
// codegen/testdata/golden.proto must match the checked-in .golden files.
// After an intended change: codegen/update_golden.sh.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string Read(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/mrpc/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, GeneratedMatchesGolden) {
  const std::string suffix = GetParam();
  const std::string generated = Read("codegen/testdata/golden" + suffix);
  const std::string golden =
      Read("codegen/testdata/golden" + suffix + ".golden");
  ASSERT_FALSE(generated.empty()) << "no generated golden" << suffix;
  ASSERT_FALSE(golden.empty()) << "no golden file for " << suffix;
  EXPECT_EQ(generated, golden)
      << "generated golden" << suffix
      << " changed; if intended, run codegen/update_golden.sh";
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenTest,
                         ::testing::Values(".mrpc.h", ".mrpc.cc",
                                           ".mrpc.mock.h"));

}  // namespace
