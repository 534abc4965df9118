// The key-value service through a real server and the generated stub.
#include "examples/kv/kv_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc::examples::kv {
namespace {

class KvServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.num_threads = 2;
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->RegisterService(&service_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create("127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(channel.ok());
    channel_ = std::move(*channel);
    stub_ = KvService::NewStub(channel_.get());
  }
  void TearDown() override {
    stub_.reset();
    channel_.reset();
    server_->Shutdown();
    server_->Wait();
  }
  absl::StatusOr<PutResponse> Put(const std::string& key,
                                  const std::string& value) {
    PutRequest r;
    r.set_key(key);
    r.set_value(value);
    return stub_->Put(r);
  }
  absl::StatusOr<GetResponse> Get(const std::string& key) {
    GetRequest r;
    r.set_key(key);
    return stub_->Get(r);
  }

  KvServiceImpl service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<KvService::Stub> stub_;
};

TEST_F(KvServiceTest, PutGetReplaceDelete) {
  absl::StatusOr<PutResponse> put = Put("a", "1");
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(put->created());
  put = Put("a", "2");
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->created());
  absl::StatusOr<GetResponse> got = Get("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value(), "2");
  DeleteRequest del;
  del.set_key("a");
  EXPECT_TRUE(stub_->Delete(del).ok());
  EXPECT_EQ(Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(stub_->Delete(del).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KvServiceTest, EmptyKeyIsInvalidEverywhere) {
  EXPECT_EQ(Put("", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Get("").status().code(), absl::StatusCode::kInvalidArgument);
  DeleteRequest del;
  EXPECT_EQ(stub_->Delete(del).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KvServiceTest, ListByPrefixInKeyOrderWithLimit) {
  for (const char* key : {"user/b", "user/a", "user/c", "other", "user"}) {
    ASSERT_TRUE(Put(key, std::string("v-") + key).ok());
  }
  ListRequest request;
  request.set_prefix("user/");
  absl::StatusOr<ListResponse> list = stub_->List(request);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->entries_size(), 3);
  EXPECT_EQ(list->entries(0).key(), "user/a");
  EXPECT_EQ(list->entries(2).key(), "user/c");
  EXPECT_EQ(list->entries(2).value(), "v-user/c");
  EXPECT_FALSE(list->truncated());
  request.set_limit(2);
  list = stub_->List(request);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->entries_size(), 2);
  EXPECT_TRUE(list->truncated());
  request.set_limit(5000);
  EXPECT_EQ(stub_->List(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Issue 11: on this service, 5 connections that each sent one List plus a
// PING and never read pinned 830 MB. A List whose answer is over the
// server's 16 MiB frame limit now fails alone, with a status that says so;
// the channel and the store go on.
TEST_F(KvServiceTest, AListLargerThanTheFrameLimitFailsAlone) {
  const std::string value(1 << 20, 'v');
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Put("big/" + std::to_string(100 + i), value).ok());
  }
  ListRequest request;
  request.set_prefix("big/");
  absl::StatusOr<ListResponse> list = stub_->List(request);
  EXPECT_EQ(list.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(list.status().message().find("over the server's limit"),
            std::string::npos)
      << list.status();
  EXPECT_EQ(server_->stats().oversized_responses, 1u);
  // A List that fits is served on the same connection.
  request.set_limit(10);
  list = stub_->List(request);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->entries_size(), 10);
  EXPECT_EQ(channel_->stats().connects, 1u);
}

}  // namespace
}  // namespace mrpc::examples::kv
