#include "rpc/cluster/dns_message.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace mrpc::dns {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("malformed DNS message: ", what));
}

uint16_t Get16(absl::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[at]) << 8) |
                               static_cast<uint8_t>(p[at + 1]));
}

uint32_t Get32(absl::string_view p, size_t at) {
  return (static_cast<uint32_t>(Get16(p, at)) << 16) | Get16(p, at + 2);
}

void Put16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

// Appends one label in canonical text: lowercase, with the bytes that would
// make the text ambiguous escaped.
void AppendLabel(absl::string_view label, std::string* out) {
  for (char ch : label) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '.' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x21 || c > 0x7e) {
      absl::StrAppend(out, "\\", c / 100, (c / 10) % 10, c % 10);
    } else {
      out->push_back(absl::ascii_tolower(static_cast<char>(c)));
    }
  }
}

// Reads the name at *pos into `out` (canonical text) and moves *pos past
// it (past the first pointer if the name is compressed). Pointers must
// point strictly before the lowest position read so far: every jump then
// moves backwards, so a loop cannot exist, whatever the packet says.
absl::Status ReadName(absl::string_view p, size_t* pos, std::string* out) {
  out->clear();
  size_t at = *pos;
  size_t limit = *pos;  // A pointer must point below this.
  size_t end = 0;       // Where the name ends in the original position.
  bool jumped = false;
  size_t wire_length = 1;  // The final 0 byte.
  for (;;) {
    if (at >= p.size()) return Malformed("name runs past the end");
    const uint8_t length = static_cast<uint8_t>(p[at]);
    if ((length & 0xC0) == 0xC0) {
      if (at + 1 >= p.size()) return Malformed("truncated name pointer");
      const size_t target = ((length & 0x3Fu) << 8) | static_cast<uint8_t>(p[at + 1]);
      if (target >= limit) {
        return Malformed(absl::StrCat("name pointer at ", at, " to ", target,
                                      " does not point backwards"));
      }
      if (!jumped) end = at + 2;
      jumped = true;
      limit = target;
      at = target;
      continue;
    }
    if (length & 0xC0) {
      return Malformed(absl::StrCat("label of length byte ", length,
                                    " (labels are at most 63 bytes)"));
    }
    if (length == 0) {
      if (!jumped) end = at + 1;
      break;
    }
    wire_length += 1 + length;
    if (wire_length > kMaxNameWireLength) {
      return Malformed("name longer than 255 bytes");
    }
    if (at + 1 + length > p.size()) return Malformed("label runs past the end");
    if (!out->empty()) out->push_back('.');
    AppendLabel(p.substr(at + 1, length), out);
    at += 1 + length;
  }
  *pos = end;
  return absl::OkStatus();
}

absl::Status Need(absl::string_view p, size_t pos, size_t n,
                  absl::string_view what) {
  if (pos > p.size() || p.size() - pos < n) {
    return Malformed(absl::StrCat(what, " runs past the end"));
  }
  return absl::OkStatus();
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_';
}

}  // namespace

absl::Status ValidateHostName(absl::string_view name) {
  absl::string_view text = name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad host name '", name, "': ", why));
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 253) return bad("longer than 253 characters");
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label == 0) return bad("empty label");
      if (label > kMaxLabelLength) return bad("label longer than 63 bytes");
      label = 0;
      continue;
    }
    if (!IsHostChar(text[i])) {
      return bad("only letters, digits, '-', '_' and '.' are allowed");
    }
    ++label;
  }
  return absl::OkStatus();
}

std::string CanonicalName(absl::string_view name) {
  absl::string_view text = name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  return absl::AsciiStrToLower(text);
}

