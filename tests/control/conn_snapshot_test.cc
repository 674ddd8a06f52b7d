// QuicEndpoint::snapshot_connections on real connections (a client and a server endpoint joined
// by the simulator): the records match what the connections themselves report, the filter and
// the capacity are honoured, a closing connection says how it ended, and a conns command on a
// WorkerChannel is answered through the same code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/conn_summary.h"
#include "dataplane/worker_channel.h"
#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

std::string_view text(const char* field, size_t cap) {
  return std::string_view(field, strnlen(field, cap));
}
#define TEXT(f) text(f, sizeof(f))

bool same_cid(const ConnCid& a, const ConnectionId& b) {
  return a.len == b.length && std::memcmp(a.bytes, b.bytes.data(), a.len) == 0;
}

// The named counter of a record, or UINT64_MAX when it has none by that name.
uint64_t counter(const ConnSummary& s, std::string_view name) {
  for (uint32_t i = 0; i < s.counter_count; ++i)
    if (name == s.counter_names[i]) return s.counters[i];
  return UINT64_MAX;
}

std::vector<ConnSummary> snapshot(QuicEndpoint& ep, uint64_t now, size_t cap, uint64_t only,
                                  size_t* matched) {
  std::vector<ConnSummary> out(cap + 1);
  out[cap].id = 0xfeedu;  // must survive: nothing is written past cap
  *matched = ep.snapshot_connections(out.data(), cap, now, only);
  EXPECT_EQ(out[cap].id, 0xfeedu);
  out.resize(std::min(cap, *matched));
  return out;
}

