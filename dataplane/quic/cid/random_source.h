// Random bytes for connection ID nonces. Callers hand one in so tests can be deterministic while
// production draws from GnuTLS's CSPRNG.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/xoshiro.h"

namespace camp::quic {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills out[0..n); false when no randomness could be had (the caller issues no CID then).
  virtual bool fill(uint8_t* out, size_t n) = 0;
};

// GnuTLS's CSPRNG (gnutls_rnd, GNUTLS_RND_RANDOM): a userspace DRBG, no syscall per call once
// seeded. What production uses.
class GnutlsRandom final : public RandomSource {
 public:
  bool fill(uint8_t* out, size_t n) override;
};

// Deterministic xoshiro256** seeded through splitmix64. Tests and simulations only: predictable
// CIDs would let an observer link a connection's paths.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed);
  bool fill(uint8_t* out, size_t n) override;
  uint64_t next();

 private:
  Xoshiro256 rng_;
};

}  // namespace camp::quic
