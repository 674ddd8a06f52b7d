// Multipath QUIC (draft-ietf-quic-multipath-21) on the simulator: negotiation, a client opening
// paths from several local addresses, aggregation over equal and unequal paths, failover when a
// path dies, backup paths, PATH_ABANDON and the path ID window.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/quic_conn/conn_harness.h"
#include "tests/quic_conn/frame_injector.h"
#include "tests/quic_conn/mp_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

size_t h_server_paths(TwoPaths& t) {
  Connection* s = t.h.server_conn();
  return s ? paths_of(*s).size() : 0;
}

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

// Multipath negotiated, one path, and that path goes silent for half a second: there is
// nothing to fail over to, so the connection just waits (no timer stuck in the past, which the
// harness would report as a spin) and finishes when the link comes back.
TEST(QuicConnMultipath, OnePathOutageWithNothingToFailOverTo) {
  Harness h(4 << 20, mp_options());
  Connection* c = h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= (1u << 20); }, 5 * kSecond));
  h.sim.cut_link(h.path.ab);
  h.sim.cut_link(h.path.ba);
  h.sim.restore_link_at(h.path.ab, h.sim.now() + 500 * kMillisecond);
  h.sim.restore_link_at(h.path.ba, h.sim.now() + 500 * kMillisecond);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(h.client_app.corrupt, 0u);
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_TRUE(h.server_conn()->multipath());
  EXPECT_EQ(h.server_conn()->stats().failovers, 0u);
}

// 3.2.1: CIDs go out for the unused path IDs up to the smaller of both limits. With the server's
// own limit at 1 and the client's at 3, path IDs 2 and 3 get none: the client could not use them,
// and frames about them would be violations at the server. Counted in the server endpoint's CID
// table, against a server whose limit is 3 too.
TEST(QuicConnMultipath, CidsOnlyForPathIdsBothLimitsAllow) {
  auto server_cids = [](uint64_t server_limit) {
    Harness h(200000, mp_options(server_limit));
    Connection* c = h.connect(mp_client(3));
    EXPECT_NE(c, nullptr);
    EXPECT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
    EXPECT_TRUE(c && c->multipath());
    return h.server->cids_registered();
  };
  const size_t up_to_1 = server_cids(1), up_to_3 = server_cids(3);
  EXPECT_GT(up_to_1, 0u);
  EXPECT_EQ(up_to_3, up_to_1 + 2) << "one CID each for path IDs 2 and 3, and only with limit 3";
}

// 3.1: the server opens a path whose first packet arrives before any CID of the client's for
// that path ID. Every 1-RTT datagram from the client's first address is lost for its first
// 60 ms, so the PATH_NEW_CONNECTION_ID frames come again only later, while the client opens
// path 1 as soon as the handshake is confirmed. The server has no CID to answer on at first; the
// one that arrives later must be taken into use, or the path never validates.
TEST(QuicConnMultipath, PathOpenedBeforeItsCidArrivesTakesItLater) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(1 << 20, l, l);
  TimeNs first_short = kNever;
  uint64_t dropped = 0;
  t.h.server_proxy.drop_from = [&](const RxDatagram& d) {
    if (d.len == 0 || (d.data[0] & 0x80) || d.tuple.remote_port != t.h.cli_addr.port ||
        !(d.tuple.remote == t.h.cli_addr.ip)) {
      return false;
    }
    if (first_short == kNever) first_short = t.h.sim.now();
    const bool drop = t.h.sim.now() < first_short + 60 * kMillisecond;
    dropped += drop;
    return drop;
  };
  // A 1-RTT packet coalesced behind the client's Handshake packets is cut off too.
  t.h.server_proxy.rx_hook = [&](uint8_t* d, uint16_t& len) {
    auto varint = [&](size_t& o, uint64_t& v) {
      if (o >= len) return false;
      const size_t n = size_t{1} << (d[o] >> 6);
      if (o + n > len) return false;
      v = d[o] & 0x3f;
      for (size_t k = 1; k < n; ++k) v = v << 8 | d[o + k];
      o += n;
      return true;
    };
    size_t o = 0;
    while (o < len && (d[o] & 0x80)) {
      size_t q = o + 5;
      if (q >= len) return true;
      q += 1 + d[q];  // DCID
      if (q >= len) return true;
      q += 1 + d[q];  // SCID
      uint64_t v = 0;
      if ((d[o] & 0x30) == 0 && (!varint(q, v) || (q += v) > len)) return true;  // Initial token
      if (!varint(q, v)) return true;
      o = q + v;
    }
    if (o > 0 && o < len) {
      len = static_cast<uint16_t>(o);
      ++dropped;
    }
    return true;
  };
  Connection* c = t.h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 3 * kSecond)) << "path 1 never validated";
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(t.result, Connection::OpenPathResult::kOk);
  ASSERT_TRUE(t.h.sim.run_until([&] {
    const Connection* s = t.h.server_conn();
    if (!s) return false;
    const auto v = paths_of(*s);
    const auto* p = info(v, t.path_id);
    return p && p->validated;
  }, 3 * kSecond)) << "the server never validated path 1";
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 10 * kSecond));
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
}

