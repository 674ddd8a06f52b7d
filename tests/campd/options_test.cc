// campd's options and INI config: defaults, overrides, and errors that name the key.
#include "tools/campd/options.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace camp::campd {
namespace {

ParseResult parse(std::vector<std::string> args, Options* o, std::string* err) {
  args.insert(args.begin(), "campd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), o, err);
}

std::string write_config(const std::string& text) {
  char path[] = "/tmp/campd-config-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(CampdOptions, Defaults) {
  Options o;
  std::string err;
  ASSERT_EQ(parse({}, &o, &err), ParseResult::ok) << err;
  EXPECT_EQ(o.udp_port, 4433);
  EXPECT_FALSE(o.interactive);
  EXPECT_TRUE(o.telemetry);
  EXPECT_EQ(o.worker.get(WorkerKey::rx_burst), 32u);
  EXPECT_EQ(o.worker.get(WorkerKey::scheduler), 0u);  // minrtt
  EXPECT_EQ(o.worker.get(WorkerKey::failover_action), 0u);  // abandon
  EXPECT_EQ(o.max_path_id, 3u);
  EXPECT_FALSE(o.lb_config_id.has_value());  // no QUIC-LB configuration: CIDs say 0b111
  EXPECT_EQ(o.lb_server_id, std::vector<uint8_t>{0x00});
}

TEST(CampdOptions, QuicLbConfigurationFromFlagsAndFile) {
  Options o;
  std::string err;
  ASSERT_EQ(parse({"--lb-config-id", "2", "--lb-server-id", "0A0b0c"}, &o, &err), ParseResult::ok)
      << err;
  EXPECT_EQ(o.lb_config_id, 2u);
  EXPECT_EQ(o.lb_server_id, (std::vector<uint8_t>{0x0a, 0x0b, 0x0c}));
  const std::string path = write_config("[engine]\nlb_config_id = 6\nlb_server_id = ff\n");
  Options c;
  ASSERT_EQ(parse({"-c", path, "--lb-server-id", "1234"}, &c, &err), ParseResult::ok) << err;
  std::remove(path.c_str());
  EXPECT_EQ(c.lb_config_id, 6u);
  EXPECT_EQ(c.lb_server_id, (std::vector<uint8_t>{0x12, 0x34}));  // the flag wins
}

TEST(CampdOptions, MultipathSettingsByName) {
  Options o;
  std::string err;
  ASSERT_EQ(parse({"--scheduler", "redundant", "--failover-action", "backup", "--max-path-id",
                   "7"}, &o, &err),
            ParseResult::ok)
      << err;
  EXPECT_EQ(o.worker.get(WorkerKey::scheduler), 2u);
  EXPECT_EQ(o.worker.get(WorkerKey::failover_action), 1u);
  EXPECT_EQ(o.max_path_id, 7u);
  Options off;
  ASSERT_EQ(parse({"--max-path-id", "off", "--scheduler", "rr"}, &off, &err), ParseResult::ok)
      << err;
  EXPECT_FALSE(off.max_path_id.has_value());
  EXPECT_EQ(off.worker.get(WorkerKey::scheduler), 1u);
  const std::string path = write_config(
      "[engine]\nmax_path_id = 1\n[workers]\nscheduler = rr\nfailover_action = backup\n");
  Options c;
  ASSERT_EQ(parse({"-c", path, "--scheduler", "minrtt"}, &c, &err), ParseResult::ok) << err;
  std::remove(path.c_str());
  EXPECT_EQ(c.max_path_id, 1u);
  EXPECT_EQ(c.worker.get(WorkerKey::scheduler), 0u);  // the flag wins
  EXPECT_EQ(c.worker.get(WorkerKey::failover_action), 1u);
}

TEST(CampdOptions, FlagsSetEverything) {
  Options o;
  std::string err;
  ASSERT_EQ(parse({"--addr", "198.18.0.1", "-a", "1@2001:2::5", "--udp-port", "5000", "-i",
                   "--ctl-socket", "/tmp/x.sock", "--no-telemetry", "--duration", "2.5",
                   "--idle-sleep-us", "0", "--rx-burst", "16", "--json", "--rxd", "512"},
                  &o, &err),
            ParseResult::ok)
      << err;
  EXPECT_EQ(o.udp_port, 5000);
  EXPECT_TRUE(o.interactive);
  EXPECT_FALSE(o.telemetry);
  EXPECT_TRUE(o.final_json);
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_EQ(o.ctl_socket, "/tmp/x.sock");
  EXPECT_EQ(o.rxd, 512);
  EXPECT_EQ(o.worker.get(WorkerKey::idle_sleep_us), 0u);
  EXPECT_EQ(o.worker.get(WorkerKey::rx_burst), 16u);
  ASSERT_EQ(o.ports[0].local.n_ipv4, 1);
  const uint8_t a[4] = {198, 18, 0, 1};
  EXPECT_TRUE(o.ports[0].local.has_ipv4(a));
  EXPECT_EQ(o.ports[1].local.n_ipv6, 1);
}

TEST(CampdOptions, BadFlagsNameTheKey) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--udp-port", "70000"}, "--udp-port"},
      {{"--udp-port", "-1"}, "--udp-port"},
      {{"--udp-port", " 5"}, "--udp-port"},
      {{"--addr", "198.18.0.300"}, "--addr"},
      {{"--addr", "99999@198.18.0.1"}, "--addr"},
      {{"--rx-burst", "0"}, "--rx-burst"},
      {{"--rx-burst", "65"}, "--rx-burst"},
      {{"--idle-sleep-us", "soon"}, "--idle-sleep-us"},
      {{"--duration", "-3"}, "--duration"},
      {{"--null-template", "tcp"}, "--null-template"},
      {{"--scheduler", "fastest"}, "--scheduler must be one of minrtt, rr, redundant"},
      {{"--scheduler", "1"}, "--scheduler must be one of"},
      {{"--failover-action", "drop"}, "--failover-action must be one of abandon, backup"},
      {{"--max-path-id", "8"}, "--max-path-id: '8' is not a whole number in 0..7 (or off)"},
      {{"--max-path-id", "on"}, "--max-path-id"},
      {{"--lb-config-id", "7"}, "--lb-config-id: '7' is not a whole number in 0..6"},
      {{"--lb-server-id", "abc"}, "--lb-server-id: 'abc' is not 1..11 octets in hex"},
      {{"--lb-server-id", ""}, "--lb-server-id"},
      {{"--lb-server-id", "0x12"}, "--lb-server-id"},
      {{"--lb-server-id", "000102030405060708090a0b"}, "--lb-server-id"},
      {{"--bogus"}, "--bogus"},
      {{"stray"}, "stray"},
  };
  for (const auto& [args, key] : cases) {
    Options o;
    std::string err;
    EXPECT_EQ(parse(args, &o, &err), ParseResult::error) << args[0];
    EXPECT_NE(err.find(key), std::string::npos) << err;
  }
}

