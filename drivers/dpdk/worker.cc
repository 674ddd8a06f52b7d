#include "drivers/dpdk/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include <cstring>

#include "drivers/net/udp4_fast.h"

namespace camp::dpdk {

namespace {

// Room kept in front of every reply payload: enough for Ethernet + IPv6 + UDP, so the payload
// position does not depend on the address family the endpoint picks.
constexpr uint16_t kTxHeadroom = net::udp_headroom(6);

uint64_t now_ns() {
  static const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t = rte_rdtsc();
  return (t / hz) * 1000000000ull + (t % hz) * 1000000000ull / hz;
}

net::RxOffload rx_offload(const rte_mbuf* m) {
  net::RxOffload o;
  switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD: o.ip = net::CksumState::good; break;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD: o.ip = net::CksumState::bad; break;
    default: break;
  }
  switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD: o.l4 = net::CksumState::good; break;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD: o.l4 = net::CksumState::bad; break;
    default: break;
  }
  return o;
}

void count_reply(WorkerStats& s, net::ReplyKind k) {
  switch (k) {
    case net::ReplyKind::arp: ++s.arp_replies; break;
    case net::ReplyKind::icmp_echo: ++s.icmp_echo_replies; break;
    case net::ReplyKind::icmpv6_echo: ++s.icmpv6_echo_replies; break;
    case net::ReplyKind::nd_advert: ++s.nd_advertisements; break;
    case net::ReplyKind::none: break;
  }
}

// `bytes` is the sum of the frames' pkt_len, added up by the caller as it built them: after the
// burst the mbufs that went belong to the PMD (and, for ring or memif ports, to whoever is on the
// other side), so only those not sent may still be read.
void transmit(Worker& w, const WorkerQueue& q, rte_mbuf** out, uint16_t n, uint64_t bytes) {
  if (n == 0) return;
  const uint16_t sent = rte_eth_tx_burst(q.port, q.queue, out, n);
  for (uint16_t i = sent; i < n; ++i) bytes -= out[i]->pkt_len;  // still ours
  w.stats.tx_packets += sent;
  w.stats.tx_bytes += bytes;
  if (sent < n) {
    w.stats.drop(DropReason::tx_ring_full, n - sent);
    rte_pktmbuf_free_bulk(out + sent, n - sent);
  }
}

// A received mbuf whose data area is its own: it may be rewritten in place and lent back.
bool owns_data(const rte_mbuf* m) {
  return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

// Largest UDP payload a slot may hold on this queue's port, whatever the address family.
uint16_t payload_limit(const WorkerQueue& q) {
  return static_cast<uint16_t>(q.mtu - (net::udp_headroom(6) - RTE_ETHER_HDR_LEN));
}

}  // namespace

namespace {

// Fresh reply buffers on demand: one tx mbuf per slot the endpoint asks for.
struct FreshBuffers {
  rte_mempool* pool;
  rte_mbuf** mbufs;  // by slot index
  uint16_t limit;    // payload_limit of the port
};

bool provide_fresh(void* ctx, TxSlot* slot, uint16_t index) {
  auto& f = *static_cast<FreshBuffers*>(ctx);
  rte_mbuf* m = rte_pktmbuf_alloc(f.pool);
  if (m == nullptr) return false;  // the endpoint counts the datagram it could not send
  f.mbufs[index] = m;
  slot->data = rte_pktmbuf_mtod_offset(m, uint8_t*, kTxHeadroom);
  slot->cap = RTE_MIN(static_cast<uint16_t>(m->buf_len - m->data_off - kTxHeadroom), f.limit);
  return true;
}

// Slots lent with a provider start empty (TxBatch's contract).
void reset_slots(TxSlot* slots, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) {
    slots[i].data = nullptr;
    slots[i].rx_buf = kNoRxBuf;
  }
}

