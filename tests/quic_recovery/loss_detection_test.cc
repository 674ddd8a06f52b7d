// RFC 9002 section 6 and 7.6 driven through PathRecovery in virtual time.
#include <gtest/gtest.h>

#include <vector>

#include "recovery_test_util.h"

namespace camp::quic {
namespace {

using test::data_packet;
using test::ms;
using test::RecordingObserver;
constexpr PnSpace kApp = PnSpace::kApplicationData;

PathRecoveryConfig reno_config() {
  PathRecoveryConfig cfg;
  cfg.algorithm = CcAlgorithm::kNewReno;
  return cfg;
}

TEST(LossDetection, AckReportsNewlyAckedWithTagsAndRttSample) {
  PathRecovery pr(reno_config());
  pr.set_handshake_confirmed(true);
  for (uint64_t pn = 0; pn < 3; ++pn)
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, pn * ms, 1000, 100 + pn)),
              RecoveryError::kOk);
  EXPECT_EQ(pr.bytes_in_flight(), 3000u);
  RecordingObserver obs;
  const AckRange r[] = {{0, 2}};
  const AckOutcome o = pr.on_ack_received(kApp, r, 0, 52 * ms, obs);
  ASSERT_EQ(o.error, RecoveryError::kOk);
  EXPECT_EQ(o.newly_acked, 3u);
  EXPECT_TRUE(o.rtt_updated);
  EXPECT_EQ(pr.rtt().latest(), 50 * ms);  // from the largest acknowledged (sent at 2 ms)
  EXPECT_EQ(obs.acked_tags, (std::vector<uint64_t>{100, 101, 102}));
  EXPECT_EQ(pr.bytes_in_flight(), 0u);
  // A duplicate ACK changes nothing.
  const AckOutcome dup = pr.on_ack_received(kApp, r, 0, 60 * ms, obs);
  EXPECT_EQ(dup.newly_acked, 0u);
  EXPECT_FALSE(dup.rtt_updated);
  EXPECT_EQ(pr.rtt().latest(), 50 * ms);
}

TEST(LossDetection, RejectsAckOfUnsentAndMalformedRanges) {
  PathRecovery pr(reno_config());
  RecordingObserver obs;
  const AckRange none[] = {{0, 0}};
  EXPECT_EQ(pr.on_ack_received(kApp, none, 0, 1, obs).error, RecoveryError::kAckOfUnsentPacket);
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(0, 0)), RecoveryError::kOk);
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(1, 0)), RecoveryError::kOk);
  const AckRange beyond[] = {{0, 5}};
  EXPECT_EQ(pr.on_ack_received(kApp, beyond, 0, 1, obs).error,
            RecoveryError::kAckOfUnsentPacket);
  const AckRange inverted[] = {{1, 0}};
  EXPECT_EQ(pr.on_ack_received(kApp, inverted, 0, 1, obs).error,
            RecoveryError::kMalformedAckRanges);
  const AckRange ascending[] = {{0, 0}, {1, 1}};
  EXPECT_EQ(pr.on_ack_received(kApp, ascending, 0, 1, obs).error,
            RecoveryError::kMalformedAckRanges);
  EXPECT_EQ(pr.on_ack_received(kApp, {}, 0, 1, obs).error, RecoveryError::kMalformedAckRanges);
  EXPECT_TRUE(obs.acked.empty());
  EXPECT_EQ(pr.bytes_in_flight(), 2400u);
  EXPECT_EQ(pr.on_packet_sent(kApp, data_packet(1, 0)),
            RecoveryError::kPacketNumberNotIncreasing);
}

