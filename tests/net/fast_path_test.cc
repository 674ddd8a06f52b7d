// The IPv4/UDP fast path (udp4_fast.h) against the full classify() and build_udp(): it may only
// ever accept what classify accepts, with the same datagram, and it must accept the common
// datagram. Its checksum helpers against wire::sum_bytes / fold16, its SIMD address compare
// against the scalar one.
#include "drivers/net/udp4_fast.h"

#include <random>

#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

// A frame at `offset` in a heap buffer of exactly `readable` bytes, the bytes after the frame
// random: the fast path may read them only to mask them off, and ASan reports anything past.
struct Padded {
  Buf buf;
  Padded(const Bytes& f, size_t readable, size_t offset, std::mt19937& rng)
      : buf(f.data(), f.size(), readable, offset) {
    for (size_t i = f.size(); i < readable; ++i) buf.data[i] = static_cast<uint8_t>(rng());
  }
};

bool fast_of(const Buf& b, const LocalAddrs& l, RxOffload off, RxDatagram* d) {
  return classify_udp4_fast(b.data, b.len, b.cap, Udp4Fast(l), off, d);
}

void expect_same_datagram(const RxDatagram& fast, const Buf& fb, const RxDatagram& full,
                          const Buf& cb) {
  EXPECT_EQ(fast.data - fb.data, full.data - cb.data);
  EXPECT_EQ(fast.len, full.len);
  EXPECT_EQ(fast.tuple.local, full.tuple.local);
  EXPECT_EQ(fast.tuple.remote, full.tuple.remote);
  EXPECT_EQ(fast.tuple.local_port, full.tuple.local_port);
  EXPECT_EQ(fast.tuple.remote_port, full.tuple.remote_port);
  EXPECT_EQ(fast.tuple.iface, full.tuple.iface);
  EXPECT_EQ(0, std::memcmp(fast.tuple.next_hop_mac, full.tuple.next_hop_mac, 6));
}

// Runs both on copies of f; returns whether the fast path took it. Fails the test when the fast
// path accepted something classify did not, or handed over a different datagram.
bool check_agree(const Bytes& f, const LocalAddrs& l, size_t pad, size_t offset, RxOffload off,
                 std::mt19937& rng) {
  Padded p(f, f.size() + pad, offset, rng);
  RxDatagram fast;
  const bool took = fast_of(p.buf, l, off, &fast);
  Buf c(f.data(), f.size(), f.size() + pad, offset);
  const Result full = classify(c.data, c.len, c.cap, l, off);
  if (took) {
    EXPECT_EQ(full.action, Action::udp) << "fast path took a frame classify "
                                        << (full.action == Action::drop
                                                ? drop_reason_name(full.reason)
                                                : "did not hand to the endpoint");
    if (full.action == Action::udp) expect_same_datagram(fast, p.buf, full.datagram, c);
  }
  return took;
}

TEST(FastPath, TakesTheCommonDatagramWithClassifysTuple) {
  const LocalAddrs l = make_local();
  std::mt19937 rng(1);
  for (size_t n : {0, 1, 2, 7, 8, 18, 33, 100, 1472}) {
    for (size_t pad : {0, 1, 7, 64}) {
      for (size_t off = 0; off < 4; ++off) {
        EXPECT_TRUE(check_agree(udp4_frame(payload(n)), l, pad, off, {}, rng))
            << n << " " << pad << " " << off;
      }
    }
  }
}

TEST(FastPath, TakesEveryOneOfTheFirstAddressesAndNotTheRest) {
  LocalAddrs l = make_local();
  std::mt19937 rng(2);
  std::vector<V4> addrs = {kOur4};
  for (uint8_t i = 0; i < 5; ++i) {
    const V4 a = {10, 0, 0, static_cast<uint8_t>(i + 1)};
    l.add_ipv4(a.data());
    addrs.push_back(a);
  }
  for (size_t i = 0; i < addrs.size(); ++i) {
    const Bytes f = ether(kOurMac, kPeerMac, 0x0800,
                          ipv4(kPeer4, addrs[i], 17, udp4(kPeer4, addrs[i], kPeerPort, kPort,
                                                          payload(20))));
    // Addresses past the first kFastAddrs are classify's (still delivered, just slower).
    EXPECT_EQ(check_agree(f, l, 8, 1, {}, rng), i < kFastAddrs) << i;
    EXPECT_EQ(reason_of(f, l), DropReason::count) << i;
  }
}

