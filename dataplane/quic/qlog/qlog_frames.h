// qlog representations of QUIC values: frames as QuicFrame objects (draft-ietf-quic-qlog-quic-
// events, "QuicFrame"; the multipath and ack-frequency drafts for their frames), packet types and
// transport error names.
#pragma once

#include <cstdint>

#include "dataplane/quic/qlog/json_seq_output.h"
#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_types.h"
#include "dataplane/quic/wire/frames.h"

namespace camp::quic::qlog {

// "initial", "handshake", "0RTT", "1RTT", "retry", "version_negotiation".
const char* packet_type_name(PacketType t);

// The qlog TransportError name of an RFC 9000 code ("protocol_violation"), or nullptr when the
// code has none (the caller then writes the number). CRYPTO_ERROR codes are not named here.
const char* transport_error_name(uint64_t code);

// Writes a transport error code: its qlog name, "crypto_error_0x1XX", or the number.
void write_transport_error(JsonSeqOutput& out, uint64_t code);

// One frame as a JSON object. ack_delay_exponent scales the ACK Delay of ACK / PATH_ACK frames
// into milliseconds: the sender's own exponent for frames it sends, the peer's for frames it
// receives.
void write_frame(JsonSeqOutput& out, const Frame& f, uint64_t ack_delay_exponent);

// Every frame of a decrypted payload, as array items (the caller opens the array). Parsing is
// permissive about negotiated extensions (this is a log, the connection has already decided
// what to accept). A payload that does not parse ends with an "unknown" frame holding the type
// that failed (raw_frame_type) and the bytes left (raw.length).
void write_payload_frames(JsonSeqOutput& out, ByteView payload, PacketType type,
                          uint64_t ack_delay_exponent);

}  // namespace camp::quic::qlog
