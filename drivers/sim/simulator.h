// camp's virtual-time network simulator. Nodes host Endpoints (the same I/O-free interface a DPDK
// worker or a kernel socket drives); one-directional links with delay, jitter, rate, a bounded
// queue, loss, reordering and duplication join their addresses. The clock jumps from event to
// event, so a 30-second lossy session runs in a fraction of a second, and one seed gives the same
// run every time.
//
// Everything is allocated when the Simulator and its nodes and links are built; running
// allocates nothing per packet (packet buffers come from a pool sized by SimConfig, events from a
// heap of fixed capacity) and both running out are counted, never grown.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/endpoint.h"
#include "dataplane/worker_stats.h"
#include "drivers/sim/event_queue.h"
#include "drivers/sim/link.h"
#include "drivers/sim/packet_pool.h"

namespace camp::sim {

using NodeId = uint32_t;
using LinkId = uint32_t;
inline constexpr uint32_t kInvalid = UINT32_MAX;

// A simulated UDP address: IP and port (host order).
struct Address {
  IpAddr ip;
  uint16_t port = 0;

  static Address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    const uint8_t bytes[4] = {a, b, c, d};
    return {IpAddr::v4(bytes), port};
  }
  bool operator==(const Address& o) const { return port == o.port && ip == o.ip; }
};

// Two links, one each way, between the same two addresses.
struct Path {
  LinkId ab = kInvalid;  // a -> b
  LinkId ba = kInvalid;  // b -> a
  bool valid() const { return ab != kInvalid && ba != kInvalid; }
};

struct SimConfig {
  uint64_t seed = 1;
  uint32_t pool_packets = 8192;    // packet buffers, shared by every node and link
  uint16_t buffer_size = 2048;     // bytes per buffer: the TxSlot::cap endpoints see
  uint32_t max_events = 1u << 16;  // event heap capacity
  uint16_t burst = 32;             // datagrams per on_datagrams call, tx slots per call
};

// Simulator-wide counters (per-link ones are in LinkCounters, per-node in WorkerStats).
struct SimCounters {
  uint64_t events = 0;          // events processed
  uint64_t timer_calls = 0;     // on_timer calls
  uint64_t rx_calls = 0;        // on_datagrams calls
  uint64_t short_batches = 0;   // calls lent fewer than `burst` tx slots: the pool ran low
  uint64_t no_route = 0;        // committed datagrams no link carries (dropped)
  uint64_t bad_tx_len = 0;      // committed datagrams longer than their slot (dropped)
  uint64_t event_queue_full = 0;  // events that could not be scheduled
};

enum class TraceKind : uint8_t {
  send,              // offered to a link
  drop_loss,
  drop_burst_loss,
  drop_queue_full,
  drop_cut,
  drop_no_buffer,
  drop_no_event,
  duplicate,         // an extra copy was made
  deliver,           // handed to the receiving node
  timer,             // a node's on_timer ran (link = node id)
};

struct TraceRecord {
  uint64_t time;
  uint32_t link;  // or node, for timer records
  uint16_t len;
  TraceKind kind;
};

class Simulator {
 public:
  explicit Simulator(const SimConfig& cfg = {});
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // A node running `ep` (not owned; it must outlive the simulator's use of it). Its on_timer
  // first runs at `start_ns`.
  NodeId add_node(Endpoint& ep, uint64_t start_ns = 0);
  // Gives the node an address; the first address is the default source for slots that leave
  // Tuple::local unset. Its index among the node's addresses is the Tuple::iface it sees.
  // False for an unknown node or an address some node already has.
  bool add_address(NodeId node, const Address& a);

  // A one-directional link; both addresses must belong to nodes and no other link may join the
  // same pair in the same direction. kInvalid when that fails or the config does not validate.
  LinkId add_link(const Address& from, const Address& to, const LinkConfig& cfg);
  Path add_path(const Address& a, const Address& b, const LinkConfig& ab, const LinkConfig& ba);

  // Changes take effect now; the GE state, the queue and packets in flight are kept.
  ConfigError set_link_config(LinkId l, const LinkConfig& cfg);
  // Cutting drops what is queued and what is on the wire (counted as cut), and everything
  // offered until restore_link.
  void cut_link(LinkId l);
  void restore_link(LinkId l);
  bool link_is_cut(LinkId l) const { return links_[l].cut; }

  // Scheduled changes and arbitrary actions at virtual time t (clamped to now). False when the
  // event queue is full or the link unknown.
  bool at(uint64_t t, std::function<void()> fn);
  bool cut_link_at(LinkId l, uint64_t t);
  bool restore_link_at(LinkId l, uint64_t t);
  bool set_link_config_at(LinkId l, uint64_t t, const LinkConfig& cfg);

