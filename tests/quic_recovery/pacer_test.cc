// The pacer spaces packets by size / rate, allows a bounded burst, and earns no credit when idle
// beyond that burst.
#include <gtest/gtest.h>

#include <cmath>

#include "dataplane/quic/recovery/pacer.h"
#include "recovery_test_util.h"

namespace camp::quic {
namespace {

using test::ms;

TEST(Pacer, SpacingEqualsSizeOverRate) {
  Pacer p(0);
  p.set_rate(1'000'000);  // 1 MB/s: 1200 bytes every 1.2 ms
  TimeNs now = 5 * ms;
  TimeNs prev = 0;
  for (int i = 0; i < 100; ++i) {
    const TimeNs t = p.next_send_time(now, 1200);
    if (i > 0) {
      EXPECT_EQ(t - prev, 1'200'000u) << i;
    }
    p.on_packet_sent(t, 1200);
    prev = t;
    now = t;
  }
}

TEST(Pacer, FractionalSpacingIsExactOverManyPackets) {
  Pacer p(0);
  p.set_rate(3'000'000);  // 1000 bytes = 333333.33 ns
  TimeNs t0 = p.next_send_time(0, 1000);
  p.on_packet_sent(t0, 1000);
  TimeNs t = t0;
  for (int i = 0; i < 3000; ++i) {
    t = p.next_send_time(t, 1000);
    p.on_packet_sent(t, 1000);
  }
  EXPECT_EQ(t - t0, 1'000'000'000u);  // 3000 packets of 1000 bytes at 3 MB/s: exactly 1 s
}

TEST(Pacer, BurstAllowanceThenPaced) {
  Pacer p(3600);  // three 1200-byte packets may go ahead of the schedule
  p.set_rate(1'200'000);  // 1 ms per packet
  const TimeNs now = 100 * ms;
  int immediate = 0;
  while (p.next_send_time(now, 1200) == now && immediate < 100) {
    p.on_packet_sent(now, 1200);
    ++immediate;
  }
  EXPECT_EQ(immediate, 4);  // the packet in its slot plus a 3-packet burst
  EXPECT_EQ(p.next_send_time(now, 1200), now + 1 * ms);
  // Long idle earns no more than the burst.
  const TimeNs later = now + 10 * kSecond;
  immediate = 0;
  while (p.next_send_time(later, 1200) == later && immediate < 100) {
    p.on_packet_sent(later, 1200);
    ++immediate;
  }
  EXPECT_EQ(immediate, 4);
}

TEST(Pacer, ZeroRateMeansUnpaced) {
  Pacer p(0);
  p.set_rate(0);
  p.on_packet_sent(10, 1200);
  EXPECT_EQ(p.next_send_time(10, 1200), 10u);
}

TEST(Pacer, PathRecoveryPacesAtControllerRate) {
  PathRecoveryConfig cfg;
  cfg.algorithm = CcAlgorithm::kNewReno;
  cfg.pacer_burst_bytes = 0;
  PathRecovery pr(cfg);
  // Without an RTT sample NewReno paces at 1.25 * cwnd / kInitialRtt (whole bytes per second).
  const double rate = std::floor(1.25 * 12000 / 0.333);
  SentPacket pkt = test::data_packet(0, 0, 1200);
  ASSERT_EQ(pr.on_packet_sent(PnSpace::kApplicationData, pkt), RecoveryError::kOk);
  const TimeNs next = pr.next_send_time(0, 1200);
  EXPECT_NEAR(static_cast<double>(next), std::ceil(1200 / rate * 1e9), 1.0);
}

}  // namespace
}  // namespace camp::quic
