#include "dataplane/quic/stream/send_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace camp::quic {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

constexpr uint64_t kUnlimited = ~uint64_t{0} >> 2;

TEST(SendStream, WriteIsBoundedAndAcksFreeSpace) {
  SendStream s(128, kUnlimited);
  auto data = random_bytes(300, 1);
  EXPECT_EQ(s.write(data, true), 128u);  // only what fits; FIN not taken
  EXPECT_EQ(s.writable(), 0u);
  StreamChunk c;
  uint64_t nb;
  SendStream::Blocked b;
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.data.size, 100u);
  EXPECT_EQ(nb, 100u);
  EXPECT_FALSE(c.fin);
  EXPECT_TRUE(std::equal(c.data.data, c.data.data + 100, data.begin()));
  s.on_acked(50, 50, false);  // out of order: frees nothing yet
  EXPECT_EQ(s.writable(), 0u);
  s.on_acked(0, 50, false);
  EXPECT_EQ(s.acked_offset(), 100u);
  EXPECT_EQ(s.writable(), 100u);
  EXPECT_EQ(s.write(std::span(data).subspan(128), true), 100u);
}

TEST(SendStream, StreamFlowControlBlocksAndResumes) {
  SendStream s(1000, 300);
  auto data = random_bytes(500, 2);
  ASSERT_EQ(s.write(data, false), 500u);
  StreamChunk c;
  uint64_t nb;
  SendStream::Blocked b;
  ASSERT_TRUE(s.next_chunk(1000, kUnlimited, c, nb, b));
  EXPECT_EQ(c.data.size, 300u);
  EXPECT_FALSE(s.next_chunk(1000, kUnlimited, c, nb, b));
  EXPECT_TRUE(b.stream);
  EXPECT_FALSE(s.on_max_stream_data(200));  // never lowers
  EXPECT_TRUE(s.on_max_stream_data(450));
  ASSERT_TRUE(s.next_chunk(1000, 100, c, nb, b));  // connection credit is the limit now
  EXPECT_EQ(c.offset, 300u);
  EXPECT_EQ(c.data.size, 100u);
  EXPECT_FALSE(s.next_chunk(1000, 0, c, nb, b));
  EXPECT_TRUE(b.connection);
  EXPECT_FALSE(b.stream);
}

// Random loss of every transmission until everything, FIN included, is acknowledged; the
// receiver-side copy assembled from acked chunks must equal the data.
TEST(SendStream, LossAndRetransmitUntilAllAcked) {
  constexpr size_t kSize = 200000;
  auto data = random_bytes(kSize, 3);
  SendStream s(16384, kUnlimited);
  std::mt19937_64 rng(4);
  std::vector<uint8_t> assembled(kSize);
  struct InFlight {
    uint64_t off;
    uint64_t len;
    bool fin;
  };
  std::vector<InFlight> flight;
  size_t written = 0;
  bool fin_written = false;
  uint64_t retransmissions = 0;
  for (int step = 0; s.state() != SendState::kDataRecvd; ++step) {
    ASSERT_LT(step, 1000000);
    if (!fin_written) {
      size_t n = s.write(std::span(data).subspan(written), true);
      written += n;
      fin_written = written == kSize;
    }
    StreamChunk c;
    uint64_t nb;
    SendStream::Blocked b;
    while (flight.size() < 20 && s.next_chunk(1 + rng() % 1400, kUnlimited, c, nb, b)) {
      ASSERT_LE(c.offset + c.data.size, written);
      std::copy(c.data.data, c.data.data + c.data.size, assembled.begin() + c.offset);
      retransmissions += c.retransmission;
      flight.push_back({c.offset, c.data.size, c.fin});
    }
    if (flight.empty()) continue;
    // Resolve a random in-flight frame: 30% lost, otherwise acked.
    size_t i = rng() % flight.size();
    InFlight f = flight[i];
    flight.erase(flight.begin() + static_cast<long>(i));
    if (rng() % 10 < 3) {
      s.on_lost(f.off, f.len, f.fin);
    } else {
      s.on_acked(f.off, f.len, f.fin);
    }
  }
  EXPECT_GT(retransmissions, 0u);
  EXPECT_EQ(s.acked_offset(), kSize);
  EXPECT_EQ(assembled, data);
}

TEST(SendStream, FinOnlyFrameIsRetransmitted) {
  SendStream s(100, kUnlimited);
  auto data = random_bytes(10, 5);
  ASSERT_EQ(s.write(data, false), 10u);
  StreamChunk c;
  uint64_t nb;
  SendStream::Blocked b;
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_FALSE(c.fin);
  ASSERT_EQ(s.write({}, true), 0u);
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_TRUE(c.fin);
  EXPECT_EQ(c.offset, 10u);
  EXPECT_EQ(c.data.size, 0u);
  EXPECT_EQ(s.state(), SendState::kDataSent);
  EXPECT_FALSE(s.next_chunk(100, kUnlimited, c, nb, b));
  s.on_acked(0, 10, false);
  s.on_lost(10, 0, true);
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_TRUE(c.fin);
  EXPECT_EQ(c.offset, 10u);
  s.on_acked(10, 0, true);
  EXPECT_EQ(s.state(), SendState::kDataRecvd);
  EXPECT_TRUE(s.terminal());
}

TEST(SendStream, AckOvertakingLossIsNotResent) {
  SendStream s(1000, kUnlimited);
  auto data = random_bytes(100, 6);
  ASSERT_EQ(s.write(data, false), 100u);
  StreamChunk c;
  uint64_t nb;
  SendStream::Blocked b;
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  s.on_acked(20, 30, false);
  s.on_lost(0, 100, false);
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.data.size, 20u);
  ASSERT_TRUE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_EQ(c.offset, 50u);
  EXPECT_EQ(c.data.size, 50u);
  EXPECT_TRUE(c.retransmission);
  EXPECT_FALSE(s.next_chunk(100, kUnlimited, c, nb, b));
}

TEST(SendStream, ResetUsesSentSizeAndStopsSending) {
  SendStream s(1000, kUnlimited);
  auto data = random_bytes(100, 7);
  ASSERT_EQ(s.write(data, false), 100u);
  StreamChunk c;
  uint64_t nb;
  SendStream::Blocked b;
  ASSERT_TRUE(s.next_chunk(60, kUnlimited, c, nb, b));
  s.on_lost(0, 60, false);
  EXPECT_TRUE(s.reset(5));
  EXPECT_FALSE(s.reset(6));
  EXPECT_EQ(s.final_size(), 60u);
  EXPECT_EQ(s.reset_error_code(), 5u);
  EXPECT_FALSE(s.next_chunk(100, kUnlimited, c, nb, b));
  EXPECT_EQ(s.write(data, false), 0u);
  EXPECT_FALSE(s.terminal());
  s.on_reset_acked();
  EXPECT_EQ(s.state(), SendState::kResetRecvd);
}

}  // namespace
}  // namespace camp::quic
