// The control thread: campctl's unix socket (round trip, file mode, stale and live sockets,
// bounds on requests), draining periodic telemetry, and the interactive prompt over pipes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "control/control_plane.h"
#include "tests/control/fake_endpoint.h"
#include "tests/control/fake_worker.h"

namespace camp::control {
namespace {

using camp::testing::FakeConnEndpoint;
using camp::testing::FakeWorker;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A fresh directory under /tmp for this test's socket files.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/camp-ctl-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    path_ = d ? d : "";
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

EngineInfo info_with_workers(size_t n) {
  EngineInfo info;
  info.version = "9.9.9";
  info.endpoint = "reflector";
  info.udp_port = 4433;
  for (uint32_t w = 0; w < n; ++w) info.workers.push_back({w, w + 1, {}});
  return info;
}

CtlReply ask(const std::string& path, const std::string& line) {
  CtlReply r;
  std::string err;
  const CtlStatus st = ctl_request(path, line, 5000, &r, &err);
  EXPECT_EQ(st, CtlStatus::ok) << err;
  return r;
}

int raw_connect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

TEST(ControlSocket, RoundTripThroughTheControlThread) {
  TempDir dir;
  const std::string sock = dir / "campd.sock";
  FakeWorker w0(0);
  ControlPlane cp(info_with_workers(1), {&w0.channel});
  std::string err;
  ASSERT_TRUE(cp.start(sock, false, &err)) << err;
  w0.start();
  w0.add_rx(42);
  ASSERT_TRUE(w0.wait_applied());

  struct stat st;
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  CtlReply r = ask(sock, "status");
  EXPECT_TRUE(r.ok) << r.body;
  EXPECT_TRUE(contains(r.body, "campd 9.9.9")) << r.body;
  EXPECT_TRUE(contains(r.body, "rx 42 packets")) << r.body;
  r = ask(sock, "set idle_sleep_us 77");
  EXPECT_TRUE(r.ok) << r.body;
  r = ask(sock, "workers");
  EXPECT_TRUE(contains(r.body, "idle_sleep_us=77")) << r.body;
  r = ask(sock, "set no_such_key 1");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.body, "unknown key 'no_such_key'")) << r.body;

  // A second engine on the same socket is refused, and leaves the first one's socket alone.
  ControlPlane other(info_with_workers(0), {});
  EXPECT_FALSE(other.start(sock, false, &err));
  EXPECT_TRUE(contains(err, "another campd is already answering on " + sock)) << err;
  EXPECT_TRUE(ask(sock, "help").ok);

  cp.stop();
  EXPECT_NE(access(sock.c_str(), F_OK), 0);  // the socket file is gone
  cp.stop();                                 // and stopping again is harmless
  CtlReply dead;
  EXPECT_EQ(ctl_request(sock, "status", 1000, &dead, &err), CtlStatus::unreachable);
  w0.join();
  EXPECT_EQ(w0.settings.get(WorkerKey::idle_sleep_us), 77u);
}

TEST(ControlSocket, StaleSocketFileIsReplaced) {
  TempDir dir;
  const std::string sock = dir / "campd.sock";
  // What a killed campd leaves: a socket file nobody listens on.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  ASSERT_EQ(access(sock.c_str(), F_OK), 0);

  ControlPlane cp(info_with_workers(0), {});
  std::string err;
  ASSERT_TRUE(cp.start(sock, false, &err)) << err;
  EXPECT_TRUE(ask(sock, "help").ok);
}

TEST(ControlSocket, RefusesBadPaths) {
  TempDir dir;
  std::string err;
  {
    const std::string file = dir / "not-a-socket";
    std::ofstream(file) << "keep me";
    ControlPlane cp(info_with_workers(0), {});
    EXPECT_FALSE(cp.start(file, false, &err));
    EXPECT_TRUE(contains(err, "exists and is not a socket")) << err;
    std::ifstream in(file);
    std::string s;
    std::getline(in, s);
    EXPECT_EQ(s, "keep me");
  }
  {
    ControlPlane cp(info_with_workers(0), {});
    EXPECT_FALSE(cp.start(dir / std::string(120, 'x'), false, &err));
    EXPECT_TRUE(contains(err, "too long")) << err;
  }
  {
    // A missing last directory is made (as /run/camp after a reboot).
    const std::string sock = dir / "run-camp/campd.sock";
    ControlPlane cp(info_with_workers(0), {});
    ASSERT_TRUE(cp.start(sock, false, &err)) << err;
    EXPECT_TRUE(ask(sock, "help").ok);
  }
}

