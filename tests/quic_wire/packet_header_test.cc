// Packet headers: RFC 9001 Appendix A's packets, every long type, Version Negotiation, Retry,
// short headers, coalesced packets, truncation at every byte, and the writers.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/quic/wire/packet_header.h"
#include "tests/quic_wire/test_util.h"

namespace camp::quic {
namespace {

using test::hex;
using test::view;

TEST(PacketHeader, Rfc9001ClientInitial) {
  // A.2: the unprotected header, followed by the 1182 bytes its Length covers.
  std::vector<uint8_t> pkt = hex("c300000001088394c8f03e5157080000449e00000002");
  const size_t header_len = pkt.size();
  pkt.resize(header_len - 4 + 1182, 0);
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(pkt.data(), pkt.size(), 0, h), HeaderStatus::kOk);
  EXPECT_EQ(h.type, PacketType::kInitial);
  EXPECT_EQ(h.version, kQuicVersion1);
  EXPECT_EQ(h.dcid, view(hex("8394c8f03e515708")));
  EXPECT_TRUE(h.scid.empty());
  EXPECT_TRUE(h.token.empty());
  EXPECT_EQ(h.length, 1182u);
  EXPECT_EQ(h.pn_offset, 18u);
  EXPECT_EQ(h.packet_length, pkt.size());
  EXPECT_EQ(h.first_byte & 0x03, 3);  // 4-byte packet number (before protection)

  // The writer produces the same header.
  uint8_t buf[64];
  LongHeaderFields f;
  f.type = PacketType::kInitial;
  f.dcid = h.dcid;
  f.packet_number = 2;
  f.pn_length = 4;
  f.payload_length = 1182 - 4;
  f.length_field_size = 2;
  const size_t n = write_long_header(buf, sizeof buf, f);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + n), std::vector<uint8_t>(pkt.begin(), pkt.begin() + 22));
}

TEST(PacketHeader, Rfc9001ServerInitialAndProtectedForms) {
  // A.3: unprotected header, then the payload (0x75 = 117 bytes: 2 PN + 99 + 16 tag).
  std::vector<uint8_t> pkt = hex("c1000000010008f067a5502a4262b50040750001");
  pkt.resize(pkt.size() - 2 + 0x75, 0);
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(pkt.data(), pkt.size(), 0, h), HeaderStatus::kOk);
  EXPECT_EQ(h.type, PacketType::kInitial);
  EXPECT_TRUE(h.dcid.empty());
  EXPECT_EQ(h.scid, view(hex("f067a5502a4262b5")));
  EXPECT_EQ(h.length, 0x75u);
  EXPECT_EQ(h.pn_offset, 18u);
  uint8_t buf[64];
  LongHeaderFields f;
  f.scid = h.scid;
  f.packet_number = 1;
  f.pn_length = 2;
  f.payload_length = 0x75 - 2;
  f.length_field_size = 2;
  const size_t n = write_long_header(buf, sizeof buf, f);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + n), hex("c1000000010008f067a5502a4262b50040750001"));
  // The protected form (A.3's "cf...") parses to the same layout: protected bits are not read.
  std::vector<uint8_t> prot = pkt;
  prot[0] = 0xcf;
  PacketHeader hp;
  ASSERT_EQ(parse_packet_header(prot.data(), prot.size(), 0, hp), HeaderStatus::kOk);
  EXPECT_EQ(hp.pn_offset, h.pn_offset);
  EXPECT_EQ(hp.packet_length, h.packet_length);
}

TEST(PacketHeader, Rfc9001Retry) {
  // A.4.
  const std::vector<uint8_t> pkt =
      hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(pkt.data(), pkt.size(), 0, h), HeaderStatus::kOk);
  EXPECT_EQ(h.type, PacketType::kRetry);
  EXPECT_EQ(h.scid, view(hex("f067a5502a4262b5")));
  EXPECT_EQ(h.token, view(hex("746f6b656e")));  // "token"
  EXPECT_EQ(h.retry_integrity_tag, view(hex("04a265ba2eff4d829058fb3f0f2496ba")));
  uint8_t buf[64];
  const size_t n = write_retry(buf, sizeof buf, kQuicVersion1, {}, h.scid, h.token,
                               h.retry_integrity_tag, 0x0f);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + n), pkt);
}

