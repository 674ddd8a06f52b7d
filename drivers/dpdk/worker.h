// The per-lcore worker: run to completion, rx burst -> classify -> handle -> tx burst, shares
// nothing. It applies control commands between bursts and backs off when idle.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstdint>

#include "dataplane/endpoint.h"
#include "dataplane/worker_channel.h"
#include "drivers/net/l2l3.h"

namespace camp::dpdk {

inline constexpr unsigned kMaxBurst = 64;
inline constexpr unsigned kMaxWorkerQueues = 32;  // ports a worker can poll

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
  // Per-burst scratch, kept here so a burst does not construct them on the stack each time.
  RxDatagram dgrams[kMaxBurst];
  TxSlot slots[kMaxBurst];
};

// lcore entry point (rte_eal_remote_launch): arg is a Worker*. Returns when *quit becomes true.
int worker_main(void* arg);

// One rx burst of `n` frames from queue q: exposed for tests and benchmarks.
void handle_burst(Worker& w, const WorkerQueue& q, rte_mbuf** pkts, uint16_t n, uint64_t now_ns);
// The endpoint's time-driven work: what it sends leaves on the port each slot names.
void run_timer(Worker& w, uint64_t now_ns);

}  // namespace camp::dpdk
