// conns and conn through ControlPlane::execute against fake workers whose endpoints report
// made-up connections over the real WorkerChannel snapshot buffer: ids unique across workers,
// every figure in text and JSON, cut lists, silent workers, and bad or unknown ids refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "control/conn_format.h"
#include "control/control_plane.h"
#include "tests/control/fake_endpoint.h"
#include "tests/control/fake_worker.h"
#include "tests/control/json_at.h"

namespace camp::control {
namespace {

using camp::json::Value;
using camp::testing::bool_at;
using camp::testing::FakeConnEndpoint;
using camp::testing::FakeWorker;
using camp::testing::str_at;
using camp::testing::u64_at;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class ConnsTest : public ::testing::Test {
 protected:
  // Worker w gets an endpoint with counts[w] connections, ids 5, 7, 9, ... (the same ids on
  // every worker: only WORKER:ID tells them apart).
  void make(const std::vector<uint32_t>& counts) {
    std::vector<WorkerChannel*> chans;
    EngineInfo info;
    info.version = "9.9.9";
    for (uint32_t w = 0; w < counts.size(); ++w) {
      eps_.push_back(std::make_unique<FakeConnEndpoint>(5, counts[w], w * 7));
      workers_.push_back(std::make_unique<FakeWorker>(w));
      workers_.back()->endpoint = eps_.back().get();
      chans.push_back(&workers_.back()->channel);
      info.workers.push_back({w, 10 + w, {}});
    }
    cp_ = std::make_unique<ControlPlane>(std::move(info), chans);
    for (auto& w : workers_) w->start();
  }
  void TearDown() override {
    for (auto& w : workers_) w->join();
  }
  Value json_of(const std::string& line) {
    const Response r = cp_->execute(line);
    EXPECT_TRUE(r.ok) << line << ": " << r.text;
    Value v;
    std::string err;
    EXPECT_TRUE(json::parse(r.text, &v, &err)) << err << "\n" << r.text;
    return v;
  }

  std::vector<std::unique_ptr<FakeConnEndpoint>> eps_;
  std::vector<std::unique_ptr<FakeWorker>> workers_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ConnsTest, ListsEveryWorkersConnectionsWithUniqueIds) {
  make({2, 1});
  const Response r = cp_->execute("conns");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "ID ")) << r.text;
  // Worker 0: ids 5 and 7; worker 1: id 5 again, with its own figures (salt 7).
  EXPECT_TRUE(contains(r.text, "0:5 ")) << r.text;
  EXPECT_TRUE(contains(r.text, "0:7 ")) << r.text;
  EXPECT_TRUE(contains(r.text, "1:5 ")) << r.text;
  EXPECT_FALSE(contains(r.text, "1:7 ")) << r.text;
  EXPECT_TRUE(contains(r.text, "198.18.0.2:40005")) << r.text;
  EXPECT_TRUE(contains(r.text, std::to_string(eps_[1]->bytes_sent(5)))) << r.text;
  EXPECT_TRUE(contains(r.text, "1.005ms")) << r.text;  // srtt of id 5
  EXPECT_TRUE(contains(r.text, "3 connection(s), 3 listed")) << r.text;
  EXPECT_FALSE(contains(r.text, "note:")) << r.text;

