// The pacer spaces packets by size / rate, allows a bounded burst, and earns no credit when idle
// beyond that burst.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

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

// Exact references for the pacer's integer arithmetic, in 128 bits whatever the operands.
using u128 = unsigned __int128;

// ceil(bytes * 1e9 / rate): the time `bytes` take at `rate`, rounded up (the burst credit).
uint64_t exact_credit(uint64_t bytes, uint64_t rate) {
  const u128 num = static_cast<u128>(bytes) * kSecond;
  return static_cast<uint64_t>((num + rate - 1) / rate);
}

// Packets sent back to back from time 0 leave the schedule at floor(total * 1e9 / rate): the
// remainder each send carries makes the sum exact, whatever the packet sizes.
TEST(Pacer, ExactAtHugeRatesAndByteCounts) {
  const uint64_t rates[] = {
      10'000'019,                       // moderate: 4 GB packets take 429 s each
      (uint64_t{1} << 62) + 12345,      // near 2^62 bytes/s
      UINT64_MAX - 12345,               // (bytes * 1e9 + remainder) often exceeds 64 bits
  };
  uint64_t narrow = 0, wide = 0;  // sends the pacer divides in 64 bits, and in 128
  uint64_t edges = 0;              // sends at the edge between the two
  for (const uint64_t rate : rates) {
    SCOPED_TRACE(testing::Message() << "rate " << rate);
    Pacer p(0);  // no burst: next_send_time(0) is the schedule itself
    p.set_rate(rate);
    u128 total = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      // Mostly the largest counts the API takes, some small ones between.
      uint32_t bytes = (i % 4 == 3) ? static_cast<uint32_t>(seed >> 54)
                                    : static_cast<uint32_t>(UINT32_MAX - (seed >> 40) % 1000);
      const uint64_t rem = static_cast<uint64_t>(total * kSecond % rate);  // carried into this send
      // Where the carried remainder allows, counts at the pacer's edge between its divisions:
      // fit - 1 and fit still fit 64 bits once multiplied (from fit on it divides in 128 bits),
      // fit + 1 does not.
      const uint64_t fit = (UINT64_MAX - rem) / kSecond;
      if (i % 2 == 0 && fit + 1 <= UINT32_MAX) {
        bytes = static_cast<uint32_t>(fit - 1 + (i / 2) % 3);
        ++edges;
      }
      if (bytes >= fit) ++wide; else ++narrow;
      p.on_packet_sent(0, bytes);
      total += bytes;
      const uint64_t expect = static_cast<uint64_t>(total * kSecond / rate);
      ASSERT_EQ(p.next_send_time(0, 1200), expect) << "packet " << i << " of " << bytes;
    }
    EXPECT_GT(total, u128{1} << 40);  // far more than 64 bits hold once multiplied by 1e9
  }
  // Both ways of dividing were taken, and agreed with the exact figure.
  EXPECT_GT(narrow, 1000u);
  EXPECT_GT(wide, 100u);
  EXPECT_GT(edges, 100u);
}

// The pacer divides once per packet size and rate and carries the remainders itself: runs of one
// size, sizes and rates changing between them, stay exact against the division of the total.
TEST(Pacer, ExactAcrossRunsOfSizesAndRates) {
  Pacer p(0);
  uint64_t seed = 12345;
  for (int run = 0; run < 200; ++run) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t rate = 1 + (seed >> 20) % (run % 3 == 0 ? 1000 : 50'000'000'000ull);
    p.set_rate(rate);  // a new rate starts from the current schedule with no remainder
    const TimeNs start = p.next_send_time(0, 1);
    u128 total = 0;
    for (int i = 0; i < 50; ++i) {
      const uint32_t bytes = (i / 10) % 2 ? 1200 : static_cast<uint32_t>(1 + (seed >> (i % 40)) % 1500);
      p.on_packet_sent(0, bytes);
      total += bytes;
      ASSERT_EQ(p.next_send_time(0, 1), start + static_cast<uint64_t>(total * kSecond / rate))
          << "run " << run << " packet " << i;
    }
  }
}

// The burst credit, ceil(burst * 1e9 / rate), is exact on both sides of where burst * 1e9 + rate
// stops fitting 64 bits, up to bursts of 2^40 bytes and more.
TEST(Pacer, BurstCreditExactAtHugeBursts) {
  const TimeNs start = TimeNs{1} << 63;  // far enough on that every credit below is visible
  const uint64_t rates[] = {1000, 1'000'000, (uint64_t{1} << 62) + 12345, UINT64_MAX - 12345};
  for (const uint64_t rate : rates) {
    const uint64_t edge = (UINT64_MAX - rate) / kSecond;  // first burst done in 128 bits
    std::vector<uint64_t> bursts = {0, 1, 1200, uint64_t{1} << 40, (uint64_t{1} << 40) + 7,
                                    edge, edge + 1};
    if (edge > 0) bursts.push_back(edge - 1);
    for (const uint64_t burst : bursts) {
      const uint64_t credit = exact_credit(burst, rate);
      if (credit >= start) continue;  // beyond what the schedule here can show
      SCOPED_TRACE(testing::Message() << "rate " << rate << " burst " << burst);
      Pacer p(burst);
      p.set_rate(rate);
      p.on_packet_sent(start, 1200);
      const TimeNs next_free = start + static_cast<uint64_t>(u128{1200} * kSecond / rate);
      EXPECT_EQ(p.next_send_time(0, 1200), next_free - credit);
      // The same once set_burst() computes it, rather than set_rate().
      Pacer q(0);
      q.set_rate(rate);
      q.on_packet_sent(start, 1200);
      q.set_burst(burst);
      EXPECT_EQ(q.next_send_time(0, 1200), next_free - credit);
    }
  }
}

// The credit is kept, not recomputed per packet: set_burst() and set_rate() must each refresh it,
// in either order, also when the rate was 0 (no pacing) as the burst changed.
TEST(Pacer, BurstCreditFollowsSetBurstAndSetRate) {
  const TimeNs start = 10'000 * kSecond;
  Pacer p(0);
  p.set_rate(1'000'000);
  p.on_packet_sent(start, 1200);
  const TimeNs next_free = start + 1'200'000;  // 1200 bytes at 1 MB/s
  EXPECT_EQ(p.next_send_time(0, 1200), next_free);

  p.set_burst(12'000);
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - 12 * ms);
  p.set_rate(3'000'000);  // the schedule stays; the same burst is worth a third of the time
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - 4 * ms);
  p.set_rate(7);  // 12000 bytes at 7 bytes/s: 1714.285714285... s, rounded up
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - exact_credit(12'000, 7));
  EXPECT_EQ(exact_credit(12'000, 7), 1'714'285'714'286u);
  p.set_burst(1);
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - 142'857'143);

  p.set_rate(0);  // unpaced: no schedule at all
  EXPECT_EQ(p.next_send_time(5, 1200), 5u);
  p.set_burst(5000);  // set while unpaced: worth nothing until a rate comes
  p.set_rate(2'000'000);
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - 2'500'000);
  p.set_rate(2'000'000);  // the same rate again changes nothing
  EXPECT_EQ(p.next_send_time(0, 1200), next_free - 2'500'000);
  p.set_burst(0);
  EXPECT_EQ(p.next_send_time(0, 1200), next_free);
  // Later than the credited time, now is the answer.
  EXPECT_EQ(p.next_send_time(next_free + 1, 1200), next_free + 1);
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
