// Robustness end to end: the anti-amplification limit, hostile datagrams at the server, a long
// transfer at a fixed rate, and bursty and heavy loss.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "drivers/sim/rng.h"
#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

TEST(QuicConnRobustness, AntiAmplificationLimit) {
  Harness h(1000);
  // The client's first Initial arrives after ~10 ms; then the client is cut off.
  ASSERT_TRUE(h.sim.cut_link_at(h.path.ab, 15 * kMillisecond));
  ASSERT_NE(h.connect(), nullptr);
  h.sim.run_until(8 * kSecond);
  const sim::LinkCounters& up = h.sim.counters(h.path.ab);
  const sim::LinkCounters& down = h.sim.counters(h.path.ba);
  EXPECT_EQ(up.delivered, 1u);
  EXPECT_GE(up.delivered_bytes, 1200u);
  EXPECT_GT(down.sent_bytes, 0u);
  EXPECT_LE(down.sent_bytes, 3 * up.delivered_bytes);
  EXPECT_GT(h.server->counters().accepted, 0u);
  EXPECT_FALSE(h.client_app.fin);
  // No busy loop while blocked: a few timer calls per PTO, not thousands.
  EXPECT_LT(h.sim.sim_counters().timer_calls, 2000u);
}

// A node that sends a list of datagrams to the server from its own address.
class Injector final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram*, size_t n, uint64_t, TxBatch&, WorkerStats&) override {
    received += n;
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats&) override {
    while (next < queue.size()) {
      TxSlot* s = tx.acquire();
      if (!s) return now + kMillisecond;
      const std::vector<uint8_t>& d = queue[next++];
      std::memcpy(s->data, d.data(), d.size());
      s->len = static_cast<uint16_t>(d.size());
      s->tuple = to;
      tx.commit();
    }
    return kNever;
  }
  std::vector<std::vector<uint8_t>> queue;
  size_t next = 0;
  size_t received = 0;
  Tuple to;
};

std::vector<uint8_t> initial_header(size_t total, uint8_t dcid_len, uint8_t type_bits = 0x00) {
  std::vector<uint8_t> d(total, 0x5a);
  size_t o = 0;
  d[o++] = static_cast<uint8_t>(0xc0 | type_bits);
  d[o++] = 0;
  d[o++] = 0;
  d[o++] = 0;
  d[o++] = 1;
  d[o++] = dcid_len;
  for (uint8_t i = 0; i < dcid_len; ++i) d[o++] = static_cast<uint8_t>(0x30 + i);
  d[o++] = 0;  // SCID
  if (type_bits == 0x00) d[o++] = 0;  // Initial: empty token
  const size_t rest = total - o - 2;
  d[o++] = static_cast<uint8_t>(0x40 | (rest >> 8));
  d[o++] = static_cast<uint8_t>(rest & 0xff);
  return d;
}

