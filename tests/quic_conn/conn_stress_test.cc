// Sweeps over seeds and awkward settings: lossy handshakes, duplication and reordering, tight
// flow-control windows, several connections at once, a close before the handshake ends.
#include <gtest/gtest.h>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

TEST(QuicConnStress, LossyHandshakesOverManySeeds) {
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    LinkConfig link;
    link.loss = 0.25;
    link.duplicate = 0.05;
    link.reorder = 0.1;
    link.reorder_delay_ns = 15 * kMillisecond;
    Harness h(30000, HarnessOptions{.link = link, .retry = seed % 2 == 0, .seed = seed});
    ASSERT_NE(h.connect(), nullptr);
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond))
        << "seed " << seed << " received " << h.client_app.received << " closed "
        << h.client_app.closed << " " << h.client_app.close.reason;
    EXPECT_EQ(h.client_app.received, 30000u) << "seed " << seed;
    EXPECT_EQ(h.client_app.corrupt, 0u) << "seed " << seed;
  }
}

TEST(QuicConnStress, TightFlowControlWindows) {
  ConnectionConfig cfg;
  cfg.local_tp = default_tp();
  cfg.local_tp.initial_max_data = 20000;
  cfg.local_tp.initial_max_stream_data_bidi_local = 8000;
  LinkConfig link;
  link.loss = 0.02;
  link.jitter_ns = 3 * kMillisecond;
  link.jitter_reorders = true;
  Harness h(1 << 20, link);
  ASSERT_NE(h.connect(cfg), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond))
      << "received " << h.client_app.received;
  EXPECT_EQ(h.client_app.received, uint64_t{1} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
}

// Several client endpoints (one per address) share a server.
TEST(QuicConnStress, ConcurrentConnections) {
  Harness h(200000);
  constexpr int kClients = 5;
  std::vector<std::unique_ptr<ClientApp>> apps;
  std::vector<std::unique_ptr<QuicEndpoint>> eps;
  const LinkConfig link = link_of(5 * kMillisecond, 50'000'000, 200);
  for (int i = 0; i < kClients; ++i) {
    apps.push_back(std::make_unique<ClientApp>(100000 + i));
    eps.push_back(std::make_unique<QuicEndpoint>(small_client_config(100 + i), *h.client_tls,
                                                 apps.back().get()));
    const Address a = Address::v4(198, 18, 1, static_cast<uint8_t>(i + 1), 40000);
    const sim::NodeId n = h.sim.add_node(*eps.back());
    ASSERT_TRUE(h.sim.add_address(n, a));
    ASSERT_TRUE(h.sim.add_path(a, h.srv_addr, link, link).valid());
    ConnectionConfig cfg;
    cfg.local_tp = default_tp();
    cfg.server_name = "server.test";
    Tuple t;
    t.local = a.ip;
    t.local_port = a.port;
    t.remote = h.srv_addr.ip;
    t.remote_port = h.srv_addr.port;
    ASSERT_NE(eps.back()->connect(t, 0, cfg), nullptr);
  }
  ASSERT_TRUE(h.sim.run_until(
      [&] {
        for (auto& a : apps) {
          if (!a->fin) return false;
        }
        return true;
      },
      10 * kSecond));
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(apps[i]->received, 100000u + i);
    EXPECT_EQ(apps[i]->corrupt, 0u);
  }
  EXPECT_EQ(h.server->connection_count(), static_cast<size_t>(kClients));
  EXPECT_EQ(h.server->counters().accepted, static_cast<uint64_t>(kClients));
}

