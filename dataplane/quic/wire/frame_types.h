// Frame type values (RFC 9000 12.4 Table 3, RFC 9221, draft-ietf-quic-multipath-21,
// draft-ietf-quic-ack-frequency) and which packet types may carry them.
#pragma once

#include <cstdint>

namespace camp::quic {

// The packet types of QUIC v1 (RFC 9000 17). Retry and Version Negotiation carry no frames.
enum class PacketType : uint8_t {
  kInitial,
  kZeroRtt,
  kHandshake,
  kRetry,
  kVersionNegotiation,
  kOneRtt,
};

const char* to_string(PacketType t);

namespace frame_type {
inline constexpr uint64_t PADDING = 0x00;
inline constexpr uint64_t PING = 0x01;
inline constexpr uint64_t ACK = 0x02;
inline constexpr uint64_t ACK_ECN = 0x03;
inline constexpr uint64_t RESET_STREAM = 0x04;
inline constexpr uint64_t STOP_SENDING = 0x05;
inline constexpr uint64_t CRYPTO = 0x06;
inline constexpr uint64_t NEW_TOKEN = 0x07;
inline constexpr uint64_t STREAM = 0x08;  // 0x08-0x0f: | OFF 0x04 | LEN 0x02 | FIN 0x01
inline constexpr uint64_t STREAM_OFF = 0x04;
inline constexpr uint64_t STREAM_LEN = 0x02;
inline constexpr uint64_t STREAM_FIN = 0x01;
inline constexpr uint64_t MAX_DATA = 0x10;
inline constexpr uint64_t MAX_STREAM_DATA = 0x11;
inline constexpr uint64_t MAX_STREAMS_BIDI = 0x12;
inline constexpr uint64_t MAX_STREAMS_UNI = 0x13;
inline constexpr uint64_t DATA_BLOCKED = 0x14;
inline constexpr uint64_t STREAM_DATA_BLOCKED = 0x15;
inline constexpr uint64_t STREAMS_BLOCKED_BIDI = 0x16;
inline constexpr uint64_t STREAMS_BLOCKED_UNI = 0x17;
inline constexpr uint64_t NEW_CONNECTION_ID = 0x18;
inline constexpr uint64_t RETIRE_CONNECTION_ID = 0x19;
inline constexpr uint64_t PATH_CHALLENGE = 0x1a;
inline constexpr uint64_t PATH_RESPONSE = 0x1b;
inline constexpr uint64_t CONNECTION_CLOSE = 0x1c;      // transport
inline constexpr uint64_t CONNECTION_CLOSE_APP = 0x1d;  // application
inline constexpr uint64_t HANDSHAKE_DONE = 0x1e;
// draft-ietf-quic-ack-frequency
inline constexpr uint64_t IMMEDIATE_ACK = 0x1f;
inline constexpr uint64_t ACK_FREQUENCY = 0xaf;
// RFC 9221
inline constexpr uint64_t DATAGRAM = 0x30;
inline constexpr uint64_t DATAGRAM_LEN = 0x31;
// draft-ietf-quic-multipath-21
inline constexpr uint64_t PATH_ACK = 0x3e;
inline constexpr uint64_t PATH_ACK_ECN = 0x3f;
inline constexpr uint64_t PATH_ABANDON = 0x3e75;
inline constexpr uint64_t PATH_STATUS_BACKUP = 0x3e76;
inline constexpr uint64_t PATH_STATUS_AVAILABLE = 0x3e77;
inline constexpr uint64_t PATH_NEW_CONNECTION_ID = 0x3e78;
inline constexpr uint64_t PATH_RETIRE_CONNECTION_ID = 0x3e79;
inline constexpr uint64_t MAX_PATH_ID = 0x3e7a;
inline constexpr uint64_t PATHS_BLOCKED = 0x3e7b;
inline constexpr uint64_t PATH_CIDS_BLOCKED = 0x3e7c;
}  // namespace frame_type

// Whether a frame type may appear in a packet type: RFC 9000 Table 3 ("Pkts"), RFC 9221 section 4
// (DATAGRAM: 0-RTT and 1-RTT), the multipath and ack-frequency drafts (1-RTT only). Unknown types
// give false; the parser reports those as FRAME_ENCODING_ERROR before asking.
bool frame_allowed_in(uint64_t type, PacketType packet);

// Whether the type is one this library knows (the parser rejects the rest).
bool frame_type_known(uint64_t type);

}  // namespace camp::quic
