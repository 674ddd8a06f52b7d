// The I/O-free endpoint seam. A driver (DPDK worker, kernel socket, simulator) hands the endpoint
// the UDP datagrams it received and the current time; the endpoint writes what it wants to send
// into tx slots the driver lends it. The endpoint never touches a port, a socket or a clock, so the
// same code runs on a NIC, behind a kernel socket, and in virtual time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/worker_settings.h"
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

// No driver buffer behind it: a slot holding a fresh buffer, or a datagram whose buffer the
// driver cannot lend back for a reply.
inline constexpr uint8_t kNoRxBuf = 0xff;
// In-place replies name their datagram by a bit in a 64-bit mask.
inline constexpr uint8_t kMaxInPlace = 64;

struct RxDatagram {
  const uint8_t* data = nullptr;
  uint16_t len = 0;
  uint16_t room = 0;          // bytes from data to the end of the driver's buffer
  uint8_t buf_id = kNoRxBuf;  // the driver's handle for the buffer (< kMaxInPlace), if lendable
  Tuple tuple;
};

struct TxSlot {
  uint8_t* data = nullptr;  // where the UDP payload goes
  uint16_t cap = 0;         // bytes available at data
  uint16_t len = 0;         // payload bytes written
  uint8_t rx_buf = kNoRxBuf;  // set when the slot is a received datagram's own buffer
  Tuple tuple;              // local = our address and port; remote = destination
};

// A batch of tx slots lent by the driver for one call into the endpoint. The endpoint fills slots
// in order with acquire()/commit(); the driver adds the headers and sends the committed ones.
// Slots get their buffers from the driver up front, or on demand through a provider (so a burst
// answered in place costs no fresh buffers at all).
class TxBatch {
 public:
  // Gives `slot` a fresh buffer (data, cap); false when none is left.
  using Provider = bool (*)(void* ctx, TxSlot* slot, uint16_t index);

  // Every slot already has its buffer.
  TxBatch(TxSlot* slots, uint16_t n) : slots_(slots), avail_(n) {}
  // Slots get buffers on demand; their data must start out nullptr.
  TxBatch(TxSlot* slots, uint16_t n, Provider p, void* ctx)
      : slots_(slots), avail_(n), provider_(p), ctx_(ctx) {}

  // The next free slot with a fresh buffer, or nullptr when the batch or the driver's buffers
  // are exhausted (out_of_buffers() tells which).
  TxSlot* acquire() {
    if (used_ >= avail_) return nullptr;
    TxSlot* s = &slots_[used_];
    if (s->rx_buf != kNoRxBuf) {  // an in-place slot taken but not committed: give it back
      lent_ &= ~(uint64_t{1} << s->rx_buf);
      s->rx_buf = kNoRxBuf;
      s->data = nullptr;
    }
    if (s->data == nullptr && (provider_ == nullptr || !provider_(ctx_, s, used_))) {
      out_of_buffers_ = true;
      return nullptr;
    }
    s->len = 0;
    acquired_ = true;
    return s;
  }
  // A slot for answering `rx`, backed by rx's own buffer when the driver lends it: the payload is
  // already at data, so a reply of the same bytes needs no copy, and anything up to cap bytes may
  // be written there instead (rx.data is then overwritten). Each datagram's buffer is lent once;
  // otherwise (or when the driver does not lend buffers) this is acquire(), and the caller copies.
  TxSlot* acquire_in_place(const RxDatagram& rx) {
    if (used_ >= avail_) return nullptr;
    TxSlot* s = &slots_[used_];
    const uint64_t bit = rx.buf_id < kMaxInPlace ? uint64_t{1} << rx.buf_id : 0;
    if (bit == 0 || (lent_ & bit) || (s->data != nullptr && s->rx_buf == kNoRxBuf)) {
      return acquire();  // a fresh buffer already sits in this slot: use it rather than leak it
    }
    if (s->rx_buf != kNoRxBuf) lent_ &= ~(uint64_t{1} << s->rx_buf);  // re-acquired, not committed
    lent_ |= bit;
    s->data = const_cast<uint8_t*>(rx.data);
    s->cap = rx.room;
    s->len = 0;
    s->rx_buf = rx.buf_id;
    acquired_ = true;
    return s;
  }
  // Sends the slot last acquired; a commit without an acquire does nothing.
  void commit() {
    if (!acquired_) return;
    acquired_ = false;
    ++used_;
  }
  bool out_of_buffers() const { return out_of_buffers_; }
  // From on_datagrams: the endpoint wants on_timer no later than t (e.g. an ACK it now owes).
  void request_timer(uint64_t t) { timer_ = t < timer_ ? t : timer_; }
  uint64_t requested_timer() const { return timer_; }
  uint16_t used() const { return used_; }
  uint16_t available() const { return avail_; }
  TxSlot* slots() { return slots_; }

