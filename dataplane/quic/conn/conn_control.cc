// QuicEndpoint's side of the control plane's commands: campctl set scheduler / failover_action
// and campctl path. Run on the worker between bursts; frames they queue leave at the next
// on_timer, which the driver runs at once after a command.
#include <algorithm>
#include <array>
#include <iterator>

#include "dataplane/conn_summary.h"
#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

// The settings table's value names are these enums' values, in order (worker_settings.h).
static_assert(static_cast<uint64_t>(SchedulerKind::kMinRtt) == 0 &&
              static_cast<uint64_t>(SchedulerKind::kRoundRobin) == 1 &&
              static_cast<uint64_t>(SchedulerKind::kRedundant) == 2 &&
              std::size(kSchedulerNames) == std::size(kSchedulerKinds));
static_assert(static_cast<uint64_t>(FailoverAction::kAbandon) == 0 &&
              static_cast<uint64_t>(FailoverAction::kBackup) == 1 &&
              std::size(kFailoverActionNames) == 2);

void QuicEndpoint::apply_setting(WorkerKey key, uint64_t value) {
  if (key == WorkerKey::scheduler && value < std::size(kSchedulerKinds)) {
    cfg_.conn.scheduler = kSchedulerKinds[value];
    for (const uint32_t h : live_) slots_[h].conn->set_scheduler(cfg_.conn.scheduler);
  } else if (key == WorkerKey::failover_action && value < std::size(kFailoverActionNames)) {
    cfg_.conn.failover_action = static_cast<FailoverAction>(value);
    for (const uint32_t h : live_) slots_[h].conn->set_failover_action(cfg_.conn.failover_action);
  }
}

PathCommandStatus QuicEndpoint::path_command(uint64_t conn, uint32_t path_id, PathAction action,
                                             uint64_t now_ns) {
  Connection* c = find(conn);
  if (!c) return PathCommandStatus::no_connection;
  if (!c->multipath()) return PathCommandStatus::not_multipath;
  std::array<Connection::PathInfo, ConnSummary::kMaxPaths> paths;
  const size_t n = std::min(c->paths(paths), paths.size());
  size_t open = 0;
  bool found = false;
  for (size_t i = 0; i < n; ++i) {
    if (paths[i].abandoned) continue;
    ++open;
    found = found || paths[i].path_id == path_id;
  }
  if (!found) return PathCommandStatus::no_path;
  bool done = false;
  if (action == PathAction::abandon) {
    if (open < 2) return PathCommandStatus::last_path;
    done = c->abandon_path(path_id, path_abandon_error::kApplicationAbandonPath, now_ns);
  } else {
    done = c->set_path_status(path_id, action == PathAction::available);
  }
  return done ? PathCommandStatus::ok : PathCommandStatus::no_path;
}

}  // namespace camp::quic
