// Receiving UDP datagrams: the tuple handed to the endpoint, checksums and offload states.
#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

void expect_v4_tuple(const Result& r, const Buf& b, size_t payload_off, const Bytes& pl) {
  ASSERT_EQ(r.action, Action::udp);
  EXPECT_EQ(r.datagram.data, b.data + payload_off);
  ASSERT_EQ(r.datagram.len, pl.size());
  EXPECT_EQ(0, std::memcmp(r.datagram.data, pl.data(), pl.size()));
  const Tuple& t = r.datagram.tuple;
  EXPECT_EQ(t.local, IpAddr::v4(kOur4.data()));
  EXPECT_EQ(t.remote, IpAddr::v4(kPeer4.data()));
  EXPECT_EQ(t.local_port, kPort);
  EXPECT_EQ(t.remote_port, kPeerPort);
  EXPECT_EQ(t.iface, kIface);
  EXPECT_EQ(0, std::memcmp(t.next_hop_mac, kPeerMac.data(), 6));
}

TEST(UdpRx, V4DeliversPayloadAndExactTuple) {
  const LocalAddrs l = make_local();
  const Bytes pl = payload(18);
  Buf b(udp4_frame(pl));
  expect_v4_tuple(classify_buf(b, l), b, 42, pl);
}

TEST(UdpRx, V4AtEveryAlignment) {
  const LocalAddrs l = make_local();
  const Bytes f = udp4_frame(payload(33));  // odd length: the checksum's odd tail
  for (size_t off = 0; off < 8; ++off) {
    Buf b(f.data(), f.size(), f.size(), off);
    const Result r = classify_buf(b, l);
    EXPECT_EQ(r.action, Action::udp) << off;
    EXPECT_EQ(r.datagram.len, 33) << off;
  }
}

TEST(UdpRx, V4EmptyPayload) {
  const LocalAddrs l = make_local();
  Buf b(udp4_frame(Bytes{}));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::udp);
  EXPECT_EQ(r.datagram.len, 0);
}

TEST(UdpRx, V4WithIpOptionsSkipsThem) {
  const LocalAddrs l = make_local();
  const Bytes pl = payload(10);
  V4Opts o;
  o.options = {0x01, 0x01, 0x01, 0x00, 0x94, 0x04, 0x00, 0x00};  // NOPs, EOL, router alert
  Buf b(ether(kOurMac, kPeerMac, 0x0800,
              ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, kPeerPort, kPort, pl), o)));
  expect_v4_tuple(classify_buf(b, l), b, 50, pl);
}

TEST(UdpRx, V4EthernetPaddingIsNotPayload) {
  const LocalAddrs l = make_local();
  const Bytes pl = payload(4);
  Bytes f = udp4_frame(pl);
  ASSERT_EQ(f.size(), 46u);
  f.resize(60, 0);  // minimum Ethernet frame
  Buf b(f);
  expect_v4_tuple(classify_buf(b, l), b, 42, pl);
}

TEST(UdpRx, V4ToBroadcastMacAndSecondAddress) {
  LocalAddrs l = make_local();
  ASSERT_TRUE(l.add_ipv4(kOur4b.data()));
  const Bytes pl = payload(8);
  Buf b(ether(kBroadcast, kPeerMac, 0x0800,
              ipv4(kPeer4, kOur4b, 17, udp4(kPeer4, kOur4b, kPeerPort, kPort, pl))));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::udp);
  EXPECT_EQ(r.datagram.tuple.local, IpAddr::v4(kOur4b.data()));
}

TEST(UdpRx, V4ZeroChecksumMeansNone) {
  const LocalAddrs l = make_local();
  Bytes f = udp4_frame();
  set16(&f[40], 0);
  EXPECT_EQ(reason_of(f, l), DropReason::count);
}

TEST(UdpRx, V4BadChecksumDroppedUnlessOffloadSaysGood) {
  const LocalAddrs l = make_local();
  Bytes f = udp4_frame();
  f.back() ^= 0x40;  // payload corrupted
  EXPECT_EQ(reason_of(f, l), DropReason::udp_bad_checksum);
  EXPECT_EQ(reason_of(f, l, {CksumState::unknown, CksumState::good}), DropReason::count);
  Bytes g = udp4_frame();
  g[40] ^= 1;  // the checksum field itself
  EXPECT_EQ(reason_of(g, l), DropReason::udp_bad_checksum);
  EXPECT_EQ(reason_of(udp4_frame(), l, {CksumState::unknown, CksumState::bad}),
            DropReason::udp_bad_checksum);
}

