// The simulator as a whole: repeatable runs, endpoint timers, bursts, the packet pool, routing
// over several paths, a Reflector across a lossy jittery path, and a 30 s session's speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "dataplane/reflector.h"
#include "tests/sim/test_endpoints.h"

namespace camp::sim::test {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kS = 1000 * kMs;

// Everything at once, both ways: rate, queue, jitter, Bernoulli and GE loss, reordering,
// duplication, a cut. Returns the full trace.
std::vector<TraceRecord> lossy_echo_trace(uint64_t seed, uint64_t* hash) {
  SimConfig sc;
  sc.seed = seed;
  Simulator sim(sc);
  Sender tx({{kA, kB}}, 4000, 250 * kUs, 400);
  Reflector refl;
  const NodeId a = sim.add_node(tx), b = sim.add_node(refl);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  LinkConfig lc;
  lc.delay_ns = 15 * kMs;
  lc.jitter_ns = 3 * kMs;
  lc.jitter_model = JitterModel::normal;
  lc.rate_bps = 20'000'000;
  lc.queue_packets = 50;
  lc.loss = 0.02;
  lc.burst_loss = {.p = 0.005, .r = 0.3, .loss_good = 0.0, .loss_bad = 0.8};
  lc.reorder = 0.01;
  lc.reorder_delay_ns = 4 * kMs;
  lc.duplicate = 0.01;
  LinkConfig back = lc;
  back.jitter_model = JitterModel::uniform;
  back.jitter_reorders = true;
  const Path p = sim.add_path(kA, kB, lc, back);
  EXPECT_TRUE(p.valid());
  sim.cut_link_at(p.ba, 400 * kMs);
  sim.restore_link_at(p.ba, 450 * kMs);
  std::vector<TraceRecord> trace;
  trace.reserve(40000);
  sim.set_trace([&](const TraceRecord& r) { trace.push_back(r); });
  sim.run_until(2 * kS);
  *hash = sim.trace_hash();
  return trace;
}

bool same(const std::vector<TraceRecord>& x, const std::vector<TraceRecord>& y) {
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].time != y[i].time || x[i].link != y[i].link || x[i].len != y[i].len ||
        x[i].kind != y[i].kind) {
      return false;
    }
  }
  return true;
}

TEST(SimDeterminism, SameSeedSameTraceOtherSeedOtherTrace) {
  uint64_t h1 = 0, h2 = 0, h3 = 0;
  const auto t1 = lossy_echo_trace(7, &h1);
  const auto t2 = lossy_echo_trace(7, &h2);
  const auto t3 = lossy_echo_trace(8, &h3);
  EXPECT_GT(t1.size(), 10000u);
  EXPECT_TRUE(same(t1, t2));
  EXPECT_EQ(h1, h2);
  EXPECT_FALSE(same(t1, t3));
  EXPECT_NE(h1, h3);
  // The trace really contains every kind of event the scenario exercises.
  bool kinds[10] = {};
  for (const TraceRecord& r : t1) kinds[static_cast<int>(r.kind)] = true;
  for (TraceKind k : {TraceKind::send, TraceKind::drop_loss, TraceKind::drop_burst_loss,
                      TraceKind::drop_cut, TraceKind::duplicate, TraceKind::deliver,
                      TraceKind::timer}) {
    EXPECT_TRUE(kinds[static_cast<int>(k)]) << static_cast<int>(k);
  }
}

// Asks for its timer on a list of deadlines and records when it ran.
class Waker final : public Endpoint {
 public:
  explicit Waker(std::vector<uint64_t> plan) : plan_(std::move(plan)) {}
  void on_datagrams(const RxDatagram*, size_t, uint64_t, TxBatch&, WorkerStats&) override {}
  uint64_t on_timer(uint64_t now, TxBatch&, WorkerStats&) override {
    ran.push_back(now);
    return i_ < plan_.size() ? plan_[i_++] : kNever;
  }
  std::vector<uint64_t> ran;

 private:
  std::vector<uint64_t> plan_;
  size_t i_ = 0;
};

