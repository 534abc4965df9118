// DNS wire format (RFC 1035), just enough for a stub resolver: build an A or
// AAAA query and parse its answer. The parser treats the packet as hostile:
// every malformed input (truncated anywhere, counts that lie, compression
// pointer loops, over-long labels or names, wrong RDLENGTH, a TC bit) is a
// Status, never a crash or a read past the end.
//
// Internal (rpc/cluster, used by the dns: resolver). Stateless functions;
// any thread.
//
// Message layout (all integers big-endian):
//
//   0       2       4         6         8         10        12
//   +-------+-------+---------+---------+---------+---------+--------------
//   | id    | flags | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT | questions,
//   +-------+-------+---------+---------+---------+---------+ answers, ...
//   flags: QR(1) OPCODE(4) AA(1) TC(1) RD(1) | RA(1) Z(3) RCODE(4)
//
//   question: NAME QTYPE(2) QCLASS(2)
//   record:   NAME TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA(RDLENGTH)
//   NAME:     labels (1 length byte 0-63, then the bytes) ending with a 0
//             byte, or with a 2-byte pointer (top bits 11) to an earlier name.
//
// Example:
//   absl::StatusOr<std::string> query = dns::BuildQuery(id, "kv.internal",
//                                                       dns::RecordType::kA);
//   ... send, receive `packet` ...
//   absl::StatusOr<dns::Answer> answer =
//       dns::ParseAnswer(packet, id, "kv.internal", dns::RecordType::kA);
#ifndef MRPC_RPC_CLUSTER_DNS_MESSAGE_H_
#define MRPC_RPC_CLUSTER_DNS_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/inet_address.h"

namespace mrpc::dns {

enum class RecordType : uint16_t { kA = 1, kCname = 5, kAaaa = 28 };
inline constexpr uint16_t kClassIn = 1;

inline constexpr size_t kHeaderSize = 12;
// The longest name on the wire (length bytes and the final 0 included).
inline constexpr size_t kMaxNameWireLength = 255;
inline constexpr size_t kMaxLabelLength = 63;
// CNAMEs followed within one answer before giving up (a loop, or abuse).
inline constexpr int kMaxCnameHops = 8;

// RCODEs.
inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeNxDomain = 3;

// A host name fit for a query: "kv.internal" or "kv.internal." (one trailing
// dot allowed); labels of 1-63 letters, digits, '-' or '_'; at most 253
// characters. INVALID_ARGUMENT naming the fault otherwise.
absl::Status ValidateHostName(absl::string_view name);

// The canonical text of a host name: lowercase, no trailing dot. Names
// parsed from packets come in this form (bytes other than printable ASCII,
// and '.' or '\' inside a label, escaped as \DDD or \. so that two different
// wire names never have the same text).
std::string CanonicalName(absl::string_view name);

// A query for `name` (validated as above) of `type`, class IN, with
// recursion desired.
absl::StatusOr<std::string> BuildQuery(uint16_t id, absl::string_view name,
                                       RecordType type);

struct Question {
  std::string name;  // Canonical text.
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct Record {
  std::string name;  // Canonical text.
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;  // Seconds; a TTL with the top bit set reads as 0.
  // A, AAAA: the 4 or 16 address bytes. CNAME: the target's canonical text.
  // Other types: the raw RDATA.
  std::string data;
};

// A message as it is on the wire: the header, the questions and the answer
// section. The authority and additional sections are not parsed (a stub
// resolver has no use for them and does not trust them).
struct Message {
  uint16_t id = 0;
  bool qr = false;  // An answer (not a query).
  int opcode = 0;
  bool tc = false;  // Truncated: the full answer needs TCP.
  bool rd = false;
  int rcode = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
};

// Parses a whole message. UNAVAILABLE ("malformed DNS message: ...") for any
// structural fault: truncation, counts larger than what is there, a name
// pointer that does not point strictly backwards (which rules out loops),
// a label over 63 bytes, a name over 255 bytes, an IN-class A or AAAA
// record whose RDLENGTH is not 4 or 16, a CNAME whose target overruns its
// RDATA.
absl::StatusOr<Message> ParseMessage(absl::string_view packet);

// The addresses an answer gives for the question asked.
struct Answer {
  // In answer order, port 0, duplicates kept; empty when the name exists
  // but has no record of the type (NODATA).
  std::vector<InetAddress> addresses;
  // The smallest TTL of the records used (CNAMEs followed and addresses),
  // seconds; 0 if there are none.
  uint32_t min_ttl = 0;
  // The name the addresses belong to, after CNAMEs.
  std::string canonical_name;
};

// Parses `packet` as the answer to the query (id, name, type):
// the id must match, QR set, OPCODE 0, TC clear (a truncated answer is an
// UNAVAILABLE error: mrpc does not retry over TCP), RCODE NOERROR
// (NXDOMAIN is NOT_FOUND, any other RCODE UNAVAILABLE naming it), exactly
// one question echoing ours; then the answer's class IN records of `type`
// owned by `name`, following CNAMEs within the answer (at most
// kMaxCnameHops). Any malformation is UNAVAILABLE, as for ParseMessage.
absl::StatusOr<Answer> ParseAnswer(absl::string_view packet, uint16_t id,
                                   absl::string_view name, RecordType type);

// The id of a packet at least 2 bytes long, else -1.
int PeekId(absl::string_view packet);

// "A", "AAAA", "CNAME", or the number.
std::string RecordTypeName(uint16_t type);
// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", or
// "RCODE <n>".
std::string RcodeName(int rcode);

}  // namespace mrpc::dns

#endif  // MRPC_RPC_CLUSTER_DNS_MESSAGE_H_
