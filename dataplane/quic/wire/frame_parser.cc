#include "dataplane/quic/wire/frame_parser.h"

#include "dataplane/quic/wire/reader.h"

namespace camp::quic {

using wire_detail::Reader;
namespace ft = frame_type;

namespace {

// Reads count (gap, length) pairs, checking that no range goes below packet 0 (RFC 9000 19.3.1).
// Each pair takes at least two bytes, so the loop ends within r.left() / 2 steps whatever count
// says.
bool walk_ack_ranges(Reader& r, uint64_t largest, uint64_t first_range, uint64_t count) {
  if (first_range > largest) return false;
  uint64_t smallest = largest - first_range;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t gap, len;
    if (!r.varint(gap) || !r.varint(len)) return false;
    // The next range's largest is smallest - gap - 2; gap < 2^62, so gap + 2 cannot wrap.
    if (smallest < gap + 2) return false;
    const uint64_t next_largest = smallest - gap - 2;
    if (len > next_largest) return false;
    smallest = next_largest - len;
  }
  return true;
}

struct Parse {
  Reader r;
  FrameParseResult res;

  FrameParseResult fail(TransportError e) {
    res.error = e;
    res.consumed = 0;
    return res;
  }
};

bool is_multipath(uint64_t t) {
  return t == ft::PATH_ACK || t == ft::PATH_ACK_ECN ||
         (t >= ft::PATH_ABANDON && t <= ft::PATH_CIDS_BLOCKED);
}

}  // namespace

bool ack_ranges_valid(uint64_t largest, uint64_t first_range, ByteView encoded, uint64_t count) {
  Reader r{encoded.data, encoded.size};
  return walk_ack_ranges(r, largest, first_range, count) && r.left() == 0;
}

bool AckRangeIterator::next(AckRange& out) {
  if (left_ == 0) return false;
  --left_;
  if (first_) {
    first_ = false;
    out = {next_largest_ - first_range_, next_largest_};
  } else {
    // Validated by the parser (or by write_frame before it iterates).
    Reader r{encoded_.data, encoded_.size, pos_};
    uint64_t gap = 0, len = 0;
    if (!r.varint(gap) || !r.varint(len) || prev_smallest_ < gap + 2 ||
        len > prev_smallest_ - gap - 2) {
      left_ = 0;
      return false;
    }
    pos_ = r.pos;
    const uint64_t largest = prev_smallest_ - gap - 2;
    out = {largest - len, largest};
  }
  prev_smallest_ = out.smallest;
  return true;
}

uint64_t AckFrame::smallest_acknowledged() const {
  AckRangeIterator it = ranges();
  AckRange r, last{};
  while (it.next(r)) last = r;
  return last.smallest;
}

bool operator==(const AckFrame& a, const AckFrame& b) {
  if (a.is_path_ack != b.is_path_ack || a.path_id != b.path_id ||
      a.largest_acknowledged != b.largest_acknowledged || a.ack_delay != b.ack_delay ||
      a.range_count != b.range_count || a.first_ack_range != b.first_ack_range ||
      a.has_ecn != b.has_ecn || (a.has_ecn && a.ecn != b.ecn)) {
    return false;
  }
  AckRangeIterator ia = a.ranges(), ib = b.ranges();
  AckRange ra, rb;
  for (;;) {
    const bool ma = ia.next(ra), mb = ib.next(rb);
    if (ma != mb) return false;
    if (!ma) return true;
    if (ra != rb) return false;
  }
}