TEST(ConnSnapshot, DuringATransferTheRecordsMatchTheConnections) {
  Harness h(4 << 20);
  Connection* cc = h.connect();
  ASSERT_NE(cc, nullptr) << h.client->last_error();
  const TimeNs started = h.sim.now();
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received > (1 << 20); },
                              h.sim.now() + 10 * kSecond));
  ASSERT_FALSE(h.client_app.fin);  // still under way
  Connection* sc = h.server_conn();
  ASSERT_NE(sc, nullptr);

  size_t matched = 0;
  const auto recs = snapshot(*h.server, h.sim.now(), 8, 0, &matched);
  ASSERT_EQ(matched, 1u);
  const ConnSummary& s = recs[0];
  EXPECT_EQ(s.id, sc->id());
  EXPECT_EQ(TEXT(s.role), "server");
  EXPECT_EQ(TEXT(s.state), "confirmed");
  EXPECT_EQ(TEXT(s.alpn), "camp-test");
  EXPECT_TRUE(s.tuple.remote == h.cli_addr.ip);
  EXPECT_EQ(s.tuple.remote_port, h.cli_addr.port);
  EXPECT_EQ(s.tuple.local_port, h.srv_addr.port);
  EXPECT_TRUE(s.handshake_complete);
  EXPECT_TRUE(s.address_validated);
  EXPECT_EQ(s.streams_open, 1u);  // the response being sent
  EXPECT_EQ(s.key_generation, 0u);
  // Age: no more than the run so far, and at least the handshake's round trip.
  EXPECT_LE(s.age_ns, h.sim.now() - started);
  EXPECT_GE(s.age_ns, 20 * kMillisecond);

  // Recovery: the link has 10 ms each way.
  const PathRecovery& rec = sc->recovery();
  EXPECT_TRUE(s.rtt_sampled);
  EXPECT_EQ(s.smoothed_rtt_ns, rec.rtt().smoothed());
  EXPECT_EQ(s.min_rtt_ns, rec.rtt().min());
  EXPECT_EQ(s.rttvar_ns, rec.rtt().rttvar());
  EXPECT_GE(s.min_rtt_ns, 20 * kMillisecond);
  EXPECT_LT(s.smoothed_rtt_ns, 200 * kMillisecond);
  EXPECT_EQ(s.cwnd, rec.cc().cwnd());
  EXPECT_EQ(s.bytes_in_flight, rec.bytes_in_flight());
  EXPECT_GT(s.bytes_in_flight, 0u);  // mid-transfer
  EXPECT_GT(s.pacing_rate, 0u);
  EXPECT_EQ(TEXT(s.cc), "cubic");
  EXPECT_TRUE(TEXT(s.cc_state) == "slow_start" || TEXT(s.cc_state) == "congestion_avoidance")
      << TEXT(s.cc_state);

  // Counters: the list's figures and every ConnStats field, by name.
  const ConnStats& st = sc->stats();
  EXPECT_EQ(s.bytes_sent, st.bytes_sent);
  EXPECT_GT(s.bytes_sent, uint64_t{1} << 20);
  EXPECT_EQ(s.packets_sent, st.packets_sent);
  EXPECT_EQ(s.bytes_received, st.bytes_received);
  EXPECT_EQ(s.packets_received, st.packets_received);
  EXPECT_EQ(s.packets_lost, st.packets_lost);
  EXPECT_EQ(s.counter_count * sizeof(uint64_t), sizeof(ConnStats));
  EXPECT_EQ(counter(s, "bytes_sent"), st.bytes_sent);
  EXPECT_EQ(counter(s, "packets_acked"), st.packets_acked);
  EXPECT_EQ(counter(s, "stream_bytes_sent"), st.stream_bytes_sent);
  EXPECT_EQ(counter(s, "drop_wrong_cid"), st.drop_wrong_cid);
  EXPECT_EQ(counter(s, "no_such_counter"), UINT64_MAX);
  for (uint32_t i = 0; i < s.counter_count; ++i) {
    ASSERT_NE(s.counter_names[i], nullptr);
    EXPECT_EQ(counter(s, s.counter_names[i]), s.counters[i]) << "duplicate name";
  }

  EXPECT_TRUE(same_cid(s.original_dcid, sc->original_dcid()));
  EXPECT_TRUE(same_cid(s.local_cid, sc->local_cid()));
  EXPECT_TRUE(same_cid(s.peer_cid, sc->peer_cid()));
  EXPECT_GT(s.local_cid.len, 0u);
  EXPECT_FALSE(s.closed);

  // The client's view of the same connection.
  const auto crecs = snapshot(*h.client, h.sim.now(), 8, 0, &matched);
  ASSERT_EQ(matched, 1u);
  EXPECT_EQ(TEXT(crecs[0].role), "client");
  EXPECT_EQ(crecs[0].bytes_received, cc->stats().bytes_received);
  EXPECT_TRUE(same_cid(crecs[0].peer_cid, sc->local_cid()));
  EXPECT_TRUE(same_cid(crecs[0].original_dcid, sc->original_dcid()));
}

TEST(ConnSnapshot, FilterAndCapacity) {
  Harness h(0);
  h.client_app.auto_request = false;
  std::vector<Connection*> cs;
  for (int i = 0; i < 3; ++i) cs.push_back(h.connect());
  for (Connection* c : cs) ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until(
      [&] {
        size_t up = 0;
        h.server->for_each_connection([&](Connection& c) { up += c.established(); });
        return up == 3;
      },
      h.sim.now() + 5 * kSecond));
  std::vector<uint64_t> ids;
  h.server->for_each_connection([&](Connection& c) { ids.push_back(c.id()); });
  ASSERT_EQ(ids.size(), 3u);

  size_t matched = 0;
  auto recs = snapshot(*h.server, h.sim.now(), 2, 0, &matched);
  EXPECT_EQ(matched, 3u);  // more than fit: the caller knows the list is cut
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, ids[0]);
  EXPECT_EQ(recs[1].id, ids[1]);

  recs = snapshot(*h.server, h.sim.now(), 8, ids[2], &matched);
  ASSERT_EQ(matched, 1u);
  EXPECT_EQ(recs[0].id, ids[2]);
  snapshot(*h.server, h.sim.now(), 0, ids[2], &matched);  // found, nothing written
  EXPECT_EQ(matched, 1u);
  // An id whose slot is live but whose generation is not, and one past every slot.
  snapshot(*h.server, h.sim.now(), 8, ids[2] + (uint64_t{1} << 32), &matched);
  EXPECT_EQ(matched, 0u);
  snapshot(*h.server, h.sim.now(), 8, 0xffffffffu, &matched);
  EXPECT_EQ(matched, 0u);
}

