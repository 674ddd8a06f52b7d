// QUIC packet headers (RFC 9000 17.2, 17.3) up to the protected part. Header protection
// (RFC 9001 5.4) is removed elsewhere (dataplane/quic/crypto): this parser reads only the fields
// that are not protected, so the Packet Number and the low bits of the first byte are left alone,
// and reports where the Packet Number starts and where the packet ends in a coalesced datagram.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_types.h"

namespace camp::quic {

inline constexpr uint32_t kQuicVersion1 = 0x00000001;
inline constexpr size_t kRetryIntegrityTagLength = 16;

enum class HeaderStatus : uint8_t {
  kOk,
  kTruncated,           // a field runs past the datagram, or Length does
  kFixedBitZero,        // not a QUIC v1 packet (RFC 9000 17.2, 17.3): drop
  kCidTooLong,          // a v1 connection ID over 20 bytes: drop
  kUnsupportedVersion,  // a long header of another version: dcid/scid/version are filled in so
                        // a server can answer with Version Negotiation
  kBadVersionNegotiation,  // no Supported Version, or a length not a multiple of 4
};

const char* to_string(HeaderStatus s);

struct PacketHeader {
  PacketType type = PacketType::kOneRtt;
  uint8_t first_byte = 0;  // as received: still header protected for Initial/0-RTT/Handshake/1-RTT
  uint32_t version = 0;    // 0 for Version Negotiation; unset for short headers
  ByteView dcid;
  ByteView scid;                // long headers only
  ByteView token;               // Initial: the Token; Retry: the Retry Token
  ByteView retry_integrity_tag; // Retry: the last 16 bytes
  ByteView supported_versions;  // Version Negotiation: the 4-byte versions, raw
  uint64_t length = 0;          // Initial/0-RTT/Handshake: the Length field
  size_t pn_offset = 0;         // where the (protected) Packet Number starts
  size_t packet_length = 0;     // bytes of the datagram this packet takes (coalescing)

  size_t supported_version_count() const { return supported_versions.size / 4; }
  uint32_t supported_version(size_t i) const;
};

// Parses the packet at the start of datagram[0..size). Short headers need the length of this
// endpoint's connection IDs (short_dcid_length), since the header does not carry it; a 1-RTT
// packet takes the rest of the datagram. Nothing outside datagram[0..size) is read.
HeaderStatus parse_packet_header(const uint8_t* datagram, size_t size, size_t short_dcid_length,
                                 PacketHeader& out);

// What a long header of an Initial, 0-RTT or Handshake packet holds before protection.
struct LongHeaderFields {
  PacketType type = PacketType::kInitial;
  uint32_t version = kQuicVersion1;
  ByteView dcid;
  ByteView scid;
  ByteView token;               // Initial only
  uint64_t packet_number = 0;   // truncated to pn_length bytes
  size_t pn_length = 4;         // 1..4
  uint64_t payload_length = 0;  // bytes after the Packet Number, AEAD tag included
  size_t length_field_size = 0; // 0: shortest; 1/2/4/8: fixed, to patch the Length in later
};

// Writes the header through the Packet Number; Length = pn_length + payload_length. Returns the
// bytes written (the payload starts there), or 0 when it does not fit or a field is invalid
// (a CID over 20 bytes, a token outside Initial, pn_length outside 1..4, a Length that does not
// fit length_field_size). The Reserved Bits are 0.
size_t write_long_header(uint8_t* buf, size_t cap, const LongHeaderFields& h);

// Writes a 1-RTT short header (RFC 9000 17.3.1) through the Packet Number.
size_t write_short_header(uint8_t* buf, size_t cap, ByteView dcid, uint64_t packet_number,
                          size_t pn_length, bool spin_bit, bool key_phase);

// Writes a Version Negotiation packet (RFC 9000 17.2.1). unused is the random content of the
// low 7 bits of the first byte. CIDs may be up to 255 bytes here (they echo another version's).
size_t write_version_negotiation(uint8_t* buf, size_t cap, ByteView dcid, ByteView scid,
                                 const uint32_t* versions, size_t version_count,
                                 uint8_t unused = 0x40);

// Writes a Retry packet (RFC 9000 17.2.5) with the given 16-byte integrity tag (computed by
// dataplane/quic/crypto's RetryIntegrity over the pseudo-packet). unused: the low 4 bits.
size_t write_retry(uint8_t* buf, size_t cap, uint32_t version, ByteView dcid, ByteView scid,
                   ByteView token, ByteView integrity_tag, uint8_t unused = 0);

}  // namespace camp::quic
