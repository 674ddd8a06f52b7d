// Client and server QuicEndpoints joined by the simulator: the real connection code over links
// with delay, rate, loss and reordering, in virtual time.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

TEST(QuicConn, HandshakeAndSmallTransfer) {
  Harness h(1000);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr) << h.client->last_error();
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(h.client_app.received, 1000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_TRUE(c->established());
  EXPECT_EQ(c->tls()->alpn(), "camp-test");
  EXPECT_EQ(h.server->connection_count(), 1u);
}

TEST(QuicConn, TenMegabytesOverLossyReorderingLink) {
  LinkConfig link;
  link.loss = 0.02;
  link.reorder = 0.02;
  link.reorder_delay_ns = 5 * kMillisecond;
  Harness h(10 << 20, link);
  ASSERT_NE(h.connect(), nullptr);
  const bool ok = h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond);
  EXPECT_TRUE(ok) << "received " << h.client_app.received << " at " << h.sim.now()
                  << " closed " << h.client_app.closed << " reason " << h.client_app.close.reason
                  << " code " << h.client_app.close.error_code << " server closes "
                  << h.server_app.closed << " " << h.server_app.last_close.reason;
  EXPECT_EQ(h.client_app.received, uint64_t{10} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  // What was lost went again, and is counted as such: more STREAM bytes sent than the file, by
  // exactly the retransmitted ones.
  const Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_GT(s->stats().packets_lost, 0u);
  EXPECT_GT(s->stats().stream_bytes_retransmitted, 0u);
  EXPECT_EQ(s->stats().stream_bytes_sent - s->stats().stream_bytes_retransmitted,
            uint64_t{10} << 20);
}

}  // namespace
}  // namespace camp::quic
