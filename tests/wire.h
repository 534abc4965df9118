// Test helpers that speak the wire protocol by hand, as a client written
// from docs/protocol.md would: build REQUEST and control frames byte for
// byte, and read frames back off a raw socket.
//
// Test-only. Thread-compatible.
#ifndef MRPC_TESTS_WIRE_H_
#define MRPC_TESTS_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/test_util.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/metadata.h"

namespace mrpc::testing {

struct Frame {
  RpcMeta meta;
  std::string payload;
};

// A REQUEST frame; `payload` is the serialized request message.
std::string RequestFrame(uint64_t id, absl::string_view service,
                         absl::string_view method, absl::string_view payload,
                         uint64_t timeout_us = 0, const Metadata& metadata = {});
// An EchoRequest{payload} serialized: what the test service's methods take.
std::string EchoPayload(absl::string_view payload);
// A PING, PONG or CANCEL frame.
std::string ControlFrame(FrameType type, uint64_t id);
// Reads one whole frame; an error at EOF, on a bad header or after
// `timeout`.
absl::StatusOr<Frame> ReadFrame(RawClient& raw,
                                absl::Duration timeout = absl::Seconds(10));

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_WIRE_H_