TEST(FastPath, ZeroUdpChecksumMeansNoneAndOffloadStatesAreHonoured) {
  const LocalAddrs l = make_local();
  std::mt19937 rng(3);
  Bytes f = udp4_frame(payload(30));
  EXPECT_TRUE(check_agree(f, l, 0, 0, {}, rng));
  Bytes zero = f;
  set16(&zero[40], 0);
  EXPECT_TRUE(check_agree(zero, l, 0, 0, {}, rng));
  Bytes broken = f;
  broken[50] ^= 0x40;  // payload damaged: UDP checksum fails
  EXPECT_FALSE(check_agree(broken, l, 8, 0, {}, rng));
  EXPECT_TRUE(check_agree(broken, l, 8, 0, {CksumState::unknown, CksumState::good}, rng));
  Bytes bad_ip = f;
  bad_ip[24] ^= 1;  // header checksum field
  EXPECT_FALSE(check_agree(bad_ip, l, 8, 0, {}, rng));
  EXPECT_TRUE(check_agree(bad_ip, l, 8, 0, {CksumState::good, CksumState::unknown}, rng));
  EXPECT_FALSE(check_agree(f, l, 8, 0, {CksumState::bad, CksumState::unknown}, rng));
  EXPECT_FALSE(check_agree(f, l, 8, 0, {CksumState::unknown, CksumState::bad}, rng));
}

TEST(FastPath, LeavesUnusualFramesToClassify) {
  const LocalAddrs l = make_local();
  std::mt19937 rng(4);
  V4Opts opts;
  opts.options = {1, 1, 1, 0};
  const Bytes cases[] = {
      ether(kOurMac, kPeerMac, 0x0800,
            ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, kPeerPort, kPort, payload(9)), opts)),
      ether(kBroadcast, kPeerMac, 0x0800,
            ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, kPeerPort, kPort, payload(9)))),
      udp6_frame(),
      echo4_frame(),
      arp_request_frame(),
      udp4_frame(payload(9), kPort + 1),
  };
  for (const Bytes& f : cases) EXPECT_FALSE(check_agree(f, l, 16, 1, {}, rng));
}

// Valid frames with one or more random changes in the headers, the lengths or the payload: the
// fast path must never accept what classify rejects, and must agree on what it accepts.
TEST(FastPath, AgreesWithClassifyOnMutatedFrames) {
  LocalAddrs l = make_local();
  l.add_ipv4(kOur4b.data());
  std::mt19937 rng(5);
  size_t took = 0, total = 0;
  for (int iter = 0; iter < 40000; ++iter) {
    const V4 dst = rng() % 2 ? kOur4 : kOur4b;
    Bytes f = ether(kOurMac, kPeerMac, 0x0800,
                    ipv4(kPeer4, dst, 17,
                         udp4(kPeer4, dst, kPeerPort, kPort, payload(rng() % 80, rng()))));
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !f.empty(); ++e) {
      switch (rng() % 5) {
        case 0:  // any byte of the headers
          f[rng() % std::min<size_t>(42, f.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:  // any byte anywhere
          f[rng() % f.size()] = static_cast<uint8_t>(rng());
          break;
        case 2:  // the frame shortened (the IP length now lies)
          f.resize(rng() % f.size());
          break;
        case 3:  // Ethernet padding after the datagram
          f.resize(f.size() + rng() % 20, static_cast<uint8_t>(rng()));
          break;
        case 4: {  // a length field rewritten
          if (f.size() < 42) break;
          const size_t at = rng() % 2 ? 16 : 38;
          set16(&f[at], static_cast<uint16_t>(get16(&f[at]) + static_cast<int>(rng() % 9) - 4));
          break;
        }
      }
    }
    if (f.size() > 1514) f.resize(1514);
    const RxOffload off = rng() % 8 ? RxOffload{}
                                    : RxOffload{static_cast<CksumState>(rng() % 3),
                                                static_cast<CksumState>(rng() % 3)};
    const bool t = check_agree(f, l, rng() % 16, rng() % 8, off, rng);
    took += t;
    ++total;
    if (edits == 0 && off.ip == CksumState::unknown && off.l4 == CksumState::unknown) {
      EXPECT_TRUE(t) << "an unchanged valid datagram must take the fast path";
    }
  }
  // Both outcomes occur often enough for the comparison to mean something.
  EXPECT_GT(took, total / 5);
  EXPECT_LT(took, total * 4 / 5);
}

TEST(FastPath, RandomFramesAreNeverTaken) {
  const LocalAddrs l = make_local();
  std::mt19937 rng(6);
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes f(rng() % 120);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    // Mostly our MAC and IPv4, so the later checks are reached too.
    if (f.size() >= 15 && rng() % 4) {
      std::memcpy(f.data(), kOurMac.data(), 6);
      f[12] = 0x08;
      f[13] = 0x00;
      f[14] = 0x45;
    }
    check_agree(f, l, rng() % 9, rng() % 4, {}, rng);
  }
}

