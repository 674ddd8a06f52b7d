// Whole-packet protection: AEAD over the payload, then header protection (RFC 9001 5.3, 5.4), and
// the reverse on receipt. A packet buffer runs from the first header byte to the end of the tag:
//   [ header .. Packet Number ][ payload ][ tag (16) ]
// Everything is in place. Callers that must read the Key Phase bit before choosing keys use
// HeaderProtection::remove() and open_payload() separately.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/header_protection.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/suite.h"

namespace camp::quic {

// RFC 9000 A.3: the full packet number closest to largest_pn + 1 whose low pn_nbits bits are
// truncated_pn. largest_pn is -1 when nothing has been received in this space yet.
uint64_t decode_packet_number(int64_t largest_pn, uint64_t truncated_pn, unsigned pn_nbits);

// Fields of a QUIC v1 long header (RFC 9000 17.2) that packet protection needs.
struct LongHeaderLayout {
  uint8_t packet_type = 0;  // 0 Initial, 1 0-RTT, 2 Handshake (Retry has no packet number)
  size_t pn_offset = 0;     // start of the Packet Number field
  size_t packet_len = 0;    // pn_offset + Length: where this packet ends in a coalesced datagram
};

// Parses an Initial, 0-RTT or Handshake long header of QUIC v1. bad_header for anything else,
// for a connection ID over 20 bytes, or when a field or the Length runs past the datagram.
CryptoStatus parse_long_header(std::span<const uint8_t> datagram, LongHeaderLayout& out);

// Seals packet[header_len .. size-16) with the header as associated data and writes the tag into
// the last 16 bytes. header_len is pn_offset + the packet number length in the unprotected first
// byte. With `from` the payload's plaintext is read there instead (PacketAead::seal).
CryptoStatus seal_payload(ImbManager& mgr, const PacketAead& aead, std::span<uint8_t> packet,
                          size_t header_len, uint64_t packet_number, uint32_t path_id = 0,
                          const uint8_t* from = nullptr);

// The reverse of seal_payload() on a packet whose header protection is already removed.
CryptoStatus open_payload(ImbManager& mgr, const PacketAead& aead, std::span<uint8_t> packet,
                          size_t header_len, uint64_t packet_number, uint32_t path_id = 0);

// seal_payload() then HeaderProtection::apply(). The first byte and the Packet Number field must
// hold their unprotected values. path_id is the multipath path ID (0 without multipath).
CryptoStatus protect_packet(ImbManager& mgr, const PacketAead& aead, const HeaderProtection& hp,
                            std::span<uint8_t> packet, size_t pn_offset, uint64_t packet_number,
                            uint32_t path_id = 0, const uint8_t* from = nullptr);

struct OpenedPacket {
  uint64_t packet_number = 0;
  size_t header_len = 0;   // the payload starts here
  size_t payload_len = 0;  // plaintext bytes, the tag excluded
};

// Removes header protection, recovers the packet number against largest_pn, and opens the
// payload. On any failure the packet bytes are left exactly as received.
CryptoStatus unprotect_packet(ImbManager& mgr, const PacketAead& aead, const HeaderProtection& hp,
                              std::span<uint8_t> packet, size_t pn_offset, int64_t largest_pn,
                              OpenedPacket& out, uint32_t path_id = 0);

}  // namespace camp::quic
