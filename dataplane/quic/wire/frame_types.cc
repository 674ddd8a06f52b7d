#include "dataplane/quic/wire/frame_types.h"

#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

namespace ft = frame_type;

namespace {
// Bits of the "Pkts" column of RFC 9000 Table 3.
constexpr unsigned kI = 1u << static_cast<unsigned>(PacketType::kInitial);
constexpr unsigned kZ = 1u << static_cast<unsigned>(PacketType::kZeroRtt);
constexpr unsigned kH = 1u << static_cast<unsigned>(PacketType::kHandshake);
constexpr unsigned k1 = 1u << static_cast<unsigned>(PacketType::kOneRtt);

unsigned packets_for(uint64_t t) {
  if (t >= ft::STREAM && t <= (ft::STREAM | 0x07)) return kZ | k1;
  switch (t) {
    case ft::PADDING:
    case ft::PING:
    case ft::CONNECTION_CLOSE:
      return kI | kH | kZ | k1;
    case ft::ACK:
    case ft::ACK_ECN:
    case ft::CRYPTO:
      return kI | kH | k1;
    case ft::RESET_STREAM:
    case ft::STOP_SENDING:
    case ft::MAX_DATA:
    case ft::MAX_STREAM_DATA:
    case ft::MAX_STREAMS_BIDI:
    case ft::MAX_STREAMS_UNI:
    case ft::DATA_BLOCKED:
    case ft::STREAM_DATA_BLOCKED:
    case ft::STREAMS_BLOCKED_BIDI:
    case ft::STREAMS_BLOCKED_UNI:
    case ft::NEW_CONNECTION_ID:
    case ft::RETIRE_CONNECTION_ID:
    case ft::PATH_CHALLENGE:
    case ft::CONNECTION_CLOSE_APP:  // "ih": only 0x1c in Initial and Handshake
    case ft::DATAGRAM:              // RFC 9221 4: 0-RTT or 1-RTT
    case ft::DATAGRAM_LEN:
      return kZ | k1;
    case ft::NEW_TOKEN:
    case ft::PATH_RESPONSE:
    case ft::HANDSHAKE_DONE:
    // ack-frequency 3: min_ack_delay is not remembered, so never in 0-RTT.
    case ft::IMMEDIATE_ACK:
    case ft::ACK_FREQUENCY:
    // multipath 4: "MUST only be sent in 1-RTT packets".
    case ft::PATH_ACK:
    case ft::PATH_ACK_ECN:
    case ft::PATH_ABANDON:
    case ft::PATH_STATUS_BACKUP:
    case ft::PATH_STATUS_AVAILABLE:
    case ft::PATH_NEW_CONNECTION_ID:
    case ft::PATH_RETIRE_CONNECTION_ID:
    case ft::MAX_PATH_ID:
    case ft::PATHS_BLOCKED:
    case ft::PATH_CIDS_BLOCKED:
      return k1;
    default:
      return 0;
  }
}
}  // namespace

bool frame_allowed_in(uint64_t type, PacketType packet) {
  return packets_for(type) & (1u << static_cast<unsigned>(packet));
}

bool frame_type_known(uint64_t type) { return packets_for(type) != 0; }

const char* to_string(PacketType t) {
  switch (t) {
    case PacketType::kInitial: return "Initial";
    case PacketType::kZeroRtt: return "0-RTT";
    case PacketType::kHandshake: return "Handshake";
    case PacketType::kRetry: return "Retry";
    case PacketType::kVersionNegotiation: return "Version Negotiation";
    case PacketType::kOneRtt: return "1-RTT";
  }
  return "unknown";
}

const char* to_string(TransportError e) {
  switch (e) {
    case TransportError::NO_ERROR: return "NO_ERROR";
    case TransportError::INTERNAL_ERROR: return "INTERNAL_ERROR";
    case TransportError::CONNECTION_REFUSED: return "CONNECTION_REFUSED";
    case TransportError::FLOW_CONTROL_ERROR: return "FLOW_CONTROL_ERROR";
    case TransportError::STREAM_LIMIT_ERROR: return "STREAM_LIMIT_ERROR";
    case TransportError::STREAM_STATE_ERROR: return "STREAM_STATE_ERROR";
    case TransportError::FINAL_SIZE_ERROR: return "FINAL_SIZE_ERROR";
    case TransportError::FRAME_ENCODING_ERROR: return "FRAME_ENCODING_ERROR";
    case TransportError::TRANSPORT_PARAMETER_ERROR: return "TRANSPORT_PARAMETER_ERROR";
    case TransportError::CONNECTION_ID_LIMIT_ERROR: return "CONNECTION_ID_LIMIT_ERROR";
    case TransportError::PROTOCOL_VIOLATION: return "PROTOCOL_VIOLATION";
    case TransportError::INVALID_TOKEN: return "INVALID_TOKEN";
    case TransportError::APPLICATION_ERROR: return "APPLICATION_ERROR";
    case TransportError::CRYPTO_BUFFER_EXCEEDED: return "CRYPTO_BUFFER_EXCEEDED";
    case TransportError::KEY_UPDATE_ERROR: return "KEY_UPDATE_ERROR";
    case TransportError::AEAD_LIMIT_REACHED: return "AEAD_LIMIT_REACHED";
    case TransportError::NO_VIABLE_PATH: return "NO_VIABLE_PATH";
  }
  const uint64_t v = static_cast<uint64_t>(e);
  return v >= 0x100 && v <= 0x1ff ? "CRYPTO_ERROR" : "UNKNOWN";
}

}  // namespace camp::quic