TEST(SimTimers, RunsAtTheRequestedTimes) {
  Simulator sim;
  Waker w({10 * kMs, 25 * kMs, 25 * kMs + 1, 1 * kS});
  sim.add_node(w, 3 * kMs);
  sim.run_until(500 * kMs);
  EXPECT_EQ(w.ran, (std::vector<uint64_t>{3 * kMs, 10 * kMs, 25 * kMs, 25 * kMs + 1}));
  EXPECT_EQ(sim.now(), 500 * kMs);
  sim.run_until(2 * kS);
  EXPECT_EQ(w.ran.back(), kS);
  EXPECT_TRUE(sim.idle());  // kNever: nothing left
}

TEST(SimTimers, PastDeadlineRunsNowAfterWhatIsAlreadyDue) {
  Simulator sim;
  Waker w({0, 0, kNever});  // asks for a time already past
  sim.add_node(w, 5 * kMs);
  sim.run_until(kS);
  EXPECT_EQ(w.ran, (std::vector<uint64_t>{5 * kMs, 5 * kMs, 5 * kMs}));
}

// Arms a timer 5 ms after each datagram (as a delayed-ACK timer would) and echoes from it; the
// simulator can only learn the deadline by asking on_timer after the burst.
class DelayedEcho final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch&,
                    WorkerStats&) override {
    for (size_t i = 0; i < n; ++i) {
      if (pending_ == 0) deadline_ = now + 5 * kMs;
      ++pending_;
      peer_ = rx[i].tuple;
    }
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats&) override {
    ran.push_back(now);
    if (pending_ > 0 && now >= deadline_) {
      TxSlot* s = tx.acquire();
      put_header(s->data, pending_, now);
      s->len = 16;
      s->tuple.local = peer_.local;
      s->tuple.local_port = peer_.local_port;
      s->tuple.remote = peer_.remote;
      s->tuple.remote_port = peer_.remote_port;
      tx.commit();
      pending_ = 0;
    }
    return pending_ > 0 ? deadline_ : kNever;
  }
  std::vector<uint64_t> ran;

 private:
  uint64_t pending_ = 0;
  uint64_t deadline_ = kNever;
  Tuple peer_;
};

TEST(SimTimers, DeadlineArmedByDatagramsIsLearnt) {
  Simulator sim;
  Sender tx({{kA, kB}}, 3, 20 * kMs);
  DelayedEcho de;
  const NodeId a = sim.add_node(tx), b = sim.add_node(de, kNever);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  LinkConfig lc;
  lc.delay_ns = 2 * kMs;
  ASSERT_TRUE(sim.add_path(kA, kB, lc, lc).valid());
  sim.run_until(kS);
  // Per datagram: asked right after the burst (at arrival), then at arrival + 5 ms.
  EXPECT_EQ(de.ran, (std::vector<uint64_t>{2 * kMs, 7 * kMs, 22 * kMs, 27 * kMs, 42 * kMs,
                                           47 * kMs}));
  ASSERT_EQ(tx.echoes.size(), 3u);
  EXPECT_EQ(tx.echoes[0].at, 9 * kMs);
  EXPECT_EQ(sim.stats(b).udp_rx, 3u);
  EXPECT_EQ(sim.stats(b).udp_tx, 3u);
}

// Starts with a 10 ms deadline; a datagram moves it to arrival + `shift`.
class Mover final : public Endpoint {
 public:
  explicit Mover(uint64_t shift) : shift_(shift) {}
  void on_datagrams(const RxDatagram*, size_t, uint64_t now, TxBatch&, WorkerStats&) override {
    deadline_ = now + shift_;
  }
  uint64_t on_timer(uint64_t now, TxBatch&, WorkerStats&) override {
    ran.push_back(now);
    if (now >= deadline_) deadline_ = kNever;
    return deadline_;
  }
  std::vector<uint64_t> ran;

 private:
  uint64_t shift_;
  uint64_t deadline_ = 10 * kMs;
};

std::vector<uint64_t> mover_run(uint64_t shift) {
  Simulator sim;
  Sender tx({{kA, kB}}, 1, kS);
  Mover m(shift);
  const NodeId a = sim.add_node(tx, 4 * kMs), b = sim.add_node(m);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  LinkConfig lc;
  lc.delay_ns = kMs;
  sim.add_link(kA, kB, lc);
  sim.run_until(kS);
  return m.ran;
}

