// Typed views of QUIC frames (RFC 9000 19, RFC 9221 4, draft-ietf-quic-multipath-21 4,
// draft-ietf-quic-ack-frequency 4-5). Byte fields (data, token, reason, CIDs) point into the
// packet the frame was parsed from; nothing here owns memory or allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>

#include "dataplane/codec/varint.h"
#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frame_types.h"

namespace camp::quic {

// Largest stream or crypto offset + length (RFC 9000 19.8, 19.6) and largest MAX_STREAMS /
// STREAMS_BLOCKED value (19.11, 19.14). Path IDs are at most 2^32-1 (multipath 2.1).
inline constexpr uint64_t kMaxStreamOffset = varint::kMax;
inline constexpr uint64_t kMaxStreamsLimit = uint64_t{1} << 60;
inline constexpr uint64_t kMaxPathId = 0xffffffffu;
// ACK_FREQUENCY's Requested Max Ack Delay is in microseconds; max_ack_delay must stay < 2^14 ms.
inline constexpr uint64_t kMaxAckDelayLimitUs = (uint64_t{1} << 14) * 1000;

// A run of consecutive PADDING bytes, reported as one frame so a padded Initial costs one step.
struct PaddingFrame {
  size_t length = 1;
  friend bool operator==(const PaddingFrame&, const PaddingFrame&) = default;
};

struct PingFrame {
  friend bool operator==(const PingFrame&, const PingFrame&) = default;
};

// One acknowledged range of packet numbers, both ends included.
struct AckRange {
  uint64_t smallest = 0;
  uint64_t largest = 0;
  friend bool operator==(const AckRange&, const AckRange&) = default;
};

struct EcnCounts {
  uint64_t ect0 = 0;
  uint64_t ect1 = 0;
  uint64_t ecn_ce = 0;
  friend bool operator==(const EcnCounts&, const EcnCounts&) = default;
};

// Walks the ranges of an ACK frame from the largest down. The parser has already checked the
// encoding (no range below packet 0, count within the frame), so next() cannot fail part way.
class AckRangeIterator {
 public:
  AckRangeIterator() = default;
  AckRangeIterator(uint64_t largest, uint64_t first_range, ByteView encoded, uint64_t count)
      : next_largest_(largest), first_range_(first_range), encoded_(encoded), left_(count + 1) {}

  // Fills out with the next range; false when all have been given.
  bool next(AckRange& out);

 private:
  uint64_t next_largest_ = 0;
  uint64_t first_range_ = 0;
  ByteView encoded_;
  size_t pos_ = 0;
  uint64_t left_ = 0;
  uint64_t prev_smallest_ = 0;
  bool first_ = true;
};

// ACK (0x02/0x03) and PATH_ACK (0x3e/0x3f). The additional ranges stay encoded in the packet and
// are read through ranges(), so a peer's range count costs no memory.
struct AckFrame {
  bool is_path_ack = false;
  uint64_t path_id = 0;  // PATH_ACK only
  uint64_t largest_acknowledged = 0;
  uint64_t ack_delay = 0;  // encoded units: scale by 2^ack_delay_exponent
  uint64_t range_count = 0;  // ACK Range Count: ranges after the first
  uint64_t first_ack_range = 0;
  ByteView encoded_ranges;  // the ACK Range fields, validated
  bool has_ecn = false;
  EcnCounts ecn;

