#include "dataplane/quic/stream/offset_bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace camp::quic {
namespace {

// offset % size, by mask or by division, for sizes around powers of two and offsets near 2^64.
TEST(RingIndex, IsTheRemainder) {
  std::mt19937_64 rng(3);
  for (uint64_t size : {uint64_t{1}, uint64_t{64}, uint64_t{320}, uint64_t{1} << 20,
                        (uint64_t{1} << 20) + 64, (uint64_t{1} << 20) - 64, uint64_t{1} << 40}) {
    const RingIndex ring(size);
    for (int i = 0; i < 1000; ++i) {
      const uint64_t off = i % 2 ? rng() : rng() % (4 * size);
      ASSERT_EQ(ring(off), off % size) << size << " " << off;
    }
  }
  EXPECT_EQ(RingIndex(0)(12345), 0u);  // a ring never used: as if of size 1
}

// Checks the word-at-a-time bitmap against a plain bool array over a sliding window, for a ring
// size that is a power of two (indexed by mask) and one that is not (by division).
class OffsetBitmapCap : public ::testing::TestWithParam<size_t> {};

TEST_P(OffsetBitmapCap, MatchesReferenceAcrossWrap) {
  const size_t kCap = GetParam();
  OffsetBitmap bm(kCap);
  std::vector<bool> ref(kCap, false);
  std::mt19937_64 rng(7);
  uint64_t base = 1000;  // window [base, base + kCap), not aligned to the ring
  for (int i = 0; i < 5000; ++i) {
    uint64_t lo = base + rng() % kCap;
    uint64_t hi = lo + rng() % (base + kCap - lo + 1);
    int op = static_cast<int>(rng() % 4);
    if (op == 0) {
      bm.set(lo, hi);
      for (uint64_t o = lo; o < hi; ++o) ref[o % kCap] = true;
    } else if (op == 1) {
      bm.clear(lo, hi);
      for (uint64_t o = lo; o < hi; ++o) ref[o % kCap] = false;
    } else if (op == 2) {
      uint64_t exp_clear = hi, exp_set = hi;
      for (uint64_t o = hi; o-- > lo;) (ref[o % kCap] ? exp_set : exp_clear) = o;
      ASSERT_EQ(bm.find_clear(lo, hi), exp_clear);
      ASSERT_EQ(bm.find_set(lo, hi), exp_set);
    } else {
      // Slide: the bits leaving the window are cleared, as the streams do.
      uint64_t step = rng() % 100;
      bm.clear(base, base + step);
      for (uint64_t o = base; o < base + step; ++o) ref[o % kCap] = false;
      base += step;
    }
    for (uint64_t o = base; o < base + kCap; o += 17) ASSERT_EQ(bm.test(o), ref[o % kCap]);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, OffsetBitmapCap, ::testing::Values(size_t{256}, size_t{320}));

TEST(OffsetBitmap, SetExceptSkipsMaskedBits) {
  OffsetBitmap a(128), mask(128);
  mask.set(10, 20);
  a.set_except(0, 128, mask);
  EXPECT_EQ(a.find_clear(0, 128), 10u);
  EXPECT_EQ(a.find_set(10, 128), 20u);
}

}  // namespace
}  // namespace camp::quic
