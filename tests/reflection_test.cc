// Server reflection (proto/reflection.proto; docs/guide.md, "Reflection and
// mrpc_cli") from outside: a client that links none of the server's types
// rebuilds them from what the server sends, calls with JSON, and reads the
// answer. The inventory service is the hard case: a service-only .proto in
// its own package whose messages import another package and a well-known
// type. Also a service registered method by method (described by a
// synthesized file), reflection turned off, the reply limited to what the
// services need, and the same service over HTTP/JSON with curl-like bytes.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/echo.pb.h"
#include "proto/reflection.pb.h"
#include "rpc/channel.h"
#include "rpc/reflection/reflection_client.h"
#include "rpc/server.h"
#include "tests/http_wire.h"
#include "tests/reflection/inventory_service.mrpc.h"

namespace mrpc {
namespace {

using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageToJsonString;
namespace inventory = ::mrpc::test::inventory;

class InventoryImpl : public inventory::v1::Inventory::Service {
 public:
  absl::Status Lookup(ServerContext*, const inventory::LookupRequest& request,
                      inventory::Item* item) override {
    if (request.sku() != "A-1") {
      return absl::NotFoundError(absl::StrCat("no item ", request.sku()));
    }
    item->set_sku("A-1");
    item->mutable_price()->set_currency(test::common::EUR);
    item->mutable_price()->set_amount(1250);
    item->mutable_restocked()->set_seconds(1700000000);
    (*item->mutable_labels())["color"] = "red";
    item->set_on_hand(7);
    return absl::OkStatus();
  }
  absl::Status Restock(ServerContext*, const inventory::Item& request,
                       inventory::Item* item) override {
    *item = request;
    item->set_on_hand(request.on_hand() + 1);
    return absl::OkStatus();
  }
};

class ReflectionTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->RegisterService(&inventory_).ok());
    // Method by method, under a name no .proto defines.
    auto ping = [](ServerContext*, const echo::EchoRequest& request,
                   echo::EchoResponse* response, RpcDone done) {
      response->set_payload(request.payload());
      done(absl::OkStatus());
    };
    absl::Status added =
        server_->RegisterMethod<echo::EchoRequest, echo::EchoResponse>(
            "adhoc.Tools", "Ping", ping);
    ASSERT_TRUE(added.ok()) << added;
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    port_ = server_->listen_address().port();
    auto channel = Channel::Create(absl::StrCat("127.0.0.1:", port_));
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *std::move(channel);
  }

  void TearDown() override {
    channel_.reset();
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  InventoryImpl inventory_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::unique_ptr<Channel> channel_;
};

TEST_F(ReflectionTest, ListsEveryServiceWithItsMethods) {
  Start();
  ReflectionClient reflection(channel_.get());
  absl::StatusOr<std::vector<ReflectedService>> services =
      reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  std::vector<std::string> names;
  for (const ReflectedService& s : *services) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"adhoc.Tools", "mrpc.health.v1.Health",
                                      "mrpc.reflection.v1.Reflection",
                                      "mrpc.test.inventory.v1.Inventory"}));
  const ReflectedService& inv = services->back();
  ASSERT_EQ(inv.methods.size(), 2u);
  EXPECT_EQ(inv.methods[0].name, "Lookup");
  EXPECT_EQ(inv.methods[0].request_type, "mrpc.test.inventory.LookupRequest");
  EXPECT_EQ(inv.methods[0].response_type, "mrpc.test.inventory.Item");
  EXPECT_TRUE(inv.methods[0].idempotent);
  EXPECT_EQ(inv.methods[1].name, "Restock");
  EXPECT_FALSE(inv.methods[1].idempotent);
  const ReflectedService& adhoc = services->front();
  ASSERT_EQ(adhoc.methods.size(), 1u);
  EXPECT_EQ(adhoc.methods[0].request_type, "mrpc.echo.EchoRequest");
}

