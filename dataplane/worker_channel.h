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
  enum class Op : uint8_t { snapshot, set, reset_stats, conns } op = Op::snapshot;
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

// Worker side: apply every queued command and answer snapshots. Returns the number applied.
// `now_ns` stamps the snapshots. `endpoint` answers conns commands (none: no connections).
inline unsigned service_commands(WorkerChannel& ch, uint32_t worker, uint64_t now_ns,
                                 WorkerStats& stats, WorkerSettings& settings,
                                 Endpoint* endpoint = nullptr) {
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
    if (c.seq != 0) ch.telemetry.push(WorkerTelemetry{worker, c.seq, now_ns, stats, settings});
  }
  return n;
}

}  // namespace camp
