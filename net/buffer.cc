#include "net/buffer.h"

#include <endian.h>
#include <errno.h>
#include <glog/logging.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace mrpc {

Buffer::Buffer(size_t initial_size)
    : data_(new char[kCheapPrepend + initial_size]),
      capacity_(kCheapPrepend + initial_size),
      reader_(kCheapPrepend),
      writer_(kCheapPrepend) {}

void Buffer::Swap(Buffer& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(capacity_, other.capacity_);
  std::swap(reader_, other.reader_);
  std::swap(writer_, other.writer_);
}

void Buffer::Retrieve(size_t n) {
  DCHECK_LE(n, ReadableBytes());
  if (n < ReadableBytes()) {
    reader_ += n;
  } else {
    RetrieveAll();
  }
}

std::string Buffer::RetrieveAsString(size_t n) {
  DCHECK_LE(n, ReadableBytes());
  std::string result(Peek(), n);
  Retrieve(n);
  return result;
}

void Buffer::Append(const void* data, size_t n) {
  EnsureWritable(n);
  if (n > 0) std::memcpy(BeginWrite(), data, n);
  writer_ += n;
}

void Buffer::EnsureWritable(size_t n) {
  if (WritableBytes() < n) MakeSpace(n, /*exact=*/false);
  DCHECK_GE(WritableBytes(), n);
}

void Buffer::HasWritten(size_t n) {
  DCHECK_LE(n, WritableBytes());
  writer_ += n;
}

void Buffer::Unwrite(size_t n) {
  DCHECK_LE(n, ReadableBytes());
  writer_ -= n;
}

void Buffer::Prepend(const void* data, size_t n) {
  CHECK_LE(n, PrependableBytes());
  reader_ -= n;
  std::memcpy(data_.get() + reader_, data, n);
}

void Buffer::AppendUint16(uint16_t x) {
  uint16_t be = htobe16(x);
  Append(&be, sizeof be);
}

void Buffer::AppendUint32(uint32_t x) {
  uint32_t be = htobe32(x);
  Append(&be, sizeof be);
}

void Buffer::AppendUint64(uint64_t x) {
  uint64_t be = htobe64(x);
  Append(&be, sizeof be);
}

uint8_t Buffer::PeekUint8() const {
  DCHECK_GE(ReadableBytes(), 1u);
  return static_cast<uint8_t>(*Peek());
}

uint16_t Buffer::PeekUint16() const {
  DCHECK_GE(ReadableBytes(), sizeof(uint16_t));
  uint16_t be;
  std::memcpy(&be, Peek(), sizeof be);
  return be16toh(be);
}

uint32_t Buffer::PeekUint32() const {
  DCHECK_GE(ReadableBytes(), sizeof(uint32_t));
  uint32_t be;
  std::memcpy(&be, Peek(), sizeof be);
  return be32toh(be);
}

uint64_t Buffer::PeekUint64() const {
  DCHECK_GE(ReadableBytes(), sizeof(uint64_t));
  uint64_t be;
  std::memcpy(&be, Peek(), sizeof be);
  return be64toh(be);
}

uint8_t Buffer::ReadUint8() {
  uint8_t x = PeekUint8();
  Retrieve(sizeof x);
  return x;
}

uint16_t Buffer::ReadUint16() {
  uint16_t x = PeekUint16();
  Retrieve(sizeof x);
  return x;
}

uint32_t Buffer::ReadUint32() {
  uint32_t x = PeekUint32();
  Retrieve(sizeof x);
  return x;
}

uint64_t Buffer::ReadUint64() {
  uint64_t x = PeekUint64();
  Retrieve(sizeof x);
  return x;
}

void Buffer::PrependUint32(uint32_t x) {
  uint32_t be = htobe32(x);
  Prepend(&be, sizeof be);
}

void Buffer::Shrink(size_t reserve) {
  const size_t readable = ReadableBytes();
  const size_t capacity = kCheapPrepend + readable + reserve;
  std::unique_ptr<char[]> data(new char[capacity]);
  if (readable > 0) std::memcpy(data.get() + kCheapPrepend, Peek(), readable);
  data_ = std::move(data);
  capacity_ = capacity;
  reader_ = kCheapPrepend;
  writer_ = kCheapPrepend + readable;
}

void Buffer::EnsureWritableExact(size_t n) {
  if (WritableBytes() < n) MakeSpace(n, /*exact=*/true);
}

void Buffer::MakeSpace(size_t n, bool exact) {
  const size_t readable = ReadableBytes();
  if (WritableBytes() + PrependableBytes() >= n + kCheapPrepend) {
    // Enough room overall: slide the content to the front instead of growing.
    std::memmove(data_.get() + kCheapPrepend, Peek(), readable);
    reader_ = kCheapPrepend;
    writer_ = kCheapPrepend + readable;
    return;
  }
  // Grow geometrically so a stream of appends costs amortized O(1) per byte:
  // doubling while small, by a quarter past 1 MiB, so that a large buffer
  // (a connection's output behind a big response) is not doubled for a few
  // more bytes. Memory bounds count capacity.
  const size_t needed = kCheapPrepend + readable + n;
  const size_t grown =
      capacity_ < (size_t{1} << 20) ? capacity_ * 2 : capacity_ + capacity_ / 4;
  const size_t capacity = exact ? needed : std::max(needed, grown);
  std::unique_ptr<char[]> data(new char[capacity]);
  if (readable > 0) std::memcpy(data.get() + kCheapPrepend, Peek(), readable);
  data_ = std::move(data);
  capacity_ = capacity;
  reader_ = kCheapPrepend;
  writer_ = kCheapPrepend + readable;
}

ssize_t Buffer::ReadFd(int fd, int* saved_errno) {
  char spill[kReadSpillSize];
  const size_t writable = WritableBytes();
  struct iovec vec[2];
  vec[0].iov_base = BeginWrite();
  vec[0].iov_len = writable;
  vec[1].iov_base = spill;
  vec[1].iov_len = sizeof spill;
  // When the buffer already has 64 KiB free, skip the spill area: one read
  // never needs more than that, and the buffer does not grow unasked.
  const int iovcnt = writable < sizeof spill ? 2 : 1;
  const ssize_t n = ::readv(fd, vec, iovcnt);
  if (n < 0) {
    *saved_errno = errno;
  } else if (static_cast<size_t>(n) <= writable) {
    writer_ += n;
  } else {
    writer_ = capacity_;
    Append(spill, n - writable);
  }
  return n;
}

}  // namespace mrpc
