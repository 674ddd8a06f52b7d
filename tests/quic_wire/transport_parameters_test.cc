// Transport parameters: the RFC 9001 A.2 client's parameters, round trips, defaults, grease, and
// every TRANSPORT_PARAMETER_ERROR.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/quic/wire/transport_parameters.h"
#include "tests/quic_wire/test_util.h"

namespace camp::quic {
namespace {

using test::hex;
using test::view;

constexpr auto kTpe = TransportError::TRANSPORT_PARAMETER_ERROR;
constexpr auto kOk = TransportError::NO_ERROR;

TransportError dec(const std::string& h, Role sender = Role::kServer) {
  const std::vector<uint8_t> b = hex(h);
  TransportParameters tp;
  return decode_transport_parameters(b.data(), b.size(), sender, tp);
}

TransportParameters full_server() {
  TransportParameters tp;
  tp.original_destination_connection_id = ConnectionId(view(hex("8394c8f03e515708")));
  tp.max_idle_timeout = 30000;
  tp.stateless_reset_token.emplace();
  for (size_t i = 0; i < 16; ++i) (*tp.stateless_reset_token)[i] = static_cast<uint8_t>(i * 17);
  tp.max_udp_payload_size = 1200;
  tp.initial_max_data = varint::kMax;
  tp.initial_max_stream_data_bidi_local = 1;
  tp.initial_max_stream_data_bidi_remote = 1 << 20;
  tp.initial_max_stream_data_uni = 1u << 30;
  tp.initial_max_streams_bidi = kMaxStreamsLimit;
  tp.initial_max_streams_uni = 100;
  tp.ack_delay_exponent = 20;
  tp.max_ack_delay = (1 << 14) - 1;
  tp.disable_active_migration = true;
  PreferredAddress pa;
  pa.ipv4_address = {192, 0, 2, 1};
  pa.ipv4_port = 443;
  pa.ipv6_address[0] = 0x20;
  pa.ipv6_address[1] = 0x01;
  pa.ipv6_address[15] = 0x01;
  pa.ipv6_port = 4433;
  pa.connection_id = ConnectionId(view(std::vector<uint8_t>(20, 0xab)));
  pa.stateless_reset_token.fill(0x5e);
  tp.preferred_address = pa;
  tp.active_connection_id_limit = 8;
  tp.initial_source_connection_id = ConnectionId(view(hex("f067a5502a4262b5")));
  tp.retry_source_connection_id = ConnectionId();  // zero length is a valid CID
  tp.max_datagram_frame_size = 65535;
  tp.initial_max_path_id = 0xffffffff;
  tp.min_ack_delay = 1000;
  return tp;
}

TEST(TransportParameters, Rfc9001ClientHelloParameters) {
  // RFC 9001 A.2: the quic_transport_parameters extension (0x39) of the client's ClientHello.
  const std::vector<uint8_t> b = hex(
      "0408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f08"
      "8394c8f03e51570806048000ffff");
  ASSERT_EQ(b.size(), 0x32u);
  TransportParameters tp;
  ASSERT_EQ(decode_transport_parameters(b.data(), b.size(), Role::kClient, tp), kOk);
  EXPECT_EQ(tp.initial_max_data, varint::kMax);
  EXPECT_EQ(tp.initial_max_stream_data_bidi_local, 65535u);
  EXPECT_EQ(tp.initial_max_stream_data_bidi_remote, 65535u);
  EXPECT_EQ(tp.initial_max_stream_data_uni, 65535u);
  EXPECT_EQ(tp.initial_max_streams_bidi, 16u);
  EXPECT_EQ(tp.initial_max_streams_uni, 16u);
  EXPECT_EQ(tp.max_idle_timeout, 30000u);
  ASSERT_TRUE(tp.initial_source_connection_id);
  EXPECT_EQ(tp.initial_source_connection_id->view(), view(hex("8394c8f03e515708")));
  // Defaults for what was left out.
  EXPECT_EQ(tp.max_udp_payload_size, 65527u);
  EXPECT_EQ(tp.ack_delay_exponent, 3u);
  EXPECT_EQ(tp.max_ack_delay, 25u);
  EXPECT_EQ(tp.active_connection_id_limit, 2u);
  EXPECT_FALSE(tp.max_datagram_frame_size);
  // Re-encoding gives the same set (in this encoder's order) and decodes back equal.
  uint8_t buf[128];
  const size_t n = encode_transport_parameters(tp, Role::kClient, buf, sizeof buf);
  ASSERT_GT(n, 0u);
  EXPECT_LE(n, b.size());  // the RFC's 4-byte values shrink to their shortest form
  TransportParameters again;
  ASSERT_EQ(decode_transport_parameters(buf, n, Role::kClient, again), kOk);
  EXPECT_EQ(again, tp);
}

TEST(TransportParameters, FullRoundTrip) {
  const TransportParameters tp = full_server();
  uint8_t buf[512];
  const size_t n = encode_transport_parameters(tp, Role::kServer, buf, sizeof buf, 5);
  ASSERT_GT(n, 0u);
  TransportParameters got;
  ASSERT_EQ(decode_transport_parameters(buf, n, Role::kServer, got), kOk);
  EXPECT_EQ(got, tp);
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, n - 1, 5), 0u);
  // A client may not send the server-only ones: the encoder refuses, as the decoder does.
  EXPECT_EQ(encode_transport_parameters(tp, Role::kClient, buf, sizeof buf), 0u);
  // Without the grease parameter (ID 182: 2 bytes, then an empty length byte).
  ASSERT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), n - 3);
  EXPECT_EQ(decode_transport_parameters(buf, n - 3, Role::kClient, got), kTpe);
  EXPECT_EQ(got, TransportParameters{});  // left at defaults on error
}

