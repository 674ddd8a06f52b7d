// QlogWriter: the header record, each event's fields, naming, buffering bounds and flush.
#include "dataplane/quic/qlog/qlog_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "qlog_test_util.h"

namespace camp::quic {
namespace {

using testing::Collector;
using testing::num_text;
using testing::parse_seq;
using testing::str_at;
using testing::u64_at;

constexpr TimeNs kRef = 5 * kSecond;
const uint8_t kOdcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
const uint8_t kDcid[] = {0xaa, 0xbb};
const uint8_t kScid[] = {0x01, 0x02, 0x03};

QlogConfig config(QlogVantage vantage = QlogVantage::kServer) {
  QlogConfig c;
  c.vantage = vantage;
  c.title = "camp test";
  c.odcid = ByteView(kOdcid, sizeof kOdcid);
  c.reference_time = kRef;
  return c;
}

// Runs fill on a fresh writer and returns the parsed records (header first).
template <typename F>
std::vector<json::Value> records(F fill, QlogConfig cfg = config()) {
  Collector c;
  {
    QlogWriter w(cfg, c.sink());
    fill(w);
    w.flush();
  }
  return parse_seq(c.bytes);
}

// The data of the only event after the header; checks its name.
template <typename F>
json::Value only_event(std::string_view name, F fill) {
  const auto r = records(fill);
  EXPECT_EQ(r.size(), 2u);
  if (r.size() != 2) return {};
  EXPECT_EQ(str_at(r[1], "name"), name);
  const json::Value* d = r[1].find("data");
  EXPECT_NE(d, nullptr);
  return d ? *d : json::Value();
}

TEST(QlogWriter, HeaderRecord) {
  const auto r = records([](QlogWriter&) {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(json::write(r[0]),
            R"({"qlog_version":"0.4","qlog_format":"JSON-SEQ","title":"camp test",)"
            R"("trace":{"vantage_point":{"type":"server"},"common_fields":{)"
            R"("ODCID":"8394c8f03e515708","protocol_type":["QUIC"],"time_format":"relative",)"
            R"("reference_time":5000.000}}})");
  QlogConfig c = config(QlogVantage::kClient);
  c.reference_time_unix_ms = 1700000000123;
  const auto r2 = records([](QlogWriter&) {}, c);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(str_at(r2[0], "trace.vantage_point.type"), "client");
  EXPECT_EQ(u64_at(r2[0], "trace.common_fields.reference_time"), 1700000000123u);
}

TEST(QlogWriter, HostileTitleStaysValid) {
  QlogConfig c = config();
  c.title = std::string_view("\"\\\x01\xff", 4);
  const auto r = records([](QlogWriter&) {}, c);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(str_at(r[0], "title"), "\"\\\x01\xc3\xbf");
}

TEST(QlogWriter, PacketSentExact) {
  std::array<Frame, 2> frames;
  StreamFrame s;
  s.stream_id = 0;
  s.offset = 0;
  static const uint8_t body[100] = {};
  s.data = ByteView(body, 100);
  frames[0] = PingFrame{};
  frames[1] = s;
  const auto r = records([&](QlogWriter& w) {
    w.packet_sent(kRef + 12'345'678, PacketType::kInitial, 7, ByteView(kDcid, 2),
                  ByteView(kScid, 3), 1200, frames);
  });
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(json::write(r[1]),
            R"({"time":12.346,"name":"transport:packet_sent","data":{"header":{)"
            R"("packet_type":"initial","packet_number":7,"dcid":"aabb","scid":"010203"},)"
            R"("raw":{"length":1200},"frames":[{"frame_type":"ping"},)"
            R"({"frame_type":"stream","stream_id":0,"offset":0,"length":100,"fin":false}]}})");
}

TEST(QlogWriter, ShortHeaderHasNoScidAndRetryNoPacketNumber) {
  const json::Value d = only_event("transport:packet_received", [](QlogWriter& w) {
    w.packet_received(kRef, PacketType::kOneRtt, 1u << 20, ByteView(kDcid, 2), ByteView(), 40,
                      std::span<const Frame>());
  });
  EXPECT_EQ(json::write(*d.find("header")),
            R"({"packet_type":"1RTT","packet_number":1048576,"dcid":"aabb"})");
  EXPECT_TRUE(d.at("frames")->items().empty());
  const json::Value retry = only_event("transport:packet_sent", [](QlogWriter& w) {
    w.packet_sent(kRef, PacketType::kRetry, 99, ByteView(kDcid, 2), ByteView(kScid, 3), 60,
                  std::span<const Frame>());
  });
  EXPECT_EQ(retry.at("header.packet_number"), nullptr);
  EXPECT_EQ(str_at(retry, "header.packet_type"), "retry");
}

TEST(QlogWriter, PacketReceivedFromPayloadUsesThePeerAckDelayExponent) {
  // ACK: largest 5, delay 100 (2-byte varint), no more ranges, first range 0; PADDING x3.
  static const uint8_t payload[] = {0x02, 0x05, 0x40, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};
  const auto r = records([](QlogWriter& w) {
    w.set_peer_ack_delay_exponent(10);
    w.packet_received(kRef + kMillisecond, PacketType::kHandshake, 3, ByteView(kDcid, 2),
                      ByteView(kScid, 3), 50, ByteView(payload, sizeof payload));
    // The same frames sent by us: our own exponent (3).
    w.packet_sent(kRef + kMillisecond, PacketType::kHandshake, 4, ByteView(kDcid, 2),
                  ByteView(kScid, 3), 50, ByteView(payload, sizeof payload));
  });
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(str_at(r[1], "name"), "transport:packet_received");
  EXPECT_EQ(num_text(r[1], "time"), "1.000");
  EXPECT_EQ(json::write(*r[1].at("data.frames")),
            R"([{"frame_type":"ack","ack_delay":102.400,"acked_ranges":[[5,5]]},)"
            R"({"frame_type":"padding","length":3,"payload_length":3}])");
  EXPECT_EQ(num_text(r[2], "data.frames.0.ack_delay"), "0.800");
}

TEST(QlogWriter, ConnectionStartedV4AndV6) {
  Tuple t;
  const uint8_t l4[4] = {192, 0, 2, 1};
  const uint8_t r4[4] = {198, 51, 100, 7};
  t.local = IpAddr::v4(l4);
  t.remote = IpAddr::v4(r4);
  t.local_port = 443;
  t.remote_port = 50000;
  const json::Value d = only_event("connectivity:connection_started", [&](QlogWriter& w) {
    w.connection_started(kRef, t, ByteView(kScid, 3), ByteView(kDcid, 2));
  });
  EXPECT_EQ(json::write(d),
            R"({"ip_version":"ipv4","src_ip":"192.0.2.1","dst_ip":"198.51.100.7",)"
            R"("protocol":"QUIC","src_port":443,"dst_port":50000,"src_cid":"010203",)"
            R"("dst_cid":"aabb"})");

  const uint8_t l6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t r6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0};
  t.local = IpAddr::v6(l6);
  t.remote = IpAddr::v6(r6);
  const json::Value d6 = only_event("connectivity:connection_started", [&](QlogWriter& w) {
    w.connection_started(kRef, t, ByteView(kScid, 3), ByteView(kDcid, 2));
  });
  EXPECT_EQ(str_at(d6, "ip_version"), "ipv6");
  EXPECT_EQ(str_at(d6, "src_ip"), "2001:db8::1");
  EXPECT_EQ(str_at(d6, "dst_ip"), "2001:db8:0:1::1:0");
  const uint8_t zero[16] = {};
  const uint8_t one_zero[16] = {0, 1, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7};
  t.local = IpAddr::v6(zero);
  t.remote = IpAddr::v6(one_zero);  // a single zero group is not shortened (RFC 5952 4.2.2)
  const json::Value dz = only_event("connectivity:connection_started", [&](QlogWriter& w) {
    w.connection_started(kRef, t, ByteView(), ByteView());
  });
  EXPECT_EQ(str_at(dz, "src_ip"), "::");
  EXPECT_EQ(str_at(dz, "dst_ip"), "1:0:2:3:4:5:6:7");
}

TEST(QlogWriter, ParametersSet) {
  TransportParameters tp;
  const uint8_t cid[] = {0x11, 0x22};
  tp.original_destination_connection_id = ConnectionId(ByteView(kOdcid, sizeof kOdcid));
  tp.initial_source_connection_id = ConnectionId(ByteView(cid, 2));
  tp.stateless_reset_token = StatelessResetToken{0xab};
  tp.max_idle_timeout = 30000;
  tp.initial_max_data = 1 << 20;
  tp.max_datagram_frame_size = 1200;
  PreferredAddress pa;
  pa.ipv4_address = {10, 0, 0, 1};
  pa.ipv4_port = 4433;
  pa.connection_id = ConnectionId(ByteView(cid, 2));
  tp.preferred_address = pa;
  const json::Value d = only_event("transport:parameters_set", [&](QlogWriter& w) {
    w.parameters_set(kRef, QlogOwner::kLocal, tp);
  });
  EXPECT_EQ(str_at(d, "owner"), "local");
  EXPECT_EQ(str_at(d, "original_destination_connection_id"), "8394c8f03e515708");
  EXPECT_EQ(str_at(d, "initial_source_connection_id"), "1122");
  EXPECT_EQ(str_at(d, "stateless_reset_token"), "ab000000000000000000000000000000");
  EXPECT_EQ(d.find("retry_source_connection_id"), nullptr);
  EXPECT_EQ(u64_at(d, "max_idle_timeout"), 30000u);
  EXPECT_EQ(u64_at(d, "max_udp_payload_size"), 65527u);
  EXPECT_EQ(u64_at(d, "ack_delay_exponent"), 3u);
  EXPECT_EQ(u64_at(d, "max_ack_delay"), 25u);
  EXPECT_EQ(u64_at(d, "active_connection_id_limit"), 2u);
  EXPECT_EQ(u64_at(d, "initial_max_data"), 1u << 20);
  EXPECT_EQ(u64_at(d, "max_datagram_frame_size"), 1200u);
  EXPECT_EQ(d.find("initial_max_path_id"), nullptr);
  EXPECT_EQ(str_at(d, "preferred_address.ip_v4"), "10.0.0.1");
  EXPECT_EQ(u64_at(d, "preferred_address.port_v4"), 4433u);
  EXPECT_EQ(str_at(d, "preferred_address.ip_v6"), "::");
  EXPECT_EQ(str_at(d, "preferred_address.connection_id"), "1122");
  const json::Value* dam = d.find("disable_active_migration");
  bool b = true;
  ASSERT_NE(dam, nullptr);
  EXPECT_TRUE(dam->get_bool(&b));
  EXPECT_FALSE(b);
}

TEST(QlogWriter, RecoveryEvents) {
  const auto r = records([](QlogWriter& w) {
    const uint64_t acked[] = {1, 2, 5};
    w.packets_acked(kRef, PnSpace::kApplicationData, acked);
    w.packet_lost(kRef, PacketType::kOneRtt, 3, QlogLossTrigger::kTimeThreshold);
    QlogRecoveryMetrics m;
    m.min_rtt = 10 * kMillisecond;
    m.smoothed_rtt = 12'500'000;
    m.latest_rtt = 11'000'001;
    m.rtt_variance = 3'250'000;
    m.congestion_window = 14720;
    m.bytes_in_flight = 3600;
    m.pacing_rate = 8'000'000;
    w.metrics_updated(kRef, m);
    w.metrics_updated(kRef, QlogRecoveryMetrics{.bytes_in_flight = 0});
    w.congestion_state_updated(kRef, "slow_start", "recovery", "loss");
    w.congestion_state_updated(kRef, "", "slow_start");
  });
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(json::write(r[1]),
            R"({"time":0.000,"name":"transport:packets_acked","data":{)"
            R"("packet_number_space":"application_data","packet_numbers":[1,2,5]}})");
  EXPECT_EQ(json::write(*r[2].find("data")),
            R"({"header":{"packet_type":"1RTT","packet_number":3},"trigger":"time_threshold"})");
  EXPECT_EQ(str_at(r[2], "name"), "recovery:packet_lost");
  EXPECT_EQ(str_at(r[3], "name"), "recovery:metrics_updated");
  EXPECT_EQ(json::write(*r[3].find("data")),
            R"({"min_rtt":10.000,"smoothed_rtt":12.500,"latest_rtt":11.000,)"
            R"("rtt_variance":3.250,"congestion_window":14720,"bytes_in_flight":3600,)"
            R"("pacing_rate":8000000})");
  EXPECT_EQ(json::write(*r[4].find("data")), R"({"bytes_in_flight":0})");
  EXPECT_EQ(json::write(*r[5].find("data")),
            R"({"old":"slow_start","new":"recovery","trigger":"loss"})");
  EXPECT_EQ(str_at(r[5], "name"), "recovery:congestion_state_updated");
  EXPECT_EQ(json::write(*r[6].find("data")), R"({"new":"slow_start"})");
}

TEST(QlogWriter, DroppedKeyAndVersionEvents) {
  PacketHeader h;
  h.type = PacketType::kHandshake;
  h.dcid = ByteView(kDcid, 2);
  h.scid = ByteView(kScid, 3);
  const auto r = records([&](QlogWriter& w) {
    w.packet_dropped(kRef, 1252, "decryption_failure");
    w.packet_dropped(kRef, h, 300, "key_unavailable");
    w.packet_dropped(kRef, PacketType::kOneRtt, 77, 90, "duplicate");
    w.key_updated(kRef, QlogKeyType::kClient1RttSecret, 1, QlogKeyTrigger::kRemoteUpdate);
    const uint32_t sv[] = {kQuicVersion1, 0x6b3343cf};
    const uint32_t cv[] = {0x1a2a3a4a};
    w.version_information(kRef, sv, cv, kQuicVersion1);
    const std::string_view alpns[] = {"h3", "hq-interop"};
    w.alpn_information(kRef, alpns, {}, "h3");
  });
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(json::write(*r[1].find("data")),
            R"({"raw":{"length":1252},"trigger":"decryption_failure"})");
  EXPECT_EQ(json::write(*r[2].find("data")),
            R"({"header":{"packet_type":"handshake","dcid":"aabb","scid":"010203"},)"
            R"("raw":{"length":300},"trigger":"key_unavailable"})");
  EXPECT_EQ(json::write(*r[3].find("data")),
            R"({"header":{"packet_type":"1RTT","packet_number":77},"raw":{"length":90},)"
            R"("trigger":"duplicate"})");
  EXPECT_EQ(str_at(r[3], "name"), "transport:packet_dropped");
  EXPECT_EQ(str_at(r[4], "name"), "security:key_updated");
  EXPECT_EQ(json::write(*r[4].find("data")),
            R"({"key_type":"client_1rtt_secret","generation":1,"trigger":"remote_update"})");
  EXPECT_EQ(str_at(r[5], "name"), "transport:version_information");
  EXPECT_EQ(json::write(*r[5].find("data")),
            R"({"server_versions":["00000001","6b3343cf"],"client_versions":["1a2a3a4a"],)"
            R"("chosen_version":"00000001"})");
  EXPECT_EQ(str_at(r[6], "name"), "transport:alpn_information");
  EXPECT_EQ(json::write(*r[6].find("data")),
            R"({"server_alpns":["h3","hq-interop"],"chosen_alpn":"h3"})");
}

TEST(QlogWriter, ConnectionClosedWithHostileReason) {
  // A peer's reason phrase: quotes, backslashes, control bytes, NUL, DEL, 0xff, a lone
  // UTF-8 lead byte, and something that looks like JSON structure.
  std::string reason = "\"}\\\n\r\t\x01";
  reason.push_back('\0');
  reason += "\x7f\xff\xc3 \"],{\x1e";
  ConnectionCloseFrame f;
  f.error_code = 0x01;
  f.reason_phrase = ByteView(reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  ConnectionCloseFrame app;
  app.application = true;
  app.error_code = 0x10c;
  const auto r = records([&](QlogWriter& w) {
    w.connection_closed(kRef, QlogOwner::kRemote, f);
    std::array<Frame, 1> frames = {f};
    w.packet_received(kRef, PacketType::kOneRtt, 9, ByteView(kDcid, 2), ByteView(), 80, frames);
    w.connection_closed(kRef, QlogOwner::kLocal, app, "application");
    w.connection_closed(kRef, QlogOwner::kLocal, "idle_timeout");
  });
  ASSERT_EQ(r.size(), 5u);  // the RS inside the reason did not split a record
  EXPECT_EQ(str_at(r[1], "name"), "connectivity:connection_closed");
  EXPECT_EQ(str_at(r[1], "data.owner"), "remote");
  EXPECT_EQ(str_at(r[1], "data.connection_code"), "internal_error");
  // Decoding gives back every byte < 0x80 exactly, and high bytes as U+0080..U+00FF.
  std::string want = "\"}\\\n\r\t\x01";
  want.push_back('\0');
  want += "\x7f\xc3\xbf\xc3\x83 \"],{\x1e";
  EXPECT_EQ(str_at(r[1], "data.reason"), want);
  EXPECT_EQ(str_at(r[2], "data.frames.0.reason"), want);
  EXPECT_EQ(json::write(*r[3].find("data")),
            R"({"owner":"local","application_code":268,"reason":"","trigger":"application"})");
  EXPECT_EQ(json::write(*r[4].find("data")), R"({"owner":"local","trigger":"idle_timeout"})");
}

TEST(QlogWriter, QuicNamespaceNaming) {
  QlogConfig c = config();
  c.naming = QlogNaming::kQuicNamespace;
  const auto r = records(
      [](QlogWriter& w) {
        w.packet_sent(kRef, PacketType::kOneRtt, 1, ByteView(), ByteView(), 30,
                      std::span<const Frame>());
        w.metrics_updated(kRef, QlogRecoveryMetrics{.congestion_window = 1});
        w.key_updated(kRef, QlogKeyType::kServerHandshakeSecret, 0, QlogKeyTrigger::kTls);
        w.connection_closed(kRef, QlogOwner::kLocal, "x");
      },
      c);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(str_at(r[1], "name"), "quic:packet_sent");
  EXPECT_EQ(str_at(r[2], "name"), "quic:recovery_metrics_updated");
  EXPECT_EQ(str_at(r[3], "name"), "quic:key_updated");
  EXPECT_EQ(str_at(r[4], "name"), "quic:connection_closed");
}

TEST(QlogWriter, TimeBeforeReferenceIsNegative) {
  const auto r = records([](QlogWriter& w) { w.packet_dropped(kRef - 2 * kMillisecond, 1, "x"); });
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(num_text(r[1], "time"), "-2.000");
}

TEST(QlogWriter, BufferBoundHundredThousandEventsNothingLost) {
  constexpr size_t kBound = 4096;
  size_t total = 0;
  size_t calls = 0;
  size_t largest = 0;
  uint64_t rs_count = 0;
  QlogConfig c = config();
  c.buffer_size = kBound;
  static const uint8_t body[1000] = {};
  StreamFrame s;
  s.stream_id = 4;
  s.data = ByteView(body, sizeof body);
  AckFrame a;
  a.largest_acknowledged = 1000;
  a.first_ack_range = 10;
  std::array<Frame, 3> frames = {a, s, PaddingFrame{5}};
  {
    QlogWriter w(c, [&](std::span<const char> chunk) {
      total += chunk.size();
      ++calls;
      largest = std::max(largest, chunk.size());
      for (char ch : chunk) rs_count += ch == '\x1e';
    });
    EXPECT_EQ(w.buffer_size(), kBound);
    for (uint64_t i = 0; i < 100'000; ++i) {
      s.offset = i * 1000;
      frames[1] = s;
      w.packet_sent(kRef + i * 1000, PacketType::kOneRtt, i, ByteView(kDcid, 2), ByteView(),
                    1200, frames);
      ASSERT_LT(w.buffered(), kBound);  // a full buffer is handed over at once
    }
    EXPECT_EQ(total + w.buffered(), w.bytes_written());
    w.flush();
    EXPECT_EQ(w.buffered(), 0u);
    EXPECT_EQ(total, w.bytes_written());
    EXPECT_GT(total, 100'000u * 100);
  }
  EXPECT_LE(largest, kBound);
  EXPECT_GT(calls, total / kBound);
  EXPECT_EQ(rs_count, 100'001u);  // header + every event
}

TEST(QlogWriter, EveryChunkSizeReassemblesToTheSameStream) {
  auto run = [](size_t bound) {
    QlogConfig c = config();
    c.buffer_size = bound;
    Collector col;
    {
      QlogWriter w(c, col.sink());
      for (uint64_t i = 0; i < 20; ++i) {
        w.packet_lost(kRef + i, PacketType::kOneRtt, i, QlogLossTrigger::kPtoExpired);
      }
    }  // the destructor flushes
    EXPECT_LE(col.largest_chunk, bound);
    return col.bytes;
  };
  const std::string ref = run(1 << 16);
  EXPECT_EQ(parse_seq(ref).size(), 21u);
  for (size_t bound : {1, 2, 3, 7, 64, 100, 1000}) EXPECT_EQ(run(bound), ref) << bound;
}

TEST(QlogWriter, FlushSemantics) {
  Collector c;
  QlogWriter w(config(), c.sink());
  EXPECT_EQ(c.calls, 0u);  // the header waits in the buffer
  EXPECT_GT(w.buffered(), 0u);
  w.flush();
  EXPECT_EQ(c.calls, 1u);
  EXPECT_EQ(parse_seq(c.bytes).size(), 1u);
  w.flush();  // nothing buffered: no call
  EXPECT_EQ(c.calls, 1u);
  w.packet_dropped(kRef, 10, "x");
  EXPECT_EQ(c.calls, 1u);
  w.flush();
  EXPECT_EQ(c.calls, 2u);
  EXPECT_EQ(parse_seq(c.bytes).size(), 2u);
  EXPECT_EQ(c.bytes.size(), w.bytes_written());
}

}  // namespace
}  // namespace camp::quic