TEST(CampdOptions, AddressErrorsSayWhichFlagOnce) {
  Options o;
  std::string err;
  EXPECT_EQ(parse({"--addr", "nonsense"}, &o, &err), ParseResult::error);
  EXPECT_EQ(err, "--addr: 'nonsense' is not an IPv4 or IPv6 address");
  // Seven IPv6 addresses fit; the eighth entry is the port's link-local one.
  Options o2;
  std::vector<std::string> args;
  for (int i = 1; i <= 8; ++i) {
    args.push_back("--addr");
    args.push_back("2001:2::" + std::to_string(i));
  }
  EXPECT_EQ(parse(args, &o2, &err), ParseResult::error);
  EXPECT_NE(err.find("too many addresses"), std::string::npos) << err;
  EXPECT_EQ(o2.ports[0].local.n_ipv6, 7);
}

TEST(CampdOptions, SocketDriverAndListen) {
  Options o;
  std::string err;
  ASSERT_EQ(parse({"--driver", "socket", "--listen", "127.0.0.1:4433", "--listen", "[::1]:0"}, &o,
                  &err),
            ParseResult::ok)
      << err;
  EXPECT_EQ(o.driver, DriverKind::socket);
  ASSERT_EQ(o.listen.size(), 2u);
  EXPECT_EQ(o.listen[1], "[::1]:0");
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--driver", "xdp"}, "--driver: 'xdp'"},
      {{"--driver", "socket"}, "needs at least one --listen"},
      {{"--listen", "127.0.0.1"}, "--listen: '127.0.0.1'"},
      {{"--listen", "localhost:80"}, "--listen: 'localhost:80'"},
      {{"--listen", "127.0.0.1:70000"}, "--listen: '127.0.0.1:70000'"},
  };
  for (const auto& [args, want] : bad) {
    Options b;
    EXPECT_EQ(parse(args, &b, &err), ParseResult::error) << args[0];
    EXPECT_NE(err.find(want), std::string::npos) << err;
  }
}

