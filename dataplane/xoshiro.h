// xoshiro256** seeded through splitmix64: the one small deterministic PRNG the tree uses where a
// seed must give the same numbers everywhere (simulated links, test connection IDs). Not for
// anything an attacker may observe: production CIDs come from GnuTLS's CSPRNG.
#pragma once

#include <cstdint>

namespace camp {

// splitmix64: a good one-word mixer, used to expand a seed into xoshiro state and to derive
// independent streams from (seed, stream id).
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed = 1, uint64_t stream = 0) { reseed(seed, stream); }

  // Stream 0 is the plain seed; other streams are independent sequences for the same seed.
  void reseed(uint64_t seed, uint64_t stream = 0) {
    uint64_t sm = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (uint64_t& w : s_) w = splitmix64(sm);
    // All-zero state is xoshiro's one fixed point; splitmix does not give it, but guard it.
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

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace camp
