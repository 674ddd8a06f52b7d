// CUBIC (RFC 9438) in bytes: W_cubic(t) = C*(t-K)^3 + W_max with C = 0.4 segments/s^3 and
// beta_cubic = 0.7, fast convergence, and the Reno-friendly estimate W_est.
#pragma once

#include <optional>

#include "dataplane/quic/recovery/loss_based_controller.h"

namespace camp::quic {

class Cubic final : public LossBasedController {
 public:
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;

  explicit Cubic(uint32_t max_datagram_size) : LossBasedController(max_datagram_size) {}
  const char* name() const override { return "cubic"; }

  void on_congestion_event(TimeNs sent_time, TimeNs now) override;
  void on_persistent_congestion(TimeNs now) override;
  bool undo_last_reduction() override;

  // W_cubic(t) in bytes, t in seconds since the congestion avoidance epoch began.
  double w_cubic(double t_seconds) const;
  double w_max() const { return w_max_; }
  double k() const { return k_; }
  double w_est() const { return w_est_; }
  bool has_epoch() const { return has_epoch_; }
  TimeNs epoch_start() const { return epoch_start_; }

 protected:
  void on_acked(const SentPacket& p, TimeNs now) override;

 private:
  void start_epoch(TimeNs now);

  double w_max_ = 0;       // bytes
  double k_ = 0;           // seconds
  double w_est_ = 0;       // bytes
  double cwnd_prior_ = 0;  // bytes, window just before the last reduction
  double cwnd_frac_ = 0;   // sub-byte growth carried between ACKs
  TimeNs epoch_start_ = 0;
  bool has_epoch_ = false;
  // The state before the last reduction, for undo_last_reduction().
  struct Saved {
    uint64_t cwnd, ssthresh;
    double w_max, k, w_est, cwnd_prior, cwnd_frac;
    TimeNs epoch_start;
    bool has_epoch;
  };
  std::optional<Saved> undo_;
};

}  // namespace camp::quic
