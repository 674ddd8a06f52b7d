// Connection features end to end: key updates, DATAGRAM, closes (application and protocol
// violation), idle timeout and stateless reset.
#include <gtest/gtest.h>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

TEST(QuicConnFeatures, KeyUpdatesDuringTransfer) {
  HarnessOptions o;
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.key_update_interval = 200; };
  Harness h(5 << 20, o);
  h.client_proxy.poll_ns = 10 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 20 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{5} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_GE(s->key_generation(), 2u);
  EXPECT_GE(c->key_generation(), 2u);
  EXPECT_EQ(s->stats().drop_decrypt, 0u);
  EXPECT_EQ(c->stats().drop_decrypt, 0u);

  // The client starts one itself, once a packet of its current phase was acknowledged (a new
  // request); the server follows and the connection keeps working.
  h.client_app.request(*c, 1000);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  h.sim.run_for(100 * kMillisecond);
  const uint64_t before = c->key_generation();
  const uint64_t server_before = s->key_generation();
  ASSERT_TRUE(c->initiate_key_update());
  EXPECT_EQ(c->key_generation(), before + 1);
  EXPECT_FALSE(c->initiate_key_update());  // not again before the peer answered
  h.client_app.request(*c, 100000);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(h.client_app.received, 100000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  // The server follows (or had started the same update itself): both end in one phase.
  EXPECT_GE(s->key_generation(), server_before);
  EXPECT_GE(c->key_generation(), before + 1);
  EXPECT_EQ(s->key_generation(), c->key_generation());
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

TEST(QuicConnFeatures, DatagramsBothWaysOnLossyLink) {
  LinkConfig link;
  link.loss = 0.05;
  Harness h(0, HarnessOptions{.link = link});
  h.client_app.auto_request = false;
  constexpr int kCount = 300;
  int sent = 0;
  int refused_big = 0;
  h.client_app.hook = [&](Connection& c, TimeNs) {
    if (!c.handshake_complete() || c.closed()) return;
    if (sent == 0) {
      // The peer allows frames of 1200 bytes: type, length and data must fit that.
      std::vector<uint8_t> big(1200, 1);
      uint64_t id;
      if (!c.send_datagram(big, &id)) ++refused_big;
    }
    while (sent < kCount && c.datagrams_queued() < 8) {
      std::vector<uint8_t> d(100, static_cast<uint8_t>(sent));
      uint64_t id = 0;
      ASSERT_TRUE(c.send_datagram(d, &id));
      EXPECT_EQ(id, static_cast<uint64_t>(sent));
      ++sent;
    }
  };
  h.client_proxy.poll_ns = 5 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until(
      [&] { return sent == kCount && h.client_app.dg_acked + h.client_app.dg_lost == kCount; },
      20 * kSecond))
      << "sent " << sent << " acked " << h.client_app.dg_acked << " lost " << h.client_app.dg_lost;
  EXPECT_EQ(refused_big, 1);
  EXPECT_GT(h.client_app.dg_lost, 0);
  EXPECT_GT(h.client_app.dg_acked, kCount * 8 / 10);
  h.sim.run_for(kSecond);
  // Every acknowledged datagram reached the server application; lost ones did not all.
  EXPECT_GE(h.server_app.datagrams, h.client_app.dg_acked);
  EXPECT_LT(h.server_app.datagrams, kCount);
  EXPECT_GT(h.client_app.echoed.size(), static_cast<size_t>(kCount * 8 / 10));
  for (const auto& d : h.client_app.echoed) {
    ASSERT_EQ(d.size(), 100u);
    EXPECT_EQ(d.front(), d.back());
  }
  EXPECT_EQ(c->stats().stream_bytes_retransmitted, 0u);
}

TEST(QuicConnFeatures, DatagramLimits) {
  HarnessOptions o;
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.max_datagram_frame_size = 100; };
  Harness h(1000, o);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->send_datagram(std::vector<uint8_t>(10, 0), nullptr));  // not negotiated yet
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  // The frame (type, 2-byte length, data) must fit the peer's 100 bytes.
  EXPECT_FALSE(c->send_datagram(std::vector<uint8_t>(98, 0), nullptr));  // 1 + 2 + 98
  EXPECT_TRUE(c->send_datagram(std::vector<uint8_t>(97, 0), nullptr));   // 1 + 2 + 97
  EXPECT_FALSE(c->send_datagram(std::vector<uint8_t>(500, 0), nullptr));

  // No max_datagram_frame_size from the peer: DATAGRAM is not negotiated at all.
  HarnessOptions o2;
  o2.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.max_datagram_frame_size.reset(); };
  Harness h2(1000, o2);
  Connection* c2 = h2.connect();
  ASSERT_NE(c2, nullptr);
  ASSERT_TRUE(h2.sim.run_until([&] { return h2.client_app.fin; }, 5 * kSecond));
  EXPECT_FALSE(c2->send_datagram(std::vector<uint8_t>(10, 0), nullptr));
}

