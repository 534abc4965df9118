#include "rpc/trace.h"

#include <gtest/gtest.h>

#include <string>

namespace mrpc {
namespace {

// The example of the W3C trace context spec.
constexpr char kExample[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpanId[] = "00f067aa0ba902b7";

bool AllZero(const std::array<uint8_t, 16>& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}
bool AllZero(const std::array<uint8_t, 8>& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

TEST(TraceContextTest, ParsesTheSpecExampleAndRoundTrips) {
  absl::optional<TraceContext> trace = TraceContext::Parse(kExample);
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->TraceIdHex(), kTraceId);
  EXPECT_EQ(trace->SpanIdHex(), kSpanId);
  EXPECT_EQ(trace->flags, 1);
  EXPECT_EQ(trace->trace_id[0], 0x4b);
  EXPECT_EQ(trace->trace_id[15], 0x36);
  EXPECT_EQ(trace->span_id[0], 0x00);
  EXPECT_EQ(trace->span_id[7], 0xb7);
  EXPECT_EQ(trace->ToTraceparent(), kExample);
  EXPECT_EQ(trace->ToTraceparent().size(), 55u);
}

TEST(TraceContextTest, KeepsUnknownFlagBits) {
  absl::optional<TraceContext> trace = TraceContext::Parse(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-a0");
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->flags, 0xa0);
  EXPECT_EQ(trace->ToTraceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-a0");
}

TEST(TraceContextTest, RejectsUppercaseHex) {
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
                   .has_value());
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01")
                   .has_value());
  EXPECT_FALSE(TraceContext::Parse(
                   "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                   .has_value());
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A")
                   .has_value());
}

TEST(TraceContextTest, RejectsNonHexCharacters) {
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01")
                   .has_value());
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0 ")
                   .has_value());
}

TEST(TraceContextTest, RejectsWrongLengths) {
  const std::string example = kExample;
  EXPECT_FALSE(TraceContext::Parse("").has_value());
  EXPECT_FALSE(TraceContext::Parse(example.substr(0, 54)).has_value());
  // Version 00 is exactly 55 characters: nothing may follow.
  EXPECT_FALSE(TraceContext::Parse(example + "-").has_value());
  EXPECT_FALSE(TraceContext::Parse(example + "-extra").has_value());
  // A short trace id and a long span id (total length still 55).
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01")
                   .has_value());
  // A long trace id and a short span id.
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01")
                   .has_value());
  // A three-digit flags field.
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011")
                   .has_value());
}

TEST(TraceContextTest, RejectsAllZeroIds) {
  EXPECT_FALSE(TraceContext::Parse(
                   "00-00000000000000000000000000000000-00f067aa0ba902b7-01")
                   .has_value());
  EXPECT_FALSE(TraceContext::Parse(
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")
                   .has_value());
  // Zero flags are fine: "not sampled".
  absl::optional<TraceContext> unsampled = TraceContext::Parse(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_EQ(unsampled->flags, 0);
}

TEST(TraceContextTest, RejectsVersionFf) {
  EXPECT_FALSE(TraceContext::Parse(
                   "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                   .has_value());
}

TEST(TraceContextTest, RejectsBadSeparators) {
  for (const char* bad :
       {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 01"}) {
    EXPECT_FALSE(TraceContext::Parse(bad).has_value()) << bad;
  }
}

TEST(TraceContextTest, FutureVersionMayCarryExtraFields) {
  // The spec: a parser of a higher version reads the first four fields and
  // ignores what follows the next '-'.
  absl::optional<TraceContext> trace = TraceContext::Parse(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra");
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->TraceIdHex(), kTraceId);
  EXPECT_EQ(trace->SpanIdHex(), kSpanId);
  EXPECT_EQ(trace->flags, 1);
  // Re-sent as version 00, the only one we write.
  EXPECT_EQ(trace->ToTraceparent(), kExample);
  // Exactly 55 characters is fine for a future version too.
  EXPECT_TRUE(TraceContext::Parse(
                  "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                  .has_value());
  // But the extra part must start with '-'.
  EXPECT_FALSE(TraceContext::Parse(
                   "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")
                   .has_value());
}

TEST(TraceContextTest, NewChildKeepsTraceAndFlagsWithANewSpan) {
  absl::optional<TraceContext> parent = TraceContext::Parse(kExample);
  ASSERT_TRUE(parent.has_value());
  parent->flags = 0x03;
  const TraceContext child = parent->NewChild();
  EXPECT_EQ(child.trace_id, parent->trace_id);
  EXPECT_EQ(child.flags, 0x03);
  EXPECT_NE(child.span_id, parent->span_id);
  EXPECT_FALSE(AllZero(child.span_id));
  // The child's traceparent parses back to itself.
  absl::optional<TraceContext> reparsed =
      TraceContext::Parse(child.ToTraceparent());
  ASSERT_TRUE(reparsed.has_value());
  EXPECT_EQ(reparsed->span_id, child.span_id);
  // Two children are two spans.
  EXPECT_NE(parent->NewChild().span_id, child.span_id);
}

TEST(TraceContextTest, NewRootIdsAreNonzeroAndDiffer) {
  const TraceContext a = TraceContext::NewRoot();
  const TraceContext b = TraceContext::NewRoot();
  EXPECT_FALSE(AllZero(a.trace_id));
  EXPECT_FALSE(AllZero(a.span_id));
  EXPECT_FALSE(AllZero(b.trace_id));
  EXPECT_FALSE(AllZero(b.span_id));
  EXPECT_NE(a.trace_id, b.trace_id);
  EXPECT_NE(a.span_id, b.span_id);
  EXPECT_EQ(a.flags, 1);  // Sampled.
  absl::optional<TraceContext> parsed = TraceContext::Parse(a.ToTraceparent());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, a.trace_id);
  EXPECT_EQ(parsed->span_id, a.span_id);
  EXPECT_EQ(parsed->flags, a.flags);
}

}  // namespace
}  // namespace mrpc
