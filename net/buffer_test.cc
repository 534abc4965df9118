#include "net/buffer.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace mrpc {
namespace {

TEST(BufferTest, StartsEmptyWithPrependRoom) {
  Buffer buf;
  EXPECT_EQ(buf.ReadableBytes(), 0u);
  EXPECT_EQ(buf.WritableBytes(), Buffer::kInitialSize);
  EXPECT_EQ(buf.PrependableBytes(), Buffer::kCheapPrepend);
}

TEST(BufferTest, AppendThenRetrieveInPieces) {
  Buffer buf;
  buf.Append(std::string(200, 'x'));
  EXPECT_EQ(buf.ReadableBytes(), 200u);
  EXPECT_EQ(buf.WritableBytes(), Buffer::kInitialSize - 200);

  EXPECT_EQ(buf.RetrieveAsString(50), std::string(50, 'x'));
  EXPECT_EQ(buf.ReadableBytes(), 150u);
  EXPECT_EQ(buf.PrependableBytes(), Buffer::kCheapPrepend + 50);

  buf.Retrieve(150);  // Retrieving everything resets to the front.
  EXPECT_EQ(buf.ReadableBytes(), 0u);
  EXPECT_EQ(buf.PrependableBytes(), Buffer::kCheapPrepend);
}

TEST(BufferTest, GrowsAndKeepsContent) {
  Buffer buf;
  std::string data;
  for (int i = 0; i < 5000; ++i)
    data.push_back(static_cast<char>('a' + i % 26));
  buf.Append(data.substr(0, 400));
  buf.Append(data.substr(400));
  EXPECT_EQ(buf.ReadableBytes(), data.size());
  EXPECT_GE(buf.Capacity(), data.size() + Buffer::kCheapPrepend);
  EXPECT_EQ(buf.View(), data);
}

TEST(BufferTest, SlidesContentForwardInsteadOfGrowing) {
  Buffer buf;
  buf.Append(std::string(800, 'a'));
  buf.Retrieve(700);  // 100 readable, 700 wasted in front, 224 free at the end.
  const size_t capacity = buf.Capacity();
  buf.Append(std::string(600, 'b'));  // Fits only after sliding.
  EXPECT_EQ(buf.Capacity(), capacity);
  EXPECT_EQ(buf.PrependableBytes(), Buffer::kCheapPrepend);
  EXPECT_EQ(buf.View(), std::string(100, 'a') + std::string(600, 'b'));
}

TEST(BufferTest, PrependWritesInFrontOfContent) {
  Buffer buf;
  buf.Append("body");
  buf.PrependUint32(4);
  buf.Prepend("MR", 2);
  EXPECT_EQ(buf.ReadableBytes(), 10u);
  EXPECT_EQ(buf.View(), std::string("MR\0\0\0\4body", 10));
  EXPECT_EQ(buf.PrependableBytes(), Buffer::kCheapPrepend - 6);
}

TEST(BufferTest, IntegersAreBigEndianOnTheWire) {
  Buffer buf;
  buf.AppendUint8(0x01);
  buf.AppendUint16(0x0203);
  buf.AppendUint32(0x04050607);
  buf.AppendUint64(0x08090a0b0c0d0e0full);
  EXPECT_EQ(buf.View(), std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                    "\x0b\x0c\x0d\x0e\x0f",
                                    15));
  EXPECT_EQ(buf.PeekUint8(), 0x01);
  EXPECT_EQ(buf.ReadUint8(), 0x01);
  EXPECT_EQ(buf.PeekUint16(), 0x0203);
  EXPECT_EQ(buf.ReadUint16(), 0x0203);
  EXPECT_EQ(buf.PeekUint32(), 0x04050607u);
  EXPECT_EQ(buf.ReadUint32(), 0x04050607u);
  EXPECT_EQ(buf.PeekUint64(), 0x08090a0b0c0d0e0full);
  EXPECT_EQ(buf.ReadUint64(), 0x08090a0b0c0d0e0full);
  EXPECT_EQ(buf.ReadableBytes(), 0u);
}

TEST(BufferTest, IntegerExtremes) {
  Buffer buf;
  buf.AppendUint32(0xffffffffu);
  buf.AppendUint64(0);
  buf.AppendUint16(0x8000);
  EXPECT_EQ(buf.ReadUint32(), 0xffffffffu);
  EXPECT_EQ(buf.ReadUint64(), 0u);
  EXPECT_EQ(buf.ReadUint16(), 0x8000);
}

