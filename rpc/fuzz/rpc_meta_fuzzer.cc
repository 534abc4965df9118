// Fuzzes RpcMeta handling: parsing arbitrary bytes as a meta, framing
// whatever parses, and its metadata. Properties: FrameMeta (rpc/frame_meta.h)
// accepts exactly the bytes protobuf accepts and decodes every field to the
// same value (its in-place reading included); a parsed meta re-serializes
// to bytes that parse back to the same bytes; framed, it is accepted exactly
// when its frame type is valid, and then comes back with its id, payload and
// metadata intact; metadata that passes CheckMetadata has only valid keys
// and is within the limits, and survives TakeMetadata/AppendMetadata.
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/buffer.h"
#include "rpc/codec.h"
#include "rpc/metadata.h"
#include "rpc/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mrpc::RpcMeta meta;
  const bool parsed = meta.ParseFromArray(data, static_cast<int>(size));
  mrpc::FrameMeta frame_meta;
  FUZZ_CHECK(frame_meta.Parse(reinterpret_cast<const char*>(data), size) ==
             parsed);
  if (!parsed) return 0;
  FUZZ_CHECK(frame_meta.type() == meta.type());
  FUZZ_CHECK(frame_meta.correlation_id() == meta.correlation_id());
  FUZZ_CHECK(frame_meta.service() == meta.service());
  FUZZ_CHECK(frame_meta.method() == meta.method());
  FUZZ_CHECK(frame_meta.timeout_us() == meta.timeout_us());
  FUZZ_CHECK(frame_meta.status_code() == meta.status_code());
  FUZZ_CHECK(frame_meta.status_message() == meta.status_message());
  FUZZ_CHECK(frame_meta.metadata_size() == meta.metadata_size());
  for (int i = 0; i < meta.metadata_size(); ++i) {
    FUZZ_CHECK(frame_meta.metadata()[i].key() == meta.metadata(i).key());
    FUZZ_CHECK(frame_meta.metadata()[i].value() == meta.metadata(i).value());
  }

  const std::string once = meta.SerializeAsString();
  mrpc::RpcMeta again;
  FUZZ_CHECK(again.ParseFromString(once));
  FUZZ_CHECK(again.SerializeAsString() == once);

  mrpc::Buffer frame;
  mrpc::EncodeFrame(meta, absl::string_view("payload"), &frame);
  mrpc::FrameMeta scratch;
  int frames = 0;
  absl::Status status = mrpc::DecodeFrames(
      &frame, 1 << 20, &scratch,
      [&](const mrpc::FrameMeta& decoded, absl::string_view payload) {
        ++frames;
        FUZZ_CHECK(payload == "payload");
        FUZZ_CHECK(decoded.correlation_id() == meta.correlation_id());
        FUZZ_CHECK(decoded.service() == meta.service());
        FUZZ_CHECK(decoded.metadata_size() == meta.metadata_size());
        return true;
      });
  const bool valid_type = meta.type() != mrpc::FRAME_TYPE_UNSPECIFIED &&
                          mrpc::FrameType_IsValid(meta.type());
  FUZZ_CHECK(status.ok() == valid_type);
  FUZZ_CHECK(frames == (valid_type ? 1 : 0));

  // Metadata: the limit check agrees with a plain count, and entries move
  // out and back unchanged.
  constexpr size_t kBytes = 256, kEntries = 4;
  const absl::Status fits = mrpc::CheckMetadata(meta, kBytes, kEntries);
  size_t bytes = 0;
  bool keys_valid = true;
  for (const mrpc::MetadataEntry& e : meta.metadata()) {
    bytes += e.key().size() + e.value().size();
    keys_valid &= mrpc::ValidateMetadataKey(e.key()).ok();
  }
  FUZZ_CHECK(fits.ok() == (static_cast<size_t>(meta.metadata_size()) <= kEntries &&
                           bytes <= kBytes && keys_valid));
  mrpc::RpcMeta copy = meta;
  mrpc::Metadata taken = mrpc::TakeMetadata(&copy);
  FUZZ_CHECK(copy.metadata_size() == 0);
  FUZZ_CHECK(taken.size() == static_cast<size_t>(meta.metadata_size()));
  mrpc::AppendMetadata(taken, &copy);
  // Entries compare by key and value (an entry's unknown fields are not
  // metadata and are dropped).
  FUZZ_CHECK(copy.metadata_size() == meta.metadata_size());
  for (int i = 0; i < meta.metadata_size(); ++i) {
    FUZZ_CHECK(copy.metadata(i).key() == meta.metadata(i).key());
    FUZZ_CHECK(copy.metadata(i).value() == meta.metadata(i).value());
  }
  return 0;
}
