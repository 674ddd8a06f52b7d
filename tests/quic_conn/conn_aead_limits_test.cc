// AEAD usage limits (RFC 9001 6.6) on a multipath connection, where they count the packets of
// every path together (draft-ietf-quic-multipath-21 7): forgeries on two paths add up to the
// integrity limit, packets sealed on two paths add up to the confidentiality limit (key updates
// come from the total), and a key that cannot be replaced in time closes the connection.
#include <gtest/gtest.h>

#include "tests/quic_conn/mp_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

// Between the server's proxy and its endpoint: spoils the authentication tag of the next
// short-header datagrams from each client address (budget per path), as an attacker would.
class Forger final : public Endpoint {
 public:
  Forger(Endpoint* inner, const Address& a0, const Address& a1) : inner_(inner), addr_{a0, a1} {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                    WorkerStats& stats) override {
    for (size_t i = 0; i < n; ++i) {
      const RxDatagram& d = rx[i];
      for (int p = 0; p < 2; ++p) {
        if (budget[p] == 0 || d.len < 21 || (d.data[0] & 0x80) != 0 ||
            !(d.tuple.remote == addr_[p].ip)) {
          continue;
        }
        const_cast<uint8_t*>(d.data)[d.len - 1] ^= 0x5a;  // the tag's last byte
        --budget[p];
        ++forged[p];
      }
    }
    inner_->on_datagrams(rx, n, now, tx, stats);
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    return inner_->on_timer(now, tx, stats);
  }
  int budget[2] = {0, 0};
  int forged[2] = {0, 0};

 private:
  Endpoint* inner_;
  Address addr_[2];
};

HarnessOptions with_limits(uint64_t confidentiality, uint64_t integrity) {
  HarnessOptions o = mp_options();
  o.server_cfg = [=](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kOfferedMaxPathId;
    c.conn.aead_confidentiality_limit = confidentiality;
    c.conn.aead_integrity_limit = integrity;
  };
  return o;
}

const LinkConfig kLink = link_of(10 * kMillisecond, 20'000'000, 100);

TEST(QuicConnAeadLimits, ForgeriesOnEveryPathCountTogether) {
  TwoPaths t(64 << 20, kLink, kLink, with_limits(0, 5));
  Forger forger(t.h.server.get(), t.h.cli_addr, t.cli2);
  t.h.server_proxy.inner = &forger;
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  // Three forgeries on path 0: under the limit of 5, dropped and counted, nothing else.
  forger.budget[0] = 3;
  ASSERT_TRUE(t.h.sim.run_until([&] { return s->stats().drop_decrypt >= 3; },
                                t.h.sim.now() + 2 * kSecond));
  t.h.sim.run_for(100 * kMillisecond);
  EXPECT_EQ(s->state(), ConnState::kConfirmed);
  // Two on path 1 make 5, still not over; the sixth (path 1) is over the connection's limit
  // although neither path alone reached it.
  forger.budget[1] = 2;
  ASSERT_TRUE(t.h.sim.run_until([&] { return s->stats().drop_decrypt >= 5; },
                                t.h.sim.now() + 2 * kSecond));
  t.h.sim.run_for(100 * kMillisecond);
  EXPECT_EQ(s->state(), ConnState::kConfirmed);
  forger.budget[1] = 1;
  ASSERT_TRUE(t.h.sim.run_until([&] { return s->close_info().closed; },
                                t.h.sim.now() + 2 * kSecond));
  EXPECT_EQ(forger.forged[0], 3);
  EXPECT_EQ(forger.forged[1], 3);
  EXPECT_EQ(s->stats().drop_decrypt, 6u);
  EXPECT_FALSE(s->close_info().by_peer);
  EXPECT_EQ(s->close_info().error_code, static_cast<uint64_t>(TransportError::AEAD_LIMIT_REACHED));
  // The client hears why.
  ASSERT_TRUE(t.h.sim.run_until([&] { return c->close_info().closed; },
                                t.h.sim.now() + 2 * kSecond));
  EXPECT_TRUE(c->close_info().by_peer);
  EXPECT_EQ(c->close_info().error_code, static_cast<uint64_t>(TransportError::AEAD_LIMIT_REACHED));
}

TEST(QuicConnAeadLimits, PacketsOfEveryPathCountTowardsOneKey) {
  // A key update at 3/4 of 4000 packets sealed with one key, whichever path they went on: the
  // transfer goes through several keys, always before either path alone would have sent 3000.
  constexpr uint64_t kLimit = 4000;
  TwoPaths t(24 << 20, kLink, kLink, with_limits(kLimit, 0));
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 60 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{24} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->close_info().closed);
  const auto sp = paths_of(*s);
  ASSERT_EQ(sp.size(), 2u);
  const uint64_t sent = s->stats().packets_sent;
  // Each path carried a good share, so counting per path would have needed about twice the
  // packets per update; counted together, one update per 3000 packets of the two.
  EXPECT_GT(sp[0].packets_sent, sent / 4);
  EXPECT_GT(sp[1].packets_sent, sent / 4);
  EXPECT_GE(s->stats().key_updates, sent / 3000 - 1) << sent << " packets";
  EXPECT_GE(s->stats().key_updates, 4u);
  EXPECT_EQ(c->stats().drop_decrypt, 0u);
}

TEST(QuicConnAeadLimits, KeyThatCannotBeReplacedInTimeCloses) {
  // 100 packets per key: the first update may come only 3 x the largest PTO after the current
  // key's first acknowledgement (multipath 2.5), which is later than 100 packets at this rate,
  // so the server must stop with AEAD_LIMIT_REACHED rather than seal a 101st packet.
  TwoPaths t(8 << 20, kLink, kLink, with_limits(100, 0));
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.h.sim.run_until([&] { return c->close_info().closed; }, 10 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->close_info().error_code, static_cast<uint64_t>(TransportError::AEAD_LIMIT_REACHED));
  EXPECT_FALSE(s->close_info().by_peer);
  EXPECT_TRUE(c->close_info().by_peer);
  EXPECT_LT(t.h.client_app.received, uint64_t{8} << 20);
  EXPECT_EQ(s->stats().key_updates, 0u);
}

}  // namespace
}  // namespace camp::quic
