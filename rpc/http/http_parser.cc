#include "rpc/http/http_parser.h"

#include <glog/logging.h>

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// application/x-www-form-urlencoded decoding: '+' is a space, "%XX" a byte;
// a malformed escape is kept as it is.
std::string FormDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 +
                                      HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Any bytes of the request-target other than visible ASCII, and '#' (a
// fragment is never sent), make it malformed.
bool IsTargetChar(char ch) {
  const unsigned char c = static_cast<unsigned char>(ch);
  return c > 0x20 && c < 0x7f && c != '#';
}

}  // namespace

const std::string* HttpServerRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<std::string> HttpServerRequest::QueryParam(
    absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t eq = pair.find('=');
    if (FormDecode(pair.substr(0, eq)) != name) continue;
    if (eq == absl::string_view::npos) return std::string();
    return FormDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

HttpRequestParser::HttpRequestParser(HttpServerLimits limits)
    : limits_(limits) {}

void HttpRequestParser::Reset() {
  state_ = State::kRequestLine;
  request_ = HttpServerRequest();
  error_status_ = 0;
  error_reason_.clear();
  started_ = false;
  empty_line_bytes_ = header_bytes_ = scanned_ = 0;
  has_length_ = chunked_ = has_host_ = false;
  content_length_ = remaining_ = 0;
  chunked_decoder_.reset();
}

HttpRequestParser::Result HttpRequestParser::Fail(int status,
                                                  const char* reason) {
  state_ = State::kFailed;
  error_status_ = status;
  error_reason_ = reason;
  return Result::kError;
}

HttpRequestParser::Result HttpRequestParser::OnRequestLine(
    absl::string_view line) {
  // method SP request-target SP HTTP-version, single spaces.
  const size_t sp1 = line.find(' ');
  if (sp1 == absl::string_view::npos) return Fail(400, "bad request line");
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos) return Fail(400, "bad request line");
  const absl::string_view method = line.substr(0, sp1);
  const absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const absl::string_view version = line.substr(sp2 + 1);
  // The version first, so that the HTTP/2 preface ("PRI * HTTP/2.0") is a
  // 505 and not a bad target.
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(version[5]) || version[6] != '.' ||
      !absl::ascii_isdigit(version[7])) {
    return Fail(400, "bad HTTP version");
  }
  if (version[5] != '1') return Fail(505, "HTTP version not supported");
  // HTTP/1.2 and later minors are answered as 1.1 (RFC 9110 section 2.5).
  request_.version_minor = version[7] == '0' ? 0 : 1;
  if (!http::IsToken(method)) return Fail(400, "bad method");
  if (target.empty() || !std::all_of(target.begin(), target.end(),
                                     IsTargetChar)) {
    return Fail(400, "bad request target");
  }
  if (target == "*") {
    if (method != "OPTIONS") return Fail(400, "'*' target without OPTIONS");
  } else if (target[0] != '/') {
    return Fail(400, "request target not in origin-form");
  }
  request_.method.assign(method.data(), method.size());
  request_.target.assign(target.data(), target.size());
  const size_t question = target.find('?');
  const absl::string_view path = target.substr(0, question);
  request_.path.assign(path.data(), path.size());
  if (question != absl::string_view::npos) {
    const absl::string_view query = target.substr(question + 1);
    request_.query.assign(query.data(), query.size());
  }
  return Result::kNeedMore;
}

HttpRequestParser::Result HttpRequestParser::OnHeaderLine(
    absl::string_view line) {
  if (request_.headers.size() >= limits_.max_headers) {
    return Fail(431, "too many header lines");
  }
  if (http::IsOws(line[0])) {
    return Fail(400, "obsolete line folding in header");
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) {
    return Fail(400, "header line without ':'");
  }
  const absl::string_view name = line.substr(0, colon);
  // Whitespace before the colon is not a token character: refused, as RFC
  // 9112 section 5.1 requires.
  if (!http::IsToken(name)) return Fail(400, "bad header name");
  const absl::string_view value = http::TrimOws(line.substr(colon + 1));
  if (!http::IsFieldValue(value)) return Fail(400, "bad header value");
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "content-length") {
    if (value.empty() || !std::all_of(value.begin(), value.end(),
                                      absl::ascii_isdigit)) {
      return Fail(400, "bad Content-Length");
    }
    uint64_t length = 0;
    for (char c : value) {
      // Saturates: anything this large is over any body limit.
      if (length > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
        length = std::numeric_limits<uint64_t>::max();
        break;
      }
      length = length * 10 + static_cast<uint64_t>(c - '0');
    }
    if (has_length_ && length != content_length_) {
      return Fail(400, "conflicting Content-Length headers");
    }
    has_length_ = true;
    content_length_ = length;
  } else if (lower == "transfer-encoding") {
    if (!absl::EqualsIgnoreCase(value, "chunked")) {
      return Fail(501, "unsupported Transfer-Encoding");
    }
    if (chunked_) return Fail(400, "chunked applied twice");
    chunked_ = true;
  } else if (lower == "host") {
    if (has_host_) return Fail(400, "more than one Host header");
    has_host_ = true;
  }
  request_.headers.emplace_back(std::move(lower),
                                std::string(value.data(), value.size()));
  return Result::kNeedMore;
}

