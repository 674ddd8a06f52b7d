// ControlPlane::execute against fake workers that service real WorkerChannels: settings reach the
// workers with the right values, snapshots are fresh, bad input is refused before anything is
// sent, and the JSON report names every drop reason with the right numbers.
#include "control/control_plane.h"

#include <gtest/gtest.h>
#include <rte_log.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/commands.h"
#include "tests/control/fake_worker.h"
#include "tests/control/json_at.h"

namespace camp::control {
namespace {

using camp::testing::FakeWorker;
using camp::json::Value;
using camp::testing::bool_at;
using camp::testing::str_at;
using camp::testing::u64_at;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

EngineInfo test_info(size_t workers) {
  EngineInfo info;
  info.version = "9.9.9";
  info.endpoint = "reflector";
  info.eal_args = "-l 0-2 --no-huge";
  info.udp_port = 4433;
  for (uint32_t w = 0; w < workers; ++w) info.workers.push_back({w, 10 + w, {{0, uint16_t(w)}}});
  return info;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void make(size_t n, EngineInfo info) {
    std::vector<WorkerChannel*> chans;
    for (size_t w = 0; w < n; ++w) {
      workers_.push_back(std::make_unique<FakeWorker>(static_cast<uint32_t>(w)));
      chans.push_back(&workers_.back()->channel);
    }
    cp_ = std::make_unique<ControlPlane>(std::move(info), chans);
  }
  void make(size_t n) { make(n, test_info(n)); }
  void start_all() {
    for (auto& w : workers_) w->start();
  }
  void join_all() {
    for (auto& w : workers_) w->join();
  }
  Value stats_json() {
    const Response r = cp_->execute("stats --json");
    EXPECT_TRUE(r.ok) << r.text;
    Value j;
    std::string err;
    EXPECT_TRUE(camp::json::parse(r.text, &j, &err)) << err << "\n" << r.text;
    return j;
  }
  void TearDown() override {
    join_all();
    cp_.reset();
  }

  std::vector<std::unique_ptr<FakeWorker>> workers_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneTest, SetReachesEveryWorkerWithItsValue) {
  make(3);
  start_all();
  Response r = cp_->execute("set idle_polls 12");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "idle_polls = 12 on 3 of 3 worker(s)")) << r.text;
  r = cp_->execute("set rx_burst 64");  // the top of its range
  ASSERT_TRUE(r.ok) << r.text;
  r = cp_->execute("  set   telemetry_ms\t10 ");  // the bottom of its range, odd spacing
  ASSERT_TRUE(r.ok) << r.text;
  join_all();
  for (auto& w : workers_) {
    EXPECT_EQ(w->settings.get(WorkerKey::idle_polls), 12u);
    EXPECT_EQ(w->settings.get(WorkerKey::rx_burst), 64u);
    EXPECT_EQ(w->settings.get(WorkerKey::telemetry_ms), 10u);
    EXPECT_EQ(w->settings.get(WorkerKey::idle_sleep_us),
              worker_key_info(WorkerKey::idle_sleep_us).def);
    EXPECT_EQ(w->stats.commands, 3u);
  }
}

