// STREAM data sealed straight from its send ring (ConnectionConfig::seal_from_send_buffer): the
// ring bytes borrowed before the data for the frame header are put back (lost packets are sent
// again from them), data that does not end the packet or whose frame bytes before it are too many
// is copied instead, and turned off every packet is copied and sealed in place.
#include <gtest/gtest.h>

#include <vector>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

TEST(QuicConnSealFromRing, StreamDataSealedFromItsRingThroughLossAndDatagrams) {
  for (const bool ring : {true, false}) {
    SCOPED_TRACE(ring ? "seal from the ring" : "copy, then seal in place");
    HarnessOptions o;
    o.link = link_of(5 * kMillisecond, 50'000'000, 200);
    o.link.loss = 0.05;
    o.server_cfg = [ring](QuicEndpointConfig& c) {
      c.conn.seal_from_send_buffer = ring;
      // DATAGRAMs (echoed) before the stream data in one packet: a short one leaves few enough
      // frame bytes before the data to borrow, a long one too many (the data is copied).
      c.conn.mix_objects = true;
    };
    Harness h(4 << 20, o);
    int calls = 0;
    int sent = 0;
    h.client_app.hook = [&](Connection& c, TimeNs) {
      if (!c.established() || ++calls % 3 != 0) return;
      const size_t size = sent % 2 ? 120 : 20;
      const std::vector<uint8_t> d(size, static_cast<uint8_t>(size));
      if (c.send_datagram(d, nullptr)) ++sent;
    };
    h.client_proxy.poll_ns = 2 * kMillisecond;
    ASSERT_NE(h.connect(), nullptr);
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond));
    EXPECT_EQ(h.client_app.received, uint64_t{4} << 20);
    EXPECT_EQ(h.client_app.corrupt, 0u);
    size_t short_echoes = 0, long_echoes = 0;
    for (const auto& d : h.client_app.echoed) {
      ASSERT_TRUE(d.size() == 20 || d.size() == 120) << d.size();
      for (uint8_t b : d) ASSERT_EQ(b, static_cast<uint8_t>(d.size()));
      (d.size() == 20 ? short_echoes : long_echoes)++;
    }
    EXPECT_GT(short_echoes, 20u);
    EXPECT_GT(long_echoes, 20u);
    Connection* s = h.server_conn();
    ASSERT_NE(s, nullptr);
    const ConnStats& st = s->stats();
    EXPECT_GT(st.stream_bytes_retransmitted, 0u);
    if (ring) {
      EXPECT_GT(st.sealed_from_send_buffer, st.packets_sent / 2);
      EXPECT_LT(st.sealed_from_send_buffer, st.packets_sent);
    } else {
      EXPECT_EQ(st.sealed_from_send_buffer, 0u);
    }
  }
}

}  // namespace
}  // namespace camp::quic
