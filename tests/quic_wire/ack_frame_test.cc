// ACK and PATH_ACK: ranges through the iterator, many ranges, ranges below zero, range counts
// that claim more than the frame holds, and the writer's checks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/quic_wire/test_util.h"

namespace camp::quic {
namespace {

using test::all_extensions;
using test::hex;
using test::parse_one;

// parse_one() keeps views into its input, so the bytes must outlive the frame.
struct Parsed {
  std::vector<uint8_t> bytes;
  Frame frame;
  FrameParseResult result;
};

Parsed parse_hex(const std::string& h, PacketType pt = PacketType::kOneRtt) {
  Parsed p{hex(h), {}, {}};
  p.result = parse_one(p.bytes, p.frame, pt);
  return p;
}

std::vector<AckRange> collect(const AckFrame& a) {
  std::vector<AckRange> out;
  AckRangeIterator it = a.ranges();
  AckRange r;
  while (it.next(r)) out.push_back(r);
  return out;
}

TEST(AckFrame, DecodesRangesFromTheLargestDown) {
  // Largest 100, delay 3, 2 more ranges, first range 5 (95..100); gap 2 length 1 -> 90..91;
  // gap 0 length 0 -> 88..88.
  const Parsed p = parse_hex("02 4064 03 02 05 02 01 00 00");
  ASSERT_TRUE(p.result.ok());
  const auto& a = std::get<AckFrame>(p.frame);
  EXPECT_EQ(a.ack_delay, 3u);
  const std::vector<AckRange> want = {{95, 100}, {90, 91}, {88, 88}};
  EXPECT_EQ(collect(a), want);
  EXPECT_EQ(a.smallest_acknowledged(), 88u);
}

TEST(AckFrame, ManyRangesRoundTrip) {
  std::vector<AckRange> ranges;
  uint64_t top = uint64_t{1} << 40;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t len = (i * 7919) % 300;
    const uint64_t gap = 1 + (i * 104729) % 5000;
    ranges.push_back({top - len, top});
    top = top - len - gap - 1;
  }
  std::vector<uint8_t> buf(1 << 16);
  const EcnCounts ecn{1, 2, 3};
  const size_t n = write_ack(buf.data(), buf.size(), ranges, 1234, &ecn);
  ASSERT_GT(n, 0u);
  Frame f;
  const FrameParseResult r =
      parse_frame(buf.data(), n, PacketType::kOneRtt, all_extensions(), f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.consumed, n);
  const auto& a = std::get<AckFrame>(f);
  EXPECT_TRUE(a.has_ecn);
  EXPECT_EQ(a.ecn, ecn);
  EXPECT_EQ(a.ack_delay, 1234u);
  EXPECT_EQ(a.range_count, ranges.size() - 1);
  EXPECT_EQ(collect(a), ranges);
  // Rewriting the parsed frame gives the same bytes; one byte less room gives 0.
  std::vector<uint8_t> again(n);
  EXPECT_EQ(write_frame(again.data(), again.size(), f), n);
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + n), again);
  EXPECT_EQ(write_ack(buf.data(), n - 1, ranges, 1234, &ecn), 0u);
}

TEST(AckFrame, PathAckRoundTrip) {
  const std::vector<AckRange> ranges = {{10, 20}, {0, 5}};
  const uint64_t path = 7;
  uint8_t buf[64];
  for (bool with_ecn : {false, true}) {
    const EcnCounts ecn{5, 0, 9};
    const size_t n = write_ack(buf, sizeof buf, ranges, 0, with_ecn ? &ecn : nullptr, &path);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(buf[0], with_ecn ? 0x3f : 0x3e);
    Frame f;
    ASSERT_TRUE(parse_frame(buf, n, PacketType::kOneRtt, all_extensions(), f).ok());
    const auto& a = std::get<AckFrame>(f);
    EXPECT_TRUE(a.is_path_ack);
    EXPECT_EQ(a.path_id, 7u);
    EXPECT_EQ(a.has_ecn, with_ecn);
    EXPECT_EQ(collect(a), ranges);
  }
  const uint64_t bad_path = kMaxPathId + 1;
  EXPECT_EQ(write_ack(buf, sizeof buf, ranges, 0, nullptr, &bad_path), 0u);
}