TEST(SimTimers, DeadlineMovedLaterOrEarlierByDatagrams) {
  // Moved from 10 ms to 20 ms: the old deadline does not run the endpoint.
  EXPECT_EQ(mover_run(15 * kMs), (std::vector<uint64_t>{0, 5 * kMs, 20 * kMs}));
  // Moved from 10 ms to 6 ms: it runs at 6 ms and the superseded 10 ms event is ignored.
  EXPECT_EQ(mover_run(1 * kMs), (std::vector<uint64_t>{0, 5 * kMs, 6 * kMs}));
}

TEST(SimDeterminism, LinksDrawFromIndependentStreams) {
  // What link kA -> kB loses must not depend on traffic over another link.
  auto lost_on_first = [](bool other_traffic) {
    Simulator sim;
    Sender t1({{kA, kB}}, 2000, 100 * kUs);
    Sender t2({{kA2, kB2}}, other_traffic ? 2000 : 0, 37 * kUs);
    Sink s1, s2;
    const NodeId a1 = sim.add_node(t1), a2 = sim.add_node(t2);
    const NodeId b1 = sim.add_node(s1), b2 = sim.add_node(s2);
    sim.add_address(a1, kA);
    sim.add_address(a2, kA2);
    sim.add_address(b1, kB);
    sim.add_address(b2, kB2);
    LinkConfig lc;
    lc.loss = 0.2;
    lc.jitter_ns = kMs;
    sim.add_link(kA, kB, lc);
    sim.add_link(kA2, kB2, lc);
    sim.run_until(kS);
    std::vector<std::pair<uint64_t, uint64_t>> got;
    for (const Received& r : s1.got) got.emplace_back(r.seq, r.at);
    return got;
  };
  const auto quiet = lost_on_first(false);
  EXPECT_GT(quiet.size(), 1000u);
  EXPECT_EQ(quiet, lost_on_first(true));
}

TEST(SimBursts, SimultaneousArrivalsComeInOneCall) {
  SimConfig sc;
  sc.burst = 8;
  LinkConfig lc;
  lc.delay_ns = kMs;
  OneWay w(lc, 20, kS, 100, 20, sc);  // wants 20 at once, is lent 8 slots
  w.sim.run_until(kS / 2);
  // The sender got 8 slots, so 8 went out and the rest waits for its next tick.
  EXPECT_EQ(w.tx.sent, 8u);
  EXPECT_EQ(w.tx.no_room, 1u);
  EXPECT_EQ(w.rx.bursts, 1u);
  EXPECT_EQ(w.rx.max_burst, 8u);
}

TEST(SimBursts, BurstsAreCappedAtTheConfiguredSize) {
  SimConfig sc;
  sc.burst = 8;
  Simulator sim(sc);
  // Three senders on three addresses deliver 3 x 8 datagrams at the same instant to one sink.
  Sender s1({{kA, kB}}, 8, kS, 100, 8), s2({{kA2, kB}}, 8, kS, 100, 8);
  Sender s3({{Address::v4(10, 0, 2, 1, 9), kB}}, 8, kS, 100, 8);
  Sink sink;
  const NodeId n1 = sim.add_node(s1), n2 = sim.add_node(s2), n3 = sim.add_node(s3);
  const NodeId nb = sim.add_node(sink);
  sim.add_address(n1, kA);
  sim.add_address(n2, kA2);
  sim.add_address(n3, Address::v4(10, 0, 2, 1, 9));
  sim.add_address(nb, kB);
  LinkConfig lc;
  lc.delay_ns = kMs;
  ASSERT_NE(sim.add_link(kA, kB, lc), kInvalid);
  ASSERT_NE(sim.add_link(kA2, kB, lc), kInvalid);
  ASSERT_NE(sim.add_link(Address::v4(10, 0, 2, 1, 9), kB, lc), kInvalid);
  sim.run_until(kS / 2);
  EXPECT_EQ(sink.got.size(), 24u);
  EXPECT_EQ(sink.bursts, 3u);
  EXPECT_EQ(sink.max_burst, 8u);
}

