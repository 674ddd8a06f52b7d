#include "dataplane/quic/qlog/qlog_writer.h"

#include <cstdint>
#include <iterator>
#include <utility>

#include "dataplane/quic/qlog/qlog_frames.h"

namespace camp::quic {

enum class QlogWriter::Event : uint8_t {
  kConnectionStarted,
  kConnectionClosed,
  kParametersSet,
  kVersionInformation,
  kAlpnInformation,
  kPacketSent,
  kPacketReceived,
  kPacketDropped,
  kPacketsAcked,
  kPacketLost,
  kMetricsUpdated,
  kCongestionStateUpdated,
  kKeyUpdated,
  kCount,
};

namespace {

// Indexed by QlogWriter::Event: {category name (qlog 0.4 tooling), "quic:" namespace name}.
constexpr std::string_view kEventNames[][2] = {
    {"connectivity:connection_started", "quic:connection_started"},
    {"connectivity:connection_closed", "quic:connection_closed"},
    {"transport:parameters_set", "quic:parameters_set"},
    {"transport:version_information", "quic:version_information"},
    {"transport:alpn_information", "quic:alpn_information"},
    {"transport:packet_sent", "quic:packet_sent"},
    {"transport:packet_received", "quic:packet_received"},
    {"transport:packet_dropped", "quic:packet_dropped"},
    {"transport:packets_acked", "quic:packets_acked"},
    {"recovery:packet_lost", "quic:packet_lost"},
    {"recovery:metrics_updated", "quic:recovery_metrics_updated"},
    {"recovery:congestion_state_updated", "quic:congestion_state_updated"},
    {"security:key_updated", "quic:key_updated"},
};

bool has_packet_number(PacketType t) {
  return t != PacketType::kRetry && t != PacketType::kVersionNegotiation;
}

bool is_long_header(PacketType t) { return t != PacketType::kOneRtt; }

void u64_field(qlog::JsonSeqOutput& out, std::string_view name, uint64_t v) {
  out.key(name);
  out.u64(v);
}

// Textual IP address: dotted quad, or RFC 5952 IPv6 (lower case, no leading zeros, the longest
// run of two or more zero groups shortened to "::"). At most 39 characters.
void ip_string(qlog::JsonSeqOutput& out, const IpAddr& a) {
  constexpr char kHex[] = "0123456789abcdef";
  char s[48];
  size_t n = 0;
  if (a.family == 4) {
    for (int i = 0; i < 4; ++i) {
      if (i) s[n++] = '.';
      const unsigned b = a.bytes[i];
      if (b >= 100) s[n++] = static_cast<char>('0' + b / 100);
      if (b >= 10) s[n++] = static_cast<char>('0' + b / 10 % 10);
      s[n++] = static_cast<char>('0' + b % 10);
    }
  } else if (a.family == 6) {
    unsigned g[8];
    for (int i = 0; i < 8; ++i) g[i] = unsigned{a.bytes[2 * i]} << 8 | a.bytes[2 * i + 1];
    int best = -1, best_len = 1;  // runs of one zero group stay written out
    for (int i = 0; i < 8;) {
      if (g[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0) ++j;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        s[n++] = ':';
        s[n++] = ':';
        i += best_len - 1;
        continue;
      }
      if (i > 0 && i != best + best_len) s[n++] = ':';
      bool started = false;
      for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned d = g[i] >> shift & 0xf;
        if (d || started || shift == 0) {
          s[n++] = kHex[d];
          started = true;
        }
      }
    }
  }
  out.literal(std::string_view(s, n));
}

const char* key_type_name(QlogKeyType t) {
  switch (t) {
    case QlogKeyType::kServerInitialSecret: return "server_initial_secret";
    case QlogKeyType::kClientInitialSecret: return "client_initial_secret";
    case QlogKeyType::kServerHandshakeSecret: return "server_handshake_secret";
    case QlogKeyType::kClientHandshakeSecret: return "client_handshake_secret";
    case QlogKeyType::kServer0RttSecret: return "server_0rtt_secret";
    case QlogKeyType::kClient0RttSecret: return "client_0rtt_secret";
    case QlogKeyType::kServer1RttSecret: return "server_1rtt_secret";
    case QlogKeyType::kClient1RttSecret: return "client_1rtt_secret";
  }
  return "unknown";
}

const char* key_trigger_name(QlogKeyTrigger t) {
  switch (t) {
    case QlogKeyTrigger::kTls: return "tls";
    case QlogKeyTrigger::kRemoteUpdate: return "remote_update";
    case QlogKeyTrigger::kLocalUpdate: return "local_update";
  }
  return "unknown";
}

const char* loss_trigger_name(QlogLossTrigger t) {
  switch (t) {
    case QlogLossTrigger::kReorderingThreshold: return "reordering_threshold";
    case QlogLossTrigger::kTimeThreshold: return "time_threshold";
    case QlogLossTrigger::kPtoExpired: return "pto_expired";
  }
  return "unknown";
}

const char* pn_space_name(PnSpace s) {
  switch (s) {
    case PnSpace::kInitial: return "initial";
    case PnSpace::kHandshake: return "handshake";
    case PnSpace::kApplicationData: return "application_data";
  }
  return "unknown";
}

const char* owner_name(QlogOwner o) { return o == QlogOwner::kLocal ? "local" : "remote"; }

// QUIC versions are logged as 8 hex digits (qlog's QuicVersion is a hex string).
void version_hex(qlog::JsonSeqOutput& out, uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  out.hex(ByteView(b, 4));
}

}  // namespace

