// Everything one path needs to recover from loss and to control its rate (DESIGN.md "Seams"):
// its packet number spaces with their bounded sent-packet rings, the RTT estimator, loss
// detection and the PTO timer (RFC 9002 sections 5-7, Appendix A), delivery rate sampling, one
// congestion controller and the pacer. Multipath adds paths by adding PathRecovery instances.
// I/O free: the caller passes the time and sends what it is told to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "dataplane/quic/recovery/bbr.h"
#include "dataplane/quic/recovery/cubic.h"
#include "dataplane/quic/recovery/delivery_rate.h"
#include "dataplane/quic/recovery/new_reno.h"
#include "dataplane/quic/recovery/pacer.h"
#include "dataplane/quic/recovery/rtt_estimator.h"
#include "dataplane/quic/recovery/sent_packet_ring.h"

namespace camp::quic {

struct PathRecoveryConfig {
  CcAlgorithm algorithm = CcAlgorithm::kCubic;
  uint32_t max_datagram_size = 1200;
  size_t app_ring_capacity = 4096;       // ApplicationData packets tracked at once
  size_t handshake_ring_capacity = 128;  // Initial and Handshake, each
  DurationNs initial_rtt = kInitialRtt;
  DurationNs max_ack_delay = 25 * kMillisecond;  // the peer's transport parameter
  uint64_t pacer_burst_bytes = 2 * 1200;
  uint64_t seed = 1;  // BBR's randomised probing
};

// Where acked / lost packets go: the connection routes them by SentPacket::tag.
class RecoveryObserver {
 public:
  virtual void on_packet_acked(PnSpace space, const SentPacket& p) = 0;
  virtual void on_packet_lost(PnSpace space, const SentPacket& p) = 0;

 protected:
  ~RecoveryObserver() = default;
};

struct AckOutcome {
  RecoveryError error = RecoveryError::kOk;
  uint32_t newly_acked = 0;   // packets
  uint32_t newly_lost = 0;    // packets
  bool rtt_updated = false;
  bool persistent_congestion = false;
};

enum class TimeoutAction : uint8_t {
  kNone,          // nothing due yet
  kLossDetected,  // time-threshold losses were declared (observer told)
  kSendProbe,     // PTO: send `probe_packets` ack-eliciting packets in `space`, cwnd permitting or not
};

struct TimeoutOutcome {
  TimeoutAction action = TimeoutAction::kNone;
  PnSpace space = PnSpace::kApplicationData;
  uint32_t probe_packets = 0;
  uint32_t newly_lost = 0;
};

class PathRecovery {
 public:
  explicit PathRecovery(const PathRecoveryConfig& cfg);
  PathRecovery(const PathRecovery&) = delete;
  PathRecovery& operator=(const PathRecovery&) = delete;

  // OnPacketSent (A.5). `p` carries packet_number, time_sent, sent_bytes, ack_eliciting, in_flight
  // and tag; the delivery-rate snapshot is filled here. Fails (and records nothing) when the ring
  // is full or packet numbers go backwards; a packet that is neither in flight nor ack-eliciting
  // is then simply left untracked, as there is nothing to recover for it.
  RecoveryError on_packet_sent(PnSpace space, const SentPacket& p);
  // The same in two steps, the record written in place between them: a record just written field
  // by field and then copied whole is reloaded before its stores are done, which the CPU cannot
  // forward (a stall per packet, measured). begin_packet_sent() gives the slot for packet_number
  // (null with the error when on_packet_sent would fail, before anything changed);
  // end_packet_sent() does the rest of on_packet_sent for what was written there (`p`, the slot
  // begin_packet_sent() gave).
  SentPacket* begin_packet_sent(PnSpace space, uint64_t packet_number, RecoveryError& err);
  void end_packet_sent(PnSpace space, SentPacket& p);

  // OnAckReceived (A.7). `ranges` as in the ACK frame: largest first, descending, disjoint.
  // `ack_delay` already decoded to ns. `ecn` optional (ACK_ECN). Errors leave state unchanged.
  AckOutcome on_ack_received(PnSpace space, std::span<const AckRange> ranges,
                             DurationNs ack_delay, TimeNs now, RecoveryObserver& obs,
                             const EcnCounts* ecn = nullptr,
                             uint32_t ack_path = RttEstimator::kAnyAckPath);
  // The path acknowledgments came on closed: min_rtt starts again with the next sample if that
  // path produced it (multipath 5.4).
  void on_ack_path_closed(uint32_t path_id) { rtt_.on_ack_path_closed(path_id); }

  // The loss detection timer (A.8): kNever when disarmed.
  TimeNs loss_detection_timer() const {
    if (timer_stale_) set_loss_detection_timer(timer_stale_since_);
    return timer_;
  }
  TimeoutOutcome on_loss_detection_timeout(TimeNs now, RecoveryObserver& obs);

