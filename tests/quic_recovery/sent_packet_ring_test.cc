// The bounded sent-packet ring: order, lookup, tombstones, and refusal when full.
#include <gtest/gtest.h>

#include "dataplane/quic/recovery/sent_packet_ring.h"
#include "recovery_test_util.h"

namespace camp::quic {
namespace {

using test::data_packet;

TEST(SentPacketRing, PushesInOrderAndFindsByPacketNumber) {
  SentPacketRing r(8);
  for (uint64_t pn : {1, 2, 4, 7, 9}) ASSERT_EQ(r.push(data_packet(pn, pn)), RecoveryError::kOk);
  EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(r.lower_bound(4), 2u);
  EXPECT_EQ(r.lower_bound(5), 3u);  // skipped numbers land on the next sent one
  EXPECT_EQ(r.lower_bound(10), 5u);
  EXPECT_EQ(r.at(3).pkt.packet_number, 7u);
}

TEST(SentPacketRing, RejectsNonIncreasingPacketNumbers) {
  SentPacketRing r(4);
  ASSERT_EQ(r.push(data_packet(5, 0)), RecoveryError::kOk);
  EXPECT_EQ(r.push(data_packet(5, 0)), RecoveryError::kPacketNumberNotIncreasing);
  EXPECT_EQ(r.push(data_packet(3, 0)), RecoveryError::kPacketNumberNotIncreasing);
  EXPECT_EQ(r.size(), 1u);
}

TEST(SentPacketRing, RefusesWhenFullAndRecoversAfterHeadSettles) {
  SentPacketRing r(4);
  for (uint64_t pn = 0; pn < 4; ++pn) ASSERT_EQ(r.push(data_packet(pn, 0)), RecoveryError::kOk);
  EXPECT_TRUE(r.full());
  EXPECT_EQ(r.push(data_packet(4, 0)), RecoveryError::kRingFull);
  // Settling a packet in the middle frees nothing: the oldest is still outstanding.
  r.settle(2, SentState::kAcked);
  EXPECT_FALSE(r.has_room());
  EXPECT_EQ(r.push(data_packet(4, 0)), RecoveryError::kRingFull);
  EXPECT_EQ(r.outstanding(), 3u);
  // Settling the head lets compaction drop it; the tombstone at index 2 stays until reached.
  r.settle(0, SentState::kLost);
  EXPECT_TRUE(r.has_room());
  EXPECT_EQ(r.push(data_packet(4, 0)), RecoveryError::kOk);
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.at(0).pkt.packet_number, 1u);
  EXPECT_EQ(r.at(1).state, SentState::kAcked);
  // Wrap-around keeps order.
  r.settle(0, SentState::kAcked);
  EXPECT_EQ(r.compact(), 2u);
  ASSERT_EQ(r.push(data_packet(5, 0)), RecoveryError::kOk);
  ASSERT_EQ(r.push(data_packet(6, 0)), RecoveryError::kOk);
  for (size_t i = 0; i + 1 < r.size(); ++i)
    EXPECT_LT(r.at(i).pkt.packet_number, r.at(i + 1).pkt.packet_number);
  EXPECT_EQ(r.lower_bound(5), 2u);
}

TEST(SentPacketRing, GrowsFromSmallToItsMaximumKeepingOrderAcrossWrap) {
  SentPacketRing r(40, 4);  // maximum rounds up to 64
  EXPECT_EQ(r.capacity(), 4u);
  EXPECT_EQ(r.max_capacity(), 64u);
  // Wrap the small ring first so growth has to unwrap it.
  for (uint64_t pn = 0; pn < 3; ++pn) ASSERT_EQ(r.push(data_packet(pn, 0)), RecoveryError::kOk);
  r.settle(0, SentState::kAcked);
  r.settle(1, SentState::kAcked);
  r.compact();
  uint64_t pn = 3;
  for (; r.size() < 64; ++pn) ASSERT_EQ(r.push(data_packet(pn, pn)), RecoveryError::kOk);
  EXPECT_EQ(r.capacity(), 64u);
  EXPECT_TRUE(r.full());
  EXPECT_EQ(r.push(data_packet(pn, 0)), RecoveryError::kRingFull);  // never past the maximum
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r.at(i).pkt.packet_number, i + 2);
  EXPECT_EQ(r.lower_bound(40), 38u);
  EXPECT_EQ(r.outstanding(), 64u);
}

TEST(PathRecoveryRing, FullRingBlocksSendingUntilAcked) {
  PathRecoveryConfig cfg;
  cfg.algorithm = CcAlgorithm::kNewReno;
  cfg.app_ring_capacity = 8;
  PathRecovery pr(cfg);
  pr.set_handshake_confirmed(true);
  for (uint64_t pn = 0; pn < 8; ++pn)
    ASSERT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, data_packet(pn, 0, 100)),
              RecoveryError::kOk);
  EXPECT_FALSE(pr.can_send(100));
  EXPECT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, data_packet(8, 0, 100)),
            RecoveryError::kRingFull);
  EXPECT_EQ(pr.bytes_in_flight(), 800u);  // the refused packet was not counted
  // A pure ACK (not in flight, not ack-eliciting) is accepted untracked.
  SentPacket ack_only = data_packet(9, 0, 50);
  ack_only.ack_eliciting = ack_only.in_flight = false;
  EXPECT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, ack_only), RecoveryError::kOk);
  test::RecordingObserver obs;
  // Acking the middle frees no slot while the oldest is still outstanding.
  const AckRange mid[] = {{2, 2}};  // too close to 0 and 1 to declare them lost
  ASSERT_EQ(pr.on_ack_received(PnSpace::kApplicationData, mid, 0, 5 * test::ms, obs).error,
            RecoveryError::kOk);
  EXPECT_FALSE(pr.can_send(100));
  EXPECT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, data_packet(10, 5 * test::ms, 100)),
            RecoveryError::kRingFull);
  const AckRange r[] = {{0, 3}};
  ASSERT_EQ(pr.on_ack_received(PnSpace::kApplicationData, r, 0, 10 * test::ms, obs).error,
            RecoveryError::kOk);
  EXPECT_TRUE(pr.can_send(100));
  EXPECT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, data_packet(11, 10 * test::ms, 100)),
            RecoveryError::kOk);
}

}  // namespace
}  // namespace camp::quic