// What finish_frame needs from the queue, copied into locals once per burst: the frame stores
// go through byte pointers, which would otherwise make the compiler reload these per packet.
struct TxQueueInfo {
  uint8_t mac[6];
  bool ip_offload;
  bool l4_offload;
  explicit TxQueueInfo(const WorkerQueue& q) : ip_offload(q.ip_offload), l4_offload(q.l4_offload) {
    std::memcpy(mac, q.local->mac, 6);
  }
};

// Turns a committed slot's buffer into a frame ready for tx: headers in front of the payload,
// offload flags when the port computes checksums. False when the headers do not fit in front
// (an in-place IPv6 reply to an IPv4 datagram in a buffer with too little headroom).
inline bool finish_frame(rte_mbuf* m, const TxSlot& s, const TxQueueInfo& q) {
  const uint16_t hr = net::udp_headroom(s.tuple.local.family);
  uint8_t* const buf = static_cast<uint8_t*>(m->buf_addr);
  if (s.data - buf < hr) [[unlikely]] return false;
  uint8_t* frame = s.data - hr;
  m->data_off = static_cast<uint16_t>(frame - buf);
  // IPv4 with software checksums (what build_udp does for it too), inline in the burst loop.
  const uint16_t len =
      s.tuple.local.family != 6 && !q.ip_offload && !q.l4_offload
          ? net::build_udp4(frame, s.len, s.tuple, q.mac, m->buf_len - (s.data - buf))
          : net::build_udp(frame, s.len, s.tuple, q.mac, q.ip_offload, q.l4_offload);
  m->data_len = m->pkt_len = len;
  m->nb_segs = 1;
  m->next = nullptr;
  m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;  // how the mbuf is attached stays
  if (q.ip_offload || q.l4_offload) {
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = hr - RTE_ETHER_HDR_LEN - 8;
    m->ol_flags |= (s.tuple.local.family == 6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
                  (q.ip_offload && s.tuple.local.family == 4 ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                  (q.l4_offload ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
  }
  return true;
}

// Hands worker o's held datagrams to its ring, oldest first; returns how many still wait.
uint16_t flush_held(Worker& w, unsigned o) {
  const uint16_t n = w.n_held[o];
  const unsigned k =
      rte_ring_enqueue_burst(w.to[o], reinterpret_cast<void* const*>(w.held[o]), n, nullptr);
  if (k == 0) return n;
  if (k < n) std::memmove(w.held[o], w.held[o] + k, (n - k) * sizeof(rte_mbuf*));
  w.n_held[o] = static_cast<uint16_t>(n - k);
  w.held_total -= k;
  w.stats.steered_out += k;
  return w.n_held[o];
}

// Datagrams other workers steered here: each is handled as if received on this worker's own queue
// of the port it arrived on (the source wrote it to m->port), so replies leave on our tx queue.
void deliver_steered(Worker& w, rte_mbuf** pkts, uint16_t n, uint64_t now) {
  rte_mbuf* group[kMaxBurst];
  uint16_t left = n;
  for (unsigned qi = 0; qi < w.n_queues && left; ++qi) {
    const WorkerQueue& q = w.queues[qi];
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i)
      if (pkts[i] != nullptr && pkts[i]->port == q.port) {
        group[k++] = pkts[i];
        pkts[i] = nullptr;
      }
    if (k == 0) continue;
    left = static_cast<uint16_t>(left - k);
    handle_burst(w, q, group, k, now, true);
  }
  // A port this worker has no queue on: steering is only set up when every worker has one on
  // every port (steer.h), so this means no endpoint of ours can answer there.
  for (uint16_t i = 0; i < n && left; ++i)
    if (pkts[i] != nullptr) {
      w.stats.drop(DropReason::udp_port_closed);
      rte_pktmbuf_free(pkts[i]);
      --left;
    }
}

}  // namespace

namespace {

// Where one burst's frames go: replies and built datagrams to `out`, everything to free to
// `freed`. Sized for a reply per frame plus a datagram per frame.
struct BurstOut {
  rte_mbuf* out[2 * kMaxBurst];
  uint16_t n_out = 0;
  uint64_t out_bytes = 0;
  rte_mbuf* freed[2 * kMaxBurst];  // dropped frames, then unused reply buffers and datagrams
  uint16_t n_freed = 0;
};

// Every frame the fast path did not take: multi-segment mbufs, ARP, ICMP, IPv6, IPv4 with
// options, other addresses, and everything malformed (classify names the drop reason). True when
// it is a datagram for the endpoint, now in *d.
[[gnu::noinline]] bool classify_slow(Worker& w, const WorkerQueue& q, rte_mbuf* m,
                                     net::RxOffload off, RxDatagram* d, BurstOut& b) {
  if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
    w.stats.drop(DropReason::rx_multiseg);
    b.freed[b.n_freed++] = m;
    return false;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  // A shared or external data area is answered only within the frame's own bytes.
  const uint16_t cap = owns_data(m) ? m->buf_len - m->data_off : m->data_len;
  const net::Verdict r = net::classify(frame, m->data_len, cap, *q.local, off, d);
  switch (r.action) {
    case net::Action::udp:
      return true;
    case net::Action::reply:
      count_reply(w.stats, r.reply);
      m->data_len = m->pkt_len = r.reply_len;
      m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;  // checksums done in software
      b.out[b.n_out++] = m;
      b.out_bytes += r.reply_len;
      return false;
    case net::Action::consumed:
      w.stats.arp_replies_seen++;
      break;
    case net::Action::drop:
      w.stats.drop(r.reason);
      break;
  }
  b.freed[b.n_freed++] = m;
  return false;
}

// Frames whose headers are fetched ahead of the one being checked: a NIC writes the frame by
// DMA, so its first line is not in L1 when the burst arrives.
constexpr uint16_t kPrefetchAhead = 4;

}  // namespace

void handle_burst(Worker& w, const WorkerQueue& q, rte_mbuf** pkts, uint16_t n, uint64_t now,
                  bool steered) {
  BurstOut b;
  RxDatagram* dgrams = w.dgrams;
  rte_mbuf* dgram_mbufs[kMaxBurst];
  uint16_t n_dgrams = 0;
  const net::Udp4Fast fast(*q.local);
  const uint16_t limit = payload_limit(q);
  const bool rx_cksum = q.rx_cksum;

  // Steered frames were counted as received by the worker whose queue they arrived on.
  const bool may_steer = !steered && w.n_workers > 1;
  uint32_t steered_to = 0;  // bit o: something was added to held[o]
  uint64_t rx_bytes = 0;
  for (uint16_t i = 0; i < n && i < kPrefetchAhead; ++i)
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
    rx_bytes += m->pkt_len;
    RxDatagram& d = dgrams[n_dgrams];
    const net::RxOffload off = rx_cksum ? rx_offload(m) : net::RxOffload{};
    // The common datagram is fully verified inline; the rest (and anything it doubts) by classify.
    if (!(m->nb_segs == 1 &&
          net::classify_udp4_fast(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len,
                                  m->buf_len - m->data_off, fast, off, &d))) [[unlikely]] {
      if (!classify_slow(w, q, m, off, &d, b)) continue;
    }
    if (may_steer) {
      const int32_t o = w.endpoint->steer(d);
      // held[o] has room by handle_burst's precondition; were it broken, the datagram is
      // handled here rather than written past the backlog.
      if (o >= 0 && static_cast<uint32_t>(o) < w.n_workers && static_cast<uint32_t>(o) != w.id &&
          w.to[o] != nullptr && w.n_held[o] < kMaxBurst) {
        m->port = q.port;  // ring PMDs leave it unset; the owner answers on this port
        w.held[o][w.n_held[o]++] = m;
        ++w.held_total;
        steered_to |= uint32_t{1} << o;
        continue;
      }
    }
    const auto to_end = m->buf_len - (d.data - static_cast<uint8_t*>(m->buf_addr));
    d.room = static_cast<uint16_t>(RTE_MIN(to_end, limit));
    d.buf_id = owns_data(m) ? static_cast<uint8_t>(n_dgrams) : kNoRxBuf;
    dgram_mbufs[n_dgrams++] = m;
  }
  if (!steered) {
    w.stats.rx_packets += n;
    w.stats.rx_bytes += rx_bytes;
  }

  // Steered datagrams go before the endpoint runs, so their owner may see them this turn.
  for (uint32_t s = steered_to; s != 0; s &= s - 1) {
    const unsigned o = static_cast<unsigned>(__builtin_ctz(s));
    w.stats.steer_held += flush_held(w, o);  // held was empty on entry: all that wait are new
  }

  if (n_dgrams) {
    w.stats.udp_rx += n_dgrams;
    // The endpoint answers into slots: a datagram's own buffer when it replies in place,
    // otherwise a fresh tx mbuf, taken only when asked for.
    TxSlot* slots = w.slots;
    reset_slots(slots, n_dgrams);
    rte_mbuf* fresh[kMaxBurst];
    FreshBuffers fb{w.tx_pool, fresh, limit};
    TxBatch batch(slots, n_dgrams, provide_fresh, &fb);
    w.endpoint->on_datagrams(dgrams, n_dgrams, now, batch, w.stats);
    w.next_timer = RTE_MIN(w.next_timer, batch.requested_timer());

    uint64_t lent = 0;
    const uint16_t used = batch.used();
    const TxQueueInfo tq(q);
    uint16_t built = 0;
    for (uint16_t i = 0; i < used; ++i) {
      const TxSlot& s = slots[i];
      const bool in_place = s.rx_buf != kNoRxBuf;
      rte_mbuf* m = in_place ? dgram_mbufs[s.rx_buf] : fresh[i];
      const uint64_t bit = in_place ? uint64_t{1} << s.rx_buf : 0;
      if (finish_frame(m, s, tq)) [[likely]] {
        lent |= bit;
        b.out[b.n_out++] = m;
        b.out_bytes += m->pkt_len;
        ++built;
      } else {
        w.stats.drop(DropReason::endpoint_no_tx_room);
        if (!in_place) b.freed[b.n_freed++] = m;  // an in-place one is freed with the datagrams
      }
    }
    w.stats.udp_tx += built;
    // Fresh buffers the endpoint took but did not commit, and datagrams not sent back in place.
    for (uint16_t i = used; i < n_dgrams; ++i)
      if (slots[i].data != nullptr && slots[i].rx_buf == kNoRxBuf) b.freed[b.n_freed++] = fresh[i];
    const uint64_t all = n_dgrams == 64 ? ~uint64_t{0} : (uint64_t{1} << n_dgrams) - 1;
    for (uint64_t left = all & ~lent; left != 0; left &= left - 1)
      b.freed[b.n_freed++] = dgram_mbufs[__builtin_ctzll(left)];
  }
  if (b.n_freed) rte_pktmbuf_free_bulk(b.freed, b.n_freed);
  transmit(w, q, b.out, b.n_out, b.out_bytes);
}