// 2.2: a server that sent disable_active_migration gets no new path to its handshake address, but
// one to another of its addresses opens, validates and carries data.
TEST(QuicConnMultipath, DisabledMigrationRefusesOnlyTheHandshakeAddress) {
  HarnessOptions o = mp_options();
  o.server_cfg = [](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kOfferedMaxPathId;
    c.conn.local_tp.disable_active_migration = true;
  };
  Harness h(4 << 20, o);
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  const Address srv2 = Address::v4(198, 18, 1, 2, 4433);
  ASSERT_TRUE(h.sim.add_address(h.cn, cli2));
  ASSERT_TRUE(h.sim.add_address(h.sn, srv2));
  const LinkConfig l = link_of(10 * kMillisecond, 100'000'000, 1000);
  ASSERT_TRUE(h.sim.add_path(cli2, h.srv_addr, l, l).valid());
  ASSERT_TRUE(h.sim.add_path(cli2, srv2, l, l).valid());
  h.client_proxy.poll_ns = 2 * kMillisecond;
  Connection* c = h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return c->established(); }, 5 * kSecond));
  h.sim.run_for(50 * kMillisecond);  // the handshake is confirmed
  uint32_t id = 0;
  EXPECT_EQ(c->open_path(tuple_from(cli2, h.srv_addr), h.sim.now(), &id),
            Connection::OpenPathResult::kMigrationDisabled);
  ASSERT_EQ(c->open_path(tuple_from(cli2, srv2), h.sim.now(), &id),
            Connection::OpenPathResult::kOk);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 20 * kSecond));
  EXPECT_EQ(h.client_app.corrupt, 0u);
  const auto v = paths_of(*c);
  const Connection::PathInfo* p = info(v, id);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->validated);
  EXPECT_GT(p->packets_received, 100u);
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
  EXPECT_GE(eff, 0.8) << "goodput over 30 + 10 Mbit/s paths";
}


// The first path dies mid-transfer, both ways. The server notices within max(3 x its smoothed
// RTT, 100 ms) of the last acknowledgement, sends its data again on the second path, abandons
// the dead one; nothing is lost and the stream never stalls longer than that plus one RTT of the
// second path (measured: 150 ms against a bound of 229 ms).
TEST(QuicConnMultipath, FailoverWhenAPathDies) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(16 << 20, l, link_of(15 * kMillisecond, 20'000'000, 100));
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received >= (4u << 20); },
                                10 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  // Progress as the client application sees it: the longest gap between deliveries.
  TimeNs last_progress = t.h.sim.now(), longest_gap = 0;
  uint64_t last_bytes = t.h.client_app.received;
  t.h.client_app.hook = [&](Connection&, TimeNs now) {
    if (t.h.client_app.received != last_bytes) {
      longest_gap = std::max(longest_gap, now - last_progress);
      last_progress = now;
      last_bytes = t.h.client_app.received;
    }
  };
  const DurationNs srtt0 = s->recovery_of(0)->rtt().smoothed();
  const DurationNs srtt1 = s->recovery_of(1)->rtt().smoothed();
  t.h.sim.cut_link(t.h.path.ab);
  t.h.sim.cut_link(t.h.path.ba);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{16} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  EXPECT_GE(s->stats().failovers, 1u);
  const DurationNs bound = std::max<DurationNs>(3 * srtt0, 100 * kMillisecond) + srtt1;
  EXPECT_LE(longest_gap, bound) << "srtt0 " << srtt0 << " srtt1 " << srtt1;
  RecordProperty("failover_stall_ms", std::to_string(longest_gap / kMillisecond));
  // The dead path is abandoned (3 PTO after failing) and its state goes 3 PTO later.
  t.h.sim.run_for(2 * kSecond);
  EXPECT_GE(s->stats().paths_abandoned, 1u);
  EXPECT_EQ(paths_of(*s).size(), 1u);
  EXPECT_EQ(paths_of(*c).size(), 1u);
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