TEST_F(ControlPlaneTest, BadSetsAreRefusedAndNothingIsSent) {
  make(2);
  start_all();
  struct Case {
    const char* line;
    const char* message;
  } const cases[] = {
      {"set nope 1",
       "unknown key 'nope' (known: idle_polls, idle_sleep_us, telemetry_ms, "
       "rx_burst, scheduler, failover_action, log_level)"},
      {"set scheduler fastest", "scheduler must be one of minrtt, rr, redundant (got 'fastest')"},
      {"set scheduler 1", "scheduler must be one of minrtt, rr, redundant"},
      {"set failover_action drop", "failover_action must be one of abandon, backup"},
      {"set idle_sleep_us lots", "value 'lots' for idle_sleep_us is not a number"},
      {"set idle_sleep_us -1", "is not a number"},
      {"set idle_sleep_us 12abc", "is not a number"},
      {"set idle_sleep_us 0x10", "is not a number"},
      {"set idle_sleep_us 1000001", "idle_sleep_us must be in 0..1000000 (got 1000001)"},
      {"set idle_sleep_us 99999999999999999999999", "idle_sleep_us must be in 0..1000000"},
      {"set rx_burst 0", "rx_burst must be in 1..64 (got 0)"},
      {"set rx_burst 65", "rx_burst must be in 1..64"},
      {"set telemetry_ms 9", "telemetry_ms must be in 10..60000"},
      {"set rx_burst", "usage: set KEY VALUE"},
      {"set rx_burst 1 2", "usage: set KEY VALUE"},
      {"set log_level loud",
       "log_level must be one of emerg, alert, crit, err, warning, notice, "
       "info, debug or 1..8 (got 'loud')"},
      {"set log_level 9", "log_level must be one of"},
      {"set log_level 0", "log_level must be one of"},
      {"frobnicate",
       "unknown command 'frobnicate' (known: status, ports, workers, stats, conns, conn, paths, "
       "path, set, stop, help)"},
      {"paths 0:1 0:2", "usage: paths [WORKER:ID] [--json]"},
      {"paths 0", "bad connection id '0'"},
      {"paths 7:1", "there is no worker 7"},
      {"path 0:1 0", "usage: path WORKER:ID PATH_ID available|backup|abandon"},
      {"path 0:1 x backup", "bad path ID 'x'"},
      {"path 0:1 1 sideways", "unknown path action 'sideways' (known: available, backup, abandon)"},
      {"path 9:1 1 backup", "there is no worker 9"},
      {"status now", "status takes no arguments"},
      {"stats --xml", "usage: stats [--json] | stats reset"},
      {"", "empty command"},
      {"   ", "empty command"},
  };
  for (const auto& c : cases) {
    const Response r = cp_->execute(c.line);
    EXPECT_FALSE(r.ok) << c.line;
    EXPECT_TRUE(contains(r.text, c.message)) << c.line << " -> " << r.text;
  }
  join_all();
  for (auto& w : workers_) {
    EXPECT_EQ(w->stats.commands, 0u);  // nothing reached the workers
    for (const auto& k : kWorkerKeys) EXPECT_EQ(w->settings.get(k.key), k.def) << k.name;
  }
}

TEST_F(ControlPlaneTest, LogLevelIsEngineWide) {
  make(1);
  const uint32_t before = rte_log_get_global_level();
  Response r = cp_->execute("set log_level debug");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(rte_log_get_global_level(), RTE_LOG_DEBUG);
  r = cp_->execute("set log_level 3");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(rte_log_get_global_level(), RTE_LOG_CRIT);
  EXPECT_EQ(workers_[0]->channel.commands.read_available(), 0u);  // no worker command for it
  EXPECT_TRUE(contains(cp_->execute("status").text, "log level: crit"));
  r = cp_->execute("set log_level emerg");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(rte_log_get_global_level(), RTE_LOG_EMERG);
  rte_log_set_global_level(before);
}

TEST_F(ControlPlaneTest, SnapshotsAreFresh) {
  make(2);
  start_all();
  // No periodic reports at all: only an answer to this request can carry these numbers.
  workers_[0]->add_rx(1234);
  workers_[1]->add_rx(5);
  ASSERT_TRUE(workers_[0]->wait_applied());
  ASSERT_TRUE(workers_[1]->wait_applied());
  Value j = stats_json();
  EXPECT_EQ(u64_at(j, "rx_packets"), 1239u);
  EXPECT_EQ(u64_at(j, "workers.0.rx_packets"), 1234u);
  EXPECT_EQ(u64_at(j, "workers.1.rx_packets"), 5u);
  EXPECT_EQ(bool_at(j, "workers.0.stale"), false);
  EXPECT_EQ(bool_at(j, "workers.1.stale"), false);

  workers_[1]->add_rx(1000);
  ASSERT_TRUE(workers_[1]->wait_applied());
  j = stats_json();
  EXPECT_EQ(u64_at(j, "workers.1.rx_packets"), 1005u);
  EXPECT_TRUE(contains(cp_->execute("status").text, "rx 2239 packets"))
      << cp_->execute("status").text;
  const std::string w = cp_->execute("workers").text;
  EXPECT_TRUE(contains(w, "worker 0 lcore 10 queues 0:0\n  rx 1234 packets")) << w;
  EXPECT_TRUE(contains(w, "worker 1 lcore 11 queues 0:1\n  rx 1005 packets")) << w;
  EXPECT_FALSE(contains(w, "stale")) << w;
}