void run_timer(Worker& w, uint64_t now) {
  uint16_t limit = UINT16_MAX;
  for (unsigned i = 0; i < w.n_queues; ++i) limit = RTE_MIN(limit, payload_limit(w.queues[i]));
  TxSlot* slots = w.slots;
  reset_slots(slots, kMaxBurst);
  rte_mbuf* fresh[kMaxBurst];
  FreshBuffers fb{w.tx_pool, fresh, limit};
  TxBatch batch(slots, kMaxBurst, provide_fresh, &fb);
  w.next_timer = w.endpoint->on_timer(now, batch, w.stats);
  const uint16_t used = batch.used();
  for (unsigned qi = 0; qi < w.n_queues; ++qi) {
    const WorkerQueue& q = w.queues[qi];
    const TxQueueInfo tq(q);
    rte_mbuf* out[kMaxBurst];
    uint16_t n_out = 0;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < used; ++i) {
      if (fresh[i] == nullptr || slots[i].tuple.iface != q.port) continue;
      if (finish_frame(fresh[i], slots[i], tq)) {
        out[n_out++] = fresh[i];
        bytes += fresh[i]->pkt_len;
        w.stats.udp_tx++;
      } else {
        w.stats.drop(DropReason::endpoint_no_tx_room);
        rte_pktmbuf_free(fresh[i]);
      }
      fresh[i] = nullptr;
    }
    transmit(w, q, out, n_out, bytes);
  }
  for (uint16_t i = 0; i < used; ++i)  // addressed to a port this worker has no queue on
    if (fresh[i] != nullptr) {
      w.stats.drop(DropReason::endpoint_no_tx_room);
      rte_pktmbuf_free(fresh[i]);
    }
  if (used < kMaxBurst && slots[used].data != nullptr) rte_pktmbuf_free(fresh[used]);
}

