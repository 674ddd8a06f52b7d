// The raw ChaCha20 block function (RFC 8439 2.3), for ChaCha20 header protection (RFC 9001 5.4.4),
// which needs a caller-chosen 32-bit block counter that ipsec-mb's ChaCha20 job does not take.
#pragma once

#include <cstdint>
#include <span>

namespace camp::quic {

// Writes the 64-byte keystream block for (key, counter, nonce). Key and nonce are byte strings,
// read as little-endian words as RFC 8439 specifies.
void chacha20_block(std::span<const uint8_t, 32> key, uint32_t counter,
                    std::span<const uint8_t, 12> nonce, std::span<uint8_t, 64> out);

}  // namespace camp::quic