TEST(TransportParameters, EmptyAndUnknownAndGrease) {
  EXPECT_EQ(dec(""), kOk);
  // Grease 31*1+27 = 58 (0x3a) with 3 bytes, an unknown 2-byte ID, a large unknown ID; twice
  // each: only known parameters count as duplicates.
  EXPECT_EQ(dec("3a 03 010203 3a 00 4123 01 ff bfffffff 00 bfffffff 00"), kOk);
  EXPECT_EQ(dec("3a 05 0102"), kTpe);  // value runs past the end
  EXPECT_EQ(dec("3a"), kTpe);          // no length
  EXPECT_EQ(dec("40"), kTpe);          // truncated ID
}

TEST(TransportParameters, Duplicates) {
  EXPECT_EQ(dec("01 01 05 01 01 05"), kTpe);
  EXPECT_EQ(dec("0c 00 0c 00"), kTpe);
  EXPECT_EQ(dec("20 01 00 20 01 00"), kTpe);
  EXPECT_EQ(dec("3e 01 00 3e 01 00"), kTpe);
  EXPECT_EQ(dec("c0000000ff04de1b 01 00 c0000000ff04de1b 01 00"), kTpe);
  EXPECT_EQ(dec("0f 00 0f 00"), kTpe);
}

TEST(TransportParameters, BadValues) {
  EXPECT_EQ(dec("03 02 44af"), kTpe);  // max_udp_payload_size 1199
  EXPECT_EQ(dec("03 02 44b0"), kOk);   // 1200
  EXPECT_EQ(dec("0a 01 15"), kTpe);    // ack_delay_exponent 21
  EXPECT_EQ(dec("0a 01 14"), kOk);     // 20
  EXPECT_EQ(dec("0b 04 80004000"), kTpe);  // max_ack_delay 2^14
  EXPECT_EQ(dec("0b 02 7fff"), kOk);       // 2^14 - 1
  EXPECT_EQ(dec("0e 01 01"), kTpe);        // active_connection_id_limit 1
  EXPECT_EQ(dec("0e 01 02"), kOk);
  EXPECT_EQ(dec("08 08 d000000000000001"), kTpe);  // initial_max_streams_bidi 2^60 + 1
  EXPECT_EQ(dec("09 08 d000000000000001"), kTpe);
  EXPECT_EQ(dec("08 08 d000000000000000"), kOk);
  EXPECT_EQ(dec("3e 08 c000000100000000"), kTpe);  // initial_max_path_id 2^32
  EXPECT_EQ(dec("3e 04 bfffffff"), kOk);
  // min_ack_delay (us) above max_ack_delay (ms), with either order of the two.
  EXPECT_EQ(dec("c0000000ff04de1b 04 80006590"), kTpe);  // 26000 > 25 ms default
  EXPECT_EQ(dec("c0000000ff04de1b 02 61a8"), kOk);        // 25000
  EXPECT_EQ(dec("c0000000ff04de1b 04 80006590 0b 01 1a"), kOk);  // max_ack_delay 26
  EXPECT_EQ(dec("0b 01 05 c0000000ff04de1b 02 6000"), kTpe);  // 8192 us > 5 ms
}

