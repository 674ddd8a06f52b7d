// The connection keeps what its scheduler reads of each path (views, pacer answers, timers, the
// pending-control flag) between packets and rebuilds it only after events. With
// ConnectionConfig::check_send_cache every use of a kept value is compared with a fresh
// computation from the paths' state; these scripted multipath runs go through the events that
// must refresh it (ACKs, loss, timers, status changes, failover, abandon, a new path, every
// scheduler) and require that no use ever differed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "tests/quic_conn/conn_harness.h"
#include "tests/quic_conn/frame_injector.h"

namespace camp::quic {
namespace {

using namespace test_conn;

constexpr uint64_t kPathIdLimit = 3;

LinkConfig link_of(uint64_t delay_ns, uint64_t rate_bps, uint32_t queue_packets, double loss) {
  LinkConfig l;
  l.delay_ns = delay_ns;
  l.rate_bps = rate_bps;
  l.queue_packets = queue_packets;
  l.loss = loss;
  return l;
}

HarnessOptions checked_server(LinkConfig link, SchedulerKind scheduler) {
  HarnessOptions o;
  o.link = link;
  o.server_cfg = [scheduler](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kPathIdLimit;
    c.conn.scheduler = scheduler;
    c.conn.check_send_cache = true;
  };
  return o;
}

ConnectionConfig checked_client() {
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_path_id = kPathIdLimit;
  cc.local_tp.initial_max_data = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 4 << 20;
  cc.check_send_cache = true;
  return cc;
}

size_t path_count(const Connection& c) {
  Connection::PathInfo v[kMaxCidPaths];
  return c.paths(v);
}

bool validated(const Connection& c, uint32_t id) {
  Connection::PathInfo v[kMaxCidPaths];
  const size_t n = std::min(c.paths(v), kMaxCidPaths);
  for (size_t i = 0; i < n; ++i) {
    if (v[i].path_id == id) return v[i].validated;
  }
  return false;
}

// Two paths: the first (the handshake's) and a second from another client address.
struct Links {
  uint64_t delay1 = 10 * kMillisecond, delay2 = 15 * kMillisecond;
  uint64_t rate_bps = 20'000'000;
  uint32_t queue = 100;
};

struct CheckedRun {
  explicit CheckedRun(uint64_t want, SchedulerKind scheduler, double loss = 0.02, Links l = {})
      : h(want, checked_server(link_of(l.delay1, l.rate_bps, l.queue, loss), scheduler)) {
    second = add_client_address(h, cli2, l.delay2, l.rate_bps, l.queue);
    h.client_proxy.poll_ns = 2 * kMillisecond;
    h.client_app.hook = [this](Connection& c, TimeNs now) {
      if (opened || !c.established()) return;
      opened = true;
      EXPECT_EQ(c.open_path(tuple_from(cli2, h.srv_addr), now, &path_id),
                Connection::OpenPathResult::kOk);
    };
    c = h.connect(checked_client());
    EXPECT_NE(c, nullptr);
  }
  bool until_bytes(uint64_t n, TimeNs limit) {
    return h.sim.run_until([&] { return h.client_app.received >= n; }, h.sim.now() + limit);
  }
  // Both ends compared cached and fresh inputs many times, and they never differed.
  void expect_in_step(uint64_t min_checks) {
    Connection* s = h.server_conn();
    ASSERT_NE(s, nullptr);
    for (const Connection* x : {static_cast<const Connection*>(c), static_cast<const Connection*>(s)}) {
      EXPECT_GE(x->send_cache_checks(), min_checks);
      EXPECT_EQ(x->send_cache_mismatches(), 0u);
    }
  }

