// Connection migration and path validation (RFC 9000 8.2, 9) on the simulator: a client moving to
// a new local address mid-transfer or to a far slower one, an off-path copy that moves the server
// (9.3.3), packets from unknown server addresses, a NAT rebinding seen by the server, a migration
// whose path never answers (back to the old path), and the refusals 9 and 18.2 call for.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

// The client's second address (cellular, say).
const Address cli2 = Address::v4(198, 18, 0, 3, 40000);

// Connects (the client polled every 5 ms) and runs until `bytes` have arrived; nullptr if not.
Connection* connect_until_received(Harness& h, uint64_t bytes) {
  h.client_proxy.poll_ns = 5 * kMillisecond;
  Connection* c = h.connect();
  if (!c || !h.sim.run_until([&] { return h.client_app.received >= bytes; }, 10 * kSecond)) {
    return nullptr;
  }
  return c;
}

// The DCIDs of the short-header packets an endpoint receives, by the peer address they came
// from (`from_remote`) or the local address they reached. RFC 9000 9.5: no CID at two addresses.
struct CidsByAddress {
  size_t cid_len = 0;
  bool from_remote = true;
  std::map<std::string, std::set<std::string>> seen;
  bool operator()(const RxDatagram& d) {
    if (d.len <= 1 + cid_len || (d.data[0] & 0x80) != 0) return false;
    const IpAddr& ip = from_remote ? d.tuple.remote : d.tuple.local;
    const uint16_t port = from_remote ? d.tuple.remote_port : d.tuple.local_port;
    const std::string addr = std::string(reinterpret_cast<const char*>(ip.bytes), 4) +
                             std::to_string(port);
    seen[addr].insert(std::string(reinterpret_cast<const char*>(d.data + 1), cid_len));
    return false;  // nothing dropped
  }
  // CIDs seen at more than one address.
  size_t shared() const {
    std::map<std::string, int> count;
    for (const auto& [addr, cids] : seen) {
      for (const std::string& c : cids) ++count[c];
    }
    return static_cast<size_t>(std::count_if(count.begin(), count.end(),
                                             [](const auto& e) { return e.second > 1; }));
  }
};

// The client moves to a second address (Wi-Fi to cellular) once 1 MB arrived; the old path is cut
// soon after. Nothing is lost, the new path is validated both ways with fresh connection IDs.
TEST(QuicConnMigration, ClientMovesToNewAddressMidTransfer) {
  Harness h(6 << 20);
  ASSERT_TRUE(add_client_address(h, cli2, 20 * kMillisecond, 50'000'000, 500).valid());
  Connection* c = connect_until_received(h, 1 << 20);
  ASSERT_NE(c, nullptr);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  auto at_server = std::make_shared<CidsByAddress>();
  auto at_client = std::make_shared<CidsByAddress>();
  at_server->cid_len = c->peer_cid().length;
  at_client->cid_len = s->peer_cid().length;
  at_client->from_remote = false;
  h.server_proxy.drop_from = [at_server](const RxDatagram& d) { return (*at_server)(d); };
  h.client_proxy.drop_from = [at_client](const RxDatagram& d) { return (*at_client)(d); };
  ASSERT_TRUE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));
  EXPECT_TRUE(c->path_validation_pending());
  EXPECT_EQ(c->tuple().local_port, cli2.port);
  // The old path dies 100 ms later: whatever was in flight there is recovered on the new one.
  h.sim.cut_link_at(h.path.ab, h.sim.now() + 100 * kMillisecond);
  h.sim.cut_link_at(h.path.ba, h.sim.now() + 100 * kMillisecond);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 30 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{6} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_EQ(c->stats().migrations, 1u);
  EXPECT_EQ(c->stats().path_validations, 1u);
  EXPECT_FALSE(c->path_validation_pending());
  EXPECT_EQ(s->stats().migrations, 1u);
  EXPECT_EQ(s->stats().path_validations, 1u);
  EXPECT_GE(s->stats().path_challenges_answered, 1u);
  // 9.3.3: the server challenged the old path too; the client answered there with a probe alone
  // (an ACK in it would have moved the server back).
  EXPECT_EQ(s->stats().previous_path_validations, 1u);
  EXPECT_EQ(c->stats().path_challenges_answered, 2u);
  // 9.5: both addresses of the client saw packets each way, and no CID at both (the answer to
  // the server's challenge of the old path went with a CID of its own).
  EXPECT_EQ(at_server->seen.size(), 2u);
  EXPECT_EQ(at_client->seen.size(), 2u);
  EXPECT_EQ(at_server->shared(), 0u);
  EXPECT_EQ(at_client->shared(), 0u);
  EXPECT_EQ(s->tuple().remote_port, cli2.port);
  EXPECT_TRUE(s->tuple().remote == cli2.ip);
  EXPECT_TRUE(s->peer_address_validated());
  // 9.4: a new address (not just a new port) restarts the RTT estimate from the new path's samples.
  EXPECT_GE(s->recovery().rtt().smoothed(), 35 * kMillisecond);
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