TEST(AckFrame, RangesBelowZeroAreRefused) {
  Frame f;
  // First ACK Range larger than Largest Acknowledged.
  EXPECT_EQ(parse_one(hex("02 05 00 00 06"), f).error, TransportError::FRAME_ENCODING_ERROR);
  EXPECT_TRUE(parse_one(hex("02 05 00 00 05"), f).ok());  // down to packet 0 exactly
  // 5..5, then gap 3: next largest = 5 - 3 - 2 = 0, length 0 -> 0..0: fine.
  const Parsed p = parse_hex("02 05 00 01 00 03 00");
  ASSERT_TRUE(p.result.ok());
  EXPECT_EQ(collect(std::get<AckFrame>(p.frame)), (std::vector<AckRange>{{5, 5}, {0, 0}}));
  // Gap 4: next largest would be -1.
  EXPECT_EQ(parse_one(hex("02 05 00 01 00 04 00"), f).error,
            TransportError::FRAME_ENCODING_ERROR);
  // Gap 3 then length 1: smallest would be -1.
  EXPECT_EQ(parse_one(hex("02 05 00 01 00 03 01"), f).error,
            TransportError::FRAME_ENCODING_ERROR);
  // Huge gap that would wrap around if computed naively.
  EXPECT_EQ(parse_one(hex("02 05 00 01 00 ffffffffffffffff 00"), f).error,
            TransportError::FRAME_ENCODING_ERROR);
}

TEST(AckFrame, RangeCountBeyondTheFrameIsTruncation) {
  Frame f;
  // ACK Range Count 2^62-1 with two ranges' worth of bytes: refused after reading them, without
  // looping over the claimed count.
  const std::vector<uint8_t> b = hex("02 4064 00 ffffffffffffffff 00 00 00 00 00");
  EXPECT_EQ(parse_one(b, f).error, TransportError::FRAME_ENCODING_ERROR);
  EXPECT_EQ(parse_one(hex("02 4064 00 02 00 00 00"), f).error,
            TransportError::FRAME_ENCODING_ERROR);
  // ECN counts missing.
  EXPECT_EQ(parse_one(hex("03 4064 00 00 00 01 02"), f).error,
            TransportError::FRAME_ENCODING_ERROR);
}

TEST(AckFrame, NotIn0Rtt) {
  Frame f;
  EXPECT_EQ(parse_one(hex("02 00 00 00 00"), f, PacketType::kZeroRtt).error,
            TransportError::PROTOCOL_VIOLATION);
  EXPECT_TRUE(parse_one(hex("02 00 00 00 00"), f, PacketType::kInitial).ok());
  EXPECT_TRUE(parse_one(hex("03 00 00 00 00 00 00 00"), f, PacketType::kHandshake).ok());
}

TEST(AckFrame, NonMinimalRangesCompareEqualAndRewriteShort) {
  const Parsed lp = parse_hex("02 4064 00 01 4005 4002 4001");
  const Parsed sp = parse_hex("02 4064 00 01 05 02 01");
  ASSERT_TRUE(lp.result.ok());
  ASSERT_TRUE(sp.result.ok());
  const Frame& longf = lp.frame;
  EXPECT_TRUE(longf == sp.frame);
  uint8_t buf[32];
  const size_t n = write_frame(buf, sizeof buf, longf);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + n), hex("02 4064 00 01 05 02 01"));
}

TEST(AckFrame, WriterRefusesBadRanges) {
  uint8_t buf[64];
  using V = std::vector<AckRange>;
  EXPECT_EQ(write_ack(buf, sizeof buf, V{}, 0), 0u);
  EXPECT_EQ(write_ack(buf, sizeof buf, V{{5, 4}}, 0), 0u);             // smallest > largest
  EXPECT_EQ(write_ack(buf, sizeof buf, V{{5, 9}, {4, 4}}, 0), 0u);     // adjacent: no gap
  EXPECT_EQ(write_ack(buf, sizeof buf, V{{5, 9}, {3, 6}}, 0), 0u);     // overlapping
  EXPECT_EQ(write_ack(buf, sizeof buf, V{{0, 1}, {5, 9}}, 0), 0u);     // ascending
  EXPECT_GT(write_ack(buf, sizeof buf, V{{5, 9}, {3, 3}}, 0), 0u);     // one missing packet
  EXPECT_EQ(write_ack(buf, sizeof buf, V{{0, varint::kMax + 1}}, 0), 0u);
  // An AckFrame whose encoded ranges are inconsistent with its count is not written.
  AckFrame bad;
  bad.largest_acknowledged = 10;
  bad.range_count = 1;
  EXPECT_EQ(write_frame(buf, sizeof buf, bad), 0u);
}

}  // namespace
}  // namespace camp::quic
