#include "dataplane/quic/recovery/path_recovery.h"

#include <algorithm>

namespace camp::quic {

namespace {

// duration * 2^shift, saturating: a long backoff must not wrap into an early timer.
DurationNs backoff(DurationNs d, uint32_t shift) {
  if (shift >= 63 || d > (kNever >> shift)) return kNever / 2;
  return d << shift;
}

TimeNs add_sat(TimeNs t, DurationNs d) { return t > kNever - d ? kNever : t + d; }

bool ranges_well_formed(std::span<const AckRange> ranges) {
  if (ranges.empty()) return false;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].smallest > ranges[i].largest) return false;
    if (i > 0 && ranges[i].largest >= ranges[i - 1].smallest) return false;
  }
  return true;
}

}  // namespace

PathRecovery::PathRecovery(const PathRecoveryConfig& cfg)
    : cfg_(cfg),
      spaces_{Space(cfg.handshake_ring_capacity), Space(cfg.handshake_ring_capacity),
              Space(cfg.app_ring_capacity)},
      rtt_(cfg.initial_rtt),
      pacer_(cfg.pacer_burst_bytes) {
  rtt_.set_max_ack_delay(cfg.max_ack_delay);
  make_cc();
}

TimeNs PathRecovery::lost_kept_from(TimeNs now) const {
  // Lost packets stay two RTTs after they were sent: an ACK arriving that late was reordering.
  const DurationNs span = 2 * std::max(rtt_.latest(), rtt_.smoothed());
  return now > span ? now - span : 0;
}

void PathRecovery::make_cc() {
  cc_ptr_ = nullptr;
  switch (cfg_.algorithm) {
    case CcAlgorithm::kNewReno: cc_ptr_ = &cc_.emplace<NewReno>(cfg_.max_datagram_size); break;
    case CcAlgorithm::kCubic: cc_ptr_ = &cc_.emplace<Cubic>(cfg_.max_datagram_size); break;
    case CcAlgorithm::kBbr: cc_ptr_ = &cc_.emplace<Bbr>(cfg_.max_datagram_size, cfg_.seed); break;
  }
  if (cc_ptr_ == nullptr) cc_ptr_ = &cc_.emplace<Cubic>(cfg_.max_datagram_size);
}

void PathRecovery::reset_congestion_state(TimeNs now) {
  const DurationNs max_ack_delay = rtt_.max_ack_delay();
  rtt_.reset(cfg_.initial_rtt);
  rtt_.set_max_ack_delay(max_ack_delay);
  make_cc();
  reduction_time_ = kNever;
  // 9.4: packets sent on the old path must not count for the new one. They stay tracked (their
  // frames are still acknowledged or lost), outside the new controller and RTT estimate.
  for (Space& sp : spaces_) {
    for (size_t i = 0; i < sp.ring.size(); ++i) {
      SentSlot& slot = sp.ring.at(i);
      if (slot.state == SentState::kOutstanding) slot.pkt.prior_path = true;
    }
  }
  pto_count_ = 0;
  set_loss_detection_timer(now);
}

RecoveryError PathRecovery::on_packet_sent(PnSpace space, const SentPacket& in) {
  RecoveryError e = RecoveryError::kOk;
  SentPacket* p = begin_packet_sent(space, in.packet_number, e);
  if (!p) {
    // Nothing to recover for a packet that is neither in flight nor ack-eliciting.
    return e == RecoveryError::kRingFull && !in.in_flight && !in.ack_eliciting ? RecoveryError::kOk
                                                                                : e;
  }
  *p = in;
  end_packet_sent(space, *p);
  return RecoveryError::kOk;
}

SentPacket* PathRecovery::begin_packet_sent(PnSpace space, uint64_t packet_number,
                                            RecoveryError& err) {
  Space& sp = spaces_[idx(space)];
  if (sp.discarded) {
    err = RecoveryError::kSpaceDiscarded;
    return nullptr;
  }
  return sp.ring.reserve(packet_number, err);
}