TEST(BufferTest, WriteInPlaceAndUnwrite) {
  Buffer buf;
  buf.EnsureWritable(3000);
  EXPECT_GE(buf.WritableBytes(), 3000u);
  std::memset(buf.BeginWrite(), 'z', 10);
  buf.HasWritten(10);
  EXPECT_EQ(buf.View(), std::string(10, 'z'));
  buf.Unwrite(4);
  EXPECT_EQ(buf.View(), std::string(6, 'z'));
}

TEST(BufferTest, ShrinkReleasesMemoryAndKeepsContent) {
  Buffer buf;
  buf.Append(std::string(1 << 20, 'q'));
  buf.Retrieve((1 << 20) - 5);
  EXPECT_GT(buf.Capacity(), 1u << 20);
  buf.Shrink(0);
  EXPECT_EQ(buf.Capacity(), Buffer::kCheapPrepend + 5);
  EXPECT_EQ(buf.View(), "qqqqq");
  buf.Append("r");  // Still usable after shrinking to the bone.
  EXPECT_EQ(buf.View(), "qqqqqr");
}

TEST(BufferTest, SwapExchangesContents) {
  Buffer a, b;
  a.Append("first");
  b.Append(std::string(4000, 's'));
  a.Swap(b);
  EXPECT_EQ(a.ReadableBytes(), 4000u);
  EXPECT_EQ(b.View(), "first");
}

// A connected, non-blocking stream pair: what ReadFd meets in production.
class BufferReadFdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    int size = 1 << 20;  // Room for the largest write below in one go.
    ASSERT_EQ(::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size),
              0);
    ASSERT_EQ(::setsockopt(fds_[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size),
              0);
  }
  void TearDown() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void WriteAll(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fds_[0], data.data() + done, data.size() - done);
      ASSERT_GT(n, 0) << "socketpair full; test data too large";
      done += n;
    }
  }
  int fds_[2] = {-1, -1};
};

TEST_F(BufferReadFdTest, ReadsIntoFreeSpace) {
  Buffer buf;
  WriteAll("hello");
  int err = 0;
  EXPECT_EQ(buf.ReadFd(fds_[1], &err), 5);
  EXPECT_EQ(buf.View(), "hello");
}

TEST_F(BufferReadFdTest, SpillsPastFreeSpaceInOneCall) {
  Buffer buf(64);  // Tiny buffer: most of the read lands in the spill area.
  std::string data;
  for (int i = 0; i < 30000; ++i) data.push_back(static_cast<char>(i * 7));
  WriteAll(data);
  int err = 0;
  EXPECT_EQ(buf.ReadFd(fds_[1], &err), 30000);
  EXPECT_EQ(buf.View(), data);
}

TEST_F(BufferReadFdTest, TakesAtMostFreeSpacePlusSpillPerCall) {
  Buffer buf(100);
  const size_t total = 200000;
  std::string data(total, 'w');
  WriteAll(data);
  int err = 0;
  ssize_t first = buf.ReadFd(fds_[1], &err);
  EXPECT_EQ(first, static_cast<ssize_t>(100 + Buffer::kReadSpillSize));
  size_t got = first;
  while (got < total) {
    ssize_t n = buf.ReadFd(fds_[1], &err);
    ASSERT_GT(n, 0);
    got += n;
  }
  EXPECT_EQ(buf.ReadableBytes(), total);
  EXPECT_EQ(buf.View(), data);
}

TEST_F(BufferReadFdTest, EmptyNonBlockingSocketGivesEagain) {
  Buffer buf;
  int err = 0;
  EXPECT_EQ(buf.ReadFd(fds_[1], &err), -1);
  EXPECT_TRUE(err == EAGAIN || err == EWOULDBLOCK);
  EXPECT_EQ(buf.ReadableBytes(), 0u);
}

TEST_F(BufferReadFdTest, PeerCloseGivesZero) {
  Buffer buf;
  WriteAll("bye");
  ::close(fds_[0]);
  fds_[0] = -1;
  int err = 0;
  EXPECT_EQ(buf.ReadFd(fds_[1], &err), 3);
  EXPECT_EQ(buf.ReadFd(fds_[1], &err), 0);
  EXPECT_EQ(buf.View(), "bye");
}

TEST(BufferReadFdErrorTest, BadFdReportsErrno) {
  Buffer buf;
  int err = 0;
  EXPECT_EQ(buf.ReadFd(-1, &err), -1);
  EXPECT_EQ(err, EBADF);
}

}  // namespace
}  // namespace mrpc
