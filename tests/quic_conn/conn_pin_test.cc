// Data pinned to a path (SendMeta::path_id) on a multipath connection: after the server pins
// the response stream to path 1, path 0 carries none of its bytes (lost ones included); when
// path 1 is abandoned the pin lapses and path 0 finishes the transfer. The send-path caches are
// checked against fresh computations throughout.
#include <gtest/gtest.h>

#include "tests/quic_conn/mp_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

HarnessOptions checked_mp() {
  HarnessOptions o = mp_options();
  o.server_cfg = [](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = kOfferedMaxPathId;
    c.conn.check_send_cache = true;
  };
  return o;
}

const LinkConfig kLink = link_of(10 * kMillisecond, 20'000'000, 100);

struct Pinned {
  Pinned() : t(16 << 20, kLink, kLink, checked_mp()) {}
  // Runs until path 1 is validated and the response is under way, then pins it to path 1.
  void start_and_pin() {
    c = t.h.connect(mp_bulk_client());
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
    ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received > (1u << 20); },
                                  t.h.sim.now() + 10 * kSecond));
    s = t.h.server_conn();
    ASSERT_NE(s, nullptr);
    SendMeta pin;
    pin.path_id = t.path_id;
    pin.deadline = t.h.sim.now() + kSecond;
    pin.sync_index = 7;
    ASSERT_TRUE(s->set_stream_meta(0, pin));  // the client's request stream carries the response
    EXPECT_EQ(s->streams().send_meta(0).sync_index, 7u);
    // Schedulers see it, and a DATAGRAM pinned to path 1 ahead of it.
    SendMeta dmeta;
    dmeta.path_id = t.path_id;
    dmeta.sync_index = 8;
    const uint8_t payload[16] = {};
    uint64_t did = 0;
    ASSERT_TRUE(s->send_datagram(payload, &did, dmeta));
    QueuedData q[4];
    ASSERT_EQ(s->queued_data(q), 2u);
    EXPECT_TRUE(q[0].datagram);
    EXPECT_EQ(q[0].id, did);
    EXPECT_EQ(q[0].meta.sync_index, 8u);
    EXPECT_EQ(q[0].meta.path_id, t.path_id);
    EXPECT_FALSE(q[1].datagram);
    EXPECT_EQ(q[1].id, 0u);
    EXPECT_EQ(q[1].meta.sync_index, 7u);
    EXPECT_EQ(q[1].meta.deadline, pin.deadline);
    path0_at_pin = info(paths_of(*s), 0)->stream_bytes_sent;
    path1_at_pin = info(paths_of(*s), t.path_id)->stream_bytes_sent;
  }
  TwoPaths t;
  Connection* c = nullptr;
  Connection* s = nullptr;
  uint64_t path0_at_pin = 0, path1_at_pin = 0;
};

TEST(QuicConnPinnedData, GoesOnlyOnItsPath) {
  Pinned p;
  p.start_and_pin();
  ASSERT_TRUE(p.t.h.sim.run_until([&] { return p.t.h.client_app.fin; }, 60 * kSecond));
  EXPECT_EQ(p.t.h.client_app.received, uint64_t{16} << 20);
  EXPECT_EQ(p.t.h.client_app.corrupt, 0u);
  const auto sp = paths_of(*p.s);
  // Not one byte of the stream on path 0 after the pin; the rest (over 10 MB) on path 1.
  EXPECT_EQ(info(sp, 0)->stream_bytes_sent, p.path0_at_pin);
  EXPECT_GT(info(sp, p.t.path_id)->stream_bytes_sent, p.path1_at_pin + (10u << 20));
  EXPECT_EQ(p.s->stats().datagrams_sent, 1u);  // the pinned DATAGRAM went
  EXPECT_EQ(p.c->stats().datagrams_received, 1u);
  EXPECT_GT(p.s->send_cache_checks(), 1000u);
  EXPECT_EQ(p.s->send_cache_mismatches(), 0u);
  EXPECT_FALSE(p.s->set_stream_meta(1000, SendMeta{}));  // no such stream
}

TEST(QuicConnPinnedData, PinLapsesWhenItsPathIsAbandoned) {
  Pinned p;
  p.start_and_pin();
  ASSERT_TRUE(p.t.h.sim.run_until([&] {
    return info(paths_of(*p.s), p.t.path_id)->stream_bytes_sent > p.path1_at_pin + (2u << 20);
  }, p.t.h.sim.now() + 10 * kSecond));
  ASSERT_TRUE(p.c->abandon_path(p.t.path_id, path_abandon_error::kApplicationAbandonPath,
                                p.t.h.sim.now()));
  ASSERT_TRUE(p.t.h.sim.run_until([&] { return p.s->stats().paths_abandoned == 1; },
                                  p.t.h.sim.now() + kSecond));
  EXPECT_EQ(p.s->streams().send_meta(0).path_id, kAnyPath);  // the pin lapsed
  EXPECT_EQ(p.s->streams().send_meta(0).sync_index, 7u);      // the rest of it stays
  // A pin to a path that is not open means any path.
  SendMeta gone;
  gone.path_id = p.t.path_id;
  ASSERT_TRUE(p.s->set_stream_meta(0, gone));
  EXPECT_EQ(p.s->streams().send_meta(0).path_id, kAnyPath);
  ASSERT_TRUE(p.t.h.sim.run_until([&] { return p.t.h.client_app.fin; }, 60 * kSecond));
  EXPECT_EQ(p.t.h.client_app.received, uint64_t{16} << 20);
  EXPECT_EQ(p.t.h.client_app.corrupt, 0u);
  // Path 0 took over the rest (and what was in flight on path 1).
  EXPECT_GT(info(paths_of(*p.s), 0)->stream_bytes_sent, p.path0_at_pin + (2u << 20));
  EXPECT_EQ(p.s->send_cache_mismatches(), 0u);
}

}  // namespace
}  // namespace camp::quic
