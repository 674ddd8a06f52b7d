// Per-core steering between two DPDK workers over one net_ring port with two queue pairs (EAL with
// --no-huge, no root needed): a datagram whose connection ID names worker 1 but arrives on worker
// 0's queue is handled by worker 1 and answered on worker 1's tx queue; counters match; a full
// ring keeps datagrams held and pauses rx instead of dropping; what is left at quit is drained;
// and two workers on two lcores hand over thousands of datagrams in order with nothing lost.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/quic/cid/cid_codec.h"
#include "drivers/dpdk/port.h"
#include "drivers/dpdk/steer.h"
#include "drivers/dpdk/worker.h"
#include "tests/dpdk/peer_frame.h"

namespace camp::dpdk {
namespace {

using test::kOurIp;
using test::kPeerIp;
using test::kPeerMac;
using test::kPort;

quic::CidConfig cid_config() {
  quic::CidConfig c;
  c.server_id[0] = 0x5a;
  c.nonce_len = 7;
  c.worker_count = 2;
  return c;
}

// Records what reaches it (payload, in order) and answers every datagram with "w<id>" from a
// fresh buffer; steers by the short header's DCID, as QuicEndpoint does, through a CidCodec.
class RecordingEndpoint final : public Endpoint {
 public:
  explicit RecordingEndpoint(uint16_t id) : id_(id), codec_(cid_config()) {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t, TxBatch& tx,
                    WorkerStats& stats) override {
    for (size_t i = 0; i < n; ++i) {
      got.emplace_back(reinterpret_cast<const char*>(rx[i].data), rx[i].len);
      TxSlot* s = tx.acquire();
      if (!s) {
        stats.drop(DropReason::no_mbuf);
        continue;
      }
      s->data[0] = 'w';
      s->data[1] = static_cast<uint8_t>('0' + id_);
      s->len = 2;
      s->tuple = rx[i].tuple;
      tx.commit();
    }
    count.fetch_add(n, std::memory_order_release);
  }
  uint64_t on_timer(uint64_t, TxBatch&, WorkerStats&) override { return kNever; }
  int32_t steer(const RxDatagram& d) const override {
    if (d.len == 0 || (d.data[0] & 0x80)) return -1;
    const quic::DecodedCid r = codec_.route_short_header(quic::ByteView(d.data, d.len));
    return r.status == quic::CidStatus::kOk && r.worker != id_ ? r.worker : -1;
  }

  std::vector<std::string> got;
  std::atomic<size_t> count{0};

