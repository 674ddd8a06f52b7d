// Handshake features end to end: Retry (and a tampered Retry), session resumption, NEW_TOKEN
// address validation, and Version Negotiation.
#include <gtest/gtest.h>

#include "dataplane/quic/wire/packet_header.h"
#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

bool is_retry(const uint8_t* d, uint16_t len) {
  // Long header (0x80), fixed bit, type 3 (RFC 9000 17.2.5), version 1.
  return len > 5 && (d[0] & 0xf0) == 0xf0 && d[1] == 0 && d[2] == 0 && d[3] == 0 && d[4] == 1;
}

TEST(QuicConnHandshake, RetryThenTransfer) {
  Harness h(20000, LinkConfig{}, /*retry=*/true);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_TRUE(c->retried());
  EXPECT_EQ(h.server->counters().retries_sent, 1u);
  EXPECT_EQ(h.server->counters().accepted, 1u);
  EXPECT_EQ(h.client_app.received, 20000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_TRUE(h.server_conn()->peer_address_validated());
}

TEST(QuicConnHandshake, TamperedRetryIsIgnored) {
  Harness h(1000, LinkConfig{}, /*retry=*/true);
  int tampered = 0;
  h.client_proxy.rx_hook = [&](uint8_t* d, uint16_t& len) {
    if (is_retry(d, len)) {
      d[len - 1] ^= 0x01;  // the last byte of the integrity tag
      ++tampered;
    }
    return true;
  };
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  const uint64_t id = c->id();
  h.sim.run_until(2 * kSecond);
  ASSERT_GE(tampered, 1);
  c = h.client->find(id);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->retried());
  EXPECT_FALSE(c->handshake_complete());
  EXPECT_GE(c->stats().drop_decrypt, 1u);
  EXPECT_EQ(h.server->counters().accepted, 0u);
  EXPECT_GE(h.server->counters().retries_sent, 1u);

  // Once Retry packets arrive intact, the same connection goes on (its Initials are resent).
  h.client_proxy.rx_hook = nullptr;
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 10 * kSecond));
  EXPECT_TRUE(c->retried());
}