  AckRangeIterator ranges() const {
    return {largest_acknowledged, first_ack_range, encoded_ranges, range_count};
  }
  uint64_t smallest_acknowledged() const;
  // Compares the decoded ranges, not their byte encoding.
  friend bool operator==(const AckFrame& a, const AckFrame& b);
};

struct ResetStreamFrame {
  uint64_t stream_id = 0;
  uint64_t application_error_code = 0;
  uint64_t final_size = 0;
  friend bool operator==(const ResetStreamFrame&, const ResetStreamFrame&) = default;
};

struct StopSendingFrame {
  uint64_t stream_id = 0;
  uint64_t application_error_code = 0;
  friend bool operator==(const StopSendingFrame&, const StopSendingFrame&) = default;
};

struct CryptoFrame {
  uint64_t offset = 0;
  ByteView data;
  friend bool operator==(const CryptoFrame&, const CryptoFrame&) = default;
};

struct NewTokenFrame {
  ByteView token;  // never empty
  friend bool operator==(const NewTokenFrame&, const NewTokenFrame&) = default;
};

// STREAM 0x08-0x0f. Without the LEN bit the data runs to the end of the packet.
struct StreamFrame {
  uint64_t stream_id = 0;
  uint64_t offset = 0;
  ByteView data;
  bool has_offset = false;  // OFF bit (a zero offset may be written either way)
  bool has_length = true;   // LEN bit
  bool fin = false;         // FIN bit
  friend bool operator==(const StreamFrame&, const StreamFrame&) = default;
};

struct MaxDataFrame {
  uint64_t maximum_data = 0;
  friend bool operator==(const MaxDataFrame&, const MaxDataFrame&) = default;
};

struct MaxStreamDataFrame {
  uint64_t stream_id = 0;
  uint64_t maximum_stream_data = 0;
  friend bool operator==(const MaxStreamDataFrame&, const MaxStreamDataFrame&) = default;
};

struct MaxStreamsFrame {
  bool bidirectional = true;
  uint64_t maximum_streams = 0;  // at most 2^60
  friend bool operator==(const MaxStreamsFrame&, const MaxStreamsFrame&) = default;
};

struct DataBlockedFrame {
  uint64_t maximum_data = 0;
  friend bool operator==(const DataBlockedFrame&, const DataBlockedFrame&) = default;
};

struct StreamDataBlockedFrame {
  uint64_t stream_id = 0;
  uint64_t maximum_stream_data = 0;
  friend bool operator==(const StreamDataBlockedFrame&, const StreamDataBlockedFrame&) = default;
};

struct StreamsBlockedFrame {
  bool bidirectional = true;
  uint64_t maximum_streams = 0;  // at most 2^60
  friend bool operator==(const StreamsBlockedFrame&, const StreamsBlockedFrame&) = default;
};

// NEW_CONNECTION_ID (0x18) and PATH_NEW_CONNECTION_ID (0x3e78).
struct NewConnectionIdFrame {
  bool has_path_id = false;
  uint64_t path_id = 0;
  uint64_t sequence_number = 0;
  uint64_t retire_prior_to = 0;  // <= sequence_number
  ByteView connection_id;        // 1..20 bytes
  ByteView stateless_reset_token;  // 16 bytes
  friend bool operator==(const NewConnectionIdFrame&, const NewConnectionIdFrame&) = default;
};

// RETIRE_CONNECTION_ID (0x19) and PATH_RETIRE_CONNECTION_ID (0x3e79).
struct RetireConnectionIdFrame {
  bool has_path_id = false;
  uint64_t path_id = 0;
  uint64_t sequence_number = 0;
  friend bool operator==(const RetireConnectionIdFrame&, const RetireConnectionIdFrame&) = default;
};

struct PathChallengeFrame {
  uint64_t data = 0;  // the 8 bytes, big-endian
  friend bool operator==(const PathChallengeFrame&, const PathChallengeFrame&) = default;
};

struct PathResponseFrame {
  uint64_t data = 0;
  friend bool operator==(const PathResponseFrame&, const PathResponseFrame&) = default;
};

// CONNECTION_CLOSE 0x1c (transport: has a Frame Type) and 0x1d (application).
struct ConnectionCloseFrame {
  bool application = false;
  uint64_t error_code = 0;
  uint64_t frame_type = 0;  // 0x1c only
  ByteView reason_phrase;
  friend bool operator==(const ConnectionCloseFrame&, const ConnectionCloseFrame&) = default;
};

struct HandshakeDoneFrame {
  friend bool operator==(const HandshakeDoneFrame&, const HandshakeDoneFrame&) = default;
};

// DATAGRAM 0x30 (to the end of the packet) and 0x31 (with Length).
struct DatagramFrame {
  bool has_length = true;
  ByteView data;
  friend bool operator==(const DatagramFrame&, const DatagramFrame&) = default;
};

struct AckFrequencyFrame {
  uint64_t sequence_number = 0;
  uint64_t ack_eliciting_threshold = 0;
  uint64_t request_max_ack_delay = 0;  // microseconds, < 2^14 ms
  uint64_t reordering_threshold = 0;
  friend bool operator==(const AckFrequencyFrame&, const AckFrequencyFrame&) = default;
};

struct ImmediateAckFrame {
  friend bool operator==(const ImmediateAckFrame&, const ImmediateAckFrame&) = default;
};

struct PathAbandonFrame {
  uint64_t path_id = 0;
  uint64_t error_code = 0;
  friend bool operator==(const PathAbandonFrame&, const PathAbandonFrame&) = default;
};

// PATH_STATUS_BACKUP (0x3e76) and PATH_STATUS_AVAILABLE (0x3e77).
struct PathStatusFrame {
  bool available = true;
  uint64_t path_id = 0;
  uint64_t sequence_number = 0;
  friend bool operator==(const PathStatusFrame&, const PathStatusFrame&) = default;
};

struct MaxPathIdFrame {
  uint64_t maximum_path_id = 0;
  friend bool operator==(const MaxPathIdFrame&, const MaxPathIdFrame&) = default;
};

struct PathsBlockedFrame {
  uint64_t maximum_path_id = 0;
  friend bool operator==(const PathsBlockedFrame&, const PathsBlockedFrame&) = default;
};

struct PathCidsBlockedFrame {
  uint64_t path_id = 0;
  uint64_t next_sequence_number = 0;
  friend bool operator==(const PathCidsBlockedFrame&, const PathCidsBlockedFrame&) = default;
};

using Frame = std::variant<PaddingFrame, PingFrame, AckFrame, ResetStreamFrame, StopSendingFrame,
                           CryptoFrame, NewTokenFrame, StreamFrame, MaxDataFrame,
                           MaxStreamDataFrame, MaxStreamsFrame, DataBlockedFrame,
                           StreamDataBlockedFrame, StreamsBlockedFrame, NewConnectionIdFrame,
                           RetireConnectionIdFrame, PathChallengeFrame, PathResponseFrame,
                           ConnectionCloseFrame, HandshakeDoneFrame, DatagramFrame,
                           AckFrequencyFrame, ImmediateAckFrame, PathAbandonFrame,
                           PathStatusFrame, MaxPathIdFrame, PathsBlockedFrame,
                           PathCidsBlockedFrame>;

// The wire type value the frame is written with (e.g. 0x0e for STREAM with OFF and LEN).
uint64_t frame_type_of(const Frame& f);

}  // namespace camp::quic