TEST(PacketHeader, Rfc9001ShortHeader) {
  // A.5: "4200bff4", a zero-length CID and a 3-byte packet number, then the payload.
  const std::vector<uint8_t> pkt = hex("4200bff4 01 0000000000000000000000000000000000");
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(pkt.data(), pkt.size(), 0, h), HeaderStatus::kOk);
  EXPECT_EQ(h.type, PacketType::kOneRtt);
  EXPECT_EQ(h.pn_offset, 1u);
  EXPECT_EQ(h.packet_length, pkt.size());
  uint8_t buf[16];
  EXPECT_EQ(write_short_header(buf, sizeof buf, {}, 0x00bff4, 3, false, false), 4u);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + 4), hex("4200bff4"));
}

TEST(PacketHeader, ShortHeaderWithCid) {
  const std::vector<uint8_t> cid = hex("0102030405060708");
  uint8_t buf[64] = {};
  const size_t n = write_short_header(buf, sizeof buf, view(cid), 0x1234, 2, true, true);
  ASSERT_EQ(n, 11u);
  EXPECT_EQ(buf[0], 0x40 | 0x20 | 0x04 | 0x01);
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(buf, 40, cid.size(), h), HeaderStatus::kOk);
  EXPECT_EQ(h.dcid, view(cid));
  EXPECT_EQ(h.pn_offset, 9u);
  EXPECT_EQ(h.packet_length, 40u);
  EXPECT_EQ(parse_packet_header(buf, 8, cid.size(), h), HeaderStatus::kTruncated);
  EXPECT_EQ(parse_packet_header(buf, 40, 21, h), HeaderStatus::kCidTooLong);
  buf[0] &= ~0x40;
  EXPECT_EQ(parse_packet_header(buf, 40, cid.size(), h), HeaderStatus::kFixedBitZero);
}

TEST(PacketHeader, LongTypesAndCoalescing) {
  const std::vector<uint8_t> dcid = hex("aabbccdd"), scid = hex("11223344556677");
  const std::vector<uint8_t> token = hex("7070707070");
  std::vector<uint8_t> dgram(400, 0xee);
  size_t at = 0;
  const PacketType types[3] = {PacketType::kInitial, PacketType::kZeroRtt, PacketType::kHandshake};
  std::vector<size_t> starts;
  for (PacketType t : types) {
    LongHeaderFields f;
    f.type = t;
    f.dcid = view(dcid);
    f.scid = view(scid);
    if (t == PacketType::kInitial) f.token = view(token);
    f.packet_number = 0x0102;
    f.pn_length = 2;
    f.payload_length = 40;
    starts.push_back(at);
    const size_t n = write_long_header(dgram.data() + at, dgram.size() - at, f);
    ASSERT_GT(n, 0u);
    at += n + 40;
  }
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    PacketHeader h;
    ASSERT_EQ(parse_packet_header(dgram.data() + pos, at - pos, 0, h), HeaderStatus::kOk);
    EXPECT_EQ(h.type, types[i]);
    EXPECT_EQ(h.dcid, view(dcid));
    EXPECT_EQ(h.scid, view(scid));
    EXPECT_EQ(h.token, i == 0 ? view(token) : ByteView{});
    EXPECT_EQ(h.length, 42u);
    EXPECT_EQ(dgram[pos + h.pn_offset], 0x01);
    EXPECT_EQ(dgram[pos + h.pn_offset + 1], 0x02);
    pos += h.packet_length;
  }
  EXPECT_EQ(pos, at);
  // A token is only for Initial packets.
  LongHeaderFields f;
  f.type = PacketType::kHandshake;
  f.token = view(token);
  uint8_t buf[64];
  EXPECT_EQ(write_long_header(buf, sizeof buf, f), 0u);
  f.token = {};
  f.pn_length = 5;
  EXPECT_EQ(write_long_header(buf, sizeof buf, f), 0u);
  f.pn_length = 1;
  f.payload_length = 100;
  f.length_field_size = 1;  // 101 does not fit one byte
  EXPECT_EQ(write_long_header(buf, sizeof buf, f), 0u);
  f.type = PacketType::kRetry;
  f.length_field_size = 0;
  EXPECT_EQ(write_long_header(buf, sizeof buf, f), 0u);
}

