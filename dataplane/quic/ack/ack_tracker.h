// ACK generation for one packet number space (RFC 9000 13.2; draft-ietf-quic-ack-frequency 4-6;
// PATH_ACK from draft-ietf-quic-multipath-21 4.1 / 7.1). The connection holds one tracker for
// Initial, one for Handshake and one per path for application data. Time is handed in as
// nanoseconds; nothing allocates, locks or reads a clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/quic/recovery/types.h"  // TimeNs, DurationNs, kMillisecond, kNever
#include "dataplane/quic/wire/frames.h"        // AckRange, EcnCounts, AckFrequencyFrame

namespace camp::quic {

// Ranges remembered per space. A peer that makes more holes than this only loses the oldest
// ranges (RFC 9000 13.2.3: older ranges may be discarded), never costs memory.
inline constexpr size_t kMaxAckRanges = 32;
// ACKs sent whose (sending path, packet number) are remembered for on_ack_packet_acked().
inline constexpr size_t kAckRecords = 16;
// ack_delay_exponent values above 20 are invalid (RFC 9000 18.2).
inline constexpr uint64_t kMaxAckDelayExponent = 20;
// max_ack_delay transport parameter default, 25 ms (RFC 9000 18.2).
inline constexpr DurationNs kDefaultAckMaxDelay = 25 * kMillisecond;

// ECN codepoints of the IP header, as on_packet_received takes them.
enum class EcnCodepoint : uint8_t { kNotEct = 0, kEct1 = 1, kEct0 = 2, kCe = 3 };

struct AckTrackerConfig {
  // Initial and Handshake: every ack-eliciting packet is acknowledged at once (RFC 9000 13.2.1).
  bool immediate = false;
  // Our max_ack_delay transport parameter: the latest an ACK for an ack-eliciting packet goes.
  DurationNs max_ack_delay = kDefaultAckMaxDelay;
  // Named and counted as in the ack-frequency draft: an ACK is due once MORE than this many
  // ack-eliciting packets are unacknowledged. 1 = every second packet (RFC 9000 13.2.2),
  // 0 = every packet.
  uint64_t ack_eliciting_threshold = 1;
  // The draft's Reordering Threshold: 1 = RFC 9000 13.2.1 (any reordering acks at once),
  // 0 = reordering never forces an ACK, >1 = the draft's section 6.2 test.
  uint64_t reordering_threshold = 1;
  // The min_ack_delay (microseconds) we advertised; ACK_FREQUENCY may not ask for less.
  uint64_t min_ack_delay_us = 0;
};

enum class AckFrequencyResult : uint8_t {
  kApplied = 0,
  kStale,    // sequence number not above the largest processed: ignored (draft section 4)
  kInvalid,  // Requested Max Ack Delay >= 2^14 ms or < our min_ack_delay: PROTOCOL_VIOLATION
};

class AckTracker {
 public:
  explicit AckTracker(const AckTrackerConfig& config = {});

  // True when pn must not be processed: it was received already, lies below the floor (packets
  // there were either received or given up on when ranges were dropped, so accepting one could
  // process it twice), or the space is discarded. Call after decryption, before the frames.
  bool is_duplicate(uint64_t pn) const;

  // Records a processed packet. ecn_codepoint: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE (EcnCodepoint).
  // Returns false, changing nothing, for a duplicate, pn > 2^62-1, a codepoint > 3 or a
  // discarded space.
  bool on_packet_received(uint64_t pn, bool ack_eliciting, TimeNs now, uint8_t ecn_codepoint);

  // When an ACK must be sent: kNever when no ack-eliciting packet is waiting; the receive time of
  // the first unacknowledged ack-eliciting packet when one is due at once; otherwise that time
  // plus max_ack_delay.
  TimeNs ack_deadline() const;
  bool should_send_ack(TimeNs now) const { return ack_deadline() <= now; }
  // Some packet (ack-eliciting or not) is unacknowledged: worth an ACK in a packet being sent.
  bool ack_pending() const { return !discarded_ && unacked_any_ && count_ > 0; }

  // Writes ACK / ACK_ECN, or PATH_ACK / PATH_ACK_ECN for path_id (ECN when any count is
  // non-zero). ACK Delay is now minus the largest packet's receive time, in microseconds scaled
  // down by 2^ack_delay_exponent. The oldest ranges are left out to fit cap. Returns the bytes
  // written; 0 when nothing is to be acknowledged, not even the newest range fits, or
  // ack_delay_exponent > 20.
  size_t write_ack(uint8_t* buf, size_t cap, TimeNs now, uint64_t ack_delay_exponent,
                   const uint64_t* path_id = nullptr);

