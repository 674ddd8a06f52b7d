#include "dataplane/quic/recovery/cubic.h"

#include <algorithm>
#include <cmath>

namespace camp::quic {

double Cubic::w_cubic(double t) const {
  const double d = t - k_;
  return (kC * d * d * d) * mds_ + w_max_;
}

void Cubic::start_epoch(TimeNs now) {
  has_epoch_ = true;
  epoch_start_ = now;
  const double cwnd = static_cast<double>(cwnd_);
  if (w_max_ < cwnd) {
    // Leaving slow start without a loss: the plateau is where we are now.
    w_max_ = cwnd;
    k_ = 0;
  } else {
    k_ = std::cbrt((w_max_ - cwnd) / mds_ / kC);  // K = cubic_root((W_max - cwnd_epoch) / C)
  }
  w_est_ = cwnd;
  cwnd_frac_ = 0;
}

void Cubic::on_acked(const SentPacket& p, TimeNs now) {
  if (!p.in_flight || in_congestion_recovery(p.time_sent) || p.is_app_limited) return;
  if (in_slow_start()) {
    cwnd_ += p.sent_bytes;
    return;
  }
  if (!has_epoch_) start_epoch(now);
  const double cwnd = static_cast<double>(cwnd_);
  const double t = static_cast<double>(now - epoch_start_) / 1e9;
  const double rtt = static_cast<double>(smoothed_rtt_) / 1e9;
  const double acked = p.sent_bytes;

  // Reno-friendly estimate (RFC 9438 4.3): alpha_cubic until W_est reaches the prior window.
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : 3.0 * (1 - kBeta) / (1 + kBeta);
  w_est_ += alpha * mds_ * acked / cwnd;

  double grow;
  if (w_cubic(t) < w_est_) {
    grow = w_est_ - cwnd;  // Reno-friendly region
  } else {
    // Concave/convex regions: move toward W_cubic(t + RTT), bounded to [cwnd, 1.5 cwnd].
    const double target = std::clamp(w_cubic(t + rtt), cwnd, 1.5 * cwnd);
    grow = (target - cwnd) * acked / cwnd;
  }
  if (grow <= 0) return;
  cwnd_frac_ += grow;
  const auto whole = static_cast<uint64_t>(cwnd_frac_);
  cwnd_ += whole;
  cwnd_frac_ -= static_cast<double>(whole);
}

void Cubic::on_congestion_event(TimeNs sent_time, TimeNs now) {
  if (in_congestion_recovery(sent_time)) return;
  undo_ = Saved{cwnd_, ssthresh_, w_max_, k_, w_est_, cwnd_prior_, cwnd_frac_, epoch_start_,
                has_epoch_};
  start_recovery(now);
  const double cwnd = static_cast<double>(cwnd_);
  // Fast convergence: a plateau lower than the last one releases bandwidth to newer flows.
  w_max_ = cwnd < w_max_ ? cwnd * (1 + kBeta) / 2 : cwnd;
  cwnd_prior_ = cwnd;
  ssthresh_ = std::max<uint64_t>(static_cast<uint64_t>(cwnd * kBeta), minimum_window());
  cwnd_ = ssthresh_;
  has_epoch_ = false;  // the epoch starts with the first ACK in congestion avoidance
}

bool Cubic::undo_last_reduction() {
  if (!undo_) return false;
  cwnd_ = std::max(cwnd_, undo_->cwnd);
  ssthresh_ = undo_->ssthresh;
  w_max_ = undo_->w_max;
  k_ = undo_->k;
  w_est_ = undo_->w_est;
  cwnd_prior_ = undo_->cwnd_prior;
  cwnd_frac_ = undo_->cwnd_frac;
  epoch_start_ = undo_->epoch_start;
  has_epoch_ = undo_->has_epoch;
  undo_.reset();
  end_recovery();
  return true;
}

void Cubic::on_persistent_congestion(TimeNs now) {
  undo_.reset();
  cwnd_ = minimum_window();
  has_epoch_ = false;
  end_recovery();
}

}  // namespace camp::quic
