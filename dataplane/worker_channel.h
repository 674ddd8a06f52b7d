// The two single-producer single-consumer queues between the control thread and one worker:
// commands in, telemetry out. The worker polls its command queue between bursts and never waits:
// if the telemetry queue is full it skips that snapshot.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>

#include "dataplane/worker_settings.h"
#include "dataplane/worker_stats.h"

namespace camp {

struct WorkerCommand {
  enum class Op : uint8_t { snapshot, set, reset_stats } op = Op::snapshot;
  WorkerKey key = WorkerKey::count;
  uint64_t value = 0;
  uint64_t seq = 0;  // echoed in the telemetry that answers it
};

struct WorkerTelemetry {
  uint32_t worker = 0;
  uint64_t seq = 0;       // seq of the command answered; 0 for a periodic push
  uint64_t time_ns = 0;   // worker's clock when taken
  WorkerStats stats;
  WorkerSettings settings;
};

struct WorkerChannel {
  boost::lockfree::spsc_queue<WorkerCommand, boost::lockfree::capacity<256>> commands;
  boost::lockfree::spsc_queue<WorkerTelemetry, boost::lockfree::capacity<64>> telemetry;
};

// Worker side: apply every queued command and answer snapshots. Returns the number applied.
// `now_ns` stamps the snapshots.
inline unsigned service_commands(WorkerChannel& ch, uint32_t worker, uint64_t now_ns,
                                 WorkerStats& stats, WorkerSettings& settings) {
  unsigned n = 0;
  WorkerCommand c;
  while (ch.commands.pop(c)) {
    ++n;
    ++stats.commands;
    switch (c.op) {
      case WorkerCommand::Op::set:
        if (c.key < WorkerKey::count) settings.set(c.key, c.value);
        break;
      case WorkerCommand::Op::reset_stats:
        stats = WorkerStats{};
        break;
      case WorkerCommand::Op::snapshot:
        break;
    }
    if (c.seq != 0) ch.telemetry.push(WorkerTelemetry{worker, c.seq, now_ns, stats, settings});
  }
  return n;
}

}  // namespace camp
