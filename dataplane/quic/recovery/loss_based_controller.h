// What NewReno and CUBIC share: slow start threshold, the recovery period of RFC 9002 7.3.2, and
// a pacing rate derived from the window (RFC 9002 7.7).
#pragma once

#include <cstdint>
#include <limits>

#include "dataplane/quic/recovery/congestion_controller.h"

namespace camp::quic {

class LossBasedController : public CongestionController {
 public:
  explicit LossBasedController(uint32_t mds) : CongestionController(mds) {}

  uint64_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  // A packet sent before the current recovery period started cannot trigger another reduction.
  bool in_congestion_recovery(TimeNs sent_time) const {
    return has_recovery_ && sent_time <= recovery_start_time_;
  }

  void on_ack(const AckEvent& ev) override {
    if (ev.smoothed_rtt > 0) smoothed_rtt_ = ev.smoothed_rtt;
  }
  // BWE of a window-based controller: one window per smoothed RTT. The pacer asks for every packet
  // sent and both change only with ACKs and losses, so the quotient is kept for the pair it is of.
  double bandwidth_estimate() const override {
    if (cwnd_ != bwe_cwnd_ || smoothed_rtt_ != bwe_srtt_) {
      bwe_cwnd_ = cwnd_;
      bwe_srtt_ = smoothed_rtt_;
      bwe_ = static_cast<double>(cwnd_) * 1e9 / static_cast<double>(smoothed_rtt_);
    }
    return bwe_;
  }

 protected:
  // RFC 9002 7.7: N = 1.25 so the window, not the pacer, limits the flow.
  double own_pacing_rate() const override { return 1.25 * bandwidth_estimate(); }

  void start_recovery(TimeNs now) {
    has_recovery_ = true;
    recovery_start_time_ = now;
    ++reductions_;
  }
  void end_recovery() { has_recovery_ = false; }

  uint64_t ssthresh_ = std::numeric_limits<uint64_t>::max();
  DurationNs smoothed_rtt_ = kInitialRtt;

 private:
  TimeNs recovery_start_time_ = 0;
  bool has_recovery_ = false;
  mutable uint64_t bwe_cwnd_ = 0;  // bandwidth_estimate() is bwe_ for these (0, 0: none yet)
  mutable DurationNs bwe_srtt_ = 0;
  mutable double bwe_ = 0;
};

}  // namespace camp::quic
