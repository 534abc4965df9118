// Writes the fuzzers' seed corpora (rpc/fuzz/corpus/*): valid frames of
// every type plus the classic bad inputs, so fuzzing starts from the
// protocol's shape. Run once; the output is checked in.
//
//   bazel run //rpc/fuzz:make_seeds -- $PWD/rpc/fuzz/corpus
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "net/buffer.h"
#include "proto/echo.pb.h"
#include "rpc/codec.h"

namespace {

using mrpc::RpcMeta;

std::string Frame(mrpc::FrameType type, uint64_t id, const std::string& service,
                  const std::string& method, const std::string& payload,
                  int code = 0, const mrpc::Metadata& metadata = {}) {
  RpcMeta meta;
  meta.set_type(type);
  meta.set_correlation_id(id);
  if (!service.empty()) meta.set_service(service);
  if (!method.empty()) meta.set_method(method);
  if (type == mrpc::REQUEST) meta.set_timeout_us(500000);
  if (code != 0) {
    meta.set_status_code(code);
    meta.set_status_message("not found");
  }
  mrpc::AppendMetadata(metadata, &meta);
  mrpc::Buffer out;
  mrpc::EncodeFrame(meta, payload, &out);
  return out.RetrieveAllAsString();
}

std::string Echo(const std::string& text) {
  mrpc::echo::EchoRequest request;
  request.set_payload(text);
  return request.SerializeAsString();
}

void Write(const std::string& dir, const std::string& name,
           const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus root>\n");
    return 2;
  }
  const std::string root = argv[1];
  const std::string svc = "mrpc.echo.EchoService";
  const std::string request =
      Frame(mrpc::REQUEST, 1, svc, "Echo", Echo("hello"));
  const std::string fail = Frame(mrpc::REQUEST, 2, svc, "Fail", Echo("why"));
  const std::string slow =
      Frame(mrpc::REQUEST, 3, svc, "SlowEcho", Echo("pool"));
  const std::string ping = Frame(mrpc::PING, 7, "", "", "");
  const std::string cancel = Frame(mrpc::CANCEL, 1, "", "", "");
  const std::string response = Frame(mrpc::RESPONSE, 1, "", "", Echo("hello"));
  const std::string error = Frame(mrpc::RESPONSE, 2, "", "", "", 5);
  const std::string unknown = Frame(mrpc::REQUEST, 4, "no.Such", "Echo", "");
  // Not UTF-8: found by server_dispatch_fuzzer when names were `string`.
  const std::string not_utf8 =
      Frame(mrpc::REQUEST, 6, "no.\xc3(", "\xff\xfe", "");
  const std::string unparsable =
      Frame(mrpc::REQUEST, 5, svc, "Echo", "\xff\xff\xff");
  const std::string oversized =
      std::string("MRPC\x7f\xff\xff\xff\x00\x00\x00\x04", 12);
  // Metadata: ordinary, binary and duplicate values, a reserved key, a
  // malformed key, a rejected call, and more entries than the limit.
  const mrpc::Metadata ordinary = {
      {"x-user", "ada"},
      {"x-bin", std::string("\x00\xff\x01", 3)},
      {"x-user", "again"},
      {"traceparent",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  const std::string with_metadata =
      Frame(mrpc::REQUEST, 8, svc, "Meta", Echo("md"), 0, ordinary);
  const std::string bad_key = Frame(mrpc::REQUEST, 9, svc, "Meta", Echo("md"),
                                    0, {{"Bad Key", "v"}, {"mrpc-x", "v"}});
  const std::string denied =
      Frame(mrpc::REQUEST, 10, svc, "Echo", Echo("no"), 0, {{"deny", "1"}});
  mrpc::Metadata many;
  for (int i = 0; i < 70; ++i) many.emplace_back("k" + std::to_string(i), "v");
  const std::string too_many =
      Frame(mrpc::REQUEST, 11, svc, "Meta", Echo("md"), 0, many);
  const std::string response_md = Frame(mrpc::RESPONSE, 12, "", "", "", 0,
                                        {{"mrpc-server-us", "1234"}});

  // frame_decoder: byte 0 is the piece size; the rest is the stream.
  const std::string fd = root + "/frame_decoder";
  Write(fd, "request", std::string(1, '\x00') + request);
  Write(fd, "coalesced",
        std::string(1, '\xff') + request + ping + response + error);
  Write(fd, "split", std::string(1, '\x02') + request + cancel);
  Write(fd, "truncated",
        std::string(1, '\x10') + request.substr(0, request.size() - 3));
  Write(fd, "bad_magic", std::string(1, '\x04') + "GET / HTTP/1.1\r\n\r\n");
  Write(fd, "oversized", std::string(1, '\x0c') + oversized);

  // rpc_meta: serialized metas.
  const std::string rm = root + "/rpc_meta";
  auto meta_bytes = [](const std::string& frame) {
    const uint32_t meta_size = (static_cast<uint8_t>(frame[8]) << 24) |
                               (static_cast<uint8_t>(frame[9]) << 16) |
                               (static_cast<uint8_t>(frame[10]) << 8) |
                               static_cast<uint8_t>(frame[11]);
    return frame.substr(12, meta_size);
  };
  Write(rm, "request", meta_bytes(request));
  Write(rm, "response_error", meta_bytes(error));
  Write(rm, "ping", meta_bytes(ping));
  Write(rm, "cancel", meta_bytes(cancel));
  Write(rm, "request_metadata", meta_bytes(with_metadata));
  Write(rm, "bad_metadata_key", meta_bytes(bad_key));
  Write(rm, "response_metadata", meta_bytes(response_md));

  // server_dispatch: what a client might send.
  const std::string sd = root + "/server_dispatch";
  Write(sd, "echo", request);
  Write(sd, "pipelined", request + fail + slow + ping + cancel);
  Write(sd, "unknown_service", unknown);
  Write(sd, "unparsable_request", unparsable);
  Write(sd, "not_utf8_names", not_utf8 + request);
  Write(sd, "partial", request.substr(0, 20));
  Write(sd, "response_from_client", response);
  Write(sd, "garbage", "\x00\x01\x02garbage");
  Write(sd, "oversized", oversized);
  Write(sd, "metadata", with_metadata + bad_key + denied + too_many);
  // Protocol semantics: cancel then reuse an id; a duplicate id in flight.
  Write(sd, "cancel_reuse",
        Frame(mrpc::REQUEST, 13, svc, "SlowEcho", Echo("x")) +
            Frame(mrpc::CANCEL, 13, "", "", "") +
            Frame(mrpc::REQUEST, 13, svc, "Echo", Echo("y")));
  Write(sd, "duplicate_id", slow + slow);
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
