// The two single-producer single-consumer queues between the control thread and one worker:
// commands in, telemetry out, plus one preallocated buffer for connection listings. The worker
// polls its command queue between bursts and never waits: if the telemetry queue is full it skips
// that snapshot.
#pragma once

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>

#include "dataplane/conn_summary.h"
#include "dataplane/endpoint.h"
#include "dataplane/worker_settings.h"
#include "dataplane/worker_stats.h"

namespace camp {

struct WorkerCommand {
  // conns: fill the channel's ConnSnapshot (value: one connection id, or 0 for all).
  // path: Endpoint::path_command on connection `value`, path `path_id`, `action`.
  enum class Op : uint8_t { snapshot, set, reset_stats, conns, path } op = Op::snapshot;
  WorkerKey key = WorkerKey::count;
  PathAction action = PathAction::available;
  uint32_t path_id = 0;
  uint64_t value = 0;
  uint64_t seq = 0;  // echoed in the telemetry that answers it
};

struct WorkerTelemetry {
  uint32_t worker = 0;
  uint64_t seq = 0;       // seq of the command answered; 0 for a periodic push
  uint64_t time_ns = 0;   // worker's clock when taken
  WorkerStats stats;
  WorkerSettings settings;
  PathCommandStatus status = PathCommandStatus::ok;  // a path command's outcome
};

// The answer to a conns command, too big for the telemetry queue: one preallocated buffer per
// worker. The worker writes the records, then publishes the command's seq (release); the control
// side reads them once it sees its own seq (acquire) and sends the next conns command only after
// it is done reading, so the worker never rewrites records being read (commands run in order).
struct ConnSnapshot {
  static constexpr size_t kCapacity = 256;
  std::atomic<uint64_t> seq{0};  // the conns command answered last
  uint64_t time_ns = 0;          // worker's clock when taken
  uint64_t matched = 0;          // connections that matched; more than count: the list was cut
  uint32_t count = 0;            // records filled
  ConnSummary records[kCapacity];
};

struct WorkerChannel {
  boost::lockfree::spsc_queue<WorkerCommand, boost::lockfree::capacity<256>> commands;
  boost::lockfree::spsc_queue<WorkerTelemetry, boost::lockfree::capacity<64>> telemetry;
  ConnSnapshot conns;
};

struct ServiceResult {
  unsigned applied = 0;  // commands taken from the queue
  bool run_timer = false;  // the endpoint has something to send: call its on_timer now
};

// Worker side: apply every queued command and answer snapshots. `now_ns` stamps the snapshots.
// `endpoint` answers conns and path commands and sees settings (none: no connections).
inline ServiceResult service_commands(WorkerChannel& ch, uint32_t worker, uint64_t now_ns,
                                      WorkerStats& stats, WorkerSettings& settings,
                                      Endpoint* endpoint = nullptr) {
  ServiceResult r;
  WorkerCommand c;
  while (ch.commands.pop(c)) {
    ++r.applied;
    ++stats.commands;
    PathCommandStatus status = PathCommandStatus::ok;
    switch (c.op) {
      case WorkerCommand::Op::set:
        if (c.key < WorkerKey::count) {
          settings.set(c.key, c.value);
          if (endpoint) endpoint->apply_setting(c.key, c.value);
          r.run_timer = true;
        }
        break;
      case WorkerCommand::Op::path:
        status = endpoint ? endpoint->path_command(c.value, c.path_id, c.action, now_ns)
                          : PathCommandStatus::unsupported;
        r.run_timer = true;
        break;
      case WorkerCommand::Op::reset_stats:
        stats = WorkerStats{};
        break;
      case WorkerCommand::Op::snapshot:
        break;
      case WorkerCommand::Op::conns: {
        ConnSnapshot& cs = ch.conns;
        const size_t matched =
            endpoint ? endpoint->snapshot_connections(cs.records, ConnSnapshot::kCapacity, now_ns,
                                                      c.value)
                     : 0;
        cs.matched = matched;
        cs.count = static_cast<uint32_t>(matched < ConnSnapshot::kCapacity
                                             ? matched
                                             : ConnSnapshot::kCapacity);
        cs.time_ns = now_ns;
        cs.seq.store(c.seq, std::memory_order_release);
        break;
      }
    }
    if (c.seq != 0)
      ch.telemetry.push(WorkerTelemetry{worker, c.seq, now_ns, stats, settings, status});
  }
  return r;
}

}  // namespace camp
