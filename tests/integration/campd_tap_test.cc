// End to end: campd on a DPDK tap device inside a network namespace of the test's own, the
// kernel on the other side of the tap sending it real ARP, ND, ICMP, ICMPv6 and UDP, plus
// malformed frames written with a packet socket. Then campctl stats --json and dpdk-telemetry.py
// must report exactly what was sent. Needs root (namespaces, tap); skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/json.h"

namespace {

const char* kIface = "campit0";

std::string env_or(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v ? v : def;
}

// Runs a shell command; returns its exit status and stdout.
int sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  const int st = pclose(f);
  if (out) *out = s;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Pulls integers out of campctl's JSON by "a.b.0.c" paths. A path that is absent or not an integer
// is left out of the map (as is every path when the JSON does not parse), so size checks catch it.
std::map<std::string, long long> json_values(const std::string& json,
                                             const std::vector<std::string>& paths) {
  std::map<std::string, long long> m;
  camp::json::Value doc;
  std::string err;
  if (!camp::json::parse(json, &doc, &err)) {
    ADD_FAILURE() << "campctl's JSON does not parse: " << err;
    return m;
  }
  for (const auto& p : paths) {
    const camp::json::Value* v = doc.at(p);
    int64_t i = 0;
    if (v != nullptr && v->get_i64(&i)) m[p] = i;
  }
  return m;
}

uint16_t csum(const void* data, size_t len, uint32_t sum = 0) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class CampdTap : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
      skip_ = "needs root and /dev/net/tun";
      return;
    }
    // A network namespace of our own: the tap and every packet stay inside it.
    if (unshare(CLONE_NEWNET) != 0) {
      skip_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    sh("ip link set lo up");
    prefix_ = "camp-it-" + std::to_string(getpid());
    sock_ = "/tmp/" + prefix_ + ".sock";
    log_ = "/tmp/" + prefix_ + ".log";
    const std::string campd = env_or("CAMPD", "build/tools/campd");
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      const std::string vdev = std::string("net_tap0,iface=") + kIface;
      execl(campd.c_str(), campd.c_str(), "-l", "0-1", "--no-huge", "-m", "256", "--no-pci",
            "--file-prefix", prefix_.c_str(), "--vdev", vdev.c_str(), "--", "--addr",
            "198.18.0.1", "--addr", "2001:2::1", "--ctl-socket", sock_.c_str(),
            "--idle-sleep-us", "50", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && access(sock_.c_str(), F_OK) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(access(sock_.c_str(), F_OK), 0) << "campd did not start; log:\n" << log_text();
    // The kernel side of the tap: no router solicitations or DAD to keep the counters calm.
    const std::string i = kIface;
    sh("sysctl -qw net.ipv6.conf." + i + ".router_solicitations=0");
    sh("sysctl -qw net.ipv6.conf." + i + ".accept_dad=0");
    ASSERT_EQ(sh("ip addr add 198.18.0.2/24 dev " + i), 0);
    ASSERT_EQ(sh("ip -6 addr add 2001:2::2/64 dev " + i + " nodad"), 0);
    ASSERT_EQ(sh("ip link set " + i + " up"), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);
      int st = 0;
      for (int i = 0; i < 100 && waitpid(pid_, &st, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (waitpid(pid_, &st, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
    std::remove(log_.c_str());
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static std::string log_text() {
    std::ifstream f(log_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  static std::string campctl(const std::string& args, int* rc = nullptr) {
    std::string out;
    const int r = sh(env_or("CAMPCTL", "build/tools/campctl") + " --socket " + sock_ + " " +
                         args + " 2>&1",
                     &out);
    if (rc) *rc = r;
    return out;
  }

  static inline std::string skip_, prefix_, sock_, log_;
  static inline pid_t pid_ = -1;
};

// Sends n UDP datagrams of varied sizes and checks each comes back intact from where it went.
int udp_exchange(int family, const char* addr, int n) {
  const int s = socket(family, SOCK_DGRAM, 0);
  timeval tv{1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_storage to{};
  socklen_t tolen;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    a->sin_port = htons(4433);
    inet_pton(AF_INET, addr, &a->sin_addr);
    tolen = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(4433);
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    tolen = sizeof(sockaddr_in6);
  }
  int good = 0;
  for (int i = 0; i < n; ++i) {
    std::string msg(1 + (i * 37) % 1200, static_cast<char>('a' + i % 26));
    msg += std::to_string(i);
    sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), tolen);
    char buf[2048];
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    const ssize_t r = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (r == static_cast<ssize_t>(msg.size()) && std::memcmp(buf, msg.data(), r) == 0 &&
        std::memcmp(&from, &to, tolen) == 0)
      ++good;
  }
  close(s);
  return good;
}

// ICMP / ICMPv6 echo with a raw socket; returns the replies that matched id, seq and payload.
int ping(int family, const char* addr, int n) {
  const bool v6 = family == AF_INET6;
  const int s = socket(family, SOCK_RAW, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  if (s < 0) return -1;
  timeval tv{1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_storage to{};
  socklen_t tolen;
  if (!v6) {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &a->sin_addr);
    tolen = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    tolen = sizeof(sockaddr_in6);
  }
  int good = 0;
  const uint16_t id = static_cast<uint16_t>(getpid());
  for (int seq = 1; seq <= n; ++seq) {
    uint8_t pkt[64] = {};
    pkt[0] = v6 ? 128 : 8;  // echo request
    pkt[4] = id >> 8;
    pkt[5] = id & 0xff;
    pkt[7] = static_cast<uint8_t>(seq);
    std::memcpy(pkt + 8, "camp echo payload", 17);
    if (!v6) {  // the kernel fills the ICMPv6 checksum itself
      const uint16_t c = csum(pkt, sizeof pkt);
      pkt[2] = c >> 8;
      pkt[3] = c & 0xff;
    }
    sendto(s, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), tolen);
    for (int tries = 0; tries < 8; ++tries) {  // skip our own requests and unrelated ICMP
      uint8_t buf[256];
      const ssize_t r = recv(s, buf, sizeof buf, 0);
      if (r < 0) break;
      const uint8_t* icmp = buf;
      ssize_t len = r;
      if (!v6) {  // raw IPv4 sockets include the IP header
        const size_t ihl = (buf[0] & 0x0f) * 4u;
        icmp = buf + ihl;
        len -= static_cast<ssize_t>(ihl);
      }
      if (len == sizeof pkt && icmp[0] == (v6 ? 129 : 0) && icmp[4] == pkt[4] &&
          icmp[5] == pkt[5] && icmp[7] == seq && std::memcmp(icmp + 8, pkt + 8, 56) == 0 &&
          (v6 || csum(icmp, len) == 0)) {
        ++good;
        break;
      }
    }
  }
  close(s);
  return good;
}

// Writes raw Ethernet frames onto the tap from the kernel side.
class RawSender {
 public:
  RawSender() {
    fd_ = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    ifindex_ = static_cast<int>(if_nametoindex(kIface));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, kIface, IFNAMSIZ - 1);
    ioctl(fd_, SIOCGIFHWADDR, &ifr);
    std::memcpy(src_, ifr.ifr_hwaddr.sa_data, 6);
  }
  ~RawSender() { close(fd_); }
  bool send(const std::vector<uint8_t>& f) {
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex_;
    sll.sll_halen = 6;
    return sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll) ==
           static_cast<ssize_t>(f.size());
  }
  // A valid IPv4/UDP frame to 198.18.0.1:port at dst_mac.
  std::vector<uint8_t> udp4(const uint8_t dst_mac[6], uint16_t port) const {
    std::vector<uint8_t> f(14 + 20 + 8 + 6, 0);
    std::memcpy(&f[0], dst_mac, 6);
    std::memcpy(&f[6], src_, 6);
    f[12] = 0x08;
    uint8_t* ip = &f[14];
    ip[0] = 0x45;
    ip[3] = 20 + 8 + 6;
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t s[4] = {198, 18, 0, 2}, d[4] = {198, 18, 0, 1};
    std::memcpy(ip + 12, s, 4);
    std::memcpy(ip + 16, d, 4);
    const uint16_t ic = csum(ip, 20);
    ip[10] = ic >> 8;
    ip[11] = ic & 0xff;
    uint8_t* udp = ip + 20;
    udp[0] = 0x30;
    udp[1] = 0x39;
    udp[2] = port >> 8;
    udp[3] = port & 0xff;
    udp[5] = 8 + 6;
    std::memcpy(udp + 8, "hello!", 6);
    uint32_t sum = (198 << 8 | 18) + (0 << 8 | 2) + (198 << 8 | 18) + (0 << 8 | 1) + 17 + 14;
    const uint16_t uc = csum(udp, 14, sum);
    udp[6] = uc >> 8;
    udp[7] = uc & 0xff;
    return f;
  }

 private:
  int fd_ = -1;
  int ifindex_ = 0;
  uint8_t src_[6] = {};
};

bool parse_mac(const std::string& text, uint8_t mac[6]) {
  unsigned b[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
      6)
    return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return true;
}

TEST_F(CampdTap, AnswersArpNdIcmpUdpAndCountsWhatItDropped) {
  // Real traffic from the kernel: ARP and ND happen on the way.
  EXPECT_EQ(udp_exchange(AF_INET, "198.18.0.1", 100), 100);
  EXPECT_EQ(udp_exchange(AF_INET6, "2001:2::1", 20), 20);
  EXPECT_EQ(ping(AF_INET, "198.18.0.1", 5), 5);
  EXPECT_EQ(ping(AF_INET6, "2001:2::1", 3), 3);

  // The kernel learnt campd's MAC through ARP.
  std::string neigh;
  sh(std::string("ip neigh show 198.18.0.1 dev ") + kIface, &neigh);
  const auto lladdr = neigh.find("lladdr ");
  ASSERT_NE(lladdr, std::string::npos) << neigh;
  uint8_t mac[6];
  ASSERT_TRUE(parse_mac(neigh.substr(lladdr + 7, 17), mac)) << neigh;

  // Malformed and unwanted frames, one of each, straight onto the wire.
  RawSender raw;
  auto bad_ip_cksum = raw.udp4(mac, 4433);
  bad_ip_cksum[14 + 10] ^= 0x55;
  auto bad_udp_cksum = raw.udp4(mac, 4433);
  bad_udp_cksum[14 + 20 + 6] ^= 0x55;
  auto closed_port = raw.udp4(mac, 9);
  auto truncated = raw.udp4(mac, 4433);
  truncated.resize(14 + 20 + 4);  // the UDP header cut in half (IP length still says 34)
  auto unknown_type = raw.udp4(mac, 4433);
  unknown_type[12] = 0x88;
  unknown_type[13] = 0xb5;  // local experimental EtherType
  for (const auto* f : {&bad_ip_cksum, &bad_udp_cksum, &closed_port, &truncated, &unknown_type})
    ASSERT_TRUE(raw.send(*f));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  int rc = 0;
  const std::string json = campctl("stats --json", &rc);
  ASSERT_EQ(rc, 0) << json;
  const auto v = json_values(
      json, {"udp_rx", "udp_tx", "icmp_echo_replies", "icmpv6_echo_replies", "arp_replies",
             "nd_advertisements", "rx_packets", "tx_packets", "dropped",
             "drops.ipv4_bad_checksum", "drops.udp_bad_checksum", "drops.udp_port_closed",
             "drops.eth_unknown_type", "drops.ipv4_bad_total_length", "ports.0.ipackets"});
  ASSERT_EQ(v.size(), 15u) << json;
  EXPECT_EQ(v.at("udp_rx"), 120);
  EXPECT_EQ(v.at("udp_tx"), 120);
  EXPECT_EQ(v.at("icmp_echo_replies"), 5);
  EXPECT_EQ(v.at("icmpv6_echo_replies"), 3);
  EXPECT_GE(v.at("arp_replies"), 1);
  EXPECT_GE(v.at("nd_advertisements"), 1);
  EXPECT_EQ(v.at("drops.ipv4_bad_checksum"), 1);
  EXPECT_EQ(v.at("drops.udp_bad_checksum"), 1);
  EXPECT_EQ(v.at("drops.udp_port_closed"), 1);
  EXPECT_EQ(v.at("drops.eth_unknown_type"), 1);
  EXPECT_EQ(v.at("drops.ipv4_bad_total_length"), 1);
  // Everything received was answered or dropped (and counted).
  const long long answered = v.at("udp_rx") + v.at("icmp_echo_replies") +
                             v.at("icmpv6_echo_replies") + v.at("arp_replies") +
                             v.at("nd_advertisements");
  EXPECT_GE(v.at("rx_packets"), answered + 5);
  EXPECT_EQ(v.at("tx_packets"), answered);
  // The port's own count: the same frames (the kernel may have sent a probe since the snapshot).
  EXPECT_GE(v.at("ports.0.ipackets"), v.at("rx_packets"));

  // The stock dpdk-telemetry.py reads the same figures from /camp/stats.
  std::string tel;
  ASSERT_EQ(sh("echo /camp/stats | dpdk-telemetry.py -f " + prefix_ + " 2>&1", &tel), 0) << tel;
  EXPECT_NE(tel.find("\"udp_rx\": 120"), std::string::npos) << tel;
}

TEST_F(CampdTap, CampctlSetsKeysAndRejectsUnknownOnes) {
  int rc = 0;
  std::string out = campctl("set idle_sleep_us 77", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = campctl("workers", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("77"), std::string::npos) << out;
  out = campctl("set no_such_key 1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("no_such_key"), std::string::npos) << out;
  out = campctl("set idle_sleep_us lots", &rc);
  EXPECT_NE(rc, 0) << out;
  out = campctl("status", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = campctl("ports", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("198.18.0.1"), std::string::npos) << out;
}

// Runs last: SIGINT stops campd cleanly, with status 0 and its final counters printed.
TEST_F(CampdTap, StopsCleanlyOnSigintAndPrintsFinalCounters) {
  ASSERT_GT(pid_, 0);
  ASSERT_EQ(kill(pid_, SIGINT), 0);
  int st = 0;
  pid_t r = 0;
  for (int i = 0; i < 200 && (r = waitpid(pid_, &st, WNOHANG)) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(r, pid_) << "campd did not stop within 10 s";
  pid_ = -1;
  ASSERT_TRUE(WIFEXITED(st)) << "campd died of signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
  const std::string log = log_text();
  EXPECT_NE(log.find("udp rx 120 tx 120"), std::string::npos) << log;
  EXPECT_NE(log.find("ipv4_bad_checksum"), std::string::npos) << log;
  EXPECT_EQ(access(sock_.c_str(), F_OK), -1) << "control socket left behind";
}

}  // namespace
