#include "dataplane/quic/conn/scheduler.h"

namespace camp::quic {

namespace {

// Backup paths (draft-ietf-quic-multipath-21 3.3) are candidates only when no available one is.
bool use_backup(std::span<const PathView> paths) {
  for (const PathView& p : paths) {
    if (p.available) return false;
  }
  return true;
}

bool eligible(const PathView& p, bool backup) {
  return p.can_send && (backup ? p.backup : p.available);
}

}  // namespace

const char* to_string(SchedulerKind k) {
  switch (k) {
    case SchedulerKind::kMinRtt: return "minrtt";
    case SchedulerKind::kRoundRobin: return "rr";
    case SchedulerKind::kRedundant: return "redundant";
  }
  return "unknown";
}

std::optional<SchedulerKind> scheduler_kind_by_name(std::string_view name) {
  if (name == "minrtt") return SchedulerKind::kMinRtt;
  if (name == "rr" || name == "roundrobin") return SchedulerKind::kRoundRobin;
  if (name == "redundant") return SchedulerKind::kRedundant;
  return std::nullopt;
}

void Scheduler::fill(PacketFiller& f, bool mix_objects) {
  bool added = false;
  while (f.has_datagram() && f.add_datagram()) {
    added = true;
    if (!mix_objects) return;
  }
  if (added && !mix_objects) return;
  while (f.has_stream_data() && f.add_stream_data(std::nullopt)) {
    if (!mix_objects) return;
  }
}

std::optional<size_t> MinRttScheduler::pick_path(std::span<const PathView> paths) {
  const bool backup = use_backup(paths);
  std::optional<size_t> best;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!eligible(paths[i], backup)) continue;
    if (!best || paths[i].smoothed_rtt < paths[*best].smoothed_rtt) best = i;
  }
  return best;
}

std::optional<size_t> RoundRobinScheduler::pick_path(std::span<const PathView> paths) {
  const bool backup = use_backup(paths);
  // The eligible path with the smallest ID above the last one served, else the smallest.
  std::optional<size_t> next, first;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!eligible(paths[i], backup)) continue;
    const uint32_t id = paths[i].path_id;
    if (!first || id < paths[*first].path_id) first = i;
    if (last_ != UINT32_MAX && id > last_ && (!next || id < paths[*next].path_id)) next = i;
  }
  std::optional<size_t> pick = next ? next : first;
  if (pick) last_ = paths[*pick].path_id;
  return pick;
}

bool Scheduler::would_pick(std::span<const PathView> paths) const {
  const bool backup = use_backup(paths);
  for (const PathView& p : paths) {
    if (eligible(p, backup)) return true;
  }
  return false;
}

bool RedundantScheduler::would_pick(std::span<const PathView> paths) const {
  const bool backup = use_backup(paths);
  bool any = false;
  for (const PathView& p : paths) {
    if (!(backup ? p.backup : p.available)) continue;
    if (!p.can_send) return false;
    any = true;
  }
  return any;
}

std::optional<size_t> RedundantScheduler::pick_path(std::span<const PathView> paths) {
  if (!would_pick(paths)) return std::nullopt;
  return min_rtt_.pick_path(paths);
}

bool may_carry_data(std::span<const PathView> paths, size_t i) {
  return eligible(paths[i], use_backup(paths));
}

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind k) {
  switch (k) {
    case SchedulerKind::kRoundRobin: return std::make_unique<RoundRobinScheduler>();
    case SchedulerKind::kRedundant: return std::make_unique<RedundantScheduler>();
    default: return std::make_unique<MinRttScheduler>();
  }
}

}  // namespace camp::quic
