// The DPDK worker's burst handling with real mbufs and a net_ring port (EAL with --no-huge, no
// root needed): replies in place and in fresh mbufs, ARP answered, drops counted, the endpoint's timer
// path, an empty tx pool, and shared mbufs never lent.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "drivers/dpdk/port.h"
#include "drivers/dpdk/worker.h"
#include "tests/dpdk/peer_frame.h"

namespace camp::dpdk {
namespace {

using test::kOurIp;
using test::kPeerIp;
using test::kPeerMac;
using test::kPort;

// What the test endpoint does with each datagram, by its first payload byte:
// 'i' reply in place, 'f' reply "fresh!" from a fresh buffer, 'x' ignore.
// on_timer sends one datagram "tick" to the peer the first time it runs.
class ScriptedEndpoint final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t, TxBatch& tx,
                    WorkerStats& stats) override {
    for (size_t i = 0; i < n; ++i) {
      last_tuple = rx[i].tuple;
      const char op = rx[i].len ? static_cast<char>(rx[i].data[0]) : 'x';
      if (op == 'x') continue;
      TxSlot* s = op == 'i' ? tx.acquire_in_place(rx[i]) : tx.acquire();
      if (!s) {
        stats.drop(tx.out_of_buffers() ? DropReason::no_mbuf : DropReason::endpoint_no_tx_room);
        continue;
      }
      if (op == 'i') {
        in_place_hits += s->data == rx[i].data;
        if (s->data != rx[i].data) std::memcpy(s->data, rx[i].data, rx[i].len);
        s->len = rx[i].len;
      } else {
        std::memcpy(s->data, "fresh!", 6);
        s->len = 6;
      }
      s->tuple = rx[i].tuple;
      tx.commit();
    }
    tx.request_timer(want_timer_at);
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats&) override {
    ++timer_calls;
    if (!ticked && last_tuple.local.family != 0) {
      TxSlot* s = tx.acquire();
      if (s) {
        std::memcpy(s->data, "tick", 4);
        s->len = 4;
        s->tuple = last_tuple;
        tx.commit();
        ticked = true;
      }
    }
    return kNever;
  }
  Tuple last_tuple;
  int in_place_hits = 0;
  int timer_calls = 0;
  bool ticked = false;
  uint64_t want_timer_at = kNever;
};

class WorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string prefix = "camp-worker-test-" + std::to_string(getpid());
    std::vector<std::string> args = {"worker_test", "--no-huge", "--no-pci", "-m", "128",
                                     "--file-prefix", prefix, "-l", "0",
                                     "--log-level", "error", "--no-telemetry"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    eal_ok_ = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
    if (!eal_ok_) return;
    pool_ = rte_pktmbuf_pool_create("wt_rx", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    tx_pool_ = rte_pktmbuf_pool_create("wt_tx", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                       SOCKET_ID_ANY);
    empty_pool_ = rte_pktmbuf_pool_create("wt_empty", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                          SOCKET_ID_ANY);
    rx_ring_ = rte_ring_create("wt_rxr", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ring_ = rte_ring_create("wt_txr", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int pid = rte_eth_from_rings("wt_ring", &rx_ring_, 1, &tx_ring_, 1, SOCKET_ID_ANY);
    ASSERT_GE(pid, 0);
    PortConfig pc;
    pc.port_id = static_cast<uint16_t>(pid);
    pc.local.add_ipv4(kOurIp);
    pc.local.udp_port = kPort;
    std::string err;
    ASSERT_TRUE(open_port(pc, {pool_}, &port_, &err)) << err;
  }
  static void TearDownTestSuite() {
    if (!eal_ok_) return;
    close_port(port_.port_id);
    rte_eal_cleanup();
  }
  void SetUp() override {
    ASSERT_TRUE(eal_ok_) << "EAL did not start (--no-huge, no root needed)";
    w_ = std::make_unique<Worker>();
    w_->tx_pool = tx_pool_;
    w_->endpoint = &ep_;
    WorkerQueue& q = w_->queues[w_->n_queues++];
    q.port = port_.port_id;
    q.local = &port_.local;
    q.mtu = port_.mtu;
    q_ = q;
  }
  void TearDown() override {
    rte_mbuf* m[256];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(tx_ring_, reinterpret_cast<void**>(m), 256, nullptr)) > 0)
      rte_pktmbuf_free_bulk(m, n);
  }

  // A UDP datagram from the peer to us, built with the engine's own writer.
  static rte_mbuf* udp_frame(const std::string& payload, rte_mempool* pool = nullptr) {
    return test::peer_udp_frame(pool ? pool : pool_, payload, port_.local.mac);
  }
  // Frames the port sent, each parsed from the peer's side.
  struct Sent {
    net::Verdict v;
    RxDatagram d;
    std::string payload;
    uint8_t dst_mac[6];
  };
  std::vector<Sent> sent() {
    rte_mbuf* m[64];
    const unsigned n = rte_ring_dequeue_burst(tx_ring_, reinterpret_cast<void**>(m), 64, nullptr);
    std::vector<Sent> out;
    net::LocalAddrs peer;
    std::memcpy(peer.mac, kPeerMac, 6);
    peer.add_ipv4(kPeerIp);
    peer.udp_port = 5555;
    for (unsigned i = 0; i < n; ++i) {
      Sent s;
      uint8_t* f = rte_pktmbuf_mtod(m[i], uint8_t*);
      std::memcpy(s.dst_mac, f, 6);
      s.v = net::classify(f, m[i]->data_len, m[i]->data_len, peer, {}, &s.d);
      if (s.v.action == net::Action::udp)
        s.payload.assign(reinterpret_cast<const char*>(s.d.data), s.d.len);
      out.push_back(s);
    }
    rte_pktmbuf_free_bulk(m, n);
    return out;
  }
  uint64_t drops(DropReason r) const { return w_->stats.drops[static_cast<size_t>(r)]; }

  static inline bool eal_ok_ = false;
  static inline rte_mempool *pool_ = nullptr, *tx_pool_ = nullptr, *empty_pool_ = nullptr;
  static inline rte_ring *rx_ring_ = nullptr, *tx_ring_ = nullptr;
  static inline Port port_;
  std::unique_ptr<Worker> w_;
  WorkerQueue q_;
  ScriptedEndpoint ep_;
};

TEST_F(WorkerTest, RepliesInPlaceAndFreshAndValidOnTheWire) {
  const unsigned rx_before = rte_mempool_avail_count(pool_);
  const unsigned tx_before = rte_mempool_avail_count(tx_pool_);
  rte_mbuf* pkts[3] = {udp_frame("in place please"), udp_frame("f"), udp_frame("x")};
  handle_burst(*w_, q_, pkts, 3, 1);
  EXPECT_EQ(ep_.in_place_hits, 1);
  const auto out = sent();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& s : out) {
    ASSERT_EQ(s.v.action, net::Action::udp) << "reply does not parse as valid UDP";
    EXPECT_EQ(std::memcmp(s.dst_mac, kPeerMac, 6), 0);
    EXPECT_EQ(s.d.tuple.remote, IpAddr::v4(kOurIp));
    EXPECT_EQ(s.d.tuple.remote_port, kPort);
    EXPECT_EQ(s.d.tuple.local_port, 5555);
  }
  EXPECT_EQ(out[0].payload, "in place please");
  EXPECT_EQ(out[1].payload, "fresh!");
  EXPECT_EQ(w_->stats.rx_packets, 3u);
  EXPECT_EQ(w_->stats.udp_rx, 3u);
  EXPECT_EQ(w_->stats.udp_tx, 2u);
  EXPECT_EQ(w_->stats.tx_packets, 2u);
  // Nothing leaked: the ignored datagram went back to its pool, the sent ones after the test's
  // own dequeue and free in sent().
  EXPECT_EQ(rte_mempool_avail_count(pool_), rx_before - 3 + 3);
  EXPECT_EQ(rte_mempool_avail_count(tx_pool_), tx_before);
}

