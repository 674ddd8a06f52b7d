// QuicEndpoint's servicing: after a burst only the connections the burst reached are given a
// chance to send, however many others the endpoint holds; on a timer only those whose time has
// come (data the application queued outside a callback counts).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

// Between the server's proxy and its endpoint: the largest number of connections one
// on_datagrams call serviced.
class ServiceMeter final : public Endpoint {
 public:
  explicit ServiceMeter(QuicEndpoint* inner) : inner_(inner) {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                    WorkerStats& stats) override {
    const uint64_t before = inner_->counters().serviced;
    inner_->on_datagrams(rx, n, now, tx, stats);
    most_per_burst = std::max(most_per_burst, inner_->counters().serviced - before);
    ++bursts;
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    const uint64_t before = inner_->counters().serviced;
    const uint64_t next = inner_->on_timer(now, tx, stats);
    serviced_on_timer += inner_->counters().serviced - before;
    ++timers;
    return next;
  }
  uint64_t most_per_burst = 0;
  uint64_t bursts = 0;
  uint64_t serviced_on_timer = 0;
  uint64_t timers = 0;

 private:
  QuicEndpoint* inner_;
};

// Six client connections to the server, established, their handshake leftovers (tickets,
// tokens, CIDs) settled; no requests. The client endpoint runs every millisecond, so what a
// test queues from outside an endpoint call goes out in time.
void six_idle_connections(Harness& h, std::vector<Connection*>& conns) {
  h.client_app.auto_request = false;
  h.client_proxy.poll_ns = kMillisecond;
  for (int i = 0; i < 6; ++i) {
    Connection* c = h.connect();
    ASSERT_NE(c, nullptr);
    conns.push_back(c);
  }
  ASSERT_TRUE(h.sim.run_until([&] {
    return std::all_of(conns.begin(), conns.end(), [](Connection* c) { return c->established(); });
  }, 5 * kSecond));
  ASSERT_EQ(h.server->connection_count(), 6u);
  h.sim.run_for(200 * kMillisecond);
}

// DATAGRAMs the server's connections received, all together.
uint64_t server_datagrams_received(Harness& h) {
  uint64_t n = 0;
  h.server->for_each_connection([&](Connection& s) { n += s.stats().datagrams_received; });
  return n;
}

TEST(QuicEndpointService, ABurstServicesOnlyTheConnectionsItReached) {
  Harness h(0);
  std::vector<Connection*> conns;
  six_idle_connections(h, conns);
  if (HasFatalFailure()) return;

  ServiceMeter meter(h.server.get());
  h.server_proxy.inner = &meter;
  // One DATAGRAM from each client connection in turn, far enough apart that each arrives in a
  // burst of its own: each burst reaches one connection and services that one alone.
  const uint8_t payload[32] = {1, 2, 3};
  for (Connection* c : conns) {
    ASSERT_TRUE(c->send_datagram(payload, nullptr));
    h.sim.run_for(30 * kMillisecond);
  }
  EXPECT_GE(meter.bursts, conns.size());
  EXPECT_EQ(meter.most_per_burst, 1u);
  // Every one of them got its DATAGRAM and answered (the server's ACKs reached each client).
  for (Connection* c : conns) EXPECT_EQ(c->stats().datagrams_sent, 1u);
  EXPECT_EQ(server_datagrams_received(h), conns.size());
  h.server_proxy.inner = h.server.get();
}

// The client endpoint runs on_timer every millisecond (its proxy polls): with six idle
// connections nearly every call finds none due and services none (before, each call serviced all
// six). A DATAGRAM queued from outside any endpoint call makes its connection due, and the next
// timer sends it.
TEST(QuicEndpointService, ATimerServicesOnlyTheConnectionsDue) {
  Harness h(0);
  std::vector<Connection*> conns;
  six_idle_connections(h, conns);
  if (HasFatalFailure()) return;

  ServiceMeter meter(h.client.get());
  h.client_proxy.inner = &meter;
  h.sim.run_for(100 * kMillisecond);
  EXPECT_GE(meter.timers, 50u);
  EXPECT_LE(meter.serviced_on_timer, meter.timers / 4) << "idle connections were serviced";

  const uint64_t timers = meter.timers, serviced = meter.serviced_on_timer;
  const uint8_t payload[32] = {7};
  ASSERT_TRUE(conns[2]->send_datagram(payload, nullptr));
  h.sim.run_for(5 * kMillisecond);
  EXPECT_EQ(conns[2]->stats().datagrams_sent, 1u);
  EXPECT_GE(meter.serviced_on_timer, serviced + 1);
  EXPECT_LE(meter.serviced_on_timer - serviced, meter.timers - timers);
  h.sim.run_for(100 * kMillisecond);  // across the link
  EXPECT_EQ(server_datagrams_received(h), 1u);
  h.client_proxy.inner = h.client.get();
}

// The endpoints keep every connection's next deadline in a heap and work only on those due or
// acted on. What an application does from outside any endpoint call (a request on a stream, a
// close) is seen at the endpoint's next call all the same, and the heap stays bounded however
// often the deadlines move.
TEST(QuicEndpointService, OutOfBandActionsAreServedAndTheDeadlineHeapStaysBounded) {
  Harness h(0);
  std::vector<Connection*> conns;
  six_idle_connections(h, conns);
  if (HasFatalFailure()) return;
  const size_t bound = 2 * conns.size() + 64;
  size_t most_client = 0, most_server = 0;
  auto watch = [&] {
    most_client = std::max(most_client, h.client->wake_entries());
    most_server = std::max(most_server, h.server->wake_entries());
    return h.client_app.fin;
  };
  // A request written from outside: the response (2 MB, thousands of deadline moves) arrives.
  h.client_app.auto_request = true;  // reads it (request() opened the stream: no second one)
  h.client_app.request(*conns[1], 2 << 20);
  ASSERT_TRUE(h.sim.run_until(watch, h.sim.now() + 10 * kSecond));
  EXPECT_EQ(h.client_app.received, uint64_t{2} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_LE(most_client, bound);
  EXPECT_LE(most_server, bound);
  EXPECT_GT(most_server, 0u);
  // A close from outside goes out at once (not at some later deadline of the connection): the
  // server learns of it within a round trip and frees it after its draining period (3 PTO),
  // long before any idle timeout (30 s).
  conns[4]->close(0, "bye");
  const TimeNs closed_at = h.sim.now();
  ASSERT_TRUE(h.sim.run_until([&] { return h.server->connection_count() == 5; },
                              closed_at + 2 * kSecond));
  EXPECT_LT(h.sim.now() - closed_at, 300 * kMillisecond);
}

}  // namespace
}  // namespace camp::quic
