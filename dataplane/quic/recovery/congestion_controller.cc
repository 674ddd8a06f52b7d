#include "dataplane/quic/recovery/congestion_controller.h"

#include <algorithm>
#include <cmath>

namespace camp::quic {

uint64_t initial_window(uint32_t mds) {
  return std::min<uint64_t>(10ull * mds, std::max<uint64_t>(14720, 2ull * mds));
}

CongestionController::CongestionController(uint32_t max_datagram_size)
    : mds_(max_datagram_size == 0 ? 1200 : max_datagram_size), cwnd_(initial_window(mds_)) {}

void CongestionController::on_packet_sent(const SentPacket& p, TimeNs now) {
  if (p.in_flight) bytes_in_flight_ += p.sent_bytes;
  on_sent(p, now);
}

void CongestionController::on_packet_acked(const SentPacket& p, TimeNs now) {
  if (p.in_flight) bytes_in_flight_ -= std::min<uint64_t>(bytes_in_flight_, p.sent_bytes);
  on_acked(p, now);
}

void CongestionController::on_packet_lost(const SentPacket& p, TimeNs now) {
  if (p.in_flight) bytes_in_flight_ -= std::min<uint64_t>(bytes_in_flight_, p.sent_bytes);
  on_lost(p, now);
}

void CongestionController::on_packet_discarded(const SentPacket& p) {
  if (p.in_flight) bytes_in_flight_ -= std::min<uint64_t>(bytes_in_flight_, p.sent_bytes);
}

RecoveryError CongestionController::set_override(OverrideKind kind, double value,
                                                 TimeNs expires_at) {
  const int k = static_cast<int>(kind);
  if (k < 0 || k >= kNumOverrideKinds || !std::isfinite(value) || value <= 0)
    return RecoveryError::kBadValue;
  overrides_[k] = Override{value, expires_at, true};
  any_override_ = true;
  return RecoveryError::kOk;
}

void CongestionController::clear_override(OverrideKind kind) {
  overrides_[static_cast<int>(kind)].active = false;
  any_override_ = false;
  for (const Override& o : overrides_) any_override_ |= o.active;
}

const CongestionController::Override* CongestionController::active_override(OverrideKind kind,
                                                                             TimeNs now) const {
  const Override& o = overrides_[static_cast<int>(kind)];
  return o.active && now < o.expires_at ? &o : nullptr;
}

bool CongestionController::override_active(OverrideKind kind, TimeNs now) const {
  return active_override(kind, now) != nullptr;
}

double CongestionController::pacing_rate(TimeNs now) const {
  if (!any_override_) return own_pacing_rate();
  if (const Override* o = active_override(OverrideKind::kPacingRate, now)) return o->value;
  // MMF 8.4: pacing_rate = BWE x pacing_gain, BWE still the controller's own estimate.
  if (const Override* o = active_override(OverrideKind::kPacingGain, now))
    return bandwidth_estimate() * o->value;
  return own_pacing_rate();
}

bool CongestionController::rate_capped_by_override(TimeNs now) const {
  if (!any_override_) return false;
  if (!override_active(OverrideKind::kPacingRate, now) &&
      !override_active(OverrideKind::kPacingGain, now))
    return false;
  return pacing_rate(now) < own_pacing_rate();
}

double CongestionController::target_bitrate(TimeNs now) const {
  if (const Override* o = active_override(OverrideKind::kTargetBitrate, now)) return o->value;
  return bandwidth_estimate() * 8.0;
}

}  // namespace camp::quic