HttpRequestParser::Result HttpRequestParser::OnHeadersEnd() {
  bool close = false;
  bool keep_alive = false;
  for (const auto& [name, value] : request_.headers) {
    if (name == "connection") {
      for (absl::string_view option : absl::StrSplit(value, ',')) {
        option = http::TrimOws(option);
        if (absl::EqualsIgnoreCase(option, "close")) close = true;
        if (absl::EqualsIgnoreCase(option, "keep-alive")) keep_alive = true;
      }
    } else if (name == "expect" &&
               absl::EqualsIgnoreCase(value, "100-continue")) {
      request_.expect_continue = true;
    }
  }
  request_.keep_alive =
      !close && (request_.version_minor >= 1 || keep_alive);
  if (chunked_ && has_length_) {
    // Two framings: a proxy in front may pick the other one (smuggling).
    return Fail(400, "both Transfer-Encoding and Content-Length");
  }
  if (chunked_) {
    // HTTP/1.0 has no chunked coding: the framing is suspect, so the
    // connection closes after this request (RFC 9112 section 6.1).
    if (request_.version_minor == 0) request_.keep_alive = false;
    ChunkedDecoder::Limits limits;
    limits.max_body_bytes = limits_.max_body_bytes;
    limits.max_trailer_bytes = limits_.max_header_bytes - header_bytes_;
    chunked_decoder_.emplace(limits);
    state_ = State::kChunked;
  } else if (has_length_) {
    if (content_length_ > limits_.max_body_bytes) {
      return Fail(413, "Content-Length over the body limit");
    }
    remaining_ = content_length_;
    state_ = remaining_ == 0 ? State::kDone : State::kBody;
  } else {
    state_ = State::kDone;  // No body (GET and the like).
  }
  return Result::kNeedMore;
}

HttpRequestParser::Result HttpRequestParser::Feed(Buffer* input) {
  for (;;) {
    switch (state_) {
      case State::kRequestLine: {
        const absl::string_view data = input->View();
        if (!data.empty() && data[0] != '\r' && data[0] != '\n') {
          started_ = true;
        }
        size_t end_len = 0;
        const size_t len = http::FindLine(data, &scanned_, &end_len);
        if (len == absl::string_view::npos) {
          // A trailing CR may still be the line's end.
          size_t pending = data.size();
          if (pending > 0 && data.back() == '\r') --pending;
          if (pending > limits_.max_request_line) {
            return Fail(414, "request line too long");
          }
          return Result::kNeedMore;
        }
        if (len > limits_.max_request_line) {
          return Fail(414, "request line too long");
        }
        if (len == 0) {
          // Empty lines before the request line are skipped (RFC 9112
          // section 2.2), a bounded number of them.
          empty_line_bytes_ += end_len;
          if (empty_line_bytes_ > limits_.max_request_line) {
            return Fail(400, "too many empty lines before the request");
          }
          input->Retrieve(end_len);
          break;
        }
        if (OnRequestLine(data.substr(0, len)) == Result::kError) {
          return Result::kError;
        }
        input->Retrieve(len + end_len);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        const absl::string_view data = input->View();
        size_t end_len = 0;
        const size_t len = http::FindLine(data, &scanned_, &end_len);
        if (len == absl::string_view::npos) {
          size_t pending = data.size();
          if (pending > 0 && data.back() == '\r') --pending;
          if (pending > limits_.max_header_bytes - header_bytes_) {
            return Fail(431, "header section too large");
          }
          return Result::kNeedMore;
        }
        if (len == 0) {
          input->Retrieve(end_len);
          if (OnHeadersEnd() == Result::kError) return Result::kError;
          break;
        }
        if (len > limits_.max_header_bytes - header_bytes_) {
          return Fail(431, "header section too large");
        }
        if (OnHeaderLine(data.substr(0, len)) == Result::kError) {
          return Result::kError;
        }
        header_bytes_ += len;
        input->Retrieve(len + end_len);
        break;
      }
      case State::kBody: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, input->ReadableBytes()));
        if (n == 0) return Result::kNeedMore;
        request_.body.append(input->Peek(), n);
        input->Retrieve(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDone;
        break;
      }
      case State::kChunked: {
        std::string* body = &request_.body;
        const ChunkedDecoder::Result result =
            chunked_decoder_->Decode(input, [body](absl::string_view piece) {
              body->append(piece.data(), piece.size());
              return true;
            });
        if (result == ChunkedDecoder::Result::kNeedMore) {
          return Result::kNeedMore;
        }
        if (result == ChunkedDecoder::Result::kDone) {
          state_ = State::kDone;
          break;
        }
        const ChunkedDecoder::Error error = chunked_decoder_->error();
        const int status =
            error == ChunkedDecoder::Error::kBodyTooLarge       ? 413
            : error == ChunkedDecoder::Error::kTrailersTooLarge ? 431
                                                                : 400;
        return Fail(status, ChunkedDecoder::ErrorText(error));
      }
      case State::kDone:
        return Result::kRequest;
      case State::kFailed:
        return Result::kError;
    }
  }
}

absl::string_view HttpReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void AppendHttpResponse(
    Buffer* out, int status, absl::string_view content_type,
    absl::Span<const std::pair<std::string, std::string>> extra_headers,
    absl::string_view body, bool keep_alive, bool head_only) {
  // 1xx and 204 have no content, and no Content-Length either.
  const bool no_content = (status >= 100 && status < 200) || status == 204;
  std::string head =
      absl::StrCat("HTTP/1.1 ", status, " ", HttpReasonPhrase(status), "\r\n");
  if (!content_type.empty()) {
    absl::StrAppend(&head, "Content-Type: ", content_type, "\r\n");
  }
  if (!no_content) {
    absl::StrAppend(&head, "Content-Length: ", body.size(), "\r\n");
  }
  if (!keep_alive) head.append("Connection: close\r\n");
  for (const auto& [name, value] : extra_headers) {
    // Our own bug if it happens; never let it split the response.
    DCHECK(http::IsToken(name) && http::IsFieldValue(value)) << name;
    if (!http::IsToken(name) || !http::IsFieldValue(value)) continue;
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  head.append("\r\n");
  out->Append(head);
  if (!head_only && !no_content) out->Append(body);
}

}  // namespace mrpc
