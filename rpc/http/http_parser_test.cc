#include "rpc/http/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"

namespace mrpc {
namespace {

using Result = HttpRequestParser::Result;
using namespace std::string_literals;

struct Parsed {
  Result result;
  int status = 0;
  HttpServerRequest request;
  std::string rest;  // Left in the input.
};

Parsed ParseAll(absl::string_view bytes, HttpServerLimits limits = {}) {
  HttpRequestParser parser(limits);
  Buffer input;
  input.Append(bytes);
  Parsed parsed{parser.Feed(&input)};
  parsed.status = parser.error_status();
  parsed.request = parser.request();
  parsed.rest = input.RetrieveAllAsString();
  return parsed;
}

// Feeds one byte at a time; stops at the first result other than kNeedMore.
Parsed ParseBytewise(absl::string_view bytes, HttpServerLimits limits = {}) {
  HttpRequestParser parser(limits);
  Buffer input;
  Result result = Result::kNeedMore;
  size_t i = 0;
  while (result == Result::kNeedMore && i < bytes.size()) {
    input.Append(bytes.substr(i++, 1));
    result = parser.Feed(&input);
  }
  input.Append(bytes.substr(i));
  Parsed parsed{result, parser.error_status(), parser.request(),
                input.RetrieveAllAsString()};
  return parsed;
}

void ExpectSame(const Parsed& a, const Parsed& b) {
  EXPECT_EQ(a.result, b.result);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.request.method, b.request.method);
  EXPECT_EQ(a.request.target, b.request.target);
  EXPECT_EQ(a.request.headers, b.request.headers);
  EXPECT_EQ(a.request.body, b.request.body);
  EXPECT_EQ(a.request.keep_alive, b.request.keep_alive);
  EXPECT_EQ(a.rest, b.rest);
}

TEST(HttpParserTest, SimpleGet) {
  const Parsed p = ParseAll(
      "GET /status?format=json HTTP/1.1\r\nHost: a\r\nX-Mixed:  \t v w \t\r\n"
      "\r\n");
  ASSERT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.target, "/status?format=json");
  EXPECT_EQ(p.request.path, "/status");
  EXPECT_EQ(p.request.query, "format=json");
  EXPECT_EQ(p.request.version_minor, 1);
  ASSERT_EQ(p.request.headers.size(), 2u);
  EXPECT_EQ(p.request.headers[1].first, "x-mixed");
  EXPECT_EQ(p.request.headers[1].second, "v w");
  ASSERT_NE(p.request.Header("host"), nullptr);
  EXPECT_EQ(*p.request.Header("host"), "a");
  EXPECT_EQ(p.request.Header("absent"), nullptr);
  EXPECT_TRUE(p.request.body.empty());
  EXPECT_TRUE(p.request.keep_alive);
  EXPECT_FALSE(p.request.expect_continue);
  EXPECT_EQ(p.rest, "");
}

TEST(HttpParserTest, StartedAndHeadersDone) {
  HttpRequestParser parser;
  Buffer input;
  input.Append("\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kNeedMore);
  EXPECT_FALSE(parser.started());  // Empty lines are not a request.
  input.Append("PO");
  EXPECT_EQ(parser.Feed(&input), Result::kNeedMore);
  EXPECT_TRUE(parser.started());
  EXPECT_FALSE(parser.headers_done());
  input.Append("ST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab");
  EXPECT_EQ(parser.Feed(&input), Result::kNeedMore);
  EXPECT_TRUE(parser.headers_done());
  EXPECT_EQ(input.ReadableBytes(), 0u);  // The body so far was consumed.
  input.Append("c");
  EXPECT_EQ(parser.Feed(&input), Result::kRequest);
  EXPECT_EQ(parser.request().body, "abc");
}

TEST(HttpParserTest, PostWithContentLength) {
  const Parsed p = ParseAll(
      "POST /rpc/Echo HTTP/1.1\r\nContent-Length: 5\r\n"
      "Expect: 100-Continue\r\n\r\nhelloGET");
  ASSERT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.body, "hello");
  EXPECT_TRUE(p.request.expect_continue);
  EXPECT_EQ(p.rest, "GET");
}

TEST(HttpParserTest, ChunkedWithExtensionsAndTrailers) {
  const std::string bytes =
      "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1A ; a=\"b\"\r\n", body26 = std::string(26, 'x');
  const Parsed p = ParseAll(absl::StrCat(bytes, body26,
                                         "\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"));
  ASSERT_EQ(p.result, Result::kRequest) << p.status;
  EXPECT_EQ(p.request.body, "hello" + body26);
  EXPECT_EQ(p.request.Header("x-trailer"), nullptr);  // Ignored.
  EXPECT_EQ(p.rest, "NEXT");
}

