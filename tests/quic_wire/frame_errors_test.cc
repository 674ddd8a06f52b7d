// Frames the parser must refuse, each with the RFC's transport error code, and the packet types
// each frame may appear in (RFC 9000 12.4 Table 3 plus the extensions).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/quic_wire/test_util.h"

namespace camp::quic {
namespace {

using test::all_extensions;
using test::hex;
using test::parse_one;

constexpr auto kOk = TransportError::NO_ERROR;
constexpr auto kEnc = TransportError::FRAME_ENCODING_ERROR;
constexpr auto kPv = TransportError::PROTOCOL_VIOLATION;
constexpr PacketType k1Rtt = PacketType::kOneRtt;

TransportError err(const std::string& h, PacketType pt = k1Rtt,
                   const FrameParseOptions& o = all_extensions()) {
  Frame f;
  const std::vector<uint8_t> b = hex(h);
  const FrameParseResult r = parse_frame(b.data(), b.size(), pt, o, f);
  if (r.ok() && r.consumed != b.size()) return TransportError::INTERNAL_ERROR;  // test typo
  return r.error;
}

const std::string kTok = "00112233445566778899aabbccddeeff";

TEST(FrameErrors, UnknownTypes) {
  EXPECT_EQ(err("20"), kEnc);
  EXPECT_EQ(err("21"), kEnc);
  EXPECT_EQ(err("2f"), kEnc);
  EXPECT_EQ(err("3d"), kEnc);
  EXPECT_EQ(err("4040"), kEnc);  // 0x40: minimal two-byte type, unknown
  EXPECT_EQ(err("7fff"), kEnc);
  EXPECT_EQ(err("7e74 00"), kEnc);
  EXPECT_EQ(err("7e7d 00 00"), kEnc);
  EXPECT_EQ(err("80abcdef"), kEnc);
  Frame f;
  const FrameParseResult r = parse_one(hex("40ab"), f);
  EXPECT_EQ(r.error, kEnc);
  EXPECT_EQ(r.frame_type, 0xabu);  // reported for CONNECTION_CLOSE's Frame Type
  EXPECT_EQ(err(""), kEnc);        // no type at all
  EXPECT_EQ(err("40"), kEnc);      // a truncated type
}

TEST(FrameErrors, NonMinimalTypeEncoding) {
  EXPECT_EQ(err("4001"), kPv);                 // PING in two bytes: RFC 9000 12.4's example
  EXPECT_EQ(err("4000"), kPv);                 // PADDING in two bytes
  EXPECT_EQ(err("8000001e"), kPv);             // HANDSHAKE_DONE in four
  EXPECT_EQ(err("c000000000000010 00"), kPv);  // MAX_DATA in eight
  EXPECT_EQ(err("800000af 00 00 00 00"), kPv); // ACK_FREQUENCY in four instead of two
  EXPECT_EQ(err("80003e75 01 00"), kPv);       // PATH_ABANDON in four instead of two
  EXPECT_EQ(err("40af 00 00 00 00"), kOk);     // the two-byte forms are the minimal ones
  EXPECT_EQ(err("7e75 01 00"), kOk);
}

TEST(FrameErrors, ExtensionsNotNegotiated) {
  const FrameParseOptions none;  // RFC 9000 alone
  EXPECT_EQ(err("31 01 aa", k1Rtt, none), kPv);  // RFC 9221 3: DATAGRAM unsupported
  EXPECT_EQ(err("30 aa", k1Rtt, none), kPv);
  EXPECT_EQ(err("7e75 01 00", k1Rtt, none), kEnc);  // unknown without multipath
  EXPECT_EQ(err("3e 00 00 00 00 00", k1Rtt, none), kEnc);
  EXPECT_EQ(err("7e7a 05", k1Rtt, none), kEnc);
  EXPECT_EQ(err("1f", k1Rtt, none), kEnc);  // IMMEDIATE_ACK without ack-frequency
  EXPECT_EQ(err("40af 00 00 00 00", k1Rtt, none), kEnc);
  EXPECT_EQ(err("01", k1Rtt, none), kOk);
}

TEST(FrameErrors, DatagramSizeLimit) {
  FrameParseOptions o = all_extensions();
  o.max_datagram_frame_size = 5;  // the whole frame: type + length + data
  EXPECT_EQ(err("31 03 aabbcc", k1Rtt, o), kOk);
  EXPECT_EQ(err("31 04 aabbccdd", k1Rtt, o), kPv);
  EXPECT_EQ(err("30 aabbccdd", k1Rtt, o), kOk);
  EXPECT_EQ(err("30 aabbccddee", k1Rtt, o), kPv);
}

TEST(FrameErrors, StreamAndCryptoOffsetLimit) {
  // 2^62-1 = 0xffffffffffffffff as a varint; offset + length may reach it but not pass it.
  EXPECT_EQ(err("0e 00 fffffffffffffffe 01 aa"), kOk);
  EXPECT_EQ(err("0e 00 fffffffffffffffe 02 aabb"), kEnc);
  EXPECT_EQ(err("0c 00 ffffffffffffffff aa"), kEnc);  // no LEN: to the end of the packet
  EXPECT_EQ(err("0c 00 ffffffffffffffff"), kOk);      // empty at the very end is fine
  EXPECT_EQ(err("06 fffffffffffffffe 01 aa"), kOk);
  EXPECT_EQ(err("06 fffffffffffffffe 02 aabb"), kEnc);
  // A length larger than the packet is a truncation.
  EXPECT_EQ(err("0a 00 05 aabb"), kEnc);
  EXPECT_EQ(err("06 00 bfffffff aabb"), kEnc);
}

TEST(FrameErrors, StreamLimits) {
  EXPECT_EQ(err("12 d000000000000000"), kOk);  // 2^60
  EXPECT_EQ(err("12 d000000000000001"), kEnc);
  EXPECT_EQ(err("13 d000000000000001"), kEnc);
  EXPECT_EQ(err("16 d000000000000000"), kOk);
  EXPECT_EQ(err("16 d000000000000001"), kEnc);
  EXPECT_EQ(err("17 ffffffffffffffff"), kEnc);
}

TEST(FrameErrors, NewConnectionId) {
  EXPECT_EQ(err("18 01 00 01 aa" + kTok), kOk);
  EXPECT_EQ(err("18 01 00 00" + kTok), kEnc);  // zero-length CID
  EXPECT_EQ(err("18 01 00 14" + std::string(40, 'c') + kTok), kOk);
  EXPECT_EQ(err("18 01 00 15" + std::string(42, 'c') + kTok), kEnc);  // 21 bytes
  EXPECT_EQ(err("18 01 01 01 aa" + kTok), kOk);  // retire_prior_to == sequence
  EXPECT_EQ(err("18 01 02 01 aa" + kTok), kEnc);
  EXPECT_EQ(err("18 01 00 01 aa" + kTok.substr(2)), kEnc);  // 15-byte token
  // PATH_NEW_CONNECTION_ID: the same rules, plus a path ID within 32 bits.
  EXPECT_EQ(err("7e78 03 01 00 01 aa" + kTok), kOk);
  EXPECT_EQ(err("7e78 03 01 00 00" + kTok), kEnc);
  EXPECT_EQ(err("7e78 03 01 02 01 aa" + kTok), kEnc);
  EXPECT_EQ(err("7e78 c000000100000000 01 00 01 aa" + kTok), kPv);
}

TEST(FrameErrors, NewTokenAndRoles) {
  EXPECT_EQ(err("07 00"), kEnc);  // empty token (19.7)
  FrameParseOptions server = all_extensions(), client = all_extensions();
  server.local_role = Role::kServer;
  client.local_role = Role::kClient;
  EXPECT_EQ(err("07 01 aa", k1Rtt, server), kPv);  // clients may not send NEW_TOKEN
  EXPECT_EQ(err("07 01 aa", k1Rtt, client), kOk);
  EXPECT_EQ(err("1e", k1Rtt, server), kPv);  // nor HANDSHAKE_DONE (19.20)
  EXPECT_EQ(err("1e", k1Rtt, client), kOk);
}

TEST(FrameErrors, MultipathPathIds) {
  const std::string big = "c000000100000000";  // 2^32
  EXPECT_EQ(err("7e75 bfffffff 00"), kOk);
  EXPECT_EQ(err("7e75 " + big + " 00"), kPv);
  EXPECT_EQ(err("7e76 " + big + " 00"), kPv);
  EXPECT_EQ(err("7e77 " + big + " 00"), kPv);
  EXPECT_EQ(err("7e79 " + big + " 00"), kPv);
  EXPECT_EQ(err("7e7a " + big), kPv);
  EXPECT_EQ(err("7e7a c0000000ffffffff"), kOk);
  EXPECT_EQ(err("7e7b " + big), kPv);
  EXPECT_EQ(err("7e7c " + big + " 00"), kPv);
  EXPECT_EQ(err("3e " + big + " 00 00 00 00"), kPv);
  EXPECT_EQ(err("3e c0000000ffffffff 00 00 00 00"), kOk);
}

TEST(FrameErrors, AckFrequency) {
  // Requested Max Ack Delay is in microseconds and must stay below 2^14 ms.
  EXPECT_EQ(err("40af 00 00 80f9ffff 00"), kOk);   // 16383999
  EXPECT_EQ(err("40af 00 00 80fa0000 00"), kPv);   // 16384000
  FrameParseOptions o = all_extensions();
  o.min_ack_delay_us = 1000;
  EXPECT_EQ(err("40af 00 00 43e8 00", k1Rtt, o), kOk);  // 1000
  EXPECT_EQ(err("40af 00 00 43e7 00", k1Rtt, o), kPv);  // 999 < min_ack_delay
}

TEST(FrameErrors, EmptyPayloadAndReaderError) {
  FrameReader empty(nullptr, 0, k1Rtt);
  Frame f;
  EXPECT_FALSE(empty.next(f));
  EXPECT_EQ(empty.error(), kPv);  // 12.4: a packet with no frames

  const std::vector<uint8_t> b = hex("01 01 08 00");  // PING PING STREAM(0x08) in Handshake
  FrameReader rd(b.data(), b.size(), PacketType::kHandshake);
  EXPECT_TRUE(rd.next(f));
  EXPECT_TRUE(rd.next(f));
  EXPECT_FALSE(rd.next(f));
  EXPECT_EQ(rd.error(), kPv);
  EXPECT_EQ(rd.error_frame_type(), 0x08u);
  EXPECT_EQ(rd.offset(), 2u);
  EXPECT_FALSE(rd.next(f));  // stays failed
}

// One valid encoding of each frame type, for the permission table.
struct TypeCase {
  uint64_t type;
  std::string bytes;
  const char* pkts;  // "IH01" as in Table 3, '_' where not allowed
};

const std::vector<TypeCase> kCases = {
    {0x00, "00", "IH01"},
    {0x01, "01", "IH01"},
    {0x02, "02 00 00 00 00", "IH_1"},
    {0x03, "03 00 00 00 00 00 00 00", "IH_1"},
    {0x04, "04 00 00 00", "__01"},
    {0x05, "05 00 00", "__01"},
    {0x06, "06 00 00", "IH_1"},
    {0x07, "07 01 aa", "___1"},
    {0x08, "08 00", "__01"},
    {0x09, "09 00", "__01"},
    {0x0a, "0a 00 00", "__01"},
    {0x0b, "0b 00 00", "__01"},
    {0x0c, "0c 00 00", "__01"},
    {0x0d, "0d 00 00", "__01"},
    {0x0e, "0e 00 00 00", "__01"},
    {0x0f, "0f 00 00 00", "__01"},
    {0x10, "10 00", "__01"},
    {0x11, "11 00 00", "__01"},
    {0x12, "12 00", "__01"},
    {0x13, "13 00", "__01"},
    {0x14, "14 00", "__01"},
    {0x15, "15 00 00", "__01"},
    {0x16, "16 00", "__01"},
    {0x17, "17 00", "__01"},
    {0x18, "18 00 00 01 aa" + kTok, "__01"},
    {0x19, "19 00", "__01"},
    {0x1a, "1a 0001020304050607", "__01"},
    {0x1b, "1b 0001020304050607", "___1"},
    {0x1c, "1c 00 00 00", "IH01"},
    {0x1d, "1d 00 00", "__01"},
    {0x1e, "1e", "___1"},
    {0x1f, "1f", "___1"},
    {0xaf, "40af 00 00 00 00", "___1"},
    {0x30, "30", "__01"},
    {0x31, "31 00", "__01"},
    {0x3e, "3e 00 00 00 00 00", "___1"},
    {0x3f, "3f 00 00 00 00 00 00 00 00", "___1"},
    {0x3e75, "7e75 00 00", "___1"},
    {0x3e76, "7e76 00 00", "___1"},
    {0x3e77, "7e77 00 00", "___1"},
    {0x3e78, "7e78 00 00 00 01 aa" + kTok, "___1"},
    {0x3e79, "7e79 00 00", "___1"},
    {0x3e7a, "7e7a 00", "___1"},
    {0x3e7b, "7e7b 00", "___1"},
    {0x3e7c, "7e7c 00 00", "___1"},
};

TEST(FramePermissions, Table3) {
  const PacketType order[4] = {PacketType::kInitial, PacketType::kHandshake, PacketType::kZeroRtt,
                               PacketType::kOneRtt};
  for (const TypeCase& c : kCases) {
    for (int i = 0; i < 4; ++i) {
      SCOPED_TRACE(testing::Message() << "type 0x" << std::hex << c.type << " in "
                                      << to_string(order[i]));
      const bool allowed = c.pkts[i] != '_';
      EXPECT_EQ(frame_allowed_in(c.type, order[i]), allowed);
      Frame f;
      const std::vector<uint8_t> b = hex(c.bytes);
      const FrameParseResult r = parse_frame(b.data(), b.size(), order[i], all_extensions(), f);
      EXPECT_EQ(r.error, allowed ? kOk : kPv);
      EXPECT_EQ(r.frame_type, c.type);
      if (allowed) {
        EXPECT_EQ(r.consumed, b.size());
        EXPECT_EQ(frame_type_of(f), c.type);
      }
    }
    // Retry and Version Negotiation packets carry no frames at all.
    Frame f;
    EXPECT_EQ(err(c.bytes, PacketType::kRetry), kPv);
    EXPECT_EQ(err(c.bytes, PacketType::kVersionNegotiation), kPv);
  }
}

TEST(FramePermissions, EveryKnownTypeIsCovered) {
  size_t known = 0;
  for (uint64_t t = 0; t < 0x4000; ++t) known += frame_type_known(t);
  EXPECT_EQ(known, kCases.size());
}

}  // namespace
}  // namespace camp::quic

