#include "rpc/http/chunked.h"

#include <algorithm>

#include "net/buffer.h"
#include "rpc/http/syntax.h"

namespace mrpc {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const char* ChunkedDecoder::ErrorText(Error error) {
  switch (error) {
    case Error::kNone: return "no error";
    case Error::kBadChunkSize: return "bad chunk size";
    case Error::kBadChunkEnd: return "chunk data not followed by CRLF";
    case Error::kBadTrailer: return "bad trailer line";
    case Error::kBodyTooLarge: return "chunked body too large";
    case Error::kTrailersTooLarge: return "trailers too large";
    case Error::kSinkRefused: return "chunked body refused";
  }
  return "unknown chunked error";
}

void ChunkedDecoder::Reset() {
  state_ = State::kSize;
  error_ = Error::kNone;
  remaining_ = body_bytes_ = 0;
  trailer_bytes_ = scanned_ = 0;
}

ChunkedDecoder::Result ChunkedDecoder::Fail(Error error) {
  state_ = State::kFailed;
  error_ = error;
  return Result::kError;
}

ChunkedDecoder::Result ChunkedDecoder::OnSizeLine(absl::string_view line) {
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size(); ++i) {
    const int digit = HexValue(line[i]);
    if (digit < 0) break;
    if (size > (std::numeric_limits<uint64_t>::max() >> 4)) {
      return Fail(Error::kBadChunkSize);  // Overflows 64 bits.
    }
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  if (i == 0) return Fail(Error::kBadChunkSize);
  // [ BWS ";" chunk-ext ]: the extensions are ignored, but must not hide
  // control bytes.
  absl::string_view rest = line.substr(i);
  while (!rest.empty() && http::IsOws(rest.front())) rest.remove_prefix(1);
  if (!rest.empty() && (rest.front() != ';' || !http::IsFieldValue(rest))) {
    return Fail(Error::kBadChunkSize);
  }
  if (size > limits_.max_chunk_bytes ||
      size > limits_.max_body_bytes - std::min(body_bytes_,
                                               limits_.max_body_bytes)) {
    return Fail(Error::kBodyTooLarge);
  }
  body_bytes_ += size;
  remaining_ = size;
  state_ = size == 0 ? State::kTrailers : State::kData;
  return Result::kNeedMore;
}

ChunkedDecoder::Result ChunkedDecoder::Decode(Buffer* input, Sink sink) {
  for (;;) {
    switch (state_) {
      case State::kSize: {
        const absl::string_view data = input->View();
        size_t end_len = 0;
        const size_t len = http::FindLine(data, &scanned_, &end_len);
        const bool bare_lf = end_len == 1;
        if (len == absl::string_view::npos) {
          // Incomplete: a trailing CR may still be the line's end.
          size_t pending = data.size();
          if (pending > 0 && data.back() == '\r') --pending;
          if (pending > limits_.max_line_bytes) {
            return Fail(Error::kBadChunkSize);
          }
          return Result::kNeedMore;
        }
        // The length first: a parse that saw this line in pieces failed on
        // it before its line end arrived.
        if (len > limits_.max_line_bytes || bare_lf) {
          return Fail(Error::kBadChunkSize);
        }
        if (OnSizeLine(data.substr(0, len)) == Result::kError) {
          return Result::kError;
        }
        input->Retrieve(len + 2);
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, input->ReadableBytes()));
        if (n == 0) return Result::kNeedMore;
        if (!sink(absl::string_view(input->Peek(), n))) {
          return Fail(Error::kSinkRefused);
        }
        input->Retrieve(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        const absl::string_view data = input->View();
        if (!data.empty() && data[0] != '\r') return Fail(Error::kBadChunkEnd);
        if (data.size() < 2) return Result::kNeedMore;
        if (data[1] != '\n') return Fail(Error::kBadChunkEnd);
        input->Retrieve(2);
        state_ = State::kSize;
        break;
      }
      case State::kTrailers: {
        const absl::string_view data = input->View();
        size_t end_len = 0;
        const size_t len = http::FindLine(data, &scanned_, &end_len);
        const bool bare_lf = end_len == 1;
        if (len == absl::string_view::npos) {
          size_t pending = data.size();
          if (pending > 0 && data.back() == '\r') --pending;
          if (pending > limits_.max_trailer_bytes - trailer_bytes_) {
            return Fail(Error::kTrailersTooLarge);
          }
          return Result::kNeedMore;
        }
        if (len > limits_.max_trailer_bytes - trailer_bytes_) {
          return Fail(Error::kTrailersTooLarge);
        }
        if (bare_lf) return Fail(Error::kBadTrailer);
        if (len == 0) {
          input->Retrieve(2);
          state_ = State::kDone;
          return Result::kDone;
        }
        const absl::string_view line = data.substr(0, len);
        const size_t colon = line.find(':');
        if (colon == absl::string_view::npos ||
            !http::IsToken(line.substr(0, colon)) ||
            !http::IsFieldValue(line.substr(colon + 1))) {
          return Fail(Error::kBadTrailer);
        }
        trailer_bytes_ += len;
        input->Retrieve(len + 2);
        break;
      }
      case State::kDone:
        return Result::kDone;
      case State::kFailed:
        return Result::kError;
    }
  }
}

}  // namespace mrpc