TEST(SimPool, ExhaustionShortensBatchesAndNothingLeaks) {
  SimConfig sc;
  sc.pool_packets = 8;
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  lc.duplicate = 1.0;  // every copy needs a second buffer the pool does not have
  OneWay w(lc, 20, kMs, 100, 20, sc);
  w.sim.run_until(kS);
  // 8 buffers: the first tick gets 8 slots; while they fly, the next ticks get none.
  EXPECT_GT(w.sim.sim_counters().short_batches, 0u);
  EXPECT_GT(w.tx.no_room, 0u);
  EXPECT_EQ(w.sim.stats(w.a).drops[static_cast<size_t>(DropReason::endpoint_no_tx_room)],
            w.tx.no_room);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_EQ(c.sent, 20u);  // it got there in the end, a pool's worth at a time
  EXPECT_EQ(c.duplicated, 20u);
  EXPECT_EQ(c.dropped_no_buffer, 20u);  // each duplicate found the pool empty
  EXPECT_EQ(c.delivered, 20u);
  EXPECT_EQ(w.sim.pool_available(), 8u);
}

TEST(SimRouting, SeveralPathsBetweenTwoNodes) {
  Simulator sim;
  // Alternate paths: even sequence numbers over A-B, odd over A2-B2.
  Sender tx({{kA, kB}, {kA2, kB2}}, 1000, kMs);
  Reflector refl;
  const NodeId a = sim.add_node(tx), b = sim.add_node(refl);
  ASSERT_TRUE(sim.add_address(a, kA));
  ASSERT_TRUE(sim.add_address(a, kA2));
  ASSERT_TRUE(sim.add_address(b, kB));
  ASSERT_TRUE(sim.add_address(b, kB2));
  LinkConfig fast, slow;
  fast.delay_ns = 5 * kMs;
  slow.delay_ns = 40 * kMs;
  const Path p1 = sim.add_path(kA, kB, fast, fast);
  const Path p2 = sim.add_path(kA2, kB2, slow, slow);
  ASSERT_TRUE(p1.valid() && p2.valid());
  sim.run_until(2 * kS);
  ASSERT_EQ(tx.echoes.size(), 1000u);
  for (const Received& r : tx.echoes) {
    const bool even = r.seq % 2 == 0;
    EXPECT_EQ(r.at - r.sent_at, even ? 10 * kMs : 80 * kMs);
    EXPECT_EQ(r.iface, even ? 0 : 1);
    EXPECT_EQ(r.tuple.remote, even ? kB.ip : kB2.ip);
    EXPECT_EQ(r.tuple.local_port, even ? kA.port : kA2.port);
  }
  for (LinkId l : {p1.ab, p1.ba, p2.ab, p2.ba}) EXPECT_EQ(sim.counters(l).delivered, 500u);
}

TEST(SimRouting, BadAddressesAndUnroutableDatagrams) {
  Simulator sim;
  Sender tx({{{}, Address::v4(192, 0, 2, 9, 53)}, {{}, kB}}, 10, kMs);
  Sink sink;
  const NodeId a = sim.add_node(tx), b = sim.add_node(sink);
  EXPECT_TRUE(sim.add_address(a, kA));
  EXPECT_FALSE(sim.add_address(b, kA));         // taken
  EXPECT_FALSE(sim.add_address(7, kB));         // no such node
  EXPECT_FALSE(sim.add_address(b, Address{}));  // unset IP
  EXPECT_TRUE(sim.add_address(b, kB));
  LinkConfig lc;
  EXPECT_EQ(sim.add_link(kA, Address::v4(1, 1, 1, 1, 1), lc), kInvalid);
  EXPECT_EQ(sim.add_link(kA, kA, lc), kInvalid);
  const LinkId l = sim.add_link(kA, kB, lc);
  ASSERT_NE(l, kInvalid);
  EXPECT_EQ(sim.add_link(kA, kB, lc), kInvalid);  // one link per direction and pair
  EXPECT_FALSE(sim.add_path(kA, kB, lc, lc).valid());
  EXPECT_EQ(sim.link_count(), 1u);  // the failed path left nothing behind
  sim.run_until(kS);
  // Half went to an address no link reaches; the other half used the default source (kA).
  EXPECT_EQ(sim.sim_counters().no_route, 5u);
  EXPECT_EQ(sim.counters(l).delivered, 5u);
  EXPECT_EQ(sink.got.size(), 5u);
  EXPECT_EQ(sim.stats(a).udp_tx, 5u);
}

