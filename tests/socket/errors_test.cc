// Opening fails cleanly, naming the address at fault; sends the kernel refuses are dropped and
// counted, and the rest of the batch still goes out.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/reflector.h"
#include "tests/socket/udp_peer.h"

namespace camp::sockdrv::test {
namespace {

TEST(SocketErrors, BadAddressStringsAreNamed) {
  Reflector refl;
  for (const char* text : {"127.0.0.1", "127.0.0.1:99999", "::1:80", "[::1", "localhost:80",
                           "300.1.1.1:5", ""}) {
    Driver d(refl);
    std::string err;
    EXPECT_FALSE(d.open({text}, &err)) << text;
    EXPECT_NE(err.find(std::string("\"") + text + "\""), std::string::npos) << err;
    EXPECT_EQ(d.size(), 0u);
  }
}

TEST(SocketErrors, AddressInUseIsNamed) {
  UdpPeer holder("127.0.0.1:0");
  ASSERT_TRUE(holder.ok());
  const std::string taken = "127.0.0.1:" + std::to_string(holder.self().port());
  Reflector refl;
  Driver d(refl);
  std::string err;
  EXPECT_FALSE(d.open({taken}, &err));
  EXPECT_NE(err.find(taken), std::string::npos) << err;
  EXPECT_NE(err.find("bind"), std::string::npos) << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  EXPECT_EQ(d.size(), 0u);

  // A later address failing closes the ones already opened: the driver can open again.
  err.clear();
  EXPECT_FALSE(d.open({"127.0.0.1:0", taken}, &err));
  EXPECT_NE(err.find(taken), std::string::npos) << err;
  EXPECT_EQ(d.size(), 0u);
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  EXPECT_EQ(d.size(), 1u);
  // Opening twice is refused rather than leaking the first sockets.
  EXPECT_FALSE(d.open({"127.0.0.1:0"}, &err));
  EXPECT_NE(err.find("already open"), std::string::npos) << err;
  EXPECT_EQ(d.size(), 1u);
}

TEST(SocketErrors, Ipv6AddressInUseIsNamed) {
  UdpPeer holder("[::1]:0");
  if (!holder.ok()) GTEST_SKIP() << "no IPv6 loopback";
  const std::string taken = "[::1]:" + std::to_string(holder.self().port());
  Reflector refl;
  Driver d(refl);
  std::string err;
  EXPECT_FALSE(d.open({taken}, &err));
  EXPECT_NE(err.find(taken), std::string::npos) << err;
}

TEST(SocketErrors, AddressNotLocalIsNamed) {
  Reflector refl;
  Driver d(refl);
  std::string err;
  EXPECT_FALSE(d.open({"192.0.2.1:0"}, &err));  // TEST-NET-1: never one of ours
  EXPECT_NE(err.find("192.0.2.1:0"), std::string::npos) << err;
}

TEST(SocketErrors, BadOptionsAndEmptyListAreRefused) {
  Reflector refl;
  std::string err;
  {
    Driver d(refl);
    EXPECT_FALSE(d.open({}, &err));
    EXPECT_FALSE(err.empty());
  }
  {
    Options o;
    o.burst = 0;
    Driver d(refl, o);
    EXPECT_FALSE(d.open({"127.0.0.1:0"}, &err));
    EXPECT_NE(err.find("burst"), std::string::npos) << err;
  }
  {
    Options o;
    o.max_datagram = 0;
    Driver d(refl, o);
    EXPECT_FALSE(d.open({"127.0.0.1:0"}, &err));
    EXPECT_NE(err.find("max_datagram"), std::string::npos) << err;
  }
}

// An endpoint whose first on_timer commits a mix of sendable and unsendable datagrams.
class MixedSender final : public Endpoint {
 public:
  explicit MixedSender(const SockAddr& good) : good_(good) {}
  void on_datagrams(const RxDatagram*, size_t, uint64_t, TxBatch&, WorkerStats&) override {}
  uint64_t on_timer(uint64_t, TxBatch& tx, WorkerStats&) override {
    if (done_) return kNever;
    done_ = true;
    const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    put(tx, 'a', good_.ip(), good_.port(), 0);
    put(tx, 'b', good_.ip(), 0, 0);               // port 0: the kernel says EINVAL
    put(tx, 'c', good_.ip(), good_.port(), 0);
    put(tx, 'd', IpAddr::v6(v6), 9, 0);           // IPv6 destination on an IPv4 socket
    put(tx, 'e', good_.ip(), good_.port(), 7);    // no socket 7
    put(tx, 'f', good_.ip(), good_.port(), 0);
    return kNever;
  }

 private:
  static void put(TxBatch& tx, char tag, const IpAddr& ip, uint16_t port, uint16_t iface) {
    TxSlot* s = tx.acquire();
    ASSERT_NE(s, nullptr);
    s->data[0] = static_cast<uint8_t>(tag);
    s->len = 1;
    s->tuple.remote = ip;
    s->tuple.remote_port = port;
    s->tuple.iface = iface;
    tx.commit();
  }
  SockAddr good_;
  bool done_ = false;
};

TEST(SocketErrors, RefusedSendsAreDroppedAndTheRestGoOut) {
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  MixedSender ep(peer.self());
  Driver d(ep);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  d.poll(monotonic_ns());
  std::string got;
  std::vector<uint8_t> in;
  while (peer.recv(&in, nullptr, 200)) {
    ASSERT_EQ(in.size(), 1u);
    got.push_back(static_cast<char>(in[0]));
  }
  EXPECT_EQ(got, "acf");
  const WorkerStats& s = d.stats();
  EXPECT_EQ(s.udp_tx, 6u);
  EXPECT_EQ(s.tx_packets, 3u);
  EXPECT_EQ(s.tx_bytes, 3u);
  EXPECT_EQ(s.drops[static_cast<size_t>(DropReason::tx_ring_full)], 3u);
  EXPECT_EQ(s.dropped(), 3u);
}

}  // namespace
}  // namespace camp::sockdrv::test
