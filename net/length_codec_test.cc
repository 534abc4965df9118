#include "net/length_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mrpc {
namespace {

std::string Frames(const std::vector<std::string>& payloads) {
  Buffer buf;
  for (const auto& p : payloads) AppendFrame(p, &buf);
  return buf.RetrieveAllAsString();
}

TEST(LengthCodecTest, EncodesBigEndianLength) {
  Buffer buf;
  AppendFrame("abc", &buf);
  EXPECT_EQ(buf.View(), std::string("\0\0\0\3abc", 7));
}

TEST(LengthCodecTest, ByteAtATimeYieldsEachFrameOnceComplete) {
  const std::vector<std::string> payloads = {"hello", "", std::string(300, 'x'),
                                             "z"};
  const std::string wire = Frames(payloads);
  Buffer input;
  std::vector<std::string> got;
  for (char c : wire) {
    input.Append(&c, 1);
    ASSERT_GE(ForEachFrame(&input, 1 << 20,
                           [&](absl::string_view p) { got.emplace_back(p); }),
              0);
  }
  EXPECT_EQ(got, payloads);
  EXPECT_EQ(input.ReadableBytes(), 0u);
}

TEST(LengthCodecTest, CoalescedFramesAllDeliveredAndPartialKept) {
  std::string wire = Frames({"a", "bb", "ccc"});
  const std::string partial = Frames({"dddd"});
  wire += partial.substr(0, 6);  // Header plus two of four payload bytes.
  Buffer input;
  input.Append(wire);
  std::vector<std::string> got;
  EXPECT_EQ(ForEachFrame(&input, 100,
                         [&](absl::string_view p) { got.emplace_back(p); }),
            3);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_EQ(input.View(), partial.substr(0, 6));
  input.Append(partial.substr(6));
  EXPECT_EQ(ForEachFrame(&input, 100,
                         [&](absl::string_view p) { got.emplace_back(p); }),
            1);
  EXPECT_EQ(got.back(), "dddd");
}

TEST(LengthCodecTest, OversizedLengthIsAnErrorAndConsumesNothing) {
  Buffer input;
  input.AppendUint32(101);
  input.Append("x");
  EXPECT_EQ(ForEachFrame(&input, 100, [](absl::string_view) { FAIL(); }), -1);
  EXPECT_EQ(input.ReadableBytes(), 5u);
}

}  // namespace
}  // namespace mrpc
