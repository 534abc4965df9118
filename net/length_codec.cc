#include "net/length_codec.h"

namespace mrpc {

int ForEachFrame(Buffer* input, size_t max_payload,
                 absl::FunctionRef<void(absl::string_view payload)> on_frame) {
  int frames = 0;
  while (input->ReadableBytes() >= kLengthHeaderSize) {
    const uint32_t length = input->PeekUint32();
    if (length > max_payload) return -1;
    if (input->ReadableBytes() < kLengthHeaderSize + length) break;  // Partial.
    on_frame(absl::string_view(input->Peek() + kLengthHeaderSize, length));
    input->Retrieve(kLengthHeaderSize + length);
    ++frames;
  }
  return frames;
}

void AppendFrame(absl::string_view payload, Buffer* output) {
  output->AppendUint32(static_cast<uint32_t>(payload.size()));
  output->Append(payload);
}

}  // namespace mrpc