QlogWriter::QlogWriter(const QlogConfig& config, QlogSink sink)
    : out_(config.buffer_size, std::move(sink)),
      naming_(config.naming),
      reference_(config.reference_time),
      local_ack_delay_exponent_(config.local_ack_delay_exponent),
      peer_ack_delay_exponent_(config.peer_ack_delay_exponent) {
  out_.begin_record();
  out_.begin_object();
  out_.key("qlog_version");
  out_.literal(kQlogVersion);
  out_.key("qlog_format");
  out_.literal(kQlogFormat);
  out_.key("title");
  out_.str(config.title);
  out_.key("trace");
  out_.begin_object();
  out_.key("vantage_point");
  out_.begin_object();
  out_.key("type");
  out_.literal(config.vantage == QlogVantage::kServer ? "server" : "client");
  out_.end_object();
  out_.key("common_fields");
  out_.begin_object();
  out_.key("ODCID");
  out_.hex(config.odcid);
  out_.key("protocol_type");
  out_.begin_array();
  out_.literal("QUIC");
  out_.end_array();
  out_.key("time_format");
  out_.literal("relative");
  out_.key("reference_time");
  if (config.reference_time_unix_ms) {
    out_.u64(*config.reference_time_unix_ms);
  } else {
    // TimeNs up to 2^64-1 exceeds int64: whole ms then, keeping the value exact.
    if (config.reference_time > static_cast<uint64_t>(INT64_MAX)) {
      out_.u64(config.reference_time / kMillisecond);
    } else {
      out_.ms_from_ns(static_cast<int64_t>(config.reference_time));
    }
  }
  out_.end_object();
  out_.end_object();
  out_.end_object();
  out_.end_record();
}

QlogWriter::~QlogWriter() { out_.flush(); }

void QlogWriter::begin_event(TimeNs now, Event e) {
  static_assert(std::size(kEventNames) == static_cast<size_t>(Event::kCount));
  out_.begin_record();
  out_.begin_object();
  out_.key("time");
  // Relative to the reference; a time before it (a caller's clock skew) stays a valid number.
  const int64_t rel = now >= reference_ ? static_cast<int64_t>(now - reference_)
                                        : -static_cast<int64_t>(reference_ - now);
  out_.ms_from_ns(rel);
  out_.key("name");
  out_.literal(kEventNames[static_cast<size_t>(e)][naming_ == QlogNaming::kCategory ? 0 : 1]);
  out_.key("data");
  out_.begin_object();
}

void QlogWriter::end_event() {
  out_.end_object();
  out_.end_object();
  out_.end_record();
}

void QlogWriter::header(PacketType type, const uint64_t* pn, ByteView dcid, ByteView scid) {
  out_.key("header");
  out_.begin_object();
  out_.key("packet_type");
  out_.literal(qlog::packet_type_name(type));
  if (pn) u64_field(out_, "packet_number", *pn);
  out_.key("dcid");
  out_.hex(dcid);
  if (is_long_header(type)) {
    out_.key("scid");
    out_.hex(scid);
  }
  out_.end_object();
}