TEST(QuicConnHandshake, ResumptionWithSessionTicket) {
  Harness h(5000);
  h.client_proxy.poll_ns = 10 * kMillisecond;  // the close below comes from outside
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin && !c->session_data().empty(); },
                              5 * kSecond));
  EXPECT_FALSE(c->tls()->resumed());
  std::vector<uint8_t> session = c->session_data();
  ASSERT_FALSE(session.empty());
  c->close(0, "done");
  ASSERT_TRUE(h.sim.run_until(
      [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
      5 * kSecond));

  h.client_app.reset(7000);
  ConnectionConfig cfg;
  cfg.resumption_data = session;
  Connection* c2 = h.connect(cfg);
  ASSERT_NE(c2, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_TRUE(c2->tls()->resumed());
  EXPECT_EQ(h.client_app.received, 7000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_TRUE(h.server_conn()->tls()->resumed());
}

TEST(QuicConnHandshake, NewTokenSkipsRetry) {
  Harness h(1000, LinkConfig{}, /*retry=*/true);
  h.client_proxy.poll_ns = 10 * kMillisecond;  // the closes below come from outside
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin && !h.client_app.token.empty(); },
                              5 * kSecond));
  EXPECT_EQ(h.server->counters().retries_sent, 1u);
  const std::vector<uint8_t> token = h.client_app.token;
  c->close(0, "done");
  ASSERT_TRUE(h.sim.run_until(
      [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
      5 * kSecond));

  h.client_app.reset(3000);
  ConnectionConfig cfg;
  cfg.token = token;
  Connection* c2 = h.connect(cfg);
  ASSERT_NE(c2, nullptr);
  // The server accepts the first Initial at once and knows the address is valid.
  ASSERT_TRUE(h.sim.run_until([&] { return h.server->connection_count() == 1; }, kSecond));
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_TRUE(h.server_conn()->peer_address_validated());
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(h.server->counters().retries_sent, 1u);  // no second Retry
  EXPECT_FALSE(c2->retried());
  EXPECT_EQ(h.client_app.received, 3000u);

  // A tampered token validates nothing: the server goes on as without one (RFC 9000 8.1.3),
  // here with a Retry.
  c2->close(0, "done");
  ASSERT_TRUE(h.sim.run_until([&] { return h.client->connection_count() == 0; }, 5 * kSecond));
  h.client_app.reset(100);
  cfg.token.back() ^= 0x40;
  Connection* c3 = h.connect(cfg);
  ASSERT_NE(c3, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_TRUE(c3->retried());
  EXPECT_EQ(h.server->counters().retries_sent, 2u);
}

// Feeds one datagram straight into an endpoint, as a driver does, and collects its replies.
struct DirectFeed {
  explicit DirectFeed(QuicEndpoint& ep) : ep(ep) {
    for (size_t i = 0; i < 8; ++i) {
      slots[i].data = bufs[i];
      slots[i].cap = sizeof bufs[i];
    }
  }
  uint16_t feed(std::vector<uint8_t> d, TimeNs now) {
    rx_buf = std::move(d);
    RxDatagram rx;
    rx.data = rx_buf.data();
    rx.len = static_cast<uint16_t>(rx_buf.size());
    rx.room = rx.len;
    const uint8_t ip[4] = {192, 0, 2, 7};
    rx.tuple.remote = IpAddr::v4(ip);
    rx.tuple.remote_port = 4433;
    TxBatch tx(slots, 8);
    ep.on_datagrams(&rx, 1, now, tx, stats);
    return tx.used();
  }
  QuicEndpoint& ep;
  std::vector<uint8_t> rx_buf;
  uint8_t bufs[8][2048];
  TxSlot slots[8];
  WorkerStats stats;
};

std::vector<uint8_t> long_header(uint32_t version, size_t total, uint8_t dcid_len = 8) {
  std::vector<uint8_t> d(total, 0);
  size_t o = 0;
  d[o++] = 0xc0;
  d[o++] = static_cast<uint8_t>(version >> 24);
  d[o++] = static_cast<uint8_t>(version >> 16);
  d[o++] = static_cast<uint8_t>(version >> 8);
  d[o++] = static_cast<uint8_t>(version);
  d[o++] = dcid_len;
  for (uint8_t i = 0; i < dcid_len; ++i) d[o++] = static_cast<uint8_t>(0xd0 + i);
  d[o++] = 4;
  for (uint8_t i = 0; i < 4; ++i) d[o++] = static_cast<uint8_t>(0x50 + i);
  return d;
}

TEST(QuicConnHandshake, VersionNegotiation) {
  Harness h(0);
  DirectFeed f(*h.server);
  ASSERT_EQ(f.feed(long_header(0x1a2a3a4a, 1200), 0), 1);
  EXPECT_EQ(f.stats.drops[static_cast<size_t>(DropReason::quic_version)], 1u);
  EXPECT_EQ(h.server->counters().version_negotiations_sent, 1u);
  const TxSlot& s = f.slots[0];
  ASSERT_GE(s.len, 7 + 4 + 8 + 4);
  EXPECT_NE(s.data[0] & 0x80, 0);
  EXPECT_EQ(s.data[1] | s.data[2] | s.data[3] | s.data[4], 0);  // version 0
  // DCID of the reply = the client's SCID, SCID = the client's DCID (RFC 9000 17.2.1).
  ASSERT_EQ(s.data[5], 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(s.data[6 + i], 0x50 + i);
  ASSERT_EQ(s.data[10], 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(s.data[11 + i], 0xd0 + i);
  bool has_v1 = false;
  for (size_t o = 19; o + 4 <= s.len; o += 4) {
    const uint32_t v = (uint32_t{s.data[o]} << 24) | (uint32_t{s.data[o + 1]} << 16) |
                       (uint32_t{s.data[o + 2]} << 8) | s.data[o + 3];
    if (v == kQuicVersion1) has_v1 = true;
    EXPECT_NE(v, 0x1a2a3a4au);
  }
  EXPECT_TRUE(has_v1);
  EXPECT_EQ(s.tuple.remote_port, 4433);

  // Under 1200 bytes it may be an amplification attempt: dropped without an answer.
  EXPECT_EQ(f.feed(long_header(0x1a2a3a4a, 600), 0), 0);
  EXPECT_EQ(f.stats.drops[static_cast<size_t>(DropReason::quic_version)], 2u);
  EXPECT_EQ(h.server->counters().version_negotiations_sent, 1u);
}

}  // namespace
}  // namespace camp::quic
