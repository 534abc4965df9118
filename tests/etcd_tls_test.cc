// TLS end to end with a real etcd that serves https and requires client
// certificates (--client-cert-auth): a TLS server registers itself in it,
// a channel on an etcd:// target finds it through it and calls it over
// TLS; a client without a certificate is refused by etcd and its calls
// fail with the reason. Certificates are made at run time.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/test_util.h"
#include "net/tls_test_certs.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/etcd_process.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::EtcdProcess;
using ::mrpc::testing::kTestService;

TEST(EtcdTlsTest, RegistrationAndDiscoveryOverTls) {
  const std::string dir = MakeTestDir("etcd_tls_test");
  const TestCa ca = TestCa::Create("fleet CA");
  CertSpec etcd_spec;
  etcd_spec.common_name = "etcd";
  etcd_spec.ip_addresses = {"127.0.0.1"};
  const TestKeyPair etcd_pair = ca.Issue(etcd_spec);
  CertSpec service_spec;
  service_spec.common_name = "echo-service";
  service_spec.ip_addresses = {"127.0.0.1"};
  const TestKeyPair service = ca.Issue(service_spec);
  const std::string ca_file = WriteTestFile(dir, "ca.pem", ca.cert_pem());
  const std::string cert = WriteTestFile(dir, "service.pem", service.cert_pem);
  const std::string key = WriteTestFile(dir, "service.key", service.key_pem);

  EtcdProcess::Tls etcd_tls;
  etcd_tls.cert_file = WriteTestFile(dir, "etcd.pem", etcd_pair.cert_pem);
  etcd_tls.key_file = WriteTestFile(dir, "etcd.key", etcd_pair.key_pem);
  etcd_tls.ca_file = ca_file;
  etcd_tls.client_cert = cert;
  etcd_tls.client_key = key;
  EtcdProcess etcd(etcd_tls);
  const std::string target =
      absl::StrCat("etcd://", etcd.client_address(), "/services/echo");

  // One service identity, both ways: the server's certificate for its
  // callers, and its client certificate for etcd.
  ClientTlsOptions identity;
  identity.enabled = true;
  identity.ca_file = ca_file;
  identity.cert_file = cert;
  identity.key_file = key;

  ServerOptions options;
  options.num_threads = 1;
  options.tls.cert_file = cert;
  options.tls.key_file = key;
  options.tls.ca_file = ca_file;
  options.tls.required = true;
  options.registration.target = target;
  options.registration.etcd_tls = identity;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  // Registered through TLS: the key is in etcd.
  ASSERT_TRUE(::mrpc::testing::Eventually(
      [&] {
        absl::StatusOr<std::string> keys =
            etcd.Etcdctl({"get", "--prefix", "--keys-only", "/services/echo/"});
        return keys.ok() &&
               absl::StrContains(*keys, absl::StrCat(":", server.port()));
      },
      absl::Seconds(10)));

  ChannelOptions channel_options;
  channel_options.tls = identity;
  channel_options.cluster.etcd_tls = identity;
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(target, channel_options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  EchoRequest req;
  req.set_payload("through etcd over TLS");
  EchoResponse resp;
  ClientContext ctx;
  ctx.set_timeout(absl::Seconds(10));
  absl::Status status =
      (*channel)->CallMethodBlocking(kTestService, "Echo", req, &resp, &ctx);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(resp.payload(), "through etcd over TLS");
  EXPECT_GE(server.stats().tls_handshakes, 1u);

  // etcd refuses a client without a certificate: the resolver cannot
  // read the servers, and the calls say so within their deadline.
  ChannelOptions anonymous = channel_options;
  anonymous.cluster.etcd_tls.cert_file.clear();
  anonymous.cluster.etcd_tls.key_file.clear();
  absl::StatusOr<std::unique_ptr<Channel>> refused =
      Channel::Create(target, anonymous);
  ASSERT_TRUE(refused.ok());
  ClientContext short_ctx;
  short_ctx.set_timeout(absl::Seconds(3));
  status = (*refused)->CallMethodBlocking(kTestService, "Echo", req, &resp,
                                          &short_ctx);
  EXPECT_FALSE(status.ok());
  EXPECT_GE((*refused)->stats().resolver_errors, 1u) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "bad certificate")) << status;

  refused->reset();
  channel->reset();
  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace mrpc
