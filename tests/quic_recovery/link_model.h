// A tiny bottleneck for virtual-time tests: one FIFO link of fixed rate with a drop-tail queue,
// plus a fixed propagation round trip. The receiver acknowledges every packet at once.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>

#include "recovery_test_util.h"

namespace camp::quic::test {

struct Link {
  double rate;              // bytes per second
  DurationNs prop_rtt;      // round trip without queueing
  uint64_t queue_limit;     // bytes that may wait at the bottleneck
  TimeNs free_at = 0;       // when the link finishes what it already holds

  // When the ACK for a packet sent now arrives, or kNever when the queue drops it.
  TimeNs transmit(TimeNs now, uint32_t bytes) {
    const TimeNs start = std::max(now, free_at);
    const double backlog = static_cast<double>(start - now) * rate / 1e9;
    if (backlog > static_cast<double>(queue_limit)) return kNever;
    free_at = start + static_cast<DurationNs>(static_cast<double>(bytes) * 1e9 / rate);
    return free_at + prop_rtt;
  }
};

// A bulk sender driving PathRecovery over a Link: it sends whenever the window and the pacer let
// it, processes ACKs in arrival order and serves the loss detection timer.
struct BulkSim {
  PathRecovery& pr;
  Link link;
  uint32_t mds = 1200;
  TimeNs now = 0;
  uint64_t next_pn = 0;
  uint64_t sent = 0, dropped = 0;
  struct PendingAck {
    TimeNs at;
    uint64_t pn;
  };
  std::deque<PendingAck> acks;
  RecordingObserver obs;
  std::function<void(TimeNs)> on_step;  // called after every event

  void send_one() {
    const SentPacket p = data_packet(next_pn, now, mds);
    if (pr.on_packet_sent(PnSpace::kApplicationData, p) != RecoveryError::kOk) return;
    ++sent;
    const TimeNs at = link.transmit(now, mds);
    if (at == kNever)
      ++dropped;
    else
      acks.push_back({at, next_pn});
    ++next_pn;
  }

  void run_until(TimeNs end) {
    while (now < end) {
      const TimeNs send_at = pr.can_send(mds) ? pr.next_send_time(now, mds) : kNever;
      const TimeNs ack_at = acks.empty() ? kNever : acks.front().at;
      const TimeNs timer = pr.loss_detection_timer();
      const TimeNs t = std::min({send_at, ack_at, timer});
      if (t == kNever || t > end) {
        now = end;
        break;
      }
      now = std::max(now, t);
      if (t == ack_at) {
        const AckRange r[] = {{acks.front().pn, acks.front().pn}};
        acks.pop_front();
        pr.on_ack_received(PnSpace::kApplicationData, r, 0, now, obs);
      } else if (t == timer) {
        const TimeoutOutcome o = pr.on_loss_detection_timeout(now, obs);
        for (uint32_t i = 0; i < o.probe_packets; ++i) send_one();
      } else {
        send_one();
      }
      if (on_step) on_step(now);
    }
  }
};

}  // namespace camp::quic::test
