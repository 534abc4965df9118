#include "tests/wire.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "proto/echo.pb.h"
#include "rpc/codec.h"

namespace mrpc::testing {

std::string RequestFrame(uint64_t id, absl::string_view service,
                         absl::string_view method, absl::string_view payload,
                         uint64_t timeout_us, const Metadata& metadata) {
  RpcMeta meta;
  meta.set_type(REQUEST);
  meta.set_correlation_id(id);
  meta.set_service(std::string(service));
  meta.set_method(std::string(method));
  meta.set_timeout_us(timeout_us);
  AppendMetadata(metadata, &meta);
  Buffer out;
  EncodeFrame(meta, payload, &out);
  return out.RetrieveAllAsString();
}

std::string EchoPayload(absl::string_view payload) {
  echo::EchoRequest request;
  request.set_payload(std::string(payload));
  return request.SerializeAsString();
}

std::string ControlFrame(FrameType type, uint64_t id) {
  Buffer out;
  EncodeControlFrame(type, id, &out);
  return out.RetrieveAllAsString();
}

absl::StatusOr<Frame> ReadFrame(RawClient& raw, absl::Duration timeout) {
  absl::StatusOr<std::string> header = raw.ReadExactly(kFrameHeaderSize, timeout);
  if (!header.ok()) return header.status();
  if (std::memcmp(header->data(), kFrameMagic, 4) != 0) {
    return absl::DataLossError("bad magic");
  }
  Buffer in;
  in.Append(*header);
  in.Retrieve(4);
  const uint32_t body = in.ReadUint32();
  const uint32_t meta_size = in.ReadUint32();
  if (meta_size > body) return absl::DataLossError("meta_size > body_size");
  absl::StatusOr<std::string> rest = raw.ReadExactly(body, timeout);
  if (!rest.ok()) return rest.status();
  Frame frame;
  if (!frame.meta.ParseFromArray(rest->data(), static_cast<int>(meta_size))) {
    return absl::DataLossError("unparsable RpcMeta");
  }
  frame.payload = rest->substr(meta_size);
  return frame;
}

}  // namespace mrpc::testing
