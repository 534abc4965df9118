#include "rpc/cluster/dns_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace mrpc::dns {
namespace {

// Builds packets byte by byte, so each test shows what is on the wire.
class Packet {
 public:
  Packet& U8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  Packet& U16(uint16_t v) { return U8(v >> 8).U8(v & 0xff); }
  Packet& U32(uint32_t v) { return U16(v >> 16).U16(v & 0xffff); }
  Packet& Raw(absl::string_view bytes) {
    bytes_.append(bytes.data(), bytes.size());
    return *this;
  }
  Packet& Header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an) {
    return U16(id).U16(flags).U16(qd).U16(an).U16(0).U16(0);
  }
  // An uncompressed name.
  Packet& Name(absl::string_view dotted) {
    for (absl::string_view label : absl::StrSplit(dotted, '.')) {
      U8(static_cast<uint8_t>(label.size())).Raw(label);
    }
    return U8(0);
  }
  Packet& Pointer(uint16_t offset) { return U16(0xC000 | offset); }
  // Type, class, TTL, RDLENGTH and RDATA (the name goes first, separately).
  Packet& Rr(uint16_t type, uint32_t ttl, absl::string_view rdata,
             uint16_t klass = kClassIn) {
    return U16(type).U16(klass).U32(ttl).U16(rdata.size()).Raw(rdata);
  }
  size_t size() const { return bytes_.size(); }
  const std::string& str() const { return bytes_; }
  operator absl::string_view() const { return bytes_; }  // NOLINT

 private:
  std::string bytes_;
};

constexpr uint16_t kA = 1, kCname = 5, kAaaa = 28;
constexpr uint16_t kAnswerFlags = 0x8180;  // QR RD RA, NOERROR.
const std::string kV4a("\x0a\x00\x00\x01", 4);
const std::string kV4b("\x0a\x00\x00\x02", 4);

// The question "kv.internal" A at offset 12; its name is at offset 12.
Packet Answer(uint16_t an, uint16_t flags = kAnswerFlags, uint16_t id = 7,
              uint16_t type = kA) {
  Packet p;
  p.Header(id, flags, 1, an).Name("kv.internal").U16(type).U16(kClassIn);
  return p;
}

std::vector<std::string> Ips(const dns::Answer& answer) {
  std::vector<std::string> ips;
  for (const InetAddress& a : answer.addresses) ips.push_back(a.Ip());
  return ips;
}

// Real answers from dnsmasq 2.90 (hosts file: kv.internal -> 10.0.0.1-3,
// fd00::1), captured on loopback: three A records behind compressed names,
// one AAAA, and NXDOMAIN for an unknown name.
const std::string kDnsmasqA = absl::HexStringToBytes(
    "123685800001000300000000026b7608696e7465726e616c0000010001c00c0001000100"
    "00000500040a000002c00c000100010000000500040a000001c00c000100010000000500"
    "040a000003");
const std::string kDnsmasqAaaa = absl::HexStringToBytes(
    "123585800001000100000000026b7608696e7465726e616c00001c0001c00c001c000100"
    "0000000010fd000000000000000000000000000001");
const std::string kDnsmasqNxdomain = absl::HexStringToBytes(
    "123681830001000000000000026e6f08696e7465726e616c0000010001");

TEST(DnsMessageTest, QueryBytes) {
  absl::StatusOr<std::string> q = BuildQuery(0xabcd, "KV.Internal.", RecordType::kAaaa);
  ASSERT_TRUE(q.ok()) << q.status();
  Packet want;
  want.Header(0xabcd, 0x0100, 1, 0).Name("kv.internal").U16(kAaaa).U16(1);
  EXPECT_EQ(absl::BytesToHexString(*q), absl::BytesToHexString(want.str()));

  absl::StatusOr<Message> m = ParseMessage(*q);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->qr);
  EXPECT_TRUE(m->rd);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "kv.internal");
  EXPECT_EQ(m->questions[0].type, kAaaa);
}