TEST_F(ControlPlaneTest, SilentWorkerIsShownStaleFromItsLastReport) {
  make(2);
  start_all();
  workers_[1]->add_rx(100);
  ASSERT_TRUE(workers_[1]->wait_applied());
  workers_[1]->push_periodic();
  // Let the periodic report land, then freeze the worker with newer numbers it cannot report.
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (workers_[1]->pushes() == 0 && Clock::now() < until) std::this_thread::yield();
  ASSERT_EQ(workers_[1]->pushes(), 1u);
  cp_->drain();
  workers_[1]->pause(true);
  workers_[0]->add_rx(7);
  ASSERT_TRUE(workers_[0]->wait_applied());

  const auto t0 = Clock::now();
  Value j = stats_json();
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(took, 0.45);  // it waited for the silent worker, but only so long
  EXPECT_LT(took, 3.0);
  EXPECT_EQ(bool_at(j, "workers.0.stale"), false);
  EXPECT_EQ(bool_at(j, "workers.1.stale"), true);
  EXPECT_EQ(u64_at(j, "workers.0.rx_packets"), 7u);
  EXPECT_EQ(u64_at(j, "workers.1.rx_packets"), 100u);
  EXPECT_EQ(u64_at(j, "rx_packets"), 107u);
  const std::string text = cp_->execute("stats").text;
  EXPECT_TRUE(contains(text, "[stale]")) << text;
  EXPECT_TRUE(contains(text, "note: worker 1 did not answer in time; its numbers are from"))
      << text;

  // A set reaches its queue and is confirmed by the live worker only.
  Response r = cp_->execute("set idle_polls 3");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "on 1 of 2 worker(s)")) << r.text;
  EXPECT_TRUE(contains(r.text, "worker(s) 1 did not confirm in time")) << r.text;

  // Once the worker's command queue is full, a set is refused with the reason.
  while (workers_[1]->channel.commands.push(WorkerCommand{})) {
  }
  r = cp_->execute("set idle_polls 4");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "the command queue of worker(s) 1 is full")) << r.text;

  // It catches up when it runs again: every queued command is applied in order.
  workers_[1]->pause(false);
  join_all();
  EXPECT_EQ(workers_[1]->settings.get(WorkerKey::idle_polls), 3u);
  EXPECT_EQ(workers_[0]->settings.get(WorkerKey::idle_polls), 4u);
}

TEST_F(ControlPlaneTest, WorkerThatNeverReportedShowsZerosStale) {
  make(1);  // no thread at all
  const Value j = stats_json();
  EXPECT_EQ(bool_at(j, "workers.0.stale"), true);
  EXPECT_EQ(u64_at(j, "rx_packets"), 0u);
  EXPECT_TRUE(contains(cp_->execute("status").text, "it has not reported yet"));
}