uint16_t poll_once(Worker& w, uint64_t now) {
  w.stats.polls++;
  for (unsigned o = 0; w.held_total != 0 && o < w.n_workers; ++o)
    if (w.n_held[o] != 0) flush_held(w, o);
  const uint16_t burst = static_cast<uint16_t>(w.settings.get(WorkerKey::rx_burst));
  rte_mbuf* pkts[kMaxBurst];
  uint16_t got = 0;
  // Rings first: what waits there was received earlier than what the NIC holds now. Taking it
  // never adds to held (steered frames are not steered again), so two workers that both hold
  // for each other still empty each other's rings: no deadlock.
  for (unsigned s = 0; s < w.n_workers; ++s) {
    if (w.from[s] == nullptr) continue;
    const uint16_t n = static_cast<uint16_t>(
        rte_ring_dequeue_burst(w.from[s], reinterpret_cast<void**>(pkts), burst, nullptr));
    if (n == 0) continue;
    got = static_cast<uint16_t>(got + n);
    w.stats.steered_in += n;
    deliver_steered(w, pkts, n, now);
  }
  // Rx only while nothing is held: a burst can then always be parked, and under backpressure the
  // NIC's ring fills and counts imissed instead of this worker dropping packets.
  bool paused = false;
  for (unsigned i = 0; i < w.n_queues; ++i) {
    if (w.held_total != 0) {
      paused = true;
      break;
    }
    const WorkerQueue& q = w.queues[i];
    const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, burst);
    if (n == 0) continue;
    got = static_cast<uint16_t>(got + n);
    handle_burst(w, q, pkts, n, now);
  }
  if (paused) w.stats.steer_rx_paused++;
  if (now >= w.next_timer) run_timer(w, now);
  return got;
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  uint64_t idle_run = 0;
  uint64_t next_push = 0;
  while (!w.quit->load(std::memory_order_relaxed)) {
    const uint64_t now = now_ns();  // one clock read per turn: bursts and timers share it
    const uint16_t got = poll_once(w, now);
    // Commands and telemetry between bursts; never wait on the control thread.
    if (w.channel->commands.read_available()) {
      // A command that made the endpoint queue frames (a path status, a new scheduler) has them
      // sent this turn rather than at the endpoint's next own deadline.
      if (service_commands(*w.channel, w.id, now, w.stats, w.settings, w.endpoint).run_timer)
        w.next_timer = 0;
    }
    const uint64_t tsc = rte_rdtsc();
    if (tsc >= next_push) {  // periodic counters, so the control thread's view is never old
      w.channel->telemetry.push(WorkerTelemetry{w.id, 0, now, w.stats, w.settings});
      next_push = tsc + w.settings.get(WorkerKey::telemetry_ms) * (rte_get_tsc_hz() / 1000);
    }
    if (got == 0 && w.held_total == 0) {  // held datagrams are retried at once, never slept on
      w.stats.idle_polls++;
      const uint64_t sleep_us = w.settings.get(WorkerKey::idle_sleep_us);
      if (++idle_run > w.settings.get(WorkerKey::idle_polls) && sleep_us > 0) {
        w.stats.sleeps++;
        rte_delay_us_sleep(static_cast<unsigned>(sleep_us));
      }
    } else {
      idle_run = 0;
    }
  }
  return 0;
}

}  // namespace camp::dpdk
