// Records of ACKs sent with multipath: a PATH_ACK for one space can ride in a packet of any path,
// and every path numbers its packets from 0, so the record of "packet N carried an ACK up to L"
// must be keyed by the sending path as well (draft-ietf-quic-multipath-21 3.4.3, 4.1).
#include <gtest/gtest.h>

#include <vector>

#include "tests/quic_ack/ack_test_util.h"

namespace camp::quic {
namespace {

using test::write_and_decode;

TEST(AckRecords, AckRecordsKeyedBySendingPath) {
  AckTracker t;  // the space of, say, path 2
  const uint64_t space_path = 2;
  std::vector<uint8_t> buf;
  for (uint64_t pn = 0; pn < 4; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  test::DecodedAck d = write_and_decode(t, buf, 10, 3, &space_path);
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.frame.largest_acknowledged, 3u);
  t.on_ack_sent(10, 5, 1);  // PATH_ACK up to 3 in packet 5 of path 1
  for (uint64_t pn = 4; pn < 8; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, 10 + pn, 0));
  d = write_and_decode(t, buf, 20, 3, &space_path);
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.frame.largest_acknowledged, 7u);
  t.on_ack_sent(20, 5, 0);  // PATH_ACK up to 7 in packet 5 of path 0: same packet number

  // Packet 5 of path 3 never carried an ACK of this space.
  EXPECT_FALSE(t.on_ack_packet_acked(5, 3));
  EXPECT_EQ(t.floor(), 0u);
  // Path 1's packet 5 acknowledged: prune up to 3 only, not up to 7.
  EXPECT_TRUE(t.on_ack_packet_acked(5, 1));
  EXPECT_EQ(t.floor(), 4u);
  EXPECT_EQ(test::tracker_ranges(t), (std::vector<AckRange>{{4, 7}}));
  EXPECT_FALSE(t.on_ack_packet_acked(5, 1));  // once
  // Path 0's packet 5 (the default sending path, as without multipath).
  EXPECT_TRUE(t.on_ack_packet_acked(5));
  EXPECT_EQ(t.floor(), 8u);
  EXPECT_EQ(t.range_count(), 0u);
  EXPECT_FALSE(t.on_ack_packet_acked(5, 0));
}

// The other order: path 0's record must not be consumed by an acknowledgment on path 1.
TEST(AckRecords, SamePacketNumberOtherPathLeavesRecord) {
  AckTracker t;
  std::vector<uint8_t> buf;
  for (uint64_t pn = 0; pn < 10; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  ASSERT_TRUE(write_and_decode(t, buf, 10).ok);
  t.on_ack_sent(10, 42);  // path 0
  EXPECT_FALSE(t.on_ack_packet_acked(42, 1));
  EXPECT_EQ(t.range_count(), 1u);
  EXPECT_EQ(t.floor(), 0u);
  EXPECT_TRUE(t.on_ack_packet_acked(42, 0));
  EXPECT_EQ(t.floor(), 10u);
}

}  // namespace
}  // namespace camp::quic
