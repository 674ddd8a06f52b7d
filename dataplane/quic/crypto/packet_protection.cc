#include "dataplane/quic/crypto/packet_protection.h"

#include "dataplane/codec/varint.h"

namespace camp::quic {

uint64_t decode_packet_number(int64_t largest_pn, uint64_t truncated_pn, unsigned pn_nbits) {
  const uint64_t expected_pn = static_cast<uint64_t>(largest_pn + 1);
  const uint64_t pn_win = uint64_t{1} << pn_nbits;
  const uint64_t pn_hwin = pn_win / 2;
  const uint64_t pn_mask = pn_win - 1;
  const uint64_t candidate_pn = (expected_pn & ~pn_mask) | (truncated_pn & pn_mask);
  // The RFC's signed comparisons, written so nothing wraps below zero.
  if (expected_pn >= pn_hwin && candidate_pn <= expected_pn - pn_hwin &&
      candidate_pn < (uint64_t{1} << 62) - pn_win) {
    return candidate_pn + pn_win;
  }
  if (candidate_pn > expected_pn + pn_hwin && candidate_pn >= pn_win) {
    return candidate_pn - pn_win;
  }
  return candidate_pn;
}

CryptoStatus parse_long_header(std::span<const uint8_t> d, LongHeaderLayout& out) {
  // First byte, Version (32), DCID Len: the fixed start.
  if (d.size() < 6 || (d[0] & 0x80) == 0) return CryptoStatus::bad_header;
  const uint32_t version = uint32_t{d[1]} << 24 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 8 | d[4];
  if (version != 1) return CryptoStatus::bad_header;
  const uint8_t type = (d[0] >> 4) & 0x03;
  if (type == 3) return CryptoStatus::bad_header;  // Retry: no packet number, no payload
  size_t off = 5;
  for (int cid = 0; cid < 2; ++cid) {  // Destination then Source Connection ID
    if (off >= d.size()) return CryptoStatus::bad_header;
    const size_t len = d[off++];
    if (len > kMaxConnectionIdLen || d.size() - off < len) return CryptoStatus::bad_header;
    off += len;
  }
  uint64_t v = 0;
  if (type == 0) {  // Initial: Token Length (i), Token
    const size_t n = varint::decode(d.data() + off, d.size() - off, &v);
    if (n == 0) return CryptoStatus::bad_header;
    off += n;
    if (d.size() - off < v) return CryptoStatus::bad_header;
    off += static_cast<size_t>(v);
  }
  const size_t n = varint::decode(d.data() + off, d.size() - off, &v);  // Length (i)
  if (n == 0) return CryptoStatus::bad_header;
  off += n;
  if (d.size() - off < v) return CryptoStatus::bad_header;
  out.packet_type = type;
  out.pn_offset = off;
  out.packet_len = off + static_cast<size_t>(v);
  return CryptoStatus::ok;
}

CryptoStatus seal_payload(ImbManager& mgr, const PacketAead& aead, std::span<uint8_t> packet,
                          size_t header_len, uint64_t packet_number, uint32_t path_id,
                          const uint8_t* from) {
  if (header_len > packet.size() || packet.size() - header_len < kAeadTagLen) {
    return CryptoStatus::packet_too_short;
  }
  const size_t payload_len = packet.size() - header_len - kAeadTagLen;
  return aead.seal(mgr, packet_number, packet.first(header_len),
                   packet.subspan(header_len, payload_len),
                   packet.last<kAeadTagLen>(), path_id, from);
}

CryptoStatus open_payload(ImbManager& mgr, const PacketAead& aead, std::span<uint8_t> packet,
                          size_t header_len, uint64_t packet_number, uint32_t path_id) {
  if (header_len > packet.size() || packet.size() - header_len < kAeadTagLen) {
    return CryptoStatus::packet_too_short;
  }
  const size_t payload_len = packet.size() - header_len - kAeadTagLen;
  const std::span<const uint8_t, kAeadTagLen> tag = packet.last<kAeadTagLen>();
  return aead.open(mgr, packet_number, packet.first(header_len),
                   packet.subspan(header_len, payload_len), tag, path_id);
}

CryptoStatus protect_packet(ImbManager& mgr, const PacketAead& aead, const HeaderProtection& hp,
                            std::span<uint8_t> packet, size_t pn_offset, uint64_t packet_number,
                            uint32_t path_id, const uint8_t* from) {
  if (pn_offset == 0 || packet.empty()) return CryptoStatus::bad_header;
  // The sample must exist before anything is written, so a failure leaves the packet untouched.
  if (pn_offset > packet.size() || packet.size() - pn_offset < kMaxPacketNumberLen + kHpSampleLen) {
    return CryptoStatus::packet_too_short;
  }
  const size_t header_len = pn_offset + (packet[0] & 0x03) + 1;
  CryptoStatus st = seal_payload(mgr, aead, packet, header_len, packet_number, path_id, from);
  if (st != CryptoStatus::ok) return st;
  return hp.apply(mgr, packet, pn_offset);
}

CryptoStatus unprotect_packet(ImbManager& mgr, const PacketAead& aead, const HeaderProtection& hp,
                              std::span<uint8_t> packet, size_t pn_offset, int64_t largest_pn,
                              OpenedPacket& out, uint32_t path_id) {
  UnprotectedPacketNumber pn;
  CryptoStatus st = hp.remove(mgr, packet, pn_offset, pn);
  if (st != CryptoStatus::ok) return st;
  const size_t header_len = pn_offset + pn.length;
  const uint64_t packet_number = decode_packet_number(largest_pn, pn.truncated, 8u * pn.length);
  st = open_payload(mgr, aead, packet, header_len, packet_number, path_id);
  if (st != CryptoStatus::ok) {
    // The sample lies in the untouched ciphertext, so applying the mask again restores the header.
    hp.apply(mgr, packet, pn_offset);
    return st;
  }
  out.packet_number = packet_number;
  out.header_len = header_len;
  out.payload_len = packet.size() - header_len - kAeadTagLen;
  return CryptoStatus::ok;
}

}  // namespace camp::quic
