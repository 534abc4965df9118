// Fuzzes RpcMeta handling: parsing arbitrary bytes as a meta, and framing
// whatever parses. Properties: a parsed meta re-serializes to bytes that
// parse back to the same bytes; framed, it is accepted exactly when its
// frame type is valid, and then comes back with its id and payload intact.
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/buffer.h"
#include "rpc/codec.h"
#include "rpc/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mrpc::RpcMeta meta;
  if (!meta.ParseFromArray(data, static_cast<int>(size))) return 0;
  const std::string once = meta.SerializeAsString();
  mrpc::RpcMeta again;
  FUZZ_CHECK(again.ParseFromString(once));
  FUZZ_CHECK(again.SerializeAsString() == once);

  mrpc::Buffer frame;
  mrpc::EncodeFrame(meta, absl::string_view("payload"), &frame);
  mrpc::RpcMeta scratch;
  int frames = 0;
  absl::Status status = mrpc::DecodeFrames(
      &frame, 1 << 20, &scratch,
      [&](const mrpc::RpcMeta& decoded, absl::string_view payload) {
        ++frames;
        FUZZ_CHECK(payload == "payload");
        FUZZ_CHECK(decoded.correlation_id() == meta.correlation_id());
        FUZZ_CHECK(decoded.service() == meta.service());
        return true;
      });
  const bool valid_type = meta.type() != mrpc::FRAME_TYPE_UNSPECIFIED &&
                          mrpc::FrameType_IsValid(meta.type());
  FUZZ_CHECK(status.ok() == valid_type);
  FUZZ_CHECK(frames == (valid_type ? 1 : 0));
  return 0;
}
