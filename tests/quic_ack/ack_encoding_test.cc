// What write_ack puts on the wire: ACK Delay scaling (RFC 9000 13.2.5, 19.3), ECN counts,
// PATH_ACK (multipath 4.1), and trimming the oldest ranges to fit (13.2.3).
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/quic/ack/ack_tracker.h"
#include "dataplane/quic/wire/frame_writer.h"
#include "tests/quic_ack/ack_test_util.h"

namespace camp::quic::test {
namespace {

TEST(AckEncoding, AckDelayScaledByExponent) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(4, true, 1 * kMs, 0));
  ASSERT_TRUE(t.on_packet_received(2, true, 5 * kMs, 0));  // not the largest: no effect
  std::vector<uint8_t> buf;
  const TimeNs now = 1 * kMs + 12'345'678;  // 12345.678 us after the largest arrived
  DecodedAck d = write_and_decode(t, buf, now, 0);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.frame.ack_delay, 12'345u);
  d = write_and_decode(t, buf, now, 3);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.frame.ack_delay, 12'345u >> 3);
  d = write_and_decode(t, buf, now, 20);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.frame.ack_delay, 0u);
  d = write_and_decode(t, buf, 0, 3);  // a clock before the arrival reads as no delay
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.frame.ack_delay, 0u);
  uint8_t raw[64];
  EXPECT_EQ(t.write_ack(raw, sizeof raw, now, 21), 0u);  // invalid exponent (RFC 9000 18.2)
}

TEST(AckEncoding, PlainAckWithoutEcn) {
  AckTracker t;
  for (uint64_t pn : {0, 1, 2, 5, 6, 9}) ASSERT_TRUE(t.on_packet_received(pn, true, 0, 0));
  std::vector<uint8_t> buf;
  const DecodedAck d = write_and_decode(t, buf, 0);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(buf[0], 0x02);
  EXPECT_FALSE(d.frame.is_path_ack);
  EXPECT_FALSE(d.frame.has_ecn);
  EXPECT_EQ(d.frame.largest_acknowledged, 9u);
  EXPECT_EQ(d.ranges, (std::vector<AckRange>{{9, 9}, {5, 6}, {0, 2}}));
}

TEST(AckEncoding, EcnCountsSelectAckEcn) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 0, 2));  // ECT(0)
  ASSERT_TRUE(t.on_packet_received(1, true, 0, 2));
  ASSERT_TRUE(t.on_packet_received(2, false, 0, 1));  // ECT(1)
  ASSERT_TRUE(t.on_packet_received(3, true, 0, 3));   // CE
  ASSERT_TRUE(t.on_packet_received(4, true, 0, 0));
  std::vector<uint8_t> buf;
  const DecodedAck d = write_and_decode(t, buf, 0);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(buf[0], 0x03);
  ASSERT_TRUE(d.frame.has_ecn);
  EXPECT_EQ(d.frame.ecn, (EcnCounts{.ect0 = 2, .ect1 = 1, .ecn_ce = 1}));
  EXPECT_EQ(d.ranges, (std::vector<AckRange>{{0, 4}}));
}

TEST(AckEncoding, PathAckAndPathAckEcn) {
  AckTracker t;
  for (uint64_t pn : {3, 4, 8}) ASSERT_TRUE(t.on_packet_received(pn, true, 0, 0));
  std::vector<uint8_t> buf;
  const uint64_t path = 7;
  DecodedAck d = write_and_decode(t, buf, 0, 3, &path);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(buf[0], 0x3e);
  EXPECT_TRUE(d.frame.is_path_ack);
  EXPECT_EQ(d.frame.path_id, 7u);
  EXPECT_FALSE(d.frame.has_ecn);
  EXPECT_EQ(d.ranges, (std::vector<AckRange>{{8, 8}, {3, 4}}));

  ASSERT_TRUE(t.on_packet_received(9, true, 0, 3));
  const uint64_t big_path = kMaxPathId;
  d = write_and_decode(t, buf, 0, 3, &big_path);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(buf[0], 0x3f);
  EXPECT_EQ(d.frame.path_id, kMaxPathId);
  EXPECT_TRUE(d.frame.has_ecn);
  EXPECT_EQ(d.frame.ecn.ecn_ce, 1u);
  EXPECT_EQ(d.ranges, (std::vector<AckRange>{{8, 9}, {3, 4}}));

  const uint64_t bad_path = kMaxPathId + 1;
  uint8_t raw[64];
  EXPECT_EQ(t.write_ack(raw, sizeof raw, 0, 3, &bad_path), 0u);
}

