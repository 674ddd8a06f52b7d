#include "dataplane/quic/wire/frame_writer.h"

#include <algorithm>

#include "dataplane/quic/wire/frame_parser.h"
#include "dataplane/quic/wire/reader.h"

namespace camp::quic {

using wire_detail::Reader;
using wire_detail::Writer;
namespace ft = frame_type;

namespace {

bool put(Writer& w, const PaddingFrame& f) { return f.length > 0 && w.zeros(f.length); }
bool put(Writer& w, const PingFrame&) { return w.varint(ft::PING); }

bool put(Writer& w, const AckFrame& f) {
  if (!ack_ranges_valid(f.largest_acknowledged, f.first_ack_range, f.encoded_ranges,
                        f.range_count) ||
      (f.is_path_ack && f.path_id > kMaxPathId)) {
    return false;
  }
  w.varint(f.is_path_ack ? (f.has_ecn ? ft::PATH_ACK_ECN : ft::PATH_ACK)
                         : (f.has_ecn ? ft::ACK_ECN : ft::ACK));
  if (f.is_path_ack) w.varint(f.path_id);
  w.varint(f.largest_acknowledged);
  w.varint(f.ack_delay);
  w.varint(f.range_count);
  w.varint(f.first_ack_range);
  // Re-encode each (gap, length) in its shortest form; the input may have used longer ones.
  Reader r{f.encoded_ranges.data, f.encoded_ranges.size};
  uint64_t v;
  while (w.ok && r.varint(v)) w.varint(v);
  if (f.has_ecn) {
    w.varint(f.ecn.ect0);
    w.varint(f.ecn.ect1);
    w.varint(f.ecn.ecn_ce);
  }
  return w.ok;
}

bool put(Writer& w, const ResetStreamFrame& f) {
  return w.varint(ft::RESET_STREAM) && w.varint(f.stream_id) &&
         w.varint(f.application_error_code) && w.varint(f.final_size);
}

bool put(Writer& w, const StopSendingFrame& f) {
  return w.varint(ft::STOP_SENDING) && w.varint(f.stream_id) &&
         w.varint(f.application_error_code);
}

bool put(Writer& w, const CryptoFrame& f) {
  if (f.offset > kMaxStreamOffset || f.data.size > kMaxStreamOffset - f.offset) return false;
  return w.varint(ft::CRYPTO) && w.varint(f.offset) && w.varint(f.data.size) && w.bytes(f.data);
}

bool put(Writer& w, const NewTokenFrame& f) {
  return !f.token.empty() && w.varint(ft::NEW_TOKEN) && w.varint(f.token.size) &&
         w.bytes(f.token);
}

// A STREAM frame's fields before its data.
bool put_head(Writer& w, const StreamFrame& f) {
  if (f.offset > kMaxStreamOffset || f.data.size > kMaxStreamOffset - f.offset) return false;
  if (f.offset != 0 && !f.has_offset) return false;
  const uint64_t type = ft::STREAM | (f.has_offset ? ft::STREAM_OFF : 0) |
                        (f.has_length ? ft::STREAM_LEN : 0) | (f.fin ? ft::STREAM_FIN : 0);
  w.varint(type);
  w.varint(f.stream_id);
  if (f.has_offset) w.varint(f.offset);
  if (f.has_length) w.varint(f.data.size);
  return w.ok;
}

bool put(Writer& w, const StreamFrame& f) { return put_head(w, f) && w.bytes(f.data); }

bool put(Writer& w, const MaxDataFrame& f) {
  return w.varint(ft::MAX_DATA) && w.varint(f.maximum_data);
}

bool put(Writer& w, const MaxStreamDataFrame& f) {
  return w.varint(ft::MAX_STREAM_DATA) && w.varint(f.stream_id) &&
         w.varint(f.maximum_stream_data);
}

bool put(Writer& w, const MaxStreamsFrame& f) {
  return f.maximum_streams <= kMaxStreamsLimit &&
         w.varint(f.bidirectional ? ft::MAX_STREAMS_BIDI : ft::MAX_STREAMS_UNI) &&
         w.varint(f.maximum_streams);
}

bool put(Writer& w, const DataBlockedFrame& f) {
  return w.varint(ft::DATA_BLOCKED) && w.varint(f.maximum_data);
}

bool put(Writer& w, const StreamDataBlockedFrame& f) {
  return w.varint(ft::STREAM_DATA_BLOCKED) && w.varint(f.stream_id) &&
         w.varint(f.maximum_stream_data);
}

bool put(Writer& w, const StreamsBlockedFrame& f) {
  return f.maximum_streams <= kMaxStreamsLimit &&
         w.varint(f.bidirectional ? ft::STREAMS_BLOCKED_BIDI : ft::STREAMS_BLOCKED_UNI) &&
         w.varint(f.maximum_streams);
}

bool put(Writer& w, const NewConnectionIdFrame& f) {
  if (f.connection_id.size < 1 || f.connection_id.size > kMaxCidLength ||
      f.stateless_reset_token.size != kStatelessResetTokenLength ||
      f.retire_prior_to > f.sequence_number || (f.has_path_id && f.path_id > kMaxPathId)) {
    return false;
  }
  w.varint(f.has_path_id ? ft::PATH_NEW_CONNECTION_ID : ft::NEW_CONNECTION_ID);
  if (f.has_path_id) w.varint(f.path_id);
  w.varint(f.sequence_number);
  w.varint(f.retire_prior_to);
  w.u8(static_cast<uint8_t>(f.connection_id.size));
  w.bytes(f.connection_id);
  return w.bytes(f.stateless_reset_token);
}

bool put(Writer& w, const RetireConnectionIdFrame& f) {
  if (f.has_path_id && f.path_id > kMaxPathId) return false;
  w.varint(f.has_path_id ? ft::PATH_RETIRE_CONNECTION_ID : ft::RETIRE_CONNECTION_ID);
  if (f.has_path_id) w.varint(f.path_id);
  return w.varint(f.sequence_number);
}

bool put(Writer& w, const PathChallengeFrame& f) {
  return w.varint(ft::PATH_CHALLENGE) && w.uint(f.data, 8);
}

bool put(Writer& w, const PathResponseFrame& f) {
  return w.varint(ft::PATH_RESPONSE) && w.uint(f.data, 8);
}

bool put(Writer& w, const ConnectionCloseFrame& f) {
  w.varint(f.application ? ft::CONNECTION_CLOSE_APP : ft::CONNECTION_CLOSE);
  w.varint(f.error_code);
  if (!f.application) w.varint(f.frame_type);
  w.varint(f.reason_phrase.size);
  return w.bytes(f.reason_phrase);
}

bool put(Writer& w, const HandshakeDoneFrame&) { return w.varint(ft::HANDSHAKE_DONE); }

bool put(Writer& w, const DatagramFrame& f) {
  w.varint(f.has_length ? ft::DATAGRAM_LEN : ft::DATAGRAM);
  if (f.has_length) w.varint(f.data.size);
  return w.bytes(f.data);
}

bool put(Writer& w, const AckFrequencyFrame& f) {
  return f.request_max_ack_delay < kMaxAckDelayLimitUs && w.varint(ft::ACK_FREQUENCY) &&
         w.varint(f.sequence_number) && w.varint(f.ack_eliciting_threshold) &&
         w.varint(f.request_max_ack_delay) && w.varint(f.reordering_threshold);
}

bool put(Writer& w, const ImmediateAckFrame&) { return w.varint(ft::IMMEDIATE_ACK); }

bool put(Writer& w, const PathAbandonFrame& f) {
  return f.path_id <= kMaxPathId && w.varint(ft::PATH_ABANDON) && w.varint(f.path_id) &&
         w.varint(f.error_code);
}

bool put(Writer& w, const PathStatusFrame& f) {
  return f.path_id <= kMaxPathId &&
         w.varint(f.available ? ft::PATH_STATUS_AVAILABLE : ft::PATH_STATUS_BACKUP) &&
         w.varint(f.path_id) && w.varint(f.sequence_number);
}

bool put(Writer& w, const MaxPathIdFrame& f) {
  return f.maximum_path_id <= kMaxPathId && w.varint(ft::MAX_PATH_ID) &&
         w.varint(f.maximum_path_id);
}

bool put(Writer& w, const PathsBlockedFrame& f) {
  return f.maximum_path_id <= kMaxPathId && w.varint(ft::PATHS_BLOCKED) &&
         w.varint(f.maximum_path_id);
}

bool put(Writer& w, const PathCidsBlockedFrame& f) {
  return f.path_id <= kMaxPathId && w.varint(ft::PATH_CIDS_BLOCKED) && w.varint(f.path_id) &&
         w.varint(f.next_sequence_number);
}

// One frame of a known type, no Frame built around it.
template <class F>
size_t write_one(uint8_t* buf, size_t cap, const F& f) {
  Writer w{buf, cap};
  return buf != nullptr && put(w, f) ? w.result() : 0;
}

size_t write_with(Writer w, const Frame& frame) {
  const bool ok = std::visit([&w](const auto& f) { return put(w, f); }, frame);
  return ok ? w.result() : 0;
}

// Largest n with prefix + (len_field ? varint::size(n) : 0) + n <= space, n <= limit.
size_t data_fits(size_t prefix, bool len_field, size_t space, uint64_t limit) {
  if (space < prefix) return 0;
  const size_t avail = space - prefix;
  if (!len_field) return static_cast<size_t>(std::min<uint64_t>(avail, limit));
  size_t best = 0;
  for (size_t k : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
    if (avail < k) break;
    // The most a k-byte length can say: 2^(8k-2) - 1.
    const uint64_t most = (uint64_t{1} << (8 * k - 2)) - 1;
    const uint64_t n = std::min<uint64_t>({avail - k, limit, most});
    best = std::max<size_t>(best, static_cast<size_t>(n));
  }
  // Not even a zero length field fits: report 0 (an empty frame does not fit either).
  return best;
}

}  // namespace

size_t write_frame(uint8_t* buf, size_t cap, const Frame& frame) {
  if (buf == nullptr) return 0;
  return write_with(Writer{buf, cap}, frame);
}

size_t frame_size(const Frame& frame) { return write_with(Writer{nullptr, SIZE_MAX}, frame); }

size_t write_frame(uint8_t* buf, size_t cap, const StreamFrame& f) {
  return write_one(buf, cap, f);
}

size_t write_stream_frame_head(uint8_t* buf, size_t cap, const StreamFrame& f) {
  Writer w{buf, cap};
  if (buf == nullptr || !put_head(w, f) || !w.room(f.data.size)) return 0;
  return w.result();
}

size_t write_frame(uint8_t* buf, size_t cap, const DatagramFrame& f) {
  return write_one(buf, cap, f);
}

size_t write_ack(uint8_t* buf, size_t cap, std::span<const AckRange> ranges, uint64_t ack_delay,
                 const EcnCounts* ecn, const uint64_t* path_id) {
  if (buf == nullptr || ranges.empty()) return 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].smallest > ranges[i].largest || ranges[i].largest > varint::kMax) return 0;
    if (i > 0 && ranges[i].largest + 2 > ranges[i - 1].smallest) return 0;
  }
  if (path_id && *path_id > kMaxPathId) return 0;
  Writer w{buf, cap};
  w.varint(path_id ? (ecn ? ft::PATH_ACK_ECN : ft::PATH_ACK) : (ecn ? ft::ACK_ECN : ft::ACK));
  if (path_id) w.varint(*path_id);
  w.varint(ranges[0].largest);
  w.varint(ack_delay);
  w.varint(ranges.size() - 1);
  w.varint(ranges[0].largest - ranges[0].smallest);
  for (size_t i = 1; i < ranges.size() && w.ok; ++i) {
    w.varint(ranges[i - 1].smallest - ranges[i].largest - 2);  // Gap
    w.varint(ranges[i].largest - ranges[i].smallest);          // ACK Range Length
  }
  if (ecn) {
    w.varint(ecn->ect0);
    w.varint(ecn->ect1);
    w.varint(ecn->ecn_ce);
  }
  return w.result();
}

