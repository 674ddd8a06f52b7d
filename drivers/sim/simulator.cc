#include "drivers/sim/simulator.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace camp::sim {

Simulator::Simulator(const SimConfig& cfg)
    : cfg_(cfg),
      events_(cfg.max_events),
      pool_(cfg.pool_packets, cfg.buffer_size),
      packets_(cfg.pool_packets) {
  if (cfg_.burst == 0) cfg_.burst = 1;
  slots_.resize(cfg_.burst);
  slot_pkt_.resize(cfg_.burst, kNoPacket);
  rx_.resize(cfg_.burst);
  rx_pkt_.resize(cfg_.burst, kNoPacket);
}

// ---- building ------------------------------------------------------------------------------

NodeId Simulator::add_node(Endpoint& ep, uint64_t start_ns) {
  Node n;
  n.ep = &ep;
  nodes_.push_back(n);
  const NodeId id = static_cast<NodeId>(nodes_.size() - 1);
  set_wake(id, start_ns);
  return id;
}

uint32_t Simulator::find_addr(const Address& a) const {
  for (size_t i = 0; i < addrs_.size(); ++i) {
    if (addrs_[i].addr == a) return static_cast<uint32_t>(i);
  }
  return kInvalid;
}

bool Simulator::add_address(NodeId node, const Address& a) {
  if (node >= nodes_.size() || a.ip.size() == 0 || find_addr(a) != kInvalid) return false;
  Node& n = nodes_[node];
  addrs_.push_back({a, node, n.naddrs});
  if (n.first_addr == kInvalid) n.first_addr = static_cast<uint32_t>(addrs_.size() - 1);
  ++n.naddrs;
  return true;
}

LinkId Simulator::add_link(const Address& from, const Address& to, const LinkConfig& cfg) {
  const uint32_t f = find_addr(from), t = find_addr(to);
  if (f == kInvalid || t == kInvalid || f == t || validate(cfg) != ConfigError::ok) {
    return kInvalid;
  }
  for (const Link& k : links_) {
    if (k.from == f && k.to == t) return kInvalid;
  }
  const LinkId id = static_cast<LinkId>(links_.size());
  links_.push_back(Link{LinkModel(cfg, cfg_.seed, id + 1), f, t, addrs_[t].node});
  return id;
}

Path Simulator::add_path(const Address& a, const Address& b, const LinkConfig& ab,
                         const LinkConfig& ba) {
  // Validate both before adding either, so a failure leaves nothing half-built.
  if (validate(ab) != ConfigError::ok || validate(ba) != ConfigError::ok) return {};
  Path p;
  p.ab = add_link(a, b, ab);
  if (p.ab == kInvalid) return {};
  p.ba = add_link(b, a, ba);
  if (p.ba == kInvalid) {
    links_.pop_back();
    return {};
  }
  return p;
}

ConfigError Simulator::set_link_config(LinkId l, const LinkConfig& cfg) {
  const ConfigError e = validate(cfg);
  if (e == ConfigError::ok && l < links_.size()) links_[l].model.set_config(cfg);
  return e;
}

void Simulator::cut_link(LinkId l) {
  if (l >= links_.size()) return;
  Link& k = links_[l];
  if (k.cut) return;
  k.cut = true;
  ++k.epoch;  // what is on the wire or propagating now carries the old epoch: dropped later
  while (k.q_head != kNoPacket) {
    const uint32_t p = k.q_head;
    k.q_head = packets_[p].next;
    drop(l, p, TraceKind::drop_cut);
  }
  k.q_tail = kNoPacket;
  k.q_packets = 0;
  k.q_bytes = 0;
}

void Simulator::restore_link(LinkId l) {
  if (l < links_.size()) links_[l].cut = false;
}

bool Simulator::at(uint64_t t, std::function<void()> fn) {
  if (!events_.push(std::max(t, now_), EventKind::action,
                    static_cast<uint32_t>(actions_.size()))) {
    ++sc_.event_queue_full;
    return false;
  }
  actions_.push_back(std::move(fn));
  return true;
}

bool Simulator::cut_link_at(LinkId l, uint64_t t) {
  return l < links_.size() && at(t, [this, l] { cut_link(l); });
}

bool Simulator::restore_link_at(LinkId l, uint64_t t) {
  return l < links_.size() && at(t, [this, l] { restore_link(l); });
}

bool Simulator::set_link_config_at(LinkId l, uint64_t t, const LinkConfig& cfg) {
  if (l >= links_.size() || validate(cfg) != ConfigError::ok) return false;
  return at(t, [this, l, cfg] { set_link_config(l, cfg); });
}

