// Per-core steering between DPDK workers: one single-producer/single-consumer rte_ring per
// ordered worker pair. RSS spreads a connection's paths (each its own 4-tuple) over rx queues, and
// the worker that receives a datagram whose connection ID names another worker
// (Endpoint::steer) passes the mbuf to that worker's ring; the owner handles it as if received
// on its own queue of the same port, and answers on its own tx queue. Lock-free, no allocation:
// the mbuf itself travels, and is freed (or reused for the reply) by the owner.
#pragma once

#include <rte_ring.h>

#include <cstdint>
#include <string>

#include "drivers/dpdk/worker.h"

namespace camp::dpdk {

// Entries per ring (a power of two; usable capacity is one less). Each worker's rx pool needs
// room for (workers - 1) * (kSteerRingSize + kMaxBurst) extra mbufs parked in rings and backlogs.
inline constexpr unsigned kSteerRingSize = 1024;

// Extra rx mbufs a worker's pool needs so that steering can never starve its own rx queues.
constexpr uint32_t steer_pool_extra(uint16_t n_workers, unsigned ring_size = kSteerRingSize) {
  return n_workers > 1 ? (n_workers - 1u) * (ring_size + kMaxBurst) : 0;
}

// Why steering cannot be set up for these workers, or "" when it can: every worker must have a
// queue pair on every port any worker polls (a steered datagram is answered on the owner's queue
// of its port), and there may be at most kMaxWorkers of them.
std::string steer_unsupported(Worker* const* workers, uint16_t n_workers);

class SteerRings {
 public:
  SteerRings() = default;
  SteerRings(const SteerRings&) = delete;
  SteerRings& operator=(const SteerRings&) = delete;
  // Rings are EAL memory, gone after rte_eal_cleanup: release() must be called before it, so the
  // destructor does not touch them.
  ~SteerRings() = default;

  // Creates the rings `<prefix>_<src>_<dst>` for n_workers workers, each on its consumer's NUMA
  // socket (sockets[dst]). False with *err (rte_errno's text) when one cannot be made; those
  // made are freed again.
  bool create(uint16_t n_workers, const int* sockets, std::string* err,
              const char* prefix = "camp_st", unsigned ring_size = kSteerRingSize);
  // Wires the rings into the workers (to/from/n_workers). Before the workers start.
  void attach(Worker* const* workers, uint16_t n_workers) const;
  // After every worker stopped: frees what is still held in the workers' backlogs or waiting in a
  // ring, counting it as steer_drained on the worker that held it or that the ring led to.
  // Returns how many mbufs were freed.
  uint64_t drain(Worker* const* workers, uint16_t n_workers);
  // Frees the rings (drain first, or their mbufs leak). Detached workers must not run again.
  void release();

  rte_ring* ring(unsigned src, unsigned dst) const { return rings_[src][dst]; }
  uint16_t workers() const { return n_; }

 private:
  rte_ring* rings_[kMaxWorkers][kMaxWorkers] = {};
  uint16_t n_ = 0;
};

}  // namespace camp::dpdk
