// Stateless reset tokens (RFC 9000 10.3.2): HMAC-SHA256 over the connection ID with a static key,
// truncated to 16 bytes. Every worker (and every server sharing the key) derives the same token
// for a CID without per-connection state, so a reset can be sent for a CID nobody remembers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

using StatelessResetToken = std::array<uint8_t, kStatelessResetTokenLength>;

class StatelessResetKey {
 public:
  static constexpr size_t kKeyLength = 32;

  explicit StatelessResetKey(const std::array<uint8_t, kKeyLength>& key) : key_(key) {}

  // A fresh key from GnuTLS's key-grade generator; false if none could be had.
  static bool generate(std::array<uint8_t, kKeyLength>& key);

  // Token for `cid` (1..20 bytes). False on an empty or over-long CID or a GnuTLS failure.
  bool token(ByteView cid, StatelessResetToken& out) const;

 private:
  std::array<uint8_t, kKeyLength> key_;
};

// Constant-time comparison: RFC 9000 10.3.1 asks that token checks not leak through timing.
bool reset_tokens_equal(const uint8_t* a, const uint8_t* b);

}  // namespace camp::quic
