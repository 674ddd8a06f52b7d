// build_udp(): header bytes checked independently, then parsed back by classify() on the peer.
#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

Tuple tuple4() {
  Tuple t;
  t.local = IpAddr::v4(kOur4.data());
  t.remote = IpAddr::v4(kPeer4.data());
  t.local_port = kPort;
  t.remote_port = kPeerPort;
  t.iface = kIface;
  std::memcpy(t.next_hop_mac, kPeerMac.data(), 6);
  return t;
}
Tuple tuple6() {
  Tuple t = tuple4();
  t.local = IpAddr::v6(kOur6.data());
  t.remote = IpAddr::v6(kPeer6.data());
  return t;
}

// The receiving side: the peer's addresses.
LocalAddrs peer_local() {
  LocalAddrs l;
  std::memcpy(l.mac, kPeerMac.data(), 6);
  l.add_ipv4(kPeer4.data());
  l.add_ipv6(kPeer6.data());
  l.udp_port = kPeerPort;
  l.iface = 9;
  return l;
}

// A frame buffer of exactly headroom + payload bytes with the payload in place.
Buf with_payload(uint8_t family, const Bytes& pl, size_t offset = 1) {
  const size_t hr = udp_headroom(family);
  Bytes f(hr, 0xee);
  f.insert(f.end(), pl.begin(), pl.end());
  return Buf(f.data(), f.size(), f.size(), offset);
}

void expect_parsed_back(Buf& b, uint16_t len, const Tuple& sent, const Bytes& pl,
                        RxOffload off = {}) {
  b.len = len;
  const Result r = classify_buf(b, peer_local(), off);
  ASSERT_EQ(r.action, Action::udp) << drop_reason_name(r.reason);
  ASSERT_EQ(r.datagram.len, pl.size());
  EXPECT_EQ(r.datagram.data, b.data + udp_headroom(sent.local.family));
  if (!pl.empty()) {
    EXPECT_EQ(0, std::memcmp(r.datagram.data, pl.data(), pl.size()));
  }
  const Tuple& t = r.datagram.tuple;
  EXPECT_EQ(t.local, sent.remote);
  EXPECT_EQ(t.remote, sent.local);
  EXPECT_EQ(t.local_port, sent.remote_port);
  EXPECT_EQ(t.remote_port, sent.local_port);
  EXPECT_EQ(t.iface, 9);
  EXPECT_EQ(0, std::memcmp(t.next_hop_mac, kOurMac.data(), 6));
}

void expect_eth(const uint8_t* p, uint16_t type) {
  EXPECT_EQ(0, std::memcmp(p, kPeerMac.data(), 6));
  EXPECT_EQ(0, std::memcmp(p + 6, kOurMac.data(), 6));
  EXPECT_EQ(get16(p + 12), type);
}

void expect_ipv4(const uint8_t* ip, size_t udp_len, bool cksum_computed) {
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(get16(ip + 2), 20 + udp_len);
  EXPECT_EQ(get16(ip + 6), 0x4000);  // DF, no fragment
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], 17);
  if (cksum_computed) {
    EXPECT_TRUE(verifies(ip, 20));
  } else {
    EXPECT_EQ(get16(ip + 10), 0);
  }
  EXPECT_EQ(0, std::memcmp(ip + 12, kOur4.data(), 4));
  EXPECT_EQ(0, std::memcmp(ip + 16, kPeer4.data(), 4));
}

void expect_ipv6(const uint8_t* ip, size_t udp_len) {
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(get16(ip + 4), udp_len);
  EXPECT_EQ(ip[6], 17);
  EXPECT_EQ(ip[7], 64);
  EXPECT_EQ(0, std::memcmp(ip + 8, kOur6.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip + 24, kPeer6.data(), 16));
}

void expect_udp_ports(const uint8_t* u, size_t udp_len) {
  EXPECT_EQ(get16(u), kPort);
  EXPECT_EQ(get16(u + 2), kPeerPort);
  EXPECT_EQ(get16(u + 4), udp_len);
}

TEST(BuildUdp, HeadroomSizes) {
  EXPECT_EQ(udp_headroom(4), 42);
  EXPECT_EQ(udp_headroom(6), 62);
}