// ---- running -------------------------------------------------------------------------------

bool Simulator::step() {
  if (events_.empty()) return false;
  const Event e = events_.top();
  events_.pop();
  now_ = e.time;  // never earlier than now_: everything is scheduled at or after now
  ++sc_.events;
  dispatch(e);
  return true;
}

uint64_t Simulator::run_until(uint64_t t) {
  uint64_t n = 0;
  while (!events_.empty() && events_.top().time <= t) {
    step();
    ++n;
  }
  now_ = std::max(now_, t);
  return n;
}

bool Simulator::run_until(const std::function<bool()>& pred, uint64_t limit_ns) {
  if (pred()) return true;
  while (!events_.empty() && events_.top().time <= limit_ns) {
    step();
    if (pred()) return true;
  }
  now_ = std::max(now_, limit_ns);
  return false;
}

void Simulator::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::timer: on_timer_event(e); break;
    case EventKind::tx_done: on_tx_done(e.a); break;
    case EventKind::arrival: on_arrivals(e); break;
    case EventKind::action: {
      // Moved out first: the action may schedule more actions and grow the vector.
      std::function<void()> fn = std::move(actions_[e.a]);
      actions_[e.a] = nullptr;
      if (fn) fn();
      break;
    }
  }
}

// ---- nodes ---------------------------------------------------------------------------------

void Simulator::set_wake(NodeId id, uint64_t wake) {
  Node& n = nodes_[id];
  n.wake = wake;
  if (wake == kNever || wake >= n.timer_at) return;  // the live event fires first and re-arms
  const uint64_t t = std::max(wake, now_);
  if (!events_.push(t, EventKind::timer, id, n.timer_gen + 1)) {
    ++sc_.event_queue_full;
    return;
  }
  ++n.timer_gen;  // the older event, if any, is now stale
  n.timer_at = t;
}

void Simulator::on_timer_event(const Event& e) {
  Node& n = nodes_[e.a];
  if (e.b != n.timer_gen || n.timer_at != e.time) return;  // superseded by an earlier one
  n.timer_at = kNever;
  if (n.wake > now_) {
    // The endpoint moved its deadline later since this was scheduled.
    set_wake(e.a, n.wake);
    return;
  }
  run_endpoint(e.a, nullptr, 0);
}

size_t Simulator::lend_slots(NodeId id) {
  const Node& n = nodes_[id];
  size_t k = 0;
  for (; k < cfg_.burst; ++k) {
    const uint32_t p = pool_.alloc();
    if (p == kNoPacket) break;
    slot_pkt_[k] = p;
    TxSlot& s = slots_[k];
    s.data = pool_.data(p);
    s.cap = pool_.buffer_size();
    s.len = 0;
    s.tuple = Tuple{};
    if (n.first_addr != kInvalid) {
      s.tuple.local = addrs_[n.first_addr].addr.ip;
      s.tuple.local_port = addrs_[n.first_addr].addr.port;
    }
  }
  if (k < cfg_.burst) ++sc_.short_batches;
  return k;
}

void Simulator::run_endpoint(NodeId id, const RxDatagram* rx, size_t nrx) {
  Node& n = nodes_[id];
  if (nrx > 0) {
    size_t lent = lend_slots(id);
    TxBatch tx(slots_.data(), static_cast<uint16_t>(lent));
    n.stats.udp_rx += nrx;
    n.stats.rx_packets += nrx;
    for (size_t i = 0; i < nrx; ++i) n.stats.rx_bytes += rx[i].len;
    ++sc_.rx_calls;
    n.ep->on_datagrams(rx, nrx, now_, tx, n.stats);
    send_committed(id, lent, tx.used());
  }
  // on_datagrams cannot return a deadline, so after a burst the endpoint is asked through
  // on_timer, as the other drivers do.
  size_t lent = lend_slots(id);
  TxBatch tx(slots_.data(), static_cast<uint16_t>(lent));
  ++sc_.timer_calls;
  trace(TraceKind::timer, id, 0);
  const uint64_t wake = n.ep->on_timer(now_, tx, n.stats);
  send_committed(id, lent, tx.used());
  set_wake(id, wake);
}

