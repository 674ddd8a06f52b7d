// Settings a worker applies between bursts, changed at run time by `campctl set KEY VALUE`.
// One table gives each key's name, range and default, so config, campctl and the workers agree.
// A key with value names (the multipath scheduler) takes a name; its value is the name's index.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace camp {

enum class WorkerKey : uint8_t {
  idle_polls,
  idle_sleep_us,
  telemetry_ms,
  rx_burst,
  scheduler,
  failover_action,
  count
};

// The names of the endpoint-level keys' values, in value order. The QUIC endpoint maps them onto
// its own enums (SchedulerKind, FailoverAction) and checks the order there.
inline constexpr std::string_view kSchedulerNames[] = {"minrtt", "rr", "redundant"};
inline constexpr std::string_view kFailoverActionNames[] = {"abandon", "backup"};

struct WorkerKeyInfo {
  WorkerKey key;
  std::string_view name;
  uint64_t min, max, def;
  std::string_view help;
  std::span<const std::string_view> names = {};  // empty: a decimal number
};

inline constexpr WorkerKeyInfo kWorkerKeys[] = {
    {WorkerKey::idle_polls, "idle_polls", 0, 1000000000, 256,
     "empty rx polls in a row before an idle worker starts sleeping (0 = sleep at once)"},
    {WorkerKey::idle_sleep_us, "idle_sleep_us", 0, 1000000, 200,
     "how long an idle worker sleeps between polls (0 = busy poll, never sleep)"},
    {WorkerKey::telemetry_ms, "telemetry_ms", 10, 60000, 250,
     "how often a worker pushes its counters to the control thread"},
    {WorkerKey::rx_burst, "rx_burst", 1, 64, 32, "packets taken per rx burst"},
    {WorkerKey::scheduler, "scheduler", 0, std::size(kSchedulerNames) - 1, 0,
     "multipath scheduler of new and live QUIC connections", kSchedulerNames},
    {WorkerKey::failover_action, "failover_action", 0, std::size(kFailoverActionNames) - 1, 0,
     "what becomes of a multipath QUIC path that stops delivering", kFailoverActionNames},
};
static_assert(std::size(kWorkerKeys) == static_cast<size_t>(WorkerKey::count));

inline std::optional<WorkerKey> worker_key_by_name(std::string_view name) {
  for (const auto& k : kWorkerKeys)
    if (k.name == name) return k.key;
  return std::nullopt;
}
inline const WorkerKeyInfo& worker_key_info(WorkerKey k) {
  return kWorkerKeys[static_cast<size_t>(k)];
}

// A value as config, campctl and telemetry show it: the name, or the number.
inline std::string worker_value_text(const WorkerKeyInfo& k, uint64_t v) {
  if (!k.names.empty()) return v < k.names.size() ? std::string(k.names[v]) : "?";
  return std::to_string(v);
}
// "minrtt, rr, redundant", or "0..64".
inline std::string worker_value_domain(const WorkerKeyInfo& k) {
  if (k.names.empty()) return std::to_string(k.min) + ".." + std::to_string(k.max);
  std::string out;
  for (const auto n : k.names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}
// A name of the key's (for keys with names) or a decimal integer in [min, max]. False with a
// message naming `where` (the key as the user wrote it: "scheduler", "[workers] rx_burst").
inline bool parse_worker_value(const WorkerKeyInfo& k, std::string_view where,
                               std::string_view text, uint64_t* out, std::string* err) {
  const std::string w(where), t(text);
  if (!k.names.empty()) {
    for (size_t i = 0; i < k.names.size(); ++i) {
      if (k.names[i] == text) return *out = i, true;
    }
    *err = w + " must be one of " + worker_value_domain(k) + " (got '" + t + "')";
    return false;
  }
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v, 10);
  if (text.empty() || ec == std::errc::invalid_argument || p != end) {
    *err = "value '" + t + "' for " + w + " is not a number (want " + worker_value_domain(k) + ")";
    return false;
  }
  if (ec == std::errc::result_out_of_range || v < k.min || v > k.max) {
    *err = w + " must be in " + worker_value_domain(k) + " (got " + t + ")";
    return false;
  }
  *out = v;
  return true;
}

struct WorkerSettings {
  uint64_t values[static_cast<size_t>(WorkerKey::count)] = {};
  WorkerSettings() {
    for (const auto& k : kWorkerKeys) values[static_cast<size_t>(k.key)] = k.def;
  }
  uint64_t get(WorkerKey k) const { return values[static_cast<size_t>(k)]; }
  void set(WorkerKey k, uint64_t v) { values[static_cast<size_t>(k)] = v; }
};

}  // namespace camp