  Harness h;
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  sim::Path second;
  Connection* c = nullptr;
  bool opened = false;
  uint32_t path_id = 0;
};

// Lossy paths, the server's scheduler changed mid-transfer through all three, a path set to
// backup and back by each side.
TEST(QuicConnSendCache, InStepThroughSchedulersStatusAndLoss) {
  CheckedRun r(8 << 20, SchedulerKind::kMinRtt);
  ASSERT_NE(r.c, nullptr);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.until_bytes(1 << 20, 10 * kSecond));
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  s->set_scheduler(SchedulerKind::kRoundRobin);
  ASSERT_TRUE(r.until_bytes(2 << 20, 10 * kSecond));
  s->set_scheduler(SchedulerKind::kRedundant);
  ASSERT_TRUE(r.until_bytes(3 << 20, 10 * kSecond));
  s->set_scheduler(SchedulerKind::kMinRtt);
  EXPECT_TRUE(r.c->set_path_status(r.path_id, false));  // the client: backup
  ASSERT_TRUE(r.until_bytes(4 << 20, 10 * kSecond));
  EXPECT_TRUE(r.c->set_path_status(r.path_id, true));
  EXPECT_TRUE(s->set_path_status(0, false));  // the server: backup on its side
  ASSERT_TRUE(r.until_bytes(5 << 20, 10 * kSecond));
  EXPECT_TRUE(s->set_path_status(0, true));
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{8} << 20);
  EXPECT_EQ(r.h.client_app.corrupt, 0u);
  EXPECT_GT(s->stats().packets_lost, 0u);
  EXPECT_GT(s->stats().redundant_packets, 0u);
  r.expect_in_step(10000);
}

// The first path dies: failover, PTOs, the path abandoned and dropped; then a third path opens
// and the client abandons the second.
TEST(QuicConnSendCache, InStepThroughFailoverAbandonAndNewPath) {
  CheckedRun r(12 << 20, SchedulerKind::kMinRtt, 0.01);
  ASSERT_NE(r.c, nullptr);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.until_bytes(2 << 20, 10 * kSecond));
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  r.h.sim.cut_link(r.h.path.ab);
  r.h.sim.cut_link(r.h.path.ba);
  ASSERT_TRUE(r.until_bytes(6 << 20, 20 * kSecond));
  EXPECT_GE(s->stats().failovers, 1u);
  r.h.sim.run_for(2 * kSecond);  // abandoned after 3 PTO of silence, dropped 3 PTO later
  EXPECT_EQ(path_count(*s), 1u);
  const Address cli3 = Address::v4(198, 18, 0, 4, 50002);
  ASSERT_TRUE(add_client_address(r.h, cli3, 10 * kMillisecond, 20'000'000, 100).valid());
  uint32_t id = 0;
  ASSERT_EQ(r.c->open_path(tuple_from(cli3, r.h.srv_addr), r.h.sim.now(), &id),
            Connection::OpenPathResult::kOk);
  ASSERT_TRUE(r.h.sim.run_until([&] { return validated(*r.c, id); }, r.h.sim.now() + 5 * kSecond));
  ASSERT_TRUE(r.until_bytes(9 << 20, 20 * kSecond));
  EXPECT_TRUE(r.c->abandon_path(r.path_id, path_abandon_error::kApplicationAbandonPath,
                                r.h.sim.now()));
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{12} << 20);
  EXPECT_EQ(r.h.client_app.corrupt, 0u);
  EXPECT_GE(s->stats().paths_abandoned, 2u);
  r.expect_in_step(10000);
}

// Fast paths, so the server sends bursts of packets at one time: minRTT's pick is reused for the
// packets after the first of a burst (each reuse compared with a fresh pick); one path faster
// than the other, so the pick moves between them.
TEST(QuicConnSendCache, BurstsReuseTheMinRttPickInStep) {
  CheckedRun r(16 << 20, SchedulerKind::kMinRtt, 0.001,
               {.delay1 = 2 * kMillisecond, .delay2 = 3 * kMillisecond, .rate_bps = 1'000'000'000,
                .queue = 1000});
  ASSERT_NE(r.c, nullptr);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{16} << 20);
  EXPECT_EQ(r.h.client_app.corrupt, 0u);
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_GE(s->send_picks_reused(), 1000u);
  Connection::PathInfo v[kMaxCidPaths];
  ASSERT_EQ(s->paths(v), 2u);
  EXPECT_GT(v[0].stream_bytes_sent, 1u << 20);  // both paths carried data
  EXPECT_GT(v[1].stream_bytes_sent, 1u << 20);
  r.expect_in_step(10000);
}