  const Value j = json_of("conns --json");
  EXPECT_EQ(u64_at(j, "count"), 3u);
  EXPECT_EQ(u64_at(j, "listed"), 3u);
  EXPECT_EQ(bool_at(j, "truncated"), false);
  EXPECT_EQ(u64_at(j, "workers.0.connections"), 2u);
  EXPECT_EQ(bool_at(j, "workers.1.answered"), true);
  EXPECT_EQ(str_at(j, "connections.0.id"), "0:5");
  EXPECT_EQ(str_at(j, "connections.1.id"), "0:7");
  EXPECT_EQ(str_at(j, "connections.2.id"), "1:5");
  EXPECT_EQ(u64_at(j, "connections.2.worker"), 1u);
  EXPECT_EQ(u64_at(j, "connections.2.conn"), 5u);
  EXPECT_EQ(str_at(j, "connections.2.role"), "server");
  EXPECT_EQ(str_at(j, "connections.2.state"), "confirmed");
  EXPECT_EQ(str_at(j, "connections.2.remote"), "198.18.0.2:40005");
  EXPECT_EQ(str_at(j, "connections.2.local"), "198.18.0.1:443");
  EXPECT_EQ(u64_at(j, "connections.2.bytes_sent"), eps_[1]->bytes_sent(5));
  EXPECT_EQ(u64_at(j, "connections.0.bytes_sent"), eps_[0]->bytes_sent(5));
  EXPECT_EQ(u64_at(j, "connections.1.bytes_received"), eps_[0]->bytes_received(7));
  EXPECT_EQ(u64_at(j, "connections.1.smoothed_rtt_ns"), eps_[0]->srtt_ns(7));
  EXPECT_EQ(u64_at(j, "connections.1.cwnd"), 14727u);
  EXPECT_EQ(u64_at(j, "connections.0.packets_lost"), 4u);
  EXPECT_EQ(u64_at(j, "connections.0.streams_open"), 3u);
  EXPECT_EQ(u64_at(j, "connections.0.key_generation"), 2u);
  EXPECT_EQ(u64_at(j, "connections.0.age_ns"), 2'500'000'000u);
}

TEST_F(ConnsTest, OneConnectionShowsEveryFigureAndAsksOnlyItsWorker) {
  make({2, 2});
  const uint64_t calls0 = eps_[0]->calls();
  const Response r = cp_->execute("conn 1:7");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(eps_[0]->calls(), calls0) << "worker 0 was asked about worker 1's connection";
  EXPECT_EQ(eps_[1]->last_only(), 7u);
  EXPECT_TRUE(contains(r.text, "connection 1:7\n")) << r.text;
  EXPECT_TRUE(contains(r.text, "recovery:\n")) << r.text;
  EXPECT_TRUE(contains(r.text, "counters:\n")) << r.text;
  EXPECT_TRUE(contains(r.text, "close:\n")) << r.text;
  EXPECT_TRUE(contains(r.text, "  pto_count")) << r.text;
  EXPECT_TRUE(contains(r.text, std::to_string(eps_[1]->bytes_sent(7)))) << r.text;
  EXPECT_TRUE(contains(r.text, "deadbeef")) << r.text;

  const Value j = json_of("conn 1:7 --json");
  EXPECT_EQ(str_at(j, "id"), "1:7");
  EXPECT_EQ(u64_at(j, "worker"), 1u);
  EXPECT_EQ(str_at(j, "alpn"), "hq-interop");
  EXPECT_EQ(u64_at(j, "age_ns"), 2'500'000'000u);
  EXPECT_EQ(bool_at(j, "handshake_complete"), true);
  EXPECT_EQ(u64_at(j, "recovery.smoothed_rtt_ns"), eps_[1]->srtt_ns(7));
  EXPECT_EQ(u64_at(j, "recovery.min_rtt_ns"), 900'000u);
  EXPECT_EQ(u64_at(j, "recovery.rttvar_ns"), 250'000u);
  EXPECT_EQ(u64_at(j, "recovery.bytes_in_flight"), 1200u);
  EXPECT_EQ(u64_at(j, "recovery.pacing_rate"), 5'000'000u);
  EXPECT_EQ(u64_at(j, "recovery.pto_backoff"), 1u);
  EXPECT_EQ(str_at(j, "recovery.cc"), "cubic");
  EXPECT_EQ(str_at(j, "recovery.cc_state"), "slow_start");
  ASSERT_NE(j.at("recovery.ssthresh"), nullptr);
  EXPECT_TRUE(j.at("recovery.ssthresh")->is_null());  // unset
  EXPECT_EQ(u64_at(j, "counters.bytes_sent"), eps_[1]->bytes_sent(7));
  EXPECT_EQ(u64_at(j, "counters.pto_count"), 7u);
  EXPECT_EQ(str_at(j, "cids.original_dcid"), "deadbeef");
  EXPECT_EQ(str_at(j, "cids.peer_cid"), "-");
  EXPECT_EQ(bool_at(j, "close.closed"), false);
  // The option may come first too.
  EXPECT_EQ(str_at(json_of("conn --json 0:5"), "id"), "0:5");
}

TEST_F(ConnsTest, BadAndUnknownIdsAreRefused) {
  make({1, 1});
  const struct {
    const char* line;
    const char* message;
  } cases[] = {
      {"conn 0:7", "no connection 0:7 (campctl conns lists the live ones)"},
      {"conn 2:5", "no connection 2:5: there is no worker 2 (campd has 2)"},
      {"conn 5", "bad connection id '5' (want WORKER:ID"},
      {"conn 0:", "bad connection id '0:'"},
      {"conn :5", "bad connection id ':5'"},
      {"conn 0:0", "bad connection id '0:0'"},
      {"conn 0:5x", "bad connection id '0:5x'"},
      {"conn -1:5", "bad connection id '-1:5'"},
      {"conn 0:99999999999999999999999", "bad connection id"},
      {"conn", "usage: conn WORKER:ID [--json]"},
      {"conn --json", "usage: conn WORKER:ID [--json]"},
      {"conn 0:5 1:5", "usage: conn WORKER:ID [--json]"},
      {"conns 0:5", "usage: conns [--json]"},
  };
  for (const auto& c : cases) {
    const Response r = cp_->execute(c.line);
    EXPECT_FALSE(r.ok) << c.line;
    EXPECT_TRUE(contains(r.text, c.message)) << c.line << " -> " << r.text;
  }
  EXPECT_TRUE(cp_->execute("conn 0:5").ok);
  EXPECT_TRUE(cp_->execute("conn 1:5").ok);
}

TEST_F(ConnsTest, LongListsAreCutAndSaySo) {
  make({300, 0});
  const Response r = cp_->execute("conns");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "note: worker 0 has 300 connections; the first 256 are listed"))
      << r.text.substr(r.text.size() > 400 ? r.text.size() - 400 : 0);
  EXPECT_TRUE(contains(r.text, "300 connection(s), 256 listed"));
  const Value j = json_of("conns --json");
  EXPECT_EQ(u64_at(j, "count"), 300u);
  EXPECT_EQ(u64_at(j, "listed"), 256u);
  EXPECT_EQ(bool_at(j, "truncated"), true);
  EXPECT_EQ(str_at(j, "connections.255.id"), "0:515");
  EXPECT_EQ(j.at("connections.256"), nullptr);
  // One past the cut is still found by id.
  EXPECT_TRUE(cp_->execute("conn 0:597").ok);  // the 297th
}

TEST_F(ConnsTest, NoConnectionsAndEndpointsWithout) {
  make({0});
  EXPECT_EQ(cp_->execute("conns").text, "no connections\n");
  workers_[0]->join();
  workers_[0]->endpoint = nullptr;  // a worker whose endpoint keeps no connections
  workers_[0]->start();
  EXPECT_EQ(cp_->execute("conns").text, "no connections\n");
  const Value j = json_of("conns --json");
  EXPECT_EQ(u64_at(j, "count"), 0u);
  EXPECT_EQ(bool_at(j, "workers.0.answered"), true);
}

TEST_F(ConnsTest, SilentWorkerIsNamedAndItsLateAnswerIsNotTakenForTheNext) {
  make({1, 2});
  workers_[1]->pause(true);
  Response r = cp_->execute("conns");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "0:5 ")) << r.text;
  EXPECT_FALSE(contains(r.text, "1:5 ")) << r.text;
  EXPECT_TRUE(contains(r.text, "note: worker 1 did not answer in time; its connections are not "
                               "listed"))
      << r.text;
  r = cp_->execute("conn 1:5");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.text, "worker 1 did not answer in time");
  // Two requests wait in worker 1's queue now; after it wakes, the answer to a new request is
  // the one read, not one of theirs: the fake numbers each snapshot it takes.
  EXPECT_EQ(eps_[1]->calls(), 0u);
  workers_[1]->pause(false);
  const Value j = json_of("conn 1:5 --json");
  EXPECT_EQ(eps_[1]->calls(), 3u);
  EXPECT_EQ(u64_at(j, "recovery.bandwidth_estimate"), 3u);
  const Value all = json_of("conns --json");
  EXPECT_EQ(u64_at(all, "count"), 3u);
  EXPECT_EQ(u64_at(all, "workers.1.connections"), 2u);
  EXPECT_EQ(str_at(all, "connections.2.id"), "1:7");
}

