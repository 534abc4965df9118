// HTTP/1.1 character classes (RFC 9110 section 5.6) shared by the request
// parser and the chunked decoder. Internal (rpc/http, rpc/cluster); pure
// functions, any thread.
#ifndef MRPC_RPC_HTTP_SYNTAX_H_
#define MRPC_RPC_HTTP_SYNTAX_H_

#include <algorithm>
#include <cstddef>

#include "absl/strings/string_view.h"

namespace mrpc {
namespace http {

// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA.
inline bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

inline bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// A field value's bytes: VCHAR, obs-text, SP, HTAB. Every other control
// byte (CR, LF and NUL among them) is refused: a peer that sends one is
// either broken or trying to split a header.
inline bool IsFieldValue(absl::string_view s) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

inline absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// The line at the front of `data`: the length of its content, and in
// *terminator_len that of its end (2 for CRLF, 1 for a bare LF); npos if no
// LF has arrived yet. `*scanned` carries how much of an incomplete line was
// searched already, so a line fed a byte at a time is searched once, not
// once per byte; it is 0 again once a line is found.
inline size_t FindLine(absl::string_view data, size_t* scanned,
                       size_t* terminator_len) {
  const size_t lf = data.find('\n', std::min(*scanned, data.size()));
  if (lf == absl::string_view::npos) {
    *scanned = data.size();
    return absl::string_view::npos;
  }
  *scanned = 0;
  if (lf > 0 && data[lf - 1] == '\r') {
    *terminator_len = 2;
    return lf - 1;
  }
  *terminator_len = 1;
  return lf;
}

}  // namespace http
}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_SYNTAX_H_