TEST(UdpRx, V4IpChecksumOffload) {
  const LocalAddrs l = make_local();
  Bytes f = udp4_frame();
  f[24] ^= 0xff;  // IP header checksum
  EXPECT_EQ(reason_of(f, l), DropReason::ipv4_bad_checksum);
  EXPECT_EQ(reason_of(f, l, {CksumState::good, CksumState::unknown}), DropReason::count);
  EXPECT_EQ(reason_of(udp4_frame(), l, {CksumState::bad, CksumState::unknown}),
            DropReason::ipv4_bad_checksum);
}

TEST(UdpRx, V6DeliversPayloadAndExactTuple) {
  const LocalAddrs l = make_local();
  const Bytes pl = payload(21);
  Buf b(udp6_frame(pl));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::udp);
  EXPECT_EQ(r.datagram.data, b.data + 62);
  ASSERT_EQ(r.datagram.len, pl.size());
  EXPECT_EQ(0, std::memcmp(r.datagram.data, pl.data(), pl.size()));
  const Tuple& t = r.datagram.tuple;
  EXPECT_EQ(t.local, IpAddr::v6(kOur6.data()));
  EXPECT_EQ(t.remote, IpAddr::v6(kPeer6.data()));
  EXPECT_EQ(t.local_port, kPort);
  EXPECT_EQ(t.remote_port, kPeerPort);
  EXPECT_EQ(t.iface, kIface);
  EXPECT_EQ(0, std::memcmp(t.next_hop_mac, kPeerMac.data(), 6));
}

TEST(UdpRx, V6ToLinkLocal) {
  const LocalAddrs l = make_local();
  // fe80::11:22ff:fe33:4455 from 02:11:22:33:44:55 (universal/local bit flipped).
  const V6 ll = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  EXPECT_TRUE(l.has_ipv6(ll.data()));
  Buf b(ether(kOurMac, kPeerMac, 0x86dd,
              ipv6(kPeerLl, ll, 17, udp6(kPeerLl, ll, kPeerPort, kPort, payload(5)))));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::udp);
  EXPECT_EQ(r.datagram.tuple.local, IpAddr::v6(ll.data()));
  EXPECT_EQ(r.datagram.tuple.remote, IpAddr::v6(kPeerLl.data()));
}

TEST(UdpRx, V6ChecksumRules) {
  const LocalAddrs l = make_local();
  Bytes zero = udp6_frame();
  set16(&zero[60], 0);
  EXPECT_EQ(reason_of(zero, l), DropReason::udp_bad_checksum);  // mandatory over IPv6
  Bytes bad = udp6_frame();
  bad[63] ^= 0x10;
  EXPECT_EQ(reason_of(bad, l), DropReason::udp_bad_checksum);
  EXPECT_EQ(reason_of(bad, l, {CksumState::unknown, CksumState::good}), DropReason::count);
  EXPECT_EQ(reason_of(udp6_frame(), l, {CksumState::unknown, CksumState::bad}),
            DropReason::udp_bad_checksum);
}

TEST(UdpRx, V6ToMulticastIsNotForTheEndpoint) {
  const LocalAddrs l = make_local();
  const Bytes f = ether(kAllNodesMac, kPeerMac, 0x86dd,
                        ipv6(kPeer6, kAllNodes, 17, udp6(kPeer6, kAllNodes, 1, kPort, payload(4))));
  EXPECT_EQ(reason_of(f, l), DropReason::ipv6_not_for_us);
}

TEST(LocalAddrs, AddLookupAndLimits) {
  LocalAddrs l;
  const uint8_t a[4] = {10, 0, 0, 1};
  EXPECT_FALSE(l.has_ipv4(a));
  EXPECT_TRUE(l.add_ipv4(a));
  EXPECT_TRUE(l.add_ipv4(a));  // already there: not added twice
  EXPECT_EQ(l.n_ipv4, 1);
  for (uint8_t i = 2; l.n_ipv4 < kMaxAddrs; ++i) {
    const uint8_t b[4] = {10, 0, 0, i};
    EXPECT_TRUE(l.add_ipv4(b));
  }
  const uint8_t full[4] = {10, 0, 1, 0};
  EXPECT_FALSE(l.add_ipv4(full));
  EXPECT_FALSE(l.has_ipv4(full));
  const uint8_t last[4] = {10, 0, 0, kMaxAddrs};
  EXPECT_TRUE(l.has_ipv4(last));

  std::memcpy(l.mac, kOurMac.data(), 6);
  EXPECT_TRUE(l.add_link_local());
  const uint8_t ll[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                          0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  EXPECT_TRUE(l.has_ipv6(ll));
  EXPECT_EQ(l.n_ipv6, 1);
  for (uint8_t i = 1; l.n_ipv6 < kMaxAddrs; ++i) {
    V6 x = kOur6;
    x[15] = i;
    EXPECT_TRUE(l.add_ipv6(x.data()));
  }
  EXPECT_FALSE(l.add_ipv6(kPeer6.data()));
}

}  // namespace
}  // namespace camp::net::test
