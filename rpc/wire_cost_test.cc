#include "rpc/wire_cost.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"

#include "proto/echo.pb.h"
#include "proto/rpc_meta.pb.h"

namespace mrpc {
namespace {

// `n` unknown varint fields of 2 bytes each (field 15, value 1).
std::string UnknownFieldBomb(size_t n) {
  std::string wire;
  for (size_t i = 0; i < n; ++i) wire += std::string("\x78\x01", 2);
  return wire;
}

TEST(WireCostTest, OneLargeFieldCostsAboutItsSize) {
  echo::EchoRequest request;
  request.set_payload(std::string(1 << 20, 'p'));
  const std::string wire = request.SerializeAsString();
  const size_t estimate =
      EstimateParsedBytes(request.GetDescriptor(), wire, SIZE_MAX);
  EXPECT_EQ(estimate, wire.size() + kParsedBytesPerField);
  echo::EchoRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_GE(estimate, parsed.SpaceUsedLong() - sizeof(parsed));
}

TEST(WireCostTest, TinyUnknownFieldsCostWhatTheyTakeParsed) {
  const std::string wire = UnknownFieldBomb(100000);
  const size_t estimate = EstimateParsedBytes(
      echo::EchoRequest::descriptor(), wire, SIZE_MAX);
  EXPECT_EQ(estimate, wire.size() + 100000 * kParsedBytesPerField);
  // The estimate is not below what protobuf really takes for them.
  echo::EchoRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_GE(estimate, parsed.SpaceUsedLong());
  EXPECT_GT(parsed.SpaceUsedLong(), 10 * wire.size());  // The bomb is real.
}

TEST(WireCostTest, SubmessagesAreCountedInside) {
  RpcMeta meta;
  for (int i = 0; i < 1000; ++i) {
    MetadataEntry* entry = meta.add_metadata();
    entry->set_key("k");
    entry->set_value("v");
  }
  const std::string wire = meta.SerializeAsString();
  // Each entry: itself (a field and a message) and its two fields.
  EXPECT_EQ(EstimateParsedBytes(RpcMeta::descriptor(), wire, SIZE_MAX),
            wire.size() + 3000 * kParsedBytesPerField +
                1000 * kParsedBytesPerMessage);
  RpcMeta parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_GE(EstimateParsedBytes(RpcMeta::descriptor(), wire, SIZE_MAX),
            parsed.SpaceUsedLong());
}

// The server skips counting a request that cannot pass its room even at
// kMaxParsedBytesPerWireByte: no input may cost more.
TEST(WireCostTest, NoInputCostsMoreThanTheWorstExpansion) {
  // The costliest: empty submessages (RpcMeta's metadata entries), two
  // bytes each; they reach the bound exactly.
  std::string empties;
  for (int i = 0; i < 1000; ++i) empties += std::string("\x42\x00", 2);
  EXPECT_EQ(EstimateParsedBytes(RpcMeta::descriptor(), empties, SIZE_MAX),
            empties.size() * kMaxParsedBytesPerWireByte);
  // Every one- and two-byte input, and then some, stays within it.
  std::vector<std::string> inputs;
  for (int a = 0; a < 256; ++a) {
    inputs.push_back(std::string(1, char(a)));
    for (int b = 0; b < 256; ++b) inputs.push_back({char(a), char(b)});
  }
  for (const std::string& tail : {std::string("\x0b\x0b\x0b\x0c"),
                                  std::string("\x42\x02\x0a\x00")}) {
    inputs.push_back(tail);
  }
  for (const std::string& wire : inputs) {
    for (const google::protobuf::Descriptor* type :
         {RpcMeta::descriptor(), echo::EchoRequest::descriptor()}) {
      EXPECT_LE(EstimateParsedBytes(type, wire, SIZE_MAX),
                wire.size() * kMaxParsedBytesPerWireByte)
          << absl::CHexEscape(wire);
    }
  }
}

TEST(WireCostTest, StopsSoonAfterTheLimit) {
  const std::string wire = UnknownFieldBomb(1000000);
  const size_t limit = wire.size() + 1000 * kParsedBytesPerField;
  const size_t estimate =
      EstimateParsedBytes(echo::EchoRequest::descriptor(), wire, limit);
  EXPECT_GT(estimate, limit);
  EXPECT_LE(estimate, limit + kParsedBytesPerField + kParsedBytesPerMessage);
}

TEST(WireCostTest, MalformedBytesDoNotReadPastTheEnd) {
  for (const std::string& wire :
       {std::string("\x0a\xff\xff\xff\x0f", 5), std::string("\xff", 1),
        std::string("\x09\x01\x02", 3), std::string("\x0f", 1)}) {
    EXPECT_GE(EstimateParsedBytes(echo::EchoRequest::descriptor(), wire,
                                  SIZE_MAX),
              wire.size());
  }
}

}  // namespace
}  // namespace mrpc
