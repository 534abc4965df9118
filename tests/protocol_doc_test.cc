// Every worked example in docs/protocol.md, replayed against a real server:
// the client frames the page shows are sent byte for byte on a raw socket,
// and the server's answers must equal the page's server frames byte for
// byte. A page that drifts from the server fails here.
//
// The page marks each dump with an HTML comment naming its example and who
// sends it, e.g. "<!-- wire-example: echo client -->", followed by a fenced
// hex dump ("0000  4d 52 50 43 ...  |MRPC...|").
#include <gtest/gtest.h>

#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "examples/echo/echo_service.h"
#include "net/test_util.h"
#include "rpc/codec.h"
#include "rpc/server.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using ::mrpc::testing::RawClient;

struct Example {
  std::vector<std::string> client;  // Frames, in page order.
  std::vector<std::string> server;
};

std::string ReadDoc() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string path = srcdir
                               ? absl::StrCat(srcdir, "/mrpc/docs/protocol.md")
                               : "docs/protocol.md";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The bytes of one dump line: the two-digit hex tokens between the offset
// and the "|ascii|" column.
std::string LineBytes(absl::string_view line) {
  std::string bytes;
  const size_t bar = line.find('|');
  if (bar != absl::string_view::npos) line = line.substr(0, bar);
  std::vector<absl::string_view> tokens =
      absl::StrSplit(line, ' ', absl::SkipEmpty());
  for (size_t i = 1; i < tokens.size(); ++i) {  // tokens[0]: the offset.
    int value = 0;
    if (tokens[i].size() != 2 ||
        !absl::SimpleHexAtoi(tokens[i], &value)) {
      ADD_FAILURE() << "not a hex byte: \"" << tokens[i] << "\" in " << line;
      return bytes;
    }
    bytes.push_back(static_cast<char>(value));
  }
  return bytes;
}

// Examples by name, in the order the page first names them.
std::vector<std::pair<std::string, Example>> ParseExamples(
    const std::string& doc) {
  std::vector<std::pair<std::string, Example>> examples;
  std::vector<absl::string_view> lines = absl::StrSplit(doc, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (!absl::ConsumePrefix(&line, "<!-- wire-example: ")) continue;
    absl::ConsumeSuffix(&line, " -->");
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    EXPECT_EQ(words.size(), 2u) << lines[i];
    if (words.size() != 2) continue;
    auto it = std::find_if(examples.begin(), examples.end(),
                           [&](const auto& e) { return e.first == words[0]; });
    if (it == examples.end()) {
      examples.emplace_back(words[0], Example{});
      it = examples.end() - 1;
    }
    // The fenced block that follows.
    size_t j = i + 1;
    while (j < lines.size() && !absl::StartsWith(lines[j], "```")) ++j;
    std::string frame;
    for (++j; j < lines.size() && !absl::StartsWith(lines[j], "```"); ++j) {
      frame += LineBytes(lines[j]);
    }
    (words[1] == "client" ? it->second.client : it->second.server)
        .push_back(frame);
  }
  return examples;
}

std::string HexDump(const std::string& bytes) {
  std::string out;
  for (size_t row = 0; row < bytes.size(); row += 16) {
    absl::StrAppendFormat(&out, "%04x ", row);
    std::string ascii;
    for (size_t i = row; i < row + 16; ++i) {
      if (i < bytes.size()) {
        const auto b = static_cast<uint8_t>(bytes[i]);
        absl::StrAppendFormat(&out, " %02x", b);
        ascii.push_back(b >= 0x20 && b < 0x7f ? static_cast<char>(b) : '.');
      } else {
        out += "   ";
      }
    }
    absl::StrAppend(&out, "  |", ascii, "|\n");
  }
  return out;
}

// One whole frame off the socket, as raw bytes.
std::string ReadRawFrame(RawClient& raw) {
  absl::StatusOr<std::string> header = raw.ReadExactly(kFrameHeaderSize);
  if (!header.ok()) return "<" + header.status().ToString() + ">";
  const auto* h = reinterpret_cast<const uint8_t*>(header->data());
  const uint32_t body = uint32_t{h[4]} << 24 | uint32_t{h[5]} << 16 |
                        uint32_t{h[6]} << 8 | h[7];
  absl::StatusOr<std::string> rest = raw.ReadExactly(body);
  if (!rest.ok()) return "<" + rest.status().ToString() + ">";
  return *header + *rest;
}

TEST(ProtocolDocTest, EveryWorkedExampleIsWhatARealServerSends) {
  echo::EchoServiceImpl echo;
  testing::TestServiceCounters counters;
  Server server;
  ASSERT_TRUE(server.RegisterService(&echo).ok());
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());

  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "docs/protocol.md not found";
  const auto examples = ParseExamples(doc);
  // The page's examples: each must be here and checked.
  std::vector<std::string> names;
  for (const auto& [name, example] : examples) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"echo", "unknown-method",
                                              "metadata", "cancel", "ping"}));
  for (const auto& [name, example] : examples) {
    SCOPED_TRACE(name);
    ASSERT_FALSE(example.client.empty());
    ASSERT_FALSE(example.server.empty());
    absl::StatusOr<RawClient> raw =
        RawClient::Connect(InetAddress::Loopback(server.port()));
    ASSERT_TRUE(raw.ok());
    for (const std::string& frame : example.client) {
      ASSERT_TRUE(raw->Write(frame).ok());
    }
    for (const std::string& want : example.server) {
      const std::string got = ReadRawFrame(*raw);
      EXPECT_EQ(got, want) << "the server sent (" << got.size() << " bytes):\n"
                           << HexDump(got) << "the page shows ("
                           << want.size() << " bytes):\n"
                           << HexDump(want);
    }
  }
  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace mrpc