void PathRecovery::end_packet_sent(PnSpace space, SentPacket& p) {
  Space& sp = spaces_[idx(space)];
  const TimeNs now = p.time_sent;
  if (p.in_flight) {
    if (cc_ptr_->rate_capped_by_override(now)) sampler_.mark_app_limited(cc_ptr_->bytes_in_flight());
    cc_ptr_->on_transmit(now, sampler_.app_limited());
    const uint64_t before = cc_ptr_->bytes_in_flight();
    sampler_.on_packet_sent(p, before, before + p.sent_bytes);
  }
  sp.ring.commit();
  if (p.in_flight) {
    if (p.ack_eliciting) {
      sp.time_of_last_ack_eliciting = now;
      ++sp.ack_eliciting_in_flight;
    }
    cc_ptr_->on_packet_sent(p, now);
    pacer_.set_rate(static_cast<uint64_t>(cc_ptr_->pacing_rate(now)));
    pacer_.on_packet_sent(now, p.sent_bytes);
    timer_stale_ = true;
    timer_stale_since_ = now;
  }
}

void PathRecovery::settle(Space& sp, size_t i, SentState state) {
  const SentPacket& p = sp.ring.at(i).pkt;
  if (p.in_flight && p.ack_eliciting && sp.ack_eliciting_in_flight > 0)
    --sp.ack_eliciting_in_flight;
  sp.ring.settle(i, state);
}