// Many client endpoints on one server, connecting at scattered times (sim.at(): from outside
// any endpoint call), a third of them closing from outside part-way through their transfer. The
// server's deadline heap must serve every connection: each transfer that is not closed
// completes whole, each close reaches the server, and the heap stays bounded.
TEST(QuicConnStress, ScatteredConnectsAndOutOfBandClosesAreAllServed) {
  HarnessOptions o;
  o.server_cfg = [](QuicEndpointConfig& c) { c.max_connections = 64; };
  Harness h(0, o);
  constexpr int kClients = 24;
  std::vector<std::unique_ptr<ClientApp>> apps;
  std::vector<std::unique_ptr<QuicEndpoint>> eps;
  std::vector<std::unique_ptr<ProxyEndpoint>> proxies;  // run each client every millisecond
  std::vector<Connection*> conns(kClients, nullptr);
  const LinkConfig link = link_of(5 * kMillisecond, 20'000'000, 100);
  uint32_t rng = 99;
  auto next = [&] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  size_t most_heap = 0;
  for (int i = 0; i < kClients; ++i) {
    apps.push_back(std::make_unique<ClientApp>(50'000 + 20'000 * (next() % 20)));
    eps.push_back(std::make_unique<QuicEndpoint>(small_client_config(300 + i), *h.client_tls,
                                                 apps.back().get()));
    proxies.push_back(std::make_unique<ProxyEndpoint>());
    proxies.back()->inner = eps.back().get();
    proxies.back()->poll_ns = kMillisecond;
    const Address a = Address::v4(198, 18, 2, static_cast<uint8_t>(i + 1), 40000);
    const sim::NodeId n = h.sim.add_node(*proxies.back());
    ASSERT_TRUE(h.sim.add_address(n, a));
    ASSERT_TRUE(h.sim.add_path(a, h.srv_addr, link, link).valid());
    const TimeNs start = (next() % 400) * kMillisecond;
    ASSERT_TRUE(h.sim.at(start, [&, i, a] {
      ConnectionConfig cfg;
      cfg.local_tp = default_tp();
      cfg.server_name = "server.test";
      conns[i] = eps[i]->connect(tuple_from(a, h.srv_addr), h.sim.now(), cfg);
    }));
    if (i % 3 == 0) {
      // Closed from outside once a quarter of its bytes arrived.
      apps[i]->hook = [&, i](Connection&, TimeNs) {
        if (apps[i]->received >= apps[i]->want_ / 4 && !apps[i]->fin) {
          h.sim.at(h.sim.now() + kMillisecond, [&, i] {
            if (conns[i] && !conns[i]->closed()) conns[i]->close(0, "enough");
          });
          apps[i]->hook = nullptr;
        }
      };
    }
  }
  ASSERT_TRUE(h.sim.run_until(
      [&] {
        most_heap = std::max(most_heap, h.server->wake_entries());
        for (int i = 0; i < kClients; ++i) {
          if (i % 3 != 0 && !apps[i]->fin) return false;
        }
        return h.server->connection_count() == kClients - (kClients + 2) / 3;
      },
      20 * kSecond))
      << "server connections left " << h.server->connection_count() << ", closed "
      << h.server->counters().closed << ", accepted " << h.server->counters().accepted;
  for (int i = 0; i < kClients; ++i) {
    if (i % 3 == 0) continue;
    EXPECT_EQ(apps[i]->received, apps[i]->want_) << i;
    EXPECT_EQ(apps[i]->corrupt, 0u) << i;
  }
  EXPECT_EQ(h.server->counters().accepted, static_cast<uint64_t>(kClients));
  EXPECT_EQ(h.server->counters().closed, static_cast<uint64_t>((kClients + 2) / 3));
  EXPECT_GT(most_heap, 0u);
  EXPECT_LE(most_heap, 2u * kClients + 64);
}

TEST(QuicConnStress, CloseDuringHandshake) {
  Harness h(1000);
  h.client_proxy.poll_ns = kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  // The server's first flight is on its way; the client gives up.
  h.sim.run_until(15 * kMillisecond);
  ASSERT_FALSE(c->handshake_complete());
  c->close(7, "changed my mind");
  ASSERT_TRUE(h.sim.run_until(
      [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
      5 * kSecond))
      << "client " << h.client->connection_count() << " server " << h.server->connection_count();
  EXPECT_EQ(h.server_app.closed, 1);
  EXPECT_TRUE(h.server_app.last_close.by_peer);
  // Before 1-RTT an application close goes out as a transport APPLICATION_ERROR (10.2.3).
  EXPECT_FALSE(h.server_app.last_close.application);
  EXPECT_EQ(h.server_app.last_close.error_code,
            static_cast<uint64_t>(TransportError::APPLICATION_ERROR));
}

}  // namespace
}  // namespace camp::quic
