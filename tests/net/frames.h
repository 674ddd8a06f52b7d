// Hand-built frames for the l2l3 tests, with checksum code of their own (not DPDK's), and a
// harness that runs classify() on a copy in an exactly sized heap buffer at an odd address, so
// ASan reports any read past `len` or write past `cap` and UBSan any misaligned access.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "drivers/net/l2l3.h"

namespace camp::net::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using V4 = std::array<uint8_t, 4>;
using V6 = std::array<uint8_t, 16>;

inline const Mac kOurMac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
inline const Mac kPeerMac = {0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
inline const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline const Mac kAllNodesMac = {0x33, 0x33, 0, 0, 0, 1};
inline const V4 kOur4 = {192, 0, 2, 1};
inline const V4 kOur4b = {198, 51, 100, 7};
inline const V4 kPeer4 = {192, 0, 2, 99};
inline const V6 kOur6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56};
inline const V6 kPeer6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
inline const V6 kPeerLl = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                           0x08, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff};
inline const V6 kUnspecified = {};
inline const V6 kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr uint16_t kPort = 4433;
inline constexpr uint16_t kPeerPort = 50000;
inline constexpr uint16_t kIface = 3;

inline V6 solicited_node(const V6& a) {
  return {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
}
inline Mac mcast_mac(const V6& group) {
  return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

inline LocalAddrs make_local() {
  LocalAddrs l;
  std::memcpy(l.mac, kOurMac.data(), 6);
  l.add_ipv4(kOur4.data());
  l.add_ipv6(kOur6.data());
  l.add_link_local();
  l.udp_port = kPort;
  l.iface = kIface;
  return l;
}

// ---- byte helpers ----
inline void put(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
template <size_t N>
inline void put(Bytes& b, const std::array<uint8_t, N>& a) {
  put(b, a.data(), N);
}
inline void put(Bytes& b, const Bytes& x) { put(b, x.data(), x.size()); }
inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void set16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// RFC 1071 sum of big-endian 16-bit words (odd tail padded with zero), unfolded.
inline uint64_t sum_words(const uint8_t* p, size_t n, uint64_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint64_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) acc += static_cast<uint64_t>(p[n - 1]) << 8;
  return acc;
}
inline uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}
inline uint16_t cksum(const uint8_t* p, size_t n, uint64_t acc = 0) {
  return static_cast<uint16_t>(~fold(sum_words(p, n, acc)));
}
inline uint64_t pseudo4(const V4& s, const V4& d, uint8_t proto, size_t len) {
  return sum_words(s.data(), 4) + sum_words(d.data(), 4) + proto + len;
}
inline uint64_t pseudo6(const V6& s, const V6& d, uint8_t next, size_t len) {
  return sum_words(s.data(), 16) + sum_words(d.data(), 16) + next + len;
}
// A region including its checksum field verifies when the folded sum is all ones.
inline bool verifies(const uint8_t* p, size_t n, uint64_t acc = 0) {
  return fold(sum_words(p, n, acc)) == 0xffff;
}

// ---- headers ----
inline Bytes ether(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload) {
  Bytes b;
  put(b, dst);
  put(b, src);
  put16(b, type);
  put(b, payload);
  return b;
}

struct V4Opts {
  Bytes options;           // multiple of 4
  uint16_t frag = 0x4000;  // DF
  uint8_t ttl = 64;
};
inline Bytes ipv4(const V4& s, const V4& d, uint8_t proto, const Bytes& l4, const V4Opts& o = {}) {
  Bytes b;
  const size_t ihl = 20 + o.options.size();
  put8(b, static_cast<uint8_t>(0x40 | ihl / 4));
  put8(b, 0);
  put16(b, static_cast<uint16_t>(ihl + l4.size()));
  put16(b, 0x1234);
  put16(b, o.frag);
  put8(b, o.ttl);
  put8(b, proto);
  put16(b, 0);
  put(b, s);
  put(b, d);
  put(b, o.options);
  set16(&b[10], cksum(b.data(), ihl));
  put(b, l4);
  return b;
}

inline Bytes ipv6(const V6& s, const V6& d, uint8_t next, const Bytes& l4, uint8_t hop = 64) {
  Bytes b;
  put32(b, 0x60012345);  // version 6, some flow label
  put16(b, static_cast<uint16_t>(l4.size()));
  put8(b, next);
  put8(b, hop);
  put(b, s);
  put(b, d);
  put(b, l4);
  return b;
}

inline Bytes udp_raw(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload.size()));
  put16(b, 0);
  put(b, payload);
  return b;
}
inline Bytes udp4(const V4& s, const V4& d, uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b = udp_raw(sport, dport, payload);
  uint16_t c = cksum(b.data(), b.size(), pseudo4(s, d, 17, b.size()));
  set16(&b[6], c == 0 ? 0xffff : c);
  return b;
}
inline Bytes udp6(const V6& s, const V6& d, uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b = udp_raw(sport, dport, payload);
  uint16_t c = cksum(b.data(), b.size(), pseudo6(s, d, 17, b.size()));
  set16(&b[6], c == 0 ? 0xffff : c);
  return b;
}