TEST(HttpParserTest, PipelinedOneAtATime) {
  HttpRequestParser parser;
  Buffer input;
  input.Append(
      "GET /a HTTP/1.1\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
      "GET /d HT");
  std::vector<std::string> seen;
  while (parser.Feed(&input) == Result::kRequest) {
    seen.push_back(parser.request().path + ":" + parser.request().body);
    // Fed again before Reset: still the same request, nothing consumed.
    const size_t before = input.ReadableBytes();
    EXPECT_EQ(parser.Feed(&input), Result::kRequest);
    EXPECT_EQ(input.ReadableBytes(), before);
    parser.Reset();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"/a:", "/b:hi", "/c:ok"}));
  EXPECT_EQ(input.RetrieveAllAsString(), "GET /d HT");  // Incomplete: kept.
}

TEST(HttpParserTest, IncompleteLineStaysInInput) {
  HttpRequestParser parser;
  Buffer input;
  input.Append("GET /d HT");
  EXPECT_EQ(parser.Feed(&input), Result::kNeedMore);
  EXPECT_EQ(input.View(), "GET /d HT");
  input.Append("TP/1.0\r\nA: b");
  EXPECT_EQ(parser.Feed(&input), Result::kNeedMore);
  EXPECT_EQ(input.View(), "A: b");
  input.Append("\r\n\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kRequest);
  EXPECT_EQ(parser.request().version_minor, 0);
}

TEST(HttpParserTest, EveryByteSplitAgrees) {
  const std::vector<std::string> cases = {
      "GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\nrest",
      "\r\n\nPOST / HTTP/1.0\nContent-Length: 3\nConnection: keep-alive\n\nabcGET",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;e\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\nX",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET / HTTP/1.1\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      std::string(100, 'A'),
  };
  HttpServerLimits limits;
  limits.max_request_line = 64;
  for (const std::string& c : cases) {
    SCOPED_TRACE(c);
    const Parsed whole = ParseAll(c, limits);
    const Parsed split = ParseBytewise(c, limits);
    ExpectSame(whole, split);
  }
  EXPECT_EQ(ParseBytewise(std::string(100, 'A'), limits).status, 414);
}

TEST(HttpParserTest, RequestLineLimit) {
  HttpServerLimits limits;
  limits.max_request_line = 32;
  const std::string at = "GET /" + std::string(32 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(at.size(), 32u);
  EXPECT_EQ(ParseAll(at + "\r\n\r\n", limits).result, Result::kRequest);
  EXPECT_EQ(ParseAll(at + "\n\n", limits).result, Result::kRequest);
  const std::string over = "GET /" + std::string(33 - 14, 'a') + " HTTP/1.1";
  EXPECT_EQ(ParseAll(over + "\r\n\r\n", limits).status, 414);
  // Without its line end: at the bound (even with the CR) it waits ...
  Parsed p = ParseAll(at + "\r", limits);
  EXPECT_EQ(p.result, Result::kNeedMore);
  // ... and one byte over fails at once.
  p = ParseAll(std::string(33, 'G'), limits);
  EXPECT_EQ(p.result, Result::kError);
  EXPECT_EQ(p.status, 414);
}

TEST(HttpParserTest, HeaderBytesLimit) {
  HttpServerLimits limits;
  limits.max_header_bytes = 20;  // Without line ends.
  const std::string line10 = "A: 1234567";  // 10 bytes.
  const std::string head = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(ParseAll(head + line10 + "\r\n" + line10 + "\r\n\r\n", limits)
                .result,
            Result::kRequest);
  Parsed p = ParseAll(head + line10 + "\r\n" + line10 + "8\r\n\r\n", limits);
  EXPECT_EQ(p.status, 431);
  // Incomplete: over the bound before any line end fails at once.
  p = ParseAll(head + line10 + "\r\n" + line10 + "8", limits);
  EXPECT_EQ(p.status, 431);
  p = ParseAll(head + line10 + "\r\n" + line10 + "\r", limits);
  EXPECT_EQ(p.result, Result::kNeedMore);
}

TEST(HttpParserTest, HeaderCountLimit) {
  HttpServerLimits limits;
  limits.max_headers = 3;
  EXPECT_EQ(ParseAll("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits)
                .result,
            Result::kRequest);
  const Parsed p = ParseAll(
      "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits);
  EXPECT_EQ(p.result, Result::kError);
  EXPECT_EQ(p.status, 431);
}

TEST(HttpParserTest, ContentLengthLimit) {
  HttpServerLimits limits;
  limits.max_body_bytes = 4;
  Parsed p = ParseAll("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", limits);
  EXPECT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.body, "abcd");
  // Decided at the header, before any body byte.
  p = ParseAll("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", limits);
  EXPECT_EQ(p.status, 413);
  p = ParseAll("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n"
               "\r\n", limits);
  EXPECT_EQ(p.status, 413);
}

TEST(HttpParserTest, ChunkedTotalLimit) {
  HttpServerLimits limits;
  limits.max_body_bytes = 4;
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  Parsed p = ParseAll(head + "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n", limits);
  EXPECT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.body, "abcd");
  // The second size line takes it over: refused before its data.
  p = ParseAll(head + "2\r\nab\r\n3\r\n", limits);
  EXPECT_EQ(p.status, 413);
}

TEST(HttpParserTest, TrailersCountAgainstHeaderBytes) {
  HttpServerLimits limits;
  limits.max_header_bytes = 30;
  const std::string head =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";  // 26.
  EXPECT_EQ(ParseAll(head + "T: 1\r\n\r\n", limits).result, Result::kRequest);
  EXPECT_EQ(ParseAll(head + "T: 12\r\n\r\n", limits).status, 431);
}

// Found by the fuzzer: a line over its bound fails the same way whether its
// (bare LF) end arrives with it or after the bound was passed.
TEST(HttpParserTest, OverLongChunkLinesFailTheSameWhole) {
  HttpServerLimits limits;
  limits.max_header_bytes = 30;
  const std::string head =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& bytes :
       {head + "0\r\nT: " + std::string(40, 'v') + "\n",
        head + std::string(1100, '1') + "\n"}) {
    const Parsed whole = ParseAll(bytes, limits);
    EXPECT_EQ(whole.result, Result::kError);
    ExpectSame(whole, ParseBytewise(bytes, limits));
  }
  EXPECT_EQ(ParseAll(head + "0\r\nT: " + std::string(40, 'v') + "\n", limits)
                .status,
            431);
}

TEST(HttpParserTest, BadChunkSizes) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* bad : {"zz\r\n", "-5\r\n", " 5\r\n", "\r\n", "5\n",
                          "ffffffffffffffffff\r\n", "5 x\r\n", "5;\x01\r\n"}) {
    SCOPED_TRACE(bad);
    const Parsed p = ParseAll(head + bad);
    EXPECT_EQ(p.result, Result::kError);
    EXPECT_EQ(p.status, 400);
  }
  HttpRequestParser parser;
  Buffer input;
  input.Append(head + "xyz\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kError);
  EXPECT_EQ(parser.error_reason(), "bad chunk size");
  // Data longer than its size.
  EXPECT_EQ(ParseAll(head + "2\r\nabc\r\n0\r\n\r\n").status, 400);
}