// The client's pool starts empty: every type below came over the wire,
// with the files it imports from other packages.
TEST_F(ReflectionTest, RebuildsImportedTypesAndCallsWithJson) {
  Start();
  ReflectionClient reflection(channel_.get());
  absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
      reflection.FindMethod("mrpc.test.inventory.v1.Inventory/Lookup");
  ASSERT_TRUE(method.ok()) << method.status();
  EXPECT_NE((*method)->file()->pool(),
            google::protobuf::DescriptorPool::generated_pool());
  const google::protobuf::FieldDescriptor* price =
      (*method)->output_type()->FindFieldByName("price");
  ASSERT_NE(price, nullptr);
  EXPECT_EQ(price->message_type()->full_name(), "mrpc.test.common.Money");
  EXPECT_EQ(price->message_type()->file()->name(),
            "tests/reflection/common/money.proto");
  EXPECT_NE(reflection.pool().FindFileByName("google/protobuf/timestamp.proto"),
            nullptr);

  std::unique_ptr<google::protobuf::Message> request =
      reflection.NewMessage((*method)->input_type());
  std::unique_ptr<google::protobuf::Message> response =
      reflection.NewMessage((*method)->output_type());
  ASSERT_TRUE(JsonStringToMessage(R"({"sku":"A-1"})", request.get()).ok());
  ASSERT_TRUE(channel_
                  ->CallMethodBlocking("mrpc.test.inventory.v1.Inventory",
                                       "Lookup", *request, response.get())
                  .ok());
  std::string json;
  ASSERT_TRUE(MessageToJsonString(*response, &json).ok());
  // The enum by name, int64 as a string, the timestamp in RFC 3339, the
  // map, and the custom json_name: the whole JSON mapping on rebuilt types.
  EXPECT_EQ(json,
            R"({"sku":"A-1","price":{"currency":"EUR","amount":"1250"},)"
            R"("restocked":"2023-11-14T22:13:20Z","labels":{"color":"red"},)"
            R"("stock":7})");

  // The same method by its dotted name, and a miss.
  EXPECT_TRUE(
      reflection.FindMethod("mrpc.test.inventory.v1.Inventory.Restock").ok());
  EXPECT_EQ(reflection.FindMethod("mrpc.test.inventory.v1.Inventory/Nope")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<const google::protobuf::EnumDescriptor*> currency =
      reflection.FindEnum("mrpc.test.common.Currency");
  ASSERT_TRUE(currency.ok()) << currency.status();
  EXPECT_EQ((*currency)->value_count(), 3);
}

TEST_F(ReflectionTest, FilesComeImportsFirstAndKnownFilesAreLeftOut) {
  Start();
  reflection::v1::GetFilesRequest request;
  request.set_symbol("mrpc.test.inventory.v1.Inventory");
  reflection::v1::GetFilesResponse response;
  ASSERT_TRUE(channel_
                  ->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                       "GetFiles", request, &response)
                  .ok());
  std::vector<std::string> files;
  for (const auto& file : response.files()) files.push_back(file.name());
  EXPECT_EQ(files, (std::vector<std::string>{
                       "google/protobuf/timestamp.proto",
                       "tests/reflection/common/money.proto",
                       "tests/reflection/inventory.proto",
                       "tests/reflection/inventory_service.proto"}));

  request.add_known_files("tests/reflection/inventory.proto");
  response.Clear();
  ASSERT_TRUE(channel_
                  ->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                       "GetFiles", request, &response)
                  .ok());
  ASSERT_EQ(response.files_size(), 1);
  EXPECT_EQ(response.files(0).name(),
            "tests/reflection/inventory_service.proto");

  // By file name, too.
  request.Clear();
  request.set_filename("tests/reflection/common/money.proto");
  response.Clear();
  ASSERT_TRUE(channel_
                  ->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                       "GetFiles", request, &response)
                  .ok());
  ASSERT_EQ(response.files_size(), 1);
  EXPECT_EQ(response.files(0).message_type(0).name(), "Money");
}