TEST(ConnSnapshot, AClosingConnectionSaysHowItEnded) {
  Harness h(1000);
  h.client_proxy.poll_ns = 10 * kMillisecond;
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, h.sim.now() + 5 * kSecond));
  c->close(0x42, "bye\x1b");
  Connection* sc = h.server_conn();
  ASSERT_NE(sc, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return sc->state() == ConnState::kDraining; },
                              h.sim.now() + 5 * kSecond));
  size_t matched = 0;
  const auto recs = snapshot(*h.server, h.sim.now(), 4, 0, &matched);
  ASSERT_EQ(matched, 1u);
  const ConnSummary& s = recs[0];
  EXPECT_EQ(TEXT(s.state), "draining");
  EXPECT_TRUE(s.closed);
  EXPECT_TRUE(s.closed_by_peer);
  EXPECT_TRUE(s.close_application);
  EXPECT_FALSE(s.close_idle_timeout);
  EXPECT_EQ(s.close_error_code, 0x42u);
  EXPECT_EQ(TEXT(s.close_reason), "bye\x1b");  // raw here; the control plane escapes it
  EXPECT_EQ(TEXT(s.role), "server");
}

TEST(ConnSnapshot, AnsweredThroughAWorkerChannel) {
  Harness h(1000);
  ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, h.sim.now() + 5 * kSecond));
  auto ch = std::make_unique<WorkerChannel>();
  WorkerStats stats;
  WorkerSettings settings;
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::conns;
  cmd.seq = 41;
  ASSERT_TRUE(ch->commands.push(cmd));
  EXPECT_EQ(service_commands(*ch, 3, h.sim.now(), stats, settings, h.server.get()).applied, 1u);
  EXPECT_EQ(ch->conns.seq.load(), 41u);
  EXPECT_EQ(ch->conns.matched, 1u);
  EXPECT_EQ(ch->conns.count, 1u);
  EXPECT_EQ(ch->conns.time_ns, h.sim.now());
  EXPECT_EQ(ch->conns.records[0].id, h.server_conn()->id());
  WorkerTelemetry t;
  ASSERT_TRUE(ch->telemetry.pop(t));  // the usual answer too
  EXPECT_EQ(t.seq, 41u);
  EXPECT_EQ(t.worker, 3u);

  // One connection by id, then an id nobody has; no endpoint: no connections.
  cmd.seq = 42;
  cmd.value = h.server_conn()->id();
  ASSERT_TRUE(ch->commands.push(cmd));
  service_commands(*ch, 3, h.sim.now(), stats, settings, h.server.get());
  EXPECT_EQ(ch->conns.seq.load(), 42u);
  EXPECT_EQ(ch->conns.count, 1u);
  cmd.seq = 43;
  cmd.value = h.server_conn()->id() + (uint64_t{1} << 32);
  ASSERT_TRUE(ch->commands.push(cmd));
  service_commands(*ch, 3, h.sim.now(), stats, settings, h.server.get());
  EXPECT_EQ(ch->conns.seq.load(), 43u);
  EXPECT_EQ(ch->conns.count, 0u);
  EXPECT_EQ(ch->conns.matched, 0u);
  cmd.seq = 44;
  cmd.value = 0;
  ASSERT_TRUE(ch->commands.push(cmd));
  service_commands(*ch, 3, h.sim.now(), stats, settings);
  EXPECT_EQ(ch->conns.seq.load(), 44u);
  EXPECT_EQ(ch->conns.count, 0u);
}

}  // namespace
}  // namespace camp::quic
