// RFC 9002 section 5 formulas, checked value by value.
#include <gtest/gtest.h>

#include "dataplane/quic/recovery/rtt_estimator.h"

namespace camp::quic {
namespace {

constexpr DurationNs ms = kMillisecond;

TEST(RttEstimator, InitialValuesBeforeAnySample) {
  RttEstimator r;
  EXPECT_FALSE(r.has_sample());
  EXPECT_EQ(r.smoothed(), 333 * ms);
  EXPECT_EQ(r.rttvar(), 333 * ms / 2);
  // PTO base with initial values: 333 + 4 * 166.5 = 999 ms.
  EXPECT_EQ(r.pto_base(), 333 * ms + 4 * (333 * ms / 2));
}

TEST(RttEstimator, FirstSampleSetsAllAndIgnoresAckDelay) {
  RttEstimator r;
  r.on_sample(100 * ms, 20 * ms, true);
  EXPECT_EQ(r.latest(), 100 * ms);
  EXPECT_EQ(r.min(), 100 * ms);
  EXPECT_EQ(r.smoothed(), 100 * ms);
  EXPECT_EQ(r.rttvar(), 50 * ms);
}

TEST(RttEstimator, SubsequentSamplesFollowEwma) {
  RttEstimator r;
  r.on_sample(100 * ms, 0, true);
  // adjusted = 120 - 10 = 110 (120 >= min 100 + 10).
  r.on_sample(120 * ms, 10 * ms, true);
  const DurationNs rttvar = (3 * 50 * ms + 10 * ms) / 4;  // |100 - 110| = 10
  const DurationNs srtt = (7 * 100 * ms + 110 * ms) / 8;
  EXPECT_EQ(r.rttvar(), rttvar);
  EXPECT_EQ(r.smoothed(), srtt);
  EXPECT_EQ(r.min(), 100 * ms);
  EXPECT_EQ(r.latest(), 120 * ms);
}

TEST(RttEstimator, AckDelayNotSubtractedBelowMinRtt) {
  RttEstimator r;
  r.on_sample(100 * ms, 0, true);
  // 105 - 10 would be 95 < min_rtt 100: use 105 unadjusted.
  r.on_sample(105 * ms, 10 * ms, true);
  EXPECT_EQ(r.smoothed(), (7 * 100 * ms + 105 * ms) / 8);
  EXPECT_EQ(r.rttvar(), (3 * 50 * ms + 5 * ms) / 4);
}

TEST(RttEstimator, AckDelayCappedByMaxAckDelayAfterConfirmation) {
  RttEstimator a, b;
  a.set_max_ack_delay(25 * ms);
  b.set_max_ack_delay(25 * ms);
  a.on_sample(50 * ms, 0, true);
  b.on_sample(50 * ms, 0, false);
  // 200 ms sample with a claimed 100 ms delay.
  a.on_sample(200 * ms, 100 * ms, true);   // confirmed: delay capped to 25 -> adjusted 175
  b.on_sample(200 * ms, 100 * ms, false);  // not confirmed: delay used as is -> adjusted 100
  EXPECT_EQ(a.smoothed(), (7 * 50 * ms + 175 * ms) / 8);
  EXPECT_EQ(b.smoothed(), (7 * 50 * ms + 100 * ms) / 8);
}

TEST(RttEstimator, MinRttIgnoresAckDelayAndTracksMinimum) {
  RttEstimator r;
  r.on_sample(80 * ms, 0, true);
  r.on_sample(60 * ms, 30 * ms, true);
  EXPECT_EQ(r.min(), 60 * ms);
  r.on_sample(90 * ms, 0, true);
  EXPECT_EQ(r.min(), 60 * ms);
  r.on_persistent_congestion();
  EXPECT_EQ(r.min(), 90 * ms);  // 5.2: restart from the newest sample
}

TEST(RttEstimator, PtoBaseUsesGranularityFloor) {
  RttEstimator r;
  r.on_sample(10 * ms, 0, true);
  for (int i = 0; i < 200; ++i) r.on_sample(10 * ms, 0, true);  // rttvar decays toward 0
  EXPECT_LT(4 * r.rttvar(), kGranularity);
  EXPECT_EQ(r.pto_base(), r.smoothed() + kGranularity);
}

// Multipath draft-21 5.4: min_rtt remembers the path the acknowledgment that produced it came on,
// and restarts from the newest sample when acknowledgments come on another path, or after that
// path closed. Without a path (one path, the handshake) it is plain RFC 9002.
TEST(RttEstimator, MinRttRestartsWhenTheAckPathChanges) {
  RttEstimator r;
  r.on_sample(40 * ms, 0, true);  // the handshake: no path
  EXPECT_EQ(r.min_rtt_ack_path(), RttEstimator::kAnyAckPath);
  r.on_sample(50 * ms, 0, true, 0);  // the first with a path adopts it, min unchanged
  EXPECT_EQ(r.min(), 40 * ms);
  EXPECT_EQ(r.min_rtt_ack_path(), 0u);
  r.on_sample(30 * ms, 0, true, 0);
  EXPECT_EQ(r.min(), 30 * ms);
  EXPECT_EQ(r.min_rtt_restarts(), 0u);
  // ACKs move to path 2: min_rtt starts again from that sample, even a larger one.
  r.on_sample(70 * ms, 0, true, 2);
  EXPECT_EQ(r.min(), 70 * ms);
  EXPECT_EQ(r.min_rtt_ack_path(), 2u);
  EXPECT_EQ(r.min_rtt_restarts(), 1u);
  r.on_sample(60 * ms, 0, true, 2);
  r.on_sample(65 * ms, 0, true, 2);
  EXPECT_EQ(r.min(), 60 * ms);
  EXPECT_EQ(r.min_rtt_restarts(), 1u);
  // Another path closing changes nothing; the ACK path closing restarts with the next sample.
  r.on_ack_path_closed(0);
  r.on_sample(80 * ms, 0, true, 2);
  EXPECT_EQ(r.min(), 60 * ms);
  r.on_ack_path_closed(2);
  r.on_sample(90 * ms, 0, true, 2);
  EXPECT_EQ(r.min(), 90 * ms);
  EXPECT_EQ(r.min_rtt_restarts(), 2u);
  // Without a path nothing restarts.
  RttEstimator one;
  one.on_sample(30 * ms, 0, true);
  one.on_sample(90 * ms, 0, true);
  one.on_ack_path_closed(0);
  one.on_sample(95 * ms, 0, true);
  EXPECT_EQ(one.min(), 30 * ms);
  EXPECT_EQ(one.min_rtt_restarts(), 0u);
}

}  // namespace
}  // namespace camp::quic
