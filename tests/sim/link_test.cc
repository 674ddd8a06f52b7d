// One link at a time, kA -> kB: delay and jitter bounds, rate and serialisation, the queue,
// Bernoulli and Gilbert-Elliott loss, reordering, duplication, cut and restore, changes mid-run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "tests/sim/test_endpoints.h"

namespace camp::sim::test {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kS = 1000 * kMs;

TEST(SimLink, FixedDelayIsExact) {
  LinkConfig lc;
  lc.delay_ns = 7 * kMs + 3;
  OneWay w(lc, 100, kMs);
  ASSERT_NE(w.link, kInvalid);
  w.sim.run_until(kS);
  ASSERT_EQ(w.rx.got.size(), 100u);
  for (const Received& r : w.rx.got) EXPECT_EQ(r.at - r.sent_at, 7 * kMs + 3);
  EXPECT_EQ(w.rx.got[0].tuple.remote, kA.ip);
  EXPECT_EQ(w.rx.got[0].tuple.remote_port, kA.port);
  EXPECT_EQ(w.rx.got[0].tuple.local_port, kB.port);
}

TEST(SimLink, UniformJitterStaysInBoundsAndFillsThem) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.jitter_ns = 2 * kMs;
  lc.jitter_reorders = true;  // each packet's delay is its own draw
  OneWay w(lc, 20000, 100 * kUs);
  w.sim.run_until(3 * kS);
  ASSERT_EQ(w.rx.got.size(), 20000u);
  uint64_t lo = UINT64_MAX, hi = 0;
  double sum = 0;
  for (const Received& r : w.rx.got) {
    const uint64_t d = r.at - r.sent_at;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += static_cast<double>(d);
  }
  EXPECT_GE(lo, 8 * kMs);
  EXPECT_LE(hi, 12 * kMs);
  EXPECT_LT(lo, 8 * kMs + 10 * kUs);  // the whole range is used
  EXPECT_GT(hi, 12 * kMs - 10 * kUs);
  EXPECT_NEAR(sum / 20000, 10.0 * kMs, 30.0 * kUs);
}

TEST(SimLink, NormalJitterHasItsSigmaAndIsClamped) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.jitter_ns = kMs;
  lc.jitter_model = JitterModel::normal;
  lc.jitter_sigma_ns = 400 * kUs;  // the bound is 2.5 sigma: the clamp bites sometimes
  lc.jitter_reorders = true;
  OneWay w(lc, 40000, 50 * kUs);
  w.sim.run_until(3 * kS);
  ASSERT_EQ(w.rx.got.size(), 40000u);
  double sum = 0, sq = 0;
  uint64_t at_bound = 0;
  for (const Received& r : w.rx.got) {
    const double d = static_cast<double>(r.at - r.sent_at) - 10.0 * kMs;
    ASSERT_LE(std::fabs(d), 1.0 * kMs);
    at_bound += std::fabs(d) == 1.0 * kMs;
    sum += d;
    sq += d * d;
  }
  const double sd = std::sqrt(sq / 40000 - (sum / 40000) * (sum / 40000));
  EXPECT_NEAR(sum / 40000, 0.0, 10.0 * kUs);
  // The clamp at 2.5 sigma trims the tails a little: sd of a clamped normal is ~0.989 sigma.
  EXPECT_NEAR(sd, 0.989 * 400 * kUs, 12.0 * kUs);
  EXPECT_GT(at_bound, 100u);  // ~1.2% of draws fall beyond 2.5 sigma
}

TEST(SimLink, JitterWithoutReorderingKeepsOrderAndBounds) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.jitter_ns = 2 * kMs;
  OneWay w(lc, 20000, 100 * kUs);
  w.sim.run_until(3 * kS);
  ASSERT_EQ(w.rx.got.size(), 20000u);
  EXPECT_EQ(inversions(w.rx.got), 0u);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const Received& r : w.rx.got) {
    lo = std::min(lo, r.at - r.sent_at);
    hi = std::max(hi, r.at - r.sent_at);
  }
  EXPECT_GE(lo, 8 * kMs);
  EXPECT_LE(hi, 12 * kMs);
  EXPECT_GT(hi - lo, 2 * kMs);  // jitter is still there (the FIFO floor lifts the low end)
  EXPECT_EQ(w.sim.counters(w.link).reordered, 0u);
}