TEST_F(WorkerTest, AnswersArpAndCountsDrops) {
  rte_mbuf* arp = rte_pktmbuf_alloc(pool_);
  uint8_t* f = rte_pktmbuf_mtod(arp, uint8_t*);
  const uint8_t req[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x22, 0x08, 0x06,
                           0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x22, 198, 18, 0, 2,
                           0, 0, 0, 0, 0, 0, 198, 18, 0, 1};
  std::memcpy(f, req, sizeof req);
  arp->data_len = arp->pkt_len = sizeof req;
  rte_mbuf* bad = udp_frame("i");
  rte_pktmbuf_mtod(bad, uint8_t*)[14 + 10] ^= 0xff;  // IPv4 header checksum
  rte_mbuf* closed = udp_frame("i");
  rte_pktmbuf_mtod(closed, uint8_t*)[14 + 20 + 3] ^= 0x01;  // another destination port
  rte_mbuf* pkts[3] = {arp, bad, closed};
  handle_burst(*w_, q_, pkts, 3, 1);
  EXPECT_EQ(w_->stats.arp_replies, 1u);
  EXPECT_EQ(drops(DropReason::ipv4_bad_checksum), 1u);
  EXPECT_EQ(drops(DropReason::udp_port_closed), 1u);
  EXPECT_EQ(w_->stats.dropped(), 2u);
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_dequeue(tx_ring_, reinterpret_cast<void**>(&m)), 0);
  const uint8_t* r = rte_pktmbuf_mtod(m, uint8_t*);
  EXPECT_EQ(std::memcmp(r, kPeerMac, 6), 0);     // to the asker
  EXPECT_EQ(r[21], 2);                           // ARP reply
  EXPECT_EQ(std::memcmp(r + 22, port_.local.mac, 6), 0);
  rte_pktmbuf_free(m);
}

TEST_F(WorkerTest, NoFreshMbufIsCountedOnce) {
  w_->tx_pool = empty_pool_;
  rte_mbuf* hold = rte_pktmbuf_alloc(empty_pool_);  // the pool's only mbuf
  rte_mbuf* pkts[2] = {udp_frame("f"), udp_frame("i")};
  handle_burst(*w_, q_, pkts, 2, 1);
  EXPECT_EQ(drops(DropReason::no_mbuf), 1u);  // the fresh reply; the in-place one still went
  EXPECT_EQ(w_->stats.dropped(), 1u);
  EXPECT_EQ(sent().size(), 1u);
  rte_pktmbuf_free(hold);
}

TEST_F(WorkerTest, SharedMbufsAreNeverLent) {
  rte_mbuf* m = udp_frame("in place please");
  rte_mbuf_refcnt_update(m, 1);  // someone else holds it too (e.g. a capture)
  rte_mbuf* pkts[1] = {m};
  handle_burst(*w_, q_, pkts, 1, 1);
  EXPECT_EQ(ep_.in_place_hits, 0);  // the endpoint got a fresh buffer and copied instead
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "in place please");
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);  // our reference was dropped, the other remains
  rte_pktmbuf_free(m);
}

TEST_F(WorkerTest, TimerRequestedFromDatagramsRunsAndSends) {
  ep_.want_timer_at = 500;
  w_->next_timer = kNever;
  rte_mbuf* pkts[1] = {udp_frame("x")};
  handle_burst(*w_, q_, pkts, 1, 100);
  EXPECT_EQ(w_->next_timer, 500u);
  run_timer(*w_, 500);
  EXPECT_EQ(ep_.timer_calls, 1);
  EXPECT_EQ(w_->next_timer, kNever);
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "tick");
  EXPECT_EQ(w_->stats.udp_tx, 1u);
}

}  // namespace
}  // namespace camp::dpdk
