// campctl paths / path / set scheduler through the whole chain on a real multipath connection:
// ControlPlane::execute (on its own thread, as the control thread runs it) -> WorkerChannel ->
// service_commands between "bursts" -> QuicEndpoint::path_command / apply_setting -> frames on
// the simulator's links -> what the peer sees. The simulator plays the worker: it runs 1 ms at a
// time and takes commands in between, and the server endpoint is polled every millisecond so a
// command's frames leave at once, as the drivers' run_timer does.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "control/control_plane.h"
#include "control/conn_format.h"
#include "control/json.h"
#include "dataplane/worker_channel.h"
#include "tests/control/json_at.h"
#include "tests/quic_conn/mp_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;
using camp::testing::str_at;
using camp::testing::u64_at;
using control::Response;

class ControlPaths : public ::testing::Test {
 protected:
  void SetUp() override { cp_ = std::make_unique<control::ControlPlane>(control::EngineInfo{}, std::vector<WorkerChannel*>{ch_.get()}); }

  // Runs one command the way the control thread does, while this thread keeps the simulated
  // worker turning (1 ms of virtual time, then its commands) until the answer is in.
  Response run(TwoPaths& t, const std::string& line) {
    auto f = std::async(std::launch::async, [&] { return cp_->execute(line); });
    for (int i = 0; i < 100000; ++i) {
      t.h.sim.run_for(kMillisecond);
      service_commands(*ch_, 0, t.h.sim.now(), stats_, settings_, t.h.server.get());
      if (f.wait_for(std::chrono::microseconds(50)) == std::future_status::ready) return f.get();
    }
    ADD_FAILURE() << "no answer to " << line;
    return f.get();
  }

  std::string id_of(const Connection& s) const { return control::conn_id_text(0, s.id()); }

  std::unique_ptr<WorkerChannel> ch_ = std::make_unique<WorkerChannel>();
  std::unique_ptr<control::ControlPlane> cp_;
  WorkerStats stats_;
  WorkerSettings settings_;
};

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

