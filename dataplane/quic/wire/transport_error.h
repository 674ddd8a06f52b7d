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

// The RFC name of a code ("FRAME_ENCODING_ERROR"); "CRYPTO_ERROR" for the TLS alert range and
// "UNKNOWN" for anything else.
const char* to_string(TransportError e);

}  // namespace camp::quic
