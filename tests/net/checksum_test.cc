// The hot-path checksum code (wire::sum_bytes, build_udp's value-based sums) against DPDK's own
// helpers and against the test's independent RFC 1071 code.
#include <rte_ip.h>

#include <random>

#include "drivers/net/wire.h"
#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

TEST(Checksum, SumBytesMatchesDpdkAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  Bytes data(1600);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n = 0; n <= 1500; n += (n < 80 ? 1 : 37)) {
      const uint8_t* p = data.data() + off;
      EXPECT_EQ(wire::fold16(wire::sum_bytes(p, n)), rte_raw_cksum(p, n)) << off << " " << n;
      // Byte-order independence: the big-endian sum, byte-swapped on this little-endian host.
      const uint16_t be = fold(sum_words(p, n));
      EXPECT_EQ(wire::fold16(wire::sum_bytes(p, n)), static_cast<uint16_t>(be >> 8 | be << 8));
    }
  }
}

TEST(Checksum, SumBytesLargestFrameOfOnes) {
  const Bytes ones(65535, 0xff);
  for (size_t n : {65534, 65535}) {
    EXPECT_EQ(wire::fold16(wire::sum_bytes(ones.data(), n)), rte_raw_cksum(ones.data(), n)) << n;
  }
}

Tuple tuple(uint8_t family) {
  Tuple t;
  t.local = family == 4 ? IpAddr::v4(kOur4.data()) : IpAddr::v6(kOur6.data());
  t.remote = family == 4 ? IpAddr::v4(kPeer4.data()) : IpAddr::v6(kPeer6.data());
  t.local_port = 0xfedc;
  t.remote_port = 0x0102;
  std::memcpy(t.next_hop_mac, kPeerMac.data(), 6);
  return t;
}

TEST(Checksum, BuildUdpAgreesWithDpdkHelpers) {
  std::mt19937 rng(11);
  for (uint8_t family : {4, 6}) {
    for (uint16_t n : {0, 1, 2, 7, 64, 333, 1400}) {
      Bytes f(udp_headroom(family) + n);
      for (size_t i = udp_headroom(family); i < f.size(); ++i) f[i] = static_cast<uint8_t>(rng());
      const Tuple t = tuple(family);
      uint8_t* ip = f.data() + 14;
      uint8_t* u = f.data() + udp_headroom(family) - 8;
      uint16_t field;

      build_udp(f.data(), n, t, kOurMac.data(), false, false);
      std::memcpy(&field, u + 6, 2);
      set16(u + 6, 0);
      if (family == 4) {
        uint16_t hc;
        std::memcpy(&hc, ip + 10, 2);
        set16(ip + 10, 0);
        EXPECT_EQ(hc, rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip)));
        EXPECT_EQ(field, rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip), u)) << n;
      } else {
        EXPECT_EQ(field, rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(ip), u)) << n;
      }

      build_udp(f.data(), n, t, kOurMac.data(), true, true);
      std::memcpy(&field, u + 6, 2);
      if (family == 4) {
        EXPECT_EQ(field, rte_ipv4_phdr_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip), 0));
      } else {
        EXPECT_EQ(field, rte_ipv6_phdr_cksum(reinterpret_cast<rte_ipv6_hdr*>(ip), 0));
      }
    }
  }
}

}  // namespace
}  // namespace camp::net::test