TEST(HttpParserTest, FramingConflicts) {
  Parsed p = ParseAll(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
      "\r\n");
  EXPECT_EQ(p.status, 400);
  p = ParseAll("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(p.status, 400);
  p = ParseAll("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(p.result, Result::kRequest);
  for (const char* bad : {"+3", "3 3", "0x3", "", "3,3"}) {
    EXPECT_EQ(ParseAll(absl::StrCat("POST / HTTP/1.1\r\nContent-Length: ", bad,
                                    "\r\n\r\n")).status, 400) << bad;
  }
  p = ParseAll("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_EQ(p.status, 501);
  p = ParseAll("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n");
  EXPECT_EQ(p.status, 501);
  p = ParseAll("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(p.status, 400);
}

TEST(HttpParserTest, KeepAlive) {
  Parsed p = ParseAll("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(p.request.version_minor, 0);
  EXPECT_FALSE(p.request.keep_alive);
  p = ParseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(p.request.keep_alive);
  p = ParseAll("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(p.request.keep_alive);
  p = ParseAll("GET / HTTP/1.1\r\nConnection: upgrade, Close\r\n\r\n");
  EXPECT_FALSE(p.request.keep_alive);
  p = ParseAll("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(p.request.keep_alive);
}

TEST(HttpParserTest, BareLfAndEmptyLines) {
  const Parsed p = ParseAll("\r\n\nGET /x HTTP/1.1\nA: b\n\nGET");
  ASSERT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.path, "/x");
  EXPECT_EQ(*p.request.Header("a"), "b");
  EXPECT_EQ(p.rest, "GET");
}

TEST(HttpParserTest, MalformedLines) {
  struct Case {
    std::string bytes;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},  // obs-fold
           {"GET / HTTP/1.1\r\nA : b\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\nA\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},
           {"GET / HTTP/1.1\r\nA: b\0c\r\n\r\n"s, 400},
           {"GET / HTTP/2.0\r\n\r\n", 505},
           {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
           {"GET / HTTP/1.1x\r\n\r\n", 400},
           {"GET / http/1.1\r\n\r\n", 400},
           {"GET  / HTTP/1.1\r\n\r\n", 400},
           {"G(T / HTTP/1.1\r\n\r\n", 400},
           {"GET http://a/ HTTP/1.1\r\n\r\n", 400},
           {"GET * HTTP/1.1\r\n\r\n", 400},
           {"GET /a#b HTTP/1.1\r\n\r\n", 400},
           {"GET /\x80 HTTP/1.1\r\n\r\n", 400},
       }) {
    SCOPED_TRACE(c.bytes);
    const Parsed p = ParseAll(c.bytes);
    EXPECT_EQ(p.result, Result::kError);
    EXPECT_EQ(p.status, c.status);
  }
  const Parsed p = ParseAll("OPTIONS * HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.result, Result::kRequest);
  EXPECT_EQ(p.request.path, "*");
}

TEST(HttpParserTest, ErrorIsSticky) {
  HttpRequestParser parser;
  Buffer input;
  input.Append("GET / HTTP/1.1\r\n c\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kError);
  EXPECT_EQ(parser.error_status(), 400);
  EXPECT_EQ(parser.error_reason(), "obsolete line folding in header");
  input.Append("\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kError);
  parser.Reset();
  EXPECT_EQ(parser.error_status(), 0);
  input.RetrieveAll();
  input.Append("GET /ok HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.Feed(&input), Result::kRequest);
  EXPECT_EQ(parser.request().path, "/ok");
}

TEST(HttpParserTest, ResetReuse) {
  HttpRequestParser parser;
  Buffer input;
  input.Append("POST /a?q=1 HTTP/1.0\r\nContent-Length: 1\r\nX: y\r\n\r\nz");
  ASSERT_EQ(parser.Feed(&input), Result::kRequest);
  parser.Reset();
  EXPECT_FALSE(parser.started());
  EXPECT_FALSE(parser.headers_done());
  input.Append("GET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(parser.Feed(&input), Result::kRequest);
  const HttpServerRequest& r = parser.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/b");
  EXPECT_EQ(r.query, "");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_TRUE(r.keep_alive);
}

TEST(HttpParserTest, QueryParam) {
  HttpServerRequest r;
  r.query = "a=1&b=x+y%2Fz&c&d=&%61%62=e&bad=%zz%4&a=2";
  EXPECT_EQ(r.QueryParam("a"), "1");  // The first one.
  EXPECT_EQ(r.QueryParam("b"), "x y/z");
  EXPECT_EQ(r.QueryParam("c"), "");
  EXPECT_EQ(r.QueryParam("d"), "");
  EXPECT_EQ(r.QueryParam("ab"), "e");
  EXPECT_EQ(r.QueryParam("bad"), "%zz%4");
  EXPECT_EQ(r.QueryParam("z"), std::nullopt);
  r.query = "";
  EXPECT_EQ(r.QueryParam("a"), std::nullopt);
}

TEST(HttpParserTest, AppendHttpResponse) {
  Buffer out;
  AppendHttpResponse(&out, 200, "application/json", {{"X-A", "1"}}, "{}",
                     /*keep_alive=*/true);
  EXPECT_EQ(out.RetrieveAllAsString(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nX-A: 1\r\n\r\n{}");
  AppendHttpResponse(&out, 404, "", {}, "nope", /*keep_alive=*/false,
                     /*head_only=*/true);
  EXPECT_EQ(out.RetrieveAllAsString(),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n"
            "Connection: close\r\n\r\n");
  AppendHttpResponse(&out, 204, "", {}, "", true);
  EXPECT_EQ(out.RetrieveAllAsString(), "HTTP/1.1 204 No Content\r\n\r\n");
  AppendHttpResponse(&out, 499, "text/plain", {}, "x", true);
  EXPECT_EQ(out.RetrieveAllAsString(),
            "HTTP/1.1 499 Client Closed Request\r\nContent-Type: text/plain\r\n"
            "Content-Length: 1\r\n\r\nx");
  EXPECT_EQ(HttpReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(HttpReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(HttpReasonPhrase(299), "Unknown");
}

}  // namespace
}  // namespace mrpc
