#include "drivers/dpdk/steer.h"

#include <rte_errno.h>

#include <cstdio>

namespace camp::dpdk {

static_assert(kMaxWorkers <= 32, "handle_burst marks destinations in a 32-bit mask");
static_assert((kSteerRingSize & (kSteerRingSize - 1)) == 0, "rte_ring sizes are powers of two");

std::string steer_unsupported(Worker* const* workers, uint16_t n_workers) {
  if (n_workers > kMaxWorkers)
    return std::to_string(n_workers) + " workers: steering supports at most " +
           std::to_string(kMaxWorkers);
  for (uint16_t a = 0; a < n_workers; ++a)
    for (unsigned i = 0; i < workers[a]->n_queues; ++i) {
      const uint16_t port = workers[a]->queues[i].port;
      for (uint16_t b = 0; b < n_workers; ++b) {
        bool found = false;
        for (unsigned j = 0; j < workers[b]->n_queues && !found; ++j)
          found = workers[b]->queues[j].port == port;
        if (!found)
          return "port " + std::to_string(port) + " has no queue pair for worker " +
                 std::to_string(b);
      }
    }
  return {};
}

bool SteerRings::create(uint16_t n_workers, const int* sockets, std::string* err,
                        const char* prefix, unsigned ring_size) {
  if (n_workers > kMaxWorkers) {
    *err = "steering supports at most " + std::to_string(kMaxWorkers) + " workers";
    return false;
  }
  release();
  n_ = n_workers;
  for (uint16_t s = 0; s < n_workers; ++s)
    for (uint16_t d = 0; d < n_workers; ++d) {
      if (s == d) continue;
      char name[RTE_RING_NAMESIZE];
      std::snprintf(name, sizeof name, "%s_%u_%u", prefix, s, d);
      // Exactly one producer (worker s) and one consumer (worker d): the cheapest ring mode.
      rings_[s][d] = rte_ring_create(name, ring_size, sockets[d], RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (rings_[s][d] == nullptr) {
        *err = std::string("steering ring ") + name + ": " + rte_strerror(rte_errno);
        release();
        return false;
      }
    }
  return true;
}

void SteerRings::attach(Worker* const* workers, uint16_t n_workers) const {
  for (uint16_t w = 0; w < n_workers; ++w) {
    Worker& wk = *workers[w];
    wk.n_workers = n_workers;
    for (uint16_t o = 0; o < n_workers; ++o) {
      wk.to[o] = w < n_ && o < n_ ? rings_[w][o] : nullptr;
      wk.from[o] = w < n_ && o < n_ ? rings_[o][w] : nullptr;
    }
  }
}

uint64_t SteerRings::drain(Worker* const* workers, uint16_t n_workers) {
  uint64_t total = 0;
  for (uint16_t w = 0; w < n_workers; ++w) {
    Worker& wk = *workers[w];
    for (unsigned o = 0; o < kMaxWorkers; ++o) {
      if (wk.n_held[o] == 0) continue;
      rte_pktmbuf_free_bulk(wk.held[o], wk.n_held[o]);
      wk.stats.steer_drained += wk.n_held[o];
      total += wk.n_held[o];
      wk.held_total -= wk.n_held[o];
      wk.n_held[o] = 0;
    }
    for (uint16_t s = 0; s < n_ && w < n_; ++s) {
      rte_ring* r = rings_[s][w];
      if (r == nullptr) continue;
      rte_mbuf* m[kMaxBurst];
      unsigned k;
      while ((k = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(m), kMaxBurst, nullptr)) > 0) {
        rte_pktmbuf_free_bulk(m, k);
        wk.stats.steer_drained += k;
        total += k;
      }
    }
  }
  return total;
}

void SteerRings::release() {
  for (auto& row : rings_)
    for (rte_ring*& r : row) {
      rte_ring_free(r);
      r = nullptr;
    }
  n_ = 0;
}

}  // namespace camp::dpdk
