// The real campctl binary (path in $CAMPCTL) against a ControlPlane running in this process:
// output, exit statuses and messages, including when nothing listens on the socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/control_plane.h"
#include "tests/control/fake_endpoint.h"
#include "tests/control/fake_worker.h"
#include "tests/control/json_at.h"
#include "tests/integration/process_util.h"

extern char** environ;

namespace camp::control {
namespace {

using camp::testing::FakeConnEndpoint;
using camp::testing::FakeWorker;
using camp::testing::str_at;
using camp::testing::u64_at;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

using camp::testing::slurp;

struct Outcome {
  int status = -1;  // exit status; -1 if it did not exit normally in time
  std::string out, err;
};

// Runs campctl with args and extra environment, stdout and stderr to files, killed after 15 s.
Outcome campctl(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}, bool keep_env_socket = false) {
  Outcome run;
  const char* bin = std::getenv("CAMPCTL");
  if (!bin) {
    ADD_FAILURE() << "set CAMPCTL to the campctl binary (meson test does)";
    return run;
  }
  const std::string base = "/tmp/camp-campctl-test-" + std::to_string(getpid());
  const std::string out_path = base + ".out", err_path = base + ".err";

  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string_view v = *e;
    if (!keep_env_socket && v.starts_with(std::string(kSocketEnv) + "=")) continue;
    envs.emplace_back(v);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_s{bin};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int r = posix_spawn(&pid, bin, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) {
    ADD_FAILURE() << "cannot run " << bin << ": " << strerror(r);
    return run;
  }
  int st = 0;
  const auto until = Clock::now() + std::chrono::seconds(15);
  for (;;) {
    const pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (Clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      ADD_FAILURE() << "campctl did not finish in time";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return run;
}

class Campctl : public ::testing::Test {
 protected:
  void SetUp() override {
    sock_ = "/tmp/camp-campctl-test-" + std::to_string(getpid()) + ".sock";
    EngineInfo info;
    info.version = "9.9.9";
    info.endpoint = "reflector";
    info.udp_port = 4433;
    info.workers = {{0, 1, {{0, 0}}}, {1, 2, {{0, 1}}}};
    info.ports.push_back(PortInfo{
        0, "net_tap0", "net_tap", "02:00:00:00:00:01", {"198.18.0.1/24", "2001:db8::1/64"}, 2, 2});
    info.request_quit = [this] { quits_++; };
    w0_.stats.drop(DropReason::udp_port_closed, 4);
    w1_.stats.drop(DropReason::ipv4_bad_checksum, 1);
    w1_.stats.udp_rx = 120;
    cp_ = std::make_unique<ControlPlane>(info,
                                         std::vector<WorkerChannel*>{&w0_.channel, &w1_.channel});
    std::string err;
    ASSERT_TRUE(cp_->start(sock_, false, &err)) << err;
    w0_.endpoint = &e0_;
    w1_.endpoint = &e1_;
    w0_.start();
    w1_.start();
  }
  void TearDown() override {
    cp_->stop();
    w0_.join();
    w1_.join();
  }

  std::string sock_;
  FakeConnEndpoint e0_{5, 2, 0}, e1_{5, 1, 7};  // connections 0:5, 0:7 and 1:5
  FakeWorker w0_{0}, w1_{1};
  std::atomic<int> quits_{0};
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(Campctl, StatusPortsWorkers) {
  Outcome r = campctl({"--socket", sock_, "status"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "campd 9.9.9, pid " + std::to_string(getpid()))) << r.out;
  EXPECT_EQ(r.err, "");
  r = campctl({"--socket=" + sock_, "ports"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "198.18.0.1/24 2001:db8::1/64")) << r.out;
  r = campctl({"-s", sock_, "workers"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "worker 1 lcore 2 queues 0:1")) << r.out;
}

TEST_F(Campctl, StatsJson) {
  w0_.add_rx(10);
  w1_.add_rx(20);
  ASSERT_TRUE(w0_.wait_applied());
  ASSERT_TRUE(w1_.wait_applied());
  const Outcome r = campctl({"--socket", sock_, "stats", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  camp::json::Value j;
  std::string err;
  ASSERT_TRUE(camp::json::parse(r.out, &j, &err)) << err << "\n" << r.out;
  EXPECT_EQ(u64_at(j, "rx_packets"), 30u);
  EXPECT_EQ(u64_at(j, "udp_rx"), 120u);
  EXPECT_EQ(u64_at(j, "dropped"), 5u);
  EXPECT_EQ(u64_at(j, "drops.udp_port_closed"), 4u);
  EXPECT_EQ(u64_at(j, "drops.ipv4_bad_checksum"), 1u);
  EXPECT_EQ(u64_at(j, "drops.eth_truncated"), 0u);
  EXPECT_EQ(u64_at(j, "workers.0.drops.udp_port_closed"), 4u);
  EXPECT_EQ(str_at(j, "ports.0.name"), "net_tap0");
}

TEST_F(Campctl, SetAndItsErrors) {
  Outcome r = campctl({"--socket", sock_, "set", "idle_sleep_us", "77"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = campctl({"--socket", sock_, "workers"});
  EXPECT_TRUE(contains(r.out, "idle_sleep_us=77")) << r.out;

  r = campctl({"--socket", sock_, "set", "no_such_key", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "campctl: unknown key 'no_such_key' (known: idle_polls,")) << r.err;
  r = campctl({"--socket", sock_, "set", "idle_sleep_us", "lots"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "value 'lots' for idle_sleep_us is not a number")) << r.err;
  r = campctl({"--socket", sock_, "set", "rx_burst", "1000"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "rx_burst must be in 1..64")) << r.err;
  r = campctl({"--socket", sock_, "frobnicate"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "unknown command 'frobnicate'")) << r.err;

  w0_.join();
  w1_.join();
  EXPECT_EQ(w0_.settings.get(WorkerKey::idle_sleep_us), 77u);
  EXPECT_EQ(w1_.settings.get(WorkerKey::rx_burst), 32u);
}

TEST_F(Campctl, UsageErrors) {
  Outcome r = campctl({"--socket", sock_, "set", "idle_polls"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "usage: campctl set KEY VALUE")) << r.err;
  r = campctl({});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "no command given")) << r.err;
  r = campctl({"--bogus", "status"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown option '--bogus'")) << r.err;
  r = campctl({"--socket"});
  EXPECT_EQ(r.status, 2);
  r = campctl({"--socket", sock_, "set", "idle polls", "1"});
  EXPECT_EQ(r.status, 2);
}

TEST_F(Campctl, HelpTellsTheTruth) {
  const Outcome r = campctl({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s :
       {"--socket PATH", "CAMP_CTL_SOCKET", kDefaultSocketPath, "status", "ports", "workers",
        "stats [--json]", "stats reset", "conns [--json]", "conn ID [--json]", "set KEY VALUE",
        "stop", "exit status"})
    EXPECT_TRUE(contains(r.out, s)) << s;
  // Every command it lists is one campd knows.
  for (const char* c : {"status", "ports", "workers", "stats", "conns", "help"}) {
    const Outcome x = campctl({"--socket", sock_, c});
    EXPECT_EQ(x.status, 0) << c << ": " << x.err;
  }
  const Outcome h = campctl({"--socket", sock_, "help"});
  EXPECT_TRUE(contains(h.out, "idle_sleep_us")) << h.out;
}

TEST_F(Campctl, ConnsAndConn) {
  Outcome r = campctl({"--socket", sock_, "conns"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "0:5 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "0:7 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "1:5 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "3 connection(s)")) << r.out;
  r = campctl({"--socket", sock_, "conns", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  camp::json::Value j;
  std::string err;
  ASSERT_TRUE(camp::json::parse(r.out, &j, &err)) << err << "\n" << r.out;
  EXPECT_EQ(u64_at(j, "count"), 3u);
  EXPECT_EQ(str_at(j, "connections.2.id"), "1:5");
  EXPECT_EQ(u64_at(j, "connections.2.bytes_sent"), e1_.bytes_sent(5));

  r = campctl({"--socket", sock_, "conn", "0:7"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "connection 0:7\n")) << r.out;
  EXPECT_TRUE(contains(r.out, std::to_string(e0_.bytes_sent(7)))) << r.out;
  r = campctl({"--socket", sock_, "conn", "1:5", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  j = camp::json::Value{};
  ASSERT_TRUE(camp::json::parse(r.out, &j, &err)) << err << "\n" << r.out;
  EXPECT_EQ(u64_at(j, "counters.bytes_sent"), e1_.bytes_sent(5));
  EXPECT_EQ(u64_at(j, "recovery.smoothed_rtt_ns"), e1_.srtt_ns(5));

  // Unknown and malformed ids: a message on stderr, nothing on stdout, exit status 1.
  r = campctl({"--socket", sock_, "conn", "0:99"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "campctl: no connection 0:99 (campctl conns lists the live ones)\n");
  r = campctl({"--socket", sock_, "conn", "nope"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "bad connection id 'nope'")) << r.err;
  r = campctl({"--socket", sock_, "conn", "3:5"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "there is no worker 3")) << r.err;
  r = campctl({"--socket", sock_, "conn"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "usage: campctl conn WORKER:ID [--json]")) << r.err;
}

TEST_F(Campctl, SocketFromEnvironment) {
  Outcome r = campctl({"status"}, {{kSocketEnv, sock_}});
  EXPECT_EQ(r.status, 0) << r.err;
  // --socket wins over the environment.
  r = campctl({"--socket", sock_, "status"}, {{kSocketEnv, "/nonexistent/campd.sock"}});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Campctl, StopAsksTheEngineToQuit) {
  const Outcome r = campctl({"--socket", sock_, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(quits_.load(), 1);
}

TEST(CampctlAlone, NoCampdRunning) {
  const std::string sock = "/tmp/camp-campctl-test-" + std::to_string(getpid()) + "-none.sock";
  unlink(sock.c_str());
  Outcome r = campctl({"--socket", sock, "status"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "campctl: cannot reach campd at " + sock +
                       ": No such file or directory (is campd running?)\n");
  // A socket file nobody listens on (campd was killed).
  {
    ControlPlane cp(EngineInfo{}, {});
    std::string err;
    ASSERT_TRUE(cp.start(sock, false, &err)) << err;
  }
  // stop() removed the file; recreate a dead one by hand.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  r = campctl({"--socket", sock, "stats"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "campctl: cannot reach campd at " + sock +
                       ": Connection refused (is campd running?)\n");
  unlink(sock.c_str());
}

}  // namespace
}  // namespace camp::control