FrameParseResult parse_frame(const uint8_t* payload, size_t size, PacketType packet,
                             const FrameParseOptions& opt, Frame& out) {
  Parse ps{Reader{payload, size}, {}};
  Reader& r = ps.r;
  constexpr auto kEncoding = TransportError::FRAME_ENCODING_ERROR;
  constexpr auto kViolation = TransportError::PROTOCOL_VIOLATION;

  uint64_t type;
  if (!r.varint(type)) return ps.fail(kEncoding);
  ps.res.frame_type = type;
  // RFC 9000 12.4: the type must use its shortest encoding.
  if (r.pos != varint::size(type)) return ps.fail(kViolation);
  if (!frame_type_known(type)) return ps.fail(kEncoding);
  if (is_multipath(type)) {
    // multipath-21 4: only in 1-RTT, else PROTOCOL_VIOLATION, as soon as the type can mean
    // something to us (we offered the extension). Checked before negotiation: during the
    // handshake the peer's initial_max_path_id may not have arrived yet. Without our offer the
    // type is unknown to this connection (RFC 9000 12.4).
    const bool offered = opt.multipath || opt.multipath_offered;
    if (offered && !frame_allowed_in(type, packet)) return ps.fail(kViolation);
    if (!opt.multipath) return ps.fail(kEncoding);
  }
  if ((type == ft::ACK_FREQUENCY || type == ft::IMMEDIATE_ACK) && !opt.ack_frequency) {
    return ps.fail(kEncoding);
  }
  if ((type == ft::DATAGRAM || type == ft::DATAGRAM_LEN) && opt.max_datagram_frame_size == 0) {
    return ps.fail(kViolation);  // RFC 9221 3
  }
  if (!frame_allowed_in(type, packet)) return ps.fail(kViolation);
  if ((type == ft::NEW_TOKEN || type == ft::HANDSHAKE_DONE) && opt.local_role == Role::kServer) {
    return ps.fail(kViolation);
  }

  // Field reads; any failure past this point is a truncated frame.
  bool ok = true;
  auto vi = [&](uint64_t& v) { ok = ok && r.varint(v); };

  switch (type) {
    case ft::PADDING: {
      size_t end = r.pos;
      while (end < size && payload[end] == 0) ++end;
      out = PaddingFrame{end - r.pos + 1};
      r.pos = end;
      break;
    }
    case ft::PING:
      out = PingFrame{};
      break;
    case ft::ACK:
    case ft::ACK_ECN:
    case ft::PATH_ACK:
    case ft::PATH_ACK_ECN: {
      AckFrame f;
      f.is_path_ack = type == ft::PATH_ACK || type == ft::PATH_ACK_ECN;
      f.has_ecn = type == ft::ACK_ECN || type == ft::PATH_ACK_ECN;
      if (f.is_path_ack) vi(f.path_id);
      vi(f.largest_acknowledged);
      vi(f.ack_delay);
      vi(f.range_count);
      vi(f.first_ack_range);
      if (!ok) return ps.fail(kEncoding);
      const size_t start = r.pos;
      if (!walk_ack_ranges(r, f.largest_acknowledged, f.first_ack_range, f.range_count)) {
        return ps.fail(kEncoding);
      }
      f.encoded_ranges = ByteView(payload + start, r.pos - start);
      if (f.has_ecn) {
        vi(f.ecn.ect0);
        vi(f.ecn.ect1);
        vi(f.ecn.ecn_ce);
      }
      if (ok && f.is_path_ack && f.path_id > kMaxPathId) return ps.fail(kViolation);
      out = f;
      break;
    }
    case ft::RESET_STREAM: {
      ResetStreamFrame f;
      vi(f.stream_id);
      vi(f.application_error_code);
      vi(f.final_size);
      out = f;
      break;
    }
    case ft::STOP_SENDING: {
      StopSendingFrame f;
      vi(f.stream_id);
      vi(f.application_error_code);
      out = f;
      break;
    }
    case ft::CRYPTO: {
      CryptoFrame f;
      uint64_t len = 0;
      vi(f.offset);
      vi(len);
      ok = ok && r.bytes(len, f.data);
      if (ok && f.offset + f.data.size > kMaxStreamOffset) return ps.fail(kEncoding);
      out = f;
      break;
    }
    case ft::NEW_TOKEN: {
      NewTokenFrame f;
      uint64_t len = 0;
      vi(len);
      ok = ok && r.bytes(len, f.token);
      if (ok && len == 0) return ps.fail(kEncoding);
      out = f;
      break;
    }
    case ft::MAX_DATA: {
      MaxDataFrame f;
      vi(f.maximum_data);
      out = f;
      break;
    }
    case ft::MAX_STREAM_DATA: {
      MaxStreamDataFrame f;
      vi(f.stream_id);
      vi(f.maximum_stream_data);
      out = f;
      break;
    }
    case ft::MAX_STREAMS_BIDI:
    case ft::MAX_STREAMS_UNI: {
      MaxStreamsFrame f;
      f.bidirectional = type == ft::MAX_STREAMS_BIDI;
      vi(f.maximum_streams);
      if (ok && f.maximum_streams > kMaxStreamsLimit) return ps.fail(kEncoding);
      out = f;
      break;
    }
    case ft::DATA_BLOCKED: {
      DataBlockedFrame f;
      vi(f.maximum_data);
      out = f;
      break;
    }
    case ft::STREAM_DATA_BLOCKED: {
      StreamDataBlockedFrame f;
      vi(f.stream_id);
      vi(f.maximum_stream_data);
      out = f;
      break;
    }
    case ft::STREAMS_BLOCKED_BIDI:
    case ft::STREAMS_BLOCKED_UNI: {
      StreamsBlockedFrame f;
      f.bidirectional = type == ft::STREAMS_BLOCKED_BIDI;
      vi(f.maximum_streams);
      if (ok && f.maximum_streams > kMaxStreamsLimit) return ps.fail(kEncoding);
      out = f;
      break;
    }
    case ft::NEW_CONNECTION_ID:
    case ft::PATH_NEW_CONNECTION_ID: {
      NewConnectionIdFrame f;
      f.has_path_id = type == ft::PATH_NEW_CONNECTION_ID;
      if (f.has_path_id) vi(f.path_id);
      vi(f.sequence_number);
      vi(f.retire_prior_to);
      uint8_t len = 0;
      ok = ok && r.u8(len);
      if (ok && (len < 1 || len > kMaxCidLength)) return ps.fail(kEncoding);
      ok = ok && r.bytes(len, f.connection_id) &&
           r.bytes(kStatelessResetTokenLength, f.stateless_reset_token);
      if (ok && f.retire_prior_to > f.sequence_number) return ps.fail(kEncoding);
      if (ok && f.path_id > kMaxPathId) return ps.fail(kViolation);
      out = f;
      break;
    }
    case ft::RETIRE_CONNECTION_ID:
    case ft::PATH_RETIRE_CONNECTION_ID: {
      RetireConnectionIdFrame f;
      f.has_path_id = type == ft::PATH_RETIRE_CONNECTION_ID;
      if (f.has_path_id) vi(f.path_id);
      vi(f.sequence_number);
      if (ok && f.path_id > kMaxPathId) return ps.fail(kViolation);
      out = f;
      break;
    }
    case ft::PATH_CHALLENGE:
    case ft::PATH_RESPONSE: {
      ByteView d;
      ok = r.bytes(8, d);
      uint64_t v = 0;
      for (size_t i = 0; ok && i < 8; ++i) v = v << 8 | d[i];
      if (type == ft::PATH_CHALLENGE) {
        out = PathChallengeFrame{v};
      } else {
        out = PathResponseFrame{v};
      }
      break;
    }
    case ft::CONNECTION_CLOSE:
    case ft::CONNECTION_CLOSE_APP: {
      ConnectionCloseFrame f;
      f.application = type == ft::CONNECTION_CLOSE_APP;
      uint64_t len = 0;
      vi(f.error_code);
      if (!f.application) vi(f.frame_type);
      vi(len);
      ok = ok && r.bytes(len, f.reason_phrase);
      out = f;
      break;
    }
    case ft::HANDSHAKE_DONE:
      out = HandshakeDoneFrame{};
      break;
    default:
      // Types 0x08-0x0f (STREAM) and the extension frames with more than one byte of type.
      if (type >= ft::STREAM && type <= (ft::STREAM | 0x07)) {
        StreamFrame f;
        f.has_offset = type & ft::STREAM_OFF;
        f.has_length = type & ft::STREAM_LEN;
        f.fin = type & ft::STREAM_FIN;
        vi(f.stream_id);
        if (f.has_offset) vi(f.offset);
        if (f.has_length) {
          uint64_t len = 0;
          vi(len);
          ok = ok && r.bytes(len, f.data);
        } else {
          ok = ok && r.bytes(r.left(), f.data);
        }
        // RFC 9000 19.8: offset + length may not exceed 2^62-1.
        if (ok && f.offset + f.data.size > kMaxStreamOffset) return ps.fail(kEncoding);
        out = f;
      } else if (type == ft::DATAGRAM || type == ft::DATAGRAM_LEN) {
        DatagramFrame f;
        f.has_length = type == ft::DATAGRAM_LEN;
        if (f.has_length) {
          uint64_t len = 0;
          vi(len);
          ok = ok && r.bytes(len, f.data);
        } else {
          ok = r.bytes(r.left(), f.data);
        }
        // RFC 9221 3: the whole frame counts against max_datagram_frame_size.
        if (ok && r.pos > opt.max_datagram_frame_size) return ps.fail(kViolation);
        out = f;
      } else if (type == ft::ACK_FREQUENCY) {
        AckFrequencyFrame f;
        vi(f.sequence_number);
        vi(f.ack_eliciting_threshold);
        vi(f.request_max_ack_delay);
        vi(f.reordering_threshold);
        if (ok && (f.request_max_ack_delay >= kMaxAckDelayLimitUs ||
                   f.request_max_ack_delay < opt.min_ack_delay_us)) {
          return ps.fail(kViolation);
        }
        out = f;
      } else if (type == ft::IMMEDIATE_ACK) {
        out = ImmediateAckFrame{};
      } else if (type == ft::PATH_ABANDON) {
        PathAbandonFrame f;
        vi(f.path_id);
        vi(f.error_code);
        if (ok && f.path_id > kMaxPathId) return ps.fail(kViolation);
        out = f;
      } else if (type == ft::PATH_STATUS_BACKUP || type == ft::PATH_STATUS_AVAILABLE) {
        PathStatusFrame f;
        f.available = type == ft::PATH_STATUS_AVAILABLE;
        vi(f.path_id);
        vi(f.sequence_number);
        if (ok && f.path_id > kMaxPathId) return ps.fail(kViolation);
        out = f;
      } else if (type == ft::MAX_PATH_ID || type == ft::PATHS_BLOCKED) {
        uint64_t v = 0;
        vi(v);
        if (ok && v > kMaxPathId) return ps.fail(kViolation);
        if (type == ft::MAX_PATH_ID) {
          out = MaxPathIdFrame{v};
        } else {
          out = PathsBlockedFrame{v};
        }
      } else if (type == ft::PATH_CIDS_BLOCKED) {
        PathCidsBlockedFrame f;
        vi(f.path_id);
        vi(f.next_sequence_number);
        if (ok && f.path_id > kMaxPathId) return ps.fail(kViolation);
        out = f;
      } else {
        return ps.fail(kEncoding);  // frame_type_known() and this switch disagree
      }
      break;
  }
  if (!ok) return ps.fail(kEncoding);
  ps.res.consumed = r.pos;
  return ps.res;
}

bool FrameReader::next(Frame& out) {
  if (failed() || pos_ >= n_) return false;
  const FrameParseResult res = parse_frame(p_ + pos_, n_ - pos_, packet_, options_, out);
  if (!res.ok()) {
    error_ = res.error;
    error_frame_type_ = res.frame_type;
    return false;
  }
  pos_ += res.consumed;
  return true;
}

}  // namespace camp::quic