AckOutcome PathRecovery::on_ack_received(PnSpace space, std::span<const AckRange> ranges,
                                         DurationNs ack_delay, TimeNs now, RecoveryObserver& obs,
                                         const EcnCounts* ecn, uint32_t ack_path) {
  AckOutcome out;
  Space& sp = spaces_[idx(space)];
  if (sp.discarded) {
    out.error = RecoveryError::kSpaceDiscarded;
    return out;
  }
  if (!ranges_well_formed(ranges)) {
    out.error = RecoveryError::kMalformedAckRanges;
    return out;
  }
  const uint64_t largest = ranges[0].largest;
  if (!sp.ring.has_sent() || largest > sp.ring.largest_sent()) {
    out.error = RecoveryError::kAckOfUnsentPacket;
    return out;
  }
  if (ecn != nullptr &&
      (ecn->ect0 < sp.ecn.ect0 || ecn->ect1 < sp.ecn.ect1 || ecn->ecn_ce < sp.ecn.ecn_ce)) {
    out.error = RecoveryError::kEcnCountDecreased;
    return out;
  }
  if (!sp.has_largest_acked || largest > sp.largest_acked) {
    sp.largest_acked = largest;
    sp.has_largest_acked = true;
  }

  // Newly acknowledged packets, range by range.
  sampler_.begin_ack();
  bool any_ack_eliciting = false;
  bool have_newest = false;
  SentPacket largest_newly{};
  for (const AckRange& r : ranges) {
    for (size_t i = sp.ring.lower_bound(r.smallest); i < sp.ring.size(); ++i) {
      SentSlot& slot = sp.ring.at(i);
      if (slot.pkt.packet_number > r.largest) break;
      if (slot.state == SentState::kLost && !slot.pkt.prior_path) {
        // Declared lost, yet it arrived: reordering, not loss. RFC 9002 6.1 lets the threshold
        // adapt; it grows to the distance seen, so the same reordering is not called loss again.
        ++spurious_losses_;
        const uint64_t distance = sp.largest_acked - slot.pkt.packet_number + 1;
        packet_threshold_ = std::min(std::max(packet_threshold_, distance), kMaxPacketThreshold);
        // The time threshold (in eighths of an RTT) grows to cover how late it came, up to 2.
        const DurationNs base = std::max(rtt_.latest(), rtt_.smoothed());
        if (base > 0 && now > slot.pkt.time_sent) {
          const uint64_t need = (8 * (now - slot.pkt.time_sent) + base - 1) / base + 1;
          time_threshold_eighths_ = std::min<uint64_t>(std::max(time_threshold_eighths_, need), 16);
        }
        slot.state = SentState::kAcked;  // counted once
        // Undo (RFC 9438 4.9) once every loss behind the last window reduction proved spurious.
        if (slot.pkt.in_flight && reduction_time_ != kNever &&
            slot.pkt.time_sent <= reduction_time_ && ++reduction_spurious_ >= reduction_losses_) {
          if (cc_ptr_->undo_last_reduction()) ++undone_reductions_;
          reduction_time_ = kNever;
        }
        continue;
      }
      if (slot.state != SentState::kOutstanding) continue;
      const SentPacket& p = slot.pkt;
      settle(sp, i, SentState::kAcked);
      ++out.newly_acked;
      any_ack_eliciting |= p.ack_eliciting;
      if (!have_newest || p.packet_number > largest_newly.packet_number) largest_newly = p;
      have_newest = true;
      if (!p.prior_path) {
        if (p.in_flight) sampler_.on_packet_acked(p, now);
        cc_ptr_->on_packet_acked(p, now);
      }
      obs.on_packet_acked(space, p);
    }
  }
  if (out.newly_acked == 0) return out;  // duplicate ACK: nothing new (A.7)

  // RTT sample only from the largest acknowledged, when it is newly acked and something new was
  // ack-eliciting (section 5.1). Initial ACKs are not delayed by the peer (5.3).
  if (largest_newly.packet_number == largest && any_ack_eliciting && !largest_newly.prior_path) {
    const DurationNs latest = now > largest_newly.time_sent ? now - largest_newly.time_sent : 0;
    const bool first = !rtt_.has_sample();
    rtt_.on_sample(latest, space == PnSpace::kInitial ? 0 : ack_delay, handshake_confirmed_,
                   ack_path);
    if (first) rtt_.set_first_sample_time(now);
    out.rtt_updated = true;
  }

  // ECN-CE increase is a congestion signal (section 7.1).
  if (ecn != nullptr) {
    if (ecn->ecn_ce > sp.ecn.ecn_ce) cc_ptr_->on_congestion_event(largest_newly.time_sent, now);
    sp.ecn = *ecn;
  }

  out.newly_lost = detect_and_remove_lost(sp, space, now, obs, &out.persistent_congestion);

  // Reset PTO backoff unless a client still waits for the server to validate its address (6.2.1).
  if (peer_validated_) pto_count_ = 0;

  AckEvent ev;
  ev.now = now;
  ev.rs = sampler_.finish_ack(rtt_.has_sample() ? rtt_.min() : 0);
  if (out.rtt_updated) ev.rs.rtt = static_cast<int64_t>(rtt_.latest());
  ev.smoothed_rtt = rtt_.smoothed();
  ev.min_rtt = rtt_.has_sample() ? rtt_.min() : 0;
  ev.latest_rtt = rtt_.latest();
  ev.rtt_updated = out.rtt_updated;
  cc_ptr_->on_ack(ev);
  if (cc_ptr_->wants_app_limited()) sampler_.mark_app_limited(cc_ptr_->bytes_in_flight());

  sp.ring.compact(lost_kept_from(now));
  set_loss_detection_timer(now);
  return out;
}