void QlogWriter::connection_started(TimeNs now, const Tuple& tuple, ByteView src_cid,
                                    ByteView dst_cid) {
  begin_event(now, Event::kConnectionStarted);
  out_.key("ip_version");
  out_.literal(tuple.local.family == 6 ? "ipv6" : "ipv4");
  out_.key("src_ip");
  ip_string(out_, tuple.local);
  out_.key("dst_ip");
  ip_string(out_, tuple.remote);
  out_.key("protocol");
  out_.literal("QUIC");
  u64_field(out_, "src_port", tuple.local_port);
  u64_field(out_, "dst_port", tuple.remote_port);
  out_.key("src_cid");
  out_.hex(src_cid);
  out_.key("dst_cid");
  out_.hex(dst_cid);
  end_event();
}

void QlogWriter::parameters_set(TimeNs now, QlogOwner owner, const TransportParameters& tp) {
  begin_event(now, Event::kParametersSet);
  out_.key("owner");
  out_.literal(owner_name(owner));
  if (tp.original_destination_connection_id) {
    out_.key("original_destination_connection_id");
    out_.hex(tp.original_destination_connection_id->view());
  }
  if (tp.initial_source_connection_id) {
    out_.key("initial_source_connection_id");
    out_.hex(tp.initial_source_connection_id->view());
  }
  if (tp.retry_source_connection_id) {
    out_.key("retry_source_connection_id");
    out_.hex(tp.retry_source_connection_id->view());
  }
  if (tp.stateless_reset_token) {
    out_.key("stateless_reset_token");
    out_.hex(ByteView(tp.stateless_reset_token->data(), tp.stateless_reset_token->size()));
  }
  out_.key("disable_active_migration");
  out_.boolean(tp.disable_active_migration);
  u64_field(out_, "max_idle_timeout", tp.max_idle_timeout);
  u64_field(out_, "max_udp_payload_size", tp.max_udp_payload_size);
  u64_field(out_, "ack_delay_exponent", tp.ack_delay_exponent);
  u64_field(out_, "max_ack_delay", tp.max_ack_delay);
  u64_field(out_, "active_connection_id_limit", tp.active_connection_id_limit);
  u64_field(out_, "initial_max_data", tp.initial_max_data);
  u64_field(out_, "initial_max_stream_data_bidi_local", tp.initial_max_stream_data_bidi_local);
  u64_field(out_, "initial_max_stream_data_bidi_remote", tp.initial_max_stream_data_bidi_remote);
  u64_field(out_, "initial_max_stream_data_uni", tp.initial_max_stream_data_uni);
  u64_field(out_, "initial_max_streams_bidi", tp.initial_max_streams_bidi);
  u64_field(out_, "initial_max_streams_uni", tp.initial_max_streams_uni);
  if (tp.preferred_address) {
    const PreferredAddress& pa = *tp.preferred_address;
    out_.key("preferred_address");
    out_.begin_object();
    IpAddr v4 = IpAddr::v4(pa.ipv4_address.data());
    IpAddr v6 = IpAddr::v6(pa.ipv6_address.data());
    out_.key("ip_v4");
    ip_string(out_, v4);
    u64_field(out_, "port_v4", pa.ipv4_port);
    out_.key("ip_v6");
    ip_string(out_, v6);
    u64_field(out_, "port_v6", pa.ipv6_port);
    out_.key("connection_id");
    out_.hex(pa.connection_id.view());
    out_.key("stateless_reset_token");
    out_.hex(ByteView(pa.stateless_reset_token.data(), pa.stateless_reset_token.size()));
    out_.end_object();
  }
  if (tp.max_datagram_frame_size) {
    u64_field(out_, "max_datagram_frame_size", *tp.max_datagram_frame_size);
  }
  if (tp.initial_max_path_id) u64_field(out_, "initial_max_path_id", *tp.initial_max_path_id);
  if (tp.min_ack_delay) u64_field(out_, "min_ack_delay", *tp.min_ack_delay);
  end_event();
}

