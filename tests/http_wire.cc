#include "tests/http_wire.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/inet_address.h"

namespace mrpc::testing {

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

std::string HttpRequestBytes(
    absl::string_view method, absl::string_view path, absl::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: test\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

absl::StatusOr<HttpResponse> ReadHttpResponse(RawClient& client,
                                              absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string head;
  while (!absl::EndsWith(head, "\r\n\r\n")) {
    if (head.size() > 64 * 1024) {
      return absl::DataLossError("response headers over 64 KiB");
    }
    absl::StatusOr<std::string> byte =
        client.ReadExactly(1, deadline - absl::Now());
    if (!byte.ok()) {
      return absl::Status(byte.status().code(),
                          absl::StrCat("reading response headers after \"",
                                       head, "\": ", byte.status().message()));
    }
    head += *byte;
  }
  std::vector<absl::string_view> lines = absl::StrSplit(
      absl::string_view(head).substr(0, head.size() - 4), "\r\n");
  HttpResponse response;
  std::vector<absl::string_view> status_line =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || status_line[0] != "HTTP/1.1" ||
      !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
  }
  size_t length = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      return absl::DataLossError(absl::StrCat("bad header: ", lines[i]));
    }
    std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "content-length" && !absl::SimpleAtoi(value, &length)) {
      return absl::DataLossError(absl::StrCat("bad length: ", value));
    }
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  if (length > 0) {
    absl::StatusOr<std::string> body =
        client.ReadExactly(length, deadline - absl::Now());
    if (!body.ok()) return body.status();
    response.body = *std::move(body);
  }
  return response;
}

absl::StatusOr<HttpResponse> HttpFetch(
    int port, absl::string_view method, absl::string_view path,
    absl::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  absl::StatusOr<RawClient> client =
      RawClient::Connect(InetAddress::Loopback(port));
  if (!client.ok()) return client.status();
  absl::Status written =
      client->Write(HttpRequestBytes(method, path, body, headers));
  if (!written.ok()) return written;
  return ReadHttpResponse(*client);
}

}  // namespace mrpc::testing
