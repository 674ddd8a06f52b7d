// QUIC transport error codes (RFC 9000 section 20.1). Every parser here reports one of these so a
// connection can put it straight into a CONNECTION_CLOSE frame of type 0x1c.
#pragma once

#include <cstdint>

namespace camp::quic {

enum class TransportError : uint64_t {
  NO_ERROR = 0x00,
  INTERNAL_ERROR = 0x01,
  CONNECTION_REFUSED = 0x02,
  FLOW_CONTROL_ERROR = 0x03,
  STREAM_LIMIT_ERROR = 0x04,
  STREAM_STATE_ERROR = 0x05,
  FINAL_SIZE_ERROR = 0x06,
  FRAME_ENCODING_ERROR = 0x07,
  TRANSPORT_PARAMETER_ERROR = 0x08,
  CONNECTION_ID_LIMIT_ERROR = 0x09,
  PROTOCOL_VIOLATION = 0x0a,
  INVALID_TOKEN = 0x0b,
  APPLICATION_ERROR = 0x0c,
  CRYPTO_BUFFER_EXCEEDED = 0x0d,
  KEY_UPDATE_ERROR = 0x0e,
  AEAD_LIMIT_REACHED = 0x0f,
  NO_VIABLE_PATH = 0x10,
  // CRYPTO_ERROR is the range 0x0100-0x01ff: 0x0100 + the TLS alert.
};

constexpr TransportError crypto_error(uint8_t tls_alert) {
  return static_cast<TransportError>(0x0100 + uint64_t{tls_alert});
}

// Error Code values of a PATH_ABANDON frame (draft-ietf-quic-multipath-21 4.2.1, "suggested" IANA
// values of section 8). They share the transport error code space, but a PATH_ABANDON carries them
// to close one path, never the connection; NO_ERROR (0x0) is also valid there. The draft defines
// no new CONNECTION_CLOSE codes: its connection errors are PROTOCOL_VIOLATION,
// TRANSPORT_PARAMETER_ERROR, FRAME_ENCODING_ERROR (via RFC 9000 12.4) and the RFC 9000 ones.
namespace path_abandon_error {
inline constexpr uint64_t kNoError = 0x00;
inline constexpr uint64_t kApplicationAbandonPath = 0x3e;      // APPLICATION_ABANDON_PATH
inline constexpr uint64_t kPathResourceLimitReached = 0x3e75;  // PATH_RESOURCE_LIMIT_REACHED
inline constexpr uint64_t kPathUnstableOrPoor = 0x3e76;        // PATH_UNSTABLE_OR_POOR
inline constexpr uint64_t kNoCidAvailableForPath = 0x3e77;     // NO_CID_AVAILABLE_FOR_PATH
}  // namespace path_abandon_error

// The draft's name of a PATH_ABANDON Error Code ("PATH_UNSTABLE_OR_POOR"), "NO_ERROR" for 0,
// or nullptr for a code it does not define (the peer may send any value).
constexpr const char* path_abandon_error_name(uint64_t code) {
  switch (code) {
    case path_abandon_error::kNoError: return "NO_ERROR";
    case path_abandon_error::kApplicationAbandonPath: return "APPLICATION_ABANDON_PATH";
    case path_abandon_error::kPathResourceLimitReached: return "PATH_RESOURCE_LIMIT_REACHED";
    case path_abandon_error::kPathUnstableOrPoor: return "PATH_UNSTABLE_OR_POOR";
    case path_abandon_error::kNoCidAvailableForPath: return "NO_CID_AVAILABLE_FOR_PATH";
    default: return nullptr;
  }
}

// The RFC name of a code ("FRAME_ENCODING_ERROR"); "CRYPTO_ERROR" for the TLS alert range and
// "UNKNOWN" for anything else.
const char* to_string(TransportError e);

}  // namespace camp::quic