TEST_F(ControlPlaneTest, StatsJsonNamesEveryDropReasonWithItsCount) {
  EngineInfo info = test_info(2);
  info.ports.push_back(PortInfo{0,
                                "net_\"tap\"0",
                                "net_tap",
                                "02:00:00:00:00:01",
                                {"198.18.0.1/24"},
                                2,
                                2,
                                true,
                                true,
                                false});
  info.ports.push_back(PortInfo{3, "net_null0", "net_null", "02:00:00:00:00:02", {}, 1, 1});
  info.port_counters = [](uint16_t port, PortCounters& c) {
    if (port != 0) return false;
    c = PortCounters{11, 12, 13, 14, 15, 16, 17, 18, true, 10000};
    return true;
  };
  make(2, info);
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    workers_[0]->stats.drops[i] = i + 1;
    workers_[1]->stats.drops[i] = 100 * (i + 1);
  }
  workers_[0]->stats.udp_rx = 120;
  workers_[1]->stats.icmp_echo_replies = 5;
  workers_[1]->stats.icmpv6_echo_replies = 3;
  workers_[0]->stats.nd_advertisements = 2;
  workers_[0]->stats.arp_replies = 1;
  workers_[1]->stats.udp_tx = 119;
  workers_[0]->stats.tx_bytes = 1u << 20;
  workers_[1]->stats.rx_bytes = 1ull << 40;
  start_all();

  const Value j = stats_json();
  const Value* drops = j.at("drops");
  ASSERT_NE(drops, nullptr);
  ASSERT_EQ(drops->kind(), Value::Kind::kObject);
  ASSERT_EQ(drops->members().size(), kDropReasonCount);
  uint64_t sum = 0;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string name(drop_reason_name(static_cast<DropReason>(i)));
    ASSERT_NE(drops->find(name), nullptr) << name;
    EXPECT_EQ(u64_at(*drops, name), 101 * (i + 1)) << name;
    EXPECT_EQ(u64_at(j, "workers.0.drops." + name), i + 1) << name;
    EXPECT_EQ(u64_at(j, "workers.1.drops." + name), 100 * (i + 1)) << name;
    sum += 101 * (i + 1);
  }
  EXPECT_EQ(u64_at(j, "dropped"), sum);
  EXPECT_EQ(u64_at(j, "workers.1.dropped"), sum / 101 * 100);
  EXPECT_EQ(u64_at(j, "udp_rx"), 120u);
  EXPECT_EQ(u64_at(j, "udp_tx"), 119u);
  EXPECT_EQ(u64_at(j, "icmp_echo_replies"), 5u);
  EXPECT_EQ(u64_at(j, "icmpv6_echo_replies"), 3u);
  EXPECT_EQ(u64_at(j, "nd_advertisements"), 2u);
  EXPECT_EQ(u64_at(j, "arp_replies"), 1u);
  EXPECT_EQ(u64_at(j, "tx_bytes"), 1u << 20);
  EXPECT_EQ(u64_at(j, "rx_bytes"), 1ull << 40);
  for (const char* f : {"rx_packets", "tx_packets", "arp_replies_seen", "polls", "idle_polls",
                        "sleeps", "commands"})
    EXPECT_NE(j.at(f), nullptr) << f;
  // The snapshot itself is counted as a command by each worker.
  EXPECT_EQ(u64_at(j, "workers.0.commands"), 1u);
  EXPECT_EQ(u64_at(j, "workers.1.lcore"), 11u);
  EXPECT_EQ(u64_at(j, "workers.1.worker"), 1u);
  EXPECT_EQ(u64_at(j, "workers.0.settings.rx_burst"), 32u);

  EXPECT_EQ(u64_at(j, "ports.0.port"), 0u);
  EXPECT_EQ(str_at(j, "ports.0.name"), "net_\"tap\"0");
  EXPECT_EQ(bool_at(j, "ports.0.counters_available"), true);
  EXPECT_EQ(bool_at(j, "ports.0.link_up"), true);
  const char* port_fields[] = {"ipackets", "opackets", "ibytes",  "obytes",
                               "imissed",  "ierrors",  "oerrors", "rx_nombuf"};
  for (size_t i = 0; i < std::size(port_fields); ++i)
    EXPECT_EQ(u64_at(j, std::string("ports.0.") + port_fields[i]), 11 + i) << port_fields[i];
  EXPECT_EQ(u64_at(j, "ports.1.port"), 3u);
  EXPECT_EQ(bool_at(j, "ports.1.counters_available"), false);
  EXPECT_EQ(u64_at(j, "ports.1.ipackets"), 0u);

  // The text form lists the non-zero reasons by name.
  const std::string text = cp_->execute("stats").text;
  EXPECT_TRUE(contains(text, "udp_port_closed")) << text;
  EXPECT_TRUE(contains(text, "port 3 net_null0: counters not available")) << text;
  const std::string ports = cp_->execute("ports").text;
  EXPECT_TRUE(
      contains(ports, "port 0 net_\"tap\"0 (net_tap), mac 02:00:00:00:00:01, link up 10000"))
      << ports;
  EXPECT_TRUE(contains(ports, "198.18.0.1/24")) << ports;
  EXPECT_TRUE(contains(ports, "rss on; offloads: ipv4 checksum on, l4 checksum off")) << ports;
  EXPECT_TRUE(contains(ports, "ipackets 11 opackets 12")) << ports;
}

