// Delivery rate sampling, draft-ietf-ccwg-bbr "Detailed Delivery Rate Sampling Algorithm":
// per-connection (here: per-path) C.delivered / C.delivered_time / C.first_send_time /
// C.app_limited, snapshotted into each SentPacket and turned into one RateSample per ACK.
#pragma once

#include <cstdint>

#include "dataplane/quic/recovery/sent_packet.h"

namespace camp::quic {

struct RateSample {
  double delivery_rate = 0;      // RS.delivery_rate, bytes per second (0: no valid sample)
  bool is_app_limited = false;   // RS.is_app_limited
  DurationNs interval = 0;       // RS.interval
  uint64_t delivered = 0;        // RS.delivered
  uint64_t prior_delivered = 0;  // RS.prior_delivered
  TimeNs prior_time = 0;         // RS.prior_time (0: nothing delivered on this ACK)
  DurationNs send_elapsed = 0;   // RS.send_elapsed
  DurationNs ack_elapsed = 0;    // RS.ack_elapsed
  uint64_t last_acked_packet_id = 0;
  TimeNs last_acked_send_time = 0;
  uint64_t newly_acked = 0;      // RS.newly_acked: bytes acked by this ACK
  uint64_t newly_lost = 0;       // RS.newly_lost: bytes declared lost while processing it
  uint64_t tx_in_flight = 0;     // RS.tx_in_flight of the newest acked packet
  uint64_t lost = 0;             // RS.lost: C.lost - P.lost of the newest acked packet
  uint64_t prior_lost = 0;       // P.lost of the newest acked packet
  bool has_data = false;         // RS.has_data
  int64_t rtt = -1;              // RS.rtt in ns, -1 when this ACK gave no RTT sample
};

class DeliveryRateSampler {
 public:
  // OnPacketSent: `inflight_after` is C.inflight including the packet.
  void on_packet_sent(SentPacket& p, uint64_t inflight_before, uint64_t inflight_after);

  void begin_ack();                              // InitRateSample
  void on_packet_acked(const SentPacket& p, TimeNs now);  // UpdateRateSample
  void on_packet_lost(const SentPacket& p);      // C.lost accounting
  // GenerateRateSample; `min_rtt` 0 means no RTT known yet.
  const RateSample& finish_ack(DurationNs min_rtt);

  // MarkConnectionAppLimited: the sender ran out of data with room left in cwnd.
  void mark_app_limited(uint64_t inflight) {
    app_limited_ = delivered_ + inflight > 0 ? delivered_ + inflight : 1;
  }
  bool app_limited() const { return app_limited_ != 0; }

  uint64_t delivered() const { return delivered_; }
  uint64_t lost() const { return lost_; }
  TimeNs delivered_time() const { return delivered_time_; }
  RateSample& sample() { return rs_; }
  const RateSample& sample() const { return rs_; }

 private:
  uint64_t delivered_ = 0;      // C.delivered
  uint64_t lost_ = 0;           // C.lost
  TimeNs delivered_time_ = 0;   // C.delivered_time
  TimeNs first_send_time_ = 0;  // C.first_send_time
  uint64_t app_limited_ = 0;    // C.app_limited
  RateSample rs_;
};

}  // namespace camp::quic
