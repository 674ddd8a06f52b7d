// BBR over a simulated bottleneck: Startup -> Drain -> ProbeBW, bandwidth convergence, the
// ProbeBW cycle, and ProbeRTT when min_rtt goes stale.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/quic/recovery/bbr.h"
#include "link_model.h"

namespace camp::quic {
namespace {

using test::BulkSim;
using test::Link;
using test::ms;

constexpr double kRate = 12.5e6;           // 100 Mbit/s bottleneck
constexpr DurationNs kRtt = 40 * ms;
constexpr uint64_t kBdp = 500'000;         // kRate * kRtt

PathRecoveryConfig bbr_config() {
  PathRecoveryConfig cfg;
  cfg.algorithm = CcAlgorithm::kBbr;
  cfg.app_ring_capacity = 8192;
  cfg.seed = 7;
  return cfg;
}

struct Trace {
  std::vector<BbrState> states;
  std::vector<TimeNs> entered;
  void record(BbrState s, TimeNs t) {
    if (states.empty() || states.back() != s) {
      states.push_back(s);
      entered.push_back(t);
    }
  }
  bool visited(BbrState s) const {
    for (BbrState x : states)
      if (x == s) return true;
    return false;
  }
  TimeNs first(BbrState s) const {
    for (size_t i = 0; i < states.size(); ++i)
      if (states[i] == s) return entered[i];
    return kNever;
  }
};

TEST(Bbr, StartupDrainProbeBwAndBandwidthConverges) {
  PathRecovery pr(bbr_config());
  pr.set_handshake_confirmed(true);
  auto& bbr = static_cast<Bbr&>(pr.cc());
  BulkSim sim{pr, Link{kRate, kRtt, kBdp}};
  Trace trace;
  sim.on_step = [&](TimeNs t) { trace.record(bbr.state(), t); };
  trace.record(bbr.state(), 0);
  sim.run_until(5 * kSecond);

  ASSERT_GE(trace.states.size(), 3u);
  EXPECT_EQ(trace.states[0], BbrState::kStartup);
  EXPECT_EQ(trace.states[1], BbrState::kDrain);
  // Drain hands over to ProbeBW_DOWN, which may turn to CRUISE on the same ACK when inflight is
  // already at the BDP.
  EXPECT_TRUE(trace.states[2] == BbrState::kProbeBwDown ||
              trace.states[2] == BbrState::kProbeBwCruise);
  EXPECT_TRUE(bbr.full_bw_reached());
  // Startup should fill a 500 KB pipe from 12 KB within well under a second.
  EXPECT_LT(trace.first(BbrState::kDrain), 1 * kSecond);
  // Bandwidth estimate near the bottleneck rate; min_rtt at the propagation delay.
  EXPECT_NEAR(bbr.max_bw(), kRate, 0.05 * kRate);
  EXPECT_GE(bbr.min_rtt(), kRtt);
  EXPECT_LT(bbr.min_rtt(), kRtt + 1 * ms);
  // The ProbeBW cycle moves through its phases.
  EXPECT_TRUE(trace.visited(BbrState::kProbeBwCruise));
  EXPECT_TRUE(trace.visited(BbrState::kProbeBwRefill));
  EXPECT_TRUE(trace.visited(BbrState::kProbeBwUp));
  // Throughput over the run is close to the link rate.
  const double delivered = static_cast<double>(pr.sampler().delivered());
  EXPECT_GT(delivered, 0.8 * kRate * 5);
  // In steady state the window stays near cwnd_gain * BDP, not unbounded.
  EXPECT_LT(pr.cc().cwnd(), 3 * kBdp);
}

TEST(Bbr, ProbeRttAfterMinRttGoesStale) {
  PathRecovery pr(bbr_config());
  pr.set_handshake_confirmed(true);
  auto& bbr = static_cast<Bbr&>(pr.cc());
  BulkSim sim{pr, Link{kRate, kRtt, kBdp}};
  Trace trace;
  DurationNs last_min = 0;
  TimeNs min_changed_at = 0;
  sim.on_step = [&](TimeNs t) {
    trace.record(bbr.state(), t);
    if (bbr.min_rtt() != last_min) {
      last_min = bbr.min_rtt();
      min_changed_at = t;
    }
  };
  sim.run_until(12 * kSecond);
  const TimeNs probe_rtt = trace.first(BbrState::kProbeRtt);
  ASSERT_NE(probe_rtt, kNever) << "no ProbeRTT in 12 s";
  // No lower RTT is ever seen after the first few round trips, so ProbeRTT comes
  // ProbeRTTInterval (5 s) after the last min_rtt sample, and well inside MinRTTFilterLen.
  EXPECT_LT(min_changed_at, 1 * kSecond);
  EXPECT_GE(probe_rtt, min_changed_at + Bbr::kProbeRttInterval);
  EXPECT_LT(probe_rtt, min_changed_at + Bbr::kMinRttFilterLen);
  // ProbeRTT holds at least 200 ms and one round, then returns to ProbeBW.
  size_t i = 0;
  while (trace.states[i] != BbrState::kProbeRtt) ++i;
  ASSERT_LT(i + 1, trace.states.size());
  const DurationNs held = trace.entered[i + 1] - trace.entered[i];
  EXPECT_GE(held, Bbr::kProbeRttDuration);
  EXPECT_LT(held, Bbr::kProbeRttDuration + 4 * kRtt);
  EXPECT_EQ(trace.states[i + 1], BbrState::kProbeBwCruise);
  EXPECT_NEAR(bbr.max_bw(), kRate, 0.05 * kRate);
}

TEST(Bbr, LossInProbeUpSetsInflightLongterm) {
  // A shallow buffer (a tenth of the BDP) makes ProbeBW_UP overflow it.
  PathRecovery pr(bbr_config());
  pr.set_handshake_confirmed(true);
  auto& bbr = static_cast<Bbr&>(pr.cc());
  BulkSim sim{pr, Link{kRate, kRtt, kBdp / 10}};
  sim.run_until(4 * kSecond);
  const uint64_t d0 = pr.sampler().delivered();
  sim.run_until(6 * kSecond);
  EXPECT_GT(sim.dropped, 0u);
  EXPECT_TRUE(bbr.full_bw_reached());
  EXPECT_NE(bbr.inflight_longterm(), Bbr::kInfinite);
  EXPECT_NEAR(bbr.max_bw(), kRate, 0.1 * kRate);
  // The loss-based bound keeps inflight below BDP + buffer plus a little probing room.
  EXPECT_LT(bbr.inflight_longterm(), 2 * kBdp);
  // Once ProbeBW_UP has found the real bandwidth, the link stays nearly full (ProbeRTT included).
  const double rate = static_cast<double>(pr.sampler().delivered() - d0) / 2;
  EXPECT_GT(rate, 0.85 * kRate);
}

TEST(Bbr, InitialStateAndGains) {
  Bbr bbr(1200);
  EXPECT_EQ(bbr.state(), BbrState::kStartup);
  EXPECT_DOUBLE_EQ(bbr.pacing_gain(), Bbr::kStartupPacingGain);
  EXPECT_DOUBLE_EQ(bbr.cwnd_gain(), 2.0);
  EXPECT_EQ(bbr.cwnd(), 12000u);
  // InitPacingRate: 2.77 * InitialCwnd / 1 ms.
  EXPECT_DOUBLE_EQ(bbr.pacing_rate(0), 2.77 * 12000 / 1e-3);
  EXPECT_STREQ(to_string(BbrState::kProbeBwUp), "ProbeBW_UP");
}

}  // namespace
}  // namespace camp::quic
