// HTTP/1.1 as a stranger speaks it, for tests: request bytes written by
// hand and responses read off a raw socket (net/test_util.h RawClient), so
// a test sees exactly what the server sends.
//
// Test-only. Plain functions; a RawClient belongs to one thread.
#ifndef MRPC_TESTS_HTTP_WIRE_H_
#define MRPC_TESTS_HTTP_WIRE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/test_util.h"

namespace mrpc::testing {

struct HttpResponse {
  int status = 0;
  // Names lower-cased, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header named `name` (lower-case), or "".
  std::string Header(absl::string_view name) const;
};

// "POST /path HTTP/1.1\r\nHost: test\r\n" + headers + Content-Length (if
// `body` is not empty or the method is POST) + "\r\n" + body.
std::string HttpRequestBytes(
    absl::string_view method, absl::string_view path, absl::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

// Reads one response (Content-Length or no body; a 1xx is returned too).
absl::StatusOr<HttpResponse> ReadHttpResponse(
    RawClient& client, absl::Duration timeout = absl::Seconds(10));

// Connects to 127.0.0.1:`port`, sends one request, reads its response.
absl::StatusOr<HttpResponse> HttpFetch(
    int port, absl::string_view method, absl::string_view path,
    absl::string_view body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_HTTP_WIRE_H_
