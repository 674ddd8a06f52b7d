#include "dataplane/quic/cid/random_source.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace camp::quic {

bool GnutlsRandom::fill(uint8_t* out, size_t n) {
  return n == 0 || gnutls_rnd(GNUTLS_RND_RANDOM, out, n) == 0;
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

SeededRandom::SeededRandom(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t SeededRandom::next() {
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

bool SeededRandom::fill(uint8_t* out, size_t n) {
  while (n) {
    uint64_t v = next();
    for (int i = 0; i < 8 && n; ++i, --n) {
      *out++ = static_cast<uint8_t>(v);
      v >>= 8;
    }
  }
  return true;
}

}  // namespace camp::quic
