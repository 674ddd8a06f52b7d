// The packet protection suites QUIC v1 can use (RFC 9001 section 5.3), their sizes, and the status
// every function in camp::quic's crypto returns.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camp::quic {

// TLS 1.3 cipher suites with a QUIC header protection scheme (RFC 9001 5.3, 5.4).
// TLS_AES_128_CCM_SHA256 is left out: no ipsec-mb CCM direct API and no deployment asks for it.
enum class Suite : uint8_t {
  aes_128_gcm_sha256,        // TLS_AES_128_GCM_SHA256, also every Initial packet
  aes_256_gcm_sha384,        // TLS_AES_256_GCM_SHA384
  chacha20_poly1305_sha256,  // TLS_CHACHA20_POLY1305_SHA256
};

enum class CryptoStatus : uint8_t {
  ok,
  bad_length,        // an input or output has a size the operation cannot take
  kdf_failed,        // GnuTLS refused an HKDF step
  auth_failed,       // the AEAD tag did not verify: drop the packet
  packet_too_short,  // no room for the header protection sample (RFC 9001 5.4.2) or the tag
  bad_header,        // a header field points past the packet or is not what the call expects
  backend_failed,    // intel-ipsec-mb could not be set up or refused a job
};

const char* to_string(CryptoStatus s);

inline constexpr size_t kAeadTagLen = 16;      // every suite above (RFC 9001 5.3)
inline constexpr size_t kAeadIvLen = 12;       // nonce length of every suite above
inline constexpr size_t kHpSampleLen = 16;     // RFC 9001 5.4.2
inline constexpr size_t kHpMaskLen = 5;        // first byte + up to 4 packet number bytes
inline constexpr size_t kMaxPacketNumberLen = 4;
inline constexpr size_t kMaxKeyLen = 32;
inline constexpr size_t kMaxSecretLen = 48;    // SHA-384
inline constexpr size_t kMaxConnectionIdLen = 20;  // QUIC v1 (RFC 9000 17.2)

// AEAD key length, which is also the header protection key length for every suite here.
constexpr size_t key_len(Suite s) { return s == Suite::aes_128_gcm_sha256 ? 16 : 32; }

// Hash.length of the suite's HKDF hash: the size of its traffic secrets.
constexpr size_t secret_len(Suite s) { return s == Suite::aes_256_gcm_sha384 ? 48 : 32; }

}  // namespace camp::quic