TEST(QuicConnRobustness, HostileDatagramsAreDroppedAndCounted) {
  Harness h(1000);
  h.client_proxy.poll_ns = 10 * kMillisecond;  // the client connects later, from outside
  Injector inj;
  const Address inj_addr = Address::v4(198, 18, 0, 66, 1234);
  const sim::NodeId in = h.sim.add_node(inj, 20 * kMillisecond);
  ASSERT_TRUE(h.sim.add_address(in, inj_addr));
  LinkConfig l;
  l.delay_ns = kMillisecond;
  ASSERT_TRUE(h.sim.add_path(inj_addr, h.srv_addr, l, l).valid());
  inj.to.local = inj_addr.ip;
  inj.to.local_port = inj_addr.port;
  inj.to.remote = h.srv_addr.ip;
  inj.to.remote_port = h.srv_addr.port;

  sim::Rng rng(99, 1);
  size_t expected = 0;
  // Random garbage of every size: whatever it parses as, it is dropped and counted once.
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> d(1 + rng.below(1400));
    for (auto& b : d) b = static_cast<uint8_t>(rng.next());
    inj.queue.push_back(d);
  }
  const size_t garbage = inj.queue.size();
  // Well-formed Initial headers with garbage inside: a connection must not be left behind.
  for (int i = 0; i < 5; ++i) {
    auto d = initial_header(1200, 8);
    d[6] = static_cast<uint8_t>(i);
    inj.queue.push_back(d);
  }
  // Truncated Initials.
  const std::vector<uint8_t> whole = initial_header(1200, 8);
  for (size_t len : {1, 5, 6, 10, 16, 40}) {
    inj.queue.push_back(std::vector<uint8_t>(whole.begin(), whole.begin() + len));
  }
  inj.queue.push_back(initial_header(300, 8));    // under 1200 bytes
  inj.queue.push_back(initial_header(1199, 8));
  inj.queue.push_back(initial_header(1200, 4));   // DCID too short
  inj.queue.push_back(initial_header(1200, 8, 0x20));  // Handshake for no connection
  // Short headers for unknown connection IDs (large enough to be answered by a reset).
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> d(60 + i);
    for (auto& b : d) b = static_cast<uint8_t>(rng.next());
    d[0] = 0x40 | (d[0] & 0x3f);
    inj.queue.push_back(d);
  }
  expected = inj.queue.size();

  h.sim.run_until(3 * kSecond);
  EXPECT_EQ(inj.next, expected);
  const WorkerStats& st = h.sim.stats(h.sn);
  EXPECT_EQ(st.dropped(), expected) << "every hostile datagram is dropped exactly once";
  EXPECT_GE(h.drops(DropReason::quic_header), 6u);
  EXPECT_EQ(h.drops(DropReason::quic_initial_too_small), 2u);
  EXPECT_EQ(h.drops(DropReason::quic_short_dcid), 1u);
  EXPECT_GE(h.drops(DropReason::quic_not_initial), 1u);
  EXPECT_GE(h.drops(DropReason::quic_unknown_connection), 5u);
  EXPECT_GE(h.drops(DropReason::quic_undecryptable), 5u);
  EXPECT_GT(garbage, 0u);
  EXPECT_EQ(h.server->connection_count(), 0u) << "undecryptable Initials leave no state";

  // The server still serves a real client afterwards.
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond))
      << "server conns " << h.server->connection_count() << " accepted "
      << h.server->counters().accepted << " client closed " << h.client_app.closed << " "
      << h.client_app.close.reason << " drops " << h.sim.stats(h.sn).dropped() << " client drops "
      << c->stats().drop_decrypt << " " << c->stats().drop_header << " " << c->stats().drop_no_keys;
  EXPECT_EQ(h.client_app.corrupt, 0u);
}

TEST(QuicConnRobustness, ThirtySecondsAtTwentyMegabits) {
  LinkConfig link;
  link.rate_bps = 20'000'000;
  link.delay_ns = 20 * kMillisecond;
  link.jitter_ns = 2 * kMillisecond;
  link.loss = 0.01;
  link.queue_packets = 200;
  link.overhead_bytes = 28;
  // About 30 s of the link's capacity. 1% random loss holds a loss-based controller far below
  // the link rate (Mathis: ~1.2 MSS / (RTT sqrt(p)), about 3 Mb/s here), so the server runs BBR.
  const uint64_t want = 60 << 20;
  HarnessOptions o;
  o.link = link;
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.cc = CcAlgorithm::kBbr; };
  Harness h(want, o);
  ASSERT_NE(h.connect(), nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const bool ok = h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond);
  const double real_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(ok) << "received " << h.client_app.received;
  EXPECT_EQ(h.client_app.received, want);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  const double virt_s = static_cast<double>(h.client_app.done_at) / 1e9;
  const double goodput = static_cast<double>(want) * 8 / virt_s;
  std::printf("[ perf     ] %.1f MB in %.2f s virtual (%.2f Mb/s goodput, %.0f%% of link), "
              "%.3f s real\n",
              want / 1e6, virt_s, goodput / 1e6, 100 * goodput / link.rate_bps, real_s);
  EXPECT_GE(goodput, 0.7 * link.rate_bps);
}

TEST(QuicConnRobustness, BurstLossTransferIntact) {
  LinkConfig link;
  link.burst_loss.p = 0.01;
  link.burst_loss.r = 0.25;
  link.burst_loss.loss_bad = 0.7;
  Harness h(3 << 20, link);
  ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond))
      << "received " << h.client_app.received;
  EXPECT_EQ(h.client_app.received, uint64_t{3} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_GT(h.sim.counters(h.path.ba).dropped_burst_loss, 0u);
}

TEST(QuicConnRobustness, TenPercentLossTransferIntact) {
  LinkConfig link;
  link.loss = 0.10;
  Harness h(2 << 20, link);
  ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 120 * kSecond))
      << "received " << h.client_app.received;
  EXPECT_EQ(h.client_app.received, uint64_t{2} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_GT(h.sim.counters(h.path.ba).dropped_loss, 0u);
}

}  // namespace
}  // namespace camp::quic