// Round robin moves on with every packet: no pick is reused, the paths take turns.
TEST(QuicConnSendCache, RoundRobinNeverReusesAPick) {
  CheckedRun r(8 << 20, SchedulerKind::kRoundRobin, 0,
               {.delay1 = 2 * kMillisecond, .delay2 = 2 * kMillisecond,
                .rate_bps = 1'000'000'000, .queue = 1000});
  ASSERT_NE(r.c, nullptr);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{8} << 20);
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->send_picks_reused(), 0u);
  Connection::PathInfo v[kMaxCidPaths];
  ASSERT_EQ(s->paths(v), 2u);
  const double share = static_cast<double>(v[1].stream_bytes_sent) /
                       static_cast<double>(v[0].stream_bytes_sent + v[1].stream_bytes_sent);
  EXPECT_GT(share, 0.35);
  EXPECT_LT(share, 0.65);
  r.expect_in_step(10000);
}

// A received datagram touches the path it came on and the paths its ACKs acknowledge: PATH_ACKs
// of path 1 put into the client's packets of path 0 (the PATH_ACK a path that cannot send has
// carried by another) acknowledge what the server has sent on path 1 so far, and the server's
// kept inputs of path 1 must follow. (Two touches cover it: the ACK's own, and that of the
// acknowledged packets' ACKs (ACK of ACK); without both the check fails here.)
TEST(QuicConnSendCache, AcksArrivingOnAnotherPathKeepItsCacheInStep) {
  // No loss and queues that never overflow: every packet the injected ACKs name early does
  // arrive, so nothing is lost for having been acknowledged before the client saw it.
  Links l;
  l.queue = 100000;
  CheckedRun r(6 << 20, SchedulerKind::kMinRtt, 0.0, l);
  ASSERT_NE(r.c, nullptr);
  FrameInjector inj(r.h);  // from the start: it follows the client's packet numbers of path 0
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.until_bytes(1 << 20, 10 * kSecond));
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 40 && !r.h.client_app.fin; ++i) {
    Connection::PathInfo v[kMaxCidPaths];
    const size_t n = std::min(s->paths(v), kMaxCidPaths);
    for (size_t k = 0; k < n; ++k) {
      if (v[k].path_id == 1 && v[k].packets_sent > 0) {
        inj.piggyback(Frames().path_ack(1, 0, v[k].packets_sent - 1).bytes);
      }
    }
    r.h.sim.run_for(5 * kMillisecond);
  }
  EXPECT_GE(inj.piggybacked(), 20u);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{6} << 20);
  EXPECT_FALSE(s->closed());
  r.expect_in_step(1000);
}

// One lossy, reordering path with everything that can share a packet with stream data: the
// client's flow-control updates (so the server owes ACKs for them), DATAGRAMs both ways, windows
// small enough for STREAM_DATA_BLOCKED, key updates, PTO probes and retransmissions. Every packet
// built while data_only_ready() held went through the general path here, which must have written
// nothing that build_data_datagram() leaves out, and must have had the pacer decide as it does.
TEST(QuicConnSendCache, DataOnlyPacketsLeaveNothingOut) {
  HarnessOptions o;
  o.link = link_of(10 * kMillisecond, 50'000'000, 200, 0.02);
  o.link.reorder = 0.01;
  o.link.reorder_delay_ns = 3 * kMillisecond;
  o.server_cfg = [](QuicEndpointConfig& c) {
    c.conn.check_send_cache = true;
    c.conn.key_update_interval = 2000;
  };
  Harness h(6 << 20, o);
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_stream_data_bidi_local = 96 << 10;
  cc.local_tp.initial_max_stream_data_bidi_remote = 16 << 10;  // the server's own streams
  cc.check_send_cache = true;
  int calls = 0;
  h.client_app.hook = [&](Connection& c, TimeNs) {
    const uint8_t d[200] = {1, 2, 3};
    if (c.established() && ++calls % 4 == 0) c.send_datagram(d, nullptr);
  };
  Connection* c = h.connect(cc);
  ASSERT_NE(c, nullptr);
  // Streams of the server's that the client never reads: each stops at its 16 KB window in the
  // middle of a burst of the response, and STREAM_DATA_BLOCKED must go out with the next packet.
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= i * (1u << 20); },
                                30 * kSecond));
    Connection* s = h.server_conn();
    ASSERT_NE(s, nullptr);
    const std::optional<uint64_t> id = s->streams().open_stream(true);
    ASSERT_TRUE(id);
    std::vector<uint8_t> junk(48 << 10, 0x5a);
    EXPECT_EQ(s->streams().write(*id, junk, false).bytes, junk.size());
  }
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{6} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  const ConnStats& st = s->stats();
  EXPECT_GT(st.packets_lost, 0u);
  EXPECT_GT(st.key_updates, 1u);
  EXPECT_GT(st.datagrams_sent, 10u);
  EXPECT_GT(st.data_only_packets, st.packets_sent / 2);
  EXPECT_LT(st.data_only_packets, st.packets_sent);
  EXPECT_GE(s->send_cache_checks(), 1000u);
  EXPECT_GE(c->send_cache_checks(), 100u);  // the client mostly receives
  EXPECT_EQ(s->send_cache_mismatches(), 0u);
  EXPECT_EQ(c->send_cache_mismatches(), 0u);
}