void QlogWriter::version_information(TimeNs now, std::span<const uint32_t> server_versions,
                                     std::span<const uint32_t> client_versions,
                                     uint32_t chosen_version) {
  begin_event(now, Event::kVersionInformation);
  if (!server_versions.empty()) {
    out_.key("server_versions");
    out_.begin_array();
    for (uint32_t v : server_versions) version_hex(out_, v);
    out_.end_array();
  }
  if (!client_versions.empty()) {
    out_.key("client_versions");
    out_.begin_array();
    for (uint32_t v : client_versions) version_hex(out_, v);
    out_.end_array();
  }
  if (chosen_version != 0) {
    out_.key("chosen_version");
    version_hex(out_, chosen_version);
  }
  end_event();
}

void QlogWriter::alpn_information(TimeNs now, std::span<const std::string_view> server_alpns,
                                  std::span<const std::string_view> client_alpns,
                                  std::string_view chosen_alpn) {
  begin_event(now, Event::kAlpnInformation);
  if (!server_alpns.empty()) {
    out_.key("server_alpns");
    out_.begin_array();
    for (std::string_view a : server_alpns) out_.str(a);
    out_.end_array();
  }
  if (!client_alpns.empty()) {
    out_.key("client_alpns");
    out_.begin_array();
    for (std::string_view a : client_alpns) out_.str(a);
    out_.end_array();
  }
  if (!chosen_alpn.empty()) {
    out_.key("chosen_alpn");
    out_.str(chosen_alpn);
  }
  end_event();
}

void QlogWriter::packet_event(TimeNs now, Event e, PacketType type, uint64_t pn, ByteView dcid,
                              ByteView scid, size_t length) {
  begin_event(now, e);
  header(type, has_packet_number(type) ? &pn : nullptr, dcid, scid);
  out_.key("raw");
  out_.begin_object();
  u64_field(out_, "length", length);
  out_.end_object();
  out_.key("frames");
  out_.begin_array();
}

void QlogWriter::packet_sent(TimeNs now, PacketType type, uint64_t pn, ByteView dcid,
                             ByteView scid, size_t length, std::span<const Frame> frames) {
  packet_event(now, Event::kPacketSent, type, pn, dcid, scid, length);
  for (const Frame& f : frames) qlog::write_frame(out_, f, local_ack_delay_exponent_);
  out_.end_array();
  end_event();
}

void QlogWriter::packet_sent(TimeNs now, PacketType type, uint64_t pn, ByteView dcid,
                             ByteView scid, size_t length, ByteView payload) {
  packet_event(now, Event::kPacketSent, type, pn, dcid, scid, length);
  qlog::write_payload_frames(out_, payload, type, local_ack_delay_exponent_);
  out_.end_array();
  end_event();
}

void QlogWriter::packet_received(TimeNs now, PacketType type, uint64_t pn, ByteView dcid,
                                 ByteView scid, size_t length, std::span<const Frame> frames) {
  packet_event(now, Event::kPacketReceived, type, pn, dcid, scid, length);
  for (const Frame& f : frames) qlog::write_frame(out_, f, peer_ack_delay_exponent_);
  out_.end_array();
  end_event();
}

void QlogWriter::packet_received(TimeNs now, PacketType type, uint64_t pn, ByteView dcid,
                                 ByteView scid, size_t length, ByteView payload) {
  packet_event(now, Event::kPacketReceived, type, pn, dcid, scid, length);
  qlog::write_payload_frames(out_, payload, type, peer_ack_delay_exponent_);
  out_.end_array();
  end_event();
}

void QlogWriter::packet_dropped(TimeNs now, size_t raw_length, std::string_view trigger) {
  begin_event(now, Event::kPacketDropped);
  out_.key("raw");
  out_.begin_object();
  u64_field(out_, "length", raw_length);
  out_.end_object();
  out_.key("trigger");
  out_.str(trigger);
  end_event();
}

void QlogWriter::packet_dropped(TimeNs now, const PacketHeader& h, size_t raw_length,
                                std::string_view trigger) {
  begin_event(now, Event::kPacketDropped);
  header(h.type, nullptr, h.dcid, h.scid);
  out_.key("raw");
  out_.begin_object();
  u64_field(out_, "length", raw_length);
  out_.end_object();
  out_.key("trigger");
  out_.str(trigger);
  end_event();
}

