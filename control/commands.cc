#include "control/commands.h"

#include <rte_log.h>


namespace camp::control {
namespace {

// Index i holds the name of DPDK log level i + 1 (RTE_LOG_EMERG is 1, RTE_LOG_DEBUG is 8).
constexpr std::string_view kLevelNames[] = {"emerg",   "alert",  "crit", "err",
                                            "warning", "notice", "info", "debug"};
static_assert(std::size(kLevelNames) == RTE_LOG_DEBUG);

std::string level_list() {
  std::string out;
  for (const auto n : kLevelNames) out += std::string(out.empty() ? "" : ", ") + std::string(n);
  return out;
}

}  // namespace

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string known_keys() {
  std::string out;
  for (const auto& k : kWorkerKeys) out += std::string(k.name) + ", ";
  return out + std::string(kLogLevelKey);
}

std::string known_commands() {
  return "status, ports, workers, stats, conns, conn, paths, path, set, stop, help";
}

std::string help_text() {
  std::string out =
      "commands:\n"
      "  status             version, pid, uptime, endpoint, UDP port, ports, workers, EAL "
      "args, totals\n"
      "  ports              every port: driver, MAC, addresses, queues, offloads, link, "
      "counters\n"
      "  workers            every worker: lcore, queues, counters, current settings\n"
      "  stats [--json]     totals, per-worker counters, drops by reason, port counters\n"
      "  stats reset        zero every worker's counters\n"
      "  conns [--json]     every live connection: id, worker, role, state, peer, RTT, cwnd,\n"
      "                     bytes and packets each way, losses, streams, key generation, age\n"
      "  conn ID [--json]   every figure of one connection (ID as conns lists it: WORKER:N)\n"
      "  paths [ID] [--json]  every path of every connection (or of one): path ID, state,\n"
      "                     4-tuple, status, smoothed RTT, cwnd, pacing rate, bytes and\n"
      "                     packets each way, losses, time since the last ACK\n"
      "  path ID PATH_ID available|backup|abandon\n"
      "                     tell the peer a path is available or backup (PATH_STATUS), or\n"
      "                     close it (PATH_ABANDON); multipath connections only\n"
      "  set KEY VALUE      change a setting on every worker (or the engine's log level)\n"
      "  stop               stop campd\n"
      "  help               this text\n"
      "keys:\n";
  for (const auto& k : kWorkerKeys) {
    std::string line = "  " + std::string(k.name);
    line.resize(21, ' ');
    out += line + std::string(k.help) + " [" + worker_value_domain(k) + ", default " +
           worker_value_text(k, k.def) + "]\n";
  }
  std::string line = "  " + std::string(kLogLevelKey);
  line.resize(21, ' ');
  out += line + "DPDK's global log level: " + level_list() + " or 1..8\n";
  return out;
}

bool parse_log_level(std::string_view text, uint32_t* level, std::string* err) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<uint32_t>(i + 1);
      return true;
    }
  }
  uint32_t v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v, 10);
  if (!text.empty() && ec == std::errc() && p == end && v >= RTE_LOG_EMERG && v <= RTE_LOG_DEBUG) {
    *level = v;
    return true;
  }
  *err = "log_level must be one of " + level_list() + " or 1..8 (got '" + std::string(text) + "')";
  return false;
}

std::string_view log_level_name(uint32_t level) {
  if (level >= RTE_LOG_EMERG && level <= RTE_LOG_DEBUG) return kLevelNames[level - 1];
  return "unknown";
}

uint32_t current_log_level() { return rte_log_get_global_level(); }

void set_log_level(uint32_t level) { rte_log_set_global_level(level); }

}  // namespace camp::control