absl::StatusOr<std::string> BuildQuery(uint16_t id, absl::string_view name,
                                       RecordType type) {
  if (absl::Status valid = ValidateHostName(name); !valid.ok()) return valid;
  const std::string canonical = CanonicalName(name);
  std::string out;
  out.reserve(kHeaderSize + canonical.size() + 6);
  Put16(id, &out);
  Put16(0x0100, &out);  // Standard query, RD.
  Put16(1, &out);       // QDCOUNT
  Put16(0, &out);
  Put16(0, &out);
  Put16(0, &out);
  size_t start = 0;
  while (start <= canonical.size()) {
    size_t dot = canonical.find('.', start);
    if (dot == std::string::npos) dot = canonical.size();
    out.push_back(static_cast<char>(dot - start));
    out.append(canonical, start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
  Put16(static_cast<uint16_t>(type), &out);
  Put16(kClassIn, &out);
  return out;
}

absl::StatusOr<Message> ParseMessage(absl::string_view p) {
  if (p.size() < kHeaderSize) {
    return Malformed(absl::StrCat("header truncated at ", p.size(), " bytes"));
  }
  Message m;
  m.id = Get16(p, 0);
  const uint16_t flags = Get16(p, 2);
  m.qr = flags & 0x8000;
  m.opcode = (flags >> 11) & 0xF;
  m.tc = flags & 0x0200;
  m.rd = flags & 0x0100;
  m.rcode = flags & 0xF;
  const uint16_t qdcount = Get16(p, 4);
  const uint16_t ancount = Get16(p, 6);
  size_t pos = kHeaderSize;
  // No reserve() from the counts: they may lie; the packet bounds the loop.
  for (int i = 0; i < qdcount; ++i) {
    Question q;
    if (absl::Status s = ReadName(p, &pos, &q.name); !s.ok()) return s;
    if (absl::Status s = Need(p, pos, 4, "question"); !s.ok()) return s;
    q.type = Get16(p, pos);
    q.klass = Get16(p, pos + 2);
    pos += 4;
    m.questions.push_back(std::move(q));
  }
  for (int i = 0; i < ancount; ++i) {
    Record r;
    if (absl::Status s = ReadName(p, &pos, &r.name); !s.ok()) return s;
    if (absl::Status s = Need(p, pos, 10, "record header"); !s.ok()) return s;
    r.type = Get16(p, pos);
    r.klass = Get16(p, pos + 2);
    r.ttl = Get32(p, pos + 4);
    if (r.ttl & 0x80000000u) r.ttl = 0;  // RFC 2181 section 8.
    const uint16_t rdlength = Get16(p, pos + 8);
    pos += 10;
    if (absl::Status s = Need(p, pos, rdlength, "RDATA"); !s.ok()) return s;
    const size_t rdata_end = pos + rdlength;
    if (r.klass == kClassIn && r.type == static_cast<uint16_t>(RecordType::kA) &&
        rdlength != 4) {
      return Malformed(absl::StrCat("A record with RDLENGTH ", rdlength));
    }
    if (r.klass == kClassIn &&
        r.type == static_cast<uint16_t>(RecordType::kAaaa) && rdlength != 16) {
      return Malformed(absl::StrCat("AAAA record with RDLENGTH ", rdlength));
    }
    if (r.type == static_cast<uint16_t>(RecordType::kCname)) {
      size_t at = pos;
      // The target may point anywhere earlier, but must end within RDATA.
      if (absl::Status s = ReadName(p.substr(0, rdata_end), &at, &r.data);
          !s.ok()) {
        return s;
      }
      if (at != rdata_end) return Malformed("CNAME RDATA has trailing bytes");
    } else {
      r.data = std::string(p.substr(pos, rdlength));
    }
    pos = rdata_end;
    m.answers.push_back(std::move(r));
  }
  return m;
}

absl::StatusOr<Answer> ParseAnswer(absl::string_view packet, uint16_t id,
                                   absl::string_view name, RecordType type) {
  if (packet.size() < kHeaderSize) {
    return Malformed(
        absl::StrCat("header truncated at ", packet.size(), " bytes"));
  }
  const std::string asked = CanonicalName(name);
  const uint16_t got_id = Get16(packet, 0);
  if (got_id != id) {
    return absl::UnavailableError(
        absl::StrCat("DNS answer id ", got_id, " does not match query id ", id));
  }
  const uint16_t flags = Get16(packet, 2);
  if (!(flags & 0x8000)) {
    return absl::UnavailableError("DNS packet is a query, not an answer");
  }
  if (const int opcode = (flags >> 11) & 0xF; opcode != 0) {
    return absl::UnavailableError(
        absl::StrCat("DNS answer has opcode ", opcode, ", want 0 (QUERY)"));
  }
  if (flags & 0x0200) {
    return absl::UnavailableError(absl::StrCat(
        "DNS answer for '", asked, "' ", RecordTypeName(static_cast<uint16_t>(type)),
        " is truncated (TC bit): it needs DNS over TCP, which mrpc does not "
        "speak; keep fewer records per name"));
  }
  const int rcode = flags & 0xF;
  if (rcode == kRcodeNxDomain) {
    return absl::NotFoundError(
        absl::StrCat("no such host '", asked, "' (NXDOMAIN)"));
  }
  if (rcode != kRcodeNoError) {
    return absl::UnavailableError(absl::StrCat("DNS server answered ",
                                               RcodeName(rcode), " for '",
                                               asked, "'"));
  }
  absl::StatusOr<Message> m = ParseMessage(packet);
  if (!m.ok()) return m.status();
  if (m->questions.size() != 1) {
    return absl::UnavailableError(absl::StrCat(
        "DNS answer has ", m->questions.size(), " questions, want 1"));
  }
  const Question& q = m->questions[0];
  if (q.name != asked || q.type != static_cast<uint16_t>(type) ||
      q.klass != kClassIn) {
    return absl::UnavailableError(absl::StrCat(
        "DNS answer is for '", q.name, "' ", RecordTypeName(q.type),
        ", not the question asked ('", asked, "' ",
        RecordTypeName(static_cast<uint16_t>(type)), ")"));
  }
  Answer answer;
  uint32_t min_ttl = UINT32_MAX;
  std::string current = asked;
  for (int hops = 0;; ++hops) {
    const Record* cname = nullptr;
    for (const Record& r : m->answers) {
      if (r.klass == kClassIn &&
          r.type == static_cast<uint16_t>(RecordType::kCname) &&
          r.name == current) {
        cname = &r;
        break;
      }
    }
    if (cname == nullptr) break;
    if (hops == kMaxCnameHops) {
      return absl::UnavailableError(absl::StrCat(
          "DNS answer for '", asked, "': more than ", kMaxCnameHops,
          " CNAMEs (a loop?)"));
    }
    min_ttl = std::min(min_ttl, cname->ttl);
    current = cname->data;
  }
  for (const Record& r : m->answers) {
    if (r.klass != kClassIn || r.type != static_cast<uint16_t>(type) ||
        r.name != current) {
      continue;
    }
    if (type == RecordType::kA) {
      struct sockaddr_in a = {};
      a.sin_family = AF_INET;
      std::memcpy(&a.sin_addr, r.data.data(), 4);
      answer.addresses.emplace_back(a);
    } else {
      struct sockaddr_in6 a = {};
      a.sin6_family = AF_INET6;
      std::memcpy(&a.sin6_addr, r.data.data(), 16);
      answer.addresses.emplace_back(a);
    }
    min_ttl = std::min(min_ttl, r.ttl);
  }
  answer.min_ttl = answer.addresses.empty() ? 0 : min_ttl;
  answer.canonical_name = std::move(current);
  return answer;
}

int PeekId(absl::string_view packet) {
  if (packet.size() < 2) return -1;
  return Get16(packet, 0);
}

std::string RecordTypeName(uint16_t type) {
  switch (type) {
    case static_cast<uint16_t>(RecordType::kA):
      return "A";
    case static_cast<uint16_t>(RecordType::kAaaa):
      return "AAAA";
    case static_cast<uint16_t>(RecordType::kCname):
      return "CNAME";
  }
  return absl::StrCat("type ", type);
}

std::string RcodeName(int rcode) {
  static constexpr const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL",
                                           "NXDOMAIN", "NOTIMP", "REFUSED"};
  if (rcode >= 0 && rcode < 6) return kNames[rcode];
  return absl::StrCat("RCODE ", rcode);
}

}  // namespace mrpc::dns
