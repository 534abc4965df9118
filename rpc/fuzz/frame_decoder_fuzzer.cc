// Fuzzes the frame decoder with arbitrary bytes arriving in arbitrary pieces.
// Properties: it never crashes or reads out of bounds (ASan); every frame it
// yields re-encodes and decodes to the same frame; a partial frame left
// buffered is never larger than a header plus the largest body.
//
// Input: byte 0 sets the piece size (1-256); the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/buffer.h"
#include "rpc/codec.h"
#include "rpc/fuzz/fuzz_check.h"

namespace {
constexpr size_t kMaxBody = 64 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0];
  const uint8_t* p = data + 1;
  size_t left = size - 1;
  mrpc::Buffer input(64);
  mrpc::FrameMeta scratch;
  bool failed = false;
  while (left > 0 && !failed) {
    const size_t n = piece < left ? piece : left;
    input.Append(p, n);
    p += n;
    left -= n;
    absl::Status status = mrpc::DecodeFrames(
        &input, kMaxBody, &scratch,
        [&](const mrpc::FrameMeta& decoded, absl::string_view payload) {
          const mrpc::RpcMeta meta = decoded.ToRpcMeta();
          mrpc::Buffer again;
          mrpc::EncodeFrame(meta, payload, &again);
          mrpc::FrameMeta scratch2;
          int frames = 0;
          absl::Status s2 = mrpc::DecodeFrames(
              &again, kMaxBody, &scratch2,
              [&](const mrpc::FrameMeta& meta2, absl::string_view payload2) {
                ++frames;
                FUZZ_CHECK(payload2 == payload);
                FUZZ_CHECK(meta2.ToRpcMeta().SerializeAsString() ==
                           meta.SerializeAsString());
                return true;
              });
          FUZZ_CHECK(s2.ok());
          FUZZ_CHECK(frames == 1);
          FUZZ_CHECK(again.ReadableBytes() == 0);
          return true;
        });
    failed = !status.ok();
  }
  if (!failed)
    FUZZ_CHECK(input.ReadableBytes() <= mrpc::kFrameHeaderSize + kMaxBody);
  return 0;
}
