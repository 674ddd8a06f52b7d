// Frames as qlog QuicFrame objects: every Frame alternative, exact fields for the common ones,
// and the payload path (FrameReader) giving the same output as built frames.
#include "dataplane/quic/qlog/qlog_frames.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "dataplane/quic/wire/frame_writer.h"
#include "qlog_test_util.h"

namespace camp::quic::qlog {
namespace {

using testing::Collector;
using testing::num_text;
using testing::parse_seq;
using testing::str_at;
using testing::u64_at;

// One record holding an array of the given frames.
json::Value format(std::span<const Frame> frames, uint64_t exponent = 3) {
  Collector c;
  {
    JsonSeqOutput out(256, c.sink());
    out.begin_record();
    out.begin_array();
    for (const Frame& f : frames) write_frame(out, f, exponent);
    out.end_array();
    out.end_record();
  }
  auto v = parse_seq(c.bytes);
  EXPECT_EQ(v.size(), 1u);
  return v.empty() ? json::Value() : v[0];
}

json::Value format_one(const Frame& f, uint64_t exponent = 3) {
  json::Value arr = format(std::span<const Frame>(&f, 1), exponent);
  EXPECT_EQ(arr.items().size(), 1u);
  return arr.items().empty() ? json::Value() : arr.items()[0];
}

json::Value format_payload(ByteView payload, PacketType type, uint64_t exponent = 3) {
  Collector c;
  {
    JsonSeqOutput out(256, c.sink());
    out.begin_record();
    out.begin_array();
    write_payload_frames(out, payload, type, exponent);
    out.end_array();
    out.end_record();
  }
  auto v = parse_seq(c.bytes);
  EXPECT_EQ(v.size(), 1u);
  return v.empty() ? json::Value() : v[0];
}

// frame_type of a default-constructed value of each alternative, in variant order.
constexpr std::array<const char*, 28> kDefaultTypes = {
    "padding", "ping", "ack", "reset_stream", "stop_sending", "crypto", "new_token", "stream",
    "max_data", "max_stream_data", "max_streams", "data_blocked", "stream_data_blocked",
    "streams_blocked", "new_connection_id", "retire_connection_id", "path_challenge",
    "path_response", "connection_close", "handshake_done", "datagram", "ack_frequency",
    "immediate_ack", "path_abandon", "path_status_available", "max_path_id", "paths_blocked",
    "path_cids_blocked"};
static_assert(kDefaultTypes.size() == std::variant_size_v<Frame>,
              "a Frame alternative was added: give it a qlog name here and in qlog_frames.cc");

template <size_t... I>
std::vector<Frame> every_alternative(std::index_sequence<I...>) {
  return {Frame(std::in_place_index<I>)...};
}

TEST(QlogFrames, EveryAlternativeFormatsAsValidJson) {
  const std::vector<Frame> all =
      every_alternative(std::make_index_sequence<std::variant_size_v<Frame>>());
  const json::Value arr = format(all);
  ASSERT_EQ(arr.items().size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(str_at(arr.items()[i], "frame_type"), kDefaultTypes[i]) << "alternative " << i;
  }
}

TEST(QlogFrames, Stream) {
  static const uint8_t data[5] = {1, 2, 3, 4, 5};
  StreamFrame f;
  f.stream_id = 4;
  f.offset = 1000;
  f.data = ByteView(data, 5);
  f.fin = true;
  const json::Value v = format_one(f);
  EXPECT_EQ(json::write(v),
            R"({"frame_type":"stream","stream_id":4,"offset":1000,"length":5,"fin":true})");
}

TEST(QlogFrames, AckWithRangesAndEcn) {
  // Largest 100, first range 2 (98..100); one more range: gap 1, length 3 -> 92..95.
  static const uint8_t ranges[] = {0x01, 0x03};
  AckFrame f;
  f.largest_acknowledged = 100;
  f.first_ack_range = 2;
  f.range_count = 1;
  f.encoded_ranges = ByteView(ranges, sizeof ranges);
  f.ack_delay = 1000;  // * 2^3 us = 8 ms
  f.has_ecn = true;
  f.ecn = {5, 6, 7};
  const json::Value v = format_one(f);
  EXPECT_EQ(json::write(v),
            R"({"frame_type":"ack","ack_delay":8.000,"acked_ranges":[[98,100],[92,95]],)"
            R"("ect1":6,"ect0":5,"ce":7})");
  // The exponent is the caller's: the peer's for received ACKs.
  EXPECT_EQ(num_text(format_one(f, 0), "ack_delay"), "1.000");
}

TEST(QlogFrames, AckDelayFromAHostileExponentSaturates) {
  AckFrame f;
  f.largest_acknowledged = 5;
  f.ack_delay = (uint64_t{1} << 62) - 1;
  const json::Value v = format_one(f, 20);
  EXPECT_EQ(num_text(v, "ack_delay"), "9223372036854.775");
}

TEST(QlogFrames, InconsistentCallerBuiltAckLeavesRangesOut) {
  AckFrame f;
  f.largest_acknowledged = 3;
  f.first_ack_range = 10;  // would go below packet 0
  const json::Value v = format_one(f);
  EXPECT_EQ(str_at(v, "frame_type"), "ack");
  EXPECT_EQ(v.find("acked_ranges"), nullptr);
}

TEST(QlogFrames, PathAck) {
  AckFrame f;
  f.is_path_ack = true;
  f.path_id = 3;
  f.largest_acknowledged = 7;
  const json::Value v = format_one(f);
  EXPECT_EQ(json::write(v),
            R"({"frame_type":"path_ack","path_id":3,"ack_delay":0.000,"acked_ranges":[[7,7]]})");
}

TEST(QlogFrames, ConnectionCloseTransportAndApplication) {
  static const char reason[] = "bad \"frame\"";
  ConnectionCloseFrame t;
  t.error_code = 0x0a;
  t.frame_type = 0x08;
  t.reason_phrase = ByteView(reinterpret_cast<const uint8_t*>(reason), sizeof reason - 1);
  EXPECT_EQ(json::write(format_one(t)),
            R"({"frame_type":"connection_close","error_space":"transport",)"
            R"("error_code":"protocol_violation","raw_error_code":10,)"
            R"("reason":"bad \"frame\"","trigger_frame_type":8})");
  ConnectionCloseFrame crypto;
  crypto.error_code = 0x12a;  // CRYPTO_ERROR, TLS alert 42
  EXPECT_EQ(str_at(format_one(crypto), "error_code"), "crypto_error_0x12a");
  ConnectionCloseFrame unknown;
  unknown.error_code = 0x4242;
  EXPECT_EQ(u64_at(format_one(unknown), "error_code"), 0x4242u);
  ConnectionCloseFrame app;
  app.application = true;
  app.error_code = 0x0a;  // an application code is never a transport name
  EXPECT_EQ(json::write(format_one(app)),
            R"({"frame_type":"connection_close","error_space":"application",)"
            R"("error_code":10,"raw_error_code":10,"reason":""})");
}

TEST(QlogFrames, ConnectionIdsTokensAndPathData) {
  static const uint8_t cid[] = {0xde, 0xad, 0xbe, 0xef};
  static const uint8_t token[16] = {0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff};
  NewConnectionIdFrame n;
  n.sequence_number = 2;
  n.retire_prior_to = 1;
  n.connection_id = ByteView(cid, 4);
  n.stateless_reset_token = ByteView(token, 16);
  EXPECT_EQ(json::write(format_one(n)),
            R"({"frame_type":"new_connection_id","sequence_number":2,"retire_prior_to":1,)"
            R"("connection_id_length":4,"connection_id":"deadbeef",)"
            R"("stateless_reset_token":"010200000000000000000000000000ff"})");
  n.has_path_id = true;
  n.path_id = 9;
  const json::Value pn = format_one(n);
  EXPECT_EQ(str_at(pn, "frame_type"), "path_new_connection_id");
  EXPECT_EQ(u64_at(pn, "path_id"), 9u);

  NewTokenFrame t;
  t.token = ByteView(cid, 4);
  EXPECT_EQ(json::write(format_one(t)),
            R"({"frame_type":"new_token","token":{"raw":{"length":4,"data":"deadbeef"}}})");

  PathChallengeFrame c;
  c.data = 0x0102030405060708u;
  EXPECT_EQ(str_at(format_one(c), "data"), "0102030405060708");
}

TEST(QlogFrames, FlowControlAndExtensions) {
  MaxStreamsFrame ms;
  ms.bidirectional = false;
  ms.maximum_streams = 100;
  EXPECT_EQ(json::write(format_one(ms)),
            R"({"frame_type":"max_streams","stream_type":"unidirectional","maximum":100})");
  StreamsBlockedFrame sb;
  sb.maximum_streams = 3;
  EXPECT_EQ(json::write(format_one(sb)),
            R"({"frame_type":"streams_blocked","stream_type":"bidirectional","limit":3})");
  PaddingFrame p;
  p.length = 1162;
  EXPECT_EQ(json::write(format_one(p)),
            R"({"frame_type":"padding","length":1162,"payload_length":1162})");
  static const uint8_t d[3] = {};
  DatagramFrame dg;
  dg.data = ByteView(d, 3);
  EXPECT_EQ(json::write(format_one(dg)), R"({"frame_type":"datagram","length":3})");
  AckFrequencyFrame af;
  af.sequence_number = 1;
  af.ack_eliciting_threshold = 10;
  af.request_max_ack_delay = 25'000;  // us
  af.reordering_threshold = 2;
  EXPECT_EQ(json::write(format_one(af)),
            R"({"frame_type":"ack_frequency","sequence_number":1,"ack_eliciting_threshold":10,)"
            R"("request_max_ack_delay":25.000,"reordering_threshold":2})");
  PathStatusFrame ps;
  ps.available = false;
  ps.path_id = 1;
  ps.sequence_number = 4;
  EXPECT_EQ(json::write(format_one(ps)),
            R"({"frame_type":"path_status_backup","path_id":1,"path_status_sequence_number":4})");
}

TEST(QlogFrames, PayloadMatchesBuiltFrames) {
  static const uint8_t data[7] = {'a', 'b', 'c', 'd', 'e', 'f', 'g'};
  static const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  static const uint8_t token[16] = {9};
  static const char reason[] = "bye";
  StreamFrame s;
  s.stream_id = 8;
  s.offset = 77;
  s.has_offset = true;
  s.data = ByteView(data, 7);
  AckFrame a;
  a.largest_acknowledged = 10;
  a.first_ack_range = 4;
  a.ack_delay = 250;
  MaxDataFrame md;
  md.maximum_data = 1 << 20;
  NewConnectionIdFrame n;
  n.sequence_number = 1;
  n.connection_id = ByteView(cid, 8);
  n.stateless_reset_token = ByteView(token, 16);
  ConnectionCloseFrame cc;
  cc.error_code = 0x07;
  cc.frame_type = 0x06;
  cc.reason_phrase = ByteView(reinterpret_cast<const uint8_t*>(reason), 3);
  PathAbandonFrame pa;
  pa.path_id = 2;
  pa.error_code = 1;
  PaddingFrame pad;
  pad.length = 20;
  const std::vector<Frame> frames = {PingFrame{}, a, s, md, n, pa, cc, pad};

  uint8_t buf[512];
  size_t n_bytes = 0;
  for (const Frame& f : frames) {
    const size_t w = write_frame(buf + n_bytes, sizeof buf - n_bytes, f);
    ASSERT_GT(w, 0u);
    n_bytes += w;
  }
  const json::Value built = format(frames, 5);
  const json::Value parsed = format_payload(ByteView(buf, n_bytes), PacketType::kOneRtt, 5);
  EXPECT_EQ(json::write(parsed), json::write(built));
  EXPECT_EQ(parsed.items().size(), frames.size());
}

TEST(QlogFrames, MalformedPayloadEndsWithUnknownFrame) {
  // PING, then an unknown frame type 0x21 followed by 3 bytes.
  static const uint8_t payload[] = {0x01, 0x21, 0xaa, 0xbb, 0xcc};
  const json::Value v = format_payload(ByteView(payload, sizeof payload), PacketType::kOneRtt);
  ASSERT_EQ(v.items().size(), 2u);
  EXPECT_EQ(str_at(v.items()[0], "frame_type"), "ping");
  EXPECT_EQ(json::write(v.items()[1]),
            R"({"frame_type":"unknown","raw_frame_type":33,"raw":{"length":4}})");
  // A truncated STREAM frame (length says 9, 1 byte present).
  static const uint8_t cut[] = {0x0a, 0x04, 0x09, 0x61};
  const json::Value t = format_payload(ByteView(cut, sizeof cut), PacketType::kOneRtt);
  ASSERT_EQ(t.items().size(), 1u);
  EXPECT_EQ(str_at(t.items()[0], "frame_type"), "unknown");
  EXPECT_EQ(u64_at(t.items()[0], "raw_frame_type"), 0x0au);
  // An empty payload logs no frames at all.
  EXPECT_TRUE(format_payload(ByteView(), PacketType::kOneRtt).items().empty());
}

TEST(QlogFrames, ExtensionFramesParseWhateverWasNegotiated) {
  // DATAGRAM with length and a PATH_STATUS_AVAILABLE: logged although the default parse
  // options would refuse both.
  uint8_t buf[64];
  size_t n = 0;
  static const uint8_t d[2] = {7, 8};
  DatagramFrame dg;
  dg.data = ByteView(d, 2);
  PathStatusFrame ps;
  ps.path_id = 1;
  ps.sequence_number = 2;
  for (const Frame& f : {Frame(dg), Frame(ps)}) n += write_frame(buf + n, sizeof buf - n, f);
  const json::Value v = format_payload(ByteView(buf, n), PacketType::kOneRtt);
  ASSERT_EQ(v.items().size(), 2u);
  EXPECT_EQ(str_at(v.items()[0], "frame_type"), "datagram");
  EXPECT_EQ(str_at(v.items()[1], "frame_type"), "path_status_available");
}

}  // namespace
}  // namespace camp::quic::qlog