TEST(LossDetection, PacketThresholdThenTimeThreshold) {
  PathRecovery pr(reno_config());
  pr.set_handshake_confirmed(true);
  for (uint64_t pn = 0; pn < 6; ++pn)
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, pn * ms, 1200, pn)), RecoveryError::kOk);
  RecordingObserver obs;
  const AckRange r[] = {{4, 4}};
  const AckOutcome o = pr.on_ack_received(kApp, r, 0, 100 * ms, obs);
  ASSERT_EQ(o.error, RecoveryError::kOk);
  // 4 >= pn + 3 for pn 0 and 1: lost by packet threshold.
  EXPECT_EQ(obs.lost, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(o.newly_lost, 2u);
  // latest = smoothed = 96 ms -> loss_delay 108 ms; packet 2 (sent at 2 ms) arms the timer.
  const DurationNs loss_delay = 96 * ms * 9 / 8;
  EXPECT_EQ(pr.loss_time(kApp), 2 * ms + loss_delay);
  EXPECT_EQ(pr.loss_detection_timer(), 2 * ms + loss_delay);
  // Firing early does nothing.
  EXPECT_EQ(pr.on_loss_detection_timeout(2 * ms + loss_delay - 1, obs).action,
            TimeoutAction::kNone);
  const TimeoutOutcome t = pr.on_loss_detection_timeout(2 * ms + loss_delay, obs);
  EXPECT_EQ(t.action, TimeoutAction::kLossDetected);
  EXPECT_EQ(t.newly_lost, 1u);
  EXPECT_EQ(obs.lost, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(obs.lost_tags, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(pr.loss_detection_timer(), 3 * ms + loss_delay);  // packet 3 next
  // Packet 5 (above largest acked) is never declared lost by these rules.
  pr.on_loss_detection_timeout(3 * ms + loss_delay, obs);
  EXPECT_EQ(obs.lost, (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(pr.bytes_in_flight(), 1200u);
}

TEST(LossDetection, ReorderingWithinThresholdIsNotLoss) {
  PathRecovery pr(reno_config());
  for (uint64_t pn = 0; pn < 4; ++pn)
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, 0)), RecoveryError::kOk);
  RecordingObserver obs;
  const AckRange r[] = {{2, 2}};
  pr.on_ack_received(kApp, r, 0, 50 * ms, obs);
  EXPECT_TRUE(obs.lost.empty());  // 2 < 0 + 3
  const AckRange late[] = {{0, 1}};
  pr.on_ack_received(kApp, late, 0, 51 * ms, obs);
  EXPECT_TRUE(obs.lost.empty());
  EXPECT_EQ(obs.acked, (std::vector<uint64_t>{2, 0, 1}));
}

TEST(Pto, TimingAndExponentialBackoff) {
  PathRecovery pr(reno_config());
  pr.set_handshake_confirmed(true);
  RecordingObserver obs;
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(0, 0)), RecoveryError::kOk);
  const AckRange r0[] = {{0, 0}};
  pr.on_ack_received(kApp, r0, 0, 100 * ms, obs);  // srtt 100, rttvar 50
  EXPECT_EQ(pr.loss_detection_timer(), kNever);   // nothing in flight: disarmed
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(1, 100 * ms)), RecoveryError::kOk);
  // PTO = srtt + max(4*rttvar, 1ms) + max_ack_delay = 100 + 200 + 25.
  const DurationNs pto = 325 * ms;
  EXPECT_EQ(pr.loss_detection_timer(), 100 * ms + pto);
  EXPECT_EQ(pr.on_loss_detection_timeout(100 * ms + pto - 1, obs).action, TimeoutAction::kNone);
  TimeoutOutcome t = pr.on_loss_detection_timeout(100 * ms + pto, obs);
  EXPECT_EQ(t.action, TimeoutAction::kSendProbe);
  EXPECT_EQ(t.space, kApp);
  EXPECT_EQ(t.probe_packets, 2u);
  EXPECT_EQ(pr.pto_count(), 1u);
  EXPECT_EQ(pr.loss_detection_timer(), 100 * ms + 2 * pto);  // backoff doubles everything
  t = pr.on_loss_detection_timeout(100 * ms + 2 * pto, obs);
  EXPECT_EQ(pr.pto_count(), 2u);
  EXPECT_EQ(pr.loss_detection_timer(), 100 * ms + 4 * pto);
  EXPECT_TRUE(obs.lost.empty());  // a PTO declares nothing lost
  // The probe is acked: backoff resets, packet 1 (below largest acked by < 3) waits on time.
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(2, 800 * ms)), RecoveryError::kOk);
  const AckRange r2[] = {{2, 2}};
  pr.on_ack_received(kApp, r2, 0, 900 * ms, obs);
  EXPECT_EQ(pr.pto_count(), 0u);
  EXPECT_EQ(obs.lost, (std::vector<uint64_t>{1}));  // sent 800 ms before: time threshold
}

