// The simulator's random numbers: xoshiro256** seeded through splitmix64, and the few samplings
// the link models need, written out here. std:: distributions are not specified bit-for-bit, so
// a trace would change with the C++ library; these are plain integer and IEEE arithmetic, the
// same everywhere.
#pragma once

#include <cstdint>

namespace camp::sim {

// splitmix64: a good one-word mixer, used to expand a seed into xoshiro state and to derive
// independent streams (one per link) from (seed, stream id).
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1, uint64_t stream = 0) { reseed(seed, stream); }

  void reseed(uint64_t seed, uint64_t stream = 0) {
    uint64_t sm = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (uint64_t& w : s_) w = splitmix64(sm);
    // All-zero state is the one fixed point of xoshiro; splitmix cannot give four zeros in a
    // row in practice, but guard it anyway.
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

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

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace camp::sim