TEST_F(ControlPaths, ListsBothPathsAndChangesThemOnTheWire) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(48 << 20, l, l);
  t.h.server_proxy.poll_ns = kMillisecond;
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received > (2u << 20); },
                                t.h.sim.now() + 10 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  const std::string id = id_of(*s);

  // paths: both paths, their tuples, the scheduler; the JSON carries the same figures.
  Response r = run(t, "paths");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "connection " + id + " (server, confirmed, multipath, scheduler "
                               "minrtt): 2 path(s)")) << r.text;
  EXPECT_TRUE(contains(r.text, "198.18.0.2:50000")) << r.text;
  EXPECT_TRUE(contains(r.text, "198.18.0.3:40000")) << r.text;
  EXPECT_TRUE(contains(r.text, "available/available")) << r.text;
  r = run(t, "paths " + id + " --json");
  ASSERT_TRUE(r.ok) << r.text;
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(r.text, &v, &err)) << err;
  EXPECT_EQ(str_at(v, "connections.0.id"), id);
  EXPECT_EQ(str_at(v, "connections.0.scheduler"), "minrtt");
  EXPECT_EQ(u64_at(v, "connections.0.path_count"), 2u);
  EXPECT_EQ(u64_at(v, "connections.0.paths.0.path_id"), 0u);
  EXPECT_EQ(u64_at(v, "connections.0.paths.1.path_id"), t.path_id);
  EXPECT_EQ(str_at(v, "connections.0.paths.1.state"), "active");
  EXPECT_EQ(str_at(v, "connections.0.paths.1.remote"), "198.18.0.3:40000");
  for (const char* p : {"connections.0.paths.0", "connections.0.paths.1"}) {
    const std::string at(p);
    EXPECT_GT(u64_at(v, at + ".bytes_sent").value_or(0), 100000u) << p;
    EXPECT_GT(u64_at(v, at + ".stream_bytes_sent").value_or(0), 100000u) << p;
    EXPECT_GT(u64_at(v, at + ".smoothed_rtt_ns").value_or(0), 19 * kMillisecond) << p;
    EXPECT_GT(u64_at(v, at + ".cwnd").value_or(0), 0u) << p;
    EXPECT_LT(u64_at(v, at + ".last_ack_age_ns").value_or(UINT64_MAX), kSecond) << p;
  }

  // path ... backup: the server sends PATH_STATUS_BACKUP; the client learns it, and the server
  // puts no more data on that path while the other one is alive.
  r = run(t, "path " + id + " " + std::to_string(t.path_id) + " backup");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "PATH_STATUS_BACKUP")) << r.text;
  ASSERT_TRUE(t.h.sim.run_until([&] { return info(paths_of(*c), t.path_id)->peer_backup; },
                                t.h.sim.now() + kSecond));
  const uint64_t before = info(paths_of(*s), t.path_id)->stream_bytes_sent;
  t.h.sim.run_for(500 * kMillisecond);
  EXPECT_LE(info(paths_of(*s), t.path_id)->stream_bytes_sent, before + 2 * 1200);  // in flight
  r = run(t, "paths");
  EXPECT_TRUE(contains(r.text, "backup/available")) << r.text;

  // ... available again: the client sees it and the path carries data once more.
  r = run(t, "path " + id + " " + std::to_string(t.path_id) + " available");
  ASSERT_TRUE(r.ok) << r.text;
  ASSERT_TRUE(t.h.sim.run_until([&] { return !info(paths_of(*c), t.path_id)->peer_backup; },
                                t.h.sim.now() + kSecond));
  const uint64_t again = info(paths_of(*s), t.path_id)->stream_bytes_sent;
  t.h.sim.run_for(500 * kMillisecond);
  EXPECT_GT(info(paths_of(*s), t.path_id)->stream_bytes_sent, again + 100000);

  // set scheduler / failover_action: the live connection and the template both change.
  r = run(t, "set scheduler rr");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "scheduler = rr on 1 of 1 worker(s)")) << r.text;
  EXPECT_EQ(s->scheduler(), SchedulerKind::kRoundRobin);
  EXPECT_EQ(settings_.get(WorkerKey::scheduler), 1u);
  r = run(t, "paths " + id);
  EXPECT_TRUE(contains(r.text, "scheduler rr")) << r.text;
  r = run(t, "set failover_action backup");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(s->failover_action(), FailoverAction::kBackup);

  // Refusals name the reason and change nothing.
  r = run(t, "path " + id + " 5 backup");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "no open path with that ID")) << r.text;
  r = run(t, "path 0:" + std::to_string(s->id() + 2) + " 0 backup");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "no such connection")) << r.text;

  // abandon: PATH_ABANDON; the client drops the path too, the transfer completes on path 0,
  // and the last open path cannot be abandoned.
  r = run(t, "path " + id + " " + std::to_string(t.path_id) + " abandon");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "PATH_ABANDON")) << r.text;
  r = run(t, "path " + id + " 0 abandon");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "only open path")) << r.text;
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.fin; }, t.h.sim.now() + 60 * kSecond));
  EXPECT_EQ(t.h.client_app.received, uint64_t{48} << 20);
  EXPECT_EQ(t.h.client_app.corrupt, 0u);
  EXPECT_EQ(c->stats().paths_abandoned, 1u);
  EXPECT_EQ(s->stats().paths_abandoned, 1u);
}

TEST_F(ControlPaths, SinglePathConnectionRefusesPathCommands) {
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 100);
  TwoPaths t(4 << 20, l, l, HarnessOptions{});  // the server does not offer multipath
  t.open_second = false;
  t.h.server_proxy.poll_ns = kMillisecond;
  ASSERT_NE(t.h.connect(mp_client()), nullptr);
  ASSERT_TRUE(t.h.sim.run_until([&] { return t.h.client_app.received > 0; }, 5 * kSecond));
  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  Response r = run(t, "path " + id_of(*s) + " 0 backup");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "did not negotiate multipath")) << r.text;
  r = run(t, "paths");
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(contains(r.text, "single path): 1 path(s)")) << r.text;
}

}  // namespace
}  // namespace camp::quic
