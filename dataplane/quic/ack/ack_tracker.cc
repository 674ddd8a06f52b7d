#include "dataplane/quic/ack/ack_tracker.h"

#include <algorithm>

#include "dataplane/codec/varint.h"
#include "dataplane/quic/wire/frame_writer.h"

namespace camp::quic {

namespace {
constexpr uint64_t kNsPerUs = kMillisecond / 1000;
constexpr uint8_t kCe = static_cast<uint8_t>(EcnCodepoint::kCe);
}  // namespace

AckTracker::AckTracker(const AckTrackerConfig& config)
    : immediate_space_(config.immediate),
      max_ack_delay_(config.max_ack_delay),
      ack_eliciting_threshold_(config.ack_eliciting_threshold),
      reordering_threshold_(config.reordering_threshold),
      min_ack_delay_us_(config.min_ack_delay_us) {}

bool AckTracker::is_duplicate(uint64_t pn) const {
  if (discarded_ || pn < floor_) return true;
  // Newest first: in-order traffic answers at the first comparison.
  for (size_t i = count_; i-- > 0;) {
    if (pn > ranges_[i].largest) return false;
    if (pn >= ranges_[i].smallest) return true;
  }
  return false;
}

void AckTracker::drop_oldest() {
  // Whatever lay at or below the dropped range can no longer be told apart from a duplicate.
  floor_ = std::max(floor_, ranges_[0].largest + 1);
  std::copy(ranges_ + 1, ranges_ + count_, ranges_);
  --count_;
}

size_t AckTracker::insert(uint64_t pn) {
  if (count_ == 0) {
    ranges_[0] = {pn, pn};
    count_ = 1;
    return 0;
  }
  AckRange& top = ranges_[count_ - 1];
  if (pn == top.largest + 1) {  // the common in-order case
    top.largest = pn;
    return count_ - 1;
  }
  if (pn > top.largest) {  // a gap opens above the newest range
    if (count_ == kMaxAckRanges) drop_oldest();
    ranges_[count_] = {pn, pn};
    return count_++;
  }
  // pn is below the newest range and in none: j becomes the lowest range wholly above it.
  size_t j = count_ - 1;
  while (j > 0 && ranges_[j - 1].smallest > pn) --j;
  const bool joins_above = ranges_[j].smallest == pn + 1;
  const bool joins_below = j > 0 && ranges_[j - 1].largest + 1 == pn;
  if (joins_above && joins_below) {  // fills a one-packet hole: two ranges become one
    ranges_[j - 1].largest = ranges_[j].largest;
    std::copy(ranges_ + j + 1, ranges_ + count_, ranges_ + j);
    --count_;
    return j - 1;
  }
  if (joins_above) {
    ranges_[j].smallest = pn;
    return j;
  }
  if (joins_below) {
    ranges_[j - 1].largest = pn;
    return j - 1;
  }
  if (count_ == kMaxAckRanges) {
    if (j == 0) {
      // Older than every kept range: accept it once, but it will not be acknowledged.
      floor_ = std::max(floor_, pn + 1);
      return count_;
    }
    drop_oldest();
    --j;
  }
  std::copy_backward(ranges_ + j, ranges_ + count_, ranges_ + count_ + 1);
  ranges_[j] = {pn, pn};
  ++count_;
  return j;
}

bool AckTracker::reordered(uint64_t pn, size_t idx) const {
  // RFC 9000 13.2.1: below an ack-eliciting packet already received ...
  if (has_largest_eliciting_ && pn < largest_eliciting_) return true;
  if (idx >= count_) return true;  // not even kept: far below everything else
  // ... or above the largest ack-eliciting one with packets missing in between. Before any
  // ack-eliciting packet, every hole above the floor counts.
  const uint64_t lo = std::max(floor_, has_largest_eliciting_ ? largest_eliciting_ + 1 : 0);
  return ranges_[idx].smallest > lo;
}

bool AckTracker::reordered_beyond_threshold(uint64_t pn) const {
  // draft-ietf-quic-ack-frequency 6.2, with Largest Unacked = largest_eliciting_ (already
  // including pn) and Largest Acked = the Largest Acknowledged of the last ACK sent.
  const uint64_t t = reordering_threshold_;
  const bool reported = has_largest_acked_ && largest_acked_ >= t;
  if (reported && pn <= largest_acked_ - t) return true;  // probably declared lost already
  // Smallest Unreported Missing: the first hole above Largest Reported Missing.
  uint64_t missing = floor_;
  if (reported) missing = std::max(missing, largest_acked_ - t + 1);
  for (size_t i = 0; i < count_; ++i) {
    if (ranges_[i].largest < missing) continue;
    if (ranges_[i].smallest > missing) break;
    missing = ranges_[i].largest + 1;
  }
  return missing < largest_eliciting_ && largest_eliciting_ - missing >= t;
}

bool AckTracker::on_packet_received(uint64_t pn, bool ack_eliciting, TimeNs now,
                                    uint8_t ecn_codepoint) {
  if (pn > varint::kMax || ecn_codepoint > kCe || is_duplicate(pn)) return false;
  const size_t idx = insert(pn);
  if (!has_largest_ || pn > largest_) {
    has_largest_ = true;
    largest_ = pn;
    largest_time_ = now;
  }
  switch (static_cast<EcnCodepoint>(ecn_codepoint)) {
    case EcnCodepoint::kEct0: ++ecn_.ect0; break;
    case EcnCodepoint::kEct1: ++ecn_.ect1; break;
    case EcnCodepoint::kCe: ++ecn_.ecn_ce; break;
    case EcnCodepoint::kNotEct: break;
  }
  unacked_any_ = true;
  const bool ce = ecn_codepoint == kCe;
  // Only ack-eliciting packets make an ACK due: answering a non-ack-eliciting packet with an
  // ACK-only packet could loop forever (RFC 9000 13.2.1). That includes CE-marked ones.
  if (ack_eliciting) {
    if (unacked_eliciting_ == 0) first_unacked_eliciting_time_ = now;
    ++unacked_eliciting_;
    bool now_due = immediate_space_ || unacked_eliciting_ > ack_eliciting_threshold_;
    // CE: at once by RFC 9000 13.2.1; with a threshold above 1 only on the non-CE -> CE
    // transition (ack-frequency 6.3).
    if (!now_due && ce) now_due = ack_eliciting_threshold_ <= 1 || !last_packet_ce_;
    if (!now_due && reordering_threshold_ == 1) now_due = reordered(pn, idx);
    if (!has_largest_eliciting_ || pn > largest_eliciting_) {
      has_largest_eliciting_ = true;
      largest_eliciting_ = pn;
    }
    if (!now_due && reordering_threshold_ > 1) now_due = reordered_beyond_threshold(pn);
    if (now_due) immediate_ = true;
  }
  last_packet_ce_ = ce;
  return true;
}

TimeNs AckTracker::ack_deadline() const {
  if (discarded_ || unacked_eliciting_ == 0 || count_ == 0) return kNever;
  if (immediate_) return first_unacked_eliciting_time_;
  if (max_ack_delay_ >= kNever - first_unacked_eliciting_time_) return kNever - 1;
  return first_unacked_eliciting_time_ + max_ack_delay_;
}

size_t AckTracker::write_ack(uint8_t* buf, size_t cap, TimeNs now, uint64_t ack_delay_exponent,
                             const uint64_t* path_id) {
  if (discarded_ || count_ == 0 || buf == nullptr || ack_delay_exponent > kMaxAckDelayExponent ||
      (path_id && *path_id > kMaxPathId)) {
    return 0;
  }
  // RFC 9000 13.2.5: the delay since the largest packet arrived, in the peer's units.
  const uint64_t delay_us = now > largest_time_ ? (now - largest_time_) / kNsPerUs : 0;
  const uint64_t ack_delay = delay_us >> ack_delay_exponent;
  const bool with_ecn = ecn_.ect0 != 0 || ecn_.ect1 != 0 || ecn_.ecn_ce != 0;

  AckRange desc[kMaxAckRanges];  // largest first, as the frame lists them
  for (size_t k = 0; k < count_; ++k) desc[k] = ranges_[count_ - 1 - k];

  // Size what fits; the ACK Range Count is < 64 and so always one byte.
  namespace ft = frame_type;
  const uint64_t type = path_id ? (with_ecn ? ft::PATH_ACK_ECN : ft::PATH_ACK)
                                : (with_ecn ? ft::ACK_ECN : ft::ACK);
  size_t size = varint::size(type) + (path_id ? varint::size(*path_id) : 0) +
                varint::size(desc[0].largest) + varint::size(ack_delay) + 1 +
                varint::size(desc[0].largest - desc[0].smallest);
  if (with_ecn) {
    size += varint::size(ecn_.ect0) + varint::size(ecn_.ect1) + varint::size(ecn_.ecn_ce);
  }
  if (size > cap) return 0;
  size_t n = 1;
  for (; n < count_; ++n) {
    const size_t more = varint::size(desc[n - 1].smallest - desc[n].largest - 2) +
                        varint::size(desc[n].largest - desc[n].smallest);
    if (size + more > cap) break;  // older ranges are the ones left out (RFC 9000 13.2.3)
    size += more;
  }
  const size_t written = quic::write_ack(buf, cap, {desc, n}, ack_delay,
                                         with_ecn ? &ecn_ : nullptr, path_id);
  if (written != 0) {
    written_ = true;
    written_largest_ = desc[0].largest;
  }
  return written;
}

std::optional<uint64_t> AckTracker::on_ack_sent(TimeNs now, uint64_t our_packet_number,
                                                uint64_t sender_path, bool remember) {
  unacked_any_ = false;
  unacked_eliciting_ = 0;
  immediate_ = false;
  last_ack_sent_time_ = now;
  if (!written_) return std::nullopt;
  written_ = false;
  has_largest_acked_ = true;
  largest_acked_ = written_largest_;
  if (remember) {
    records_[next_record_] = {our_packet_number, sender_path, written_largest_, true};
    next_record_ = (next_record_ + 1) % kAckRecords;
  }
  return written_largest_;
}

void AckTracker::on_our_ack_acknowledged(uint64_t largest) {
  if (discarded_ || !has_largest_) return;
  largest = std::min(largest, largest_);  // an ACK never carried more than was received
  // Everything <= largest leaves the ranges and joins the floor (RFC 9000 13.2.4).
  size_t keep = 0;
  while (keep < count_ && ranges_[keep].largest <= largest) ++keep;
  std::copy(ranges_ + keep, ranges_ + count_, ranges_);
  count_ -= keep;
  if (count_ > 0 && ranges_[0].smallest <= largest) ranges_[0].smallest = largest + 1;
  floor_ = std::max(floor_, largest + 1);
}

bool AckTracker::on_ack_packet_acked(uint64_t our_packet_number, uint64_t sender_path) {
  for (AckRecord& r : records_) {
    if (r.used && r.packet_number == our_packet_number && r.sender_path == sender_path) {
      r.used = false;
      on_our_ack_acknowledged(r.largest);
      return true;
    }
  }
  return false;
}

AckFrequencyResult AckTracker::on_ack_frequency(const AckFrequencyFrame& f) {
  if (has_frequency_seq_ && f.sequence_number <= frequency_seq_) return AckFrequencyResult::kStale;
  if (f.request_max_ack_delay >= kMaxAckDelayLimitUs ||
      f.request_max_ack_delay < min_ack_delay_us_) {
    return AckFrequencyResult::kInvalid;
  }
  has_frequency_seq_ = true;
  frequency_seq_ = f.sequence_number;
  ack_eliciting_threshold_ = f.ack_eliciting_threshold;
  max_ack_delay_ = f.request_max_ack_delay * kNsPerUs;
  reordering_threshold_ = f.reordering_threshold;
  // A lower threshold can make what already waits due now.
  if (unacked_eliciting_ > ack_eliciting_threshold_) immediate_ = true;
  return AckFrequencyResult::kApplied;
}

void AckTracker::on_immediate_ack() { immediate_ = true; }

void AckTracker::discard() {
  discarded_ = true;
  count_ = 0;
  unacked_any_ = false;
  unacked_eliciting_ = 0;
  immediate_ = false;
  written_ = false;
}

}  // namespace camp::quic
