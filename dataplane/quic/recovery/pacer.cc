#include "dataplane/quic/recovery/pacer.h"

#include <algorithm>

namespace camp::quic {

void Pacer::set_rate(uint64_t bytes_per_second) {
  if (bytes_per_second == rate_) return;
  rate_ = bytes_per_second;
  remainder_ = 0;
  credit_ = duration_of(burst_bytes_);
  step_bytes_ = 0;
}

DurationNs Pacer::duration_of(uint64_t bytes) const {
  if (rate_ == 0) return 0;
  if (bytes < (UINT64_MAX - rate_) / kSecond) return (bytes * kSecond + rate_ - 1) / rate_;
  const unsigned __int128 num = static_cast<unsigned __int128>(bytes) * kSecond;
  return static_cast<DurationNs>((num + rate_ - 1) / rate_);
}

TimeNs Pacer::next_send_time(TimeNs now, uint32_t bytes) const {
  if (rate_ == 0) return now;
  const TimeNs ready = next_free_ > credit_ ? next_free_ - credit_ : 0;
  return std::max(now, ready);
}

void Pacer::on_packet_sent(TimeNs now, uint32_t bytes) {
  if (next_free_ < now) {  // the schedule caught up while idle: restart it from now
    next_free_ = now;
    remainder_ = 0;
  }
  if (rate_ == 0) return;
  // next_free_ advances by (bytes * 1e9 + remainder_) / rate_ and keeps the remainder. Packets of
  // one size at one rate are the rule, so bytes * 1e9 / rate_ is divided once and kept, and only
  // the carry of the two remainders (each below rate_) is added per packet: no division per packet.
  // bytes * 1e9 fits 64 bits for any 32-bit size.
  if (bytes != step_bytes_) {
    const uint64_t num = uint64_t{bytes} * kSecond;
    step_bytes_ = bytes;
    step_q_ = num / rate_;
    step_r_ = num % rate_;
  }
  next_free_ += step_q_;
  if (step_r_ >= rate_ - remainder_) {
    ++next_free_;
    remainder_ -= rate_ - step_r_;
  } else {
    remainder_ += step_r_;
  }
}

}  // namespace camp::quic