TEST(FastPath, SumPaddedEqualsSumBytes) {
  std::mt19937 rng(7);
  Bytes data(1700);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n = 0; n <= 1500; n += (n < 100 ? 1 : 23)) {
      // Exactly round_up(n, 8) bytes readable in a buffer of its own, garbage after n.
      const size_t readable = (n + 7) & ~size_t{7};
      Buf b(data.data() + off, n, readable, off);
      for (size_t i = n; i < readable; ++i) b.data[i] = static_cast<uint8_t>(rng());
      const uint64_t acc = rng() % 100000;
      EXPECT_EQ(wire::fold16(fast::sum_padded(b.data, n, acc)),
                wire::fold16(wire::sum_bytes(b.data, n, acc)))
          << off << " " << n;
    }
  }
}

TEST(FastPath, ChecksumHelpersEqualFolding) {
  std::mt19937_64 rng(8);
  for (int i = 0; i < 200000; ++i) {
    // Sums the way the fast path builds them: up to a few dozen 48-bit terms, never zero.
    uint64_t x = 1 + (rng() >> (16 + rng() % 48));
    if (i % 7 == 0) x = 0xffffull * (1 + rng() % 1000000);  // divisible: verifies
    EXPECT_EQ(fast::sum_verifies(x), wire::sum_ok(wire::fold16(x))) << x;
    EXPECT_EQ(fast::checksum_of(x), static_cast<uint16_t>(~wire::fold16(x))) << x;
  }
}

TEST(FastPath, SimdAddressMatchEqualsScalar) {
  std::mt19937 rng(9);
  for (int i = 0; i < 100000; ++i) {
    uint32_t a[4];
    for (auto& v : a) v = rng() % 8;
    const uint32_t d = rng() % 10;
    EXPECT_EQ(fast::addr_match(d, a), fast::addr_match_scalar(d, a));
  }
}

// build_udp4 reading the payload in whole words equals build_udp, which reads it exactly.
TEST(FastPath, BuildUdp4WithReadablePaddingEqualsBuildUdp) {
  std::mt19937 rng(10);
  for (int iter = 0; iter < 3000; ++iter) {
    Tuple t;
    V4 a, b;
    for (auto& x : a) x = static_cast<uint8_t>(rng());
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    t.local = IpAddr::v4(a.data());
    t.remote = IpAddr::v4(b.data());
    t.local_port = static_cast<uint16_t>(rng());
    t.remote_port = static_cast<uint16_t>(rng());
    for (auto& x : t.next_hop_mac) x = static_cast<uint8_t>(rng());
    const Bytes pl = payload(rng() % 300, static_cast<uint8_t>(rng()));
    const size_t pad = rng() % 16;
    Bytes f(42, 0xee);
    f.insert(f.end(), pl.begin(), pl.end());
    Buf fast_buf(f.data(), f.size(), f.size() + pad, rng() % 4);
    for (size_t i = f.size(); i < f.size() + pad; ++i) {
      fast_buf.data[i] = static_cast<uint8_t>(rng());
    }
    Buf ref(f.data(), f.size(), f.size(), 1);
    const uint16_t n1 = build_udp4(fast_buf.data, static_cast<uint16_t>(pl.size()), t,
                                   kOurMac.data(), pl.size() + pad);
    const uint16_t n2 = build_udp(ref.data, static_cast<uint16_t>(pl.size()), t, kOurMac.data(),
                                  false, false);
    ASSERT_EQ(n1, n2);
    ASSERT_EQ(0, std::memcmp(fast_buf.data, ref.data, n1)) << iter;
    // And the independent checksum code of frames.h agrees the result verifies.
    EXPECT_TRUE(verifies(ref.data + 14, 20));
    const uint16_t ulen = static_cast<uint16_t>(8 + pl.size());
    EXPECT_TRUE(verifies(ref.data + 34, ulen, pseudo4(a, b, 17, ulen)));
  }
}

}  // namespace
}  // namespace camp::net::test