TEST(Pto, ApplicationDataNotArmedBeforeHandshakeConfirmed) {
  PathRecovery pr(reno_config());
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(0, 0)), RecoveryError::kOk);
  EXPECT_EQ(pr.loss_detection_timer(), kNever);
  // Handshake data in flight arms it without max_ack_delay (initial RTT: 333 + 4*166.5 ms).
  ASSERT_EQ(pr.on_packet_sent(PnSpace::kHandshake, data_packet(0, 10 * ms)), RecoveryError::kOk);
  EXPECT_EQ(pr.loss_detection_timer(), 10 * ms + 999 * ms);
  RecordingObserver obs;
  const TimeoutOutcome t = pr.on_loss_detection_timeout(1009 * ms, obs);
  EXPECT_EQ(t.action, TimeoutAction::kSendProbe);
  EXPECT_EQ(t.space, PnSpace::kHandshake);
  // Discarding Handshake keys drops its bytes from flight and the timer with them.
  pr.discard_space(PnSpace::kHandshake, 1010 * ms);
  EXPECT_EQ(pr.bytes_in_flight(), 1200u);
  EXPECT_EQ(pr.loss_detection_timer(), kNever);
  EXPECT_EQ(pr.pto_count(), 0u);
}

TEST(Pto, ClientAntiDeadlockWhenAddressUnvalidated) {
  PathRecovery pr(reno_config());
  pr.set_peer_completed_address_validation(false);
  pr.set_amplification_blocked(false, 0);
  EXPECT_EQ(pr.loss_detection_timer(), 999 * ms);
  RecordingObserver obs;
  TimeoutOutcome t = pr.on_loss_detection_timeout(999 * ms, obs);
  EXPECT_EQ(t.action, TimeoutAction::kSendProbe);
  EXPECT_EQ(t.space, PnSpace::kInitial);
  pr.set_has_handshake_keys(true);
  t = pr.on_loss_detection_timeout(999 * ms + 2 * 999 * ms, obs);
  EXPECT_EQ(t.space, PnSpace::kHandshake);
}

// Builds: one RTT sample (srtt 10, rttvar 5), then 20 packets every 10 ms from t = 20 ms, then an
// ACK of a later packet that declares them lost. Persistent congestion duration is
// (10 + 20 + 25) * 3 = 165 ms; the lost span is 20..190 ms = 170 ms.
struct PersistentScenario {
  PathRecovery pr{reno_config()};
  RecordingObserver obs;
  uint64_t window_before = 0;
  AckOutcome run(bool ack_one_in_middle) {
    pr.set_handshake_confirmed(true);
    pr.on_packet_sent(kApp, data_packet(0, 0));
    const AckRange r0[] = {{0, 0}};
    pr.on_ack_received(kApp, r0, 0, 10 * ms, obs);
    for (uint64_t pn = 1; pn <= 18; ++pn) pr.on_packet_sent(kApp, data_packet(pn, (10 + pn * 10) * ms));
    pr.on_packet_sent(kApp, data_packet(21, 300 * ms));
    window_before = pr.cc().cwnd();
    if (ack_one_in_middle) {
      const AckRange r[] = {{21, 21}, {10, 10}};
      return pr.on_ack_received(kApp, r, 0, 310 * ms, obs);
    }
    const AckRange r[] = {{21, 21}};
    return pr.on_ack_received(kApp, r, 0, 310 * ms, obs);
  }
};

TEST(PersistentCongestion, EstablishedCollapsesWindow) {
  PersistentScenario s;
  const AckOutcome o = s.run(false);
  EXPECT_EQ(o.newly_lost, 18u);
  EXPECT_TRUE(o.persistent_congestion);
  EXPECT_EQ(s.pr.cc().cwnd(), 2u * 1200);  // kMinimumWindow
  EXPECT_EQ(s.pr.rtt().min(), s.pr.rtt().latest());
}

TEST(PersistentCongestion, AckBetweenLossesPreventsIt) {
  PersistentScenario s;
  const AckOutcome o = s.run(true);
  EXPECT_EQ(o.newly_lost, 17u);
  EXPECT_FALSE(o.persistent_congestion);  // each run spans less than 165 ms
  // Slow start grows by the two acked packets, then one halving.
  EXPECT_EQ(s.pr.cc().cwnd(), (s.window_before + 2 * 1200) / 2);
}