TEST(SimLink, JitterThatMayReorderDoes) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.jitter_ns = 2 * kMs;
  lc.jitter_reorders = true;
  OneWay w(lc, 5000, 100 * kUs);
  w.sim.run_until(2 * kS);
  EXPECT_GT(inversions(w.rx.got), 1000u);
}

TEST(SimLink, ReorderModelHoldsBackTheRightShare) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.reorder = 0.1;
  lc.reorder_delay_ns = 5 * kMs;
  OneWay w(lc, 20000, kMs);
  w.sim.run_until(25 * kS);
  ASSERT_EQ(w.rx.got.size(), 20000u);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_NEAR(static_cast<double>(c.reordered), 2000.0, 200.0);
  uint64_t held = 0;
  for (const Received& r : w.rx.got) {
    const uint64_t d = r.at - r.sent_at;
    ASSERT_TRUE(d == 10 * kMs || d == 15 * kMs) << d;
    held += d == 15 * kMs;
  }
  EXPECT_EQ(held, c.reordered);
  // A packet held back 5 ms is overtaken by the next 5 sent 1 ms apart.
  EXPECT_GE(inversions(w.rx.got), c.reordered);
}

TEST(SimLink, NoReorderingUnlessEnabled) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.reorder_delay_ns = 5 * kMs;  // set, but reorder = 0
  lc.loss = 0.05;
  lc.rate_bps = 100'000'000;
  OneWay w(lc, 20000, 50 * kUs, 500);
  w.sim.run_until(3 * kS);
  EXPECT_EQ(inversions(w.rx.got), 0u);
  EXPECT_EQ(w.sim.counters(w.link).reordered, 0u);
}

TEST(SimLink, SerialisationDelayOnAnIdleLink) {
  LinkConfig lc;
  lc.delay_ns = 5 * kMs;
  lc.rate_bps = 10'000'000;  // 1250 bytes = 10000 bits = 1 ms
  OneWay w(lc, 3, 100 * kMs, 1250);
  w.sim.run_until(kS);
  ASSERT_EQ(w.rx.got.size(), 3u);
  for (const Received& r : w.rx.got) EXPECT_EQ(r.at - r.sent_at, 6 * kMs);
}

TEST(SimLink, OverheadCountsOnTheWire) {
  LinkConfig lc;
  lc.rate_bps = 8'000'000;  // 1 byte per microsecond
  lc.overhead_bytes = 28;
  OneWay w(lc, 1, kS, 972);
  w.sim.run_until(kS);
  ASSERT_EQ(w.rx.got.size(), 1u);
  EXPECT_EQ(w.rx.got[0].at, 1000 * kUs);
}

TEST(SimLink, RateLimitGivesExactThroughput) {
  LinkConfig lc;
  lc.delay_ns = 2 * kMs;
  lc.rate_bps = 3'000'000;  // 1000-byte packets take 8/3 ms: remainders must carry
  // Offered at 8 Mbit/s, twice a millisecond: the queue absorbs the excess.
  OneWay w(lc, 3000, kMs, 1000, 2);
  w.sim.run_until(20 * kS);
  ASSERT_EQ(w.rx.got.size(), 3000u);
  for (size_t k = 0; k < w.rx.got.size(); ++k) {
    // Back to back from t = 0: packet k leaves at floor((k + 1) * 8000 bits / 3 Mbit/s).
    const uint64_t leave = (k + 1) * 8000ULL * 1'000'000'000ULL / 3'000'000ULL;
    ASSERT_EQ(w.rx.got[k].at, leave + 2 * kMs) << k;
  }
  const double secs = static_cast<double>(w.rx.got.back().at - 2 * kMs) / kS;
  EXPECT_NEAR(3000 * 8000 / secs, 3e6, 1.0);
  EXPECT_EQ(w.sim.counters(w.link).dropped(), 0u);
  EXPECT_GT(w.sim.counters(w.link).max_queue_packets, 1000u);
}

