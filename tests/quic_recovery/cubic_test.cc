// CUBIC (RFC 9438): the window follows W_cubic(t) = C(t-K)^3 + W_max after a reduction by beta,
// and the Reno-friendly estimate takes over where CUBIC would be slower than Reno.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "dataplane/quic/recovery/cubic.h"
#include "recovery_test_util.h"

namespace camp::quic {
namespace {

using test::data_packet;
using test::ms;

constexpr uint32_t kMds = 1200;

// A window-limited, ack-clocked sender over a path with a fixed RTT and no queue.
struct AckClock {
  Cubic& cc;
  DurationNs rtt;
  std::deque<SentPacket> flight;
  uint64_t next_pn = 0;
  TimeNs now = 0;

  void fill() {
    while (cc.can_send(kMds)) {
      const SentPacket p = data_packet(next_pn++, now, kMds);
      cc.on_packet_sent(p, now);
      flight.push_back(p);
    }
  }
  // Delivers the oldest packet's ACK and refills the window.
  void step() {
    const SentPacket p = flight.front();
    flight.pop_front();
    now = p.time_sent + rtt;
    cc.on_packet_acked(p, now);
    AckEvent ev;
    ev.now = now;
    ev.smoothed_rtt = rtt;
    cc.on_ack(ev);
    fill();
  }
  void run_until(TimeNs t) {
    while (!flight.empty() && flight.front().time_sent + rtt <= t) step();
  }
};

TEST(Cubic, ReductionByBetaAndFastConvergence) {
  Cubic cc(kMds);
  AckClock clock{cc, 100 * ms};
  clock.fill();
  clock.run_until(500 * ms);
  const uint64_t before = cc.cwnd();
  cc.on_congestion_event(clock.now, clock.now);
  EXPECT_EQ(cc.cwnd(), static_cast<uint64_t>(before * 0.7));
  EXPECT_EQ(cc.ssthresh(), cc.cwnd());
  EXPECT_DOUBLE_EQ(cc.w_max(), static_cast<double>(before));
  // Same recovery period: no second cut.
  cc.on_congestion_event(clock.now - 1, clock.now + 10 * ms);
  EXPECT_EQ(cc.cwnd(), static_cast<uint64_t>(before * 0.7));
  // A new loss below the previous plateau: W_max = cwnd * (1 + beta) / 2.
  const uint64_t now_cwnd = cc.cwnd();
  cc.on_congestion_event(clock.now + 20 * ms, clock.now + 30 * ms);
  EXPECT_DOUBLE_EQ(cc.w_max(), now_cwnd * 1.7 / 2);
  EXPECT_EQ(cc.cwnd(), static_cast<uint64_t>(now_cwnd * 0.7));
}

TEST(Cubic, WindowFollowsCubicCurve) {
  Cubic cc(kMds);
  AckClock clock{cc, 100 * ms};
  clock.fill();
  while (cc.cwnd() < 1000ull * kMds) clock.step();  // slow start to ~1000 datagrams
  const double w_max = static_cast<double>(cc.cwnd());
  cc.on_congestion_event(clock.now, clock.now);
  // Run until congestion avoidance starts its epoch.
  while (!cc.has_epoch()) clock.step();
  const double k_expected = std::cbrt(w_max / kMds * (1 - Cubic::kBeta) / Cubic::kC);
  EXPECT_NEAR(cc.k(), k_expected, 1e-9);
  EXPECT_NEAR(cc.k(), 9.09, 0.05);  // cbrt(1000 * 0.3 / 0.4)
  const TimeNs epoch = cc.epoch_start();
  int checked = 0;
  for (double t = 0.5; t <= 12.0; t += 0.5) {
    clock.run_until(epoch + static_cast<TimeNs>(t * 1e9));
    const double formula = Cubic::kC * std::pow(t - k_expected, 3) * kMds + w_max;
    const double cwnd = static_cast<double>(cc.cwnd());
    // The window aims at W_cubic(t + RTT) one RTT ahead, so it sits just above W_cubic(t).
    EXPECT_NEAR(cwnd, formula, 0.01 * formula) << "t=" << t;
    if (t < k_expected - 0.5) {
      EXPECT_LT(cwnd, w_max) << "concave region, t=" << t;
    }
    if (t > k_expected + 0.5) {
      EXPECT_GT(cwnd, w_max) << "convex region, t=" << t;
    }
    if (std::fabs(t - 9.0) < 1e-9) {
      EXPECT_NEAR(cwnd, w_max, 0.001 * w_max);  // plateau at K
    }
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

TEST(Cubic, RenoFriendlyRegionOnShortRtt) {
  Cubic cc(kMds);
  AckClock clock{cc, 10 * ms};
  clock.fill();
  while (cc.cwnd() < 20ull * kMds) clock.step();
  cc.on_congestion_event(clock.now, clock.now);
  while (!cc.has_epoch()) clock.step();
  const TimeNs epoch = cc.epoch_start();
  clock.run_until(epoch + 2 * kSecond);
  const double cubic = cc.w_cubic(2.0);
  const double cwnd = static_cast<double>(cc.cwnd());
  // W_cubic(2 s) is still below W_max (K ~ 2.5 s) while Reno would have grown by ~1 segment/RTT.
  EXPECT_LT(cubic, 21.0 * kMds);
  EXPECT_GT(cwnd, 2.0 * cubic);
  EXPECT_NEAR(cwnd, cc.w_est(), 2.0 * kMds);
}

TEST(Cubic, PersistentCongestionToMinimumWindow) {
  Cubic cc(kMds);
  cc.on_persistent_congestion(0);
  EXPECT_EQ(cc.cwnd(), 2u * kMds);
  EXPECT_FALSE(cc.has_epoch());
}

}  // namespace
}  // namespace camp::quic
