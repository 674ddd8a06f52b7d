// Settings a worker applies between bursts, changed at run time by `campctl set KEY VALUE`.
// One table gives each key's name, range and default, so config, campctl and the workers agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace camp {

enum class WorkerKey : uint8_t { idle_polls, idle_sleep_us, telemetry_ms, rx_burst, count };

struct WorkerKeyInfo {
  WorkerKey key;
  std::string_view name;
  uint64_t min, max, def;
  std::string_view help;
};

inline constexpr WorkerKeyInfo kWorkerKeys[] = {
    {WorkerKey::idle_polls, "idle_polls", 0, 1000000000, 256,
     "empty rx polls in a row before an idle worker starts sleeping (0 = sleep at once)"},
    {WorkerKey::idle_sleep_us, "idle_sleep_us", 0, 1000000, 200,
     "how long an idle worker sleeps between polls (0 = busy poll, never sleep)"},
    {WorkerKey::telemetry_ms, "telemetry_ms", 10, 60000, 250,
     "how often a worker pushes its counters to the control thread"},
    {WorkerKey::rx_burst, "rx_burst", 1, 64, 32, "packets taken per rx burst"},
};

inline std::optional<WorkerKey> worker_key_by_name(std::string_view name) {
  for (const auto& k : kWorkerKeys)
    if (k.name == name) return k.key;
  return std::nullopt;
}
inline const WorkerKeyInfo& worker_key_info(WorkerKey k) {
  return kWorkerKeys[static_cast<size_t>(k)];
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
