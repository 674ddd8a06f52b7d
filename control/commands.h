// The words of the control language: splitting a command line, checking `set` values against
// worker_settings.h's table, the engine-wide log_level key, and the help text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/worker_settings.h"

namespace camp::control {

inline constexpr std::string_view kLogLevelKey = "log_level";

// Splits on spaces and tabs; empty words are dropped. The views point into `line`.
std::vector<std::string_view> split_words(std::string_view line);

// "idle_polls, idle_sleep_us, ..., log_level"
std::string known_keys();
// "status, ports, workers, stats, conns, conn, set, stop, help"
std::string known_commands();
std::string help_text();

// emerg, alert, crit, err, warning, notice, info, debug, or 1..8 (DPDK's RTE_LOG_* levels).
bool parse_log_level(std::string_view text, uint32_t* level, std::string* err);
std::string_view log_level_name(uint32_t level);
uint32_t current_log_level();
void set_log_level(uint32_t level);

}  // namespace camp::control