TEST(DnsMessageTest, BadHostNames) {
  for (const std::string& name :
       {std::string(""), std::string("."), std::string("a..b"),
        std::string(".a"), std::string("a b"), std::string("a/b"),
        std::string(64, 'x') + ".com",
        absl::StrJoin(std::vector<std::string>(64, "abc"), ".")}) {
    absl::StatusOr<std::string> q = BuildQuery(1, name, RecordType::kA);
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(ValidateHostName(std::string(63, 'x') + ".com").ok());
  EXPECT_TRUE(ValidateHostName("_srv-1.kv.internal").ok());
}

TEST(DnsMessageTest, RealDnsmasqAnswers) {
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(kDnsmasqA, 0x1236, "kv.internal", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Ips(*a),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.1", "10.0.0.3"}));
  EXPECT_EQ(a->min_ttl, 5u);

  absl::StatusOr<dns::Answer> aaaa =
      ParseAnswer(kDnsmasqAaaa, 0x1235, "kv.internal", RecordType::kAaaa);
  ASSERT_TRUE(aaaa.ok()) << aaaa.status();
  EXPECT_EQ(Ips(*aaaa), (std::vector<std::string>{"fd00::1"}));
  EXPECT_EQ(aaaa->min_ttl, 0u);

  absl::StatusOr<dns::Answer> nx =
      ParseAnswer(kDnsmasqNxdomain, 0x1236, "no.internal", RecordType::kA);
  EXPECT_EQ(nx.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(nx.status().message(), "NXDOMAIN"));
}

// dnsmasq with --cname=alias.internal,kv.internal and
// --cname=alias2.internal,alias.internal, asked alias2.internal A.
TEST(DnsMessageTest, RealDnsmasqCnameChain) {
  const std::string packet = absl::HexStringToBytes(
      "10038580000100050000000006616c6961733208696e7465726e616c0000010001c00c"
      "000500010000001e001005616c69617308696e7465726e616c00c02d00050001000000"
      "1e000d026b7608696e7465726e616c00c049000100010000001e00040a000001c04900"
      "0100010000001e00040a000003c049000100010000001e00040a000002");
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(packet, 0x1003, "alias2.internal", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Ips(*a),
            (std::vector<std::string>{"10.0.0.1", "10.0.0.3", "10.0.0.2"}));
  EXPECT_EQ(a->canonical_name, "kv.internal");
  EXPECT_EQ(a->min_ttl, 30u);
}

TEST(DnsMessageTest, CaseInsensitiveAndTrailingDot) {
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(kDnsmasqA, 0x1236, "KV.INTERNAL.", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->addresses.size(), 3u);
}

TEST(DnsMessageTest, FollowsCnamesAndIgnoresOtherRecords) {
  // kv.internal CNAME web.internal; web.internal CNAME host.internal;
  // host.internal A 10.0.0.1 and 10.0.0.2; plus noise: an A for another
  // name, an AAAA for the host, an A of class CH.
  Packet p = Answer(7);
  p.Pointer(12).Rr(kCname, 300, Packet().Name("web.internal").str());
  const uint16_t web = p.size() - 14;  // Where "web.internal" starts.
  p.Pointer(web).Rr(kCname, 60,
                    Packet().U8(4).Raw("host").Pointer(web + 4).str());
  const uint16_t host = p.size() - 7;
  p.Pointer(host).Rr(kA, 120, kV4a);
  p.Name("other.internal").Rr(kA, 1, std::string("\x01\x01\x01\x01", 4));
  p.Pointer(host).Rr(kAaaa, 1, std::string(16, '\x01'));
  p.Pointer(host).Rr(kA, 1, std::string("\x02\x02\x02\x02", 4), /*klass=*/3);
  p.Pointer(host).Rr(kA, 90, kV4b);
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(p, 7, "kv.internal", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Ips(*a), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(a->canonical_name, "host.internal");
  EXPECT_EQ(a->min_ttl, 60u);
}

TEST(DnsMessageTest, CnameLoopIsAnError) {
  Packet p = Answer(2);
  p.Pointer(12).Rr(kCname, 1, Packet().Name("b.internal").str());
  const uint16_t b = p.size() - 12;
  p.Pointer(b).Rr(kCname, 1, Packet().Pointer(12).str());
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(p, 7, "kv.internal", RecordType::kA);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(a.status().message(), "CNAME")) << a.status();
}

TEST(DnsMessageTest, NoDataIsAnEmptyAnswer) {
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(Answer(0), 7, "kv.internal", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->addresses.empty());
  EXPECT_EQ(a->min_ttl, 0u);
}

TEST(DnsMessageTest, TtlWithTopBitReadsAsZero) {
  Packet p = Answer(2);
  p.Pointer(12).Rr(kA, 0x80000005u, kV4a).Pointer(12).Rr(kA, 9, kV4b);
  absl::StatusOr<dns::Answer> a =
      ParseAnswer(p, 7, "kv.internal", RecordType::kA);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->min_ttl, 0u);
}

TEST(DnsMessageTest, HeaderChecks) {
  Packet one = Answer(1);
  one.Pointer(12).Rr(kA, 1, kV4a);
  ASSERT_TRUE(ParseAnswer(one, 7, "kv.internal", RecordType::kA).ok());

  struct Case {
    const char* what;
    Packet packet;
    uint16_t id;
    RecordType type;
    absl::StatusCode code;
    const char* message;
  };
  std::vector<Case> cases = {
      {"wrong id", one, 8, RecordType::kA, absl::StatusCode::kUnavailable,
       "does not match"},
      {"a query", Answer(0, 0x0100), 7, RecordType::kA,
       absl::StatusCode::kUnavailable, "not an answer"},
      {"opcode 2", Answer(0, 0x8180 | (2 << 11)), 7, RecordType::kA,
       absl::StatusCode::kUnavailable, "opcode"},
      {"TC", Answer(0, 0x8380), 7, RecordType::kA,
       absl::StatusCode::kUnavailable, "TCP"},
      {"SERVFAIL", Answer(0, 0x8182), 7, RecordType::kA,
       absl::StatusCode::kUnavailable, "SERVFAIL"},
      {"REFUSED", Answer(0, 0x8185), 7, RecordType::kA,
       absl::StatusCode::kUnavailable, "REFUSED"},
      {"NXDOMAIN", Answer(0, 0x8183), 7, RecordType::kA,
       absl::StatusCode::kNotFound, "NXDOMAIN"},
      {"other type asked", one, 7, RecordType::kAaaa,
       absl::StatusCode::kUnavailable, "not the question"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<dns::Answer> a =
        ParseAnswer(c.packet, c.id, "kv.internal", c.type);
    EXPECT_EQ(a.status().code(), c.code) << c.what << ": " << a.status();
    EXPECT_TRUE(absl::StrContains(a.status().message(), c.message))
        << c.what << ": " << a.status();
  }
  EXPECT_FALSE(ParseAnswer(one, 7, "other.internal", RecordType::kA).ok());
}

TEST(DnsMessageTest, EveryTruncationIsAnError) {
  for (const std::string* full : {&kDnsmasqA, &kDnsmasqAaaa}) {
    const uint16_t id = PeekId(*full);
    const RecordType type = full == &kDnsmasqA ? RecordType::kA : RecordType::kAaaa;
    for (size_t n = 0; n < full->size(); ++n) {
      // A copy of exactly n bytes, so ASan sees any read past it.
      const std::string cut = full->substr(0, n);
      absl::StatusOr<dns::Answer> a = ParseAnswer(cut, id, "kv.internal", type);
      EXPECT_FALSE(a.ok()) << n;
      EXPECT_FALSE(ParseMessage(cut).ok()) << n;
    }
  }
}

TEST(DnsMessageTest, CountsThatLie) {
  Packet more = Answer(4);  // Says 4, holds 3.
  for (int i = 0; i < 3; ++i) more.Pointer(12).Rr(kA, 1, kV4a);
  EXPECT_FALSE(ParseAnswer(more, 7, "kv.internal", RecordType::kA).ok());

  Packet two_questions;
  two_questions.Header(7, kAnswerFlags, 2, 0).Name("kv.internal").U16(kA).U16(1);
  EXPECT_FALSE(ParseAnswer(two_questions, 7, "kv.internal", RecordType::kA).ok());

  Packet max;
  max.Header(7, kAnswerFlags, 0xffff, 0xffff);
  EXPECT_FALSE(ParseMessage(max).ok());

  Packet rdlength = Answer(1);  // RDLENGTH 4 but only 2 bytes follow.
  rdlength.Pointer(12).U16(kA).U16(1).U32(1).U16(4).U16(0x0a00);
  EXPECT_FALSE(ParseAnswer(rdlength, 7, "kv.internal", RecordType::kA).ok());
}

TEST(DnsMessageTest, PointerLoopsAndBadNames) {
  auto parse = [](const Packet& p) {
    return ParseAnswer(p, 7, "kv.internal", RecordType::kA).status();
  };
  // A record whose name points at itself.
  Packet self = Answer(1);
  self.Pointer(self.size()).Rr(kA, 1, kV4a);
  EXPECT_TRUE(absl::StrContains(parse(self).message(), "backwards"))
      << parse(self);
  // Forward pointer.
  Packet forward = Answer(1);
  forward.Pointer(forward.size() + 2).Rr(kA, 1, kV4a);
  EXPECT_FALSE(parse(forward).ok());
  // Two names pointing at each other: record 1's name is "x" + pointer to
  // record 2's name, which points back to record 1's.
  Packet mutual = Answer(2);
  const uint16_t first = mutual.size();
  mutual.U8(1).Raw("x").Pointer(first + 18).Rr(kA, 1, kV4a);
  ASSERT_EQ(mutual.size(), first + 18u);
  mutual.Pointer(first).Rr(kA, 1, kV4a);
  EXPECT_FALSE(parse(mutual).ok());
  // Question name that is a pointer into the header (id bytes).
  Packet q_ptr;
  q_ptr.Header(7, kAnswerFlags, 1, 0).Pointer(12).U16(kA).U16(1);
  EXPECT_FALSE(parse(q_ptr).ok());
  // A label length byte of 64 (0x40: not a length, not a pointer).
  Packet label = Answer(1);
  label.U8(0x40).Raw(std::string(64, 'a')).U8(0).Rr(kA, 1, kV4a);
  EXPECT_TRUE(absl::StrContains(parse(label).message(), "63")) << parse(label);
  // A name of 300 bytes (five 59-byte labels).
  Packet longname = Answer(1);
  for (int i = 0; i < 5; ++i) longname.U8(59).Raw(std::string(59, 'a'));
  longname.U8(0).Rr(kA, 1, kV4a);
  EXPECT_TRUE(absl::StrContains(parse(longname).message(), "255"))
      << parse(longname);
  // The same, with the length reached through pointers: each name adds one
  // 59-byte label to the previous name.
  Packet chained = Answer(5);
  uint16_t prev = 12;
  for (int i = 0; i < 5; ++i) {
    const uint16_t here = chained.size();
    chained.U8(59).Raw(std::string(59, 'b')).Pointer(prev).Rr(99, 1, "");
    prev = here;
  }
  EXPECT_TRUE(absl::StrContains(parse(chained).message(), "255"))
      << parse(chained);
}

TEST(DnsMessageTest, WrongRdlength) {
  Packet a5 = Answer(1);
  a5.Pointer(12).Rr(kA, 1, "12345");
  EXPECT_TRUE(absl::StrContains(
      ParseAnswer(a5, 7, "kv.internal", RecordType::kA).status().message(),
      "RDLENGTH 5"));
  Packet aaaa4 = Answer(1, kAnswerFlags, 7, kAaaa);
  aaaa4.Pointer(12).Rr(kAaaa, 1, kV4a);
  EXPECT_TRUE(absl::StrContains(
      ParseAnswer(aaaa4, 7, "kv.internal", RecordType::kAaaa).status().message(),
      "RDLENGTH 4"));
  // A CNAME whose target runs past its RDATA into the next record.
  Packet cname = Answer(1);
  cname.Pointer(12).U16(kCname).U16(1).U32(1).U16(2).U8(3).Raw("abc").U8(0);
  EXPECT_FALSE(ParseAnswer(cname, 7, "kv.internal", RecordType::kA).ok());
  // A record of an unknown type keeps its raw RDATA.
  Packet other = Answer(1);
  other.Pointer(12).Rr(16, 1, "\x03txt");
  absl::StatusOr<Message> m = ParseMessage(other);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->answers[0].data, "\x03txt");
}

TEST(DnsMessageTest, OddLabelBytesAreEscapedNotConfused) {
  // One label "kv.internal" (with a dot byte) is not the name kv.internal.
  Packet p;
  p.Header(7, kAnswerFlags, 1, 0).U8(11).Raw("kv.internal").U8(0).U16(kA).U16(1);
  absl::StatusOr<Message> m = ParseMessage(p);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->questions[0].name, "kv\\.internal");
  EXPECT_FALSE(ParseAnswer(p, 7, "kv.internal", RecordType::kA).ok());
  Packet binary;
  binary.Header(7, kAnswerFlags, 1, 0).U8(2).Raw("\x01Z").U8(0).U16(kA).U16(1);
  m = ParseMessage(binary);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->questions[0].name, "\\001z");
}

}  // namespace
}  // namespace mrpc::dns