size_t stream_data_fits(uint64_t stream_id, uint64_t offset, bool with_length, size_t space) {
  if (stream_id > varint::kMax || offset > kMaxStreamOffset) return 0;
  const size_t prefix = 1 + varint::size(stream_id) + (offset ? varint::size(offset) : 0);
  return data_fits(prefix, with_length, space, kMaxStreamOffset - offset);
}

size_t crypto_data_fits(uint64_t offset, size_t space) {
  if (offset > kMaxStreamOffset) return 0;
  return data_fits(1 + varint::size(offset), true, space, kMaxStreamOffset - offset);
}

size_t datagram_data_fits(bool with_length, size_t space) {
  return data_fits(1, with_length, space, varint::kMax);
}

uint64_t frame_type_of(const Frame& frame) {
  struct TypeOf {
    uint64_t operator()(const PaddingFrame&) const { return ft::PADDING; }
    uint64_t operator()(const PingFrame&) const { return ft::PING; }
    uint64_t operator()(const AckFrame& f) const {
      return f.is_path_ack ? (f.has_ecn ? ft::PATH_ACK_ECN : ft::PATH_ACK)
                           : (f.has_ecn ? ft::ACK_ECN : ft::ACK);
    }
    uint64_t operator()(const ResetStreamFrame&) const { return ft::RESET_STREAM; }
    uint64_t operator()(const StopSendingFrame&) const { return ft::STOP_SENDING; }
    uint64_t operator()(const CryptoFrame&) const { return ft::CRYPTO; }
    uint64_t operator()(const NewTokenFrame&) const { return ft::NEW_TOKEN; }
    uint64_t operator()(const StreamFrame& f) const {
      return ft::STREAM | (f.has_offset ? ft::STREAM_OFF : 0) |
             (f.has_length ? ft::STREAM_LEN : 0) | (f.fin ? ft::STREAM_FIN : 0);
    }
    uint64_t operator()(const MaxDataFrame&) const { return ft::MAX_DATA; }
    uint64_t operator()(const MaxStreamDataFrame&) const { return ft::MAX_STREAM_DATA; }
    uint64_t operator()(const MaxStreamsFrame& f) const {
      return f.bidirectional ? ft::MAX_STREAMS_BIDI : ft::MAX_STREAMS_UNI;
    }
    uint64_t operator()(const DataBlockedFrame&) const { return ft::DATA_BLOCKED; }
    uint64_t operator()(const StreamDataBlockedFrame&) const { return ft::STREAM_DATA_BLOCKED; }
    uint64_t operator()(const StreamsBlockedFrame& f) const {
      return f.bidirectional ? ft::STREAMS_BLOCKED_BIDI : ft::STREAMS_BLOCKED_UNI;
    }
    uint64_t operator()(const NewConnectionIdFrame& f) const {
      return f.has_path_id ? ft::PATH_NEW_CONNECTION_ID : ft::NEW_CONNECTION_ID;
    }
    uint64_t operator()(const RetireConnectionIdFrame& f) const {
      return f.has_path_id ? ft::PATH_RETIRE_CONNECTION_ID : ft::RETIRE_CONNECTION_ID;
    }
    uint64_t operator()(const PathChallengeFrame&) const { return ft::PATH_CHALLENGE; }
    uint64_t operator()(const PathResponseFrame&) const { return ft::PATH_RESPONSE; }
    uint64_t operator()(const ConnectionCloseFrame& f) const {
      return f.application ? ft::CONNECTION_CLOSE_APP : ft::CONNECTION_CLOSE;
    }
    uint64_t operator()(const HandshakeDoneFrame&) const { return ft::HANDSHAKE_DONE; }
    uint64_t operator()(const DatagramFrame& f) const {
      return f.has_length ? ft::DATAGRAM_LEN : ft::DATAGRAM;
    }
    uint64_t operator()(const AckFrequencyFrame&) const { return ft::ACK_FREQUENCY; }
    uint64_t operator()(const ImmediateAckFrame&) const { return ft::IMMEDIATE_ACK; }
    uint64_t operator()(const PathAbandonFrame&) const { return ft::PATH_ABANDON; }
    uint64_t operator()(const PathStatusFrame& f) const {
      return f.available ? ft::PATH_STATUS_AVAILABLE : ft::PATH_STATUS_BACKUP;
    }
    uint64_t operator()(const MaxPathIdFrame&) const { return ft::MAX_PATH_ID; }
    uint64_t operator()(const PathsBlockedFrame&) const { return ft::PATHS_BLOCKED; }
    uint64_t operator()(const PathCidsBlockedFrame&) const { return ft::PATH_CIDS_BLOCKED; }
  };
  return std::visit(TypeOf{}, frame);
}

}  // namespace camp::quic