uint32_t PathRecovery::detect_and_remove_lost(Space& sp, PnSpace space, TimeNs now,
                                              RecoveryObserver& obs, bool* persistent) {
  sp.loss_time = kNever;
  if (!sp.has_largest_acked) return 0;
  // loss_delay = max(kTimeThreshold * max(latest_rtt, smoothed_rtt), kGranularity)
  const DurationNs base = std::max(rtt_.latest(), rtt_.smoothed());
  const DurationNs loss_delay =
      std::max(base * time_threshold_eighths_ / kTimeThresholdDen, kGranularity);
  const bool time_reachable = now >= loss_delay;
  const TimeNs lost_send_time = time_reachable ? now - loss_delay : 0;
  // Persistent congestion duration (7.6.1).
  const DurationNs pc_duration =
      (rtt_.pto_base() + rtt_.max_ack_delay()) * kPersistentCongestionThreshold;

  uint32_t lost = 0;
  uint64_t lost_in_flight = 0;
  bool have_lost = false;
  TimeNs largest_lost_sent = 0;
  bool in_run = false;  // a run of lost ack-eliciting packets with nothing acked between them
  TimeNs run_start = 0;
  for (size_t i = 0; i < sp.ring.size(); ++i) {
    SentSlot& slot = sp.ring.at(i);
    const SentPacket& p = slot.pkt;
    if (p.packet_number > sp.largest_acked) break;
    if (slot.state == SentState::kAcked) {
      in_run = false;
      continue;
    }
    if (slot.state == SentState::kLost) continue;  // lost earlier: still part of a run
    const bool by_time = time_reachable && p.time_sent <= lost_send_time;
    const bool by_packets = sp.largest_acked >= p.packet_number + packet_threshold_;
    if (!by_time && !by_packets) {
      sp.loss_time = std::min(sp.loss_time, p.time_sent + loss_delay);
      in_run = false;
      continue;
    }
    settle(sp, i, SentState::kLost);
    ++lost;
    if (p.in_flight && !p.prior_path) {
      sampler_.on_packet_lost(p);
      largest_lost_sent = std::max(largest_lost_sent, p.time_sent);
      have_lost = true;
      ++lost_in_flight;
      if (reduction_time_ != kNever && p.time_sent <= reduction_time_) ++reduction_losses_;
    }
    if (!p.prior_path) cc_ptr_->on_packet_lost(p, now);
    obs.on_packet_lost(space, p);
    if (p.ack_eliciting && rtt_.has_sample() && p.time_sent > rtt_.first_sample_time()) {
      if (!in_run) {
        in_run = true;
        run_start = p.time_sent;
      } else if (p.time_sent - run_start > pc_duration) {
        *persistent = true;
      }
    }
  }
  if (have_lost) {
    const uint64_t before = cc_ptr_->reductions();
    cc_ptr_->on_congestion_event(largest_lost_sent, now);
    if (cc_ptr_->reductions() != before) {
      // A new reduction: the losses it answers are these; later ones sent before it join them.
      reduction_time_ = now;
      reduction_losses_ = lost_in_flight;
      reduction_spurious_ = 0;
    }
  }
  if (*persistent) {
    reduction_time_ = kNever;  // nothing to undo after persistent congestion
    cc_ptr_->on_persistent_congestion(now);
    rtt_.on_persistent_congestion();
  }
  return lost;
}

bool PathRecovery::any_ack_eliciting_in_flight() const {
  for (const Space& sp : spaces_)
    if (sp.ack_eliciting_in_flight > 0) return true;
  return false;
}

DurationNs PathRecovery::pto_duration(bool with_max_ack_delay) const {
  DurationNs d = backoff(rtt_.pto_base(), pto_count_);
  if (with_max_ack_delay) d = add_sat(d, backoff(rtt_.max_ack_delay(), pto_count_));
  return d;
}

void PathRecovery::set_loss_detection_timer(TimeNs now) const {
  timer_stale_ = false;
  // Time-threshold loss first (A.8 GetLossTimeAndSpace).
  TimeNs earliest = kNever;
  for (const Space& sp : spaces_) earliest = std::min(earliest, sp.loss_time);
  if (earliest != kNever) {
    timer_ = earliest;
    return;
  }
  if (amplification_blocked_) {  // the server could not send a probe anyway
    timer_ = kNever;
    return;
  }
  if (!any_ack_eliciting_in_flight()) {
    // Only a client whose address the server has not validated arms the anti-deadlock PTO.
    timer_ = peer_validated_ ? kNever : add_sat(now, pto_duration(false));
    return;
  }
  // GetPtoTimeAndSpace.
  TimeNs pto = kNever;
  for (int s = 0; s < kNumPnSpaces; ++s) {
    const Space& sp = spaces_[s];
    if (sp.ack_eliciting_in_flight == 0) continue;
    const bool app = s == idx(PnSpace::kApplicationData);
    if (app && !handshake_confirmed_) break;  // no app-data PTO before confirmation
    pto = std::min(pto, add_sat(sp.time_of_last_ack_eliciting, pto_duration(app)));
  }
  timer_ = pto;
}

