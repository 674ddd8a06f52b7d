// BBR as specified by draft-ietf-ccwg-bbr: Startup, Drain, ProbeBW (DOWN, CRUISE, REFILL, UP) and
// ProbeRTT over a model of max_bw, min_rtt, extra_acked and the loss-based bounds
// (inflight_longterm, bw_shortterm, inflight_shortterm). Function and field names follow the
// draft's pseudocode so a reader can hold the two side by side.
#pragma once

#include <cstdint>
#include <limits>

#include "dataplane/quic/recovery/congestion_controller.h"
#include "dataplane/quic/recovery/windowed_filter.h"

namespace camp::quic {

enum class BbrState : uint8_t {
  kStartup,
  kDrain,
  kProbeBwDown,
  kProbeBwCruise,
  kProbeBwRefill,
  kProbeBwUp,
  kProbeRtt,
};
const char* to_string(BbrState s);

class Bbr final : public CongestionController {
 public:
  static constexpr double kStartupPacingGain = 2.77;  // 4 ln 2
  static constexpr double kDrainPacingGain = 0.5;
  static constexpr double kDefaultCwndGain = 2.0;
  static constexpr double kPacingMarginPercent = 1.0;
  static constexpr double kLossThresh = 0.02;
  static constexpr double kBeta = 0.7;
  static constexpr double kHeadroom = 0.15;
  static constexpr double kProbeRttCwndGain = 0.5;
  static constexpr DurationNs kMinRttFilterLen = 10 * kSecond;
  static constexpr DurationNs kProbeRttDuration = 200 * kMillisecond;
  static constexpr DurationNs kProbeRttInterval = 5 * kSecond;
  static constexpr uint64_t kExtraAckedFilterLen = 10;
  static constexpr uint32_t kStartupFullLossCnt = 6;
  static constexpr uint64_t kInfinite = std::numeric_limits<uint64_t>::max();

  // `seed` drives the randomised ProbeBW wait; fixed seeds keep simulations repeatable.
  Bbr(uint32_t max_datagram_size, uint64_t seed = 1);
  const char* name() const override { return "bbr"; }

  void on_congestion_event(TimeNs sent_time, TimeNs now) override;
  void on_persistent_congestion(TimeNs now) override;
  void on_ack(const AckEvent& ev) override;
  void on_transmit(TimeNs now, bool app_limited) override;
  double bandwidth_estimate() const override { return bw_; }
  // ProbeRTT ignores its own low-rate samples by marking the connection app-limited.
  bool wants_app_limited() const override { return state_ == BbrState::kProbeRtt; }

  BbrState state() const { return state_; }
  double max_bw() const { return max_bw_; }
  double bw() const { return bw_; }
  DurationNs min_rtt() const { return min_rtt_; }
  double pacing_gain() const { return pacing_gain_; }
  double cwnd_gain() const { return cwnd_gain_; }
  bool full_bw_reached() const { return full_bw_reached_; }
  uint64_t round_count() const { return round_count_; }
  uint64_t inflight_longterm() const { return inflight_longterm_; }
  uint64_t send_quantum() const { return send_quantum_; }
  uint64_t bdp() const { return bdp_; }
  bool in_loss_recovery() const { return in_recovery_; }

 protected:
  double own_pacing_rate() const override { return pacing_rate_; }
  void on_sent(const SentPacket& p, TimeNs now) override;
  void on_acked(const SentPacket& p, TimeNs now) override;
  void on_lost(const SentPacket& p, TimeNs now) override;

 private:
  enum class AckPhase : uint8_t { kInit, kRefilling, kProbeStarting, kProbeFeedback,
                                  kProbeStopping };

  // State machine.
  void enter_startup();
  void check_startup_done();
  void check_startup_high_loss();
  void enter_drain();
  void check_drain_done();
  void enter_probe_bw();
  void start_probe_bw_down();
  void start_probe_bw_cruise();
  void start_probe_bw_refill();
  void start_probe_bw_up();
  void update_probe_bw_cycle_phase();
  bool is_in_probe_bw_state() const;
  bool is_probing_bw() const;
  bool is_time_to_probe_bw();
  bool is_time_to_cruise() const;
  bool is_time_to_go_down();
  bool is_reno_coexistence_probe_time() const;
  bool has_elapsed_in_phase(DurationNs interval) const { return now_ > cycle_stamp_ + interval; }
  void pick_probe_wait();
  void check_probe_rtt();
  void enter_probe_rtt();
  void handle_probe_rtt();
  void check_probe_rtt_done();
  void exit_probe_rtt();