TEST(AckEncoding, NothingToAckWritesNothing) {
  AckTracker t;
  uint8_t raw[64];
  EXPECT_EQ(t.write_ack(raw, sizeof raw, 0, 3), 0u);
  EXPECT_EQ(t.write_ack(nullptr, 64, 0, 3), 0u);
}

// Bytes of an ACK frame carrying the given ranges (largest first), via the wire writer.
size_t frame_bytes(std::span<const AckRange> ranges, uint64_t ack_delay, const EcnCounts* ecn) {
  uint8_t big[2048];
  return write_ack(big, sizeof big, ranges, ack_delay, ecn);
}

// For every cap: what is written fits, parses, holds the newest ranges, and no more of them
// would have fit.
void check_every_cap(AckTracker& t, const EcnCounts* ecn) {
  const std::vector<AckRange> all = tracker_ranges(t);
  const size_t full = frame_bytes(all, 0, ecn);
  ASSERT_GT(full, 0u);
  const size_t one = frame_bytes(std::span(all).first(1), 0, ecn);
  for (size_t cap = 0; cap <= full + 3; ++cap) {
    SCOPED_TRACE(cap);
    std::vector<uint8_t> buf(cap + 16, 0xee);  // the tail must stay untouched
    const size_t n = t.write_ack(buf.data(), cap, t.largest_received_time(), 3);
    for (size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xee);
    if (cap < one) {
      EXPECT_EQ(n, 0u);
      continue;
    }
    ASSERT_GT(n, 0u);
    ASSERT_LE(n, cap);
    const DecodedAck d = decode_ack(buf.data(), n);
    ASSERT_TRUE(d.ok);
    const size_t k = d.ranges.size();
    ASSERT_LE(k, all.size());
    EXPECT_EQ(d.ranges, std::vector<AckRange>(all.begin(), all.begin() + k));  // newest kept
    if (k < all.size()) {
      EXPECT_GT(frame_bytes(std::span(all).first(k + 1), 0, ecn), cap);
    }
    if (cap >= full) {
      EXPECT_EQ(k, all.size());
    }
  }
}

TEST(AckEncoding, SmallCapDropsOldestRanges) {
  AckTracker t;
  // Ranges with growing gaps so the varints differ in size.
  uint64_t pn = 0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(t.on_packet_received(pn, true, 0, 0));
    ASSERT_TRUE(t.on_packet_received(pn + 1, true, 0, 0));
    pn += 3 + static_cast<uint64_t>(i) * static_cast<uint64_t>(i) * 7;
  }
  ASSERT_EQ(t.range_count(), 20u);
  check_every_cap(t, nullptr);
}

TEST(AckEncoding, SmallCapDropsOldestRangesWithEcn) {
  AckTracker t;
  for (uint64_t i = 0; i < 32; ++i) ASSERT_TRUE(t.on_packet_received(i * 100, true, 0, 2));
  ASSERT_EQ(t.range_count(), 32u);
  const EcnCounts ecn{.ect0 = 32, .ect1 = 0, .ecn_ce = 0};
  check_every_cap(t, &ecn);
}

TEST(AckEncoding, AckOnlyNeverLosesTheLargest) {
  AckTracker t;
  for (uint64_t i = 0; i < 200; ++i) ASSERT_TRUE(t.on_packet_received(i * 3, true, 0, 0));
  std::vector<uint8_t> buf;
  const DecodedAck d = write_and_decode(t, buf, 0);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.frame.largest_acknowledged, 597u);
  EXPECT_EQ(d.ranges.size(), kMaxAckRanges);
}

}  // namespace
}  // namespace camp::quic::test
