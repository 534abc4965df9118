// Fuzzes the server's TLS entry: what a client sends once the server has
// seen 0x16 and started TLS (rpc/server_connection.cc), fed to a fresh
// server TlsSession in pieces, the way TcpConnection::ReceiveTls does. The
// server context is built once, like ServerOptions::tls with a CA file:
// client certificates are asked for (optional) and verified, against a
// CA made at start-up and the seed CA (tls_seed_ca.h), which issued the
// client certificates in the seeds, so their chains verify and the
// CertificateVerify that follows is reached.
//
// Properties (besides ASan, LSan and UBSan): no crash or leak; each
// Receive() writes at most kMaxWireOut bytes to send; an error has a
// readable reason (not a bare "TLS error N") and ends the input (nothing
// more is fed, as the connection closes); while Receive() succeeds the
// input buffer is drained (a partial record waits inside OpenSSL's bounded
// record buffer, not in ours); no plaintext before handshake_done(); and
// the handshake never completes: bytes fixed in advance cannot answer the
// server's fresh random and key share, so a finished handshake would mean
// an unauthenticated key exchange.
//
// Debian's OpenSSL carries no coverage instrumentation, so libFuzzer sees
// only mrpc's own edges; extra counters (below) tell it what OpenSSL did.
//
// Input: bytes 0 and 1 set alternating piece sizes (1-255; 0: all that is
// left); the rest is the client's byte stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/buffer.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "net/tls_test_certs.h"
#include "rpc/fuzz/fuzz_check.h"
#include "rpc/fuzz/tls_seed_ca.h"

namespace {

// A server flight (ServerHello to Finished, a certificate chain and a CA
// list included) is a few KiB; alerts are 7 bytes.
constexpr size_t kMaxWireOut = 64 * 1024;

// libFuzzer's extra counters (cleared before each input, read as coverage)
// stand in for OpenSSL's missing edges: an input that fails for another
// reason or further into its stream (16-byte steps), or draws another kind
// of answer, is new coverage and kept. Three kinds, 1024 slots each.
constexpr size_t kSlots = 1024;
enum Kind : size_t { kErrorReason, kBytesTaken, kAnswer };
__attribute__((used, section("__libfuzzer_extra_counters")))
uint8_t extra_counters[3 * kSlots];

void Feature(Kind kind, size_t value) {
  uint8_t& counter = extra_counters[kind * kSlots + value % kSlots];
  if (counter < 255) ++counter;
}

// What the server answered in one Receive(): each record's content type
// and, in the clear, its first payload byte (the handshake message type;
// for an alert, its level and description).
size_t AnswerSignature(absl::string_view wire) {
  size_t h = wire.size() > 0 ? 1 : 0;
  while (wire.size() >= 7) {
    const size_t length =
        (static_cast<uint8_t>(wire[3]) << 8) | static_cast<uint8_t>(wire[4]);
    h = h * 131 + static_cast<uint8_t>(wire[0]);
    // Encrypted records (type 23 in TLS 1.3) start with noise.
    if (wire[0] != 23) h = h * 131 + static_cast<uint8_t>(wire[5]);
    if (wire[0] == 21) h = h * 131 + static_cast<uint8_t>(wire[6]);
    if (wire.size() < 5 + length) break;
    wire.remove_prefix(5 + length);
  }
  return h;
}

const mrpc::TlsContext& ServerContext() {
  static const std::shared_ptr<mrpc::TlsContext>* const ctx = [] {
    const mrpc::TestCa ca = mrpc::TestCa::Create("tls fuzz CA");
    mrpc::CertSpec spec;
    spec.common_name = "server";
    spec.dns_names = {"localhost", "echo.test"};
    spec.ip_addresses = {"127.0.0.1"};
    spec.not_after = absl::Now() + mrpc::kTestCaValidity;  // Long runs too.
    const mrpc::TestKeyPair pair = ca.Issue(spec);
    mrpc::TlsContext::Config config;
    config.role = mrpc::TlsContext::Role::kServer;
    mrpc::TlsContext::Material material;
    material.cert_pem = pair.cert_pem;
    material.key_pem = pair.key_pem;
    material.ca_pem = ca.cert_pem() + mrpc::fuzz::kTlsSeedCaPem;
    auto created = mrpc::TlsContext::CreateFromPem(config, material);
    FUZZ_CHECK(created.ok());
    return new std::shared_ptr<mrpc::TlsContext>(*std::move(created));
  }();
  return **ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t pieces[2] = {data[0], data[1]};
  data += 2;
  size -= 2;
  std::unique_ptr<mrpc::TlsSession> session = ServerContext().NewSession("");
  mrpc::Buffer wire_in;
  mrpc::Buffer plain;
  mrpc::Buffer wire_out;
  bool closed = false;
  size_t taken = 0;  // Input bytes OpenSSL consumed.
  for (size_t turn = 0; size > 0 && !closed; ++turn) {
    const size_t piece = pieces[turn % 2];
    const size_t n = piece == 0 ? size : std::min(piece, size);
    wire_in.Append(data, n);
    data += n;
    size -= n;
    const size_t offered = wire_in.ReadableBytes();
    absl::Status status =
        session->Receive(&wire_in, &plain, &wire_out, &closed);
    taken += offered - wire_in.ReadableBytes();
    FUZZ_CHECK(wire_out.ReadableBytes() <= kMaxWireOut);
    if (wire_out.ReadableBytes() > 0) {
      Feature(kAnswer, AnswerSignature(wire_out.View()));
    }
    wire_out.RetrieveAll();  // Sent.
    FUZZ_CHECK(!session->handshake_done());
    FUZZ_CHECK(plain.ReadableBytes() == 0);
    if (!status.ok()) {
      FUZZ_CHECK(status.code() == absl::StatusCode::kUnavailable);
      FUZZ_CHECK(status.message().size() > sizeof "TLS handshake failed: ");
      FUZZ_CHECK(!absl::StrContains(status.message(), "TLS error "));
      Feature(kErrorReason,
              std::hash<std::string>()(std::string(status.message())));
      Feature(kBytesTaken, taken / 16);
      break;  // The connection closes; nothing more is fed.
    }
    FUZZ_CHECK(wire_in.ReadableBytes() == 0);
  }
  // What the connection does on close (a no-op before the handshake).
  session->SendCloseNotify(&wire_out);
  FUZZ_CHECK(wire_out.ReadableBytes() == 0);
  return 0;
}
