#include "drivers/dpdk/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

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

void transmit(Worker& w, const WorkerQueue& q, rte_mbuf** out, uint16_t n) {
  if (n == 0) return;
  uint64_t bytes = 0;
  const uint16_t sent = rte_eth_tx_burst(q.port, q.queue, out, n);
  for (uint16_t i = 0; i < sent; ++i) bytes += out[i]->pkt_len;  // read before the PMD frees
  w.stats.tx_packets += sent;
  w.stats.tx_bytes += bytes;
  if (sent < n) {
    w.stats.drop(DropReason::tx_ring_full, n - sent);
    rte_pktmbuf_free_bulk(out + sent, n - sent);
  }
}

}  // namespace

void handle_burst(Worker& w, const WorkerQueue& q, rte_mbuf** pkts, uint16_t n, uint64_t now) {
  rte_mbuf* out[2 * kMaxBurst];
  uint16_t n_out = 0;
  RxDatagram dgrams[kMaxBurst];
  rte_mbuf* dgram_mbufs[kMaxBurst];
  uint16_t n_dgrams = 0;
  rte_mbuf* freed[kMaxBurst];
  uint16_t n_freed = 0;

  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    w.stats.rx_packets++;
    w.stats.rx_bytes += m->pkt_len;
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
      w.stats.drop(DropReason::rx_multiseg);
      freed[n_freed++] = m;
      continue;
    }
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    const uint16_t cap = m->buf_len - m->data_off;
    const net::Result r = net::classify(frame, m->data_len, cap, *q.local,
                                        q.rx_cksum ? rx_offload(m) : net::RxOffload{});
    switch (r.action) {
      case net::Action::udp:
        dgrams[n_dgrams] = r.datagram;
        dgram_mbufs[n_dgrams++] = m;
        break;
      case net::Action::reply:
        count_reply(w.stats, r.reply);
        m->data_len = m->pkt_len = r.reply_len;
        m->ol_flags = 0;  // the reply's checksums were computed in software
        out[n_out++] = m;
        break;
      case net::Action::consumed:
        w.stats.arp_replies_seen++;
        freed[n_freed++] = m;
        break;
      case net::Action::drop:
        w.stats.drop(r.reason);
        freed[n_freed++] = m;
        break;
    }
  }
  if (n_freed) rte_pktmbuf_free_bulk(freed, n_freed);

  if (n_dgrams) {
    w.stats.udp_rx += n_dgrams;
    rte_mbuf* txm[kMaxBurst];
    TxSlot slots[kMaxBurst];
    const uint16_t n_slots = n_dgrams;  // the common case: one reply per datagram
    if (rte_pktmbuf_alloc_bulk(w.tx_pool, txm, n_slots) != 0) {
      w.stats.drop(DropReason::no_mbuf, n_dgrams);
      rte_pktmbuf_free_bulk(dgram_mbufs, n_dgrams);
      transmit(w, q, out, n_out);
      return;
    }
    for (uint16_t i = 0; i < n_slots; ++i) {
      rte_mbuf* m = txm[i];
      slots[i].data = rte_pktmbuf_mtod_offset(m, uint8_t*, kTxHeadroom);
      slots[i].cap = static_cast<uint16_t>(m->buf_len - m->data_off - kTxHeadroom);
      slots[i].len = 0;
    }
    TxBatch batch(slots, n_slots);
    w.endpoint->on_datagrams(dgrams, n_dgrams, now, batch, w.stats);
    rte_pktmbuf_free_bulk(dgram_mbufs, n_dgrams);

    const uint16_t used = batch.used();
    for (uint16_t i = 0; i < used; ++i) {
      rte_mbuf* m = txm[i];
      const TxSlot& s = slots[i];
      const uint16_t hr = net::udp_headroom(s.tuple.local.family);
      m->data_off += kTxHeadroom - hr;  // the frame starts hr bytes before the payload
      const uint16_t len = net::build_udp(rte_pktmbuf_mtod(m, uint8_t*), s.len, s.tuple,
                                          q.local->mac, q.ip_offload, q.l4_offload);
      m->data_len = m->pkt_len = len;
      if (q.ip_offload || q.l4_offload) {
        m->l2_len = RTE_ETHER_HDR_LEN;
        m->l3_len = hr - RTE_ETHER_HDR_LEN - 8;
        m->ol_flags = (s.tuple.local.family == 6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
                      (q.ip_offload && s.tuple.local.family == 4 ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                      (q.l4_offload ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
      }
      out[n_out++] = m;
    }
    w.stats.udp_tx += used;
    if (used < n_slots) rte_pktmbuf_free_bulk(txm + used, n_slots - used);
  }
  transmit(w, q, out, n_out);
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  rte_mbuf* pkts[kMaxBurst];
  uint64_t idle_run = 0;
  uint64_t next_push = 0;
  while (!w.quit->load(std::memory_order_relaxed)) {
    const uint16_t burst = static_cast<uint16_t>(w.settings.get(WorkerKey::rx_burst));
    uint16_t got = 0;
    w.stats.polls++;
    for (unsigned i = 0; i < w.n_queues; ++i) {
      const WorkerQueue& q = w.queues[i];
      const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, burst);
      if (n == 0) continue;
      got += n;
      handle_burst(w, q, pkts, n, now_ns());
    }
    // Commands and telemetry between bursts; never wait on the control thread.
    if (w.channel->commands.read_available()) {
      service_commands(*w.channel, w.id, now_ns(), w.stats, w.settings);
    }
    const uint64_t tsc = rte_rdtsc();
    if (tsc >= next_push) {  // periodic counters, so the control thread's view is never old
      w.channel->telemetry.push(WorkerTelemetry{w.id, 0, now_ns(), w.stats, w.settings});
      next_push = tsc + w.settings.get(WorkerKey::telemetry_ms) * (rte_get_tsc_hz() / 1000);
    }
    if (got == 0) {
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
