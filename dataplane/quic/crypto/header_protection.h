// Header protection (RFC 9001 5.4): a 5-byte mask from a 16-byte ciphertext sample, XORed into
// the low bits of the first byte (4 for long headers, 5 for short) and the Packet Number field.
// AES suites: AES-ECB of the sample (5.4.3); ChaCha20: the raw ChaCha20 block with the sample as
// counter and nonce (5.4.4). The hp key never changes with key updates (6.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/key_schedule.h"
#include "dataplane/quic/crypto/suite.h"

namespace camp::quic {

// Where the sample starts: 4 bytes past the start of the Packet Number field (RFC 9001 5.4.2).
constexpr size_t hp_sample_offset(size_t pn_offset) { return pn_offset + kMaxPacketNumberLen; }

// What remove() recovers from the header.
struct UnprotectedPacketNumber {
  uint32_t truncated = 0;  // the Packet Number field as sent; decode with decode_packet_number()
  uint8_t length = 0;      // 1..4 bytes
};

class HeaderProtection {
 public:
  // hp_key is key_len(s) bytes.
  CryptoStatus init(ImbManager& mgr, Suite s, std::span<const uint8_t> hp_key);
  CryptoStatus init(ImbManager& mgr, const PacketKeys& k) {
    return init(mgr, k.suite, k.hp_view());
  }

  bool ready() const { return ready_; }

  // header_protection(hp_key, sample): the first 5 bytes of the cipher output.
  CryptoStatus mask(ImbManager& mgr, std::span<const uint8_t, kHpSampleLen> sample,
                    std::span<uint8_t, kHpMaskLen> out) const;

  // Protects a packet whose payload is already sealed. packet runs from the first header byte to
  // the end of the tag; pn_offset is where the Packet Number field starts. The header form (bit
  // 0x80 of the first byte) picks the long or short header mask.
  // packet_too_short when the packet does not reach the end of the sample.
  CryptoStatus apply(ImbManager& mgr, std::span<uint8_t> packet, size_t pn_offset) const;

  // Removes protection and returns the packet number length and the truncated packet number.
  CryptoStatus remove(ImbManager& mgr, std::span<uint8_t> packet, size_t pn_offset,
                      UnprotectedPacketNumber& pn) const;

 private:
  CryptoStatus packet_mask(ImbManager& mgr, std::span<const uint8_t> packet, size_t pn_offset,
                           std::span<uint8_t, kHpMaskLen> m) const;
  alignas(16) std::array<uint8_t, 16 * 15> aes_enc_keys_{};  // AES round keys (up to AES-256)
  std::array<uint8_t, 32> chacha_key_{};
  Suite suite_ = Suite::aes_128_gcm_sha256;
  bool ready_ = false;
};

}  // namespace camp::quic