// A client that takes only two connection IDs (the least active_connection_id_limit allows)
// moves twice. Its answer to the server's challenge of the path it left (9.3.3) takes its one
// spare CID (9.5: not the one it uses on the new path); 3 PTO later that CID is retired, the
// server gives another, and the second move finds it.
TEST(QuicConnMigration, MovesTwiceWithTwoConnectionIds) {
  Harness h(2 << 20);
  const Address cli3 = Address::v4(198, 18, 0, 4, 40001);
  // Each new path slower than the last, so the challenge of the path left does not queue behind
  // data there (a packet that late would be below the client's ACK floor, a duplicate to it).
  ASSERT_TRUE(add_client_address(h, cli2, 20 * kMillisecond, 100'000'000, 1000).valid());
  ASSERT_TRUE(add_client_address(h, cli3, 30 * kMillisecond, 100'000'000, 1000).valid());
  h.client_proxy.poll_ns = 5 * kMillisecond;
  ConnectionConfig cfg;
  cfg.local_tp = default_tp();
  cfg.local_tp.active_connection_id_limit = 2;
  Connection* c = h.connect(cfg);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= (1u << 20); }, 10 * kSecond));
  ASSERT_TRUE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 10 * kSecond));
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->stats().previous_path_validations, 1u);
  EXPECT_EQ(c->stats().path_challenges_answered, 2u);
  // 3 PTO of the new path, whose RTT estimate restarted at 333 ms (9.4): about 3.3 s.
  h.sim.run_for(4 * kSecond);
  ASSERT_TRUE(c->migrate(tuple_from(cli3, h.srv_addr), h.sim.now()));
  ASSERT_TRUE(h.sim.run_until([&] { return !c->path_validation_pending(); }, 5 * kSecond));
  EXPECT_EQ(c->stats().path_validations, 2u);
  EXPECT_EQ(c->stats().path_validation_failures, 0u);
  h.sim.run_for(200 * kMillisecond);
  EXPECT_EQ(s->tuple().remote_port, cli3.port);
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

// The new path is far slower than the old one (Wi-Fi at 20 ms RTT to a congested cellular link at
// 600 ms): the challenges the client repeats meanwhile (8.2.1) back off like Initial probes, and
// the PATH_RESPONSE to an earlier one still completes validation (8.2.3).
TEST(QuicConnMigration, NewPathMuchSlowerThanTheOldStillValidates) {
  Harness h(3 << 20);
  ASSERT_TRUE(add_client_address(h, cli2, 300 * kMillisecond, 50'000'000, 2000).valid());
  Connection* c = connect_until_received(h, 1 << 20);
  ASSERT_NE(c, nullptr);
  const TimeNs moved = h.sim.now();
  ASSERT_TRUE(c->migrate(tuple_from(cli2, h.srv_addr), moved));
  ASSERT_TRUE(h.sim.run_until([&] { return !c->path_validation_pending(); }, 10 * kSecond));
  // The first challenge's answer, one 600 ms round trip later, is the one that validates.
  EXPECT_LT(h.sim.now() - moved, 800 * kMillisecond);
  // Repeated while unanswered, at growing intervals: a few, not one per PTO of the old path.
  EXPECT_GE(c->stats().path_challenges_sent, 2u);
  EXPECT_LE(c->stats().path_challenges_sent, 4u);
  EXPECT_EQ(c->stats().path_validations, 1u);
  EXPECT_EQ(c->stats().path_validation_failures, 0u);
  EXPECT_EQ(c->tuple().local_port, cli2.port);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{3} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_FALSE(c->closed());
}

