// When an ACK is due: RFC 9000 13.2.1-13.2.2 and draft-ietf-quic-ack-frequency 4-6.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dataplane/quic/ack/ack_tracker.h"
#include "tests/quic_ack/ack_test_util.h"

namespace camp::quic::test {
namespace {

constexpr uint8_t kNotEct = 0;
constexpr uint8_t kEct0 = 2;
constexpr uint8_t kCe = 3;

// Sends an ACK the way the connection does: write it, then report the packet carrying it.
void send_ack(AckTracker& t, TimeNs now, uint64_t our_pn) {
  uint8_t buf[256];
  ASSERT_GT(t.write_ack(buf, sizeof buf, now, 3), 0u);
  t.on_ack_sent(now, our_pn);
}

TEST(AckTiming, InOrderAcksEverySecondElicitingPacket) {
  AckTracker t;
  EXPECT_EQ(t.ack_deadline(), kNever);
  ASSERT_TRUE(t.on_packet_received(0, true, 10 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 10 * kMs + kDefaultAckMaxDelay);
  EXPECT_FALSE(t.should_send_ack(11 * kMs));
  ASSERT_TRUE(t.on_packet_received(1, true, 11 * kMs, kNotEct));
  EXPECT_LE(t.ack_deadline(), 11 * kMs);
  EXPECT_TRUE(t.should_send_ack(11 * kMs));
  send_ack(t, 11 * kMs, 0);
  EXPECT_EQ(t.ack_deadline(), kNever);
  EXPECT_FALSE(t.ack_pending());
  ASSERT_TRUE(t.on_packet_received(2, true, 12 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 12 * kMs + kDefaultAckMaxDelay);
  ASSERT_TRUE(t.on_packet_received(3, true, 13 * kMs, kNotEct));
  EXPECT_TRUE(t.should_send_ack(13 * kMs));
}

TEST(AckTiming, NonElicitingPacketsOweNoAck) {
  AckTracker t;
  for (uint64_t pn = 0; pn < 5; ++pn) ASSERT_TRUE(t.on_packet_received(pn, false, pn, kNotEct));
  // Even a gap or CE on a non-ack-eliciting packet does not make one due (13.2.1 loop rule).
  ASSERT_TRUE(t.on_packet_received(9, false, 9, kCe));
  ASSERT_TRUE(t.on_packet_received(7, false, 10, kNotEct));
  EXPECT_EQ(t.ack_deadline(), kNever);
  EXPECT_FALSE(t.should_send_ack(kNever - 1));
  EXPECT_TRUE(t.ack_pending());  // but they ride along with other frames
  uint8_t buf[64];
  EXPECT_GT(t.write_ack(buf, sizeof buf, 20, 3), 0u);
}

TEST(AckTiming, InitialAndHandshakeAckAtOnce) {
  AckTrackerConfig cfg;
  cfg.immediate = true;
  AckTracker t(cfg);
  ASSERT_TRUE(t.on_packet_received(0, false, 5 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), kNever);
  ASSERT_TRUE(t.on_packet_received(1, true, 6 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 6 * kMs);
  EXPECT_TRUE(t.should_send_ack(6 * kMs));
}

TEST(AckTiming, GapAboveLargestAcksAtOnce) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 0, kNotEct));
  EXPECT_FALSE(t.should_send_ack(1));
  ASSERT_TRUE(t.on_packet_received(2, true, 1 * kMs, kNotEct));  // 1 missing
  EXPECT_TRUE(t.should_send_ack(1 * kMs));
}

TEST(AckTiming, PacketBelowLargestElicitingAcksAtOnce) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 0, kNotEct));
  send_ack(t, 0, 0);
  ASSERT_TRUE(t.on_packet_received(2, true, 1 * kMs, kNotEct));
  send_ack(t, 1 * kMs, 1);
  ASSERT_TRUE(t.on_packet_received(1, true, 2 * kMs, kNotEct));  // fills the gap
  EXPECT_EQ(t.ack_deadline(), 2 * kMs);
}

TEST(AckTiming, MissingNonElicitingBetweenCounts) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 0, kNotEct));
  send_ack(t, 0, 0);
  // 1 received non-eliciting: nothing missing between 0 and 2, so no immediate ACK.
  ASSERT_TRUE(t.on_packet_received(1, false, 1, kNotEct));
  ASSERT_TRUE(t.on_packet_received(2, true, 2, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 2 + kDefaultAckMaxDelay);
  send_ack(t, 3, 1);
  // 4 non-eliciting, 3 missing: 5 follows the largest received but not the largest eliciting.
  ASSERT_TRUE(t.on_packet_received(4, false, 4, kNotEct));
  EXPECT_EQ(t.ack_deadline(), kNever);
  ASSERT_TRUE(t.on_packet_received(5, true, 5, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 5u);
}

TEST(AckTiming, FirstPacketAboveAHoleAcksAtOnce) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(3, true, 7, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 7u);
}

