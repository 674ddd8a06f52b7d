#include "dataplane/quic/crypto/retry.h"

#include <cstring>

namespace camp::quic {
namespace {

// Header Form, Version, DCID Len, SCID Len: the least a long header carries.
constexpr size_t kMinRetryHeaderLen = 1 + 4 + 1 + 1;

}  // namespace

CryptoStatus RetryIntegrity::init(ImbManager& mgr) {
  static constexpr std::array<uint8_t, kAeadIvLen> kUnusedIv{};  // the nonce is passed per call
  return aead_.init(mgr, Suite::aes_128_gcm_sha256, kRetryKeyV1, kUnusedIv);
}

CryptoStatus RetryIntegrity::compute_tag(ImbManager& mgr, std::span<const uint8_t> odcid,
                                         std::span<const uint8_t> retry_without_tag,
                                         std::span<uint8_t, kAeadTagLen> tag) const {
  if (odcid.size() > kMaxConnectionIdLen) return CryptoStatus::bad_length;
  if (retry_without_tag.size() < kMinRetryHeaderLen) return CryptoStatus::bad_header;
  const size_t total = 1 + odcid.size() + retry_without_tag.size();
  if (total > kMaxRetryPseudoPacketLen) return CryptoStatus::bad_length;
  // Retry Pseudo-Packet { ODCID Length (8), ODCID, Retry packet without its tag }
  uint8_t pseudo[kMaxRetryPseudoPacketLen];
  pseudo[0] = static_cast<uint8_t>(odcid.size());
  if (!odcid.empty()) std::memcpy(pseudo + 1, odcid.data(), odcid.size());
  std::memcpy(pseudo + 1 + odcid.size(), retry_without_tag.data(), retry_without_tag.size());
  return aead_.seal_with_nonce(mgr, kRetryNonceV1, {pseudo, total}, {}, tag);
}

CryptoStatus RetryIntegrity::verify(ImbManager& mgr, std::span<const uint8_t> odcid,
                                    std::span<const uint8_t> retry_packet) const {
  if (retry_packet.size() < kMinRetryHeaderLen + kAeadTagLen) return CryptoStatus::bad_header;
  // Long header (0x80) with Long Packet Type 3 (bits 0x30): Retry in QUIC v1.
  if ((retry_packet[0] & 0x80) == 0 || (retry_packet[0] & 0x30) != 0x30) {
    return CryptoStatus::bad_header;
  }
  const size_t body = retry_packet.size() - kAeadTagLen;
  uint8_t expected[kAeadTagLen];
  const CryptoStatus st = compute_tag(mgr, odcid, retry_packet.first(body), expected);
  if (st != CryptoStatus::ok) return st;
  uint8_t diff = 0;
  for (size_t i = 0; i < kAeadTagLen; ++i) diff |= expected[i] ^ retry_packet[body + i];
  return diff == 0 ? CryptoStatus::ok : CryptoStatus::auth_failed;
}

}  // namespace camp::quic