// A path the client marks as backup carries no data while the other one works; when that one
// dies, the backup takes over.
TEST(QuicConnMultipath, BackupPathCarriesNothingUntilNeeded) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(24 << 20, l, l);
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  EXPECT_TRUE(c->set_path_status(t.path_id, false));
  EXPECT_FALSE(c->set_path_status(7, false));  // no such path
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  // Wait for the server to hear of it, then measure what it sends on the backup path.
  ASSERT_TRUE(t.h.sim.run_until([&] {
    const auto v = paths_of(*s);
    return v.size() == 2 && v[1].peer_backup;
  }, 2 * kSecond));
  const uint64_t before = paths_of(*s)[1].stream_bytes_sent;
  t.h.sim.run_for(1 * kSecond);
  EXPECT_EQ(paths_of(*s)[1].stream_bytes_sent, before);
  EXPECT_GT(t.h.client_app.received, 1u << 20);
  EXPECT_FALSE(t.h.client_app.fin);
  // Path 0 dies: the backup path carries the rest.
  t.h.sim.cut_link(t.h.path.ab);
  t.h.sim.cut_link(t.h.path.ba);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{24} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  EXPECT_GT(paths_of(*s).back().stream_bytes_sent, before);
}

// The client abandons its second path mid-transfer: PATH_ABANDON both ways (on the other path),
// the data goes on, and 3 PTO later neither side holds the path; its ID is never used again.
// The client endpoint's index of the server's stateless reset tokens holds exactly the tokens
// of the CIDs c uses (RFC 9000 10.3.1), each pointing at c.
void expect_reset_index(const QuicEndpoint& ep, const Connection& c, size_t want) {
  StatelessResetToken tokens[kMaxPeerResetTokens];
  const size_t n = c.peer_reset_tokens(tokens);
  EXPECT_EQ(n, want);
  EXPECT_EQ(ep.reset_tokens_indexed(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(ep.reset_token_owner(tokens[i]), &c) << i;
}

// 3.4: an abandoned path's state is kept 3 PTO, the largest among the paths, its own included:
// a slow path (300 ms round trip) abandoned beside a fast one (20 ms) keeps its state for three
// of its own PTOs, not three of the fast path's.
TEST(QuicConnMultipath, AbandonedSlowPathKeptThreeOfItsOwnPto) {
  TwoPaths t(1 << 20, link_of(10 * kMillisecond, 20'000'000, 100),
             link_of(150 * kMillisecond, 20'000'000, 100));
  t.h.client_app.auto_request = false;
  Connection* c = t.h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  t.h.sim.run_for(2 * kSecond);  // RTT samples on both paths
  const auto before = paths_of(*c);
  ASSERT_EQ(before.size(), 2u);
  const TimeNs slow_srtt = before[1].recovery->rtt().smoothed();
  const TimeNs fast_srtt = before[0].recovery->rtt().smoothed();
  ASSERT_GT(slow_srtt, 250 * kMillisecond);
  ASSERT_LT(fast_srtt, 50 * kMillisecond);
  const TimeNs at = t.h.sim.now();
  ASSERT_TRUE(c->abandon_path(1, path_abandon_error::kApplicationAbandonPath, at));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  TimeNs client_dropped = kNever, server_dropped = kNever;
  ASSERT_TRUE(t.h.sim.run_until([&] {
    if (client_dropped == kNever && paths_of(*c).size() == 1) client_dropped = t.h.sim.now();
    if (server_dropped == kNever && paths_of(*s).size() == 1) server_dropped = t.h.sim.now();
    return client_dropped != kNever && server_dropped != kNever;
  }, 10 * kSecond));
  EXPECT_GE(client_dropped - at, 3 * slow_srtt);
  EXPECT_GE(server_dropped - at, 3 * slow_srtt);
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

TEST(QuicConnMultipath, AbandonPathMidTransfer) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(12 << 20, l, l);
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received >= (3u << 20); },
                                10 * kSecond));
  expect_reset_index(*t.h.client, *c, 2);  // one CID in use on each path
  EXPECT_TRUE(c->abandon_path(0, path_abandon_error::kApplicationAbandonPath, t.h.sim.now()));
  EXPECT_FALSE(c->abandon_path(1, 0, t.h.sim.now()));  // the last open path stays
  EXPECT_FALSE(c->abandon_path(0, 0, t.h.sim.now()));  // already abandoned
  ASSERT_EQ(paths_of(*c).size(), 2u);
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  const auto cp = paths_of(*c);
  EXPECT_TRUE(cp[0].abandoned);
  EXPECT_FALSE(cp[1].abandoned);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{12} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  EXPECT_EQ(c->stats().paths_abandoned, 1u);
  EXPECT_EQ(s->stats().paths_abandoned, 1u);
  t.h.sim.run_for(1 * kSecond);
  ASSERT_EQ(paths_of(*c).size(), 1u);
  EXPECT_EQ(paths_of(*c)[0].path_id, 1u);
  expect_reset_index(*t.h.client, *c, 1);  // path 0's CIDs retired with it
  ASSERT_EQ(paths_of(*s).size(), 1u);
  EXPECT_EQ(paths_of(*s)[0].path_id, 1u);
  EXPECT_FALSE(c->closed());
  // A new path takes a fresh ID (2), never 0 again, and is validated.
  const Address cli3 = Address::v4(198, 18, 0, 4, 50002);
  ASSERT_TRUE(add_client_address(t.h, cli3, l.delay_ns, l.rate_bps, l.queue_packets).valid());
  uint32_t id = 0;
  EXPECT_EQ(c->open_path(tuple_from(cli3, t.h.srv_addr), t.h.sim.now(), &id),
            Connection::OpenPathResult::kOk);
  EXPECT_EQ(id, 2u);
  ASSERT_TRUE(t.h.sim.run_until([&] {
    const auto v = paths_of(*c);
    return v.size() == 2 && v[1].path_id == 2 && v[1].validated;
  }, t.h.sim.now() + 5 * kSecond));
  expect_reset_index(*t.h.client, *c, 2);
}

