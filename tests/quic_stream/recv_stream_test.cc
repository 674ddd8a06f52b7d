#include "dataplane/quic/stream/recv_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "dataplane/codec/varint.h"

namespace camp::quic {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct Piece {
  uint64_t off;
  size_t len;
};

TransportError feed(RecvStream& r, const std::vector<uint8_t>& data, uint64_t off, size_t len,
                    bool fin = false) {
  RecvStream::FcDelta fc;
  return r.on_stream_frame(off, ByteView(data.data() + off, len), fin, fc);
}

// The whole 1 MB stream in random pieces, with duplicates and overlaps, in random order.
TEST(RecvStream, ReassemblesRandomPermutationOneMegabyte) {
  constexpr size_t kSize = 1 << 20;
  auto data = random_bytes(kSize, 1);
  std::mt19937_64 rng(2);
  std::vector<Piece> pieces;
  for (uint64_t off = 0; off < kSize;) {
    size_t len = std::min<size_t>(1 + rng() % 3000, kSize - off);
    pieces.push_back({off, len});
    off += len;
  }
  const size_t distinct = pieces.size();
  for (size_t i = 0; i < distinct / 2; ++i) pieces.push_back(pieces[rng() % distinct]);  // dups
  for (size_t i = 0; i < distinct / 2; ++i) {  // overlaps straddling piece boundaries
    uint64_t off = rng() % kSize;
    pieces.push_back({off, std::min<size_t>(1 + rng() % 5000, kSize - off)});
  }
  std::shuffle(pieces.begin(), pieces.end(), rng);

  RecvStream r(kSize);
  uint64_t counted = 0;
  for (const Piece& p : pieces) {
    RecvStream::FcDelta fc;
    bool fin = p.off + p.len == kSize;
    ASSERT_EQ(r.on_stream_frame(p.off, ByteView(data.data() + p.off, p.len), fin, fc),
              TransportError::NO_ERROR);
    counted += fc.new_bytes;
  }
  EXPECT_EQ(counted, kSize);
  EXPECT_EQ(r.state(), RecvState::kDataRecvd);
  std::vector<uint8_t> out(kSize + 10);
  bool fin = false;
  ASSERT_EQ(r.read(out, fin), kSize);
  EXPECT_TRUE(fin);
  out.resize(kSize);
  EXPECT_EQ(out, data);
  EXPECT_EQ(r.state(), RecvState::kDataRead);
}

// A window much smaller than the stream: frames only ever land inside the advertised limit,
// reads interleave, the ring wraps many times.
TEST(RecvStream, ReassemblesThroughSmallWindowWithInterleavedReads) {
  constexpr size_t kSize = 1 << 20;
  constexpr uint64_t kWindow = 10000;  // not a multiple of 64 on purpose
  auto data = random_bytes(kSize, 3);
  std::mt19937_64 rng(4);
  RecvStream r(kWindow);
  std::vector<uint8_t> got;
  std::vector<uint8_t> buf(4096);
  bool fin = false;
  while (!fin) {
    uint64_t limit = std::min<uint64_t>(r.max_stream_data(), kSize);
    uint64_t lo = r.read_offset() > 500 ? r.read_offset() - 500 : 0;  // some stale duplicates
    uint64_t off = lo + rng() % (limit - lo);
    size_t len = std::min<uint64_t>(1 + rng() % 1500, limit - off);
    ASSERT_EQ(feed(r, data, off, len, off + len == kSize), TransportError::NO_ERROR);
    if (rng() % 4 == 0) {
      size_t n = r.read(std::span<uint8_t>(buf.data(), 1 + rng() % buf.size()), fin);
      got.insert(got.end(), buf.begin(), buf.begin() + n);
      if (r.wants_max_stream_data()) {
        uint64_t before = r.max_stream_data();
        EXPECT_GT(r.advance_max_stream_data(), before);
        EXPECT_EQ(r.max_stream_data(), r.read_offset() + kWindow);
      }
    }
  }
  EXPECT_EQ(got, data);
}

TEST(RecvStream, FlowControlLimitIsEnforced) {
  auto data = random_bytes(200, 5);
  RecvStream r(100);
  EXPECT_EQ(feed(r, data, 0, 100), TransportError::NO_ERROR);
  EXPECT_EQ(feed(r, data, 50, 51), TransportError::FLOW_CONTROL_ERROR);
  EXPECT_FALSE(r.wants_max_stream_data());
  std::vector<uint8_t> out(60);
  bool fin;
  EXPECT_EQ(r.read(out, fin), 60u);
  EXPECT_TRUE(r.wants_max_stream_data());
  EXPECT_EQ(r.advance_max_stream_data(), 160u);
  EXPECT_EQ(feed(r, data, 100, 60), TransportError::NO_ERROR);
  EXPECT_EQ(feed(r, data, 100, 61), TransportError::FLOW_CONTROL_ERROR);
}

TEST(RecvStream, NewBytesCountOnlyTheHighestOffset) {
  auto data = random_bytes(100, 6);
  RecvStream r(100);
  RecvStream::FcDelta fc;
  ASSERT_EQ(r.on_stream_frame(50, ByteView(data.data() + 50, 10), false, fc),
            TransportError::NO_ERROR);
  EXPECT_EQ(fc.new_bytes, 60u);
  ASSERT_EQ(r.on_stream_frame(0, ByteView(data.data(), 60), false, fc), TransportError::NO_ERROR);
  EXPECT_EQ(fc.new_bytes, 0u);
  ASSERT_EQ(r.on_stream_frame(55, ByteView(data.data() + 55, 10), false, fc),
            TransportError::NO_ERROR);
  EXPECT_EQ(fc.new_bytes, 5u);
}

TEST(RecvStream, FinalSizeRules) {
  auto data = random_bytes(100, 7);
  {
    RecvStream r(100);
    ASSERT_EQ(feed(r, data, 0, 50, true), TransportError::NO_ERROR);
    EXPECT_EQ(r.final_size(), 50u);
    EXPECT_EQ(feed(r, data, 40, 20), TransportError::FINAL_SIZE_ERROR);  // past the end
    EXPECT_EQ(feed(r, data, 0, 40, true), TransportError::FINAL_SIZE_ERROR);  // changed
    EXPECT_EQ(feed(r, data, 0, 50, true), TransportError::NO_ERROR);  // repeated FIN is fine
    EXPECT_EQ(feed(r, data, 10, 10), TransportError::NO_ERROR);
  }
  {
    RecvStream r(100);
    ASSERT_EQ(feed(r, data, 0, 60), TransportError::NO_ERROR);
    EXPECT_EQ(feed(r, data, 0, 50, true), TransportError::FINAL_SIZE_ERROR);  // below received
  }
  {
    RecvStream r(100);
    ASSERT_EQ(feed(r, data, 30, 20, true), TransportError::NO_ERROR);
    EXPECT_EQ(r.state(), RecvState::kSizeKnown);
    bool fin;
    std::vector<uint8_t> out(100);
    EXPECT_EQ(r.read(out, fin), 0u);
    ASSERT_EQ(feed(r, data, 0, 30), TransportError::NO_ERROR);
    EXPECT_EQ(r.state(), RecvState::kDataRecvd);
    EXPECT_EQ(r.read(out, fin), 50u);
    EXPECT_TRUE(fin);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 50, data.begin()));
    EXPECT_TRUE(r.terminal());
  }
  {
    RecvStream r(100);  // an empty stream: a lone FIN at offset 0
    ASSERT_EQ(feed(r, data, 0, 0, true), TransportError::NO_ERROR);
    EXPECT_EQ(r.state(), RecvState::kDataRecvd);
    bool fin = false;
    std::vector<uint8_t> out(1);
    EXPECT_EQ(r.read(out, fin), 0u);
    EXPECT_TRUE(fin);
  }
}