TEST(CampdOptions, ConfigFileThenFlagsOverride) {
  const std::string path = write_config(
      "[engine]\nudp_port = 7000\nctl_socket = /tmp/c.sock\ntelemetry = no\n"
      "[workers]\nidle_polls = 10\nidle_sleep_us = 5\n"
      "[port.0]\naddresses = 198.18.0.1, 2001:2::1\nrxd = 256\n"
      "[port.1]\naddresses = 198.18.1.1\n");
  Options o;
  std::string err;
  ASSERT_EQ(parse({"-c", path, "--udp-port", "7001"}, &o, &err), ParseResult::ok) << err;
  std::remove(path.c_str());
  EXPECT_EQ(o.udp_port, 7001);  // the flag wins even though it came after -c
  EXPECT_EQ(o.ctl_socket, "/tmp/c.sock");
  EXPECT_FALSE(o.telemetry);
  EXPECT_EQ(o.worker.get(WorkerKey::idle_polls), 10u);
  EXPECT_EQ(o.worker.get(WorkerKey::idle_sleep_us), 5u);
  EXPECT_EQ(o.ports[0].local.n_ipv4, 1);
  EXPECT_EQ(o.ports[0].local.n_ipv6, 1);
  EXPECT_EQ(o.ports[0].rxd, 256);
  EXPECT_EQ(o.ports[1].local.n_ipv4, 1);
}

TEST(CampdOptions, BadConfigNamesSectionAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[engine]\nudp_port = 0\n", "[engine] udp_port"},
      {"[engine]\nfrobnicate = 1\n", "[engine] frobnicate: unknown key"},
      {"[workers]\nrx_burst = 1000\n", "[workers] rx_burst"},
      {"[workers]\nwhatever = 1\n", "[workers] whatever"},
      {"[port.0]\naddresses = 198.18.0.1 nonsense\n", "[port.0] addresses"},
      {"[port.x]\naddresses = 198.18.0.1\n", "[port.x]"},
      {"[nonsense]\na = b\n", "unknown section [nonsense]"},
      {"[empty_unknown]\n", "unknown section [empty_unknown]"},
      {"[engine]\ntelemetry = maybe\n", "[engine] telemetry"},
      {"[engine]\nmax_path_id = many\n", "[engine] max_path_id"},
      {"[engine]\nlb_config_id = 9\n", "[engine] lb_config_id"},
      {"[engine]\nlb_server_id = zz\n", "[engine] lb_server_id"},
      {"[workers]\nscheduler = best\n", "[workers] scheduler must be one of minrtt, rr"},
  };
  for (const auto& [text, want] : cases) {
    const std::string path = write_config(text);
    Options o;
    std::string err;
    EXPECT_FALSE(load_config(path, &o, &err)) << text;
    EXPECT_NE(err.find(want), std::string::npos) << "got: " << err;
    std::remove(path.c_str());
  }
  Options o;
  std::string err;
  EXPECT_FALSE(load_config("/nonexistent/campd.ini", &o, &err));
  EXPECT_NE(err.find("/nonexistent/campd.ini"), std::string::npos);
}

// The real binary stops with the key's name and status 1 before EAL starts (no root needed).
TEST(CampdBinary, BadValueStopsBeforeAnythingStarts) {
  const char* campd = std::getenv("CAMPD");
  if (!campd) GTEST_SKIP() << "CAMPD not set";
  const std::string cmd = std::string(campd) + " -l 0 --no-huge -- --udp-port 99999 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[512] = {};
  const size_t n = fread(buf, 1, sizeof buf - 1, f);
  const int st = pclose(f);
  const std::string out(buf, n);
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_NE(out.find("--udp-port: '99999'"), std::string::npos) << out;
  EXPECT_EQ(out.find("EAL"), std::string::npos) << "EAL started: " << out;
}

}  // namespace
}  // namespace camp::campd