TEST(AckTiming, CongestionExperiencedAcksAtOnce) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 4 * kMs, kCe));
  EXPECT_EQ(t.ack_deadline(), 4 * kMs);
  EXPECT_EQ(t.ecn_counts().ecn_ce, 1u);
  // ECT(0) does not.
  AckTracker u;
  ASSERT_TRUE(u.on_packet_received(0, true, 4 * kMs, kEct0));
  EXPECT_EQ(u.ack_deadline(), 4 * kMs + kDefaultAckMaxDelay);
}

TEST(AckTiming, MaxAckDelayDeadlineIsExact) {
  AckTracker t;
  t.set_max_ack_delay(10 * kMs);
  ASSERT_TRUE(t.on_packet_received(0, true, 5 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 15 * kMs);
  EXPECT_FALSE(t.should_send_ack(15 * kMs - 1));
  EXPECT_TRUE(t.should_send_ack(15 * kMs));
  // The deadline runs from the first unacknowledged ack-eliciting packet, not the latest.
  ASSERT_TRUE(t.on_packet_received(1, false, 9 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 15 * kMs);
}

TEST(AckTiming, ImmediateAckFrame) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 3 * kMs, kNotEct));
  EXPECT_FALSE(t.should_send_ack(3 * kMs));
  t.on_immediate_ack();
  EXPECT_TRUE(t.should_send_ack(3 * kMs));
  send_ack(t, 3 * kMs, 0);
  EXPECT_EQ(t.ack_deadline(), kNever);
  ASSERT_TRUE(t.on_packet_received(1, true, 4 * kMs, kNotEct));
  EXPECT_FALSE(t.should_send_ack(4 * kMs));  // the request was for one ACK only
  send_ack(t, 4 * kMs, 1);
  // The frame is usually processed before its packet is recorded: still due at once.
  t.on_immediate_ack();
  EXPECT_EQ(t.ack_deadline(), kNever);
  ASSERT_TRUE(t.on_packet_received(2, true, 5 * kMs, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 5 * kMs);
}

TEST(AckFrequency, ThresholdAndDelayApply) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 3,
                      .request_max_ack_delay = 50'000, .reordering_threshold = 1};
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  EXPECT_EQ(t.max_ack_delay(), 50 * kMs);
  for (uint64_t pn = 0; pn < 3; ++pn) {
    ASSERT_TRUE(t.on_packet_received(pn, true, pn * kMs, kNotEct));
    EXPECT_EQ(t.ack_deadline(), 50 * kMs) << pn;
  }
  ASSERT_TRUE(t.on_packet_received(3, true, 3 * kMs, kNotEct));  // more than 3: due
  EXPECT_TRUE(t.should_send_ack(3 * kMs));
}

TEST(AckFrequency, StaleSequenceNumbersIgnored) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 5, .ack_eliciting_threshold = 9,
                      .request_max_ack_delay = 40'000, .reordering_threshold = 2};
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  AckFrequencyFrame old{.sequence_number = 5, .ack_eliciting_threshold = 0,
                        .request_max_ack_delay = 1'000, .reordering_threshold = 1};
  EXPECT_EQ(t.on_ack_frequency(old), AckFrequencyResult::kStale);
  old.sequence_number = 4;
  EXPECT_EQ(t.on_ack_frequency(old), AckFrequencyResult::kStale);
  EXPECT_EQ(t.ack_eliciting_threshold(), 9u);
  EXPECT_EQ(t.reordering_threshold(), 2u);
  EXPECT_EQ(t.max_ack_delay(), 40 * kMs);
  old.sequence_number = 6;
  EXPECT_EQ(t.on_ack_frequency(old), AckFrequencyResult::kApplied);
  EXPECT_EQ(t.ack_eliciting_threshold(), 0u);
  EXPECT_EQ(t.max_ack_delay(), 1 * kMs);
}

TEST(AckFrequency, SequenceZeroIsAcceptedFirst) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 0, .ack_eliciting_threshold = 7,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 1};
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  EXPECT_EQ(t.ack_eliciting_threshold(), 7u);
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kStale);
}

TEST(AckFrequency, InvalidDelayRejectedAndNotApplied) {
  AckTrackerConfig cfg;
  cfg.min_ack_delay_us = 1'000;
  AckTracker t(cfg);
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 5,
                      .request_max_ack_delay = kMaxAckDelayLimitUs, .reordering_threshold = 1};
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kInvalid);
  f.request_max_ack_delay = 999;
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kInvalid);
  EXPECT_EQ(t.ack_eliciting_threshold(), 1u);
  EXPECT_EQ(t.max_ack_delay(), kDefaultAckMaxDelay);
  f.request_max_ack_delay = 1'000;
  EXPECT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
}

TEST(AckFrequency, LoweredThresholdMakesWaitingPacketsDue) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 10,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 1};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  for (uint64_t pn = 0; pn < 4; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, 1, kNotEct));
  EXPECT_FALSE(t.should_send_ack(2));
  f.sequence_number = 2;
  f.ack_eliciting_threshold = 2;
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  EXPECT_TRUE(t.should_send_ack(2));
}