  // Running. Each processes events in (time, scheduling order) and leaves the clock at the
  // end of the interval or at the event that satisfied the predicate.
  bool step();                                    // one event; false when none is left
  uint64_t run_until(uint64_t t);                 // events at times <= t; returns how many
  uint64_t run_for(uint64_t d) { return run_until(now_ + d); }
  // Until pred() holds (checked before and after every event) or the next event is past
  // limit_ns (the clock then stops at limit_ns). True when pred() held.
  bool run_until(const std::function<bool()>& pred, uint64_t limit_ns);
  bool idle() const { return events_.empty(); }

  uint64_t now() const { return now_; }
  const LinkCounters& counters(LinkId l) const { return links_[l].counters; }
  // Packets the link holds: queued, on the wire, or propagating.
  uint64_t in_flight(LinkId l) const { return links_[l].in_flight; }
  uint64_t queued_packets(LinkId l) const { return links_[l].q_packets; }
  const LinkConfig& link_config(LinkId l) const { return links_[l].model.config(); }
  const WorkerStats& stats(NodeId n) const { return nodes_[n].stats; }
  const SimCounters& sim_counters() const { return sc_; }
  size_t link_count() const { return links_.size(); }
  size_t node_count() const { return nodes_.size(); }
  uint32_t pool_available() const { return pool_.available(); }

  // A running FNV-1a hash of every trace record: equal hashes, equal runs.
  uint64_t trace_hash() const { return trace_hash_; }
  // Optional per-record hook (tests, debugging); called synchronously, may not re-enter.
  void set_trace(std::function<void(const TraceRecord&)> fn) { trace_fn_ = std::move(fn); }

 private:
  struct Packet {
    uint32_t next = kNoPacket;  // FIFO link while queued
    uint32_t link = kInvalid;
    uint32_t epoch = 0;         // the link's cut epoch when the packet entered it
    uint16_t len = 0;
  };
  struct AddrEntry {
    Address addr;
    NodeId node;
    uint16_t iface;
  };
  struct Node {
    Endpoint* ep;
    uint32_t first_addr = kInvalid;  // index into addrs_
    uint16_t naddrs = 0;
    uint64_t wake = kNever;          // what the endpoint asked for
    uint64_t timer_at = kNever;      // time of the live timer event, kNever if none
    uint32_t timer_gen = 0;          // only the event carrying this generation is live
    WorkerStats stats;
  };
  struct Link {
    LinkModel model;
    uint32_t from;  // addrs_ index
    uint32_t to;
    NodeId to_node;
    bool cut = false;
    uint32_t epoch = 0;        // bumped by each cut: packets from older epochs are dropped
    bool busy = false;         // a packet is being serialised
    uint32_t current = kNoPacket;
    uint32_t q_head = kNoPacket, q_tail = kNoPacket;
    uint64_t q_packets = 0, q_bytes = 0;
    uint64_t last_arrival = 0;  // FIFO floor for jitter that may not reorder
    uint64_t in_flight = 0;
    LinkCounters counters;
  };

  void dispatch(const Event& e);
  void on_timer_event(const Event& e);
  void on_arrivals(const Event& first);
  void on_tx_done(LinkId l);

  // Lends tx slots, calls the endpoint (rx burst or timer), sends what it committed, and learns
  // its next wake time.
  void run_endpoint(NodeId n, const RxDatagram* rx, size_t nrx);
  size_t lend_slots(NodeId n);
  void send_committed(NodeId n, size_t lent, uint16_t used);
  void set_wake(NodeId n, uint64_t wake);

  LinkId route(NodeId n, const Tuple& t) const;
  void link_offer(LinkId l, uint32_t pkt);
  void link_start(Link& k, LinkId l, uint32_t pkt);
  void link_wire(LinkId l, uint32_t pkt);
  void drop(LinkId l, uint32_t pkt, TraceKind why);
  void trace(TraceKind k, uint32_t link, uint16_t len);
  uint32_t find_addr(const Address& a) const;

  SimConfig cfg_;
  uint64_t now_ = 0;
  EventQueue events_;
  PacketPool pool_;
  std::vector<Packet> packets_;   // metadata, parallel to the pool's buffers
  std::vector<Node> nodes_;
  std::vector<AddrEntry> addrs_;
  std::vector<Link> links_;
  std::vector<std::function<void()>> actions_;  // scheduled actions, appended at schedule time
  // Scratch for one endpoint call, sized at construction.
  std::vector<TxSlot> slots_;
  std::vector<uint32_t> slot_pkt_;
  std::vector<RxDatagram> rx_;
  std::vector<uint32_t> rx_pkt_;
  SimCounters sc_;
  uint64_t trace_hash_ = 0xcbf29ce484222325ULL;
  std::function<void(const TraceRecord&)> trace_fn_;
};

}  // namespace camp::sim