LinkId Simulator::route(NodeId id, const Tuple& t) const {
  const bool any_local = t.local.family == 0;
  for (size_t i = 0; i < links_.size(); ++i) {
    const Link& k = links_[i];
    const Address& from = addrs_[k.from].addr;
    const Address& to = addrs_[k.to].addr;
    if (addrs_[k.from].node != id || to.port != t.remote_port || !(to.ip == t.remote)) continue;
    if (any_local || (from.port == t.local_port && from.ip == t.local)) {
      return static_cast<LinkId>(i);
    }
  }
  return kInvalid;
}

void Simulator::send_committed(NodeId id, size_t lent, uint16_t used) {
  Node& n = nodes_[id];
  const size_t committed = std::min<size_t>(used, lent);
  for (size_t i = 0; i < committed; ++i) {
    const TxSlot& s = slots_[i];
    const uint32_t p = slot_pkt_[i];
    if (s.len > pool_.buffer_size() || s.data != pool_.data(p)) {
      // The endpoint wrote past its slot or swapped the buffer: nothing it sent can be trusted.
      ++sc_.bad_tx_len;
      pool_.release(p);
      continue;
    }
    const LinkId l = route(id, s.tuple);
    if (l == kInvalid) {
      ++sc_.no_route;
      pool_.release(p);
      continue;
    }
    ++n.stats.udp_tx;
    ++n.stats.tx_packets;
    n.stats.tx_bytes += s.len;
    packets_[p] = Packet{kNoPacket, l, 0, s.len};
    link_offer(l, p);
  }
  for (size_t i = committed; i < lent; ++i) pool_.release(slot_pkt_[i]);
}

// ---- links ---------------------------------------------------------------------------------

void Simulator::trace(TraceKind kind, uint32_t link, uint16_t len) {
  const uint64_t words[4] = {now_, link, len, static_cast<uint64_t>(kind)};
  for (uint64_t w : words) {
    trace_hash_ ^= w;
    trace_hash_ *= 0x100000001b3ULL;
  }
  if (trace_fn_) trace_fn_(TraceRecord{now_, link, len, kind});
}

void Simulator::drop(LinkId l, uint32_t p, TraceKind why) {
  Link& k = links_[l];
  LinkCounters& c = k.counters;
  switch (why) {
    case TraceKind::drop_loss: ++c.dropped_loss; break;
    case TraceKind::drop_burst_loss: ++c.dropped_burst_loss; break;
    case TraceKind::drop_queue_full: ++c.dropped_queue_full; break;
    case TraceKind::drop_cut: ++c.dropped_cut; break;
    case TraceKind::drop_no_event: ++c.dropped_no_event; break;
    default: break;
  }
  --k.in_flight;
  trace(why, l, packets_[p].len);
  pool_.release(p);
}

void Simulator::link_offer(LinkId l, uint32_t p) {
  Link& k = links_[l];
  const Packet& pk = packets_[p];
  ++k.counters.sent;
  k.counters.sent_bytes += pk.len;
  ++k.in_flight;
  trace(TraceKind::send, l, pk.len);
  if (k.cut) {
    drop(l, p, TraceKind::drop_cut);
    return;
  }
  packets_[p].epoch = k.epoch;
  const LinkConfig& c = k.model.config();
  if (!k.busy) {
    if (c.rate_bps == 0) {
      link_wire(l, p);
    } else {
      link_start(k, l, p);
    }
    return;
  }
  // The transmitter is busy: wait in the queue if it has room (tail drop otherwise).
  if ((c.queue_packets != 0 && k.q_packets + 1 > c.queue_packets) ||
      (c.queue_bytes != 0 && k.q_bytes + pk.len > c.queue_bytes)) {
    drop(l, p, TraceKind::drop_queue_full);
    return;
  }
  packets_[p].next = kNoPacket;
  if (k.q_tail == kNoPacket) {
    k.q_head = p;
  } else {
    packets_[k.q_tail].next = p;
  }
  k.q_tail = p;
  ++k.q_packets;
  k.q_bytes += pk.len;
  k.counters.max_queue_packets = std::max(k.counters.max_queue_packets, k.q_packets);
  k.counters.max_queue_bytes = std::max(k.counters.max_queue_bytes, k.q_bytes);
}

void Simulator::link_start(Link& k, LinkId l, uint32_t p) {
  const uint64_t done = now_ + k.model.serialisation_ns(packets_[p].len);
  if (!events_.push(done, EventKind::tx_done, l)) {
    ++sc_.event_queue_full;
    drop(l, p, TraceKind::drop_no_event);
    return;
  }
  k.busy = true;
  k.current = p;
}