// RFC 9000 9.3.3: an off-path attacker's copy of the client's packet reaches the server first from
// another address (where nothing answers). The server moves there, but also challenges the path
// it left; the client answers on its active path with a non-probing packet, and the server is
// back within one round trip, before the client's own PTO would have brought it back.
TEST(QuicConnMigration, ApparentMigrationChallengesThePathLeft) {
  Harness h(256 << 10);
  int spoof = 0;  // datagrams still to be seen from the attacker's address
  h.server_proxy.tuple_hook = [&](Tuple& t) {
    if (spoof > 0 && t.remote_port == h.cli_addr.port) {
      --spoof;
      t.remote_port = static_cast<uint16_t>(h.cli_addr.port + 7);
    }
  };
  h.client_proxy.poll_ns = 5 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 10 * kSecond));
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  h.sim.run_for(200 * kMillisecond);  // quiet: nothing in flight either way
  const uint64_t answered = c->stats().path_challenges_answered;
  spoof = 1;
  const std::vector<uint8_t> d(40, 0x5a);
  ASSERT_TRUE(c->send_datagram(d, nullptr));  // ack-eliciting: the copy moves the server
  const TimeNs sent = h.sim.now();
  ASSERT_TRUE(h.sim.run_until([&] { return s->stats().migrations == 1; }, kSecond));
  EXPECT_EQ(s->tuple().remote_port, h.cli_addr.port + 7);
  ASSERT_TRUE(h.sim.run_until([&] { return s->stats().migrations == 2; }, 5 * kSecond));
  EXPECT_EQ(s->tuple().remote_port, h.cli_addr.port);
  // Spoofed copy at +10 ms, challenge at the client at +20, its answer at the server at +30;
  // the client's PTO (over 45 ms with the server's 25 ms max_ack_delay) comes later.
  EXPECT_LT(h.sim.now() - sent, 40 * kMillisecond);
  EXPECT_EQ(s->stats().previous_path_validations, 1u);
  EXPECT_EQ(c->stats().path_challenges_answered, answered + 1);
  EXPECT_EQ(c->stats().migrations, 0u);
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(s->closed());
}

// RFC 9000 9: a client discards packets from a server address it does not know. For 50 ms every
// datagram reaching the client seems to come from another server port; the client takes none of
// them (no PATH_RESPONSE, no migration), and the transfer completes once they stop.
TEST(QuicConnMigration, ClientDiscardsPacketsFromUnknownServerAddresses) {
  Harness h(2 << 20);
  bool spoof = false;
  h.client_proxy.tuple_hook = [&](Tuple& t) {
    if (spoof) t.remote_port = static_cast<uint16_t>(t.remote_port + 1);
  };
  Connection* c = connect_until_received(h, 1 << 20);
  ASSERT_NE(c, nullptr);
  const uint64_t received = h.client_app.received;
  spoof = true;
  h.sim.run_for(50 * kMillisecond);
  spoof = false;
  EXPECT_GT(c->stats().drop_unknown_server_address, 0u);
  EXPECT_EQ(h.client_app.received, received) << "data taken from an unknown server address";
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 20 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{2} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_EQ(c->stats().path_challenges_answered, 0u);
  EXPECT_EQ(c->stats().migrations, 0u);
}

