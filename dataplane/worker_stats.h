// Counters one worker keeps for itself (no sharing, no atomics) and sends to the control thread
// as a snapshot over its telemetry queue.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/drop_reason.h"

namespace camp {

struct WorkerStats {
  uint64_t rx_packets = 0;   // frames taken from rx bursts
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;   // frames the port accepted
  uint64_t tx_bytes = 0;
  uint64_t arp_replies = 0;
  uint64_t arp_replies_seen = 0;  // ARP replies addressed to us (counted, nothing to do yet)
  uint64_t icmp_echo_replies = 0;
  uint64_t icmpv6_echo_replies = 0;
  uint64_t nd_advertisements = 0;
  uint64_t udp_rx = 0;        // datagrams handed to the endpoint
  uint64_t udp_tx = 0;        // datagrams the endpoint sent
  uint64_t polls = 0;         // rx polls made
  uint64_t idle_polls = 0;    // polls that found nothing
  uint64_t sleeps = 0;        // idle backoff sleeps taken
  uint64_t commands = 0;      // control commands applied
  // Per-core steering (drivers/dpdk/steer.h): datagrams whose connection ID names another worker.
  uint64_t steered_out = 0;      // handed to their owner's ring
  uint64_t steered_in = 0;       // taken from other workers' rings
  uint64_t steer_held = 0;       // found their ring full and waited here for room
  uint64_t steer_rx_paused = 0;  // turns that skipped rx polling because packets were held
  uint64_t steer_drained = 0;    // still held or ringed at quit, freed then
  std::array<uint64_t, kDropReasonCount> drops{};

  void drop(DropReason r, uint64_t n = 1) { drops[static_cast<size_t>(r)] += n; }
  uint64_t dropped() const {
    uint64_t s = 0;
    for (uint64_t d : drops) s += d;
    return s;
  }
  WorkerStats& operator+=(const WorkerStats& o);
};

inline WorkerStats& WorkerStats::operator+=(const WorkerStats& o) {
  rx_packets += o.rx_packets;
  rx_bytes += o.rx_bytes;
  tx_packets += o.tx_packets;
  tx_bytes += o.tx_bytes;
  arp_replies += o.arp_replies;
  arp_replies_seen += o.arp_replies_seen;
  icmp_echo_replies += o.icmp_echo_replies;
  icmpv6_echo_replies += o.icmpv6_echo_replies;
  nd_advertisements += o.nd_advertisements;
  udp_rx += o.udp_rx;
  udp_tx += o.udp_tx;
  polls += o.polls;
  idle_polls += o.idle_polls;
  sleeps += o.sleeps;
  commands += o.commands;
  steered_out += o.steered_out;
  steered_in += o.steered_in;
  steer_held += o.steer_held;
  steer_rx_paused += o.steer_rx_paused;
  steer_drained += o.steer_drained;
  for (size_t i = 0; i < kDropReasonCount; ++i) drops[i] += o.drops[i];
  return *this;
}

}  // namespace camp