void Simulator::on_tx_done(LinkId l) {
  Link& k = links_[l];
  const uint32_t p = k.current;
  k.busy = false;
  k.current = kNoPacket;
  if (p != kNoPacket) {
    if (packets_[p].epoch != k.epoch) {
      drop(l, p, TraceKind::drop_cut);  // the link was cut while this was being serialised
    } else {
      link_wire(l, p);
    }
  }
  // The next waiting packet starts now (a start whose event cannot be scheduled is dropped,
  // so keep going until one starts or the queue is empty).
  while (!k.busy && k.q_head != kNoPacket) {
    const uint32_t next = k.q_head;
    k.q_head = packets_[next].next;
    if (k.q_head == kNoPacket) k.q_tail = kNoPacket;
    --k.q_packets;
    k.q_bytes -= packets_[next].len;
    link_start(k, l, next);
  }
}

void Simulator::link_wire(LinkId l, uint32_t p) {
  Link& k = links_[l];
  LinkModel& m = k.model;
  switch (m.loss_fate()) {
    case LinkModel::Fate::loss: drop(l, p, TraceKind::drop_loss); return;
    case LinkModel::Fate::burst_loss: drop(l, p, TraceKind::drop_burst_loss); return;
    case LinkModel::Fate::pass: break;
  }
  uint64_t arrival = now_ + m.sample_delay();
  if (m.sample_reorder()) {
    // Held back past its successors; it does not raise the FIFO floor, so they overtake it.
    arrival += m.config().reorder_delay_ns;
    ++k.counters.reordered;
  } else if (!m.config().jitter_reorders) {
    arrival = std::max(arrival, k.last_arrival);
    k.last_arrival = arrival;
  }
  const bool dup = m.sample_duplicate();
  if (!events_.push(arrival, EventKind::arrival, p, k.to_node)) {
    ++sc_.event_queue_full;
    drop(l, p, TraceKind::drop_no_event);
    return;
  }
  if (!dup) return;
  // The copy follows the original at the same instant (the receiver sees both in one burst).
  ++k.counters.duplicated;
  ++k.in_flight;
  trace(TraceKind::duplicate, l, packets_[p].len);
  const uint32_t q = pool_.alloc();
  if (q == kNoPacket) {
    ++k.counters.dropped_no_buffer;
    --k.in_flight;
    trace(TraceKind::drop_no_buffer, l, packets_[p].len);
    return;
  }
  std::memcpy(pool_.data(q), pool_.data(p), packets_[p].len);
  packets_[q] = packets_[p];
  if (!events_.push(arrival, EventKind::arrival, q, k.to_node)) {
    ++sc_.event_queue_full;
    drop(l, q, TraceKind::drop_no_event);
  }
}

void Simulator::on_arrivals(const Event& first) {
  const NodeId node = first.b;
  size_t n = 0;
  // Take this arrival and every one right behind it at the same instant for the same node, up
  // to a burst: the endpoint sees them in one on_datagrams call, as a NIC poll would.
  auto take = [&](uint32_t p) {
    const Packet& pk = packets_[p];
    Link& k = links_[pk.link];
    if (pk.epoch != k.epoch) {
      drop(pk.link, p, TraceKind::drop_cut);  // in flight when the link was cut
      return;
    }
    --k.in_flight;
    ++k.counters.delivered;
    k.counters.delivered_bytes += pk.len;
    trace(TraceKind::deliver, pk.link, pk.len);
    const AddrEntry& from = addrs_[k.from];
    const AddrEntry& to = addrs_[k.to];
    RxDatagram& d = rx_[n];
    d.data = pool_.data(p);
    d.len = pk.len;
    d.tuple = Tuple{};
    d.tuple.local = to.addr.ip;
    d.tuple.local_port = to.addr.port;
    d.tuple.remote = from.addr.ip;
    d.tuple.remote_port = from.addr.port;
    d.tuple.iface = to.iface;
    rx_pkt_[n++] = p;
  };
  take(first.a);
  while (n < cfg_.burst && !events_.empty()) {
    const Event& e = events_.top();
    if (e.kind != EventKind::arrival || e.time != now_ || e.b != node) break;
    const uint32_t p = e.a;
    events_.pop();
    ++sc_.events;
    take(p);
  }
  if (n == 0) return;
  run_endpoint(node, rx_.data(), n);
  // The endpoint may not keep rx pointers past the call (as with a NIC's rx mbufs).
  for (size_t i = 0; i < n; ++i) pool_.release(rx_pkt_[i]);
}

}  // namespace camp::sim
