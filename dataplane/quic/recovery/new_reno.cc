#include "dataplane/quic/recovery/new_reno.h"

#include <algorithm>

namespace camp::quic {

void NewReno::on_acked(const SentPacket& p, TimeNs now) {
  if (!p.in_flight || in_congestion_recovery(p.time_sent)) return;
  // Do not grow a window the sender is not using (RFC 9002 7.8).
  if (p.is_app_limited) return;
  if (in_slow_start()) {
    cwnd_ += p.sent_bytes;
    return;
  }
  // cwnd += mds * acked / cwnd, kept exact with an accumulator.
  bytes_acked_in_ca_ += p.sent_bytes;
  if (bytes_acked_in_ca_ >= cwnd_) {
    bytes_acked_in_ca_ -= cwnd_;
    cwnd_ += mds_;
  }
}

void NewReno::on_congestion_event(TimeNs sent_time, TimeNs now) {
  if (in_congestion_recovery(sent_time)) return;
  undo_ = Saved{cwnd_, ssthresh_, bytes_acked_in_ca_};
  start_recovery(now);
  ssthresh_ = cwnd_ / 2;  // kLossReductionFactor = 0.5
  cwnd_ = std::max(ssthresh_, minimum_window());
  bytes_acked_in_ca_ = 0;
}

bool NewReno::undo_last_reduction() {
  if (!undo_) return false;
  cwnd_ = std::max(cwnd_, undo_->cwnd);
  ssthresh_ = undo_->ssthresh;
  bytes_acked_in_ca_ = undo_->bytes_acked_in_ca;
  undo_.reset();
  end_recovery();
  return true;
}

void NewReno::on_persistent_congestion(TimeNs now) {
  undo_.reset();
  cwnd_ = minimum_window();
  end_recovery();
  bytes_acked_in_ca_ = 0;
}

}  // namespace camp::quic
