// Endpoints the simulator tests drive: a Sender that emits numbered datagrams on a schedule and
// records what comes back, and a Sink that records what arrives. Each datagram carries its
// sequence number and send time, so a receiver can measure one-way delay and order exactly.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/endpoint.h"
#include "drivers/sim/simulator.h"

namespace camp::sim::test {

struct Received {
  uint64_t seq;
  uint64_t sent_at;
  uint64_t at;
  uint16_t iface;
  uint16_t len;
  Tuple tuple;
};

inline void put_header(uint8_t* p, uint64_t seq, uint64_t now) {
  std::memcpy(p, &seq, 8);
  std::memcpy(p + 8, &now, 8);
}

inline void record(std::vector<Received>& out, const RxDatagram* rx, size_t n, uint64_t now) {
  for (size_t i = 0; i < n; ++i) {
    Received r{};
    if (rx[i].len >= 16) {
      std::memcpy(&r.seq, rx[i].data, 8);
      std::memcpy(&r.sent_at, rx[i].data + 8, 8);
    }
    r.at = now;
    r.iface = rx[i].tuple.iface;
    r.len = rx[i].len;
    r.tuple = rx[i].tuple;
    out.push_back(r);
  }
}

// Sends `count` datagrams of `size` bytes (>= 16), `per_tick` of them every `interval_ns`,
// round-robin over `routes` (from, to); a route whose `from` is unset leaves Tuple::local to the
// simulator's default.
class Sender final : public Endpoint {
 public:
  struct Route {
    Address from;
    Address to;
  };

  Sender(std::vector<Route> routes, uint64_t count, uint64_t interval_ns, uint16_t size = 100,
         uint32_t per_tick = 1)
      : routes_(std::move(routes)), count_(count), interval_(interval_ns), size_(size),
        per_tick_(per_tick) {}

  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch&,
                    WorkerStats&) override {
    record(echoes, rx, n, now);
  }

  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    timer_times.push_back(now);
    if (sent < count_ && now >= next_) {
      for (uint32_t i = 0; i < per_tick_ && sent < count_; ++i) {
        TxSlot* s = tx.acquire();
        if (s == nullptr || s->cap < size_) {
          ++no_room;  // counted, and tried again next tick like a real sender
          stats.drop(DropReason::endpoint_no_tx_room);
          break;
        }
        const Route& r = routes_[sent % routes_.size()];
        put_header(s->data, sent, now);
        std::memset(s->data + 16, static_cast<int>(sent & 0xff), size_ - 16);
        s->len = size_;
        if (r.from.ip.family != 0) {
          s->tuple.local = r.from.ip;
          s->tuple.local_port = r.from.port;
        }
        s->tuple.remote = r.to.ip;
        s->tuple.remote_port = r.to.port;
        tx.commit();
        ++sent;
      }
      next_ = now + interval_;
    }
    return sent < count_ ? next_ : kNever;
  }

  uint64_t sent = 0;
  uint64_t no_room = 0;
  std::vector<Received> echoes;
  std::vector<uint64_t> timer_times;

 private:
  std::vector<Route> routes_;
  uint64_t count_;
  uint64_t interval_;
  uint16_t size_;
  uint32_t per_tick_;
  uint64_t next_ = 0;
};

class Sink final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch&,
                    WorkerStats&) override {
    ++bursts;
    max_burst = n > max_burst ? n : max_burst;
    record(got, rx, n, now);
  }
  uint64_t on_timer(uint64_t, TxBatch&, WorkerStats&) override { return kNever; }

  std::vector<Received> got;
  uint64_t bursts = 0;
  size_t max_burst = 0;
};

inline const Address kA = Address::v4(10, 0, 0, 1, 1000);
inline const Address kB = Address::v4(10, 0, 0, 2, 2000);
inline const Address kA2 = Address::v4(10, 0, 1, 1, 1001);
inline const Address kB2 = Address::v4(10, 0, 1, 2, 2001);

// Counts pairs received out of send order (each packet against the highest seq seen before it).
inline uint64_t inversions(const std::vector<Received>& v) {
  uint64_t n = 0, hi = 0;
  bool any = false;
  for (const Received& r : v) {
    if (any && r.seq < hi) ++n;
    if (!any || r.seq > hi) hi = r.seq;
    any = true;
  }
  return n;
}

// One Sender node at kA and one Sink node at kB joined by a single kA -> kB link.
struct OneWay {
  OneWay(const LinkConfig& lc, uint64_t count, uint64_t interval_ns, uint16_t size = 100,
         uint32_t per_tick = 1, SimConfig sc = {}, uint64_t start_ns = 0)
      : sim(sc), tx({{kA, kB}}, count, interval_ns, size, per_tick) {
    a = sim.add_node(tx, start_ns);
    b = sim.add_node(rx);
    sim.add_address(a, kA);
    sim.add_address(b, kB);
    link = sim.add_link(kA, kB, lc);
  }
  Simulator sim;
  Sender tx;
  Sink rx;
  NodeId a = 0, b = 0;
  LinkId link = kInvalid;
};

}  // namespace camp::sim::test
