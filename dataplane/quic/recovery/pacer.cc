#include "dataplane/quic/recovery/pacer.h"

#include <algorithm>

namespace camp::quic {

void Pacer::set_rate(uint64_t bytes_per_second) {
  if (bytes_per_second == rate_) return;
  rate_ = bytes_per_second;
  remainder_ = 0;
  credit_ = duration_of(burst_bytes_);
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
  if (bytes < (UINT64_MAX - remainder_) / kSecond) {  // fits 64 bits: a cheaper division
    const uint64_t num = bytes * kSecond + remainder_;
    next_free_ += num / rate_;
    remainder_ = num % rate_;
    return;
  }
  const unsigned __int128 num = static_cast<unsigned __int128>(bytes) * kSecond + remainder_;
  next_free_ += static_cast<DurationNs>(num / rate_);
  remainder_ = static_cast<uint64_t>(num % rate_);
}

}  // namespace camp::quic
