// Fuzzes the DNS answer parser (rpc/cluster/dns_message.h) with packets as a
// hostile server could send them. Each input is parsed as a message; when
// it parses, its own question is taken as the query, so the answer checks
// and CNAME chasing are reached too. Properties: no crash or over-read
// (ASan); an accepted answer's addresses are all of the asked family;
// ParseAnswer never accepts what ParseMessage rejects; a question whose
// name is a valid host name survives BuildQuery -> ParseMessage.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "rpc/cluster/dns_message.h"
#include "rpc/fuzz/fuzz_check.h"

namespace dns = mrpc::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view packet(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<dns::Message> message = dns::ParseMessage(packet);
  // Also ask for kv.internal A (the seeds' question) whatever parsed.
  const int id = dns::PeekId(packet);
  absl::StatusOr<dns::Answer> fixed = dns::ParseAnswer(
      packet, id < 0 ? 0 : id, "kv.internal", dns::RecordType::kA);
  if (fixed.ok()) FUZZ_CHECK(message.ok());
  if (!message.ok() || message->questions.empty()) return 0;

  const dns::Question& q = message->questions[0];
  for (dns::RecordType type : {dns::RecordType::kA, dns::RecordType::kAaaa}) {
    absl::StatusOr<dns::Answer> answer =
        dns::ParseAnswer(packet, message->id, q.name, type);
    if (!answer.ok()) continue;
    FUZZ_CHECK(answer->addresses.size() <= message->answers.size());
    for (const mrpc::InetAddress& a : answer->addresses) {
      FUZZ_CHECK(a.is_ipv6() == (type == dns::RecordType::kAaaa));
    }
    if (answer->addresses.empty()) FUZZ_CHECK(answer->min_ttl == 0);
  }
  if (dns::ValidateHostName(q.name).ok()) {
    absl::StatusOr<std::string> query =
        dns::BuildQuery(message->id, q.name, dns::RecordType::kAaaa);
    FUZZ_CHECK(query.ok());
    absl::StatusOr<dns::Message> again = dns::ParseMessage(*query);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->id == message->id);
    FUZZ_CHECK(again->questions.size() == 1);
    FUZZ_CHECK(again->questions[0].name == dns::CanonicalName(q.name));
  }
  return 0;
}
