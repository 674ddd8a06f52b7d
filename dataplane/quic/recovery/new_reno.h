// NewReno as specified by RFC 9002 section 7.3 and Appendix B: slow start, recovery, congestion
// avoidance. The reference the other controllers are checked against.
#pragma once

#include "dataplane/quic/recovery/loss_based_controller.h"

namespace camp::quic {

class NewReno final : public LossBasedController {
 public:
  explicit NewReno(uint32_t max_datagram_size) : LossBasedController(max_datagram_size) {}
  const char* name() const override { return "newreno"; }

  void on_congestion_event(TimeNs sent_time, TimeNs now) override;
  void on_persistent_congestion(TimeNs now) override;

 protected:
  void on_acked(const SentPacket& p, TimeNs now) override;

 private:
  uint64_t bytes_acked_in_ca_ = 0;  // congestion avoidance: one datagram per window acked
};

}  // namespace camp::quic
