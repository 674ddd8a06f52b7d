// What the sender remembers about one sent packet (RFC 9002 Appendix A.1.1) plus the delivery
// rate snapshot of draft-ietf-ccwg-bbr section "Per-packet (P) state".
#pragma once

#include <cstdint>

#include "dataplane/quic/recovery/types.h"

namespace camp::quic {

struct SentPacket {
  uint64_t packet_number = 0;
  TimeNs time_sent = 0;
  uint32_t sent_bytes = 0;
  bool ack_eliciting = false;
  bool in_flight = false;
  // Sent before the path's congestion state was reset for a new peer address (RFC 9000 9.4): its
  // outcome reaches the connection but not the new congestion controller or RTT estimate.
  bool prior_path = false;
  // The ACK frames it carried: only their acknowledgement tells an ACK tracker anything (RFC
  // 9000 13.2.4), so only those trackers are asked. kOwnAck: its own space's; kOtherAcks: other
  // paths' spaces' (multipath PATH_ACKs of paths that could not send).
  static constexpr uint8_t kOwnAck = 1, kOtherAcks = 2;
  uint8_t carried_acks = 0;
  // With kOwnAck: that ACK's Largest Acknowledged, so its acknowledgement needs no lookup.
  uint64_t ack_largest = 0;
  // Opaque to recovery: the connection encodes what the packet carried (stream/datagram/object
  // owner) so acked/lost events can be routed back without a lookup table here.
  uint64_t tag = 0;

  // Delivery rate sampling snapshot (P.delivered, P.delivered_time, P.first_send_time,
  // P.is_app_limited, P.tx_in_flight, P.lost), filled by DeliveryRateSampler::on_packet_sent.
  uint64_t delivered = 0;
  TimeNs delivered_time = 0;
  TimeNs first_send_time = 0;
  uint64_t tx_in_flight = 0;
  uint64_t lost = 0;
  bool is_app_limited = false;
};

}  // namespace camp::quic
