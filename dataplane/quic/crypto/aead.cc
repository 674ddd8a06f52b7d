#include "dataplane/quic/crypto/aead.h"

#include <emmintrin.h>

#include <bit>
#include <cstring>

namespace camp::quic {
namespace {

// The direct API wants a readable pointer even for zero-length input.
uint8_t kEmptyByte[16];

bool tags_equal(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;  // constant time: no early exit on the first differing byte
  for (size_t i = 0; i < kAeadTagLen; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

void write_nonce(const uint8_t* iv16, uint64_t packet_number, uint32_t path_id, uint8_t* out16) {
  // RFC 9001 5.3 / multipath 2.4: the IV XOR (path ID in bytes 0-3, packet number in 4-11), both
  // big-endian, built in a register and stored whole.
  static_assert(std::endian::native == std::endian::little);
  const uint64_t pn = __builtin_bswap64(packet_number);
  const uint64_t path = __builtin_bswap32(path_id);
  const __m128i x = _mm_set_epi64x(static_cast<long long>(pn >> 32),
                                   static_cast<long long>(path | (pn << 32)));
  _mm_store_si128(reinterpret_cast<__m128i*>(out16),
                  _mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(iv16)), x));
}

std::array<uint8_t, kAeadIvLen> make_nonce(std::span<const uint8_t, kAeadIvLen> iv,
                                           uint64_t packet_number, uint32_t path_id) {
  alignas(16) uint8_t iv16[16] = {};
  alignas(16) uint8_t n16[16];
  std::memcpy(iv16, iv.data(), kAeadIvLen);
  write_nonce(iv16, packet_number, path_id, n16);
  std::array<uint8_t, kAeadIvLen> n;
  std::memcpy(n.data(), n16, kAeadIvLen);
  return n;
}

CryptoStatus PacketAead::init(ImbManager& mgr, Suite s, std::span<const uint8_t> key,
                              std::span<const uint8_t, kAeadIvLen> iv) {
  ready_ = false;
  if (!mgr.ok()) return CryptoStatus::backend_failed;
  if (key.size() != key_len(s)) return CryptoStatus::bad_length;
  IMB_MGR* m = mgr.get();
  switch (s) {
    case Suite::aes_128_gcm_sha256: IMB_AES128_GCM_PRE(m, key.data(), &gcm_); break;
    case Suite::aes_256_gcm_sha384: IMB_AES256_GCM_PRE(m, key.data(), &gcm_); break;
    case Suite::chacha20_poly1305_sha256: std::memcpy(chacha_key_.data(), key.data(), 32); break;
  }
  std::memcpy(iv_.data(), iv.data(), kAeadIvLen);  // iv_[12..16) stay zero
  suite_ = s;
  ready_ = true;
  return CryptoStatus::ok;
}

CryptoStatus PacketAead::init(ImbManager& mgr, const PacketKeys& k) {
  return init(mgr, k.suite, k.key_view(), k.iv);
}

void PacketAead::crypt(IMB_MGR* m, const uint8_t* nonce, std::span<const uint8_t> aad,
                       const uint8_t* in, std::span<uint8_t> out, uint8_t* tag, bool decrypt) const {
  const uint8_t* a = aad.empty() ? kEmptyByte : aad.data();
  uint8_t* p = out.empty() ? kEmptyByte : out.data();
  const uint8_t* src = out.empty() ? kEmptyByte : in;
  const uint64_t n = out.size();
  switch (suite_) {
    case Suite::aes_128_gcm_sha256: {
      alignas(64) gcm_context_data ctx;
      if (decrypt) {
        IMB_AES128_GCM_DEC(m, &gcm_, &ctx, p, src, n, nonce, a, aad.size(), tag, kAeadTagLen);
      } else {
        IMB_AES128_GCM_ENC(m, &gcm_, &ctx, p, src, n, nonce, a, aad.size(), tag, kAeadTagLen);
      }
      break;
    }
    case Suite::aes_256_gcm_sha384: {
      alignas(64) gcm_context_data ctx;
      if (decrypt) {
        IMB_AES256_GCM_DEC(m, &gcm_, &ctx, p, src, n, nonce, a, aad.size(), tag, kAeadTagLen);
      } else {
        IMB_AES256_GCM_ENC(m, &gcm_, &ctx, p, src, n, nonce, a, aad.size(), tag, kAeadTagLen);
      }
      break;
    }
    case Suite::chacha20_poly1305_sha256: {
      alignas(64) chacha20_poly1305_context_data ctx;
      IMB_CHACHA20_POLY1305_INIT(m, chacha_key_.data(), &ctx, nonce, a, aad.size());
      if (n != 0) {
        if (decrypt) {
          IMB_CHACHA20_POLY1305_DEC_UPDATE(m, chacha_key_.data(), &ctx, p, src, n);
        } else {
          IMB_CHACHA20_POLY1305_ENC_UPDATE(m, chacha_key_.data(), &ctx, p, src, n);
        }
      }
      if (decrypt) {
        IMB_CHACHA20_POLY1305_DEC_FINALIZE(m, &ctx, tag, kAeadTagLen);
      } else {
        IMB_CHACHA20_POLY1305_ENC_FINALIZE(m, &ctx, tag, kAeadTagLen);
      }
      break;
    }
  }
}

CryptoStatus PacketAead::seal_with_nonce(ImbManager& mgr,
                                         std::span<const uint8_t, kAeadIvLen> nonce,
                                         std::span<const uint8_t> aad, std::span<uint8_t> payload,
                                         std::span<uint8_t, kAeadTagLen> tag,
                                         const uint8_t* from) const {
  if (!ready_ || !mgr.ok()) return CryptoStatus::backend_failed;
  crypt(mgr.get(), nonce.data(), aad, from ? from : payload.data(), payload, tag.data(), false);
  return CryptoStatus::ok;
}

CryptoStatus PacketAead::open_with_nonce(ImbManager& mgr,
                                         std::span<const uint8_t, kAeadIvLen> nonce,
                                         std::span<const uint8_t> aad, std::span<uint8_t> payload,
                                         std::span<const uint8_t, kAeadTagLen> tag) const {
  if (!ready_ || !mgr.ok()) return CryptoStatus::backend_failed;
  uint8_t computed[kAeadTagLen];
  crypt(mgr.get(), nonce.data(), aad, payload.data(), payload, computed, true);
  if (tags_equal(computed, tag.data())) return CryptoStatus::ok;
  // Both AEADs are a keystream XOR: running the encryption again gives back the ciphertext.
  crypt(mgr.get(), nonce.data(), aad, payload.data(), payload, computed, false);
  return CryptoStatus::auth_failed;
}

CryptoStatus PacketAead::seal(ImbManager& mgr, uint64_t packet_number,
                              std::span<const uint8_t> aad, std::span<uint8_t> payload,
                              std::span<uint8_t, kAeadTagLen> tag, uint32_t path_id,
                              const uint8_t* from) const {
  if (packet_number > kMaxPacketNumber) return CryptoStatus::bad_length;
  alignas(16) uint8_t nonce[16];
  write_nonce(iv_.data(), packet_number, path_id, nonce);
  return seal_with_nonce(mgr, std::span<const uint8_t, kAeadIvLen>(nonce, kAeadIvLen), aad, payload,
                         tag, from);
}

CryptoStatus PacketAead::open(ImbManager& mgr, uint64_t packet_number,
                              std::span<const uint8_t> aad, std::span<uint8_t> payload,
                              std::span<const uint8_t, kAeadTagLen> tag, uint32_t path_id) const {
  if (packet_number > kMaxPacketNumber) return CryptoStatus::bad_length;
  alignas(16) uint8_t nonce[16];
  write_nonce(iv_.data(), packet_number, path_id, nonce);
  return open_with_nonce(mgr, std::span<const uint8_t, kAeadIvLen>(nonce, kAeadIvLen), aad, payload,
                         tag);
}

}  // namespace camp::quic
