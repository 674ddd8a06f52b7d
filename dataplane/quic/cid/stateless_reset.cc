#include "dataplane/quic/cid/stateless_reset.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace camp::quic {

bool StatelessResetKey::generate(std::array<uint8_t, kKeyLength>& key) {
  return gnutls_rnd(GNUTLS_RND_KEY, key.data(), key.size()) == 0;
}

bool StatelessResetKey::token(ByteView cid, StatelessResetToken& out) const {
  if (cid.size == 0 || cid.size > kMaxCidLength) return false;
  uint8_t digest[32];
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key_.data(), key_.size(), cid.data, cid.size, digest) <
      0) {
    return false;
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = digest[i];
  return true;
}

bool reset_tokens_equal(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < kStatelessResetTokenLength; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace camp::quic
