// The Reflector behind the socket driver: every datagram comes back byte for byte, from the
// address and port it was sent to, and the counters match the traffic exactly.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "dataplane/reflector.h"
#include "tests/socket/udp_peer.h"

namespace camp::sockdrv::test {
namespace {

// The Reflector, also remembering the tuples it was handed (read after the driver stopped).
class RecordingReflector final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                    WorkerStats& stats) override {
    for (size_t i = 0; i < n; ++i) seen.push_back(rx[i].tuple);
    inner_.on_datagrams(rx, n, now_ns, tx, stats);
  }
  uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) override {
    return inner_.on_timer(now_ns, tx, stats);
  }
  std::vector<Tuple> seen;

 private:
  Reflector inner_;
};

struct Totals {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// Sends each size in turn to `to` and checks the echo: same bytes, from `to` itself.
void echo_sizes(UdpPeer& peer, const SockAddr& to, const std::vector<size_t>& sizes, Totals* t) {
  uint32_t seed = 1;
  for (size_t n : sizes) {
    const std::vector<uint8_t> out = pattern(n, seed++);
    ASSERT_TRUE(peer.send_to(to, out)) << "send " << n << " bytes to " << format_address(to);
    std::vector<uint8_t> in;
    SockAddr from;
    ASSERT_TRUE(peer.recv(&in, &from)) << "no echo of " << n << " bytes from " << format_address(to);
    EXPECT_EQ(format_address(from), format_address(to));
    ASSERT_EQ(in.size(), n);
    EXPECT_TRUE(in == out) << "payload of " << n << " bytes differs";
    t->packets++;
    t->bytes += n;
  }
}

void expect_exact(const WorkerStats& s, const Totals& t) {
  EXPECT_EQ(s.rx_packets, t.packets);
  EXPECT_EQ(s.rx_bytes, t.bytes);
  EXPECT_EQ(s.udp_rx, t.packets);
  EXPECT_EQ(s.udp_tx, t.packets);
  EXPECT_EQ(s.tx_packets, t.packets);
  EXPECT_EQ(s.tx_bytes, t.bytes);
  EXPECT_EQ(s.dropped(), 0u);
}

const std::vector<size_t> kSizes = {0, 1, 2, 7, 64, 100, 512, 1200, 1472, 1500, 4096, 9000,
                                    32768, 65507};

TEST(SocketReflector, Ipv4LoopbackEchoesEverySize) {
  Reflector refl;
  Driver d(refl);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.local_port(0), 0);
  EXPECT_EQ(d.local_address(0), "127.0.0.1:" + std::to_string(d.local_port(0)));

  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  Totals t;
  {
    DriverThread run(d);
    echo_sizes(peer, d.local_sockaddr(0), kSizes, &t);
    // A window of many at once, so the driver sees multi-datagram bursts.
    for (uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(peer.send_to(d.local_sockaddr(0), pattern(80, i)));
    for (uint32_t i = 0; i < 100; ++i) {
      std::vector<uint8_t> in;
      ASSERT_TRUE(peer.recv(&in, nullptr)) << "reply " << i;
      EXPECT_TRUE(in == pattern(80, i)) << "reply " << i;  // loopback keeps the order
      t.packets++;
      t.bytes += 80;
    }
  }
  expect_exact(d.stats(), t);
  EXPECT_GT(d.stats().polls, 0u);
}

TEST(SocketReflector, Ipv6LoopbackEchoes) {
  Reflector refl;
  Driver d(refl);
  std::string err;
  if (!d.open({"[::1]:0"}, &err)) GTEST_SKIP() << "no IPv6 loopback: " << err;
  EXPECT_EQ(d.local_address(0), "[::1]:" + std::to_string(d.local_port(0)));
  UdpPeer peer("[::1]:0");
  ASSERT_TRUE(peer.ok());
  Totals t;
  {
    DriverThread run(d);
    echo_sizes(peer, d.local_sockaddr(0), kSizes, &t);
  }
  expect_exact(d.stats(), t);
}

TEST(SocketReflector, WildcardRepliesFromTheAddressUsed) {
  RecordingReflector refl;
  Driver d(refl);
  std::string err;
  ASSERT_TRUE(d.open({"0.0.0.0:0"}, &err)) << err;
  const uint16_t port = d.local_port(0);
  EXPECT_EQ(d.local_address(0), "0.0.0.0:" + std::to_string(port));
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  Totals t;
  {
    DriverThread run(d);
    // Alternate, so a driver that remembered one source address would fail too.
    for (int round = 0; round < 3; ++round) {
      echo_sizes(peer, with_host("127.0.0.2", port), {10, 1000}, &t);
      echo_sizes(peer, with_host("127.0.0.1", port), {10, 1000}, &t);
    }
  }
  expect_exact(d.stats(), t);
  ASSERT_EQ(refl.seen.size(), 12u);
  const uint8_t two[4] = {127, 0, 0, 2};
  const uint8_t one[4] = {127, 0, 0, 1};
  for (size_t i = 0; i < refl.seen.size(); ++i) {
    const Tuple& tu = refl.seen[i];
    EXPECT_TRUE(tu.local == IpAddr::v4((i / 2) % 2 == 0 ? two : one)) << i;
    EXPECT_EQ(tu.local_port, port);
    EXPECT_TRUE(tu.remote == IpAddr::v4(one));
    EXPECT_EQ(tu.remote_port, peer.self().port());
    EXPECT_EQ(tu.iface, 0);
  }
}

TEST(SocketReflector, Ipv6WildcardReplies) {
  Reflector refl;
  Driver d(refl);
  std::string err;
  if (!d.open({"[::]:0"}, &err)) GTEST_SKIP() << "no IPv6: " << err;
  UdpPeer peer("[::1]:0");
  if (!peer.ok()) GTEST_SKIP() << "no IPv6 loopback";
  Totals t;
  {
    DriverThread run(d);
    echo_sizes(peer, with_host("[::1]", d.local_port(0)), {0, 33, 1400}, &t);
  }
  expect_exact(d.stats(), t);
}

TEST(SocketReflector, SeveralAddressesAtOnce) {
  RecordingReflector refl;
  Driver d(refl);
  std::string err;
  std::vector<std::string> addrs = {"127.0.0.1:0", "127.0.0.2:0", "0.0.0.0:0"};
  {
    Driver probe(refl);
    if (probe.open({"[::1]:0"}, &err)) addrs.push_back("[::1]:0");
  }
  ASSERT_TRUE(d.open(addrs, &err)) << err;
  ASSERT_EQ(d.size(), addrs.size());
  UdpPeer peer4("127.0.0.1:0");
  ASSERT_TRUE(peer4.ok());
  UdpPeer peer6("[::1]:0");
  Totals t;
  std::vector<size_t> iface_of_send;
  {
    DriverThread run(d);
    for (size_t i = 0; i < d.size(); ++i) {
      // The wildcard socket is reached through 127.0.0.2.
      const SockAddr to = i == 2 ? with_host("127.0.0.2", d.local_port(i)) : d.local_sockaddr(i);
      UdpPeer& peer = to.family() == AF_INET6 ? peer6 : peer4;
      ASSERT_TRUE(peer.ok());
      echo_sizes(peer, to, {static_cast<size_t>(20 + i), 700}, &t);
      iface_of_send.push_back(i);
      iface_of_send.push_back(i);
    }
  }
  expect_exact(d.stats(), t);
  ASSERT_EQ(refl.seen.size(), iface_of_send.size());
  for (size_t k = 0; k < refl.seen.size(); ++k) {
    EXPECT_EQ(refl.seen[k].iface, iface_of_send[k]) << k;
    EXPECT_EQ(refl.seen[k].local_port, d.local_port(iface_of_send[k])) << k;
  }
}

// Stepping the driver by hand: a queued window arrives in bursts of exactly `burst`.
TEST(SocketReflector, PollTakesOneBurstPerSocket) {
  Reflector refl;
  Options opt;
  opt.burst = 32;
  Driver d(refl, opt);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  for (uint32_t i = 0; i < 40; ++i) ASSERT_TRUE(peer.send_to(d.local_sockaddr(0), pattern(50, i)));
  EXPECT_EQ(d.poll(monotonic_ns()), 32u);
  EXPECT_EQ(d.poll(monotonic_ns()), 8u);
  EXPECT_EQ(d.poll(monotonic_ns()), 0u);
  for (uint32_t i = 0; i < 40; ++i) {
    std::vector<uint8_t> in;
    ASSERT_TRUE(peer.recv(&in, nullptr)) << i;
    EXPECT_TRUE(in == pattern(50, i)) << i;
  }
  expect_exact(d.stats(), Totals{40, 40 * 50});
  EXPECT_EQ(d.stats().polls, 3u);
  EXPECT_EQ(d.stats().idle_polls, 1u);
}

// A datagram larger than max_datagram is dropped whole, never handed on in pieces.
TEST(SocketReflector, OversizedDatagramIsDroppedAsTruncated) {
  Reflector refl;
  Options opt;
  opt.max_datagram = 100;
  Driver d(refl, opt);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(peer.send_to(d.local_sockaddr(0), pattern(101, 1)));
  ASSERT_TRUE(peer.send_to(d.local_sockaddr(0), pattern(100, 2)));
  EXPECT_EQ(d.poll(monotonic_ns()), 2u);
  std::vector<uint8_t> in;
  ASSERT_TRUE(peer.recv(&in, nullptr));
  EXPECT_TRUE(in == pattern(100, 2));
  EXPECT_FALSE(peer.recv(&in, nullptr, 50));
  const WorkerStats& s = d.stats();
  EXPECT_EQ(s.rx_packets, 2u);
  EXPECT_EQ(s.rx_bytes, 201u);
  EXPECT_EQ(s.udp_rx, 1u);
  EXPECT_EQ(s.tx_packets, 1u);
  EXPECT_EQ(s.drops[static_cast<size_t>(DropReason::udp_truncated)], 1u);
  EXPECT_EQ(s.dropped(), 1u);
}

}  // namespace
}  // namespace camp::sockdrv::test