TEST(BuildUdp, V4SoftwareChecksumsRoundTrip) {
  for (size_t n : {0, 1, 17, 18, 1200}) {
    const Bytes pl = payload(n, static_cast<uint8_t>(n));
    Buf b = with_payload(4, pl);
    const Tuple t = tuple4();
    const uint16_t len =
        build_udp(b.data, static_cast<uint16_t>(n), t, kOurMac.data(), false, false);
    ASSERT_EQ(len, 42 + n);
    expect_eth(b.data, 0x0800);
    expect_ipv4(b.data + 14, 8 + n, true);
    const uint8_t* u = b.data + 34;
    expect_udp_ports(u, 8 + n);
    EXPECT_NE(get16(u + 6), 0);
    EXPECT_TRUE(verifies(u, 8 + n, pseudo4(kOur4, kPeer4, 17, 8 + n))) << n;
    expect_parsed_back(b, len, t, pl);
  }
}

TEST(BuildUdp, V6SoftwareChecksumsRoundTrip) {
  for (size_t n : {0, 1, 17, 18, 1200}) {
    const Bytes pl = payload(n, static_cast<uint8_t>(n + 3));
    Buf b = with_payload(6, pl, 0);
    const Tuple t = tuple6();
    const uint16_t len =
        build_udp(b.data, static_cast<uint16_t>(n), t, kOurMac.data(), false, false);
    ASSERT_EQ(len, 62 + n);
    expect_eth(b.data, 0x86dd);
    expect_ipv6(b.data + 14, 8 + n);
    const uint8_t* u = b.data + 54;
    expect_udp_ports(u, 8 + n);
    EXPECT_TRUE(verifies(u, 8 + n, pseudo6(kOur6, kPeer6, 17, 8 + n))) << n;
    expect_parsed_back(b, len, t, pl);
  }
}

// A payload chosen so the one's complement sum is zero: UDP must send 0xffff, not "no checksum".
TEST(BuildUdp, ComputedZeroChecksumIsSentAsAllOnes) {
  for (uint8_t family : {4, 6}) {
    const Tuple t = family == 4 ? tuple4() : tuple6();
    const uint64_t ph =
        family == 4 ? pseudo4(kOur4, kPeer4, 17, 10) : pseudo6(kOur6, kPeer6, 17, 10);
    Bytes hdr = udp_raw(kPort, kPeerPort, {0, 0});
    const uint16_t s = fold(sum_words(hdr.data(), hdr.size(), ph));
    const uint16_t w = static_cast<uint16_t>(~s);  // s + w == 0xffff
    const Bytes pl = {static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)};
    Buf b = with_payload(family, pl);
    const uint16_t len = build_udp(b.data, 2, t, kOurMac.data(), false, false);
    EXPECT_EQ(get16(b.data + udp_headroom(family) - 2), 0xffff) << int(family);
    expect_parsed_back(b, len, t, pl);
  }
}

TEST(BuildUdp, V4OffloadLeavesPseudoHeaderSum) {
  const Bytes pl = payload(100);
  const Tuple t = tuple4();
  const uint16_t phdr = fold(pseudo4(kOur4, kPeer4, 17, 108));
  {
    Buf b = with_payload(4, pl);
    const uint16_t len = build_udp(b.data, 100, t, kOurMac.data(), true, true);
    ASSERT_EQ(len, 142);
    expect_eth(b.data, 0x0800);
    expect_ipv4(b.data + 14, 108, false);
    expect_udp_ports(b.data + 34, 108);
    EXPECT_EQ(get16(b.data + 40), phdr);  // the NIC adds the rest and complements
    // As a NIC that checked both would report it.
    expect_parsed_back(b, len, t, pl, {CksumState::good, CksumState::good});
  }
  {  // IP header in software, UDP by the NIC
    Buf b = with_payload(4, pl);
    build_udp(b.data, 100, t, kOurMac.data(), false, true);
    expect_ipv4(b.data + 14, 108, true);
    EXPECT_EQ(get16(b.data + 40), phdr);
  }
  {  // IP header by the NIC, UDP in software
    Buf b = with_payload(4, pl);
    build_udp(b.data, 100, t, kOurMac.data(), true, false);
    expect_ipv4(b.data + 14, 108, false);
    EXPECT_TRUE(verifies(b.data + 34, 108, pseudo4(kOur4, kPeer4, 17, 108)));
  }
}

TEST(BuildUdp, V6OffloadLeavesPseudoHeaderSum) {
  const Bytes pl = payload(100);
  Buf b = with_payload(6, pl);
  const Tuple t = tuple6();
  const uint16_t len = build_udp(b.data, 100, t, kOurMac.data(), true, true);
  ASSERT_EQ(len, 162);
  expect_ipv6(b.data + 14, 108);
  EXPECT_EQ(get16(b.data + 60), fold(pseudo6(kOur6, kPeer6, 17, 108)));
  expect_parsed_back(b, len, t, pl, {CksumState::unknown, CksumState::good});
}

}  // namespace
}  // namespace camp::net::test