TEST(SimLink, QueueInPacketsTailDropsExactly) {
  LinkConfig lc;
  lc.rate_bps = 10'000'000;
  lc.queue_packets = 10;
  SimConfig sc;
  sc.burst = 64;
  OneWay w(lc, 40, kS, 1250, 40, sc);  // 40 at once at t = 0
  w.sim.run_until(kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_EQ(c.sent, 40u);
  EXPECT_EQ(c.delivered, 11u);  // one on the wire and ten waiting
  EXPECT_EQ(c.dropped_queue_full, 29u);
  EXPECT_EQ(c.max_queue_packets, 10u);
  EXPECT_EQ(c.max_queue_bytes, 12500u);
  ASSERT_EQ(w.rx.got.size(), 11u);
  for (size_t k = 0; k < 11; ++k) EXPECT_EQ(w.rx.got[k].seq, k);  // the tail was dropped
  EXPECT_EQ(w.sim.in_flight(w.link), 0u);
}

TEST(SimLink, QueueInBytesTailDropsExactly) {
  LinkConfig lc;
  lc.rate_bps = 10'000'000;
  lc.queue_bytes = 5500;
  SimConfig sc;
  sc.burst = 64;
  OneWay w(lc, 20, kS, 1000, 20, sc);
  w.sim.run_until(kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_EQ(c.delivered, 6u);
  EXPECT_EQ(c.dropped_queue_full, 14u);
  EXPECT_EQ(c.max_queue_bytes, 5000u);
  EXPECT_EQ(c.max_queue_packets, 5u);
}

TEST(SimLink, QueueDrainsAndRefills) {
  // 3 every 2.5 ms into a link that serialises one per ms with room for one waiting: each tick
  // the first goes on the wire, the second waits, the third is dropped, and the link is idle
  // again before the next tick.
  LinkConfig lc;
  lc.rate_bps = 10'000'000;
  lc.queue_packets = 1;
  OneWay w(lc, 300, 2500 * kUs, 1250, 3);
  w.sim.run_until(kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_EQ(c.delivered, 200u);
  EXPECT_EQ(c.dropped_queue_full, 100u);
  for (const Received& r : w.rx.got) EXPECT_NE(r.seq % 3, 2u);
}

TEST(SimLink, BernoulliLossRate) {
  LinkConfig lc;
  lc.delay_ns = kMs;
  lc.loss = 0.1;
  OneWay w(lc, 100000, 10 * kUs, 32);
  w.sim.run_until(2 * kS);
  const LinkCounters& c = w.sim.counters(w.link);
  // sd = sqrt(n p (1 - p)) ~ 95: allow 5 sd.
  EXPECT_NEAR(static_cast<double>(c.dropped_loss), 10000.0, 475.0);
  EXPECT_EQ(c.delivered + c.dropped_loss, 100000u);
  EXPECT_EQ(w.rx.got.size(), c.delivered);
  EXPECT_EQ(c.dropped_burst_loss, 0u);
}

// Mean length of runs of consecutive lost sequence numbers, and their number.
std::pair<double, uint64_t> loss_runs(const std::vector<Received>& got, uint64_t count) {
  std::vector<bool> seen(count, false);
  for (const Received& r : got) seen[r.seq] = true;
  uint64_t runs = 0, lost = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (seen[i]) continue;
    ++lost;
    if (i == 0 || seen[i - 1]) ++runs;
  }
  return {runs ? static_cast<double>(lost) / runs : 0.0, runs};
}

TEST(SimLink, GilbertElliottBurstsWithTheStationaryLoss) {
  LinkConfig lc;
  lc.delay_ns = kMs;
  lc.burst_loss = {.p = 0.01, .r = 0.2, .loss_good = 0.0, .loss_bad = 1.0};
  const uint64_t n = 200000;
  OneWay w(lc, n, 10 * kUs, 32);
  w.sim.run_until(3 * kS);
  const LinkCounters& c = w.sim.counters(w.link);
  const double expect = lc.burst_loss.stationary_loss();  // 0.01 / 0.21
  EXPECT_NEAR(expect, 0.047619, 1e-6);
  EXPECT_NEAR(static_cast<double>(c.dropped_burst_loss) / n, expect, 0.12 * expect);
  EXPECT_EQ(c.dropped_loss, 0u);
  // With loss_bad = 1 a burst is a stay in the bad state: geometric, mean 1 / r = 5.
  const auto [mean_run, runs] = loss_runs(w.rx.got, n);
  EXPECT_NEAR(mean_run, 5.0, 0.6);
  EXPECT_GT(runs, 1000u);

  // Bernoulli at the same average loss has runs barely over one packet.
  LinkConfig flat;
  flat.delay_ns = kMs;
  flat.loss = expect;
  OneWay f(flat, n, 10 * kUs, 32);
  f.sim.run_until(3 * kS);
  EXPECT_LT(loss_runs(f.rx.got, n).first, 1.15);
}

TEST(SimLink, GilbertElliottLossInBothStates) {
  LinkConfig lc;
  lc.burst_loss = {.p = 0.05, .r = 0.25, .loss_good = 0.02, .loss_bad = 0.6};
  const uint64_t n = 200000;
  OneWay w(lc, n, 10 * kUs, 32);
  w.sim.run_until(3 * kS);
  // (0.02 * 0.25 + 0.6 * 0.05) / 0.30 = 0.11667
  const double expect = lc.burst_loss.stationary_loss();
  EXPECT_NEAR(expect, 0.116667, 1e-5);
  EXPECT_NEAR(static_cast<double>(w.sim.counters(w.link).dropped_burst_loss) / n, expect,
              0.08 * expect);
}

TEST(SimLink, DuplicatesArriveTogetherAndAreCounted) {
  LinkConfig lc;
  lc.delay_ns = 3 * kMs;
  lc.duplicate = 0.05;
  OneWay w(lc, 20000, 100 * kUs);
  w.sim.run_until(3 * kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_NEAR(static_cast<double>(c.duplicated), 1000.0, 160.0);
  EXPECT_EQ(c.delivered, 20000 + c.duplicated);
  EXPECT_EQ(w.rx.got.size(), c.delivered);
  uint64_t twins = 0;
  for (size_t i = 1; i < w.rx.got.size(); ++i) {
    if (w.rx.got[i].seq == w.rx.got[i - 1].seq) {
      ++twins;
      EXPECT_EQ(w.rx.got[i].at, w.rx.got[i - 1].at);
    }
  }
  EXPECT_EQ(twins, c.duplicated);
  EXPECT_EQ(w.sim.pool_available(), SimConfig{}.pool_packets);  // every copy went back
}

TEST(SimLink, CutAndRestoreDropExactlyWhatTheyShould) {
  LinkConfig lc;
  lc.delay_ns = 20 * kMs;
  // One every ms at k ms + 0.5 ms, k = 0..2999, clear of the cut and restore instants.
  OneWay w(lc, 3000, kMs, 100, 1, {}, 500 * kUs);
  ASSERT_TRUE(w.sim.cut_link_at(w.link, kS));
  ASSERT_TRUE(w.sim.restore_link_at(w.link, 2 * kS));
  w.sim.run_until(kS - 1);
  EXPECT_FALSE(w.sim.link_is_cut(w.link));
  w.sim.run_until(kS + 1);
  EXPECT_TRUE(w.sim.link_is_cut(w.link));
  w.sim.run_until(4 * kS);
  EXPECT_FALSE(w.sim.link_is_cut(w.link));
  const LinkCounters& c = w.sim.counters(w.link);
  // 20 in flight at the cut (sent 980.5 .. 999.5 ms) + 1000 offered while cut.
  EXPECT_EQ(c.dropped_cut, 1020u);
  EXPECT_EQ(c.delivered, 1980u);
  std::set<uint64_t> got;
  for (const Received& r : w.rx.got) got.insert(r.seq);
  EXPECT_TRUE(got.count(979) && !got.count(980) && !got.count(1999) && got.count(2000));
}

TEST(SimLink, CutDropsTheQueueAndThePacketOnTheWire) {
  LinkConfig lc;
  lc.rate_bps = 10'000'000;  // 1 ms per 1250-byte packet
  SimConfig sc;
  sc.burst = 64;
  OneWay w(lc, 20, kS, 1250, 20, sc);
  ASSERT_TRUE(w.sim.cut_link_at(w.link, 5 * kMs + 500 * kUs));
  w.sim.run_until(kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_EQ(c.delivered, 5u);
  EXPECT_EQ(c.dropped_cut, 15u);  // 14 waiting + the one half serialised
  EXPECT_EQ(w.sim.in_flight(w.link), 0u);
  EXPECT_EQ(w.sim.pool_available(), sc.pool_packets);
}

TEST(SimLink, ParametersChangeMidRun) {
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  OneWay w(lc, 1000, kMs, 100, 1, {}, 500 * kUs);
  LinkConfig slow = lc;
  slow.delay_ns = 50 * kMs;
  LinkConfig dead = slow;
  dead.loss = 1.0;
  ASSERT_TRUE(w.sim.set_link_config_at(w.link, 500 * kMs, slow));
  ASSERT_TRUE(w.sim.set_link_config_at(w.link, 800 * kMs, dead));
  w.sim.run_until(2 * kS);
  for (const Received& r : w.rx.got) {
    EXPECT_EQ(r.at - r.sent_at, r.sent_at < 500 * kMs ? 10 * kMs : 50 * kMs);
    EXPECT_LT(r.sent_at, 800 * kMs);
  }
  EXPECT_EQ(w.rx.got.size(), 800u);
  EXPECT_EQ(w.sim.counters(w.link).dropped_loss, 200u);
  EXPECT_EQ(w.sim.link_config(w.link).delay_ns, 50 * kMs);
}

TEST(SimLink, ConfigValidation) {
  LinkConfig c;
  EXPECT_EQ(validate(c), ConfigError::ok);
  c.loss = 1.5;
  EXPECT_EQ(validate(c), ConfigError::bad_probability);
  c.loss = std::nan("");
  EXPECT_EQ(validate(c), ConfigError::bad_probability);
  c.loss = 0;
  c.duplicate = -0.1;
  EXPECT_EQ(validate(c), ConfigError::bad_probability);
  c.duplicate = 0;
  c.burst_loss = {.p = 0.1, .r = 0.0};
  EXPECT_EQ(validate(c), ConfigError::bad_gilbert);
  EXPECT_EQ(config_error_name(ConfigError::bad_gilbert), "bad_gilbert");
  c.burst_loss = {};
  c.jitter_sigma_ns = 5;
  EXPECT_EQ(validate(c), ConfigError::bad_jitter);
  c.jitter_sigma_ns = 0;
  c.jitter_ns = UINT64_MAX;
  EXPECT_EQ(validate(c), ConfigError::bad_jitter);

  LinkConfig bad;
  bad.reorder = 2;
  OneWay w(bad, 1, kMs);
  EXPECT_EQ(w.link, kInvalid);
  LinkConfig good;
  const LinkId l = w.sim.add_link(kA, kB, good);
  ASSERT_NE(l, kInvalid);
  EXPECT_EQ(w.sim.set_link_config(l, bad), ConfigError::bad_probability);
  EXPECT_EQ(w.sim.link_config(l).reorder, 0.0);  // unchanged
  EXPECT_FALSE(w.sim.set_link_config_at(l, kMs, bad));
}

}  // namespace
}  // namespace camp::sim::test
