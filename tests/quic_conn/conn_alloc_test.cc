// The hot path allocates nothing: once a transfer has warmed up (rings and buffers grown to what
// the path needs), client and server endpoints, their applications and the simulator move the
// rest of it without one heap allocation. Single path, single path with loss (retransmissions,
// loss detection), and two paths (multipath scheduling, PATH_ACK). Its own binary: it replaces
// the global operator new to count.
#include <execinfo.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "tests/quic_conn/conn_harness.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocs{0};
void* g_first[32];
int g_first_depth = 0;

void* counted(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed) &&
      g_allocs.fetch_add(1, std::memory_order_relaxed) == 0) {
    g_first_depth = backtrace(g_first, 32);  // where the first one came from, for the report
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace camp::quic::test_conn {
namespace {

// Counts the heap allocations while it lives.
class AllocCount {
 public:
  AllocCount() {
    g_allocs = 0;
    g_first_depth = 0;
    g_counting = true;
  }
  ~AllocCount() { g_counting = false; }
  uint64_t stop() {
    g_counting = false;
    return g_allocs.load();
  }
  static void print_first() {
    if (g_first_depth > 0) backtrace_symbols_fd(g_first, g_first_depth, 2);
  }
};

constexpr uint64_t kWarm = 16 << 20;  // received before counting starts
constexpr uint64_t kTotal = 48 << 20;  // the whole transfer
// 100 Mbit/s, 20 ms RTT, a short queue: the window meets the queue's limit early in the warm-up,
// so the logs and rings have their steady sizes (they grow with what is in flight, as designed)
// when the count starts.
constexpr uint32_t kQueue = 64;

LinkConfig short_queue_link(double loss = 0) {
  LinkConfig l;
  l.delay_ns = 10 * kMillisecond;
  l.rate_bps = 100'000'000;
  l.queue_packets = kQueue;
  l.loss = loss;
  return l;
}

// Runs h's transfer to kWarm, then counts until it completes.
void expect_no_allocations(Harness& h) {
  void* warm[1];
  backtrace(warm, 1);  // loads what backtrace() needs now, not inside the count
  ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= kWarm; }, 60 * kSecond));
  const uint64_t before = h.client_app.received;
  AllocCount count;
  const bool done = h.sim.run_until([&] { return h.client_app.fin; }, 120 * kSecond);
  const uint64_t allocs = count.stop();
  ASSERT_TRUE(done) << h.client_app.received << " bytes";
  EXPECT_EQ(h.client_app.received, kTotal);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_GT(h.client_app.received - before, kTotal / 2);
  EXPECT_EQ(allocs, 0u) << "heap allocations while " << (h.client_app.received - before) / 1200
                        << " packets' worth of data moved; the first from:";
  if (allocs) AllocCount::print_first();
}

TEST(QuicConnAlloc, SteadyTransferAllocatesNothing) {
  Harness h(kTotal, short_queue_link());
  expect_no_allocations(h);
}

TEST(QuicConnAlloc, LossyTransferAllocatesNothing) {
  Harness h(kTotal, short_queue_link(0.01));
  expect_no_allocations(h);
  ASSERT_NE(h.server_conn(), nullptr);
  EXPECT_GT(h.server_conn()->stats().packets_lost, 0u);  // the loss paths did run
}

TEST(QuicConnAlloc, TwoPathTransferAllocatesNothing) {
  HarnessOptions o;
  o.link = short_queue_link();
  o.server_cfg = [](QuicEndpointConfig& c) { c.conn.local_tp.initial_max_path_id = 3; };
  Harness h(kTotal, o);
  const Address second = Address::v4(198, 18, 0, 3, 40000);
  add_client_address(h, second, 10 * kMillisecond, 100'000'000, kQueue);
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_path_id = 3;
  uint32_t path_id = 0;
  bool opened = false;
  h.client_app.hook = [&](Connection& c, TimeNs now) {
    if (opened || !c.established()) return;
    opened = true;
    EXPECT_EQ(c.open_path(tuple_from(second, h.srv_addr), now, &path_id),
              Connection::OpenPathResult::kOk);
  };
  void* warm[1];
  backtrace(warm, 1);
  ASSERT_NE(h.connect(cc), nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.received >= kWarm; }, 60 * kSecond));
  ASSERT_TRUE(opened);
  const uint64_t before = h.client_app.received;
  AllocCount count;
  const bool done = h.sim.run_until([&] { return h.client_app.fin; }, 120 * kSecond);
  const uint64_t allocs = count.stop();
  ASSERT_TRUE(done);
  EXPECT_EQ(h.client_app.received, kTotal);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  Connection::PathInfo paths[4];
  const size_t n = s->paths(paths);
  ASSERT_EQ(n, 2u);
  EXPECT_GT(paths[1].packets_sent, 1000u);  // the second path did carry the transfer
  EXPECT_GT(h.client_app.received - before, kTotal / 2);
  EXPECT_EQ(allocs, 0u) << "the first from:";
  if (allocs) AllocCount::print_first();
}

}  // namespace
}  // namespace camp::quic::test_conn