TEST(PacketHeader, EveryTruncationIsRefused) {
  // An Initial with a token: every prefix that cuts the header or the Length's reach fails.
  const std::vector<uint8_t> dcid = hex("0102030405060708"), token = hex("aabbcc");
  LongHeaderFields f;
  f.dcid = view(dcid);
  f.scid = view(dcid);
  f.token = view(token);
  f.pn_length = 4;
  f.payload_length = 20;
  std::vector<uint8_t> pkt(100);
  const size_t n = write_long_header(pkt.data(), pkt.size(), f);
  const size_t total = n + 20;
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(pkt.data(), total, 0, h), HeaderStatus::kOk);
  for (size_t cut = 0; cut < total; ++cut) {
    // Copy into an exact-size buffer so ASan catches any read past the end.
    std::vector<uint8_t> part(pkt.begin(), pkt.begin() + cut);
    EXPECT_EQ(parse_packet_header(part.data(), part.size(), 0, h), HeaderStatus::kTruncated)
        << cut;
  }
}

TEST(PacketHeader, V1Checks) {
  PacketHeader h;
  // DCID length 21 in a v1 long header.
  std::vector<uint8_t> p = hex("c0 00000001 15");
  p.resize(p.size() + 21, 0x01);
  p.push_back(0);
  p.push_back(0x01);  // Length 1
  p.push_back(0x00);
  EXPECT_EQ(parse_packet_header(p.data(), p.size(), 0, h), HeaderStatus::kCidTooLong);
  // Fixed bit 0.
  const std::vector<uint8_t> z = hex("80 00000001 00 00 00 01 00");
  EXPECT_EQ(parse_packet_header(z.data(), z.size(), 0, h), HeaderStatus::kFixedBitZero);
  // Another version: the invariant fields are still given, for Version Negotiation.
  std::vector<uint8_t> o = hex("c0 1a2a3a4a 19");
  o.resize(o.size() + 25, 0x77);
  o.push_back(0x02);
  o.push_back(0x55);
  o.push_back(0x66);
  EXPECT_EQ(parse_packet_header(o.data(), o.size(), 0, h), HeaderStatus::kUnsupportedVersion);
  EXPECT_EQ(h.version, 0x1a2a3a4au);
  EXPECT_EQ(h.dcid.size, 25u);
  EXPECT_EQ(h.scid, view(hex("5566")));
  // Retry shorter than its tag.
  const std::vector<uint8_t> r = hex("f0 00000001 00 00 0102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(parse_packet_header(r.data(), r.size(), 0, h), HeaderStatus::kTruncated);
  EXPECT_EQ(parse_packet_header(nullptr, 0, 0, h), HeaderStatus::kTruncated);
}

TEST(PacketHeader, VersionNegotiation) {
  const std::vector<uint8_t> dcid(30, 0xd1), scid = hex("5c");
  const uint32_t versions[3] = {kQuicVersion1, 0x6b3343cf, 0x1a2a3a4a};
  uint8_t buf[128];
  const size_t n = write_version_negotiation(buf, sizeof buf, view(dcid), view(scid), versions, 3,
                                             0x2a);
  ASSERT_EQ(n, 1 + 4 + 1 + 30 + 1 + 1 + 12u);
  EXPECT_EQ(buf[0], 0x80 | 0x2a);
  PacketHeader h;
  ASSERT_EQ(parse_packet_header(buf, n, 0, h), HeaderStatus::kOk);
  EXPECT_EQ(h.type, PacketType::kVersionNegotiation);
  EXPECT_EQ(h.version, 0u);
  EXPECT_EQ(h.dcid, view(dcid));  // longer than 20: allowed here
  EXPECT_EQ(h.scid, view(scid));
  ASSERT_EQ(h.supported_version_count(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(h.supported_version(i), versions[i]);
  EXPECT_EQ(parse_packet_header(buf, n - 1, 0, h), HeaderStatus::kBadVersionNegotiation);
  EXPECT_EQ(parse_packet_header(buf, n - 12, 0, h), HeaderStatus::kBadVersionNegotiation);
  EXPECT_EQ(write_version_negotiation(buf, sizeof buf, {}, {}, versions, 0), 0u);
  EXPECT_EQ(write_version_negotiation(buf, 10, {}, {}, versions, 3), 0u);
}

}  // namespace
}  // namespace camp::quic
