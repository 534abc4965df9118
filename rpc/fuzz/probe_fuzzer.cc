#include <cstddef>
#include <cstdint>
#include "net/buffer.h"
#include "rpc/codec.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mrpc::Buffer in;
  in.Append(data, size);
  mrpc::RpcMeta scratch;
  (void)mrpc::DecodeFrames(&in, 1 << 20, &scratch, [](const mrpc::RpcMeta&, absl::string_view) { return true; });
  return 0;
}
