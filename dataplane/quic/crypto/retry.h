// Retry Integrity Tag (RFC 9001 5.8): AES-128-GCM with a fixed v1 key and nonce over the Retry
// Pseudo-Packet, empty plaintext.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/suite.h"

namespace camp::quic {

inline constexpr std::array<uint8_t, 16> kRetryKeyV1 = {
    0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
    0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
inline constexpr std::array<uint8_t, 12> kRetryNonceV1 = {
    0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};

// The pseudo-packet is assembled on the stack, so it has a ceiling: a Retry above ~4 KiB is
// rejected with bad_length (real ones are one small datagram).
inline constexpr size_t kMaxRetryPseudoPacketLen = 4096;

class RetryIntegrity {
 public:
  // Expands the fixed key once.
  CryptoStatus init(ImbManager& mgr);

  // retry_without_tag: the Retry packet from its first byte through the Retry Token.
  CryptoStatus compute_tag(ImbManager& mgr, std::span<const uint8_t> odcid,
                           std::span<const uint8_t> retry_without_tag,
                           std::span<uint8_t, kAeadTagLen> tag) const;

  // retry_packet: the whole received Retry, tag last. auth_failed when the tag does not match,
  // bad_header when it is not a long-header Retry.
  CryptoStatus verify(ImbManager& mgr, std::span<const uint8_t> odcid,
                      std::span<const uint8_t> retry_packet) const;

 private:
  PacketAead aead_;
};

}  // namespace camp::quic