TEST(TransportParameters, MalformedValues) {
  EXPECT_EQ(dec("01 00"), kTpe);        // integer with no bytes
  EXPECT_EQ(dec("01 02 05 00"), kTpe);  // integer not filling its length
  EXPECT_EQ(dec("01 02 4005"), kOk);    // a two-byte varint filling it exactly
  EXPECT_EQ(dec("01 01 40"), kTpe);     // integer truncated inside the value
  EXPECT_EQ(dec("0c 01 00"), kTpe);     // disable_active_migration must be empty
  EXPECT_EQ(dec("02 0f 000102030405060708090a0b0c0d0e"), kTpe);        // 15-byte token
  EXPECT_EQ(dec("02 10 000102030405060708090a0b0c0d0e0f"), kOk);
  EXPECT_EQ(dec("0f 15 " + std::string(42, 'a')), kTpe);  // 21-byte CID
  EXPECT_EQ(dec("0f 14 " + std::string(40, 'a')), kOk);
  EXPECT_EQ(dec("00 15 " + std::string(42, 'a')), kTpe);
  EXPECT_EQ(dec("10 15 " + std::string(42, 'a')), kTpe);
}

TEST(TransportParameters, PreferredAddress) {
  const std::string addr = "c0000201 01bb 20010000000000000000000000000001 1151";
  const std::string token = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
  // 4+2+16+2 + 1 + 4 + 16 = 45 = 0x2d
  EXPECT_EQ(dec("0d 2d " + addr + " 04 01020304 " + token), kOk);
  EXPECT_EQ(dec("0d 29 " + addr + " 00 " + token), kTpe);  // zero-length CID
  std::string cid21(42, '7');
  EXPECT_EQ(dec("0d 3e " + addr + " 15 " + cid21 + token), kTpe);  // 21-byte CID
  EXPECT_EQ(dec("0d 2c " + addr + " 04 01020304 " + token.substr(2)), kTpe);  // short token
  EXPECT_EQ(dec("0d 2e " + addr + " 04 01020304 " + token + "00"), kTpe);  // trailing byte
  EXPECT_EQ(dec("0d 2d " + addr + " 04 01020304 " + token, Role::kClient), kTpe);
  const std::vector<uint8_t> b = hex("0d 2d " + addr + " 04 01020304 " + token);
  TransportParameters tp;
  ASSERT_EQ(decode_transport_parameters(b.data(), b.size(), Role::kServer, tp), kOk);
  ASSERT_TRUE(tp.preferred_address);
  EXPECT_EQ(tp.preferred_address->ipv4_port, 443);
  EXPECT_EQ(tp.preferred_address->ipv6_port, 0x1151);
  EXPECT_EQ(tp.preferred_address->ipv4_address[0], 0xc0);
  EXPECT_EQ(tp.preferred_address->connection_id.view(), view(hex("01020304")));
}

TEST(TransportParameters, ServerOnlyFromClient) {
  EXPECT_EQ(dec("00 04 01020304", Role::kClient), kTpe);
  EXPECT_EQ(dec("02 10 000102030405060708090a0b0c0d0e0f", Role::kClient), kTpe);
  EXPECT_EQ(dec("10 00", Role::kClient), kTpe);
  EXPECT_EQ(dec("00 04 01020304", Role::kServer), kOk);
  EXPECT_EQ(dec("10 00", Role::kServer), kOk);
  EXPECT_EQ(dec("0f 00 20 01 00 3e 01 01", Role::kClient), kOk);  // allowed both ways
}

TEST(TransportParameters, EncoderRefusesInvalid) {
  uint8_t buf[256];
  TransportParameters tp;
  tp.ack_delay_exponent = 21;
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), 0u);
  tp = {};
  tp.max_udp_payload_size = 1199;
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), 0u);
  tp = {};
  tp.min_ack_delay = 25001;
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), 0u);
  tp = {};
  tp.initial_max_path_id = uint64_t{1} << 32;
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), 0u);
  tp = {};
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf), 0u + 0);  // empty
  EXPECT_EQ(encode_transport_parameters(tp, Role::kServer, buf, sizeof buf, 1), 2u);  // grease
}

}  // namespace
}  // namespace camp::quic
