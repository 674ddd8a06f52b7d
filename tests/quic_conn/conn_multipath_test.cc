// Multipath QUIC (draft-ietf-quic-multipath-21) on the simulator: negotiation, a client opening
// paths from several local addresses, aggregation over equal and unequal paths, failover when a
// path dies, backup paths, PATH_ABANDON and the path ID window.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

constexpr uint64_t kMaxPathId = 3;

HarnessOptions mp_options(uint64_t server_max_path_id = kMaxPathId) {
  HarnessOptions o;
  o.server_cfg = [server_max_path_id](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = server_max_path_id;
  };
  return o;
}

ConnectionConfig mp_client(uint64_t max_path_id = kMaxPathId) {
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_path_id = max_path_id;
  return cc;
}

// Receive windows for aggregation: above the sum of the paths' BDPs plus the reordering spread
// between a fast and a slow path (one stream's bytes wait for the slow path's to fill the gaps).
ConnectionConfig mp_bulk_client() {
  ConnectionConfig cc = mp_client();
  cc.local_tp.initial_max_data = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 4 << 20;
  return cc;
}

LinkConfig link_of(uint64_t delay_ns, uint64_t rate_bps, uint32_t queue_packets) {
  LinkConfig l;
  l.delay_ns = delay_ns;
  l.rate_bps = rate_bps;
  l.queue_packets = queue_packets;
  return l;
}

std::vector<Connection::PathInfo> paths_of(const Connection& c) {
  std::vector<Connection::PathInfo> v(kMaxCidPaths);
  v.resize(std::min<size_t>(c.paths(v), v.size()));
  return v;
}

const Connection::PathInfo* info(const std::vector<Connection::PathInfo>& v, uint32_t id) {
  for (const auto& p : v) {
    if (p.path_id == id) return &p;
  }
  return nullptr;
}

// A harness whose client has a second address with its own path to the server, and opens a
// path from it as soon as the handshake is confirmed.
struct TwoPaths {
  TwoPaths(uint64_t want, LinkConfig first, LinkConfig second, HarnessOptions o = mp_options())
      : h(want, with_link(o, first)) {
    second_path = add_client_address(h, cli2, second.delay_ns, second.rate_bps,
                                     second.queue_packets);
    h.client_proxy.poll_ns = 2 * kMillisecond;
    h.client_app.hook = [this](Connection& c, TimeNs now) {
      if (!open_second || opened || !c.established()) return;
      opened = true;
      result = c.open_path(tuple_from(cli2, h.srv_addr), now, &path_id);
    };
  }
  static HarnessOptions with_link(HarnessOptions o, const LinkConfig& l) {
    o.link = l;
    return o;
  }
  // Time the second path became usable on the client (validated), and bytes received then.
  bool run_until_validated(Connection* c, TimeNs limit) {
    return h.sim.run_until([&] {
      const auto v = paths_of(*c);
      const Connection::PathInfo* p = info(v, path_id);
      if (!opened || !p || !p->validated) return false;
      validated_at = h.sim.now();
      bytes_at_validation = h.client_app.received;
      return true;
    }, limit);
  }

  Harness h;
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  sim::Path second_path;
  bool open_second = true;
  bool opened = false;
  Connection::OpenPathResult result = Connection::OpenPathResult::kNotConfirmed;
  uint32_t path_id = 0;
  TimeNs validated_at = 0;
  uint64_t bytes_at_validation = 0;
};

// Goodput from the second path's validation to the end, as a fraction of `sum_bps`.
double aggregation(const TwoPaths& t, uint64_t sum_bps) {
  const double bytes = static_cast<double>(t.h.client_app.received - t.bytes_at_validation);
  const double secs = static_cast<double>(t.h.client_app.done_at - t.validated_at) / 1e9;
  return bytes * 8 / secs / static_cast<double>(sum_bps);
}

TEST(QuicConnMultipath, NegotiatedWhenBothSidesOfferIt) {
  Harness h(200000, mp_options());
  Connection* c = h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_TRUE(c->multipath());
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_TRUE(h.server_conn()->multipath());
  EXPECT_EQ(paths_of(*c).size(), 1u);
}

TEST(QuicConnMultipath, NotNegotiatedWhenOneSideIsSilent) {
  Harness h(200000);  // the server sends no initial_max_path_id
  Connection* c = h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_FALSE(c->multipath());
  EXPECT_FALSE(h.server_conn()->multipath());
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  EXPECT_EQ(c->open_path(tuple_from(cli2, h.srv_addr), h.sim.now()),
            Connection::OpenPathResult::kNotNegotiated);
}

// A second path from a second local address: validated both ways with CIDs of path ID 1, and
// the two equal paths together carry >= 90% of the sum of their rates.
TEST(QuicConnMultipath, AggregatesTwoEqualPaths) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(12 << 20, l, l);
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  EXPECT_EQ(t.result, Connection::OpenPathResult::kOk);
  EXPECT_EQ(t.path_id, 1u);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{12} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  const auto sp = paths_of(*s);
  ASSERT_EQ(sp.size(), 2u);
  EXPECT_TRUE(sp[1].validated);
  EXPECT_TRUE(sp[1].tuple.remote == t.cli2.ip);
  const double share1 = static_cast<double>(sp[1].stream_bytes_sent) /
                        static_cast<double>(sp[0].stream_bytes_sent + sp[1].stream_bytes_sent);
  EXPECT_GT(share1, 0.35);
  EXPECT_LT(share1, 0.65);
  const double eff = aggregation(t, 40'000'000);
  RecordProperty("aggregation_equal", std::to_string(eff));
  printf("equal eff %.3f\n", eff);
  EXPECT_GE(eff, 0.9) << "goodput over two 20 Mbit/s paths";
  EXPECT_EQ(s->stats().paths_opened, 1u);
  EXPECT_EQ(c->stats().paths_opened, 1u);
  EXPECT_EQ(c->stats().drop_decrypt, 0u);
  EXPECT_EQ(s->stats().drop_decrypt, 0u);
}

// 30 Mbit/s at 20 ms RTT beside 10 Mbit/s at 100 ms: >= 80% of the 40 Mbit/s sum.
TEST(QuicConnMultipath, AggregatesTwoUnequalPaths) {
  TwoPaths t(12 << 20, link_of(10 * kMillisecond, 30'000'000, 100),
             link_of(50 * kMillisecond, 10'000'000, 100));
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{12} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  const double eff = aggregation(t, 40'000'000);
  RecordProperty("aggregation_unequal", std::to_string(eff));
  const auto sp = paths_of(*t.h.server_conn());
  printf("unequal eff %.3f path0 %lu path1 %lu lost %lu %lu\n", eff, sp[0].stream_bytes_sent, sp[1].stream_bytes_sent, sp[0].packets_lost, sp[1].packets_lost);
  EXPECT_GE(eff, 0.8) << "goodput over 30 + 10 Mbit/s paths";
}

}  // namespace
}  // namespace camp::quic
