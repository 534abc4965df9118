// Buffer: the growable byte queue behind every connection's input and output.
//
// Internal to mrpc (net/ and rpc/). Not thread-safe: a Buffer belongs to one
// connection and is touched on that connection's loop only.
//
// Layout (muduo's): a cheap prepend area lets a codec write a frame header in
// front of a body it has already appended, without moving the body.
//
//   +-------------------+------------------+------------------+
//   | prependable bytes |  readable bytes  |  writable bytes  |
//   |                   |     (CONTENT)    |                  |
//   +-------------------+------------------+------------------+
//   0       <=      reader_     <=     writer_     <=     capacity_
//
// Integer helpers use network byte order (big-endian).
//
// Example:
//   Buffer buf;
//   buf.Append("payload");
//   buf.PrependUint32(7);                 // length header in front
//   if (buf.ReadableBytes() >= 4) {
//     uint32_t len = buf.PeekUint32();
//     ...
//   }
#ifndef MRPC_NET_BUFFER_H_
#define MRPC_NET_BUFFER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace mrpc {

class Buffer {
 public:
  // Room kept in front of the content for a frame header (mrpc's is 12 bytes).
  static constexpr size_t kCheapPrepend = 16;
  static constexpr size_t kInitialSize = 1024;
  // Size of the on-stack spill area ReadFd uses, so one readv can take up to
  // this much more than the buffer's free space without pre-sizing it.
  static constexpr size_t kReadSpillSize = 65536;

  explicit Buffer(size_t initial_size = kInitialSize);
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Exchanges contents in O(1): how a whole buffer changes hands without a
  // copy.
  void Swap(Buffer& other) noexcept;

  size_t ReadableBytes() const { return writer_ - reader_; }
  size_t WritableBytes() const { return capacity_ - writer_; }
  size_t PrependableBytes() const { return reader_; }
  // Bytes allocated, content or not; what a memory bound must count.
  size_t Capacity() const { return capacity_; }

  // The readable bytes; valid until the next non-const call.
  const char* Peek() const { return data_.get() + reader_; }
  absl::string_view View() const { return {Peek(), ReadableBytes()}; }

  // Consumes `n` readable bytes (n <= ReadableBytes()).
  void Retrieve(size_t n);
  void RetrieveAll() { reader_ = writer_ = kCheapPrepend; }
  std::string RetrieveAsString(size_t n);
  std::string RetrieveAllAsString() {
    return RetrieveAsString(ReadableBytes());
  }

  void Append(const void* data, size_t n);
  void Append(absl::string_view data) { Append(data.data(), data.size()); }

  // Makes room for `n` more bytes at the end, moving content to the front
  // before growing when that frees enough space.
  void EnsureWritable(size_t n);
  // As EnsureWritable, but growing to exactly the room asked for, not
  // geometrically: for a frame of known size, so a memory bound counts
  // what the frame needs, not twice that.
  void EnsureWritableExact(size_t n);
  char* BeginWrite() { return data_.get() + writer_; }
  // Commits `n` bytes written at BeginWrite() (n <= WritableBytes()).
  void HasWritten(size_t n);
  // Drops the last `n` readable bytes (n <= ReadableBytes()).
  void Unwrite(size_t n);

  // Writes `n` bytes just before the content (n <= PrependableBytes()).
  void Prepend(const void* data, size_t n);

  void AppendUint8(uint8_t x) { Append(&x, 1); }
  void AppendUint16(uint16_t x);
  void AppendUint32(uint32_t x);
  void AppendUint64(uint64_t x);
  // Peek* require ReadableBytes() >= the integer's size; Read* also consume.
  uint8_t PeekUint8() const;
  uint16_t PeekUint16() const;
  uint32_t PeekUint32() const;
  uint64_t PeekUint64() const;
  uint8_t ReadUint8();
  uint16_t ReadUint16();
  uint32_t ReadUint32();
  uint64_t ReadUint64();
  void PrependUint32(uint32_t x);

  // Releases memory: keeps the content and room for `reserve` more bytes.
  void Shrink(size_t reserve);

  // Reads from a non-blocking fd: one readv into the free space plus a 64 KiB
  // stack spill area, so a single call takes everything up to that much more
  // than the buffer has room for. Returns what read(2) returns: the byte
  // count, 0 at end of stream, or -1 with *saved_errno set. (errno, not a
  // Status: EAGAIN is routine on this path and must not allocate; the caller
  // turns real errors into a Status naming the peer.)
  ssize_t ReadFd(int fd, int* saved_errno);

 private:
  void MakeSpace(size_t n, bool exact);

  std::unique_ptr<char[]> data_;  // Uninitialized on growth; no zero-fill.
  size_t capacity_;
  size_t reader_;
  size_t writer_;
};

}  // namespace mrpc

#endif  // MRPC_NET_BUFFER_H_