 private:
  uint16_t id_;
  quic::CidCodec codec_;
};

class SteerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Two lcores that may float over the CPUs this process has (one is enough).
    cpu_set_t set;
    std::string cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) {
          if (!cpus.empty()) cpus += ',';
          cpus += std::to_string(c);
        }
    if (cpus.empty()) cpus = "0";
    const std::string prefix = "camp-steer-test-" + std::to_string(getpid());
    std::vector<std::string> args = {"steer_test", "--no-huge", "--no-pci", "-m", "256",
                                     "--file-prefix", prefix, "--lcores",
                                     "0@(" + cpus + "),1@(" + cpus + ")",
                                     "--log-level", "error", "--no-telemetry"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    eal_ok_ = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
    if (!eal_ok_) return;
    for (int q = 0; q < 2; ++q) {
      const std::string n = std::to_string(q);
      pools_[q] = rte_pktmbuf_pool_create(("st_rx" + n).c_str(), 4095, 0, 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      tx_pools_[q] = rte_pktmbuf_pool_create(("st_tx" + n).c_str(), 4095, 0, 0,
                                             RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      rx_rings_[q] = rte_ring_create(("st_rxr" + n).c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_rings_[q] = rte_ring_create(("st_txr" + n).c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    }
    const int pid = rte_eth_from_rings("st_ring", rx_rings_, 2, tx_rings_, 2, SOCKET_ID_ANY);
    ASSERT_GE(pid, 0);
    PortConfig pc;
    pc.port_id = static_cast<uint16_t>(pid);
    pc.queues = 2;
    pc.local.add_ipv4(kOurIp);
    pc.local.udp_port = kPort;
    std::string err;
    ASSERT_TRUE(open_port(pc, {pools_[0], pools_[1]}, &port_, &err)) << err;
    ASSERT_EQ(port_.queues, 2);
  }
  static void TearDownTestSuite() {
    if (!eal_ok_) return;
    close_port(port_.port_id);
    rte_eal_cleanup();
  }

  void SetUp() override {
    ASSERT_TRUE(eal_ok_) << "EAL did not start (--no-huge, no root needed)";
    for (uint16_t w = 0; w < 2; ++w) {
      ep_[w] = std::make_unique<RecordingEndpoint>(w);
      wk_[w] = std::make_unique<Worker>();
      Worker& k = *wk_[w];
      k.id = w;
      k.tx_pool = tx_pools_[w];
      k.endpoint = ep_[w].get();
      k.channel = &chan_[w];
      k.quit = &quit_;
      k.next_timer = kNever;
      WorkerQueue& q = k.queues[k.n_queues++];
      q.port = port_.port_id;
      q.queue = w;
      q.local = &port_.local;
      q.mtu = port_.mtu;
      workers_[w] = &k;
      avail_before_[w] = rte_mempool_avail_count(pools_[w]);
    }
    ASSERT_EQ(steer_unsupported(workers_, 2), "");
  }
  void TearDown() override {
    rings_.drain(workers_, 2);
    rings_.release();
    for (int q = 0; q < 2; ++q) {
      discard(rx_rings_[q]);
      discard(tx_rings_[q]);
    }
  }
  void make_rings(unsigned size) {
    const int sockets[2] = {SOCKET_ID_ANY, SOCKET_ID_ANY};
    std::string err;
    ASSERT_TRUE(rings_.create(2, sockets, &err, "st", size)) << err;
    rings_.attach(workers_, 2);
  }
  static void discard(rte_ring* r) {
    rte_mbuf* m[256];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(m), 256, nullptr)) > 0)
      rte_pktmbuf_free_bulk(m, n);
  }

  // A short-header QUIC packet (as far as steering looks) whose DCID names `worker`, tagged so
  // the test can tell packets apart, from the peer to us, in rx queue `queue`'s pool.
  std::string short_header(uint16_t worker, unsigned tag) {
    quic::CidCodec codec(cid_config());
    quic::ConnectionId cid;
    EXPECT_TRUE(codec.generate(worker, rnd_, cid));
    std::string p(1, '\x41');
    p.append(reinterpret_cast<const char*>(cid.bytes.data()), cid.length);
    p += '#';
    p += std::to_string(tag);
    return p;
  }
  static rte_mbuf* udp_frame(const std::string& payload, int pool) {
    rte_mbuf* m = test::peer_udp_frame(pools_[pool], payload, port_.local.mac);
    m->port = 0xbeef;  // what a ring PMD leaves: the worker must not rely on it
    return m;
  }
  // Puts the frames into rx queue q, as the NIC would.
  static void arrive(int q, const std::vector<std::string>& payloads) {
    for (const auto& p : payloads) {
      rte_mbuf* m = udp_frame(p, q);
      ASSERT_EQ(rte_ring_enqueue(rx_rings_[q], m), 0);
    }
  }
  // Payloads of the UDP datagrams tx queue q sent.
  static std::vector<std::string> sent(int q) {
    rte_mbuf* m[256];
    std::vector<std::string> out;
    net::LocalAddrs peer;
    std::memcpy(peer.mac, kPeerMac, 6);
    peer.add_ipv4(kPeerIp);
    peer.udp_port = 5555;
    unsigned n;
    while ((n = rte_ring_dequeue_burst(tx_rings_[q], reinterpret_cast<void**>(m), 256,
                                       nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) {
        RxDatagram d;
        const net::Verdict v = net::classify(rte_pktmbuf_mtod(m[i], uint8_t*), m[i]->data_len,
                                             m[i]->data_len, peer, {}, &d);
        out.push_back(v.action == net::Action::udp
                          ? std::string(reinterpret_cast<const char*>(d.data), d.len)
                          : "<not udp>");
      }
      rte_pktmbuf_free_bulk(m, n);
    }
    return out;
  }
  const WorkerStats& st(int w) const { return wk_[w]->stats; }

  static inline bool eal_ok_ = false;
  static inline rte_mempool* pools_[2] = {};
  static inline rte_mempool* tx_pools_[2] = {};
  static inline rte_ring* rx_rings_[2] = {};
  static inline rte_ring* tx_rings_[2] = {};
  static inline Port port_;
  quic::SeededRandom rnd_{42};
  std::unique_ptr<RecordingEndpoint> ep_[2];
  std::unique_ptr<Worker> wk_[2];
  Worker* workers_[2] = {};
  WorkerChannel chan_[2];
  std::atomic<bool> quit_{false};
  SteerRings rings_;
  unsigned avail_before_[2] = {};
};

TEST_F(SteerTest, DatagramForWorkerOneOnQueueZeroReachesWorkerOne) {
  make_rings(kSteerRingSize);
  const std::string for1 = short_header(1, 1), for0 = short_header(0, 2);
  // Not steerable: a long header (a client's Initial with its own DCID), a short header too short
  // to hold a CID, and a CID of another server: each stays on the worker that received it.
  std::string foreign = short_header(1, 3);
  foreign[2] ^= 0x01;  // server ID octet
  const std::string long_hdr = std::string("\xc0\x00\x00\x00\x01\x08", 6) + for1.substr(1, 8);
  arrive(0, {for1, for0, "\x41\x09", foreign, long_hdr});
  EXPECT_EQ(poll_once(*wk_[0], 1), 5);
  EXPECT_EQ(st(0).rx_packets, 5u);
  EXPECT_EQ(st(0).steered_out, 1u);
  EXPECT_EQ(st(0).udp_rx, 4u);  // the steered one is not handed to worker 0's endpoint
  ASSERT_EQ(ep_[0]->got.size(), 4u);
  EXPECT_EQ(ep_[0]->got[0], for0);
  EXPECT_EQ(ep_[0]->got[1], std::string("\x41\x09"));
  EXPECT_EQ(ep_[0]->got[2], foreign);
  EXPECT_EQ(ep_[0]->got[3], long_hdr);
  EXPECT_TRUE(ep_[1]->got.empty());
  EXPECT_EQ(rte_ring_count(rings_.ring(0, 1)), 1u);

  EXPECT_EQ(poll_once(*wk_[1], 2), 1);
  EXPECT_EQ(st(1).steered_in, 1u);
  EXPECT_EQ(st(1).rx_packets, 0u);  // counted once, by the worker whose queue received it
  EXPECT_EQ(st(1).udp_rx, 1u);
  ASSERT_EQ(ep_[1]->got.size(), 1u);
  EXPECT_EQ(ep_[1]->got[0], for1);
  // The owner answers on its own tx queue of the port.
  EXPECT_EQ(sent(1), std::vector<std::string>{"w1"});
  EXPECT_EQ(sent(0), std::vector<std::string>(4, "w0"));
  EXPECT_EQ(st(0).dropped() + st(1).dropped(), 0u);

  // And the other way: worker 0's CID on worker 1's queue.
  arrive(1, {short_header(0, 7)});
  poll_once(*wk_[1], 3);
  poll_once(*wk_[0], 4);
  EXPECT_EQ(st(1).steered_out, 1u);
  EXPECT_EQ(st(0).steered_in, 1u);
  ASSERT_EQ(ep_[0]->got.size(), 5u);
  EXPECT_EQ(ep_[0]->got[4].substr(11), "#7");
  EXPECT_EQ(sent(0), std::vector<std::string>{"w0"});
  EXPECT_TRUE(sent(1).empty());
  // Every mbuf went back to the pool it came from (the owner freed worker 0's).
  EXPECT_EQ(rte_mempool_avail_count(pools_[0]), avail_before_[0]);
  EXPECT_EQ(rte_mempool_avail_count(pools_[1]), avail_before_[1]);
}

TEST_F(SteerTest, WithoutRingsNothingIsSteered) {
  arrive(0, {short_header(1, 1)});
  poll_once(*wk_[0], 1);  // no rings attached: worker 0 handles it itself
  EXPECT_EQ(st(0).steered_out, 0u);
  EXPECT_EQ(ep_[0]->got.size(), 1u);
  EXPECT_EQ(sent(0).size(), 1u);
}

TEST_F(SteerTest, FullRingHoldsAndPausesRxWithoutDropping) {
  make_rings(8);  // 7 usable entries
  wk_[0]->settings.set(WorkerKey::rx_burst, 32);
  std::vector<std::string> first, later;
  for (unsigned i = 0; i < 20; ++i) first.push_back(short_header(1, i));
  for (unsigned i = 20; i < 30; ++i) later.push_back(short_header(i % 2, i));
  arrive(0, first);
  poll_once(*wk_[0], 1);
  EXPECT_EQ(st(0).steered_out, 7u);
  EXPECT_EQ(st(0).steer_held, 13u);
  EXPECT_EQ(wk_[0]->held_total, 13u);
  arrive(0, later);
  // Worker 1 has not taken anything: the ring stays full, so worker 0 keeps its backlog and does
  // not poll rx at all (the later frames stay in the NIC's ring).
  poll_once(*wk_[0], 2);
  poll_once(*wk_[0], 3);
  EXPECT_EQ(st(0).steer_rx_paused, 2u);
  EXPECT_EQ(st(0).rx_packets, 20u);
  EXPECT_EQ(rte_ring_count(rx_rings_[0]), 10u);
  EXPECT_EQ(st(0).steered_out, 7u);
  // Alternate until everything is through.
  for (uint64_t t = 4; t < 100 && ep_[1]->got.size() + ep_[0]->got.size() < 30; ++t) {
    poll_once(*wk_[1], t);
    poll_once(*wk_[0], t);
  }
  EXPECT_EQ(st(0).rx_packets, 30u);
  EXPECT_EQ(st(0).steered_out, 25u);
  EXPECT_EQ(st(1).steered_in, 25u);
  EXPECT_EQ(wk_[0]->held_total, 0u);
  EXPECT_EQ(st(0).dropped() + st(1).dropped(), 0u);
  // In arrival order, none lost or duplicated.
  std::vector<std::string> want1 = first, want0;
  for (unsigned i = 20; i < 30; ++i) (i % 2 ? want1 : want0).push_back(later[i - 20]);
  EXPECT_EQ(ep_[1]->got, want1);
  EXPECT_EQ(ep_[0]->got, want0);
  EXPECT_EQ(sent(1).size(), 25u);
  EXPECT_EQ(sent(0).size(), 5u);
  EXPECT_EQ(rte_mempool_avail_count(pools_[0]), avail_before_[0]);
}

TEST_F(SteerTest, HeldAndRingedAreDrainedAtQuit) {
  make_rings(8);
  std::vector<std::string> f;
  for (unsigned i = 0; i < 12; ++i) f.push_back(short_header(1, i));
  arrive(0, f);
  arrive(1, {short_header(0, 99)});
  poll_once(*wk_[0], 1);  // 7 in the ring to worker 1, 5 held
  poll_once(*wk_[1], 1);  // worker 1 takes the 7 and puts its own one in the ring to worker 0
  poll_once(*wk_[0], 2);  // ...which worker 0 handles; 5 more go to the ring
  EXPECT_EQ(ep_[0]->got.size(), 1u);
  arrive(0, {short_header(1, 50), short_header(1, 51)});
  poll_once(*wk_[0], 3);  // 2 more into the ring (7 again: full)
  EXPECT_EQ(rte_ring_count(rings_.ring(0, 1)), 7u);
  EXPECT_EQ(wk_[0]->held_total, 0u);
  arrive(0, {short_header(1, 52), short_header(1, 53), short_header(1, 54)});
  poll_once(*wk_[0], 4);
  EXPECT_EQ(wk_[0]->held_total, 3u);
  // Quit: nothing runs any more. 7 wait in the ring to worker 1, 3 in worker 0's backlog.
  EXPECT_EQ(rings_.drain(workers_, 2), 10u);
  EXPECT_EQ(st(0).steer_drained, 3u);
  EXPECT_EQ(st(1).steer_drained, 7u);
  EXPECT_EQ(wk_[0]->held_total, 0u);
  EXPECT_EQ(rte_ring_count(rings_.ring(0, 1)), 0u);
  // Every steered datagram is accounted for: handled by its owner, or drained.
  EXPECT_EQ(st(0).steered_out, st(1).steered_in + st(1).steer_drained);
  discard(tx_rings_[0]);
  discard(tx_rings_[1]);
  EXPECT_EQ(rte_mempool_avail_count(pools_[0]), avail_before_[0]);
  EXPECT_EQ(rte_mempool_avail_count(pools_[1]), avail_before_[1]);
}

TEST_F(SteerTest, ConcurrentWorkersHandOverEverythingInOrder) {
  make_rings(64);  // small, so the backlog and rx pause really happen under load
  ASSERT_NE(rte_get_next_lcore(rte_get_main_lcore(), 1, 0), RTE_MAX_LCORE);
  const unsigned lcore1 = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
  ASSERT_EQ(rte_eal_remote_launch(worker_main, wk_[1].get(), lcore1), 0);
  constexpr unsigned kTotal = 3000;
  std::vector<std::string> want1;
  unsigned sent_total = 0;
  uint64_t t = 1;
  for (; sent_total < kTotal; ++t) {
    // Keep worker 0's rx ring fed, as a busy NIC queue would be.
    std::vector<std::string> batch;
    while (batch.size() < 200 && sent_total < kTotal) {
      batch.push_back(short_header(1, sent_total++));
      want1.push_back(batch.back());
    }
    while (rte_ring_free_count(rx_rings_[0]) < batch.size()) poll_once(*wk_[0], ++t);
    arrive(0, batch);
    poll_once(*wk_[0], t);
  }
  // Worker 0 keeps turning until worker 1 has everything; on a loaded machine worker 1's thread
  // may not run for a while, so the bound is time, not turns.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ep_[1]->count.load(std::memory_order_acquire) < kTotal &&
         std::chrono::steady_clock::now() < deadline) {
    poll_once(*wk_[0], ++t);
    sched_yield();
  }
  quit_.store(true);
  rte_eal_wait_lcore(lcore1);
  rings_.drain(workers_, 2);
  EXPECT_EQ(ep_[1]->got, want1);
  EXPECT_EQ(st(0).steered_out, kTotal);
  EXPECT_EQ(st(1).steered_in, kTotal);
  EXPECT_EQ(st(1).steer_drained, 0u);
  EXPECT_GT(st(0).steer_held, 0u) << "the ring never filled: the test did not load it";
  EXPECT_GT(st(0).steer_rx_paused, 0u);
  EXPECT_EQ(st(0).dropped() + st(1).dropped(), 0u);
  discard(tx_rings_[1]);
  EXPECT_EQ(rte_mempool_avail_count(pools_[0]), avail_before_[0]);
}

}  // namespace
}  // namespace camp::dpdk
