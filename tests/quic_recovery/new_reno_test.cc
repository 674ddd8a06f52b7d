// RFC 9002 section 7.3: slow start, recovery period, congestion avoidance, persistent congestion.
#include <gtest/gtest.h>

#include "dataplane/quic/recovery/new_reno.h"
#include "recovery_test_util.h"

namespace camp::quic {
namespace {

using test::data_packet;
using test::ms;

TEST(NewReno, InitialWindowPerRfc) {
  EXPECT_EQ(initial_window(1200), 12000u);
  EXPECT_EQ(initial_window(1500), 14720u);
  EXPECT_EQ(initial_window(9000), 18000u);
  NewReno cc(1200);
  EXPECT_EQ(cc.cwnd(), 12000u);
  EXPECT_TRUE(cc.in_slow_start());
}

TEST(NewReno, SlowStartGrowsByBytesAcked) {
  NewReno cc(1200);
  uint64_t pn = 0;
  for (int i = 0; i < 10; ++i) cc.on_packet_sent(data_packet(pn++, 0), 0);
  EXPECT_EQ(cc.bytes_in_flight(), 12000u);
  EXPECT_FALSE(cc.can_send(1200));
  for (uint64_t i = 0; i < 10; ++i) cc.on_packet_acked(data_packet(i, 0), 50 * ms);
  EXPECT_EQ(cc.cwnd(), 24000u);  // doubled in one round
  EXPECT_EQ(cc.bytes_in_flight(), 0u);
  EXPECT_TRUE(cc.can_send(1200));
}

TEST(NewReno, RecoveryHalvesOnceThenCongestionAvoidance) {
  NewReno cc(1200);
  for (uint64_t i = 0; i < 10; ++i) cc.on_packet_sent(data_packet(i, i * ms), i * ms);
  cc.on_packet_lost(data_packet(0, 0), 100 * ms);
  cc.on_congestion_event(0, 100 * ms);
  EXPECT_EQ(cc.ssthresh(), 6000u);
  EXPECT_EQ(cc.cwnd(), 6000u);
  // A later loss of a packet sent before recovery began is the same event.
  cc.on_packet_lost(data_packet(1, 1 * ms), 101 * ms);
  cc.on_congestion_event(1 * ms, 101 * ms);
  EXPECT_EQ(cc.cwnd(), 6000u);
  // Acks of pre-recovery packets do not grow the window.
  for (uint64_t i = 2; i < 10; ++i) cc.on_packet_acked(data_packet(i, i * ms), 110 * ms);
  EXPECT_EQ(cc.cwnd(), 6000u);
  EXPECT_EQ(cc.bytes_in_flight(), 0u);
  // Congestion avoidance: one datagram per window of acked bytes.
  uint64_t pn = 10;
  for (int i = 0; i < 4; ++i) {
    cc.on_packet_sent(data_packet(pn, 120 * ms), 120 * ms);
    cc.on_packet_acked(data_packet(pn++, 120 * ms), 170 * ms);
  }
  EXPECT_EQ(cc.cwnd(), 6000u);  // 4800 acked < 6000
  cc.on_packet_sent(data_packet(pn, 120 * ms), 120 * ms);
  cc.on_packet_acked(data_packet(pn++, 120 * ms), 170 * ms);
  EXPECT_EQ(cc.cwnd(), 7200u);
  // A new loss after recovery ended (packet sent after the recovery start) reduces again.
  cc.on_congestion_event(120 * ms, 200 * ms);
  EXPECT_EQ(cc.cwnd(), 3600u);
  // Never below the minimum window.
  cc.on_congestion_event(250 * ms, 300 * ms);
  EXPECT_EQ(cc.cwnd(), 2400u);
}

TEST(NewReno, PersistentCongestionResetsToMinimumAndLeavesRecovery) {
  NewReno cc(1200);
  cc.on_congestion_event(10 * ms, 100 * ms);
  cc.on_persistent_congestion(100 * ms);
  EXPECT_EQ(cc.cwnd(), 2400u);
  // Recovery is over: a packet sent before the old recovery start grows the window again.
  cc.on_packet_sent(data_packet(0, 50 * ms), 50 * ms);
  cc.on_packet_acked(data_packet(0, 50 * ms), 150 * ms);
  EXPECT_GT(cc.cwnd(), 2400u);
}

TEST(NewReno, AppLimitedAcksDoNotGrowWindow) {
  NewReno cc(1200);
  SentPacket p = data_packet(0, 0);
  p.is_app_limited = true;
  cc.on_packet_sent(p, 0);
  cc.on_packet_acked(p, 10 * ms);
  EXPECT_EQ(cc.cwnd(), 12000u);
}

}  // namespace
}  // namespace camp::quic
