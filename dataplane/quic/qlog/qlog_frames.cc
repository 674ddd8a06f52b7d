#include "dataplane/quic/qlog/qlog_frames.h"

#include <cstdint>
#include <limits>
#include <variant>

#include "dataplane/quic/wire/frame_parser.h"

namespace camp::quic::qlog {

namespace {

// ACK Delay * 2^exponent microseconds, as ns, saturated so that no peer value can overflow.
int64_t ack_delay_ns(uint64_t encoded, uint64_t exponent) {
  constexpr uint64_t kMaxUs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000;
  if (exponent > 62) exponent = 62;
  const uint64_t us = encoded > (kMaxUs >> exponent) ? kMaxUs : encoded << exponent;
  return static_cast<int64_t>(us * 1000);
}

void type(JsonSeqOutput& out, const char* name) {
  out.key("frame_type");
  out.literal(name);
}

void field(JsonSeqOutput& out, const char* name, uint64_t v) {
  out.key(name);
  out.u64(v);
}

void stream_type(JsonSeqOutput& out, bool bidirectional) {
  out.key("stream_type");
  out.literal(bidirectional ? "bidirectional" : "unidirectional");
}

// 8 bytes of PATH_CHALLENGE / PATH_RESPONSE data, held big-endian in a uint64_t.
void path_data(JsonSeqOutput& out, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  out.key("data");
  out.hex(ByteView(b, 8));
}

void ack_body(JsonSeqOutput& out, const AckFrame& f, uint64_t exponent) {
  out.key("ack_delay");
  out.ms_from_ns(ack_delay_ns(f.ack_delay, exponent));
  // A caller-built frame with inconsistent ranges is logged without them rather than walked.
  if (ack_ranges_valid(f.largest_acknowledged, f.first_ack_range, f.encoded_ranges,
                       f.range_count)) {
    out.key("acked_ranges");
    out.begin_array();
    AckRangeIterator it = f.ranges();
    AckRange r;
    while (it.next(r)) {
      out.begin_array();
      out.u64(r.smallest);
      out.u64(r.largest);
      out.end_array();
    }
    out.end_array();
  }
  if (f.has_ecn) {
    field(out, "ect1", f.ecn.ect1);
    field(out, "ect0", f.ecn.ect0);
    field(out, "ce", f.ecn.ecn_ce);
  }
}

struct FrameFormatter {
  JsonSeqOutput& out;
  uint64_t exponent;