// Writes past its slot: the simulator must refuse the datagram, not read beyond the buffer.
class Overrunner final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram*, size_t, uint64_t, TxBatch&, WorkerStats&) override {}
  uint64_t on_timer(uint64_t, TxBatch& tx, WorkerStats&) override {
    TxSlot* s = tx.acquire();
    s->len = static_cast<uint16_t>(s->cap + 1);  // claims more than it was lent
    s->tuple.remote = kB.ip;
    s->tuple.remote_port = kB.port;
    tx.commit();
    return kNever;
  }
};

TEST(SimRouting, OversizedDatagramIsRefused) {
  Simulator sim;
  Overrunner o;
  Sink sink;
  const NodeId a = sim.add_node(o), b = sim.add_node(sink);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  const LinkId l = sim.add_link(kA, kB, {});
  sim.run_until(kS);
  EXPECT_EQ(sim.sim_counters().bad_tx_len, 1u);
  EXPECT_EQ(sim.counters(l).sent, 0u);
  EXPECT_TRUE(sink.got.empty());
}

TEST(SimEvents, FullEventQueueIsCountedNotGrown) {
  SimConfig sc;
  sc.max_events = 16;
  sc.burst = 64;
  LinkConfig lc;
  lc.delay_ns = 10 * kMs;
  OneWay w(lc, 40, kS, 100, 40, sc);  // 40 arrivals scheduled at once
  w.sim.run_until(kS);
  const LinkCounters& c = w.sim.counters(w.link);
  EXPECT_GT(c.dropped_no_event, 0u);
  EXPECT_EQ(c.dropped_no_event, w.sim.sim_counters().event_queue_full);
  EXPECT_EQ(c.delivered + c.dropped_no_event, 40u);
  EXPECT_EQ(w.sim.pool_available(), sc.pool_packets);
}

TEST(SimRun, UntilPredicateStopsAtTheEventThatSatisfiedIt) {
  LinkConfig lc;
  lc.delay_ns = 3 * kMs;
  OneWay w(lc, 1000, kMs);
  EXPECT_TRUE(w.sim.run_until([&] { return w.rx.got.size() >= 100; }, 10 * kS));
  EXPECT_EQ(w.rx.got.size(), 100u);
  EXPECT_EQ(w.sim.now(), 99 * kMs + 3 * kMs);
  // A predicate that never holds stops at the limit with the clock there.
  EXPECT_FALSE(w.sim.run_until([] { return false; }, 150 * kMs));
  EXPECT_EQ(w.sim.now(), 150 * kMs);
  EXPECT_EQ(w.rx.got.size(), 148u);  // arrivals at <= 150 ms
  w.sim.run_for(50 * kMs);
  EXPECT_EQ(w.sim.now(), 200 * kMs);
  EXPECT_EQ(w.rx.got.size(), 198u);
  EXPECT_FALSE(w.sim.step() && w.sim.now() < 200 * kMs);  // time never goes back
}

TEST(SimRun, ActionsRunAtTheirTimeAndMayScheduleMore) {
  Simulator sim;
  std::vector<uint64_t> seen;
  std::function<void()> again = [&] {
    seen.push_back(sim.now());
    if (seen.size() < 100) sim.at(sim.now() + kMs, again);  // grows the action list while running
  };
  ASSERT_TRUE(sim.at(5 * kMs, again));
  sim.run_until(kS);
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.front(), 5 * kMs);
  EXPECT_EQ(seen.back(), 104 * kMs);
}

// Sum of every way a link can lose a packet, against what it accepted.
void expect_conserved(const Simulator& sim, LinkId l) {
  const LinkCounters& c = sim.counters(l);
  EXPECT_EQ(c.sent + c.duplicated, c.delivered + c.dropped() + sim.in_flight(l)) << "link " << l;
}