// A NAT rebinds the client's port: the server sees its packets from a new port with the same
// connection ID, follows it after validating, and keeps its congestion state (9.4).
TEST(QuicConnMigration, ServerFollowsNatRebinding) {
  Harness h(4 << 20);
  const Address rebound = Address::v4(198, 18, 0, 2, 50001);
  ASSERT_TRUE(add_client_address(h, rebound, 10 * kMillisecond, 100'000'000, 1000).valid());
  bool rebind = false;
  h.server_proxy.tuple_hook = [&](Tuple& t) {
    if (rebind && t.remote_port == h.cli_addr.port) t.remote_port = rebound.port;
  };
  Connection* c = connect_until_received(h, 1 << 20);
  ASSERT_NE(c, nullptr);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  const uint64_t cwnd_before = s->recovery().cc().cwnd();
  rebind = true;
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 20 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{4} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_EQ(s->stats().migrations, 1u);
  EXPECT_EQ(s->stats().path_validations, 1u);
  EXPECT_EQ(s->stats().path_validation_failures, 0u);
  EXPECT_EQ(s->tuple().remote_port, rebound.port);
  EXPECT_GE(c->stats().path_challenges_answered, 1u);
  EXPECT_EQ(c->stats().migrations, 0u);
  // Only the port changed: the window was not reset to the initial one.
  EXPECT_GT(cwnd_before, initial_window(1200));
  EXPECT_GT(s->recovery().cc().cwnd(), initial_window(1200));
}

// The client moves to an address whose return path is dead. Both ends give up validation after
// 3 PTO and go back to the old 4-tuple (9.3.2); the transfer completes there.
TEST(QuicConnMigration, FailedValidationFallsBackToOldPath) {
  Harness h(3 << 20);
  const sim::Path p2 = add_client_address(h, cli2, 10 * kMillisecond, 100'000'000, 1000);
  ASSERT_TRUE(p2.valid());
  h.sim.cut_link(p2.ba);  // nothing comes back on the new path
  Connection* c = connect_until_received(h, 1 << 20);
  ASSERT_NE(c, nullptr);
  const ConnectionId cid_old = c->peer_cid();
  ASSERT_TRUE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));
  const ConnectionId cid_new = c->peer_cid();
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 30 * kSecond));
  // 9.5: neither connection ID the client sent from one address goes out from the other.
  EXPECT_FALSE(c->peer_cid() == cid_new);
  EXPECT_FALSE(c->peer_cid() == cid_old);
  EXPECT_EQ(h.client_app.received, uint64_t{3} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_EQ(c->stats().path_validation_failures, 1u);
  EXPECT_EQ(c->stats().path_validations, 0u);
  EXPECT_EQ(c->tuple().local_port, h.cli_addr.port);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tuple().remote_port, h.cli_addr.port);
  EXPECT_FALSE(c->closed());
}

// 9: no migration before the handshake is confirmed, nor when the server disabled it (18.2), nor
// without an unused connection ID of the peer (9.5); the same 4-tuple is no migration.
TEST(QuicConnMigration, RefusedWhenNotAllowed) {
  {
    HarnessOptions o;
    o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.disable_active_migration = true; };
    Harness h(1000, o);
    Connection* c = h.connect();
    ASSERT_NE(c, nullptr);
      EXPECT_FALSE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));  // not confirmed
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
    EXPECT_FALSE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));  // disabled
    EXPECT_EQ(c->stats().migrations, 0u);
  }
  {
    HarnessOptions o;
    o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.active_connection_id_limit = 2; };
    Harness h(1000, o);
    ConnectionConfig cc;
    cc.local_tp = default_tp();
    cc.local_tp.active_connection_id_limit = 2;  // the server may give us one spare CID
    Connection* c = h.connect(cc);
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
    h.sim.run_for(100 * kMillisecond);
    EXPECT_FALSE(c->migrate(c->tuple(), h.sim.now()));  // same 4-tuple
      const Address cli3 = Address::v4(198, 18, 0, 4, 40000);
    EXPECT_TRUE(c->migrate(tuple_from(cli2, h.srv_addr), h.sim.now()));
    // The spare CID is used up until the server issues another one.
    EXPECT_FALSE(c->migrate(tuple_from(cli3, h.srv_addr), h.sim.now()));
    EXPECT_EQ(c->stats().migrations, 1u);
  }
}

}  // namespace
}  // namespace camp::quic