TEST(AckFrequency, ThresholdZeroAcksEveryPacket) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 0,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 1};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  ASSERT_TRUE(t.on_packet_received(0, true, 8, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 8u);
}

TEST(AckFrequency, ReorderingThresholdZeroIgnoresGaps) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 100,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 0};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  ASSERT_TRUE(t.on_packet_received(5, true, 0, kNotEct));
  ASSERT_TRUE(t.on_packet_received(9, true, 1, kNotEct));
  ASSERT_TRUE(t.on_packet_received(2, true, 2, kNotEct));
  EXPECT_EQ(t.ack_deadline(), 25 * kMs);
}

// Replays the draft's section 6.2.1 tables: a packet per row and whether it forces an ACK.
void replay_reordering_table(uint64_t threshold, const std::vector<uint64_t>& pns,
                             const std::vector<bool>& ack) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 1000,
                      .request_max_ack_delay = 25'000, .reordering_threshold = threshold};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  for (size_t i = 0; i < pns.size(); ++i) {
    const TimeNs now = i * kMs;
    ASSERT_TRUE(t.on_packet_received(pns[i], true, now, kNotEct));
    EXPECT_EQ(t.should_send_ack(now), ack[i]) << "threshold " << threshold << " pn " << pns[i];
    if (t.should_send_ack(now)) send_ack(t, now, i);
  }
}

TEST(AckFrequency, ReorderingThresholdThreeTable) {
  replay_reordering_table(3, {0, 1, 3, 4, 5, 8, 9, 10},
                          {false, false, false, false, true, false, true, true});
}

TEST(AckFrequency, ReorderingThresholdFiveTable) {
  replay_reordering_table(5, {0, 1, 3, 5, 6, 7, 8, 9},
                          {false, false, false, false, false, true, false, true});
}

TEST(AckFrequency, LateArrivalBelowReportedWindowAcksAtOnce) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 1000,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 3};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  for (uint64_t pn : {0, 1, 3, 4, 5}) ASSERT_TRUE(t.on_packet_received(pn, true, 0, kNotEct));
  ASSERT_TRUE(t.should_send_ack(0));
  send_ack(t, 0, 0);  // Largest Acked 5: 2 <= 5 - 3 was probably declared lost
  ASSERT_TRUE(t.on_packet_received(2, true, 1, kNotEct));
  EXPECT_TRUE(t.should_send_ack(1));
}

TEST(AckFrequency, CeOnlyOnTransitionWithHighThreshold) {
  AckTracker t;
  AckFrequencyFrame f{.sequence_number = 1, .ack_eliciting_threshold = 10,
                      .request_max_ack_delay = 25'000, .reordering_threshold = 1};
  ASSERT_EQ(t.on_ack_frequency(f), AckFrequencyResult::kApplied);
  ASSERT_TRUE(t.on_packet_received(0, true, 0, kCe));
  EXPECT_TRUE(t.should_send_ack(0));
  send_ack(t, 0, 0);
  ASSERT_TRUE(t.on_packet_received(1, true, 1, kCe));  // still CE: no new signal
  EXPECT_FALSE(t.should_send_ack(1));
  ASSERT_TRUE(t.on_packet_received(2, true, 2, kEct0));
  EXPECT_FALSE(t.should_send_ack(2));
  ASSERT_TRUE(t.on_packet_received(3, true, 3, kCe));  // non-CE -> CE
  EXPECT_TRUE(t.should_send_ack(3));
}

TEST(AckTiming, DiscardStopsEverything) {
  AckTracker t;
  ASSERT_TRUE(t.on_packet_received(0, true, 0, kNotEct));
  ASSERT_TRUE(t.on_packet_received(1, true, 0, kNotEct));
  t.discard();
  EXPECT_TRUE(t.discarded());
  EXPECT_EQ(t.ack_deadline(), kNever);
  EXPECT_FALSE(t.ack_pending());
  uint8_t buf[64];
  EXPECT_EQ(t.write_ack(buf, sizeof buf, 1, 3), 0u);
  EXPECT_FALSE(t.on_packet_received(2, true, 1, kNotEct));
  EXPECT_TRUE(t.is_duplicate(100));
}

TEST(AckTiming, RejectsBadInput) {
  AckTracker t;
  EXPECT_FALSE(t.on_packet_received(varint::kMax + 1, true, 0, kNotEct));
  EXPECT_FALSE(t.on_packet_received(0, true, 0, 4));  // no such ECN codepoint
  EXPECT_EQ(t.largest_received(), -1);
  EXPECT_EQ(t.ack_deadline(), kNever);
  EXPECT_TRUE(t.on_packet_received(varint::kMax, true, 0, kNotEct));
  EXPECT_EQ(t.largest_received(), static_cast<int64_t>(varint::kMax));
}

}  // namespace
}  // namespace camp::quic::test
