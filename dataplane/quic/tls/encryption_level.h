// QUIC encryption levels (RFC 9001 4, 4.1.4) as seen by the TLS layer, and the TLS alert range of
// CRYPTO_ERROR (RFC 9001 4.8).
#pragma once

#include <cstddef>
#include <cstdint>

namespace camp::quic {

// Packet number spaces carry CRYPTO data at initial, handshake and application; early_data (0-RTT)
// only ever has keys: CRYPTO frames are not allowed in 0-RTT packets (RFC 9001 4.1.4).
enum class EncryptionLevel : uint8_t { initial, early_data, handshake, application };

inline constexpr size_t kEncryptionLevelCount = 4;

constexpr size_t index_of(EncryptionLevel l) { return static_cast<size_t>(l); }

const char* to_string(EncryptionLevel l);

// TLS alert descriptions (RFC 8446 6) this layer raises itself.
namespace tls_alert {
inline constexpr uint8_t unexpected_message = 10;
inline constexpr uint8_t bad_certificate = 42;
inline constexpr uint8_t certificate_expired = 45;
inline constexpr uint8_t certificate_unknown = 46;
inline constexpr uint8_t unknown_ca = 48;
inline constexpr uint8_t decode_error = 50;
inline constexpr uint8_t internal_error = 80;
inline constexpr uint8_t missing_extension = 109;
inline constexpr uint8_t no_application_protocol = 120;
}  // namespace tls_alert

}  // namespace camp::quic