  // The packet our_packet_number carrying the frame from the last write_ack is being sent:
  // clears what is owed and remembers the frame's Largest Acknowledged for that packet.
  // sender_path is the path ID whose packet number space our_packet_number belongs to: with
  // multipath a PATH_ACK for this space may ride in a packet of any path (multipath-21 3.4.3),
  // and packet numbers repeat across paths, so the record is keyed by both.
  // Returns the frame's Largest Acknowledged (none when no frame was written). remember: keep a
  // record for on_ack_packet_acked(); a caller that keeps the value with its sent packet (the
  // connection, for ACKs of the packet's own space: SentPacket::ack_largest) passes false and
  // calls on_our_ack_acknowledged() itself, so no record is ever overwritten before its
  // acknowledgement comes back.
  std::optional<uint64_t> on_ack_sent(TimeNs now, uint64_t our_packet_number,
                                      uint64_t sender_path = 0, bool remember = true);

  // The peer acknowledged a packet of ours that carried an ACK whose Largest Acknowledged was
  // largest: stop acknowledging packets <= largest (RFC 9000 13.2.4); they join the floor.
  void on_our_ack_acknowledged(uint64_t largest);
  // The same, looked up by (sender_path, our packet number) among the last kAckRecords ACKs
  // sent. Returns false when that packet carried no remembered ACK (nothing is pruned then).
  bool on_ack_packet_acked(uint64_t our_packet_number, uint64_t sender_path = 0);

  // ACK_FREQUENCY (draft section 4): newer sequence numbers replace the threshold, max_ack_delay
  // and reordering threshold.
  AckFrequencyResult on_ack_frequency(const AckFrequencyFrame& f);
  // IMMEDIATE_ACK (draft section 5): the ACK is due at once.
  void on_immediate_ack();

  void set_max_ack_delay(DurationNs d) { max_ack_delay_ = d; }
  // Keys for the space were dropped: nothing is owed or accepted any more.
  void discard();

  // The largest packet number received, -1 before any; used for packet number decoding.
  int64_t largest_received() const { return has_largest_ ? static_cast<int64_t>(largest_) : -1; }
  TimeNs largest_received_time() const { return largest_time_; }
  const EcnCounts& ecn_counts() const { return ecn_; }
  DurationNs max_ack_delay() const { return max_ack_delay_; }
  uint64_t ack_eliciting_threshold() const { return ack_eliciting_threshold_; }
  uint64_t reordering_threshold() const { return reordering_threshold_; }
  // Packet numbers below this are treated as duplicates.
  uint64_t floor() const { return floor_; }
  // Remembered ranges, oldest (smallest) first.
  size_t range_count() const { return count_; }
  const AckRange& range(size_t i) const { return ranges_[i]; }
  bool discarded() const { return discarded_; }
  TimeNs last_ack_sent_time() const { return last_ack_sent_time_; }

 private:
  // Inserts pn (not a duplicate, >= floor_); returns the index of the range holding it, or
  // count_ when it could not be kept (below every range with the array full).
  size_t insert(uint64_t pn);
  void drop_oldest();
  // Whether this ack-eliciting packet's position forces an immediate ACK (13.2.1 / draft 6.2).
  bool reordered(uint64_t pn, size_t idx) const;
  bool reordered_beyond_threshold(uint64_t pn) const;

  AckRange ranges_[kMaxAckRanges];  // ascending, disjoint, non-adjacent
  size_t count_ = 0;
  uint64_t floor_ = 0;

  bool has_largest_ = false;
  uint64_t largest_ = 0;
  TimeNs largest_time_ = 0;
  bool has_largest_eliciting_ = false;
  uint64_t largest_eliciting_ = 0;
  EcnCounts ecn_;
  bool last_packet_ce_ = false;

  // Owed since the last ACK sent.
  bool unacked_any_ = false;
  uint64_t unacked_eliciting_ = 0;
  TimeNs first_unacked_eliciting_time_ = 0;
  bool immediate_ = false;

  // ACK bookkeeping.
  bool written_ = false;
  uint64_t written_largest_ = 0;
  bool has_largest_acked_ = false;  // the draft's Largest Acked: in the last ACK sent
  uint64_t largest_acked_ = 0;
  TimeNs last_ack_sent_time_ = 0;
  struct AckRecord {
    uint64_t packet_number;
    uint64_t sender_path;  // path ID of the packet that carried the ACK
    uint64_t largest;
    bool used;
  };
  AckRecord records_[kAckRecords] = {};
  size_t next_record_ = 0;

  // Settings (config, then ACK_FREQUENCY).
  bool immediate_space_;
  DurationNs max_ack_delay_;
  uint64_t ack_eliciting_threshold_;
  uint64_t reordering_threshold_;
  uint64_t min_ack_delay_us_;
  bool has_frequency_seq_ = false;
  uint64_t frequency_seq_ = 0;

  bool discarded_ = false;
};

}  // namespace camp::quic