TEST(ControlSocket, BoundsOnRequests) {
  TempDir dir;
  const std::string sock = dir / "campd.sock";
  ControlPlane cp(info_with_workers(0), {});
  std::string err;
  ASSERT_TRUE(cp.start(sock, false, &err)) << err;

  // Oversized request: refused with a reason, not buffered without end.
  int fd = raw_connect(sock);
  ASSERT_GE(fd, 0);
  const std::string big(kMaxRequestBytes + 10, 'a');
  ASSERT_EQ(write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  shutdown(fd, SHUT_WR);
  std::string reply = read_all(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("ERR\nrequest too long", 0), 0u) << reply;

  // A client that connects and says nothing holds the control thread for a bounded time only.
  const int silent = raw_connect(sock);
  ASSERT_GE(silent, 0);
  const auto t0 = Clock::now();
  EXPECT_TRUE(ask(sock, "help").ok);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
  close(silent);

  // The plain-text protocol, as socat would speak it (no final newline needed either).
  fd = raw_connect(sock);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "frobnicate", 10), 10);
  shutdown(fd, SHUT_WR);
  reply = read_all(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("ERR\nunknown command 'frobnicate'", 0), 0u) << reply;
}

TEST(ControlSocket, ControlThreadKeepsTelemetryQueuesDrained) {
  TempDir dir;
  const std::string sock = dir / "campd.sock";
  FakeWorker w0(0);
  ControlPlane cp(info_with_workers(1), {&w0.channel});
  std::string err;
  ASSERT_TRUE(cp.start(sock, false, &err)) << err;
  w0.start();
  // Far more reports than the queue holds (64): only a draining control thread keeps up.
  w0.push_every(std::chrono::milliseconds(2));
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (w0.pushes() < 200 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  w0.push_every(std::chrono::microseconds(0));
  EXPECT_GE(w0.pushes(), 200u);
  EXPECT_EQ(w0.refused_pushes(), 0u);
  cp.stop();
  w0.join();
}

class Prompt : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(in_, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(out_, O_CLOEXEC), 0);
    EngineInfo info = info_with_workers(1);
    info.request_quit = [this] { quit_.store(true); };
    cp_ = std::make_unique<ControlPlane>(info, std::vector<WorkerChannel*>{&w0_.channel});
    w0_.endpoint = &e0_;
    w0_.start();
    thread_ = std::thread([this] {
      run_interactive(*cp_, quit_, in_[0], out_[1]);
      returned_.store(true);
      close(out_[1]);
    });
  }
  void TearDown() override {
    if (in_[1] >= 0) close(in_[1]);
    if (thread_.joinable()) thread_.join();
    close(in_[0]);
    close(out_[0]);
    w0_.join();
  }
  void type(const std::string& s) {
    ASSERT_EQ(write(in_[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  bool wait_returned() {
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (!returned_.load() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return returned_.load();
  }

  int in_[2] = {-1, -1}, out_[2] = {-1, -1};
  FakeConnEndpoint e0_{5, 300, 0};  // 300 connections: more than one list holds
  FakeWorker w0_{0};
  std::atomic<bool> quit_{false}, returned_{false};
  std::unique_ptr<ControlPlane> cp_;
  std::thread thread_;
};

TEST_F(Prompt, RunsCommandsAndQuits) {
  type("set idle_polls 9\nstatus\nbogus\nhelp\nquit\nset idle_polls 10\n");
  ASSERT_TRUE(wait_returned());
  EXPECT_TRUE(quit_.load());  // quit asked the engine to stop
  thread_.join();
  const std::string out = read_all(out_[0]);
  EXPECT_TRUE(contains(out, "camp> ")) << out;
  EXPECT_TRUE(contains(out, "idle_polls = 9 on 1 of 1 worker(s)")) << out;
  EXPECT_TRUE(contains(out, "campd 9.9.9")) << out;
  EXPECT_TRUE(contains(out, "error: unknown command 'bogus'")) << out;
  EXPECT_TRUE(contains(out, "quit               leave the prompt")) << out;
  w0_.join();
  EXPECT_EQ(w0_.settings.get(WorkerKey::idle_polls), 9u);  // nothing after quit ran
}

TEST_F(Prompt, ConnsAndConn) {
  type("conns\nconn 0:7\nconn 0:9999\nquit\n");
  ASSERT_TRUE(wait_returned());
  thread_.join();
  const std::string out = read_all(out_[0]);
  EXPECT_TRUE(contains(out, "\n0:5 ")) << out.substr(0, 2000);
  // The whole list reaches the terminal, up to its last line and the note after it.
  EXPECT_TRUE(contains(out, "\n0:515 ")) << out.substr(out.size() > 2000 ? out.size() - 2000 : 0);
  EXPECT_TRUE(contains(out, "note: worker 0 has 300 connections; the first 256 are listed"));
  EXPECT_TRUE(contains(out, "connection 0:7\n")) << out.substr(out.size() - 2000);
  EXPECT_TRUE(contains(out, "error: no connection 0:9999")) << out.substr(out.size() - 2000);
}

TEST_F(Prompt, ReturnsAtEndOfInput) {
  type("set idle_polls 5\n");
  close(in_[1]);
  in_[1] = -1;
  ASSERT_TRUE(wait_returned());
  EXPECT_FALSE(quit_.load());
  w0_.join();
  EXPECT_EQ(w0_.settings.get(WorkerKey::idle_polls), 5u);
}

TEST_F(Prompt, ReturnsWhenTheEngineStops) {
  type("help\n");
  quit_.store(true);  // e.g. SIGTERM
  ASSERT_TRUE(wait_returned());
}

}  // namespace
}  // namespace camp::control