TimeoutOutcome PathRecovery::on_loss_detection_timeout(TimeNs now, RecoveryObserver& obs) {
  TimeoutOutcome out;
  const TimeNs timer = loss_detection_timer();
  if (timer == kNever || now < timer) return out;  // early or disarmed: nothing to do
  TimeNs earliest = kNever;
  int loss_space = -1;
  for (int s = 0; s < kNumPnSpaces; ++s) {
    if (spaces_[s].loss_time < earliest) {
      earliest = spaces_[s].loss_time;
      loss_space = s;
    }
  }
  if (loss_space >= 0) {
    bool persistent = false;
    out.action = TimeoutAction::kLossDetected;
    out.space = static_cast<PnSpace>(loss_space);
    out.newly_lost = detect_and_remove_lost(spaces_[loss_space], out.space, now, obs, &persistent);
    spaces_[loss_space].ring.compact(lost_kept_from(now));
    set_loss_detection_timer(now);
    return out;
  }
  out.action = TimeoutAction::kSendProbe;
  if (!any_ack_eliciting_in_flight()) {
    // Client anti-deadlock: prove address ownership with Handshake, else Initial (6.2.2.1).
    out.space = has_handshake_keys_ ? PnSpace::kHandshake : PnSpace::kInitial;
    out.probe_packets = 1;
  } else {
    // The space whose PTO fired: the earliest one, as in GetPtoTimeAndSpace.
    TimeNs best = kNever;
    for (int s = 0; s < kNumPnSpaces; ++s) {
      const Space& sp = spaces_[s];
      if (sp.ack_eliciting_in_flight == 0) continue;
      const bool app = s == idx(PnSpace::kApplicationData);
      if (app && !handshake_confirmed_) break;
      const TimeNs t = add_sat(sp.time_of_last_ack_eliciting, pto_duration(app));
      if (t < best) {
        best = t;
        out.space = static_cast<PnSpace>(s);
      }
    }
    out.probe_packets = 2;  // "one or two"; two makes a single loss less costly (6.2.4)
  }
  ++pto_count_;
  set_loss_detection_timer(now);
  return out;
}

void PathRecovery::discard_space(PnSpace space, TimeNs now) {
  restart_space(space, now);
  spaces_[idx(space)].discarded = true;
}

void PathRecovery::restart_space(PnSpace space, TimeNs now) {
  Space& sp = spaces_[idx(space)];
  for (size_t i = 0; i < sp.ring.size(); ++i) {
    const SentSlot& slot = sp.ring.at(i);
    if (slot.state == SentState::kOutstanding && !slot.pkt.prior_path) {
      cc_ptr_->on_packet_discarded(slot.pkt);
    }
  }
  sp.ring.clear();
  sp.time_of_last_ack_eliciting = 0;
  sp.loss_time = kNever;
  sp.ack_eliciting_in_flight = 0;
  pto_count_ = 0;
  set_loss_detection_timer(now);
}

void PathRecovery::on_app_limited() { sampler_.mark_app_limited(cc_ptr_->bytes_in_flight()); }

void PathRecovery::set_amplification_blocked(bool v, TimeNs now) {
  amplification_blocked_ = v;
  set_loss_detection_timer(now);
}

bool PathRecovery::can_send(uint32_t bytes) const {
  return spaces_[idx(PnSpace::kApplicationData)].ring.has_room() && cc_ptr_->can_send(bytes);
}

TimeNs PathRecovery::next_send_time(TimeNs now, uint32_t bytes) {
  pacer_.set_rate(static_cast<uint64_t>(cc_ptr_->pacing_rate(now)));
  return pacer_.next_send_time(now, bytes);
}

}  // namespace camp::quic
