// Control-plane overrides (MMF 3.3 / 8.4): pacing_gain, pacing_rate and target_bitrate replace the
// controller's own values until they expire, then the controller's state machine takes over.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dataplane/quic/recovery/bbr.h"
#include "dataplane/quic/recovery/cubic.h"
#include "dataplane/quic/recovery/new_reno.h"
#include "link_model.h"

namespace camp::quic {
namespace {

using test::ms;

TEST(Override, RejectsBadValues) {
  NewReno cc(1200);
  EXPECT_EQ(cc.set_override(OverrideKind::kPacingGain, 0, kSecond), RecoveryError::kBadValue);
  EXPECT_EQ(cc.set_override(OverrideKind::kPacingRate, -5, kSecond), RecoveryError::kBadValue);
  EXPECT_EQ(cc.set_override(OverrideKind::kTargetBitrate,
                            std::numeric_limits<double>::quiet_NaN(), kSecond),
            RecoveryError::kBadValue);
  EXPECT_EQ(cc.set_override(OverrideKind::kPacingRate, std::numeric_limits<double>::infinity(),
                            kSecond),
            RecoveryError::kBadValue);
  EXPECT_FALSE(cc.override_active(OverrideKind::kPacingRate, 0));
}

TEST(Override, WindowControllersApplyAndExpire) {
  Cubic cc(1200);
  AckEvent ev;
  ev.smoothed_rtt = 100 * ms;
  cc.on_ack(ev);
  const double bwe = 12000 / 0.1;  // cwnd per smoothed RTT
  EXPECT_DOUBLE_EQ(cc.bandwidth_estimate(), bwe);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(0), 1.25 * bwe);
  EXPECT_DOUBLE_EQ(cc.target_bitrate(0), 8 * bwe);

  ASSERT_EQ(cc.set_override(OverrideKind::kPacingGain, 0.9, 2 * kSecond), RecoveryError::kOk);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(1 * kSecond), 0.9 * bwe);
  ASSERT_EQ(cc.set_override(OverrideKind::kPacingRate, 50'000, 1 * kSecond), RecoveryError::kOk);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(500 * ms), 50'000);       // rate wins over gain
  EXPECT_DOUBLE_EQ(cc.pacing_rate(1 * kSecond), 0.9 * bwe);  // rate expired, gain still on
  EXPECT_DOUBLE_EQ(cc.pacing_rate(2 * kSecond), 1.25 * bwe);  // both expired
  ASSERT_EQ(cc.set_override(OverrideKind::kTargetBitrate, 2e6, 3 * kSecond), RecoveryError::kOk);
  EXPECT_DOUBLE_EQ(cc.target_bitrate(2 * kSecond), 2e6);
  EXPECT_DOUBLE_EQ(cc.target_bitrate(3 * kSecond), 8 * bwe);
  // Overrides change outputs only: the window is untouched.
  EXPECT_EQ(cc.cwnd(), 12000u);
  ASSERT_EQ(cc.set_override(OverrideKind::kPacingRate, 1, 10 * kSecond), RecoveryError::kOk);
  cc.clear_override(OverrideKind::kPacingRate);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(2 * kSecond), 1.25 * bwe);
  // Clearing one override leaves another in force.
  ASSERT_EQ(cc.set_override(OverrideKind::kPacingGain, 0.5, 10 * kSecond), RecoveryError::kOk);
  ASSERT_EQ(cc.set_override(OverrideKind::kPacingRate, 1, 10 * kSecond), RecoveryError::kOk);
  cc.clear_override(OverrideKind::kPacingRate);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(2 * kSecond), 0.5 * bwe);
  EXPECT_TRUE(cc.rate_capped_by_override(2 * kSecond));
  cc.clear_override(OverrideKind::kPacingGain);
  EXPECT_DOUBLE_EQ(cc.pacing_rate(2 * kSecond), 1.25 * bwe);
  EXPECT_FALSE(cc.rate_capped_by_override(2 * kSecond));
}

constexpr double kRate = 12.5e6;
constexpr DurationNs kRtt = 40 * ms;

PathRecoveryConfig bbr_config() {
  PathRecoveryConfig cfg;
  cfg.algorithm = CcAlgorithm::kBbr;
  cfg.app_ring_capacity = 8192;
  cfg.seed = 3;
  return cfg;
}

TEST(Override, BbrPacingGainOverrideThenOwnStateMachine) {
  PathRecovery pr(bbr_config());
  pr.set_handshake_confirmed(true);
  auto& bbr = static_cast<Bbr&>(pr.cc());
  test::BulkSim sim{pr, test::Link{kRate, kRtt, 500'000}};
  sim.run_until(2 * kSecond);
  ASSERT_TRUE(bbr.full_bw_reached());

  const TimeNs expires = 4 * kSecond;
  ASSERT_EQ(bbr.set_override(OverrideKind::kPacingGain, 1.0, expires), RecoveryError::kOk);
  int during = 0, after = 0, gain_changes = 0;
  double last_gain = bbr.pacing_gain();
  sim.on_step = [&](TimeNs now) {
    const double rate = bbr.pacing_rate(now);
    if (bbr.pacing_gain() != last_gain) {
      ++gain_changes;
      last_gain = bbr.pacing_gain();
    }
    if (now < expires) {
      // MMF 8.4: pacing_rate = BWE x pacing_gain, whatever phase BBR is in.
      EXPECT_DOUBLE_EQ(rate, bbr.bw() * 1.0);
      ++during;
    } else {
      // Back to BBR's own: pacing_gain x bw x (1 - 1% margin).
      EXPECT_NEAR(rate, bbr.pacing_gain() * bbr.bw() * 0.99, 1e-6 * rate);
      ++after;
    }
  };
  sim.run_until(6 * kSecond);
  EXPECT_GT(during, 1000);
  EXPECT_GT(after, 1000);
  // The state machine kept running underneath the override (ProbeBW gains kept changing).
  EXPECT_GT(gain_changes, 2);
  EXPECT_FALSE(bbr.override_active(OverrideKind::kPacingGain, 6 * kSecond));
}

TEST(Override, BbrPacingRateOverrideLimitsThroughputThenRecovers) {
  PathRecovery pr(bbr_config());
  pr.set_handshake_confirmed(true);
  test::BulkSim sim{pr, test::Link{kRate, kRtt, 500'000}};
  sim.run_until(2 * kSecond);
  ASSERT_EQ(pr.cc().set_override(OverrideKind::kPacingRate, kRate / 4, 4 * kSecond),
            RecoveryError::kOk);
  sim.run_until(2 * kSecond + 500 * ms);  // let the queue and the flight settle
  const uint64_t d0 = pr.sampler().delivered();
  sim.run_until(4 * kSecond);
  const double limited = static_cast<double>(pr.sampler().delivered() - d0) / 1.5;
  EXPECT_NEAR(limited, kRate / 4, 0.05 * kRate);
  sim.run_until(4 * kSecond + 500 * ms);
  const uint64_t d1 = pr.sampler().delivered();
  sim.run_until(7 * kSecond);
  const double free_running = static_cast<double>(pr.sampler().delivered() - d1) / 2.5;
  EXPECT_GT(free_running, 0.8 * kRate);
}

}  // namespace
}  // namespace camp::quic