// The server allows path IDs up to 1. A second extra path is refused (PATHS_BLOCKED); once path
// 1 is abandoned and gone, the server raises MAX_PATH_ID and path 2 opens.
TEST(QuicConnMultipath, PathIdWindowAndPathsBlocked) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(1 << 20, l, l, mp_options(1));
  t.h.client_app.auto_request = false;
  Connection* c = t.h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  EXPECT_EQ(t.path_id, 1u);
  const Address cli3 = Address::v4(198, 18, 0, 4, 50002);
  ASSERT_TRUE(add_client_address(t.h, cli3, l.delay_ns, l.rate_bps, l.queue_packets).valid());
  uint32_t id = 0;
  EXPECT_EQ(c->open_path(tuple_from(cli3, t.h.srv_addr), t.h.sim.now(), &id),
            Connection::OpenPathResult::kNoPathId);
  EXPECT_EQ(c->open_path(tuple_from(t.cli2, t.h.srv_addr), t.h.sim.now(), &id),
            Connection::OpenPathResult::kSameTuple);
  ASSERT_TRUE(c->abandon_path(1, path_abandon_error::kApplicationAbandonPath, t.h.sim.now()));
  t.h.sim.run_for(2 * kSecond);
  ASSERT_EQ(paths_of(*c).size(), 1u);
  EXPECT_EQ(c->open_path(tuple_from(cli3, t.h.srv_addr), t.h.sim.now(), &id),
            Connection::OpenPathResult::kOk);
  EXPECT_EQ(id, 2u);
  ASSERT_TRUE(t.h.sim.run_until([&] {
    const auto v = paths_of(*c);
    return v.size() == 2 && v[1].validated;
  }, 5 * kSecond));
  EXPECT_FALSE(c->closed());
  EXPECT_EQ(h_server_paths(t), 2u);
}

// Key updates while two paths carry data: each path keeps its own packet numbers, so the key
// phase is judged per path; nothing fails to decrypt and updates are spaced by 3 x the largest
// PTO (2.5).
TEST(QuicConnMultipath, KeyUpdatesAcrossPaths) {
  HarnessOptions o = mp_options();
  o.server_cfg = [](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kOfferedMaxPathId;
    c.conn.key_update_interval = 300;
  };
  TwoPaths t(12 << 20, link_of(10 * kMillisecond, 20'000'000, 100),
             link_of(30 * kMillisecond, 20'000'000, 100), o);
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_GE(s->stats().key_updates, 2u);
  EXPECT_EQ(c->stats().key_updates, s->stats().key_updates);
  EXPECT_EQ(c->stats().drop_decrypt, 0u);
  EXPECT_EQ(s->stats().drop_decrypt, 0u);
  EXPECT_EQ(paths_of(*s).size(), 2u);
}

