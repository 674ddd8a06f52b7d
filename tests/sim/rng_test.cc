// The simulator's PRNG and samplers: repeatable from a seed, independent across streams, and
// with the moments the link models rely on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "drivers/sim/rng.h"

namespace camp::sim {
namespace {

TEST(SimRng, SameSeedSameSequence) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next(), b.next());
}

TEST(SimRng, SeedsAndStreamsDiffer) {
  Rng a(42), b(43), c(42, 1);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next(), y = b.next(), z = c.next();
    same_ab += x == y;
    same_ac += x == z;
  }
  EXPECT_EQ(same_ab, 0);
  EXPECT_EQ(same_ac, 0);
}

TEST(SimRng, ReseedRestarts) {
  Rng a(7);
  const uint64_t first = a.next();
  a.next();
  a.reseed(7);
  EXPECT_EQ(a.next(), first);
}

TEST(SimRng, UniformMomentsAndRange) {
  Rng r(1);
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sq += u * u;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(var, 1.0 / 12, 0.002);
}

TEST(SimRng, BelowAndSymmetricStayInRangeAndCoverIt) {
  Rng r(3);
  int seen[7] = {};
  for (int i = 0; i < 70000; ++i) {
    const uint64_t x = r.below(7);
    ASSERT_LT(x, 7u);
    ++seen[x];
    const int64_t s = r.symmetric(3);
    ASSERT_GE(s, -3);
    ASSERT_LE(s, 3);
  }
  for (int c : seen) EXPECT_NEAR(c, 10000, 500);
  EXPECT_EQ(r.below(0), 0u);
  EXPECT_EQ(r.symmetric(0), 0);
}

TEST(SimRng, NormalMoments) {
  Rng r(9);
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    ASSERT_LE(std::fabs(x), 6.0);
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
}

TEST(SimRng, BernoulliEdgesDrawNothingAndRateIsRight) {
  Rng a(5), b(5);
  EXPECT_FALSE(a.bernoulli(0.0));
  EXPECT_TRUE(a.bernoulli(1.0));
  EXPECT_EQ(a.next(), b.next());  // neither edge consumed a number
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += a.bernoulli(0.25);
  EXPECT_NEAR(hits, 25000, 700);
}

}  // namespace
}  // namespace camp::sim
