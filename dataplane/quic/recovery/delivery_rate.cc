#include "dataplane/quic/recovery/delivery_rate.h"

#include <algorithm>

namespace camp::quic {

void DeliveryRateSampler::on_packet_sent(SentPacket& p, uint64_t inflight_before,
                                         uint64_t inflight_after) {
  // Nothing in flight: the sampling interval may start now (nothing queued ahead of us).
  if (inflight_before == 0) first_send_time_ = delivered_time_ = p.time_sent;
  p.first_send_time = first_send_time_;
  p.delivered_time = delivered_time_;
  p.delivered = delivered_;
  p.is_app_limited = app_limited_ != 0;
  p.tx_in_flight = inflight_after;
  p.lost = lost_;
}

void DeliveryRateSampler::begin_ack() { rs_ = RateSample{}; }

void DeliveryRateSampler::on_packet_acked(const SentPacket& p, TimeNs now) {
  delivered_ += p.sent_bytes;
  delivered_time_ = now;
  rs_.newly_acked += p.sent_bytes;
  // The newest packet acked (by send time, then packet number) defines the sample.
  const bool newest =
      !rs_.has_data || p.time_sent > rs_.last_acked_send_time ||
      (p.time_sent == rs_.last_acked_send_time && p.packet_number > rs_.last_acked_packet_id);
  if (!newest) return;
  rs_.has_data = true;
  rs_.prior_delivered = p.delivered;
  rs_.prior_time = p.delivered_time;
  rs_.is_app_limited = p.is_app_limited;
  rs_.send_elapsed = p.time_sent - std::min(p.time_sent, p.first_send_time);
  rs_.ack_elapsed = delivered_time_ - std::min(delivered_time_, p.delivered_time);
  rs_.last_acked_packet_id = p.packet_number;
  rs_.last_acked_send_time = p.time_sent;
  rs_.tx_in_flight = p.tx_in_flight;
  rs_.prior_lost = p.lost;
  first_send_time_ = p.time_sent;
}

void DeliveryRateSampler::on_packet_lost(const SentPacket& p) {
  lost_ += p.sent_bytes;
  rs_.newly_lost += p.sent_bytes;
}

const RateSample& DeliveryRateSampler::finish_ack(DurationNs min_rtt) {
  // The app-limited bubble is gone once everything sent in it has been delivered.
  if (app_limited_ != 0 && delivered_ > app_limited_) app_limited_ = 0;
  if (!rs_.has_data) return rs_;
  rs_.lost = lost_ - std::min(lost_, rs_.prior_lost);
  rs_.interval = std::max(rs_.send_elapsed, rs_.ack_elapsed);
  rs_.delivered = delivered_ - rs_.prior_delivered;
  // Shorter than min_rtt means the sample compresses time (ACK aggregation): not reliable.
  if (rs_.interval == 0 || rs_.interval < min_rtt) return rs_;
  rs_.delivery_rate = static_cast<double>(rs_.delivered) * 1e9 / static_cast<double>(rs_.interval);
  return rs_;
}

}  // namespace camp::quic
