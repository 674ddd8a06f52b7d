#include "dataplane/quic/wire/packet_header.h"

#include <cstring>

#include "dataplane/quic/wire/reader.h"

namespace camp::quic {

using wire_detail::Reader;
using wire_detail::Writer;

namespace {
constexpr uint8_t kHeaderForm = 0x80;
constexpr uint8_t kFixedBit = 0x40;
constexpr uint8_t kSpinBit = 0x20;
constexpr uint8_t kKeyPhase = 0x04;

// Long Packet Type values (RFC 9000 Table 5).
constexpr uint8_t kLongInitial = 0;
constexpr uint8_t kLongZeroRtt = 1;
constexpr uint8_t kLongHandshake = 2;
constexpr uint8_t kLongRetry = 3;

bool long_type_bits(PacketType t, uint8_t& bits) {
  switch (t) {
    case PacketType::kInitial: bits = kLongInitial; return true;
    case PacketType::kZeroRtt: bits = kLongZeroRtt; return true;
    case PacketType::kHandshake: bits = kLongHandshake; return true;
    default: return false;
  }
}
}  // namespace

const char* to_string(HeaderStatus s) {
  switch (s) {
    case HeaderStatus::kOk: return "ok";
    case HeaderStatus::kTruncated: return "truncated";
    case HeaderStatus::kFixedBitZero: return "fixed_bit_zero";
    case HeaderStatus::kCidTooLong: return "cid_too_long";
    case HeaderStatus::kUnsupportedVersion: return "unsupported_version";
    case HeaderStatus::kBadVersionNegotiation: return "bad_version_negotiation";
  }
  return "unknown";
}

uint32_t PacketHeader::supported_version(size_t i) const {
  const uint8_t* p = supported_versions.data + 4 * i;
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

HeaderStatus parse_packet_header(const uint8_t* datagram, size_t size, size_t short_dcid_length,
                                 PacketHeader& out) {
  out = PacketHeader{};
  Reader r{datagram, size};
  uint8_t b0;
  if (!r.u8(b0)) return HeaderStatus::kTruncated;
  out.first_byte = b0;

  if (!(b0 & kHeaderForm)) {  // 17.3.1 1-RTT
    if (!(b0 & kFixedBit)) return HeaderStatus::kFixedBitZero;
    if (short_dcid_length > kMaxCidLength) return HeaderStatus::kCidTooLong;
    if (!r.bytes(short_dcid_length, out.dcid)) return HeaderStatus::kTruncated;
    out.type = PacketType::kOneRtt;
    out.pn_offset = r.pos;
    out.packet_length = size;
    return HeaderStatus::kOk;
  }

  // Version-independent part (RFC 8999): CIDs up to 255 bytes for other versions.
  uint8_t dcid_len, scid_len;
  if (!r.u32(out.version) || !r.u8(dcid_len) || !r.bytes(dcid_len, out.dcid) ||
      !r.u8(scid_len) || !r.bytes(scid_len, out.scid)) {
    return HeaderStatus::kTruncated;
  }
  if (out.version == 0) {  // 17.2.1: the fixed bit is unused here
    out.type = PacketType::kVersionNegotiation;
    if (r.left() == 0 || r.left() % 4 != 0) return HeaderStatus::kBadVersionNegotiation;
    r.bytes(r.left(), out.supported_versions);
    out.pn_offset = r.pos;
    out.packet_length = size;
    return HeaderStatus::kOk;
  }
  if (out.version != kQuicVersion1) return HeaderStatus::kUnsupportedVersion;
  if (!(b0 & kFixedBit)) return HeaderStatus::kFixedBitZero;
  if (dcid_len > kMaxCidLength || scid_len > kMaxCidLength) return HeaderStatus::kCidTooLong;

  const uint8_t long_type = (b0 >> 4) & 0x03;
  if (long_type == kLongRetry) {  // 17.2.5: Retry Token then a 16-byte tag, to the end
    out.type = PacketType::kRetry;
    if (r.left() < kRetryIntegrityTagLength) return HeaderStatus::kTruncated;
    r.bytes(r.left() - kRetryIntegrityTagLength, out.token);
    r.bytes(kRetryIntegrityTagLength, out.retry_integrity_tag);
    out.pn_offset = r.pos;
    out.packet_length = size;
    return HeaderStatus::kOk;
  }
  out.type = long_type == kLongInitial   ? PacketType::kInitial
             : long_type == kLongZeroRtt ? PacketType::kZeroRtt
                                         : PacketType::kHandshake;
  if (out.type == PacketType::kInitial) {
    uint64_t token_len;
    if (!r.varint(token_len) || !r.bytes(token_len, out.token)) return HeaderStatus::kTruncated;
  }
  if (!r.varint(out.length)) return HeaderStatus::kTruncated;
  // Length covers Packet Number and payload; it may not run past the datagram (17.2).
  if (out.length > r.left()) return HeaderStatus::kTruncated;
  out.pn_offset = r.pos;
  out.packet_length = r.pos + static_cast<size_t>(out.length);
  return HeaderStatus::kOk;
}

size_t write_long_header(uint8_t* buf, size_t cap, const LongHeaderFields& h) {
  uint8_t type_bits;
  if (buf == nullptr || !long_type_bits(h.type, type_bits) || h.pn_length < 1 ||
      h.pn_length > 4 || h.dcid.size > kMaxCidLength || h.scid.size > kMaxCidLength ||
      (h.type != PacketType::kInitial && !h.token.empty()) || h.payload_length > varint::kMax) {
    return 0;
  }
  const uint64_t length = h.payload_length + h.pn_length;
  const size_t length_size = h.length_field_size ? h.length_field_size : varint::size(length);
  Writer w{buf, cap};
  w.u8(static_cast<uint8_t>(kHeaderForm | kFixedBit | type_bits << 4 | (h.pn_length - 1)));
  w.uint(h.version, 4);
  w.u8(static_cast<uint8_t>(h.dcid.size));
  w.bytes(h.dcid);
  w.u8(static_cast<uint8_t>(h.scid.size));
  w.bytes(h.scid);
  if (h.type == PacketType::kInitial) {
    w.varint(h.token.size);
    w.bytes(h.token);
  }
  w.varint_len(length, length_size);
  w.uint(h.packet_number, h.pn_length);  // the low pn_length bytes
  return w.result();
}

size_t write_short_header(uint8_t* buf, size_t cap, ByteView dcid, uint64_t packet_number,
                          size_t pn_length, bool spin_bit, bool key_phase) {
  if (buf == nullptr || pn_length < 1 || pn_length > 4 || dcid.size > kMaxCidLength) return 0;
  // Written directly, not through a Writer: one per 1-RTT packet sent.
  const size_t len = 1 + dcid.size + pn_length;
  if (cap < len) return 0;
  buf[0] = static_cast<uint8_t>(kFixedBit | (spin_bit ? kSpinBit : 0) | (key_phase ? kKeyPhase : 0) |
                                (pn_length - 1));
  if (dcid.size) std::memcpy(buf + 1, dcid.data, dcid.size);
  uint8_t* pn = buf + 1 + dcid.size;
  for (size_t i = pn_length; i-- > 0; packet_number >>= 8) pn[i] = static_cast<uint8_t>(packet_number);
  return len;
}

size_t write_version_negotiation(uint8_t* buf, size_t cap, ByteView dcid, ByteView scid,
                                 const uint32_t* versions, size_t version_count, uint8_t unused) {
  if (buf == nullptr || version_count == 0 || dcid.size > 255 || scid.size > 255) return 0;
  Writer w{buf, cap};
  w.u8(static_cast<uint8_t>(kHeaderForm | (unused & 0x7f)));
  w.uint(0, 4);
  w.u8(static_cast<uint8_t>(dcid.size));
  w.bytes(dcid);
  w.u8(static_cast<uint8_t>(scid.size));
  w.bytes(scid);
  for (size_t i = 0; i < version_count && w.ok; ++i) w.uint(versions[i], 4);
  return w.result();
}

size_t write_retry(uint8_t* buf, size_t cap, uint32_t version, ByteView dcid, ByteView scid,
                   ByteView token, ByteView integrity_tag, uint8_t unused) {
  if (buf == nullptr || version == 0 || dcid.size > kMaxCidLength ||
      scid.size > kMaxCidLength || integrity_tag.size != kRetryIntegrityTagLength) {
    return 0;
  }
  Writer w{buf, cap};
  w.u8(static_cast<uint8_t>(kHeaderForm | kFixedBit | kLongRetry << 4 | (unused & 0x0f)));
  w.uint(version, 4);
  w.u8(static_cast<uint8_t>(dcid.size));
  w.bytes(dcid);
  w.u8(static_cast<uint8_t>(scid.size));
  w.bytes(scid);
  w.bytes(token);
  w.bytes(integrity_tag);
  return w.result();
}

}  // namespace camp::quic
