#include "tools/cli/cli_format.h"

#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "examples/kv/kv.pb.h"

namespace mrpc::cli {
namespace {

namespace pb = google::protobuf;

const pb::ServiceDescriptor* KvService() {
  return mrpc::examples::kv::GetRequest::descriptor()
      ->file()
      ->FindServiceByName("KvService");
}

TEST(JsonTest, QuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(JsonTest, Status) {
  EXPECT_EQ(StatusToJson(absl::NotFoundError("no key \"x\"")),
            R"({"code":"NOT_FOUND","code_number":5,"message":"no key \"x\""})");
}

std::vector<ReflectedService> Services() {
  return {{"a.Svc",
           {{"Get", "a.GetRequest", "a.GetResponse", true},
            {"LongerName", "a.LongRequest", "a.Resp", false}}},
          {"b.Other", {}}};
}

TEST(FormatServicesTest, AlignedWithIdempotentMarked) {
  EXPECT_EQ(
      FormatServices(Services()),
      "a.Svc\n"
      "  Get(a.GetRequest)         returns (a.GetResponse)  [idempotent]\n"
      "  LongerName(a.LongRequest) returns (a.Resp)\n"
      "b.Other\n");
}

TEST(FormatServicesTest, Json) {
  EXPECT_EQ(
      ServicesToJson(Services()),
      R"({"services":[{"name":"a.Svc","methods":[)"
      R"({"name":"Get","requestType":"a.GetRequest","responseType":"a.GetResponse","idempotent":true},)"
      R"({"name":"LongerName","requestType":"a.LongRequest","responseType":"a.Resp","idempotent":false}]},)"
      R"({"name":"b.Other","methods":[]}]})");
}

TEST(DescribeTest, ServiceText) {
  Symbol symbol;
  symbol.service = KvService();
  const std::string text = DescribeText(symbol);
  EXPECT_EQ(text.rfind("// mrpc.examples.kv.KvService: service in "
                       "examples/kv/kv.proto\nservice KvService {\n",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("rpc Get(.mrpc.examples.kv.GetRequest) returns "
                      "(.mrpc.examples.kv.GetResponse)"),
            std::string::npos)
      << text;
}

TEST(DescribeTest, MethodTextShowsTheMessagesItUses) {
  Symbol symbol;
  symbol.method = KvService()->FindMethodByName("List");
  const std::string text = DescribeText(symbol);
  EXPECT_NE(text.find("// mrpc.examples.kv.KvService/List: method"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("message ListRequest {"), std::string::npos) << text;
  EXPECT_NE(text.find("message ListResponse {"), std::string::npos) << text;
  // ListResponse's entries.
  EXPECT_NE(text.find("message Entry {"), std::string::npos) << text;
}

// What reflection sends: every field's json_name, the default ones included.
TEST(DescribeTest, DefaultJsonNamesAreLeftOut) {
  pb::FileDescriptorProto file;
  file.set_name("t.proto");
  file.set_package("t");
  file.set_syntax("proto3");
  pb::DescriptorProto* m = file.add_message_type();
  m->set_name("M");
  auto add = [](pb::DescriptorProto* m, const char* name, int number,
                const char* json_name) {
    pb::FieldDescriptorProto* f = m->add_field();
    f->set_name(name);
    f->set_number(number);
    f->set_type(pb::FieldDescriptorProto::TYPE_STRING);
    f->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
    f->set_json_name(json_name);
    return f;
  };
  add(m, "user_name", 1, "userName");
  add(m, "custom", 2, "other");
  add(m, "old_field", 3, "oldField")->mutable_options()->set_deprecated(true);
  add(m->add_nested_type(), "inner_x", 1, "innerX");
  m->mutable_nested_type(0)->set_name("N");
  pb::DescriptorPool pool;
  const pb::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  Symbol symbol;
  symbol.message = built->FindMessageTypeByName("M");
  EXPECT_EQ(DescribeText(symbol),
            "// t.M: message in t.proto\n"
            "message M {\n"
            "  message N {\n"
            "    string inner_x = 1;\n"
            "  }\n"
            "  string user_name = 1;\n"
            "  string custom = 2 [json_name = \"other\"];\n"
            "  string old_field = 3 [deprecated = true];\n"
            "}\n");
}

TEST(DescribeTest, Json) {
  Symbol symbol;
  symbol.message = mrpc::examples::kv::GetRequest::descriptor();
  absl::StatusOr<std::string> json = DescribeJson(symbol);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      *json,
      R"({"symbol":"mrpc.examples.kv.GetRequest","kind":"message",)"
      R"("file":"examples/kv/kv.proto","descriptor":{"name":"GetRequest",)"
      R"("field":[{"name":"key","number":1,"label":"LABEL_OPTIONAL",)"
      R"("type":"TYPE_STRING"}]}})");

  symbol = Symbol();
  symbol.method = KvService()->FindMethodByName("Get");
  json = DescribeJson(symbol);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("kind":"method")"), std::string::npos) << *json;
  EXPECT_NE(json->find(R"("requestType":"mrpc.examples.kv.GetRequest")"),
            std::string::npos)
      << *json;
}

}  // namespace
}  // namespace mrpc::cli
