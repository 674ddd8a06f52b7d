// The congestion controller seam: one instance per path. The base class keeps bytes_in_flight and
// the control-plane overrides (MMF sections 3.3 and 8.4); NewReno, CUBIC and BBR implement the
// window and rate logic. Events arrive from PathRecovery in RFC 9002 Appendix B order: per-packet
// acked/lost callbacks, then at most one congestion event, then one on_ack() per ACK frame.
#pragma once

#include <cstdint>

#include "dataplane/quic/recovery/delivery_rate.h"
#include "dataplane/quic/recovery/sent_packet.h"

namespace camp::quic {

enum class CcAlgorithm : uint8_t { kNewReno, kCubic, kBbr };

// MMF section 3.3 control commands. Each has its own slot and expiry.
enum class OverrideKind : uint8_t {
  kPacingGain = 0,     // pacing_rate = bandwidth estimate x value
  kPacingRate = 1,     // pacing_rate = value, bytes per second (wins over kPacingGain)
  kTargetBitrate = 2,  // application sending budget, bits per second
};
inline constexpr int kNumOverrideKinds = 3;

// Everything a controller learns from one ACK frame beyond the per-packet callbacks.
struct AckEvent {
  TimeNs now = 0;
  RateSample rs;
  DurationNs smoothed_rtt = 0;
  DurationNs min_rtt = 0;      // 0 until the first RTT sample
  DurationNs latest_rtt = 0;
  bool rtt_updated = false;    // this ACK produced an RTT sample
};

class CongestionController {
 public:
  explicit CongestionController(uint32_t max_datagram_size);
  virtual ~CongestionController() = default;
  CongestionController(const CongestionController&) = delete;
  CongestionController& operator=(const CongestionController&) = delete;

  virtual const char* name() const = 0;

  uint32_t max_datagram_size() const { return mds_; }
  uint64_t bytes_in_flight() const { return bytes_in_flight_; }
  uint64_t cwnd() const { return cwnd_; }
  // RFC 9002 section 7: never let bytes_in_flight exceed the congestion window.
  bool can_send(uint32_t bytes) const { return bytes_in_flight_ + bytes <= cwnd_; }

  // Per-packet events. Only in-flight packets change bytes_in_flight.
  void on_packet_sent(const SentPacket& p, TimeNs now);
  void on_packet_acked(const SentPacket& p, TimeNs now);
  void on_packet_lost(const SentPacket& p, TimeNs now);
  // Keys discarded (RFC 9002 6.4): forget the bytes without a congestion signal.
  void on_packet_discarded(const SentPacket& p);

  // A loss or ECN-CE signal; `sent_time` is the send time of the newest packet it concerns, so
  // one reduction happens per round trip (RFC 9002 7.3.2).
  virtual void on_congestion_event(TimeNs sent_time, TimeNs now) = 0;
  virtual void on_persistent_congestion(TimeNs now) = 0;
  // Every packet whose loss caused the last window reduction was acknowledged after all (it was
  // reordered, not lost): go back to the state before that reduction (RFC 9438 4.9). False when
  // the controller keeps no such state or there is nothing to undo.
  virtual bool undo_last_reduction() { return false; }
  // Window reductions so far: the caller tells from it whether a congestion event reduced.
  uint64_t reductions() const { return reductions_; }
  virtual void on_ack(const AckEvent& ev) = 0;
  // Before sending after the sender ran out of data (BBR's restart from idle).
  virtual void on_transmit(TimeNs now, bool app_limited) {}
  // True when the controller wants its own low-rate samples ignored (BBR ProbeRTT): the caller
  // then marks the delivery rate sampler app-limited.
  virtual bool wants_app_limited() const { return false; }

  // Outputs, overrides applied. Rates: pacing in bytes per second, target_bitrate in bits per
  // second. `now` decides whether an override is still active.
  double pacing_rate(TimeNs now) const;
  double target_bitrate(TimeNs now) const;
  // The controller's own bandwidth estimate (BWE), bytes per second.
  virtual double bandwidth_estimate() const = 0;

  // Control-plane commands with an expiry (MMF 3.3, 8.4). While active they replace the matching
  // quantity; the state machine keeps running underneath, so at expiry the controller continues
  // from its own state. Values must be finite and positive.
  RecoveryError set_override(OverrideKind kind, double value, TimeNs expires_at);
  void clear_override(OverrideKind kind);
  bool override_active(OverrideKind kind, TimeNs now) const;
  // True while an override holds pacing below the controller's own rate: delivery rate samples
  // then measure the cap, not the path, and must count as app-limited so the bandwidth model
  // survives the override.
  bool rate_capped_by_override(TimeNs now) const;

 protected:
  // The state machine's own pacing rate, bytes per second.
  virtual double own_pacing_rate() const = 0;
  virtual void on_sent(const SentPacket& p, TimeNs now) {}
  virtual void on_acked(const SentPacket& p, TimeNs now) {}
  virtual void on_lost(const SentPacket& p, TimeNs now) {}

  uint64_t minimum_window() const { return 2ull * mds_; }  // kMinimumWindow, RFC 9002 7.2

  uint32_t mds_;
  uint64_t cwnd_;
  uint64_t bytes_in_flight_ = 0;
  uint64_t reductions_ = 0;

 private:
  struct Override {
    double value = 0;
    TimeNs expires_at = 0;
    bool active = false;
  };
  const Override* active_override(OverrideKind kind, TimeNs now) const;
  Override overrides_[kNumOverrideKinds];
  bool any_override_ = false;  // one is set (perhaps expired): without, no per-packet lookups
};

// RFC 9002 section 7.2 initial window: min(10 * max_datagram_size, max(14720, 2 * mds)).
uint64_t initial_window(uint32_t max_datagram_size);

}  // namespace camp::quic
