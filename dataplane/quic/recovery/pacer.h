// A timestamp pacer with a burst allowance (RFC 9002 section 7.7; the departure-time model of
// draft-ietf-ccwg-bbr "Pacing Rate"). It keeps next_free, the time at which everything sent so far
// has left at the configured rate; a packet may leave once at most `burst_bytes` of that schedule
// lies ahead of now. Idle time earns no extra credit beyond the burst. Arithmetic is integer and
// exact: the fractional nanosecond each packet leaves over is carried, so n packets of s bytes
// are spread over exactly n*s/rate.
#pragma once

#include <cstdint>

#include "dataplane/quic/recovery/types.h"

namespace camp::quic {

class Pacer {
 public:
  explicit Pacer(uint64_t burst_bytes) : burst_bytes_(burst_bytes) {}

  // Rate in bytes per second; 0 turns pacing off. A changed rate drops the carried remainder.
  void set_rate(uint64_t bytes_per_second);
  uint64_t rate() const { return rate_; }
  void set_burst(uint64_t burst_bytes) {
    burst_bytes_ = burst_bytes;
    credit_ = duration_of(burst_bytes_);
  }
  uint64_t burst() const { return burst_bytes_; }

  // Earliest time a packet of `bytes` may be sent (now when it may go at once).
  TimeNs next_send_time(TimeNs now, uint32_t bytes) const;
  // Records a send at `now` (the caller may send late, never early, for exact spacing).
  void on_packet_sent(TimeNs now, uint32_t bytes);

 private:
  DurationNs duration_of(uint64_t bytes) const;  // bytes / rate, rounded up

  uint64_t rate_ = 0;
  uint64_t burst_bytes_;
  TimeNs next_free_ = 0;  // when everything sent so far has left at our rate
  uint64_t remainder_ = 0;  // carried (bytes * 1e9) mod rate
  DurationNs credit_ = 0;   // duration_of(burst_bytes_) at rate_: asked for every packet
  // (step_bytes_ * 1e9) / rate_ as quotient and remainder, kept while size and rate stay (0: none).
  uint32_t step_bytes_ = 0;
  uint64_t step_q_ = 0;
  uint64_t step_r_ = 0;
};

}  // namespace camp::quic
