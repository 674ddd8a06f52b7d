// How the control plane writes counters: one table of WorkerStats fields so text, JSON and
// rte_telemetry name every counter the same way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/control_plane.h"
#include "dataplane/worker_stats.h"

namespace camp::control {

struct StatField {
  std::string_view name;
  uint64_t WorkerStats::*member;
};

// In output order; `dropped` and `drops` are written after tx_bytes (see write_counters_json).
inline constexpr StatField kStatFields[] = {
    {"rx_packets", &WorkerStats::rx_packets},
    {"rx_bytes", &WorkerStats::rx_bytes},
    {"tx_packets", &WorkerStats::tx_packets},
    {"tx_bytes", &WorkerStats::tx_bytes},
    {"arp_replies", &WorkerStats::arp_replies},
    {"arp_replies_seen", &WorkerStats::arp_replies_seen},
    {"icmp_echo_replies", &WorkerStats::icmp_echo_replies},
    {"icmpv6_echo_replies", &WorkerStats::icmpv6_echo_replies},
    {"nd_advertisements", &WorkerStats::nd_advertisements},
    {"udp_rx", &WorkerStats::udp_rx},
    {"udp_tx", &WorkerStats::udp_tx},
    {"polls", &WorkerStats::polls},
    {"idle_polls", &WorkerStats::idle_polls},
    {"sleeps", &WorkerStats::sleeps},
    {"commands", &WorkerStats::commands},
    {"steered_out", &WorkerStats::steered_out},
    {"steered_in", &WorkerStats::steered_in},
    {"steer_held", &WorkerStats::steer_held},
    {"steer_rx_paused", &WorkerStats::steer_rx_paused},
    {"steer_drained", &WorkerStats::steer_drained},
};

WorkerStats total_of(const std::vector<WorkerTelemetry>& per_worker);

// JSON string literal for s, quotes included.
std::string json_string(std::string_view s);
// `"name":value,...` for every counter, dropped and drops{} included (no braces around).
void write_counters_json(std::string& out, const WorkerStats& s);

// The whole stats report; stale[i] (may be shorter than per_worker) marks worker i stale and
// age_s[i] says how old its numbers are.
std::string stats_json(const std::vector<WorkerTelemetry>& per_worker,
                       const std::vector<uint8_t>& stale, const EngineInfo& info);
std::string stats_text(const std::vector<WorkerTelemetry>& per_worker,
                       const std::vector<uint8_t>& stale, const std::vector<double>& age_s,
                       const EngineInfo& info);

// "worker 1 did not answer (numbers from 0.3 s ago)" lines for the stale workers, or "".
std::string stale_note(const std::vector<uint8_t>& stale, const std::vector<double>& age_s);
// The lcore of worker w from info, or -1 when info does not list it.
long lcore_of(const EngineInfo& info, size_t w);
// "idle_polls=256 idle_sleep_us=200 ..."
std::string settings_text(const WorkerSettings& s);
// Counters for one port through the callback; false when there is none or it fails.
bool port_counters(const EngineInfo& info, uint16_t port, PortCounters* c);

}  // namespace camp::control