TEST_F(ConnsTest, PeerChosenTextIsEscaped) {
  make({0});
  workers_[0]->join();
  eps_[0]->close_reason = "bye\x1b[31m\n\"x\"";
  eps_[0]->set_count(1);
  workers_[0]->start();
  const Response r = cp_->execute("conn 0:5");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "bye\\x1b[31m\\x0a\"x\"")) << r.text;
  EXPECT_FALSE(contains(r.text, "\x1b")) << r.text;
  const Value j = json_of("conn 0:5 --json");
  EXPECT_EQ(str_at(j, "close.close_reason"), "bye\\x1b[31m\\x0a\"x\"");
}

TEST(ConnFormat, IdsAndAddresses) {
  uint32_t w = 0;
  uint64_t id = 0;
  std::string err;
  ASSERT_TRUE(parse_conn_id("3:4294967297", &w, &id, &err)) << err;
  EXPECT_EQ(w, 3u);
  EXPECT_EQ(id, 4294967297u);
  EXPECT_EQ(conn_id_text(w, id), "3:4294967297");
  EXPECT_FALSE(parse_conn_id("3:4294967297:1", &w, &id, &err));
  EXPECT_FALSE(parse_conn_id("4294967296:1", &w, &id, &err));  // worker beyond 32 bits
  EXPECT_FALSE(parse_conn_id("", &w, &id, &err));
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(address_text(IpAddr::v6(v6), 443), "[2001:db8::1]:443");
  EXPECT_EQ(address_text(IpAddr{}, 0), "-");
}

}  // namespace
}  // namespace camp::control