TEST(SimReflector, EchoAcrossALossyJitteryPathCountersMatch) {
  SimConfig sc;
  sc.seed = 2024;
  Simulator sim(sc);
  Sender tx({{kA, kB}}, 20000, 200 * kUs, 300);
  Reflector refl;
  const NodeId a = sim.add_node(tx), b = sim.add_node(refl);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  LinkConfig lc;
  lc.delay_ns = 25 * kMs;
  lc.jitter_ns = 5 * kMs;
  lc.jitter_reorders = true;
  lc.loss = 0.03;
  lc.burst_loss = {.p = 0.002, .r = 0.25, .loss_good = 0.0, .loss_bad = 1.0};
  lc.duplicate = 0.002;
  lc.rate_bps = 50'000'000;
  lc.queue_packets = 100;
  const Path p = sim.add_path(kA, kB, lc, lc);
  ASSERT_TRUE(p.valid());
  sim.run_until(10 * kS);
  ASSERT_TRUE(sim.idle());
  const LinkCounters& up = sim.counters(p.ab);
  const LinkCounters& down = sim.counters(p.ba);
  const WorkerStats& rs = sim.stats(b);
  EXPECT_EQ(up.sent, tx.sent);
  EXPECT_EQ(tx.sent, 20000u);
  EXPECT_EQ(up.delivered, rs.udp_rx);       // every datagram that arrived was reflected...
  EXPECT_EQ(rs.udp_tx, rs.udp_rx);
  EXPECT_EQ(down.sent, rs.udp_tx);          // ...onto the way back
  EXPECT_EQ(down.delivered, tx.echoes.size());
  EXPECT_EQ(sim.stats(a).udp_rx, tx.echoes.size());
  EXPECT_EQ(rs.dropped(), 0u);
  expect_conserved(sim, p.ab);
  expect_conserved(sim, p.ba);
  // Loss each way near 3% + 0.002/0.252 ~ 3.8%, so about 92.5% make the round trip.
  const double rt = static_cast<double>(tx.echoes.size()) / tx.sent;
  EXPECT_NEAR(rt, 0.925, 0.02);
  EXPECT_GT(up.dropped_loss, 0u);
  EXPECT_GT(up.dropped_burst_loss, 0u);
  EXPECT_EQ(up.dropped_queue_full + down.dropped_queue_full, 0u);  // 12 Mbit/s into 50
  EXPECT_GT(inversions(tx.echoes), 0u);
  for (const Received& r : tx.echoes) {
    const uint64_t rtt = r.at - r.sent_at;
    ASSERT_GE(rtt, 40 * kMs);
    ASSERT_LE(rtt, 60 * kMs + 2 * 48 * kUs + kMs);  // two serialisations, a little queueing
    ASSERT_EQ(r.len, 300u);
  }
  EXPECT_EQ(sim.pool_available(), sc.pool_packets);
}

TEST(SimSpeed, ThirtySecondSessionRunsFast) {
  SimConfig sc;
  sc.seed = 30;
  Simulator sim(sc);
  // 10,000 datagrams a second of 1200 bytes (96 Mbit/s) each way for 30 s.
  Sender tx({{kA, kB}}, 300000, 100 * kUs, 1200);
  Reflector refl;
  const NodeId a = sim.add_node(tx), b = sim.add_node(refl);
  sim.add_address(a, kA);
  sim.add_address(b, kB);
  LinkConfig lc;
  lc.delay_ns = 20 * kMs;
  lc.jitter_ns = kMs;
  lc.rate_bps = 200'000'000;
  lc.overhead_bytes = 28;
  lc.queue_bytes = 256 * 1024;
  lc.loss = 0.01;
  const Path p = sim.add_path(kA, kB, lc, lc);
  const auto t0 = std::chrono::steady_clock::now();
  sim.run_until(31 * kS);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ sim speed ] 30 s simulated, %llu datagrams each way, %llu events: %.3f s wall\n",
              static_cast<unsigned long long>(tx.sent),
              static_cast<unsigned long long>(sim.sim_counters().events), wall);
  EXPECT_EQ(tx.sent, 300000u);
  EXPECT_TRUE(sim.idle());
  EXPECT_EQ(sim.now(), 31 * kS);
  const double rt = static_cast<double>(tx.echoes.size()) / tx.sent;
  EXPECT_NEAR(rt, 0.99 * 0.99, 0.002);
  expect_conserved(sim, p.ab);
  expect_conserved(sim, p.ba);
  EXPECT_EQ(sim.counters(p.ab).dropped_queue_full, 0u);
}

}  // namespace
}  // namespace camp::sim::test
