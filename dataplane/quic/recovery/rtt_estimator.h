// Round-trip time estimation, RFC 9002 section 5: latest_rtt, min_rtt, smoothed_rtt, rttvar.
#pragma once

#include <cstdint>

#include "dataplane/quic/recovery/types.h"

namespace camp::quic {

class RttEstimator {
 public:
  explicit RttEstimator(DurationNs initial_rtt = kInitialRtt) { reset(initial_rtt); }

  // Back to the state before the first sample (section 5.3 initial values).
  void reset(DurationNs initial_rtt);

  // Feeds one RTT sample (section 5.1) with the peer-reported ack_delay (already decoded into
  // nanoseconds). Before the handshake is confirmed the ack delay is used as reported; after it is
  // confirmed it is capped by max_ack_delay (section 5.3). It is never subtracted below min_rtt.
  // Multipath (draft-ietf-quic-multipath-21 5.4): ack_path is the path the acknowledgment came
  // on. min_rtt remembers the one that produced it and starts afresh from a sample acknowledged
  // over another path, or after that path closed (on_ack_path_closed). kAnyAckPath: one path.
  static constexpr uint32_t kAnyAckPath = UINT32_MAX;
  void on_sample(DurationNs latest_rtt, DurationNs ack_delay, bool handshake_confirmed,
                 uint32_t ack_path = kAnyAckPath);
  void on_ack_path_closed(uint32_t path_id) {
    if (has_sample_ && min_ack_path_ == path_id) min_ack_path_ = kClosedAckPath;
  }
  uint32_t min_rtt_ack_path() const { return min_ack_path_; }
  uint64_t min_rtt_restarts() const { return min_restarts_; }

  // After persistent congestion min_rtt restarts from the newest sample (section 5.2).
  void on_persistent_congestion() { min_rtt_ = latest_rtt_; }

  void set_max_ack_delay(DurationNs d) { max_ack_delay_ = d; }

  bool has_sample() const { return has_sample_; }
  TimeNs first_sample_time() const { return first_sample_time_; }
  void set_first_sample_time(TimeNs t) { first_sample_time_ = t; }

  DurationNs latest() const { return latest_rtt_; }
  DurationNs min() const { return min_rtt_; }
  DurationNs smoothed() const { return smoothed_rtt_; }
  DurationNs rttvar() const { return rttvar_; }
  DurationNs max_ack_delay() const { return max_ack_delay_; }

  // smoothed_rtt + max(4*rttvar, kGranularity): the PTO period before ack delay and backoff
  // (section 6.2.1).
  DurationNs pto_base() const;

 private:
  DurationNs latest_rtt_ = 0;
  DurationNs min_rtt_ = 0;
  DurationNs smoothed_rtt_ = 0;
  DurationNs rttvar_ = 0;
  DurationNs max_ack_delay_ = 25 * kMillisecond;  // transport parameter default (RFC 9000 18.2)
  TimeNs first_sample_time_ = 0;
  bool has_sample_ = false;
  static constexpr uint32_t kClosedAckPath = UINT32_MAX - 1;  // differs from every path ID
  uint32_t min_ack_path_ = kAnyAckPath;
  uint64_t min_restarts_ = 0;
};

}  // namespace camp::quic