// Control frames the server's application queues from outside while its stream runs (PATH_STATUS,
// RESET_STREAM), and ACKs of a path it abandons that another path must carry: the packets built
// while they wait are never data-only ones.
TEST(QuicConnSendCache, DataOnlyPacketsNeverSkipQueuedControlFrames) {
  Links l;
  l.delay1 = 5 * kMillisecond;
  l.delay2 = 5 * kMillisecond;
  l.rate_bps = 200'000'000;
  l.queue = 1000;
  CheckedRun r(24 << 20, SchedulerKind::kMinRtt, 0.0, l);
  ASSERT_NE(r.c, nullptr);
  ASSERT_TRUE(r.until_bytes(1 << 20, 10 * kSecond));
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 60 && !r.h.client_app.fin; ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(s->set_path_status(0, i % 4 == 2));
    } else if (const std::optional<uint64_t> id = s->streams().open_stream(true)) {
      const uint8_t b[10] = {};
      s->streams().write(*id, b, false);
      EXPECT_TRUE(s->streams().reset_stream(*id, 7));
    }
    r.h.sim.run_for(3 * kMillisecond);
  }
  ASSERT_TRUE(validated(*r.c, r.path_id));
  EXPECT_TRUE(s->abandon_path(r.path_id, path_abandon_error::kApplicationAbandonPath,
                              r.h.sim.now()));
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{24} << 20);
  EXPECT_GT(s->stats().data_only_packets, s->stats().packets_sent / 2);
  r.expect_in_step(10000);
}

// A received datagram ends a data burst even when nothing else acts on the connection (no
// application call between): driven here by hand, outside the endpoint, the server sends, takes
// a DATAGRAM from the client (so it owes an ACK) and sends again at once. That packet must carry
// the ACK: check_send_cache compares each burst packet with the general path's choice.
TEST(QuicConnSendCache, AReceivedDatagramEndsADataBurst) {
  HarnessOptions o;
  o.link = link_of(5 * kMillisecond, 100'000'000, 500, 0.0);
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.check_send_cache = true; };
  Harness h(8 << 20, o);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= (256u << 10); }, 10 * kSecond));
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  const uint64_t data_only_before = s->stats().data_only_packets;
  std::vector<uint8_t> buf(1500);
  Tuple t;
  TimeNs now = h.sim.now();
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 2; ++i) s->send(buf.data(), buf.size(), &t, now);  // lost on purpose
    const uint8_t d[100] = {7};
    ASSERT_TRUE(c->send_datagram(d, nullptr));
    const size_t n = c->send(buf.data(), buf.size(), &t, now);
    ASSERT_GT(n, 0u);
    s->on_datagram(buf.data(), n, s->tuple(), now);
    s->send(buf.data(), buf.size(), &t, now);  // the ACK (or nothing: it may wait its delay)
    now += 100'000;  // 100 us
  }
  EXPECT_GT(s->stats().data_only_packets, data_only_before + 10);  // bursts were under way
  EXPECT_GT(s->send_cache_checks(), 0u);
  EXPECT_EQ(s->send_cache_mismatches(), 0u);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, h.sim.now() + 30 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{8} << 20);
  EXPECT_EQ(s->send_cache_mismatches(), 0u);
}