 private:
  TxSlot* slots_;
  uint16_t avail_;
  uint16_t used_ = 0;
  uint64_t lent_ = 0;
  bool acquired_ = false;
  bool out_of_buffers_ = false;
  uint64_t timer_ = kNever;
  Provider provider_ = nullptr;
  void* ctx_ = nullptr;
};

struct ConnSummary;  // dataplane/conn_summary.h

// campctl path CONN PATH_ID available|backup|abandon: our side's status of one path of a
// multipath connection, or closing it.
enum class PathAction : uint8_t { available, backup, abandon };
enum class PathCommandStatus : int32_t {
  ok = 0,
  unsupported,    // the endpoint has no connections (a reflector)
  no_connection,  // no live connection with that id
  not_multipath,  // the connection did not negotiate multipath
  no_path,        // no open path with that ID
  last_path,      // abandoning the only open path would end the connection
};
const char* to_string(PathCommandStatus s);

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // A burst of datagrams addressed to the endpoint's port. A timer it arms here is reported with
  // tx.request_timer(); drivers may also call on_timer after every burst.
  virtual void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                            WorkerStats& stats) = 0;
  // Time-driven work (timers, pacing). Returns the next time it wants to run, or kNever.
  virtual uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) = 0;
  // Per-core steering: the worker that must handle `d` when it is not this endpoint's, else -1.
  // Drivers with several workers behind one address (DPDK with RSS) call it for each received
  // datagram before on_datagrams and hand the datagram to that worker: a connection's paths have
  // different 4-tuples and so land on different rx queues, but only the owner holds its state.
  // Must be a pure, O(1) function of the datagram (called on the hot path, from the receiving
  // worker's thread, never changing anything). Endpoints without per-worker state keep -1.
  virtual int32_t steer(const RxDatagram& d) const {
    (void)d;
    return -1;
  }
  // For the control plane (campctl conns), called between bursts: writes summaries of up to
  // `cap` live connections into out[] (only the one whose id is `only`, when only != 0) and
  // returns how many matched, which may exceed cap (the list is then cut). No connections, as
  // for a stateless endpoint, by default.
  virtual size_t snapshot_connections(ConnSummary* out, size_t cap, uint64_t now_ns,
                                      uint64_t only) {
    (void)out, (void)cap, (void)now_ns, (void)only;
    return 0;
  }
  // campctl set KEY VALUE, after the worker stored the value: keys that mean something to the
  // endpoint (the multipath scheduler, the failover action) apply to new and live connections.
  virtual void apply_setting(WorkerKey key, uint64_t value) { (void)key, (void)value; }
  // campctl path: changes one path of connection `conn`, between bursts. Whatever it sends goes
  // out at the driver's next on_timer, which the driver runs at once after a command.
  virtual PathCommandStatus path_command(uint64_t conn, uint32_t path_id, PathAction action,
                                         uint64_t now_ns) {
    (void)conn, (void)path_id, (void)action, (void)now_ns;
    return PathCommandStatus::unsupported;
  }
};

inline const char* to_string(PathCommandStatus s) {
  switch (s) {
    case PathCommandStatus::ok: return "ok";
    case PathCommandStatus::unsupported: return "this endpoint has no connections";
    case PathCommandStatus::no_connection: return "no such connection";
    case PathCommandStatus::not_multipath: return "the connection did not negotiate multipath";
    case PathCommandStatus::no_path: return "no open path with that ID";
    case PathCommandStatus::last_path: return "it is the connection's only open path";
  }
  return "unknown";
}

}  // namespace camp