TEST(RecvStream, RejectsOffsetOverflow) {
  uint8_t b[4] = {};
  RecvStream r(100);
  RecvStream::FcDelta fc;
  EXPECT_EQ(r.on_stream_frame(varint::kMax - 1, ByteView(b, 4), false, fc),
            TransportError::FRAME_ENCODING_ERROR);
}

TEST(RecvStream, ResetStreamRules) {
  auto data = random_bytes(100, 8);
  {
    RecvStream r(100);
    ASSERT_EQ(feed(r, data, 0, 40), TransportError::NO_ERROR);
    RecvStream::FcDelta fc;
    EXPECT_EQ(r.on_reset_stream(30, 1, fc), TransportError::FINAL_SIZE_ERROR);
    EXPECT_EQ(r.on_reset_stream(101, 1, fc), TransportError::FLOW_CONTROL_ERROR);
    std::vector<uint8_t> out(10);
    bool fin;
    ASSERT_EQ(r.read(out, fin), 10u);
    ASSERT_EQ(r.on_reset_stream(70, 9, fc), TransportError::NO_ERROR);
    EXPECT_EQ(fc.new_bytes, 30u);  // 40 -> 70 counts against the connection
    EXPECT_EQ(fc.released, 60u);   // everything unread returns its credit
    EXPECT_EQ(r.state(), RecvState::kResetRecvd);
    EXPECT_EQ(r.reset_error_code(), 9u);
    EXPECT_EQ(feed(r, data, 60, 20), TransportError::FINAL_SIZE_ERROR);
    EXPECT_EQ(feed(r, data, 60, 10), TransportError::NO_ERROR);
    EXPECT_EQ(r.on_reset_stream(71, 9, fc), TransportError::FINAL_SIZE_ERROR);
    EXPECT_EQ(r.on_reset_stream(70, 9, fc), TransportError::NO_ERROR);
    r.acknowledge_reset();
    EXPECT_EQ(r.state(), RecvState::kResetRead);
  }
  {
    RecvStream r(100);
    ASSERT_EQ(feed(r, data, 0, 20, true), TransportError::NO_ERROR);
    RecvStream::FcDelta fc;
    EXPECT_EQ(r.on_reset_stream(21, 0, fc), TransportError::FINAL_SIZE_ERROR);
    EXPECT_EQ(r.on_reset_stream(20, 0, fc), TransportError::NO_ERROR);
    EXPECT_EQ(r.state(), RecvState::kDataRecvd);  // all data in: the reset may be ignored
  }
}

TEST(RecvStream, DiscardReleasesCreditAndDropsData) {
  auto data = random_bytes(100, 9);
  RecvStream r(100);
  ASSERT_EQ(feed(r, data, 0, 10), TransportError::NO_ERROR);
  ASSERT_EQ(feed(r, data, 30, 10), TransportError::NO_ERROR);
  EXPECT_EQ(r.discard(), 40u);
  RecvStream::FcDelta fc;
  ASSERT_EQ(r.on_stream_frame(40, ByteView(data.data() + 40, 20), false, fc),
            TransportError::NO_ERROR);
  EXPECT_EQ(fc.new_bytes, 20u);
  EXPECT_EQ(fc.released, 20u);
  EXPECT_FALSE(r.terminal());
  ASSERT_EQ(r.on_reset_stream(60, 3, fc), TransportError::NO_ERROR);
  EXPECT_EQ(fc.released, 0u);
  EXPECT_TRUE(r.terminal());
}

}  // namespace
}  // namespace camp::quic