void QlogWriter::packet_dropped(TimeNs now, PacketType type, uint64_t pn, size_t raw_length,
                                std::string_view trigger) {
  begin_event(now, Event::kPacketDropped);
  out_.key("header");
  out_.begin_object();
  out_.key("packet_type");
  out_.literal(qlog::packet_type_name(type));
  u64_field(out_, "packet_number", pn);
  out_.end_object();
  out_.key("raw");
  out_.begin_object();
  u64_field(out_, "length", raw_length);
  out_.end_object();
  out_.key("trigger");
  out_.str(trigger);
  end_event();
}

void QlogWriter::packets_acked(TimeNs now, PnSpace space,
                               std::span<const uint64_t> packet_numbers) {
  begin_event(now, Event::kPacketsAcked);
  out_.key("packet_number_space");
  out_.literal(pn_space_name(space));
  out_.key("packet_numbers");
  out_.begin_array();
  for (uint64_t pn : packet_numbers) out_.u64(pn);
  out_.end_array();
  end_event();
}

void QlogWriter::packet_lost(TimeNs now, PacketType type, uint64_t pn, QlogLossTrigger trigger) {
  begin_event(now, Event::kPacketLost);
  out_.key("header");
  out_.begin_object();
  out_.key("packet_type");
  out_.literal(qlog::packet_type_name(type));
  u64_field(out_, "packet_number", pn);
  out_.end_object();
  out_.key("trigger");
  out_.literal(loss_trigger_name(trigger));
  end_event();
}

void QlogWriter::metrics_updated(TimeNs now, const QlogRecoveryMetrics& m) {
  begin_event(now, Event::kMetricsUpdated);
  auto duration = [this](std::string_view name, const std::optional<DurationNs>& d) {
    if (!d) return;
    out_.key(name);
    // Durations beyond int64 ns (292 years) are not RTTs: clamp rather than wrap.
    out_.ms_from_ns(*d > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(*d));
  };
  auto count = [this](std::string_view name, const std::optional<uint64_t>& v) {
    if (v) u64_field(out_, name, *v);
  };
  duration("min_rtt", m.min_rtt);
  duration("smoothed_rtt", m.smoothed_rtt);
  duration("latest_rtt", m.latest_rtt);
  duration("rtt_variance", m.rtt_variance);
  count("pto_count", m.pto_count);
  count("congestion_window", m.congestion_window);
  count("bytes_in_flight", m.bytes_in_flight);
  count("ssthresh", m.ssthresh);
  count("packets_in_flight", m.packets_in_flight);
  count("pacing_rate", m.pacing_rate);
  end_event();
}

void QlogWriter::congestion_state_updated(TimeNs now, std::string_view old_state,
                                          std::string_view new_state, std::string_view trigger) {
  begin_event(now, Event::kCongestionStateUpdated);
  if (!old_state.empty()) {
    out_.key("old");
    out_.str(old_state);
  }
  out_.key("new");
  out_.str(new_state);
  if (!trigger.empty()) {
    out_.key("trigger");
    out_.str(trigger);
  }
  end_event();
}

void QlogWriter::key_updated(TimeNs now, QlogKeyType key_type, uint64_t generation,
                             QlogKeyTrigger trigger) {
  begin_event(now, Event::kKeyUpdated);
  out_.key("key_type");
  out_.literal(key_type_name(key_type));
  u64_field(out_, "generation", generation);
  out_.key("trigger");
  out_.literal(key_trigger_name(trigger));
  end_event();
}

void QlogWriter::connection_closed(TimeNs now, QlogOwner owner, const ConnectionCloseFrame& close,
                                   std::string_view trigger) {
  begin_event(now, Event::kConnectionClosed);
  out_.key("owner");
  out_.literal(owner_name(owner));
  if (close.application) {
    u64_field(out_, "application_code", close.error_code);
  } else {
    out_.key("connection_code");
    qlog::write_transport_error(out_, close.error_code);
  }
  out_.key("reason");
  out_.str(close.reason_phrase);
  if (!trigger.empty()) {
    out_.key("trigger");
    out_.str(trigger);
  }
  end_event();
}

void QlogWriter::connection_closed(TimeNs now, QlogOwner owner, std::string_view trigger) {
  begin_event(now, Event::kConnectionClosed);
  out_.key("owner");
  out_.literal(owner_name(owner));
  out_.key("trigger");
  out_.str(trigger);
  end_event();
}

}  // namespace camp::quic
