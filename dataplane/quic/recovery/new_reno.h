// NewReno as specified by RFC 9002 section 7.3 and Appendix B: slow start, recovery, congestion
// avoidance. The reference the other controllers are checked against.
#pragma once

#include <optional>

#include "dataplane/quic/recovery/loss_based_controller.h"

namespace camp::quic {

class NewReno final : public LossBasedController {
 public:
  explicit NewReno(uint32_t max_datagram_size) : LossBasedController(max_datagram_size) {}
  const char* name() const override { return "newreno"; }

  void on_congestion_event(TimeNs sent_time, TimeNs now) override;
  void on_persistent_congestion(TimeNs now) override;
  bool undo_last_reduction() override;

 protected:
  void on_acked(const SentPacket& p, TimeNs now) override;

 private:
  uint64_t bytes_acked_in_ca_ = 0;  // congestion avoidance: one datagram per window acked
  // The state before the last reduction, for undo_last_reduction().
  struct Saved {
    uint64_t cwnd, ssthresh, bytes_acked_in_ca;
  };
  std::optional<Saved> undo_;
};

}  // namespace camp::quic
