// QUIC transport parameters (RFC 9000 18), with max_datagram_frame_size (RFC 9221 3),
// initial_max_path_id (draft-ietf-quic-multipath-21 2.1) and min_ack_delay
// (draft-ietf-quic-ack-frequency 3). Decoding copies into a fixed-size struct: no allocation,
// unknown and reserved (grease) parameters skipped, every rule of 18.2 checked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_parser.h"
#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

namespace transport_parameter_id {
inline constexpr uint64_t original_destination_connection_id = 0x00;
inline constexpr uint64_t max_idle_timeout = 0x01;
inline constexpr uint64_t stateless_reset_token = 0x02;
inline constexpr uint64_t max_udp_payload_size = 0x03;
inline constexpr uint64_t initial_max_data = 0x04;
inline constexpr uint64_t initial_max_stream_data_bidi_local = 0x05;
inline constexpr uint64_t initial_max_stream_data_bidi_remote = 0x06;
inline constexpr uint64_t initial_max_stream_data_uni = 0x07;
inline constexpr uint64_t initial_max_streams_bidi = 0x08;
inline constexpr uint64_t initial_max_streams_uni = 0x09;
inline constexpr uint64_t ack_delay_exponent = 0x0a;
inline constexpr uint64_t max_ack_delay = 0x0b;
inline constexpr uint64_t disable_active_migration = 0x0c;
inline constexpr uint64_t preferred_address = 0x0d;
inline constexpr uint64_t active_connection_id_limit = 0x0e;
inline constexpr uint64_t initial_source_connection_id = 0x0f;
inline constexpr uint64_t retry_source_connection_id = 0x10;
inline constexpr uint64_t max_datagram_frame_size = 0x20;
inline constexpr uint64_t initial_max_path_id = 0x3e;
inline constexpr uint64_t min_ack_delay = 0xff04de1b;
}  // namespace transport_parameter_id

using StatelessResetToken = std::array<uint8_t, kStatelessResetTokenLength>;

struct PreferredAddress {
  std::array<uint8_t, 4> ipv4_address{};
  uint16_t ipv4_port = 0;
  std::array<uint8_t, 16> ipv6_address{};
  uint16_t ipv6_port = 0;
  ConnectionId connection_id;  // 1..20 bytes
  StatelessResetToken stateless_reset_token{};
  friend bool operator==(const PreferredAddress&, const PreferredAddress&) = default;
};

// Absent integer parameters hold their RFC defaults; the encoder leaves out values equal to the
// default, since a peer reads both the same way.
struct TransportParameters {
  std::optional<ConnectionId> original_destination_connection_id;  // server only
  uint64_t max_idle_timeout = 0;                                   // ms
  std::optional<StatelessResetToken> stateless_reset_token;        // server only
  uint64_t max_udp_payload_size = 65527;                           // >= 1200
  uint64_t initial_max_data = 0;
  uint64_t initial_max_stream_data_bidi_local = 0;
  uint64_t initial_max_stream_data_bidi_remote = 0;
  uint64_t initial_max_stream_data_uni = 0;
  uint64_t initial_max_streams_bidi = 0;  // <= 2^60
  uint64_t initial_max_streams_uni = 0;   // <= 2^60
  uint64_t ack_delay_exponent = 3;        // <= 20
  uint64_t max_ack_delay = 25;            // ms, < 2^14
  bool disable_active_migration = false;
  std::optional<PreferredAddress> preferred_address;  // server only
  uint64_t active_connection_id_limit = 2;            // >= 2
  std::optional<ConnectionId> initial_source_connection_id;
  std::optional<ConnectionId> retry_source_connection_id;  // server only
  std::optional<uint64_t> max_datagram_frame_size;  // RFC 9221; absent: no DATAGRAM
  std::optional<uint64_t> initial_max_path_id;      // multipath; <= 2^32-1
  std::optional<uint64_t> min_ack_delay;            // ack-frequency; us, <= max_ack_delay * 1000

  friend bool operator==(const TransportParameters&, const TransportParameters&) = default;
};

// Decodes the quic_transport_parameters extension body sent by an endpoint of role sender.
// NO_ERROR, or TRANSPORT_PARAMETER_ERROR for a duplicate, a malformed or out-of-range value, or a
// server-only parameter from a client. out is left with defaults on error.
TransportError decode_transport_parameters(const uint8_t* data, size_t size, Role sender,
                                           TransportParameters& out);

// The same checks on a struct, as decode applies them (role rules included).
TransportError validate_transport_parameters(const TransportParameters& tp, Role sender);

// Encodes tp for an endpoint of role sender. Returns the bytes written, or 0 when it does not fit
// or validate_transport_parameters() refuses it. grease_n, when set, adds the reserved parameter
// 31 * n + 27 with an empty value (RFC 9000 18.1) so peers keep skipping unknown IDs.
size_t encode_transport_parameters(const TransportParameters& tp, Role sender, uint8_t* buf,
                                   size_t cap, std::optional<uint64_t> grease_n = std::nullopt);

}  // namespace camp::quic