// The data-only build is on by default and carries a plain transfer; turned off, every packet
// takes the general path and the transfer is the same.
TEST(QuicConnSendCache, DataOnlyBuildOnByDefaultAndCanBeTurnedOff) {
  for (const bool fast : {true, false}) {
    HarnessOptions o;
    o.link = link_of(5 * kMillisecond, 100'000'000, 500, 0.0);
    o.server_cfg = [fast](QuicEndpointConfig& c) { c.conn.data_fast_path = fast; };
    Harness h(4 << 20, o);
    ASSERT_NE(h.connect(), nullptr);
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 30 * kSecond));
    EXPECT_EQ(h.client_app.received, uint64_t{4} << 20);
    EXPECT_EQ(h.client_app.corrupt, 0u);
    Connection* s = h.server_conn();
    ASSERT_NE(s, nullptr);
    const ConnStats& st = s->stats();
    if (fast) {
      // The others carry the handshake, or an ACK of the client's flow-control updates.
      EXPECT_GT(st.data_only_packets, st.packets_sent * 3 / 4);
    } else {
      EXPECT_EQ(st.data_only_packets, 0u);
    }
  }
}

// Multipath 5.4 through a connection: path 1's min_rtt comes from its own PATH_ACKs; PATH_ACKs of
// path 1 put into the client's packets on path 0 restart it there, and when the client's own
// PATH_ACKs on path 1 resume it restarts again on path 1.
TEST(QuicConnMultipathRtt, MinRttRestartsWhenPathAcksComeOnAnotherPath) {
  Links l;
  l.queue = 100000;  // no loss: every packet the injected ACKs name early does arrive
  CheckedRun r(6 << 20, SchedulerKind::kMinRtt, 0.0, l);
  ASSERT_NE(r.c, nullptr);
  FrameInjector inj(r.h);
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.opened && validated(*r.c, r.path_id); },
                                5 * kSecond));
  ASSERT_TRUE(r.until_bytes(1 << 20, 10 * kSecond));
  Connection* s = r.h.server_conn();
  ASSERT_NE(s, nullptr);
  const PathRecovery* p1 = s->recovery_of(r.path_id);
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->rtt().min_rtt_ack_path(), r.path_id);
  EXPECT_EQ(p1->rtt().min_rtt_restarts(), 0u);
  for (int i = 0; i < 5; ++i) {
    Connection::PathInfo v[kMaxCidPaths];
    const size_t n = std::min(s->paths(v), kMaxCidPaths);
    for (size_t k = 0; k < n; ++k) {
      if (v[k].path_id == r.path_id && v[k].packets_sent > 0) {
        inj.piggyback(Frames().path_ack(r.path_id, 0, v[k].packets_sent - 1).bytes);
      }
    }
    r.h.sim.run_for(2 * kMillisecond);
  }
  ASSERT_GE(inj.piggybacked(), 1u);
  EXPECT_GE(p1->rtt().min_rtt_restarts(), 1u);
  const uint64_t after_injection = p1->rtt().min_rtt_restarts();
  ASSERT_TRUE(r.h.sim.run_until([&] { return r.h.client_app.fin; }, r.h.sim.now() + 30 * kSecond));
  EXPECT_EQ(r.h.client_app.received, uint64_t{6} << 20);
  EXPECT_EQ(p1->rtt().min_rtt_ack_path(), r.path_id);  // back on its own path
  EXPECT_GT(p1->rtt().min_rtt_restarts(), after_injection);
  // Path 0's ACKs always came on path 0: never restarted.
  EXPECT_EQ(s->recovery_of(0)->rtt().min_rtt_restarts(), 0u);
}

// Without the option nothing is checked (the check costs a recomputation per use).
TEST(QuicConnSendCache, OffByDefault) {
  if (std::getenv("CAMP_CHECK_SEND_CACHE")) GTEST_SKIP() << "CAMP_CHECK_SEND_CACHE turns it on";
  Harness h(100000);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(c->send_cache_checks(), 0u);
}

}  // namespace
}  // namespace camp::quic
