#include "dataplane/quic/crypto/header_protection.h"

#include <cstring>

#include "dataplane/quic/crypto/chacha20.h"

namespace camp::quic {
namespace {

constexpr uint8_t kHeaderFormLong = 0x80;

uint8_t first_byte_mask(uint8_t first) {
  return (first & kHeaderFormLong) ? 0x0f : 0x1f;  // long: 4 bits, short: 5 bits
}

// AES-ECB of one block through the job API, the only ipsec-mb path to AES-256-ECB. The job runs
// synchronously; the loop drains the queue in case this code path ever gets queued.
bool aes_ecb_block(IMB_MGR* m, const uint8_t* keys, uint64_t key_len, const uint8_t* in,
                   uint8_t* out) {
  IMB_JOB* job = IMB_GET_NEXT_JOB(m);
  job->cipher_mode = IMB_CIPHER_ECB;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = keys;
  job->dec_keys = keys;
  job->key_len_in_bytes = key_len;
  job->src = in;
  job->dst = out;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = kHpSampleLen;
  job->iv = nullptr;
  job->iv_len_in_bytes = 0;
  job->user_data = out;
  job = IMB_SUBMIT_JOB(m);
  while (job == nullptr) job = IMB_FLUSH_JOB(m);
  return job->status == IMB_STATUS_COMPLETED && job->user_data == out;
}

}  // namespace

CryptoStatus HeaderProtection::init(ImbManager& mgr, Suite s, std::span<const uint8_t> hp_key) {
  ready_ = false;
  if (!mgr.ok()) return CryptoStatus::backend_failed;
  if (hp_key.size() != key_len(s)) return CryptoStatus::bad_length;
  alignas(16) uint8_t dec_keys[16 * 15];  // ECB encryption never needs the decryption schedule
  switch (s) {
    case Suite::aes_128_gcm_sha256:
      IMB_AES_KEYEXP_128(mgr.get(), hp_key.data(), aes_enc_keys_.data(), dec_keys);
      break;
    case Suite::aes_256_gcm_sha384:
      IMB_AES_KEYEXP_256(mgr.get(), hp_key.data(), aes_enc_keys_.data(), dec_keys);
      break;
    case Suite::chacha20_poly1305_sha256:
      std::memcpy(chacha_key_.data(), hp_key.data(), 32);
      break;
  }
  suite_ = s;
  ready_ = true;
  return CryptoStatus::ok;
}

CryptoStatus HeaderProtection::mask(ImbManager& mgr, std::span<const uint8_t, kHpSampleLen> sample,
                                    std::span<uint8_t, kHpMaskLen> out) const {
  if (!ready_ || !mgr.ok()) return CryptoStatus::backend_failed;
  switch (suite_) {
    case Suite::aes_128_gcm_sha256: {
      // CFB on one block with a zero input is E(iv): AES-ECB of the sample, no job overhead.
      static const uint8_t kZeros[kHpSampleLen] = {};
      uint8_t block[kHpSampleLen];
      IMB_AES128_CFB_ONE(mgr.get(), block, kZeros, sample.data(), aes_enc_keys_.data(),
                         kHpSampleLen);
      std::memcpy(out.data(), block, kHpMaskLen);
      return CryptoStatus::ok;
    }
    case Suite::aes_256_gcm_sha384: {
      uint8_t block[kHpSampleLen];
      if (!aes_ecb_block(mgr.get(), aes_enc_keys_.data(), 32, sample.data(), block)) {
        return CryptoStatus::backend_failed;
      }
      std::memcpy(out.data(), block, kHpMaskLen);
      return CryptoStatus::ok;
    }
    case Suite::chacha20_poly1305_sha256: {
      // counter = sample[0..3] little-endian, nonce = sample[4..15] (RFC 9001 5.4.4)
      const uint32_t counter = uint32_t{sample[0]} | uint32_t{sample[1]} << 8 |
                               uint32_t{sample[2]} << 16 | uint32_t{sample[3]} << 24;
      uint8_t block[64];
      chacha20_block(chacha_key_, counter, sample.subspan<4, 12>(), block);
      std::memcpy(out.data(), block, kHpMaskLen);  // ChaCha20 of 5 zero bytes
      return CryptoStatus::ok;
    }
  }
  return CryptoStatus::backend_failed;
}

// Checks that the packet holds a full sample after the packet number field and computes the mask
// from it: what applying and removing protection both start with.
CryptoStatus HeaderProtection::packet_mask(ImbManager& mgr, std::span<const uint8_t> packet,
                                           size_t pn_offset,
                                           std::span<uint8_t, kHpMaskLen> m) const {
  if (pn_offset == 0) return CryptoStatus::bad_header;
  if (pn_offset > packet.size() || packet.size() - pn_offset < kMaxPacketNumberLen + kHpSampleLen) {
    return CryptoStatus::packet_too_short;
  }
  return mask(mgr, packet.subspan(hp_sample_offset(pn_offset)).first<kHpSampleLen>(), m);
}

CryptoStatus HeaderProtection::apply(ImbManager& mgr, std::span<uint8_t> packet,
                                     size_t pn_offset) const {
  uint8_t m[kHpMaskLen];
  const CryptoStatus st = packet_mask(mgr, packet, pn_offset, m);
  if (st != CryptoStatus::ok) return st;
  const size_t pn_len = (packet[0] & 0x03) + 1;  // read before the bits are masked
  packet[0] ^= m[0] & first_byte_mask(packet[0]);
  for (size_t i = 0; i < pn_len; ++i) packet[pn_offset + i] ^= m[1 + i];
  return CryptoStatus::ok;
}

CryptoStatus HeaderProtection::remove(ImbManager& mgr, std::span<uint8_t> packet, size_t pn_offset,
                                      UnprotectedPacketNumber& pn) const {
  uint8_t m[kHpMaskLen];
  const CryptoStatus st = packet_mask(mgr, packet, pn_offset, m);
  if (st != CryptoStatus::ok) return st;
  packet[0] ^= m[0] & first_byte_mask(packet[0]);  // the header form bit is never masked
  const size_t pn_len = (packet[0] & 0x03) + 1;      // only readable after unmasking
  uint32_t truncated = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    packet[pn_offset + i] ^= m[1 + i];
    truncated = (truncated << 8) | packet[pn_offset + i];
  }
  pn.truncated = truncated;
  pn.length = static_cast<uint8_t>(pn_len);
  return CryptoStatus::ok;
}

}  // namespace camp::quic