TEST_F(ControlPlaneTest, FormatStatsForFinalCounters) {
  EngineInfo info = test_info(2);
  make(0, info);
  std::vector<WorkerTelemetry> tel(2);
  tel[0].stats.rx_packets = 3;
  tel[1].stats.rx_packets = 4;
  tel[1].stats.drop(DropReason::ipv4_fragment, 2);
  Value j;
  std::string err;
  const std::string js = format_stats(tel, info, true);
  ASSERT_TRUE(camp::json::parse(js, &j, &err)) << err << "\n" << js;
  EXPECT_EQ(u64_at(j, "rx_packets"), 7u);
  EXPECT_EQ(u64_at(j, "drops.ipv4_fragment"), 2u);
  EXPECT_EQ(u64_at(j, "workers.1.drops.ipv4_fragment"), 2u);
  ASSERT_NE(j.at("workers"), nullptr) << js;
  ASSERT_EQ(j.at("workers")->kind(), Value::Kind::kArray) << js;
  EXPECT_EQ(j.at("workers")->items().size(), 2u);
  const std::string text = format_stats(tel, info, false);
  EXPECT_TRUE(contains(text, "rx 7 packets")) << text;
  EXPECT_TRUE(contains(text, "ipv4_fragment")) << text;
  EXPECT_FALSE(contains(text, "stale")) << text;
}

TEST_F(ControlPlaneTest, StatsReset) {
  make(2);
  workers_[0]->stats.drop(DropReason::no_mbuf, 9);
  start_all();
  workers_[1]->add_rx(50);
  ASSERT_TRUE(workers_[1]->wait_applied());
  EXPECT_EQ(u64_at(stats_json(), "rx_packets"), 50u);
  const Response r = cp_->execute("stats reset");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(contains(r.text, "counters reset on 2 of 2")) << r.text;
  const Value j = stats_json();
  EXPECT_EQ(u64_at(j, "rx_packets"), 0u);
  EXPECT_EQ(u64_at(j, "drops.no_mbuf"), 0u);
}

TEST_F(ControlPlaneTest, StopCallsRequestQuit) {
  std::atomic<int> quits{0};
  EngineInfo info = test_info(0);
  info.request_quit = [&] { quits++; };
  make(0, info);
  const Response r = cp_->execute("stop");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(quits.load(), 1);
  ControlPlane without(test_info(0), {});
  EXPECT_FALSE(without.execute("stop").ok);
}

TEST_F(ControlPlaneTest, HelpAndStatus) {
  make(2);
  start_all();
  const Response h = cp_->execute("help");
  ASSERT_TRUE(h.ok);
  for (const auto& k : kWorkerKeys) EXPECT_TRUE(contains(h.text, std::string(k.name))) << k.name;
  for (const char* c : {"status", "ports", "workers", "stats", "set", "stop", "log_level"})
    EXPECT_TRUE(contains(h.text, c)) << c;
  const Response s = cp_->execute("status");
  ASSERT_TRUE(s.ok);
  EXPECT_TRUE(contains(s.text, "campd 9.9.9, pid " + std::to_string(getpid()))) << s.text;
  EXPECT_TRUE(contains(s.text, "reflector on UDP port 4433")) << s.text;
  EXPECT_TRUE(contains(s.text, "workers:   2")) << s.text;
  EXPECT_TRUE(contains(s.text, "-l 0-2 --no-huge")) << s.text;
  EXPECT_TRUE(cp_->execute("set idle_sleep_us 77").ok);
  const std::string w = cp_->execute("workers").text;
  EXPECT_TRUE(contains(w, "idle_sleep_us=77")) << w;
}

TEST_F(ControlPlaneTest, ExecuteFromManyThreadsAtOnce) {
  make(2);
  start_all();
  std::atomic<int> failures{0}, stale{0};
  auto client = [&](int id) {
    for (int i = 0; i < 15; ++i) {
      Response r;
      switch ((i + id) % 3) {
        case 0:
          r = cp_->execute("stats --json");
          break;
        case 1:
          r = cp_->execute("set idle_polls " + std::to_string(id));
          break;
        default:
          r = cp_->execute("workers");
          break;
      }
      if (!r.ok) failures++;
      if (contains(r.text, "stale") && contains(r.text, "\"stale\":true")) stale++;
      if (contains(r.text, "[stale]") || contains(r.text, "did not")) stale++;
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i) ts.emplace_back(client, i);
  // And the control thread's job at the same time.
  std::atomic<bool> done{false};
  std::thread drainer([&] {
    while (!done) cp_->drain();
  });
  for (auto& t : ts) t.join();
  done = true;
  drainer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stale.load(), 0);  // every answer was matched to its request
}

TEST(Commands, SplitWords) {
  const auto w = split_words(" set\tidle_polls  5 ");
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], "set");
  EXPECT_EQ(w[1], "idle_polls");
  EXPECT_EQ(w[2], "5");
  EXPECT_TRUE(split_words("").empty());
}

}  // namespace
}  // namespace camp::control
