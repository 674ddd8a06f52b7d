// campctl conns / conn against the real campd (--driver socket --www): this process is a QUIC
// client on kernel sockets that fetches a file over hq-interop and then holds its connection
// open while campctl lists it, shows its counters, and refuses ids that name no connection.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "control/json.h"
#include "tests/control/json_at.h"
#include "tests/integration/process_util.h"
#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/socket/driver.h"
#include "tests/quic_tls/test_pki.h"
#include "tools/hq/client.h"

namespace camp {
namespace {

using camp::testing::env_or;
using camp::testing::slurp;

void spit(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

int run(const std::string& cmd, std::string* out) { return camp::testing::run(cmd, out, true); }

const json::Value* at(const json::Value& v, std::string_view path) { return v.at(path); }
uint64_t u64(const json::Value& v, std::string_view path) {
  const std::optional<uint64_t> out = camp::testing::u64_at(v, path);
  EXPECT_TRUE(out) << path;
  return out.value_or(UINT64_MAX);
}
std::string str(const json::Value& v, std::string_view path) {
  const std::optional<std::string> out = camp::testing::str_at(v, path);
  EXPECT_TRUE(out) << path;
  return out.value_or("");
}

// hq-interop on the one connection; the test reads the flags from its own thread.
class ClientApp final : public quic::QuicApp {
 public:
  explicit ClientApp(hq::Client& hq) : hq_(hq) {}
  void on_connection_progress(quic::Connection& c, quic::TimeNs) override {
    if (!c.handshake_complete()) return;
    hq_.on_progress(c.streams());
    if (hq_.done()) fetched.store(hq_.all_ok() ? 1 : -1);
  }
  void on_connection_closed(quic::Connection&) override {
    closed.store(true);
    hq_.on_connection_closed();
  }
  std::atomic<int> fetched{0};  // 1 ok, -1 failed
  std::atomic<bool> closed{false};

 private:
  hq::Client& hq_;
};

constexpr size_t kFileBytes = 300 * 1000;

TEST(CampdConns, ListsAHeldConnectionAndShowsItsCounters) {
  const std::string dir = "/tmp/camp-conns-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0) << dir;
  const std::string www = dir + "/www", sock = dir + "/ctl.sock", log = dir + "/campd.log";
  ASSERT_EQ(mkdir(www.c_str(), 0700), 0);
  const quic::test::KeyPair ca = quic::test::make_ca("camp conns test CA");
  const quic::test::KeyPair leaf = quic::test::make_server_cert(ca, "localhost");
  spit(dir + "/server.pem", leaf.cert_pem);
  spit(dir + "/server.key", leaf.key_pem);
  std::string body(kFileBytes, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i * 7 % 26);
  spit(www + "/file.bin", body);

  const std::string campd = env_or("CAMPD", "build/tools/campd");
  const std::string campctl = env_or("CAMPCTL", "build/tools/campctl") + " --socket " + sock;
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(campd.c_str(), campd.c_str(), "--", "--driver", "socket", "--listen", "127.0.0.1:0",
          "--www", www.c_str(), "--cert", (dir + "/server.pem").c_str(), "--key",
          (dir + "/server.key").c_str(), "--ctl-socket", sock.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reaper {  // campd stops with the test, whatever happens
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGINT);
      for (int i = 0; i < 100; ++i) {
        if (waitpid(pid, nullptr, WNOHANG) == pid) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  const std::string kOn = "UDP on 127.0.0.1:";
  std::string text;
  for (int i = 0; i < 200 && (text = slurp(log)).find("ready") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const size_t on = text.find(kOn);
  ASSERT_TRUE(on != std::string::npos && text.find("ready") != std::string::npos)
      << "campd did not start:\n" << text;
  const uint16_t port = static_cast<uint16_t>(std::stoi(text.substr(on + kOn.size())));

  // Before anyone connects.
  std::string out;
  ASSERT_EQ(run(campctl + " conns", &out), 0) << out;
  EXPECT_EQ(out, "no connections\n");

  // The client: fetch the file, then keep the connection open until told to stop.
  std::string err;
  quic::TlsClientConfig tc;
  tc.ca_pem = ca.cert_pem;
  tc.alpn = {"hq-interop"};
  auto tls = quic::TlsContext::client(tc, &err);
  ASSERT_TRUE(tls) << err;
  hq::Client hq("");
  hq.add_request("/file.bin");
  ClientApp app(hq);
  quic::QuicEndpointConfig cfg;
  cfg.role = quic::Role::kClient;
  cfg.max_connections = 1;
  quic::QuicEndpoint ep(cfg, *tls, &app);
  ASSERT_TRUE(ep.ok()) << ep.error();
  sockdrv::Driver drv(ep);
  ASSERT_TRUE(drv.open({"127.0.0.1:0"}, &err)) << err;
  const uint16_t client_port = drv.local_port(0);
  quic::ConnectionConfig cc;
  cc.local_tp.max_idle_timeout = 30000;
  cc.local_tp.initial_max_data = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 4 << 20;
  cc.local_tp.initial_max_stream_data_bidi_remote = 1 << 20;
  cc.local_tp.initial_max_stream_data_uni = 1 << 20;
  cc.local_tp.initial_max_streams_bidi = 16;
  cc.local_tp.initial_max_streams_uni = 16;
  cc.local_tp.active_connection_id_limit = 4;
  cc.server_name = "localhost";
  Tuple t;
  const uint8_t lo[4] = {127, 0, 0, 1};
  t.local = t.remote = IpAddr::v4(lo);
  t.local_port = client_port;
  t.remote_port = port;
  ASSERT_NE(ep.connect(t, sockdrv::monotonic_ns(), cc), nullptr) << ep.last_error();
  std::atomic<bool> stop{false};
  std::thread client([&] { drv.run(stop); });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop.store(true);
      if (t.joinable()) t.join();
    }
  } joiner{stop, client};
  for (int i = 0; i < 200 && app.fetched.load() == 0 && !app.closed.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(app.fetched.load(), 1) << "the fetch did not complete\n" << slurp(log);
  ASSERT_FALSE(app.closed.load());

  // The list: one connection, ours, with sane figures.
  ASSERT_EQ(run(campctl + " conns --json", &out), 0) << out;
  json::Value j;
  ASSERT_TRUE(json::parse(out, &j, &err)) << err << "\n" << out;
  ASSERT_EQ(u64(j, "count"), 1u) << out;
  const std::string id = str(j, "connections.0.id");
  EXPECT_EQ(id.rfind("0:", 0), 0u) << id;
  EXPECT_EQ(u64(j, "connections.0.worker"), 0u);
  EXPECT_EQ(str(j, "connections.0.role"), "server");
  EXPECT_EQ(str(j, "connections.0.state"), "confirmed");
  EXPECT_EQ(str(j, "connections.0.remote"), "127.0.0.1:" + std::to_string(client_port));
  EXPECT_EQ(str(j, "connections.0.local"), "127.0.0.1:" + std::to_string(port));
  EXPECT_GE(u64(j, "connections.0.bytes_sent"), kFileBytes);
  EXPECT_GE(u64(j, "connections.0.packets_sent"), kFileBytes / 1500);
  EXPECT_GT(u64(j, "connections.0.packets_received"), 0u);
  EXPECT_GT(u64(j, "connections.0.bytes_received"), 1200u);  // the client's Initial at least
  bool sampled = false;
  const json::Value* rs = at(j, "connections.0.rtt_sampled");
  EXPECT_TRUE(rs && rs->get_bool(&sampled) && sampled) << out;
  const uint64_t srtt = u64(j, "connections.0.smoothed_rtt_ns");
  EXPECT_GT(srtt, 0u);
  EXPECT_LT(srtt, uint64_t{1'000'000'000});  // loopback
  EXPECT_GE(u64(j, "connections.0.cwnd"), 2400u);
  EXPECT_EQ(u64(j, "connections.0.key_generation"), 0u);
  const uint64_t age = u64(j, "connections.0.age_ns");
  EXPECT_GT(age, 0u);
  EXPECT_LT(age, uint64_t{60'000'000'000});

  ASSERT_EQ(run(campctl + " conns", &out), 0) << out;
  EXPECT_NE(out.find(id + " "), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1:" + std::to_string(client_port)), std::string::npos) << out;
  EXPECT_NE(out.find("1 connection(s), 1 listed"), std::string::npos) << out;

  // That one connection in full.
  ASSERT_EQ(run(campctl + " conn " + id, &out), 0) << out;
  EXPECT_EQ(out.rfind("connection " + id + "\n", 0), 0u) << out;
  for (const char* part : {"recovery:\n", "counters:\n", "cids:\n", "close:\n", "alpn",
                           "hq-interop", "stream_bytes_sent", "smoothed_rtt", "cc_state"})
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
  ASSERT_EQ(run(campctl + " conn " + id + " --json", &out), 0) << out;
  j = json::Value{};
  ASSERT_TRUE(json::parse(out, &j, &err)) << err << "\n" << out;
  EXPECT_EQ(str(j, "id"), id);
  EXPECT_EQ(str(j, "alpn"), "hq-interop");
  EXPECT_GE(u64(j, "counters.bytes_sent"), kFileBytes);
  EXPECT_GE(u64(j, "counters.stream_bytes_sent"), kFileBytes);
  EXPECT_GT(u64(j, "counters.packets_acked"), 0u);
  EXPECT_GT(u64(j, "recovery.min_rtt_ns"), 0u);
  EXPECT_EQ(str(j, "recovery.cc"), "cubic");
  EXPECT_NE(str(j, "cids.local_cid"), "-");
  EXPECT_NE(str(j, "cids.peer_cid"), "-");
  const json::Value* closed = at(j, "close.closed");
  bool b = true;
  EXPECT_TRUE(closed && closed->get_bool(&b) && !b);

  // Ids that name no connection: a message and exit status 1.
  EXPECT_EQ(run(campctl + " conn 0:12345", &out), 1);
  EXPECT_EQ(out, "campctl: no connection 0:12345 (campctl conns lists the live ones)\n");
  EXPECT_EQ(run(campctl + " conn 1:" + id.substr(2), &out), 1);
  EXPECT_NE(out.find("there is no worker 1 (campd has 1)"), std::string::npos) << out;
  EXPECT_EQ(run(campctl + " conn banana", &out), 1);
  EXPECT_NE(out.find("bad connection id 'banana'"), std::string::npos) << out;

  stop.store(true);
  client.join();
  std::string rm;
  run("rm -rf " + dir, &rm);
}

}  // namespace
}  // namespace camp