inline Bytes icmp4(uint8_t type, uint8_t code, const Bytes& rest) {
  Bytes b = {type, code, 0, 0};
  put(b, rest);
  set16(&b[2], cksum(b.data(), b.size()));
  return b;
}
inline Bytes icmp6(const V6& s, const V6& d, uint8_t type, uint8_t code, const Bytes& rest) {
  Bytes b = {type, code, 0, 0};
  put(b, rest);
  set16(&b[2], cksum(b.data(), b.size(), pseudo6(s, d, 58, b.size())));
  return b;
}

inline Bytes payload(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// ---- whole frames used by many tests ----
inline Bytes udp4_frame(const Bytes& pl = payload(18), uint16_t dport = kPort) {
  return ether(kOurMac, kPeerMac, 0x0800,
               ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, kPeerPort, dport, pl)));
}
inline Bytes udp6_frame(const Bytes& pl = payload(18), uint16_t dport = kPort) {
  return ether(kOurMac, kPeerMac, 0x86dd,
               ipv6(kPeer6, kOur6, 17, udp6(kPeer6, kOur6, kPeerPort, dport, pl)));
}
inline Bytes echo_body(uint16_t id, uint16_t seq, const Bytes& data) {
  Bytes b;
  put16(b, id);
  put16(b, seq);
  put(b, data);
  return b;
}
inline Bytes echo4_frame(const V4Opts& o = {}) {
  return ether(kOurMac, kPeerMac, 0x0800,
               ipv4(kPeer4, kOur4, 1, icmp4(8, 0, echo_body(0x77, 5, payload(24))), o));
}
inline Bytes echo6_frame() {
  return ether(
      kOurMac, kPeerMac, 0x86dd,
      ipv6(kPeer6, kOur6, 58, icmp6(kPeer6, kOur6, 128, 0, echo_body(0x77, 5, payload(24)))));
}
inline Bytes arp_body(uint16_t op, const Mac& sha, const V4& sip, const Mac& tha, const V4& tip,
                      uint8_t hlen = 6) {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  put8(b, hlen);
  put8(b, 4);
  put16(b, op);
  put(b, sha);
  put(b, sip);
  put(b, tha);
  put(b, tip);
  return b;
}
inline Bytes arp_request_frame(const V4& tip = kOur4) {
  return ether(kBroadcast, kPeerMac, 0x0806, arp_body(1, kPeerMac, kPeer4, Mac{}, tip));
}
// Neighbour solicitation body after the 4-byte ICMPv6 header: reserved, target, options.
inline Bytes ns_body(const V6& target, const Bytes& options) {
  Bytes b = {0, 0, 0, 0};
  put(b, target);
  put(b, options);
  return b;
}
inline Bytes sll_option(const Mac& m) {
  Bytes b = {1, 1};
  put(b, m);
  return b;
}
inline Bytes ns_frame(const V6& src, const V6& dst, const V6& target, const Bytes& options,
                      uint8_t hop = 255, uint8_t code = 0, const Mac& dst_mac = {}) {
  const Mac dmac = dst_mac == Mac{} ? mcast_mac(dst) : dst_mac;
  return ether(dmac, kPeerMac, 0x86dd,
               ipv6(src, dst, 58, icmp6(src, dst, 135, code, ns_body(target, options)), hop));
}

// ---- harness ----
// A frame copied into `cap` bytes of heap at an odd address (offset 1 from the allocation).
struct Buf {
  std::unique_ptr<uint8_t[]> mem;
  uint8_t* data;
  uint16_t len;
  uint16_t cap;
  Buf(const uint8_t* f, size_t n, size_t cap_bytes, size_t offset = 1)
      : mem(new uint8_t[offset + cap_bytes]),
        data(mem.get() + offset),
        len(static_cast<uint16_t>(n)),
        cap(static_cast<uint16_t>(cap_bytes)) {
    if (n) std::memcpy(data, f, n);
    if (cap_bytes > n) std::memset(data + n, 0xa5, cap_bytes - n);
  }
  explicit Buf(const Bytes& f) : Buf(f.data(), f.size(), f.size()) {}
  Bytes bytes(size_t n) const { return Bytes(data, data + n); }
};

inline Result classify_buf(Buf& b, const LocalAddrs& l, RxOffload off = {}) {
  return classify(b.data, b.len, b.cap, l, off);
}

// Classifies a copy of `f` and returns the drop reason (count when it was not dropped).
inline DropReason reason_of(const Bytes& f, const LocalAddrs& l, RxOffload off = {}) {
  Buf b(f);
  const Result r = classify_buf(b, l, off);
  return r.action == Action::drop ? r.reason : DropReason::count;
}

}  // namespace camp::net::test
