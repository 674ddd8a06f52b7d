// The per-lcore worker: run to completion, rx burst -> classify -> handle -> tx burst, shares
// nothing. It applies control commands between bursts and backs off when idle.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>

#include "dataplane/endpoint.h"
#include "dataplane/worker_channel.h"
#include "drivers/net/l2l3.h"

namespace camp::dpdk {

inline constexpr unsigned kMaxBurst = 64;
inline constexpr unsigned kMaxWorkerQueues = 32;  // ports a worker can poll
// Workers that steer to each other (drivers/dpdk/steer.h): one ring per ordered pair, so the ring
// count grows as the square; a campd with more workers runs without steering.
inline constexpr unsigned kMaxWorkers = 16;

// One rx/tx queue pair a worker polls. The worker sends on the queue it received on.
struct WorkerQueue {
  uint16_t port = 0;
  uint16_t queue = 0;
  const net::LocalAddrs* local = nullptr;
  bool rx_cksum = false;   // port reports rx checksum status in ol_flags
  bool ip_offload = false;
  bool l4_offload = false;
  uint16_t mtu = 1500;     // IP packets larger than this are never built
};

static_assert(kMaxBurst <= kMaxInPlace, "in-place replies name datagrams by a 64-bit mask");

struct Worker {
  uint32_t id = 0;
  WorkerQueue queues[kMaxWorkerQueues];
  unsigned n_queues = 0;
  rte_mempool* tx_pool = nullptr;  // replies from the endpoint are built in fresh mbufs
  Endpoint* endpoint = nullptr;
  WorkerChannel* channel = nullptr;
  const std::atomic<bool>* quit = nullptr;
  WorkerSettings settings;
  WorkerStats stats;   // owned by the worker while it runs; read by others only after it stopped
  uint64_t next_timer = 0;  // when the endpoint next wants on_timer (0: at once)
  // Per-core steering (steer.h; all null/0 without it): to[o] carries datagrams whose connection
  // belongs to worker o, from[o] brings worker o's to us. Each ring has this worker as its only
  // producer (to) or only consumer (from).
  uint16_t n_workers = 1;
  rte_ring* to[kMaxWorkers] = {};
  rte_ring* from[kMaxWorkers] = {};
  // Datagrams for worker o that found to[o] full, oldest first: retried every turn, and rx is not
  // polled while any wait, so the backlog moves to the NIC instead of being dropped here.
  rte_mbuf* held[kMaxWorkers][kMaxBurst];
  uint16_t n_held[kMaxWorkers] = {};
  uint32_t held_total = 0;
  // Per-burst scratch, kept here so a burst does not construct them on the stack each time.
  RxDatagram dgrams[kMaxBurst];
  TxSlot slots[kMaxBurst];
};

// lcore entry point (rte_eal_remote_launch): arg is a Worker*. Returns when *quit becomes true.
int worker_main(void* arg);

// One burst of `n` frames received on queue q's port: exposed for tests and benchmarks. A UDP
// datagram the endpoint steers to another worker (Endpoint::steer) goes to that worker's ring, or
// waits in held when the ring is full; `steered` marks frames that came from a ring (counted
// as steered_in, never steered again). Raw rx bursts require that nothing is held (w.held_total
// == 0), which poll_once guarantees, so a burst always fits in the backlog.
void handle_burst(Worker& w, const WorkerQueue& q, rte_mbuf** pkts, uint16_t n, uint64_t now_ns,
                  bool steered = false);
// One turn of worker_main without commands, telemetry and idle backoff: retry held datagrams,
// take what other workers steered here, poll rx queues (only when nothing is held), run due
// timers. Returns the frames received and taken from rings. Exposed for tests.
uint16_t poll_once(Worker& w, uint64_t now_ns);
// The endpoint's time-driven work: what it sends leaves on the port each slot names.
void run_timer(Worker& w, uint64_t now_ns);

}  // namespace camp::dpdk
