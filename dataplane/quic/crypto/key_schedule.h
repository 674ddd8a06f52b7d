// QUIC key schedule (RFC 9001 5.1, 5.2, 6.1) on top of TLS 1.3's HKDF-Expand-Label (RFC 8446 7.1),
// computed with GnuTLS. Runs once per key, never per packet, so it may take GnuTLS's time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/quic/crypto/suite.h"

namespace camp::quic {

enum class HashAlg : uint8_t { sha256, sha384 };

constexpr HashAlg hash_of(Suite s) {
  return s == Suite::aes_256_gcm_sha384 ? HashAlg::sha384 : HashAlg::sha256;
}
constexpr size_t hash_len(HashAlg h) { return h == HashAlg::sha384 ? 48 : 32; }

// A traffic secret: Hash.length bytes of the suite's hash.
struct Secret {
  std::array<uint8_t, kMaxSecretLen> bytes{};
  uint8_t size = 0;

  std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// What the KDF gives one direction at one key phase: AEAD key, IV and header protection key.
struct PacketKeys {
  Suite suite = Suite::aes_128_gcm_sha256;
  std::array<uint8_t, kMaxKeyLen> key{};  // key_len(suite) bytes used
  std::array<uint8_t, kAeadIvLen> iv{};
  std::array<uint8_t, kMaxKeyLen> hp{};   // key_len(suite) bytes used

  std::span<const uint8_t> key_view() const { return {key.data(), key_len(suite)}; }
  std::span<const uint8_t> hp_view() const { return {hp.data(), key_len(suite)}; }
};

// QUIC v1 Initial salt (RFC 9001 5.2).
inline constexpr std::array<uint8_t, 20> kInitialSaltV1 = {
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};

// HKDF-Extract (RFC 5869 2.2): prk.size() must be hash_len(h).
CryptoStatus hkdf_extract(HashAlg h, std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                          std::span<uint8_t> prk);

// HKDF-Expand-Label(secret, label, "", out.size()) (RFC 8446 7.1): the "tls13 " prefix is added
// here. QUIC always uses an empty context (RFC 9001 5.1). Labels up to 249 bytes, outputs up to
// 255 * hash_len(h) bytes and at most 65535.
CryptoStatus hkdf_expand_label(HashAlg h, std::span<const uint8_t> secret, std::string_view label,
                               std::span<uint8_t> out);

struct InitialSecrets {
  Secret client;  // client_initial_secret: protects what the client sends
  Secret server;  // server_initial_secret
};

// Initial secrets from the Destination Connection ID of the client's first Initial packet (or of
// the Retry's Source Connection ID), RFC 9001 5.2. dcid may be 0..20 bytes.
CryptoStatus derive_initial_secrets(std::span<const uint8_t> dcid, InitialSecrets& out);

// "quic key", "quic iv" and "quic hp" from one traffic secret (RFC 9001 5.1).
CryptoStatus derive_packet_keys(Suite s, const Secret& secret, PacketKeys& out);

// Both directions' Initial keys in one call: AES-128-GCM with SHA-256.
CryptoStatus derive_initial_keys(std::span<const uint8_t> dcid, PacketKeys& client,
                                 PacketKeys& server);

// Key update (RFC 9001 6.1): secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "",
// Hash.length). The header protection key does not change, so callers keep the old hp.
CryptoStatus next_secret(Suite s, const Secret& current, Secret& next);

// The next key phase's key and IV, with hp carried over from `current` as section 6 requires.
CryptoStatus update_packet_keys(const PacketKeys& current, const Secret& current_secret,
                                Secret& next_secret_out, PacketKeys& next);

}  // namespace camp::quic