TEST(PersistentCongestion, NotBeforeFirstRttSample) {
  PathRecovery pr(reno_config());
  RecordingObserver obs;
  for (uint64_t pn = 0; pn < 30; ++pn) pr.on_packet_sent(kApp, data_packet(pn, pn * 20 * ms));
  const AckRange r[] = {{29, 29}};
  const AckOutcome o = pr.on_ack_received(kApp, r, 0, 600 * ms, obs);
  EXPECT_GT(o.newly_lost, 20u);
  EXPECT_FALSE(o.persistent_congestion);
}

TEST(Ecn, CeIncreaseIsCongestionAndDecreaseIsRejected) {
  PathRecovery pr(reno_config());
  RecordingObserver obs;
  for (uint64_t pn = 0; pn < 4; ++pn) pr.on_packet_sent(kApp, data_packet(pn, pn * ms));
  const uint64_t w = pr.cc().cwnd();
  EcnCounts e{2, 0, 0};
  const AckRange r1[] = {{0, 1}};
  ASSERT_EQ(pr.on_ack_received(kApp, r1, 0, 20 * ms, obs, &e).error, RecoveryError::kOk);
  EXPECT_EQ(pr.cc().cwnd(), w + 2400);  // slow start, no signal
  e = EcnCounts{3, 0, 1};
  const AckRange r2[] = {{2, 2}};
  ASSERT_EQ(pr.on_ack_received(kApp, r2, 0, 21 * ms, obs, &e).error, RecoveryError::kOk);
  EXPECT_EQ(pr.cc().cwnd(), (w + 3600) / 2);  // packet 2's growth, then the halving
  e = EcnCounts{3, 0, 0};
  const AckRange r3[] = {{3, 3}};
  EXPECT_EQ(pr.on_ack_received(kApp, r3, 0, 22 * ms, obs, &e).error,
            RecoveryError::kEcnCountDecreased);
}

}  // namespace
}  // namespace camp::quic

namespace camp::quic {
namespace {

// RFC 9000 9.4: after the peer moved, the congestion controller and RTT estimator start over, and
// packets sent on the old path are still acknowledged or lost for their frames but count for
// neither.
TEST(PathReset, OldPathPacketsLeaveNewCongestionStateAlone) {
  PathRecovery pr(reno_config());
  pr.set_handshake_confirmed(true);
  for (uint64_t pn = 0; pn < 10; ++pn) {
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, pn * ms, 1200, pn)), RecoveryError::kOk);
  }
  RecordingObserver obs;
  const AckRange first[] = {{0, 3}};
  ASSERT_EQ(pr.on_ack_received(kApp, first, 0, 30 * ms, obs).error, RecoveryError::kOk);
  EXPECT_TRUE(pr.rtt().has_sample());
  EXPECT_GT(pr.cc().cwnd(), initial_window(1200));  // slow start grew it
  pr.reset_congestion_state(31 * ms);
  EXPECT_FALSE(pr.rtt().has_sample());
  EXPECT_EQ(pr.cc().cwnd(), initial_window(1200));
  EXPECT_EQ(pr.bytes_in_flight(), 0u);
  // New-path packets count; acks of old-path ones are reported but give no RTT sample.
  ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(10, 40 * ms, 1200, 10)), RecoveryError::kOk);
  EXPECT_EQ(pr.bytes_in_flight(), 1200u);
  const AckRange old_only[] = {{4, 6}};
  const AckOutcome o = pr.on_ack_received(kApp, old_only, 0, 45 * ms, obs);
  EXPECT_EQ(o.newly_acked, 3u);
  EXPECT_FALSE(o.rtt_updated);
  EXPECT_EQ(pr.bytes_in_flight(), 1200u);
  EXPECT_EQ(pr.cc().cwnd(), initial_window(1200));
  // Old packets 7-9 are lost by the packet threshold once 10 is acked: no congestion event on the
  // new path, which keeps its initial window and takes its first RTT sample from packet 10.
  const AckRange fresh[] = {{10, 10}};
  const AckOutcome o2 = pr.on_ack_received(kApp, fresh, 0, 60 * ms, obs);
  EXPECT_TRUE(o2.rtt_updated);
  EXPECT_EQ(pr.rtt().latest(), 20 * ms);
  EXPECT_GE(obs.lost.size(), 1u);
  EXPECT_EQ(pr.bytes_in_flight(), 0u);
  EXPECT_GE(pr.cc().cwnd(), initial_window(1200));
}

}  // namespace
}  // namespace camp::quic

