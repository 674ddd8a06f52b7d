// Frame parsing (RFC 9000 12.4, 19; RFC 9221; multipath; ack-frequency). The parser walks a
// decrypted packet payload and hands out one typed view per frame, allocating nothing: byte
// fields point into the payload and ACK ranges stay encoded (AckFrame::ranges()). Every loop is
// bounded by the payload length, so no field a peer controls can make it allocate or spin.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_types.h"
#include "dataplane/quic/wire/frames.h"
#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

enum class Role : uint8_t { kUnknown, kClient, kServer };

// What the connection negotiated. Frames of an extension that is off are refused as the RFCs
// say: DATAGRAM with PROTOCOL_VIOLATION (RFC 9221 3), others as unknown types
// (FRAME_ENCODING_ERROR, RFC 9000 12.4).
struct FrameParseOptions {
  // This endpoint's role: a server refuses NEW_TOKEN and HANDSHAKE_DONE (RFC 9000 19.7, 19.20).
  Role local_role = Role::kUnknown;
  // The max_datagram_frame_size this endpoint advertised; 0 means DATAGRAM is not supported.
  uint64_t max_datagram_frame_size = 0;
  bool multipath = false;      // initial_max_path_id exchanged both ways
  // We sent initial_max_path_id (whether or not the peer did). Before the peer's transport
  // parameters are known, a multipath frame in an Initial, 0-RTT or Handshake packet is then a
  // PROTOCOL_VIOLATION (multipath-21 4); when not offered it stays an unknown type.
  bool multipath_offered = false;
  bool ack_frequency = false;  // this endpoint sent min_ack_delay
  uint64_t min_ack_delay_us = 0;  // the min_ack_delay this endpoint sent
};

struct FrameParseResult {
  TransportError error = TransportError::NO_ERROR;
  uint64_t frame_type = 0;  // of the frame parsed or refused, for CONNECTION_CLOSE's Frame Type
  size_t consumed = 0;      // bytes of the frame (0 on error)
  bool ok() const { return error == TransportError::NO_ERROR; }
};

// Parses one frame at the start of payload[0..size) carried in a packet of type packet.
FrameParseResult parse_frame(const uint8_t* payload, size_t size, PacketType packet,
                             const FrameParseOptions& options, Frame& out);

// Iterates a whole payload:
//   FrameReader rd(payload, n, PacketType::kOneRtt, opts);
//   Frame f;
//   while (rd.next(f)) { ... }
//   if (rd.failed()) close_connection(rd.error(), rd.error_frame_type());
// An empty payload is a PROTOCOL_VIOLATION (RFC 9000 12.4).
class FrameReader {
 public:
  FrameReader(const uint8_t* payload, size_t size, PacketType packet,
              const FrameParseOptions& options = {})
      : p_(payload), n_(size), packet_(packet), options_(options) {
    if (size == 0) error_ = TransportError::PROTOCOL_VIOLATION;
  }

  // The next frame; false at the end of the payload or at the first error.
  bool next(Frame& out);

  bool failed() const { return error_ != TransportError::NO_ERROR; }
  TransportError error() const { return error_; }
  uint64_t error_frame_type() const { return error_frame_type_; }
  size_t offset() const { return pos_; }  // where the next (or failing) frame starts

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  PacketType packet_;
  FrameParseOptions options_;
  TransportError error_ = TransportError::NO_ERROR;
  uint64_t error_frame_type_ = 0;
};

// Checks an ACK frame's ACK Range fields: exactly count (gap, length) pairs in encoded, no range
// reaching below packet 0. Used by the parser and by the writer for caller-built AckFrames.
bool ack_ranges_valid(uint64_t largest, uint64_t first_range, ByteView encoded, uint64_t count);

}  // namespace camp::quic