// Only what a registered service needs is served, though more is linked.
TEST_F(ReflectionTest, AnythingNoServiceNeedsIsNotFound) {
  Start();
  // adhoc.Tools uses the echo file's messages: served.
  ReflectionClient reflection(channel_.get());
  EXPECT_TRUE(reflection.FindMessage("mrpc.echo.EchoRequest").ok());
  // google/protobuf/any.proto is linked into every binary, but no service
  // here uses it.
  for (const std::string& symbol :
       {std::string("mrpc.nothing.Here"), std::string("google.protobuf.Any")}) {
    EXPECT_EQ(reflection.FindMessage(symbol).status().code(),
              absl::StatusCode::kNotFound)
        << symbol;
  }
  reflection::v1::GetFilesRequest request;
  request.set_filename("google/protobuf/any.proto");
  reflection::v1::GetFilesResponse response;
  EXPECT_EQ(channel_
                ->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                     "GetFiles", request, &response)
                .code(),
            absl::StatusCode::kNotFound);
  request.set_symbol("mrpc.echo.EchoRequest");  // Both set.
  EXPECT_EQ(channel_
                ->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                     "GetFiles", request, &response)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ReflectionTest, ServiceRegisteredByHandIsDescribedBySynthesizedFile) {
  Start();
  ReflectionClient reflection(channel_.get());
  absl::StatusOr<const google::protobuf::MethodDescriptor*> ping =
      reflection.FindMethod("adhoc.Tools/Ping");
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ((*ping)->file()->name(),
            "mrpc/reflection/synthesized/adhoc.Tools.proto");
  EXPECT_EQ((*ping)->input_type()->full_name(), "mrpc.echo.EchoRequest");
  std::unique_ptr<google::protobuf::Message> request =
      reflection.NewMessage((*ping)->input_type());
  std::unique_ptr<google::protobuf::Message> response =
      reflection.NewMessage((*ping)->output_type());
  ASSERT_TRUE(JsonStringToMessage(R"({"payload":"aGk="})", request.get()).ok());
  ASSERT_TRUE(
      channel_
          ->CallMethodBlocking("adhoc.Tools", "Ping", *request, response.get())
          .ok());
  std::string json;
  ASSERT_TRUE(MessageToJsonString(*response, &json).ok());
  EXPECT_EQ(json, R"({"payload":"aGk="})");
}

TEST_F(ReflectionTest, TurnedOffIsUnimplementedAndSaysSo) {
  ServerOptions options;
  options.reflection = false;
  Start(options);
  ReflectionClient reflection(channel_.get());
  absl::StatusOr<std::vector<ReflectedService>> services =
      reflection.ListServices();
  EXPECT_EQ(services.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(absl::StrContains(services.status().message(),
                                "does not serve mrpc.reflection.v1.Reflection"))
      << services.status();
  // The service itself still answers.
  inventory::LookupRequest request;
  request.set_sku("A-1");
  inventory::Item item;
  EXPECT_TRUE(channel_
                  ->CallMethodBlocking("mrpc.test.inventory.v1.Inventory",
                                       "Lookup", request, &item)
                  .ok());
}

// A stranger with curl: the reflection service is a method like any other
// on the HTTP port, its descriptors readable as JSON.
TEST_F(ReflectionTest, OverHttpWithJson) {
  Start();
  absl::StatusOr<testing::HttpResponse> list = testing::HttpFetch(
      port_, "POST", "/mrpc.reflection.v1.Reflection/ListServices", "{}");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->status, 200);
  EXPECT_TRUE(absl::StrContains(
      list->body,
      R"({"name":"mrpc.test.inventory.v1.Inventory","methods":[{"name":"Lookup",)"
      R"("requestType":"mrpc.test.inventory.LookupRequest",)"
      R"("responseType":"mrpc.test.inventory.Item","idempotent":true})"))
      << list->body;
  absl::StatusOr<testing::HttpResponse> files = testing::HttpFetch(
      port_, "POST", "/mrpc.reflection.v1.Reflection/GetFiles",
      R"({"symbol":"mrpc.test.common.Money"})");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->status, 200);
  EXPECT_TRUE(absl::StartsWith(
      files->body, R"({"files":[{"name":"tests/reflection/common/money.proto",)"
                   R"("package":"mrpc.test.common",)"))
      << files->body;
  absl::StatusOr<testing::HttpResponse> missing = testing::HttpFetch(
      port_, "POST", "/mrpc.reflection.v1.Reflection/GetFiles",
      R"({"symbol":"no.Such"})");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace mrpc
