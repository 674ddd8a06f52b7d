// campd on kernel sockets (--driver socket): no EAL, no root. Real UDP from this process, then
// campctl stats --json and a clean SIGINT stop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "control/json.h"
#include "tests/integration/process_util.h"

namespace {

using camp::testing::env_or;
using camp::testing::run;
using camp::testing::slurp;

TEST(CampdSocket, ReflectsCountsAndStopsCleanly) {
  const std::string tag = "camp-sk-" + std::to_string(getpid());
  const std::string sock = "/tmp/" + tag + ".sock", log = "/tmp/" + tag + ".log";
  const std::string campd = env_or("CAMPD", "build/tools/campd");
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(campd.c_str(), campd.c_str(), "--", "--driver", "socket", "--listen", "127.0.0.1:0",
          "--ctl-socket", sock.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // "campd: socket driver, 1 worker, UDP on 127.0.0.1:PORT (reflector), ...; ready"
  const std::string kOn = "UDP on 127.0.0.1:";
  std::string text;
  for (int i = 0; i < 100 && (text = slurp(log)).find("ready") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const size_t at = text.find(kOn);
  ASSERT_TRUE(at != std::string::npos && text.find("ready") != std::string::npos)
      << "campd did not start:\n" << text;
  const uint16_t port = static_cast<uint16_t>(std::stoi(text.substr(at + kOn.size())));

  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int good = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string msg = "datagram " + std::to_string(i) + std::string(i * 5, 'z');
    sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    char buf[2048];
    const ssize_t r = recv(s, buf, sizeof buf, 0);
    good += r == static_cast<ssize_t>(msg.size()) && std::memcmp(buf, msg.data(), r) == 0;
  }
  close(s);
  EXPECT_EQ(good, 200);

  std::string out;
  ASSERT_EQ(run(env_or("CAMPCTL", "build/tools/campctl") + " --socket " + sock + " stats --json",
                &out),
            0)
      << out;
  camp::json::Value j;
  std::string perr;
  ASSERT_TRUE(camp::json::parse(out, &j, &perr)) << perr << "\n" << out;
  uint64_t udp_rx = 0, udp_tx = 0, dropped = 1;
  ASSERT_NE(j.at("udp_rx"), nullptr);
  EXPECT_TRUE(j.at("udp_rx")->get_u64(&udp_rx));
  EXPECT_TRUE(j.at("udp_tx")->get_u64(&udp_tx));
  EXPECT_TRUE(j.at("dropped")->get_u64(&dropped));
  EXPECT_EQ(udp_rx, 200u);
  EXPECT_EQ(udp_tx, 200u);
  EXPECT_EQ(dropped, 0u);

  ASSERT_EQ(kill(pid, SIGINT), 0);
  int st = 0;
  pid_t r = 0;
  for (int i = 0; i < 100 && (r = waitpid(pid, &st, WNOHANG)) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (r == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  ASSERT_EQ(r, pid) << "campd did not stop on SIGINT";
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_NE(slurp(log).find("udp rx 200 tx 200"), std::string::npos) << slurp(log);
  EXPECT_NE(access(sock.c_str(), F_OK), 0);
  std::remove(log.c_str());
}

}  // namespace
