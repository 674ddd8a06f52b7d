// The simulator's random numbers: xoshiro256** seeded through splitmix64, and the few samplings
// the link models need, written out here. std:: distributions are not specified bit-for-bit, so
// a trace would change with the C++ library; these are plain integer and IEEE arithmetic, the
// same everywhere.
#pragma once

#include <cstdint>

#include "dataplane/xoshiro.h"

namespace camp::sim {

using camp::splitmix64;

// The shared generator (dataplane/xoshiro.h) with the samplings the link models need.
class Rng : public Xoshiro256 {
 public:
  using Xoshiro256::Xoshiro256;

  // Uniform in [0, 1) with 53 random bits: exact in a double.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // True with probability p (p <= 0 never draws, so a disabled feature leaves the stream alone).
  bool bernoulli(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return uniform() < p;
  }

  // Uniform integer in [0, n) by multiply-shift; the bias is below n / 2^64, far under anything
  // a simulation can measure. n = 0 gives 0.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // Uniform integer in [-bound, +bound].
  int64_t symmetric(uint64_t bound) {
    return static_cast<int64_t>(below(2 * bound + 1)) - static_cast<int64_t>(bound);
  }

  // Approximately standard normal: the Irwin-Hall sum of 12 uniforms minus 6 (variance 1,
  // support [-6, 6]). No libm call, so it is bit-identical on every platform; the tails beyond
  // 6 sigma never matter for jitter, which is clamped to its bound anyway.
  double normal() {
    double s = 0.0;
    for (int i = 0; i < 12; ++i) s += uniform();
    return s - 6.0;
  }

};

}  // namespace camp::sim