namespace camp::quic {
namespace {

// RFC 9002 6.1: a packet declared lost by the packet threshold that is acknowledged later was
// reordered; the threshold grows to the distance seen, so the same reordering is not loss again.
TEST(LossDetection, SpuriousLossRaisesThePacketThreshold) {
  PathRecovery pr(reno_config());
  pr.set_handshake_confirmed(true);
  RecordingObserver obs;
  for (uint64_t pn = 0; pn < 10; ++pn) {
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, pn * 100)), RecoveryError::kOk);
  }
  const AckRange later[] = {{4, 9}};
  ASSERT_EQ(pr.on_ack_received(kApp, later, 0, 20 * ms, obs).error, RecoveryError::kOk);
  EXPECT_EQ(obs.lost, (std::vector<uint64_t>{0, 1, 2, 3}));  // 3 or more behind the largest
  EXPECT_EQ(pr.packet_threshold(), kPacketThreshold);
  const AckRange late[] = {{0, 0}};
  ASSERT_EQ(pr.on_ack_received(kApp, late, 0, 21 * ms, obs).error, RecoveryError::kOk);
  EXPECT_EQ(pr.spurious_losses(), 1u);
  EXPECT_EQ(pr.packet_threshold(), 10u);  // packet 0 arrived after 9
  EXPECT_EQ(pr.time_threshold_eighths(), 10u);  // and 21 ms after it left, RTT 20 ms: 10/8
  // Acknowledging it again changes nothing.
  ASSERT_EQ(pr.on_ack_received(kApp, late, 0, 22 * ms, obs).error, RecoveryError::kOk);
  EXPECT_EQ(pr.spurious_losses(), 1u);
  // Now a gap of 8 is reordering, not loss (the time threshold still applies later).
  for (uint64_t pn = 10; pn < 20; ++pn) {
    ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, 22 * ms + pn)), RecoveryError::kOk);
  }
  obs.lost.clear();
  const AckRange gap[] = {{12, 19}};
  ASSERT_EQ(pr.on_ack_received(kApp, gap, 0, 23 * ms, obs).error, RecoveryError::kOk);
  EXPECT_TRUE(obs.lost.empty());
}

}  // namespace
}  // namespace camp::quic

namespace camp::quic {
namespace {

// RFC 9438 4.9: when every packet whose loss cut the window turns out to have arrived, the cut is
// undone; one genuine loss among them keeps it.
TEST(LossDetection, WindowCutUndoneWhenAllItsLossesWereReordering) {
  for (bool all_arrive : {true, false}) {
    for (CcAlgorithm algo : {CcAlgorithm::kNewReno, CcAlgorithm::kCubic}) {
      PathRecoveryConfig cfg;
      cfg.algorithm = algo;
      PathRecovery pr(cfg);
      pr.set_handshake_confirmed(true);
      RecordingObserver obs;
      for (uint64_t pn = 0; pn < 10; ++pn) {
        ASSERT_EQ(pr.on_packet_sent(kApp, data_packet(pn, pn * 100)), RecoveryError::kOk);
      }
      const uint64_t before = pr.cc().cwnd();
      const AckRange later[] = {{4, 9}};
      ASSERT_EQ(pr.on_ack_received(kApp, later, 0, 20 * ms, obs).error, RecoveryError::kOk);
      ASSERT_EQ(obs.lost.size(), 4u);
      const uint64_t cut = pr.cc().cwnd();
      EXPECT_LT(cut, before + 6 * 1200);  // reduced from what slow start had reached
      const AckRange first_three[] = {{0, 2}};
      ASSERT_EQ(pr.on_ack_received(kApp, first_three, 0, 21 * ms, obs).error, RecoveryError::kOk);
      EXPECT_EQ(pr.undone_reductions(), 0u);  // packet 3 is still missing
      if (all_arrive) {
        const AckRange last[] = {{3, 3}};
        ASSERT_EQ(pr.on_ack_received(kApp, last, 0, 22 * ms, obs).error, RecoveryError::kOk);
        EXPECT_EQ(pr.undone_reductions(), 1u);
        EXPECT_GT(pr.cc().cwnd(), cut);
      } else {
        EXPECT_EQ(pr.cc().cwnd(), cut);
      }
      EXPECT_EQ(pr.spurious_losses(), all_arrive ? 4u : 3u);
    }
  }
}

}  // namespace
}  // namespace camp::quic
