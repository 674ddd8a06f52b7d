#include "control/stats_format.h"

#include <cinttypes>
#include <cstdio>

namespace camp::control {
namespace {

void add_u64(std::string& out, std::string_view name, uint64_t v) {
  out += json_string(name);
  out += ':';
  out += std::to_string(v);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

bool is_stale(const std::vector<uint8_t>& stale, size_t w) { return w < stale.size() && stale[w]; }

// " steered out N in M" for a worker that steered anything, else "".
std::string steer_suffix(const WorkerStats& s) {
  if (!s.steered_out && !s.steered_in) return {};
  return " steered out " + std::to_string(s.steered_out) + " in " + std::to_string(s.steered_in);
}

}  // namespace

WorkerStats total_of(const std::vector<WorkerTelemetry>& per_worker) {
  WorkerStats t;
  for (const auto& w : per_worker) t += w.stats;
  return t;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

void write_counters_json(std::string& out, const WorkerStats& s) {
  bool first = true;
  for (const auto& f : kStatFields) {
    if (!first) out += ',';
    first = false;
    add_u64(out, f.name, s.*f.member);
    if (f.member == &WorkerStats::tx_bytes) {
      out += ',';
      add_u64(out, "dropped", s.dropped());
      out += ",\"drops\":{";
      for (size_t i = 0; i < kDropReasonCount; ++i) {
        if (i) out += ',';
        add_u64(out, drop_reason_name(static_cast<DropReason>(i)), s.drops[i]);
      }
      out += '}';
    }
  }
}

long lcore_of(const EngineInfo& info, size_t w) {
  for (const auto& wi : info.workers)
    if (wi.id == w) return static_cast<long>(wi.lcore);
  return -1;
}

bool port_counters(const EngineInfo& info, uint16_t port, PortCounters* c) {
  *c = PortCounters{};
  return info.port_counters && info.port_counters(port, *c);
}

std::string settings_text(const WorkerSettings& s) {
  std::string out;
  for (const auto& k : kWorkerKeys) {
    if (!out.empty()) out += ' ';
    out += k.name;
    out += '=';
    out += worker_value_text(k, s.get(k.key));
  }
  return out;
}

std::string stale_note(const std::vector<uint8_t>& stale, const std::vector<double>& age_s) {
  std::string out;
  for (size_t w = 0; w < stale.size(); ++w) {
    if (!stale[w]) continue;
    const double age = w < age_s.size() ? age_s[w] : -1;
    out += "note: worker " + std::to_string(w) + " did not answer in time; ";
    out += age < 0 ? std::string("it has not reported yet (numbers shown as 0)\n")
                   : "its numbers are from " + fmt("%.1f", age) + " s ago\n";
  }
  return out;
}

std::string stats_json(const std::vector<WorkerTelemetry>& per_worker,
                       const std::vector<uint8_t>& stale, const EngineInfo& info) {
  std::string out = "{";
  write_counters_json(out, total_of(per_worker));
  out += ",\"workers\":[";
  for (size_t w = 0; w < per_worker.size(); ++w) {
    if (w) out += ',';
    out += "{\"worker\":" + std::to_string(w);
    out += ",\"lcore\":" + std::to_string(lcore_of(info, w));
    out += std::string(",\"stale\":") + (is_stale(stale, w) ? "true" : "false") + ',';
    write_counters_json(out, per_worker[w].stats);
    out += ",\"settings\":{";
    bool first = true;
    for (const auto& k : kWorkerKeys) {
      if (!first) out += ',';
      first = false;
      const uint64_t v = per_worker[w].settings.get(k.key);
      if (k.names.empty())
        add_u64(out, k.name, v);
      else
        out += json_string(k.name) + ':' + json_string(worker_value_text(k, v));
    }
    out += "}}";
  }
  out += "],\"ports\":[";
  for (size_t i = 0; i < info.ports.size(); ++i) {
    const PortInfo& p = info.ports[i];
    PortCounters c;
    const bool have = port_counters(info, p.port_id, &c);
    if (i) out += ',';
    out += "{\"port\":" + std::to_string(p.port_id) + ",\"name\":" + json_string(p.name) +
           ",\"driver\":" + json_string(p.driver) +
           ",\"counters_available\":" + (have ? "true" : "false") +
           ",\"link_up\":" + (c.link_up ? "true" : "false") + ',';
    add_u64(out, "link_speed_mbps", c.link_speed_mbps);
    const std::pair<const char*, uint64_t> fields[] = {
        {"ipackets", c.ipackets}, {"opackets", c.opackets},  {"ibytes", c.ibytes},
        {"obytes", c.obytes},     {"imissed", c.imissed},    {"ierrors", c.ierrors},
        {"oerrors", c.oerrors},   {"rx_nombuf", c.rx_nombuf}};
    for (const auto& [name, v] : fields) {
      out += ',';
      add_u64(out, name, v);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string stats_text(const std::vector<WorkerTelemetry>& per_worker,
                       const std::vector<uint8_t>& stale, const std::vector<double>& age_s,
                       const EngineInfo& info) {
  const WorkerStats t = total_of(per_worker);
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "rx %" PRIu64 " packets (%" PRIu64 " bytes), tx %" PRIu64 " packets (%" PRIu64
                " bytes), dropped %" PRIu64 "\n",
                t.rx_packets, t.rx_bytes, t.tx_packets, t.tx_bytes, t.dropped());
  out += buf;
  std::snprintf(buf, sizeof buf,
                "udp rx %" PRIu64 " tx %" PRIu64 "; replies: arp %" PRIu64 ", icmp echo %" PRIu64
                ", icmpv6 echo %" PRIu64 ", nd %" PRIu64 "; arp replies seen %" PRIu64 "\n",
                t.udp_rx, t.udp_tx, t.arp_replies, t.icmp_echo_replies, t.icmpv6_echo_replies,
                t.nd_advertisements, t.arp_replies_seen);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "polls %" PRIu64 " (idle %" PRIu64 "), sleeps %" PRIu64 ", commands %" PRIu64 "\n",
                t.polls, t.idle_polls, t.sleeps, t.commands);
  out += buf;
  // Only engines with several workers steer; a line of zeros would be noise everywhere else.
  if (t.steered_out || t.steered_in || t.steer_held || t.steer_rx_paused || t.steer_drained) {
    std::snprintf(buf, sizeof buf,
                  "steering: out %" PRIu64 " in %" PRIu64 ", held %" PRIu64 ", rx paused %" PRIu64
                  " turns, drained at quit %" PRIu64 "\n",
                  t.steered_out, t.steered_in, t.steer_held, t.steer_rx_paused, t.steer_drained);
    out += buf;
  }
  if (t.dropped() == 0) {
    out += "drops: none\n";
  } else {
    out += "drops:\n";
    for (size_t i = 0; i < kDropReasonCount; ++i) {
      if (!t.drops[i]) continue;
      std::snprintf(buf, sizeof buf, "  %-26s %" PRIu64 "\n",
                    std::string(drop_reason_name(static_cast<DropReason>(i))).c_str(), t.drops[i]);
      out += buf;
    }
  }
  for (size_t w = 0; w < per_worker.size(); ++w) {
    const WorkerStats& s = per_worker[w].stats;
    std::snprintf(buf, sizeof buf,
                  "worker %zu (lcore %ld): rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
                  " udp rx %" PRIu64 " tx %" PRIu64 "%s%s\n",
                  w, lcore_of(info, w), s.rx_packets, s.tx_packets, s.dropped(), s.udp_rx, s.udp_tx,
                  steer_suffix(s).c_str(), is_stale(stale, w) ? " [stale]" : "");
    out += buf;
  }
  for (const PortInfo& p : info.ports) {
    PortCounters c;
    if (!port_counters(info, p.port_id, &c)) {
      std::snprintf(buf, sizeof buf, "port %u %s: counters not available\n", p.port_id,
                    p.name.c_str());
    } else {
      std::snprintf(buf, sizeof buf,
                    "port %u %s: ipackets %" PRIu64 " opackets %" PRIu64 " ibytes %" PRIu64
                    " obytes %" PRIu64 " imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
                    " rx_nombuf %" PRIu64 "\n",
                    p.port_id, p.name.c_str(), c.ipackets, c.opackets, c.ibytes, c.obytes,
                    c.imissed, c.ierrors, c.oerrors, c.rx_nombuf);
    }
    out += buf;
  }
  out += stale_note(stale, age_s);
  return out;
}

std::string format_stats(const std::vector<WorkerTelemetry>& per_worker, const EngineInfo& info,
                         bool json) {
  return json ? stats_json(per_worker, {}, info) : stats_text(per_worker, {}, {}, info);
}

}  // namespace camp::control
