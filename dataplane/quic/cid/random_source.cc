#include "dataplane/quic/cid/random_source.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace camp::quic {

bool GnutlsRandom::fill(uint8_t* out, size_t n) {
  return n == 0 || gnutls_rnd(GNUTLS_RND_RANDOM, out, n) == 0;
}

SeededRandom::SeededRandom(uint64_t seed) : rng_(seed) {}

uint64_t SeededRandom::next() { return rng_.next(); }

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