  // Model.
  void update_round();
  void start_round() { next_round_delivered_ = delivered_; }
  void update_max_bw();
  void update_latest_delivery_signals();
  void advance_latest_delivery_signals();
  void update_congestion_signals();
  void reset_congestion_signals();
  void reset_short_term_model();
  void adapt_lower_bounds_from_congestion();
  void bound_bw_for_model();
  void update_ack_aggregation();
  void check_full_bw_reached();
  void reset_full_bw();
  bool adapt_long_term_model();
  bool is_inflight_too_high(uint64_t lost, uint64_t tx_in_flight) const;
  void handle_inflight_too_high(bool app_limited, uint64_t tx_in_flight);
  uint64_t inflight_at_loss(const SentPacket& p, uint64_t rs_lost, uint64_t rs_tx_in_flight) const;
  void raise_inflight_longterm_slope();
  void probe_inflight_longterm_upward();
  void update_min_rtt();
  void note_loss();
  void save_state_upon_loss();

  // Control parameters.
  void set_pacing_rate_with_gain(double gain);
  void set_send_quantum();
  void set_cwnd();
  void save_cwnd();
  void restore_cwnd() { cwnd_ = cwnd_ > prior_cwnd_ ? cwnd_ : prior_cwnd_; }
  uint64_t bdp_multiple(double bw, double gain);
  uint64_t quantization_budget(uint64_t inflight_cap) const;
  uint64_t inflight(double bw, double gain);
  uint64_t inflight_with_headroom() const;
  uint64_t target_inflight() const;
  uint64_t probe_rtt_cwnd();
  uint64_t min_pipe_cwnd() const { return 4ull * mds_; }
  double random_unit();

  BbrState state_ = BbrState::kStartup;
  AckPhase ack_phase_ = AckPhase::kInit;
  TimeNs now_ = 0;
  RateSample rs_;
  DurationNs latest_rtt_sample_ = 0;
  bool rtt_sampled_ = false;

  // Connection counters this controller keeps itself (C.delivered, C.lost).
  uint64_t delivered_ = 0;
  uint64_t lost_ = 0;
  uint64_t initial_cwnd_;

  double pacing_rate_ = 0;
  double pacing_gain_ = kStartupPacingGain;
  double cwnd_gain_ = kDefaultCwndGain;
  uint64_t send_quantum_ = 0;

  // Round counting.
  uint64_t next_round_delivered_ = 0;
  uint64_t round_count_ = 0;
  bool round_start_ = false;
  uint64_t drain_start_round_ = 0;
  bool idle_restart_ = false;

  // Bandwidth model: BBR.max_bw_filter holds the current and the previous ProbeBW cycle.
  double max_bw_slot_[2] = {0, 0};
  uint64_t cycle_count_ = 0;
  double max_bw_ = 0;
  double bw_shortterm_ = std::numeric_limits<double>::infinity();
  double bw_ = 0;
  double bw_latest_ = 0;
  uint64_t inflight_latest_ = 0;
  uint64_t inflight_longterm_ = kInfinite;
  uint64_t inflight_shortterm_ = kInfinite;
  uint64_t bdp_ = 0;
  uint64_t max_inflight_ = 0;

  // Aggregation.
  WindowedMaxFilter<uint64_t> extra_acked_filter_;
  uint64_t extra_acked_ = 0;
  TimeNs extra_acked_interval_start_ = 0;
  uint64_t extra_acked_delivered_ = 0;

  // Full pipe detection.
  bool full_bw_reached_ = false;
  bool full_bw_now_ = false;
  double full_bw_ = 0;
  uint32_t full_bw_count_ = 0;

  // Loss signals.
  bool loss_round_start_ = false;
  uint64_t loss_round_delivered_ = 0;
  bool is_loss_in_round_ = false;
  uint64_t lost_in_round_ = 0;
  uint32_t loss_events_in_round_ = 0;
  uint64_t last_lost_pn_ = kInfinite;
  bool in_recovery_ = false;
  TimeNs recovery_start_ = 0;
  uint64_t recovery_start_round_ = 0;
  uint64_t prior_cwnd_ = 0;

  // ProbeBW.
  bool is_bw_probe_sample_ = false;
  uint64_t bw_probe_up_acked_ = 0;
  uint64_t probe_up_acked_per_inc_ = kInfinite;
  uint32_t bw_probe_up_rounds_ = 0;
  uint64_t rounds_since_probe_up_ = 0;
  DurationNs bw_probe_wait_ = 0;
  TimeNs cycle_stamp_ = 0;
  bool prev_probe_too_high_ = false;
  bool prev_probe_precautionary_ = false;
  bool cwnd_limited_this_round_ = false;
  bool is_cwnd_limited_ = false;

  // min_rtt and ProbeRTT.
  DurationNs min_rtt_ = kInfinite;
  TimeNs min_rtt_stamp_ = 0;
  DurationNs probe_rtt_min_delay_ = kInfinite;
  TimeNs probe_rtt_min_stamp_ = 0;
  bool probe_rtt_expired_ = false;
  TimeNs probe_rtt_done_stamp_ = 0;
  bool probe_rtt_round_done_ = false;

  uint64_t rng_;
};

}  // namespace camp::quic