  void operator()(const PaddingFrame& f) {
    type(out, "padding");
    field(out, "length", f.length);
    field(out, "payload_length", f.length);
  }
  void operator()(const PingFrame&) { type(out, "ping"); }
  void operator()(const AckFrame& f) {
    type(out, f.is_path_ack ? "path_ack" : "ack");
    if (f.is_path_ack) field(out, "path_id", f.path_id);
    ack_body(out, f, exponent);
  }
  void operator()(const ResetStreamFrame& f) {
    type(out, "reset_stream");
    field(out, "stream_id", f.stream_id);
    field(out, "error_code", f.application_error_code);
    field(out, "final_size", f.final_size);
  }
  void operator()(const StopSendingFrame& f) {
    type(out, "stop_sending");
    field(out, "stream_id", f.stream_id);
    field(out, "error_code", f.application_error_code);
  }
  void operator()(const CryptoFrame& f) {
    type(out, "crypto");
    field(out, "offset", f.offset);
    field(out, "length", f.data.size);
  }
  void operator()(const NewTokenFrame& f) {
    type(out, "new_token");
    out.key("token");
    out.begin_object();
    out.key("raw");
    out.begin_object();
    field(out, "length", f.token.size);
    out.key("data");
    out.hex(f.token);
    out.end_object();
    out.end_object();
  }
  void operator()(const StreamFrame& f) {
    type(out, "stream");
    field(out, "stream_id", f.stream_id);
    field(out, "offset", f.offset);
    field(out, "length", f.data.size);
    out.key("fin");
    out.boolean(f.fin);
  }
  void operator()(const MaxDataFrame& f) {
    type(out, "max_data");
    field(out, "maximum", f.maximum_data);
  }
  void operator()(const MaxStreamDataFrame& f) {
    type(out, "max_stream_data");
    field(out, "stream_id", f.stream_id);
    field(out, "maximum", f.maximum_stream_data);
  }
  void operator()(const MaxStreamsFrame& f) {
    type(out, "max_streams");
    stream_type(out, f.bidirectional);
    field(out, "maximum", f.maximum_streams);
  }
  void operator()(const DataBlockedFrame& f) {
    type(out, "data_blocked");
    field(out, "limit", f.maximum_data);
  }
  void operator()(const StreamDataBlockedFrame& f) {
    type(out, "stream_data_blocked");
    field(out, "stream_id", f.stream_id);
    field(out, "limit", f.maximum_stream_data);
  }
  void operator()(const StreamsBlockedFrame& f) {
    type(out, "streams_blocked");
    stream_type(out, f.bidirectional);
    field(out, "limit", f.maximum_streams);
  }
  void operator()(const NewConnectionIdFrame& f) {
    type(out, f.has_path_id ? "path_new_connection_id" : "new_connection_id");
    if (f.has_path_id) field(out, "path_id", f.path_id);
    field(out, "sequence_number", f.sequence_number);
    field(out, "retire_prior_to", f.retire_prior_to);
    field(out, "connection_id_length", f.connection_id.size);
    out.key("connection_id");
    out.hex(f.connection_id);
    out.key("stateless_reset_token");
    out.hex(f.stateless_reset_token);
  }
  void operator()(const RetireConnectionIdFrame& f) {
    type(out, f.has_path_id ? "path_retire_connection_id" : "retire_connection_id");
    if (f.has_path_id) field(out, "path_id", f.path_id);
    field(out, "sequence_number", f.sequence_number);
  }
  void operator()(const PathChallengeFrame& f) {
    type(out, "path_challenge");
    path_data(out, f.data);
  }
  void operator()(const PathResponseFrame& f) {
    type(out, "path_response");
    path_data(out, f.data);
  }
  void operator()(const ConnectionCloseFrame& f) {
    type(out, "connection_close");
    out.key("error_space");
    out.literal(f.application ? "application" : "transport");
    out.key("error_code");
    if (f.application) {
      out.u64(f.error_code);
    } else {
      write_transport_error(out, f.error_code);
    }
    field(out, "raw_error_code", f.error_code);
    out.key("reason");
    out.str(f.reason_phrase);
    if (!f.application) field(out, "trigger_frame_type", f.frame_type);
  }
  void operator()(const HandshakeDoneFrame&) { type(out, "handshake_done"); }
  void operator()(const DatagramFrame& f) {
    type(out, "datagram");
    field(out, "length", f.data.size);
  }
  void operator()(const AckFrequencyFrame& f) {
    type(out, "ack_frequency");
    field(out, "sequence_number", f.sequence_number);
    field(out, "ack_eliciting_threshold", f.ack_eliciting_threshold);
    out.key("request_max_ack_delay");
    // Microseconds on the wire, bounded by the parser; saturate anything a caller built.
    constexpr uint64_t kMaxUs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000;
    const uint64_t us = f.request_max_ack_delay > kMaxUs ? kMaxUs : f.request_max_ack_delay;
    out.ms_from_ns(static_cast<int64_t>(us * 1000));
    field(out, "reordering_threshold", f.reordering_threshold);
  }
  void operator()(const ImmediateAckFrame&) { type(out, "immediate_ack"); }
  void operator()(const PathAbandonFrame& f) {
    type(out, "path_abandon");
    field(out, "path_id", f.path_id);
    field(out, "error_code", f.error_code);
  }
  void operator()(const PathStatusFrame& f) {
    type(out, f.available ? "path_status_available" : "path_status_backup");
    field(out, "path_id", f.path_id);
    field(out, "path_status_sequence_number", f.sequence_number);
  }
  void operator()(const MaxPathIdFrame& f) {
    type(out, "max_path_id");
    field(out, "maximum_path_id", f.maximum_path_id);
  }
  void operator()(const PathsBlockedFrame& f) {
    type(out, "paths_blocked");
    field(out, "maximum_path_id", f.maximum_path_id);
  }
  void operator()(const PathCidsBlockedFrame& f) {
    type(out, "path_cids_blocked");
    field(out, "path_id", f.path_id);
    field(out, "next_sequence_number", f.next_sequence_number);
  }
};

}  // namespace

const char* packet_type_name(PacketType t) {
  switch (t) {
    case PacketType::kInitial: return "initial";
    case PacketType::kZeroRtt: return "0RTT";
    case PacketType::kHandshake: return "handshake";
    case PacketType::kRetry: return "retry";
    case PacketType::kVersionNegotiation: return "version_negotiation";
    case PacketType::kOneRtt: return "1RTT";
  }
  return "unknown";
}

const char* transport_error_name(uint64_t code) {
  switch (static_cast<TransportError>(code)) {
    case TransportError::NO_ERROR: return "no_error";
    case TransportError::INTERNAL_ERROR: return "internal_error";
    case TransportError::CONNECTION_REFUSED: return "connection_refused";
    case TransportError::FLOW_CONTROL_ERROR: return "flow_control_error";
    case TransportError::STREAM_LIMIT_ERROR: return "stream_limit_error";
    case TransportError::STREAM_STATE_ERROR: return "stream_state_error";
    case TransportError::FINAL_SIZE_ERROR: return "final_size_error";
    case TransportError::FRAME_ENCODING_ERROR: return "frame_encoding_error";
    case TransportError::TRANSPORT_PARAMETER_ERROR: return "transport_parameter_error";
    case TransportError::CONNECTION_ID_LIMIT_ERROR: return "connection_id_limit_error";
    case TransportError::PROTOCOL_VIOLATION: return "protocol_violation";
    case TransportError::INVALID_TOKEN: return "invalid_token";
    case TransportError::APPLICATION_ERROR: return "application_error";
    case TransportError::CRYPTO_BUFFER_EXCEEDED: return "crypto_buffer_exceeded";
    case TransportError::KEY_UPDATE_ERROR: return "key_update_error";
    case TransportError::AEAD_LIMIT_REACHED: return "aead_limit_reached";
    case TransportError::NO_VIABLE_PATH: return "no_viable_path";
  }
  return nullptr;
}

void write_transport_error(JsonSeqOutput& out, uint64_t code) {
  if (const char* name = transport_error_name(code)) {
    out.literal(name);
  } else if (code >= 0x100 && code <= 0x1ff) {
    constexpr char kHex[] = "0123456789abcdef";
    const char s[] = {'c', 'r', 'y', 'p', 't', 'o', '_', 'e', 'r', 'r', 'o', 'r', '_', '0', 'x',
                      '1', kHex[(code >> 4) & 0xf], kHex[code & 0xf]};
    out.literal(std::string_view(s, sizeof s));
  } else {
    out.u64(code);
  }
}

void write_frame(JsonSeqOutput& out, const Frame& f, uint64_t ack_delay_exponent) {
  out.begin_object();
  std::visit(FrameFormatter{out, ack_delay_exponent}, f);
  out.end_object();
}

void write_payload_frames(JsonSeqOutput& out, ByteView payload, PacketType type,
                          uint64_t ack_delay_exponent) {
  FrameParseOptions opt;
  opt.max_datagram_frame_size = std::numeric_limits<uint64_t>::max();
  opt.multipath = true;
  opt.ack_frequency = true;
  FrameReader rd(payload.data, payload.size, type, opt);
  Frame f;
  while (rd.next(f)) write_frame(out, f, ack_delay_exponent);
  if (rd.failed() && payload.size > 0) {
    out.begin_object();
    out.key("frame_type");
    out.literal("unknown");
    field(out, "raw_frame_type", rd.error_frame_type());
    out.key("raw");
    out.begin_object();
    field(out, "length", payload.size - rd.offset());
    out.end_object();
    out.end_object();
  }
}

}  // namespace camp::quic::qlog