// The redundant scheduler sends every data packet on both paths: with 5% random loss on each,
// the transfer completes with copies on both and (almost) no retransmission needed; switching
// to round-robin at run time spreads the rest over both paths.
TEST(QuicConnMultipath, RedundantAndRoundRobinSchedulers) {
  LinkConfig lossy = link_of(10 * kMillisecond, 20'000'000, 100);
  lossy.loss = 0.05;
  HarnessOptions o = mp_options();
  o.server_cfg = [](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kOfferedMaxPathId;
    c.conn.scheduler = SchedulerKind::kRedundant;
  };
  TwoPaths t(2 << 20, lossy, lossy, o);
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->scheduler(), SchedulerKind::kRedundant);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received >= (1u << 20); },
                                20 * kSecond));
  const auto mid = paths_of(*s);
  EXPECT_GT(s->stats().redundant_packets, 300u);
  // Both paths carried (about) the same bytes: every data packet went on both.
  const double ratio = static_cast<double>(mid[1].stream_bytes_sent) /
                       static_cast<double>(mid[0].stream_bytes_sent);
  EXPECT_GT(ratio, 0.75);
  EXPECT_LT(ratio, 1.33);
  s->set_scheduler(SchedulerKind::kRoundRobin);
  EXPECT_EQ(s->scheduler(), SchedulerKind::kRoundRobin);
  const uint64_t redundant = s->stats().redundant_packets;
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{2} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  EXPECT_LE(s->stats().redundant_packets, redundant + 2);
  const auto end = paths_of(*s);
  EXPECT_GT(end[0].stream_bytes_sent, mid[0].stream_bytes_sent + (200u << 10));
  EXPECT_GT(end[1].stream_bytes_sent, mid[1].stream_bytes_sent + (200u << 10));
}

// 3.3/4.3: a PATH_STATUS_BACKUP may come before its path opens (bundled with the CIDs); the
// server keeps it and applies it when the path opens.
TEST(QuicConnMultipath, StatusBeforeThePathOpensIsKept) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(100000, l, l);
  t.open_second = false;
  FrameInjector inj(t.h);
  Connection* c = t.h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.h.sim.run_until([&] { return c->established(); }, 5 * kSecond));
  inj.piggyback(Frames().add(PathStatusFrame{false, 1, 0}).bytes);
  ASSERT_TRUE(t.h.sim.run_until([&] { return inj.piggybacked() == 1; }, 5 * kSecond));
  t.h.sim.run_for(50 * kMillisecond);
  ASSERT_EQ(c->open_path(tuple_from(t.cli2, t.h.srv_addr), t.h.sim.now()),
            Connection::OpenPathResult::kOk);
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(t.h.sim.run_until([&] { return paths_of(*s).size() == 2; }, 5 * kSecond));
  EXPECT_TRUE(paths_of(*s)[1].peer_backup);
  EXPECT_FALSE(paths_of(*s)[0].peer_backup);
  EXPECT_FALSE(s->closed());
}

// Multipath 3.1.3 (RFC 9000 9.3): once the second client address is validated the server sends
// a new token, and that token validates both addresses: a later connection from either one is
// accepted without a Retry.
TEST(QuicConnMultipath, TokenAfterANewPathValidatesEveryAddress) {
  HarnessOptions o = mp_options();
  o.retry = true;
  const LinkConfig l = link_of(10 * kMillisecond, 50'000'000, 200);
  TwoPaths t(200'000, l, l, o);
  Harness& h = t.h;
  Connection* c = h.connect(mp_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin && h.client_app.tokens >= 2; },
                              5 * kSecond));
  EXPECT_EQ(h.client_app.tokens, 2);  // after the handshake, after the second address
  EXPECT_EQ(h.server->counters().retries_sent, 1u);
  const std::vector<uint8_t> token = h.client_app.token;
  t.open_second = false;
  c->close(0, "done");
  ASSERT_TRUE(h.sim.run_until(
      [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
      5 * kSecond));

  for (const Address& from : {t.cli2, h.cli_addr}) {
    SCOPED_TRACE(from.port);
    h.client_app.reset(3000);
    ConnectionConfig cfg = mp_client();
    cfg.token = token;
    cfg.server_name = "server.test";
    Connection* again = h.client->connect(tuple_from(from, h.srv_addr), h.sim.now(), cfg);
    ASSERT_NE(again, nullptr);
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
    EXPECT_FALSE(again->retried());
    ASSERT_NE(h.server_conn(), nullptr);
    EXPECT_TRUE(h.server_conn()->peer_address_validated());
    again->close(0, "done");
    ASSERT_TRUE(h.sim.run_until(
        [&] { return h.client->connection_count() == 0 && h.server->connection_count() == 0; },
        5 * kSecond));
  }
  EXPECT_EQ(h.server->counters().retries_sent, 1u);  // only the very first connection's
}

}  // namespace
}  // namespace camp::quic
