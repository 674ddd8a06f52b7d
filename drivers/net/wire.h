// Private helpers shared by the l2l3 translation units: unaligned loads and stores, Internet
// checksum folding, and the entry points of the less common protocols (ARP, ICMP, ND).
// Frames may start at any byte offset, so nothing here dereferences a multi-byte field through a
// cast pointer unless the DPDK struct is packed (alignment 1).
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <cstdint>
#include <cstring>

#include "drivers/net/l2l3.h"

namespace camp::net::wire {

inline constexpr uint16_t kEthLen = RTE_ETHER_HDR_LEN;      // 14
inline constexpr uint16_t kIpv4Len = sizeof(rte_ipv4_hdr);  // 20, without options
inline constexpr uint16_t kIpv6Len = sizeof(rte_ipv6_hdr);  // 40
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kUdp = 17;

inline uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;  // network order
}
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t load_be16(const uint8_t* p) { return rte_be_to_cpu_16(load16(p)); }
inline void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void store_be16(uint8_t* p, uint16_t v) { store16(p, rte_cpu_to_be_16(v)); }

// One's complement sum (RFC 1071) of n bytes at p into a 64-bit accumulator, 4 bytes at a time:
// summing 32-bit words and folding later equals summing 16-bit words, and the wide accumulator
// cannot overflow for any frame. Same byte-order convention as rte_raw_cksum (native words, an
// odd tail byte at the low address), so results mix freely with DPDK's helpers. Reads exactly
// [p, p + n). The caller's region must start at an even offset of the checksummed stream.
inline uint64_t sum_bytes(const void* data, size_t n, uint64_t acc = 0) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t acc2 = 0;  // a second chain halves the dependency on acc
  for (; n >= 16; p += 16, n -= 16) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, p + 8, 8);
    acc += (x & 0xffffffffu) + (x >> 32);
    acc2 += (y & 0xffffffffu) + (y >> 32);
  }
  acc += acc2;
  if (n & 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    acc += (x & 0xffffffffu) + (x >> 32);
    p += 8;
  }
  if (n & 4) {
    acc += load32(p);
    p += 4;
  }
  if (n & 2) {
    acc += load16(p);
    p += 2;
  }
  if (n & 1) {
    uint16_t last = 0;
    std::memcpy(&last, p, 1);
    acc += last;
  }
  return acc;
}

// Folds an accumulator to the non-complemented 16-bit sum (what rte_raw_cksum returns).
inline uint16_t fold16(uint64_t a) {
  a = (a & 0xffffffffu) + (a >> 32);
  a = (a & 0xffffffffu) + (a >> 32);
  a = (a & 0xffff) + (a >> 16);
  a = (a & 0xffff) + (a >> 16);
  return static_cast<uint16_t>(a);
}

// Adds two non-complemented 16-bit one's complement sums (end-around carry).
inline uint16_t add_sum(uint16_t a, uint16_t b) {
  const uint32_t s = uint32_t{a} + b;
  return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

// True when the one's complement sum over a region that includes its checksum field is valid.
inline bool sum_ok(uint16_t folded) { return folded == 0xffff; }

// The Ethernet header of a reply: destination = dst, source = ours.
inline void write_eth(uint8_t* frame, const uint8_t dst[6], const uint8_t src[6], uint16_t type) {
  std::memcpy(frame + offsetof(rte_ether_hdr, dst_addr), dst, 6);
  std::memcpy(frame + offsetof(rte_ether_hdr, src_addr), src, 6);
  store_be16(frame + offsetof(rte_ether_hdr, ether_type), type);
}

inline Verdict drop(DropReason r) {
  Verdict res;
  res.action = Action::drop;
  res.reason = r;
  return res;
}

inline Verdict reply(ReplyKind k, uint16_t len) {
  Verdict res;
  res.action = Action::reply;
  res.reply = k;
  res.reply_len = len;
  return res;
}

// ff02::1:ffXX:XXXX for the low 24 bits of addr.
inline bool is_solicited_node_of(const uint8_t m[16], const uint8_t addr[16]) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  return std::memcmp(m, kPrefix, 13) == 0 && std::memcmp(m + 13, addr + 13, 3) == 0;
}

inline constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};

// Protocol handlers below the Ethernet / IP dispatch in l2l3.cc. `l3` points at the ARP / IP
// header; lengths have been checked as documented at each.

// avail: bytes from the ARP header to the end of the frame.
Verdict arp(uint8_t* frame, uint8_t* l3, uint16_t avail, const LocalAddrs& local);

// ICMP message of icmp_len >= 0 bytes (IP total length minus header), header already validated.
Verdict icmp4(uint8_t* frame, rte_ipv4_hdr* ip, uint16_t ihl, uint16_t icmp_len,
             const LocalAddrs& local);

// ICMPv6 message of the IPv6 payload length; dst_multicast: the destination was ff02::1 or one
// of our solicited-node groups rather than one of our addresses.
Verdict icmp6(uint8_t* frame, uint16_t cap, rte_ipv6_hdr* ip, uint16_t plen, bool dst_multicast,
             const LocalAddrs& local);

}  // namespace camp::net::wire
