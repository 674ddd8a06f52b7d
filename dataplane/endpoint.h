// The I/O-free endpoint seam. A driver (DPDK worker, kernel socket, simulator) hands the endpoint
// the UDP datagrams it received and the current time; the endpoint writes what it wants to send
// into tx slots the driver lends it. The endpoint never touches a port, a socket or a clock, so the
// same code runs on a NIC, behind a kernel socket, and in virtual time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/worker_stats.h"

namespace camp {

inline constexpr uint64_t kNever = UINT64_MAX;

struct IpAddr {
  uint8_t family = 0;       // 4 or 6; 0 = unset
  uint8_t bytes[16] = {};   // IPv4 in bytes[0..4), network order

  static IpAddr v4(const uint8_t b[4]) {
    IpAddr a;
    a.family = 4;
    std::memcpy(a.bytes, b, 4);
    return a;
  }
  static IpAddr v6(const uint8_t b[16]) {
    IpAddr a;
    a.family = 6;
    std::memcpy(a.bytes, b, 16);
    return a;
  }
  size_t size() const { return family == 4 ? 4 : family == 6 ? 16 : 0; }
  bool operator==(const IpAddr& o) const {
    return family == o.family && std::memcmp(bytes, o.bytes, size()) == 0;
  }
};

// Where a datagram came from / goes to. Ports in host order. `iface` is the driver's interface
// (DPDK port id, socket index); `next_hop_mac` is the L2 neighbour (the sender of what we received).
struct Tuple {
  IpAddr local;
  IpAddr remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint16_t iface = 0;
  uint8_t next_hop_mac[6] = {};
};

struct RxDatagram {
  const uint8_t* data = nullptr;
  uint16_t len = 0;
  Tuple tuple;
};

struct TxSlot {
  uint8_t* data = nullptr;  // where the UDP payload goes
  uint16_t cap = 0;         // bytes available at data
  uint16_t len = 0;         // payload bytes written
  Tuple tuple;              // local = our address and port; remote = destination
};

// A batch of tx slots lent by the driver for one call into the endpoint. The endpoint fills slots
// in order with acquire()/commit(); the driver adds the headers and sends the committed ones.
class TxBatch {
 public:
  TxBatch(TxSlot* slots, uint16_t n) : slots_(slots), avail_(n) {}
  // The next free slot, or nullptr when the batch is full.
  TxSlot* acquire() { return used_ < avail_ ? &slots_[used_] : nullptr; }
  void commit() { ++used_; }
  uint16_t used() const { return used_; }
  uint16_t available() const { return avail_; }
  TxSlot* slots() { return slots_; }

 private:
  TxSlot* slots_;
  uint16_t avail_;
  uint16_t used_ = 0;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // A burst of datagrams addressed to the endpoint's port.
  virtual void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                            WorkerStats& stats) = 0;
  // Time-driven work (timers, pacing). Returns the next time it wants to run, or kNever.
  virtual uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) = 0;
};

}  // namespace camp
