#include "dataplane/quic/recovery/rtt_estimator.h"

#include <algorithm>

namespace camp::quic {

void RttEstimator::reset(DurationNs initial_rtt) {
  latest_rtt_ = 0;
  min_rtt_ = 0;
  smoothed_rtt_ = initial_rtt;
  rttvar_ = initial_rtt / 2;
  has_sample_ = false;
  first_sample_time_ = 0;
}

void RttEstimator::on_sample(DurationNs latest_rtt, DurationNs ack_delay, bool handshake_confirmed,
                             uint32_t ack_path) {
  latest_rtt_ = latest_rtt;
  if (!has_sample_) {
    // First sample: section 5.3, no ack delay adjustment.
    has_sample_ = true;
    min_rtt_ = latest_rtt;
    min_ack_path_ = ack_path;
    smoothed_rtt_ = latest_rtt;
    rttvar_ = latest_rtt / 2;
    return;
  }
  // min_rtt ignores ack delay (section 5.2). Acknowledged over another path than the one that
  // produced it (or that path is gone), it starts again from this sample.
  if (ack_path != kAnyAckPath && min_ack_path_ != kAnyAckPath && ack_path != min_ack_path_) {
    min_rtt_ = latest_rtt;
    min_ack_path_ = ack_path;
    ++min_restarts_;
  } else if (latest_rtt < min_rtt_) {
    min_rtt_ = latest_rtt;
    min_ack_path_ = ack_path;
  } else if (min_ack_path_ == kAnyAckPath) {
    min_ack_path_ = ack_path;  // the first sample with a path (the handshake's had none)
  }
  if (handshake_confirmed) ack_delay = std::min(ack_delay, max_ack_delay_);
  DurationNs adjusted = latest_rtt;
  // Subtract the delay only when that keeps the sample at or above min_rtt.
  if (latest_rtt >= min_rtt_ + ack_delay) adjusted = latest_rtt - ack_delay;
  const DurationNs diff =
      smoothed_rtt_ > adjusted ? smoothed_rtt_ - adjusted : adjusted - smoothed_rtt_;
  rttvar_ = (3 * rttvar_ + diff) / 4;
  smoothed_rtt_ = (7 * smoothed_rtt_ + adjusted) / 8;
}

DurationNs RttEstimator::pto_base() const {
  return smoothed_rtt_ + std::max<DurationNs>(4 * rttvar_, kGranularity);
}

const char* to_string(RecoveryError e) {
  switch (e) {
    case RecoveryError::kOk: return "ok";
    case RecoveryError::kRingFull: return "sent-packet ring full";
    case RecoveryError::kPacketNumberNotIncreasing: return "packet number not increasing";
    case RecoveryError::kAckOfUnsentPacket: return "ack of unsent packet";
    case RecoveryError::kMalformedAckRanges: return "malformed ack ranges";
    case RecoveryError::kEcnCountDecreased: return "ecn count decreased";
    case RecoveryError::kSpaceDiscarded: return "packet number space discarded";
    case RecoveryError::kBadValue: return "bad value";
  }
  return "unknown";
}

}  // namespace camp::quic