namespace camp::quic {
namespace {

bool is_multipath_case(uint64_t type) { return type == 0x3e || type == 0x3f || type >= 0x3e75; }

// multipath-21 4: a multipath frame outside 1-RTT is a PROTOCOL_VIOLATION. During the handshake
// the peer's initial_max_path_id may still be unknown, so having offered it is enough.
TEST(FrameErrors, MultipathFrameInHandshakeIsProtocolViolation) {
  FrameParseOptions offered;
  offered.multipath_offered = true;
  size_t checked = 0;
  for (const TypeCase& c : kCases) {
    if (!is_multipath_case(c.type)) continue;
    SCOPED_TRACE(testing::Message() << "type 0x" << std::hex << c.type);
    EXPECT_EQ(err(c.bytes, PacketType::kInitial, offered), kPv);
    EXPECT_EQ(err(c.bytes, PacketType::kHandshake, offered), kPv);
    EXPECT_EQ(err(c.bytes, PacketType::kZeroRtt, offered), kPv);
    // Frame Type for CONNECTION_CLOSE is the refused frame's.
    Frame f;
    const std::vector<uint8_t> b = hex(c.bytes);
    EXPECT_EQ(parse_frame(b.data(), b.size(), PacketType::kHandshake, offered, f).frame_type,
              c.type);
    ++checked;
  }
  EXPECT_EQ(checked, 10u);  // PATH_ACK, PATH_ACK_ECN and 0x3e75..0x3e7c
  // Non-multipath frames in the same packets are unaffected by the offer.
  EXPECT_EQ(err("01", PacketType::kHandshake, offered), kOk);
  EXPECT_EQ(err("08 00", PacketType::kHandshake, offered), kPv);  // STREAM: RFC 9000 rule
}

// Not offered by us, or offered but the peer sent no initial_max_path_id: the types mean nothing
// to this connection, so they are unknown frames (RFC 9000 12.4) in every packet type.
TEST(FrameErrors, MultipathFrameWithoutNegotiationIsEncodingError) {
  FrameParseOptions none;
  FrameParseOptions offered_only;
  offered_only.multipath_offered = true;
  const PacketType all[4] = {PacketType::kInitial, PacketType::kHandshake, PacketType::kZeroRtt,
                             PacketType::kOneRtt};
  for (const TypeCase& c : kCases) {
    if (!is_multipath_case(c.type)) continue;
    SCOPED_TRACE(testing::Message() << "type 0x" << std::hex << c.type);
    for (PacketType pt : all) EXPECT_EQ(err(c.bytes, pt, none), kEnc);
    EXPECT_EQ(err(c.bytes, k1Rtt, offered_only), kEnc);  // 1-RTT: negotiation decides
    FrameParseOptions negotiated = offered_only;
    negotiated.multipath = true;
    EXPECT_EQ(err(c.bytes, k1Rtt, negotiated), kOk);
    EXPECT_EQ(err(c.bytes, PacketType::kHandshake, negotiated), kPv);
  }
}

}  // namespace
}  // namespace camp::quic