TEST(QuicConnFeatures, ApplicationCloseReachesPeerAndBothAreReaped) {
  Harness h(50000);
  h.client_proxy.poll_ns = 10 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  c->close(0x1234, "bye now");
  ASSERT_TRUE(h.sim.run_until([&] { return h.server_app.closed == 1; }, 5 * kSecond));
  EXPECT_TRUE(h.server_app.last_close.by_peer);
  EXPECT_TRUE(h.server_app.last_close.application);
  EXPECT_EQ(h.server_app.last_close.error_code, 0x1234u);
  EXPECT_EQ(h.server_app.last_close.reason, "bye now");
  ASSERT_TRUE(h.sim.run_until(
      [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
      2 * kSecond));
  EXPECT_TRUE(h.client_app.closed);
  EXPECT_FALSE(h.client_app.close.by_peer);
  EXPECT_TRUE(h.client_app.close.application);
  EXPECT_EQ(h.client->counters().closed, 1u);
  EXPECT_EQ(h.server->counters().closed, 1u);
  // Nothing left to do: both endpoints go quiet.
  h.client_proxy.poll_ns = 0;
  h.sim.run_for(10 * kSecond);
  EXPECT_TRUE(h.sim.idle());
}

TEST(QuicConnFeatures, StreamLimitViolationClosesWithTransportError) {
  HarnessOptions o;
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.initial_max_streams_bidi = 2; };
  Harness h(0, o);
  h.client_app.auto_request = false;
  int opened = 0;
  h.client_app.hook = [&](Connection& c, TimeNs) {
    if (!c.handshake_complete() || opened > 0 || c.closed()) return;
    // Make the client believe the server allows 10 streams, then open 3.
    TransportParameters lie = default_tp();
    lie.initial_max_streams_bidi = 10;
    c.streams().on_peer_transport_parameters(lie);
    for (int i = 0; i < 3; ++i) {
      auto id = c.streams().open_stream(true);
      ASSERT_TRUE(id);
      const uint8_t req[] = {'1', '0'};
      c.streams().write(*id, req, true);
      ++opened;
    }
  };
  ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.closed && h.server_app.closed; },
                              5 * kSecond));
  EXPECT_EQ(opened, 3);
  EXPECT_FALSE(h.server_app.last_close.by_peer);
  EXPECT_FALSE(h.server_app.last_close.application);
  EXPECT_EQ(h.server_app.last_close.error_code,
            static_cast<uint64_t>(TransportError::STREAM_LIMIT_ERROR));
  EXPECT_TRUE(h.client_app.close.by_peer);
  EXPECT_FALSE(h.client_app.close.application);
  EXPECT_EQ(h.client_app.close.error_code,
            static_cast<uint64_t>(TransportError::STREAM_LIMIT_ERROR));
  EXPECT_EQ(h.client->connection_count(), 0u);
  EXPECT_EQ(h.server->connection_count(), 0u);
}

TEST(QuicConnFeatures, IdleTimeoutClosesBothSides) {
  HarnessOptions o;
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.max_idle_timeout = 2000; };
  Harness h(1000, o);
  ConnectionConfig cfg;
  cfg.local_tp = default_tp();
  cfg.local_tp.max_idle_timeout = 1000;  // the smaller one wins (RFC 9000 10.1)
  ASSERT_NE(h.connect(cfg), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  const TimeNs done = h.sim.now();
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.closed; }, 5 * kSecond));
  EXPECT_TRUE(h.client_app.close.idle_timeout);
  EXPECT_FALSE(h.client_app.close.by_peer);
  const TimeNs client_closed = h.sim.now();
  EXPECT_GE(client_closed, done + 900 * kMillisecond);
  EXPECT_LE(client_closed, done + 1100 * kMillisecond);
  ASSERT_TRUE(h.sim.run_until([&] { return h.server_app.closed == 1; }, 2 * kSecond));
  EXPECT_TRUE(h.server_app.last_close.idle_timeout);
  EXPECT_LE(h.sim.now(), done + 1100 * kMillisecond);
  EXPECT_EQ(h.server->connection_count(), 0u);
  EXPECT_EQ(h.client->connection_count(), 0u);
}

TEST(QuicConnFeatures, StatelessResetAfterServerRestart) {
  Harness h(1000);
  h.client_proxy.poll_ns = 10 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  h.sim.run_for(500 * kMillisecond);
  // The server restarts: same seed (same reset key), no connections.
  h.make_server();
  EXPECT_EQ(h.server->connection_count(), 0u);
  // The client sends a 1-RTT packet (a new request): it gets a Stateless Reset back.
  h.client_app.request(*c, 5);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.closed; }, 2 * kSecond));
  EXPECT_TRUE(h.client_app.close.stateless_reset);
  EXPECT_TRUE(h.client_app.close.by_peer);
  EXPECT_GE(h.server->counters().stateless_resets_sent, 1u);
  EXPECT_GE(h.drops(DropReason::quic_unknown_connection), 1u);
  EXPECT_EQ(h.client->connection_count(), 0u);
  EXPECT_LE(h.sim.now(), 500 * kMillisecond + 5 * kSecond);
}

}  // namespace
}  // namespace camp::quic
