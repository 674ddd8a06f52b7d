// The /camp/* rte_telemetry commands through DPDK's real telemetry socket, as dpdk-telemetry.py
// reads them: a minimal EAL (no hugepages, no PCI) is started in this process. Skipped when the
// EAL cannot start here.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "control/control_plane.h"
#include "tests/control/fake_endpoint.h"
#include "tests/control/fake_worker.h"
#include "tests/control/json_at.h"

namespace camp::control {
namespace {

using camp::testing::FakeConnEndpoint;
using camp::testing::FakeWorker;
using camp::json::Value;
using camp::testing::str_at;
using camp::testing::u64_at;

std::string g_eal_error;

// Sends one telemetry request the way dpdk-telemetry.py does; returns the JSON reply or "".
std::string telemetry(const std::string& request) {
  const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  std::vector<char> buf(1 << 16);
  // The server greets first (version, pid, max_output_len).
  if (recv(fd, buf.data(), buf.size(), 0) <= 0 ||
      send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  close(fd);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : "";
}

class Telemetry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string prefix = "--file-prefix=camp-ctl-tel-" + std::to_string(getpid());
    std::vector<std::string> args = {
        "control_telemetry_test", "--no-huge", "--no-pci", "-l", "0", "-m", "64",
        "--log-level=error",      prefix};
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
      g_eal_error = "the EAL would not start here";
  }
  static void TearDownTestSuite() {
    if (g_eal_error.empty()) rte_eal_cleanup();
  }
  void SetUp() override {
    if (!g_eal_error.empty()) GTEST_SKIP() << g_eal_error;
  }
};

TEST_F(Telemetry, CampCommandsAnswerWithTheEngineNumbers) {
  EngineInfo info;
  info.version = "9.9.9";
  info.endpoint = "reflector";
  info.udp_port = 4433;
  info.workers = {{0, 1, {{0, 0}}}, {1, 2, {{0, 1}}}};
  info.ports.push_back(
      PortInfo{0, "net_tap0", "net_tap", "02:00:00:00:00:01", {"198.18.0.1/24"}, 2, 2});
  info.port_counters = [](uint16_t, PortCounters& c) {
    c.ipackets = 321;
    c.link_up = true;
    return true;
  };
  FakeWorker w0(0), w1(1);
  w0.stats.udp_rx = 100;
  w1.stats.udp_rx = 20;
  w1.stats.drop(DropReason::udp_port_closed, 3);
  ControlPlane cp(info, {&w0.channel, &w1.channel});
  const std::string sock = "/tmp/camp-ctl-tel-" + std::to_string(getpid()) + ".sock";
  std::string err;
  ASSERT_TRUE(cp.start(sock, true, &err)) << err;
  w0.start();
  w1.start();
  w1.add_rx(7);
  ASSERT_TRUE(w1.wait_applied());

  Value j;
  std::string r = telemetry("/camp/stats");
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  const Value* s = j.find("/camp/stats");
  ASSERT_NE(s, nullptr) << r;
  EXPECT_EQ(u64_at(*s, "udp_rx"), 120u) << r;
  EXPECT_EQ(u64_at(*s, "rx_packets"), 7u) << r;
  EXPECT_EQ(u64_at(*s, "dropped"), 3u) << r;
  EXPECT_EQ(u64_at(*s, "drop_udp_port_closed"), 3u) << r;
  EXPECT_EQ(u64_at(*s, "drop_eth_truncated"), 0u) << r;
  EXPECT_EQ(u64_at(*s, "stale_workers"), 0u) << r;
  EXPECT_NE(r.find("\"udp_rx\":120"), std::string::npos) << r;

  r = telemetry("/camp/status");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(str_at(j, "/camp/status.version"), "9.9.9") << r;
  EXPECT_EQ(u64_at(j, "/camp/status.pid"), static_cast<uint64_t>(getpid())) << r;
  EXPECT_EQ(u64_at(j, "/camp/status.workers"), 2u) << r;

  r = telemetry("/camp/ports");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  ASSERT_NE(j.find("/camp/ports"), nullptr) << r;
  ASSERT_EQ(j.find("/camp/ports")->kind(), Value::Kind::kArray) << r;
  ASSERT_EQ(j.find("/camp/ports")->items().size(), 1u) << r;
  r = telemetry("/camp/ports,0");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(u64_at(j, "/camp/ports.ipackets"), 321u) << r;
  EXPECT_EQ(str_at(j, "/camp/ports.name"), "net_tap0") << r;

  r = telemetry("/camp/workers,1");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(u64_at(j, "/camp/workers.udp_rx"), 20u) << r;
  EXPECT_EQ(u64_at(j, "/camp/workers.setting_rx_burst"), 32u) << r;
  EXPECT_EQ(u64_at(j, "/camp/workers.lcore"), 2u) << r;
  r = telemetry("/camp/workers,7");  // no such worker: telemetry answers null
  EXPECT_NE(r.find("null"), std::string::npos) << r;

  // Once stopped the commands stay registered but no longer reach this control plane.
  cp.stop();
  r = telemetry("/camp/stats");
  EXPECT_NE(r.find("null"), std::string::npos) << r;
  // And a new one can take them over.
  ControlPlane again(info, {&w0.channel, &w1.channel});
  ASSERT_TRUE(again.start(sock, true, &err)) << err;
  ControlPlane third(info, {});
  EXPECT_FALSE(third.start(sock + "3", true, &err));
  EXPECT_NE(err.find("already served"), std::string::npos) << err;
  r = telemetry("/camp/stats");
  EXPECT_NE(r.find("\"udp_rx\":120"), std::string::npos) << r;
  again.stop();
  w0.join();
  w1.join();
}

TEST_F(Telemetry, ConnsAndOneConnection) {
  EngineInfo info;
  info.workers = {{0, 1, {}}, {1, 2, {}}};
  FakeConnEndpoint e0(5, 2, 0), e1(5, 1, 7);
  FakeWorker w0(0), w1(1);
  w0.endpoint = &e0;
  w1.endpoint = &e1;
  ControlPlane cp(info, {&w0.channel, &w1.channel});
  const std::string sock = "/tmp/camp-ctl-tel-c-" + std::to_string(getpid()) + ".sock";
  std::string err;
  ASSERT_TRUE(cp.start(sock, true, &err)) << err;
  w0.start();
  w1.start();

  Value j;
  std::string r = telemetry("/camp/conns");
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.count"), 3u) << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.listed"), 3u) << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.unanswered_workers"), 0u) << r;
  EXPECT_EQ(str_at(j, "/camp/conns.id.0"), "0:5") << r;
  EXPECT_EQ(str_at(j, "/camp/conns.id.2"), "1:5") << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.worker.2"), 1u) << r;
  EXPECT_EQ(str_at(j, "/camp/conns.state.1"), "confirmed") << r;
  EXPECT_EQ(str_at(j, "/camp/conns.remote.1"), "198.18.0.2:40007") << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.bytes_sent.2"), e1.bytes_sent(5)) << r;
  EXPECT_EQ(u64_at(j, "/camp/conns.smoothed_rtt_ns.1"), e0.srtt_ns(7)) << r;

  r = telemetry("/camp/conn,1:5");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(str_at(j, "/camp/conn.id"), "1:5") << r;
  EXPECT_EQ(u64_at(j, "/camp/conn.bytes_sent"), e1.bytes_sent(5)) << r;  // a counter
  EXPECT_EQ(u64_at(j, "/camp/conn.smoothed_rtt_ns"), e1.srtt_ns(5)) << r;
  EXPECT_EQ(u64_at(j, "/camp/conn.age_ns"), 2'500'000'000u) << r;
  EXPECT_EQ(str_at(j, "/camp/conn.original_dcid"), "deadbeef") << r;
  EXPECT_EQ(str_at(j, "/camp/conn.cc"), "cubic") << r;
  EXPECT_EQ(u64_at(j, "/camp/conn.handshake_complete"), 1u) << r;
  EXPECT_EQ(j.at("/camp/conn.ssthresh"), nullptr) << r;  // unset: left out
  // Paths: one row per path of every connection (3 connections x 2 paths), or of one.
  r = telemetry("/camp/paths");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.listed"), 6u) << r;
  EXPECT_EQ(str_at(j, "/camp/paths.conn.5"), "1:5") << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.path_id.5"), 1u) << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.smoothed_rtt_ns.3"), e0.path_srtt_ns(7, 1)) << r;
  EXPECT_EQ(str_at(j, "/camp/paths.local_status.3"), "backup") << r;
  EXPECT_EQ(str_at(j, "/camp/paths.remote.2"), "198.18.0.2:40007") << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.last_ack_age_ns.0"), 5'000'000u) << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.last_ack_age_ns.1"), UINT64_MAX) << r;  // none yet
  r = telemetry("/camp/paths,0:7");
  j = Value{};
  ASSERT_TRUE(camp::json::parse(r, &j, &err)) << err << "\n" << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.listed"), 2u) << r;
  EXPECT_EQ(u64_at(j, "/camp/paths.bytes_sent.1"), 701u) << r;
  // Unknown or malformed ids, or none: telemetry answers null.
  for (const char* bad : {"/camp/conn,1:7", "/camp/conn,2:5", "/camp/conn,x", "/camp/conn",
                          "/camp/conns,1", "/camp/paths,1:7", "/camp/paths,x"}) {
    r = telemetry(bad);
    EXPECT_NE(r.find("null"), std::string::npos) << bad << " -> " << r;
  }
  cp.stop();
  w0.join();
  w1.join();
}

}  // namespace
}  // namespace camp::control