  // Keys for a space were discarded (A.6): its packets leave bytes_in_flight silently.
  void discard_space(PnSpace space, TimeNs now);
  // A Retry makes the client start its Initial space over (RFC 9002 6.3): what was sent is
  // forgotten without a congestion signal, the timers reset, and the space stays usable.
  void restart_space(PnSpace space, TimeNs now);
  // The peer moved to a new address (RFC 9000 9.4): congestion controller and RTT estimator
  // start again from their initial values. Packets in flight stay tracked and counted.
  void reset_congestion_state(TimeNs now);

  // The sender has nothing more to send right now (delivery-rate app-limited marking).
  void on_app_limited();

  // Sending gates: the window (and ring room) and the pacer.
  bool can_send(uint32_t bytes) const;
  TimeNs next_send_time(TimeNs now, uint32_t bytes);

  // Each setter first settles a timer left to compute (it was due as of the last send).
  void set_handshake_confirmed(bool v) {
    (void)loss_detection_timer();
    handshake_confirmed_ = v;
  }
  void set_peer_completed_address_validation(bool v) {
    (void)loss_detection_timer();
    peer_validated_ = v;
  }
  void set_has_handshake_keys(bool v) { has_handshake_keys_ = v; }
  void set_amplification_blocked(bool v, TimeNs now);
  void set_max_ack_delay(DurationNs d) {
    (void)loss_detection_timer();
    rtt_.set_max_ack_delay(d);
  }

  const RttEstimator& rtt() const { return rtt_; }
  CongestionController& cc() { return *cc_ptr_; }
  const CongestionController& cc() const { return *cc_ptr_; }
  Pacer& pacer() { return pacer_; }
  const DeliveryRateSampler& sampler() const { return sampler_; }
  uint32_t pto_count() const { return pto_count_; }
  // Packets declared lost and acknowledged later, and the reordering threshold they raised.
  uint64_t spurious_losses() const { return spurious_losses_; }
  uint64_t undone_reductions() const { return undone_reductions_; }
  uint64_t packet_threshold() const { return packet_threshold_; }
  uint64_t time_threshold_eighths() const { return time_threshold_eighths_; }
  uint64_t bytes_in_flight() const { return cc_ptr_->bytes_in_flight(); }
  const SentPacketRing& ring(PnSpace s) const { return spaces_[idx(s)].ring; }
  TimeNs loss_time(PnSpace s) const { return spaces_[idx(s)].loss_time; }
  uint64_t ack_eliciting_in_flight(PnSpace s) const {
    return spaces_[idx(s)].ack_eliciting_in_flight;
  }

 private:
  struct Space {
    explicit Space(size_t cap) : ring(cap) {}
    SentPacketRing ring;
    uint64_t largest_acked = 0;
    bool has_largest_acked = false;
    TimeNs time_of_last_ack_eliciting = 0;
    TimeNs loss_time = kNever;
    uint64_t ack_eliciting_in_flight = 0;
    EcnCounts ecn;
    bool discarded = false;
  };
  static int idx(PnSpace s) { return static_cast<int>(s); }

  // DetectAndRemoveLostPackets (A.10) plus the persistent congestion check (7.6).
  uint32_t detect_and_remove_lost(Space& sp, PnSpace space, TimeNs now, RecoveryObserver& obs,
                                  bool* persistent_congestion);
  void settle(Space& sp, size_t i, SentState state);
  void set_loss_detection_timer(TimeNs now) const;
  bool any_ack_eliciting_in_flight() const;
  DurationNs pto_duration(bool with_max_ack_delay) const;

  PathRecoveryConfig cfg_;
  Space spaces_[kNumPnSpaces];
  RttEstimator rtt_;
  DeliveryRateSampler sampler_;
  void make_cc();
  TimeNs lost_kept_from(TimeNs now) const;

  std::variant<std::monostate, NewReno, Cubic, Bbr> cc_;
  CongestionController* cc_ptr_ = nullptr;
  Pacer pacer_;
  // A send leaves the timer stale rather than compute it per packet (A.8 sets it on every send):
  // the first read computes it as of that send, at most once per endpoint call. Every other
  // event that changes its inputs sets it at once.
  mutable TimeNs timer_ = kNever;
  mutable bool timer_stale_ = false;
  TimeNs timer_stale_since_ = 0;
  uint32_t pto_count_ = 0;
  uint64_t packet_threshold_ = kPacketThreshold;  // adapts to the reordering seen (6.1.1)
  uint64_t time_threshold_eighths_ = kTimeThresholdNum;  // kTimeThreshold x 8, adapts (6.1.2)
  uint64_t spurious_losses_ = 0;
  // The last window reduction, to undo it when its losses all prove spurious.
  TimeNs reduction_time_ = kNever;
  uint64_t reduction_losses_ = 0;
  uint64_t reduction_spurious_ = 0;
  uint64_t undone_reductions_ = 0;
  bool handshake_confirmed_ = false;
  bool peer_validated_ = true;
  bool has_handshake_keys_ = false;
  bool amplification_blocked_ = false;
};

}  // namespace camp::quic
