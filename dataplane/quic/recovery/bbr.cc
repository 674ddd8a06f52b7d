#include "dataplane/quic/recovery/bbr.h"

#include <algorithm>
#include <cmath>

namespace camp::quic {

namespace {
constexpr double kInfBw = std::numeric_limits<double>::infinity();
constexpr double kProbeBwUpPacingGain = 1.25;
constexpr double kProbeBwUpCwndGain = 2.25;
constexpr double kProbeBwDownPacingGain = 0.90;
}  // namespace

const char* to_string(BbrState s) {
  switch (s) {
    case BbrState::kStartup: return "Startup";
    case BbrState::kDrain: return "Drain";
    case BbrState::kProbeBwDown: return "ProbeBW_DOWN";
    case BbrState::kProbeBwCruise: return "ProbeBW_CRUISE";
    case BbrState::kProbeBwRefill: return "ProbeBW_REFILL";
    case BbrState::kProbeBwUp: return "ProbeBW_UP";
    case BbrState::kProbeRtt: return "ProbeRTT";
  }
  return "?";
}

Bbr::Bbr(uint32_t mds, uint64_t seed)
    : CongestionController(mds), initial_cwnd_(cwnd_), rng_(seed ? seed : 0x9e3779b97f4a7c15ull) {
  // OnInit. The caller's clock is unknown here, so stamps start at 0 (the first ACK refreshes).
  extra_acked_filter_.reset(0, 0);
  reset_congestion_signals();
  reset_short_term_model();
  reset_full_bw();
  // InitPacingRate: no smoothed RTT yet, so nominal bandwidth is InitialCwnd per 1 ms.
  pacing_rate_ = kStartupPacingGain * static_cast<double>(initial_cwnd_) * 1e9 / 1e6;
  enter_startup();
  set_send_quantum();
}

double Bbr::random_unit() {
  // xorshift64*: deterministic per seed, no allocation, no global state.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<double>((rng_ * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

// ---- per-transmit / per-packet -------------------------------------------------------------

void Bbr::on_transmit(TimeNs now, bool app_limited) {
  // HandleRestartFromIdle.
  if (bytes_in_flight_ != 0 || !app_limited) return;
  now_ = now;
  idle_restart_ = true;
  extra_acked_interval_start_ = now;
  if (is_in_probe_bw_state())
    set_pacing_rate_with_gain(1.0);
  else if (state_ == BbrState::kProbeRtt)
    check_probe_rtt_done();
}

void Bbr::on_sent(const SentPacket& p, TimeNs now) {
  // C.is_cwnd_limited: the window, not the application, stopped us this round.
  if (bytes_in_flight_ + mds_ > cwnd_) cwnd_limited_this_round_ = true;
}

void Bbr::on_acked(const SentPacket& p, TimeNs now) {
  delivered_ += p.sent_bytes;
  // Loss recovery ends once a packet sent after it began is acknowledged.
  if (in_recovery_ && p.time_sent > recovery_start_) {
    in_recovery_ = false;
    restore_cwnd();
  }
}

void Bbr::on_lost(const SentPacket& p, TimeNs now) {
  now_ = now;
  lost_ += p.sent_bytes;
  lost_in_round_ += p.sent_bytes;
  if (last_lost_pn_ == kInfinite || p.packet_number != last_lost_pn_ + 1) ++loss_events_in_round_;
  last_lost_pn_ = p.packet_number;
  // HandleLostPacket.
  note_loss();
  if (!is_bw_probe_sample_) return;
  const uint64_t tx_in_flight = p.tx_in_flight;
  const uint64_t rs_lost = lost_ - std::min(lost_, p.lost);
  if (is_inflight_too_high(rs_lost, tx_in_flight))
    handle_inflight_too_high(p.is_app_limited, inflight_at_loss(p, rs_lost, tx_in_flight));
}

void Bbr::on_congestion_event(TimeNs sent_time, TimeNs now) {
  if (in_recovery_ || (sent_time <= recovery_start_ && recovery_start_ != 0)) return;
  // OnEnterFastRecovery.
  save_cwnd();
  save_state_upon_loss();
  in_recovery_ = true;
  recovery_start_ = now;
  recovery_start_round_ = round_count_;
}

void Bbr::on_persistent_congestion(TimeNs now) {
  // OnEnterRTO: allow one more datagram, then grow through SetCwnd as ACKs return.
  save_cwnd();
  save_state_upon_loss();
  cwnd_ = bytes_in_flight_ + mds_;
  in_recovery_ = true;
  recovery_start_ = now;
  recovery_start_round_ = round_count_;
}

// ---- per-ACK -------------------------------------------------------------------------------

void Bbr::on_ack(const AckEvent& ev) {
  now_ = ev.now;
  rs_ = ev.rs;
  rtt_sampled_ = ev.rtt_updated;
  latest_rtt_sample_ = ev.latest_rtt;
  // UpdateModelAndState.
  update_latest_delivery_signals();
  update_congestion_signals();
  update_ack_aggregation();
  check_full_bw_reached();
  check_startup_done();
  check_drain_done();
  update_probe_bw_cycle_phase();
  update_min_rtt();
  check_probe_rtt();
  advance_latest_delivery_signals();
  bound_bw_for_model();
  // UpdateControlParameters.
  set_pacing_rate_with_gain(pacing_gain_);
  set_send_quantum();
  set_cwnd();
}

void Bbr::update_round() {
  if (!rs_.has_data) {
    round_start_ = false;
    return;
  }
  if (rs_.prior_delivered >= next_round_delivered_) {
    start_round();
    ++round_count_;
    ++rounds_since_probe_up_;
    round_start_ = true;
    is_cwnd_limited_ = cwnd_limited_this_round_;
    cwnd_limited_this_round_ = false;
  } else {
    round_start_ = false;
  }
}

void Bbr::update_max_bw() {
  update_round();
  if (rs_.delivery_rate > 0 && (rs_.delivery_rate >= max_bw_ || !rs_.is_app_limited)) {
    double& cur = max_bw_slot_[cycle_count_ & 1];
    cur = std::max(cur, rs_.delivery_rate);
    max_bw_ = std::max(max_bw_slot_[0], max_bw_slot_[1]);
  }
}

void Bbr::update_latest_delivery_signals() {
  loss_round_start_ = false;
  bw_latest_ = std::max(bw_latest_, rs_.delivery_rate);
  inflight_latest_ = std::max(inflight_latest_, rs_.delivered);
  if (rs_.has_data && rs_.prior_delivered >= loss_round_delivered_) {
    loss_round_delivered_ = delivered_;
    loss_round_start_ = true;
  }
}

void Bbr::advance_latest_delivery_signals() {
  if (!loss_round_start_) return;
  bw_latest_ = rs_.delivery_rate;
  inflight_latest_ = rs_.delivered;
  lost_in_round_ = 0;
  loss_events_in_round_ = 0;
}

void Bbr::reset_congestion_signals() {
  is_loss_in_round_ = false;
  bw_latest_ = 0;
  inflight_latest_ = 0;
}

void Bbr::reset_short_term_model() {
  bw_shortterm_ = kInfBw;
  inflight_shortterm_ = kInfinite;
}

void Bbr::update_congestion_signals() {
  update_max_bw();
  if (!loss_round_start_) return;
  check_startup_high_loss();  // needs the finished round's loss counters
  adapt_lower_bounds_from_congestion();
  is_loss_in_round_ = false;
}

void Bbr::adapt_lower_bounds_from_congestion() {
  if (is_probing_bw() || !is_loss_in_round_) return;
  // InitLowerBounds, then LossLowerBounds.
  if (bw_shortterm_ == kInfBw) bw_shortterm_ = max_bw_;
  if (inflight_shortterm_ == kInfinite) inflight_shortterm_ = cwnd_;
  bw_shortterm_ = std::max(bw_latest_, kBeta * bw_shortterm_);
  inflight_shortterm_ = std::max<uint64_t>(
      inflight_latest_, static_cast<uint64_t>(kBeta * static_cast<double>(inflight_shortterm_)));
}

void Bbr::bound_bw_for_model() { bw_ = std::min(max_bw_, bw_shortterm_); }

void Bbr::update_ack_aggregation() {
  const double interval = static_cast<double>(now_ - std::min(now_, extra_acked_interval_start_));
  auto expected = static_cast<uint64_t>(bw_ * interval / 1e9);
  // A slower-than-expected ACK stream restarts the measurement interval.
  if (extra_acked_delivered_ <= expected) {
    extra_acked_delivered_ = 0;
    extra_acked_interval_start_ = now_;
    expected = 0;
  }
  extra_acked_delivered_ += rs_.newly_acked;
  uint64_t extra = extra_acked_delivered_ - std::min(extra_acked_delivered_, expected);
  extra = std::min<uint64_t>(extra, cwnd_);
  const uint64_t len = full_bw_reached_ ? kExtraAckedFilterLen : 1;
  extra_acked_ = extra_acked_filter_.update(extra, round_count_, len);
}

void Bbr::reset_full_bw() {
  full_bw_ = 0;
  full_bw_count_ = 0;
  full_bw_now_ = false;
}

void Bbr::check_full_bw_reached() {
  if (full_bw_now_ || !round_start_ || rs_.is_app_limited) return;
  if (rs_.delivery_rate >= full_bw_ * 1.25) {
    reset_full_bw();  // still growing: new baseline
    full_bw_ = rs_.delivery_rate;
    return;
  }
  ++full_bw_count_;
  full_bw_now_ = full_bw_count_ >= 3;
  if (full_bw_now_) full_bw_reached_ = true;
}

void Bbr::check_startup_high_loss() {
  // Selective acks: in recovery for a full round, loss rate above LossThresh and at least
  // kStartupFullLossCnt discontiguous lost ranges in that round.
  if (state_ != BbrState::kStartup || !in_recovery_) return;
  if (round_count_ < recovery_start_round_ + 1) return;
  const double sent = static_cast<double>(inflight_latest_ + lost_in_round_);
  if (loss_events_in_round_ < kStartupFullLossCnt || sent <= 0 ||
      static_cast<double>(lost_in_round_) <= kLossThresh * sent)
    return;
  full_bw_reached_ = true;
  inflight_longterm_ = std::max<uint64_t>(bdp_, inflight_latest_);
}

void Bbr::check_startup_done() {
  if (state_ == BbrState::kStartup && full_bw_reached_) enter_drain();
}

void Bbr::enter_startup() {
  state_ = BbrState::kStartup;
  pacing_gain_ = kStartupPacingGain;
  cwnd_gain_ = kDefaultCwndGain;
}

void Bbr::enter_drain() {
  state_ = BbrState::kDrain;
  pacing_gain_ = kDrainPacingGain;
  cwnd_gain_ = kDefaultCwndGain;
  drain_start_round_ = round_count_;
}

void Bbr::check_drain_done() {
  if (state_ == BbrState::kDrain &&
      (bytes_in_flight_ <= inflight(bw_, 1.0) || round_count_ > drain_start_round_ + 3))
    enter_probe_bw();
}

void Bbr::enter_probe_bw() {
  cwnd_gain_ = kDefaultCwndGain;
  start_probe_bw_down();
}

void Bbr::pick_probe_wait() {
  rounds_since_probe_up_ = random_unit() < 0.5 ? 0 : 1;
  bw_probe_wait_ = 2 * kSecond + static_cast<DurationNs>(random_unit() * 1e9);
}

void Bbr::start_probe_bw_down() {
  reset_congestion_signals();
  probe_up_acked_per_inc_ = kInfinite;
  pick_probe_wait();
  cycle_stamp_ = now_;
  ack_phase_ = AckPhase::kProbeStopping;
  start_round();
  state_ = BbrState::kProbeBwDown;
  pacing_gain_ = kProbeBwDownPacingGain;
  cwnd_gain_ = kDefaultCwndGain;
}

void Bbr::start_probe_bw_cruise() {
  state_ = BbrState::kProbeBwCruise;
  pacing_gain_ = 1.0;
  cwnd_gain_ = kDefaultCwndGain;
}

void Bbr::start_probe_bw_refill() {
  reset_short_term_model();
  bw_probe_up_rounds_ = 0;
  bw_probe_up_acked_ = 0;
  prev_probe_precautionary_ = false;
  ack_phase_ = AckPhase::kRefilling;
  start_round();
  state_ = BbrState::kProbeBwRefill;
  pacing_gain_ = 1.0;
  cwnd_gain_ = kDefaultCwndGain;
}

void Bbr::start_probe_bw_up() {
  ack_phase_ = AckPhase::kProbeStarting;
  start_round();
  reset_full_bw();
  full_bw_ = rs_.delivery_rate;
  state_ = BbrState::kProbeBwUp;
  pacing_gain_ = kProbeBwUpPacingGain;
  cwnd_gain_ = kProbeBwUpCwndGain;
  raise_inflight_longterm_slope();
}

bool Bbr::is_in_probe_bw_state() const {
  return state_ == BbrState::kProbeBwDown || state_ == BbrState::kProbeBwCruise ||
         state_ == BbrState::kProbeBwRefill || state_ == BbrState::kProbeBwUp;
}

bool Bbr::is_probing_bw() const {
  return state_ == BbrState::kStartup || state_ == BbrState::kProbeBwRefill ||
         state_ == BbrState::kProbeBwUp;
}

void Bbr::update_probe_bw_cycle_phase() {
  if (!full_bw_reached_) return;
  if (adapt_long_term_model()) return;
  if (!is_in_probe_bw_state()) return;
  switch (state_) {
    case BbrState::kProbeBwDown:
      if (is_time_to_probe_bw()) return;
      if (is_time_to_cruise()) start_probe_bw_cruise();
      break;
    case BbrState::kProbeBwCruise:
      is_time_to_probe_bw();
      break;
    case BbrState::kProbeBwRefill:
      if (round_start_) {  // one round of REFILL, then UP
        is_bw_probe_sample_ = true;
        start_probe_bw_up();
      }
      break;
    case BbrState::kProbeBwUp:
      if (is_time_to_go_down()) {
        prev_probe_too_high_ = false;
        start_probe_bw_down();
      }
      break;
    default:
      break;
  }
}

bool Bbr::is_time_to_probe_bw() {
  if (has_elapsed_in_phase(bw_probe_wait_) || is_reno_coexistence_probe_time()) {
    start_probe_bw_refill();
    return true;
  }
  return false;
}

bool Bbr::is_reno_coexistence_probe_time() const {
  // A Reno flow needs one round per packet of window to grow by the same amount.
  const uint64_t reno_rounds = target_inflight() / mds_;
  return rounds_since_probe_up_ >= std::min<uint64_t>(reno_rounds, 63);
}

bool Bbr::is_time_to_cruise() const {
  if (bytes_in_flight_ > inflight_with_headroom()) return false;
  if (bytes_in_flight_ > const_cast<Bbr*>(this)->inflight(max_bw_, 1.0)) return false;
  return true;
}

bool Bbr::is_time_to_go_down() {
  if (prev_probe_too_high_ && bytes_in_flight_ >= inflight_longterm_) {
    prev_probe_precautionary_ = true;
    return true;
  }
  if (is_cwnd_limited_ && cwnd_ >= inflight_longterm_) {
    reset_full_bw();  // bandwidth is limited by inflight_longterm, keep looking
    full_bw_ = rs_.delivery_rate;
  } else if (full_bw_now_) {
    return true;
  }
  return false;
}

uint64_t Bbr::inflight_with_headroom() const {
  if (inflight_longterm_ == kInfinite) return kInfinite;
  const auto headroom = std::max<uint64_t>(
      mds_, static_cast<uint64_t>(kHeadroom * static_cast<double>(inflight_longterm_)));
  return std::max(inflight_longterm_ - std::min(inflight_longterm_, headroom), min_pipe_cwnd());
}

void Bbr::raise_inflight_longterm_slope() {
  const uint64_t growth_this_round = 1ull << bw_probe_up_rounds_;
  bw_probe_up_rounds_ = std::min<uint32_t>(bw_probe_up_rounds_ + 1, 30);
  probe_up_acked_per_inc_ = std::max<uint64_t>(cwnd_ / growth_this_round, mds_);
}

void Bbr::probe_inflight_longterm_upward() {
  if (!is_cwnd_limited_ || cwnd_ < inflight_longterm_) return;
  bw_probe_up_acked_ += rs_.newly_acked;
  if (bw_probe_up_acked_ >= probe_up_acked_per_inc_) {
    const uint64_t delta = bw_probe_up_acked_ / probe_up_acked_per_inc_;
    bw_probe_up_acked_ -= delta * probe_up_acked_per_inc_;
    inflight_longterm_ += delta * mds_;
  }
  if (round_start_) raise_inflight_longterm_slope();
}

bool Bbr::adapt_long_term_model() {
  if (ack_phase_ == AckPhase::kProbeStarting && round_start_)
    ack_phase_ = AckPhase::kProbeFeedback;  // samples from the probe start arriving
  if (ack_phase_ == AckPhase::kProbeStopping && round_start_) {
    is_bw_probe_sample_ = false;
    ack_phase_ = AckPhase::kInit;
    if (is_in_probe_bw_state() && !rs_.is_app_limited) {
      // AdvanceMaxBwFilter: a new cycle slot; the oldest cycle's maximum ages out.
      ++cycle_count_;
      max_bw_slot_[cycle_count_ & 1] = 0;
    }
    if (is_in_probe_bw_state() && prev_probe_precautionary_ && !prev_probe_too_high_) {
      start_probe_bw_refill();
      return true;
    }
  }
  if (!is_inflight_too_high(rs_.lost, rs_.tx_in_flight)) {
    if (inflight_longterm_ == kInfinite) return false;
    if (rs_.tx_in_flight > inflight_longterm_) inflight_longterm_ = rs_.tx_in_flight;
    if (state_ == BbrState::kProbeBwUp) probe_inflight_longterm_upward();
  }
  return false;
}

bool Bbr::is_inflight_too_high(uint64_t lost, uint64_t tx_in_flight) const {
  return static_cast<double>(lost) > static_cast<double>(tx_in_flight) * kLossThresh;
}

void Bbr::handle_inflight_too_high(bool app_limited, uint64_t tx_in_flight) {
  prev_probe_too_high_ = true;
  is_bw_probe_sample_ = false;  // react once per probe
  if (!app_limited)
    inflight_longterm_ = std::max<uint64_t>(
        tx_in_flight, static_cast<uint64_t>(static_cast<double>(target_inflight()) * kBeta));
  if (state_ == BbrState::kProbeBwUp) start_probe_bw_down();
}

uint64_t Bbr::inflight_at_loss(const SentPacket& p, uint64_t rs_lost,
                               uint64_t rs_tx_in_flight) const {
  // Where, within the lost packet (an aggregate under offload), the loss rate crossed LossThresh.
  const double size = p.sent_bytes;
  const double inflight_prev = std::max(0.0, static_cast<double>(rs_tx_in_flight) - size);
  const double lost_prev = std::max(0.0, static_cast<double>(rs_lost) - size);
  const double lost_prefix = std::max(0.0, (kLossThresh * inflight_prev - lost_prev) /
                                               (1 - kLossThresh));
  return static_cast<uint64_t>(inflight_prev + lost_prefix);
}

void Bbr::note_loss() {
  if (!is_loss_in_round_) {
    loss_round_delivered_ = delivered_;
    save_state_upon_loss();
  }
  is_loss_in_round_ = true;
}

void Bbr::save_state_upon_loss() { save_cwnd(); }

void Bbr::update_min_rtt() {
  probe_rtt_expired_ = now_ > probe_rtt_min_stamp_ + kProbeRttInterval;
  if (rtt_sampled_ && (latest_rtt_sample_ < probe_rtt_min_delay_ || probe_rtt_expired_)) {
    probe_rtt_min_delay_ = latest_rtt_sample_;
    probe_rtt_min_stamp_ = now_;
  }
  const bool min_rtt_expired =
      min_rtt_ != kInfinite && now_ > min_rtt_stamp_ + kMinRttFilterLen;
  if (probe_rtt_min_delay_ < min_rtt_ || min_rtt_expired) {
    min_rtt_ = probe_rtt_min_delay_;
    min_rtt_stamp_ = probe_rtt_min_stamp_;
  }
}

void Bbr::check_probe_rtt() {
  if (state_ != BbrState::kProbeRtt && probe_rtt_expired_ && !idle_restart_ &&
      min_rtt_ != kInfinite) {
    enter_probe_rtt();
    save_cwnd();
    probe_rtt_done_stamp_ = 0;
    ack_phase_ = AckPhase::kProbeStopping;
    start_round();
  }
  if (state_ == BbrState::kProbeRtt) handle_probe_rtt();
  if (rs_.delivered > 0) idle_restart_ = false;
}

void Bbr::enter_probe_rtt() {
  state_ = BbrState::kProbeRtt;
  pacing_gain_ = 1.0;
  cwnd_gain_ = kProbeRttCwndGain;
}

void Bbr::handle_probe_rtt() {
  // MarkConnectionAppLimited happens in the caller (wants_app_limited()).
  if (probe_rtt_done_stamp_ == 0 && bytes_in_flight_ <= probe_rtt_cwnd()) {
    probe_rtt_done_stamp_ = now_ + kProbeRttDuration;  // hold for ProbeRTTDuration...
    probe_rtt_round_done_ = false;                     // ...and at least one round
    start_round();
  } else if (probe_rtt_done_stamp_ != 0) {
    if (round_start_) probe_rtt_round_done_ = true;
    if (probe_rtt_round_done_) check_probe_rtt_done();
  }
}

void Bbr::check_probe_rtt_done() {
  if (probe_rtt_done_stamp_ != 0 && now_ > probe_rtt_done_stamp_) {
    probe_rtt_min_stamp_ = now_;  // schedules the next ProbeRTT
    restore_cwnd();
    exit_probe_rtt();
  }
}

void Bbr::exit_probe_rtt() {
  reset_short_term_model();
  if (full_bw_reached_) {
    start_probe_bw_down();
    start_probe_bw_cruise();  // inflight is already below the BDP
  } else {
    enter_startup();
  }
}

// ---- control parameters --------------------------------------------------------------------

void Bbr::set_pacing_rate_with_gain(double gain) {
  const double rate = gain * bw_ * (100 - kPacingMarginPercent) / 100;
  if (full_bw_reached_ || rate > pacing_rate_) pacing_rate_ = rate;
}

void Bbr::set_send_quantum() {
  auto q = static_cast<uint64_t>(pacing_rate_ / 1000.0);  // 1 ms worth
  q = std::min<uint64_t>(q, 64 * 1024);
  send_quantum_ = std::max<uint64_t>(q, 2ull * mds_);
}

uint64_t Bbr::bdp_multiple(double bw, double gain) {
  if (min_rtt_ == kInfinite) return initial_cwnd_;  // no RTT sample yet
  bdp_ = static_cast<uint64_t>(bw * static_cast<double>(min_rtt_) / 1e9);
  return static_cast<uint64_t>(gain * static_cast<double>(bdp_));
}

uint64_t Bbr::quantization_budget(uint64_t cap) const {
  cap = std::max(cap, send_quantum_);  // QUIC offload budget: one send quantum
  cap = std::max(cap, min_pipe_cwnd());
  if (state_ == BbrState::kProbeBwUp) cap += 2ull * mds_;
  return cap;
}

uint64_t Bbr::inflight(double bw, double gain) {
  return quantization_budget(bdp_multiple(bw, gain));
}

uint64_t Bbr::target_inflight() const { return std::min(bdp_, cwnd_); }

uint64_t Bbr::probe_rtt_cwnd() {
  return std::max(bdp_multiple(bw_, kProbeRttCwndGain), min_pipe_cwnd());
}

void Bbr::save_cwnd() {
  if (!in_recovery_ && state_ != BbrState::kProbeRtt)
    prior_cwnd_ = cwnd_;
  else
    prior_cwnd_ = std::max(prior_cwnd_, cwnd_);
}

void Bbr::set_cwnd() {
  // UpdateMaxInflight.
  uint64_t cap = bdp_multiple(bw_, cwnd_gain_);
  cap += extra_acked_;
  max_inflight_ = quantization_budget(cap);
  if (full_bw_reached_)
    cwnd_ = std::min(cwnd_ + rs_.newly_acked, max_inflight_);
  else if (cwnd_ < max_inflight_ || delivered_ < initial_cwnd_)
    cwnd_ += rs_.newly_acked;
  cwnd_ = std::max(cwnd_, min_pipe_cwnd());
  // BoundCwndForProbeRTT.
  if (state_ == BbrState::kProbeRtt) cwnd_ = std::min(cwnd_, probe_rtt_cwnd());
  // BoundCwndForModel.
  uint64_t model_cap = kInfinite;
  if (is_in_probe_bw_state() && state_ != BbrState::kProbeBwCruise)
    model_cap = inflight_longterm_;
  else if (state_ == BbrState::kProbeRtt || state_ == BbrState::kProbeBwCruise)
    model_cap = inflight_with_headroom();
  model_cap = std::min(model_cap, inflight_shortterm_);
  model_cap = std::max(model_cap, min_pipe_cwnd());
  cwnd_ = std::min(cwnd_, model_cap);
}

}  // namespace camp::quic
