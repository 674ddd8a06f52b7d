// The per-packet fast path for the common datagram: Ethernet to our MAC, IPv4 without options,
// not fragmented, UDP to our port on one of our first kFastAddrs addresses. Inline so the DPDK
// worker's burst loop has no call per packet. Anything else (and every malformed frame) is left
// to classify(), which decides the same way and names the drop reason, so the fast path only
// ever says "a datagram, here it is" or "ask classify" (tests/net/fast_path_test.cc checks that
// it agrees with classify on valid, mutated and random frames).
//
// The first 40 bytes are loaded as five 64-bit words and every fixed-position check is a masked
// compare against a word built once per burst; the same words feed both checksums, so the IPv4
// header is never re-read and the UDP pseudo-header costs three additions.
#pragma once

#include <rte_udp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <bit>

#include "drivers/net/wire.h"

namespace camp::net {

inline constexpr unsigned kFastAddrs = 4;

// The byte positions below (w1 >> 48 is frame bytes 14..15, ...) are those of a little-endian
// load; word() builds the constants for any order, the shifts do not.
static_assert(std::endian::native == std::endian::little, "fast path assumes little endian");

namespace fast {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// A word as an 8-byte load from the frame sees it (byte 0 at the lowest address, any host order).
constexpr uint64_t word(std::array<uint8_t, 8> b) { return std::bit_cast<uint64_t>(b); }

// The two 32-bit halves of x added: 33 bits, so thousands of them fit in a 64-bit accumulator.
// Congruent to x modulo 0xffff, like every partial sum here (2^16 = 1 mod 0xffff), which is all
// a one's complement sum is.
inline uint64_t halves(uint64_t x) { return (x & 0xffffffffu) + (x >> 32); }

// wire::sum_bytes for a region whose padding to whole 8-byte words may be read: reads
// [p, p + round_up(n, 8)) and counts only [p, p + n) (the extra bytes are masked off before they
// are added). Same convention as sum_bytes (native words, an odd tail byte at the low address).
inline uint64_t sum_padded(const uint8_t* p, size_t n, uint64_t acc) {
  if (n == 0) return acc;
  uint64_t acc2 = 0;  // a second chain halves the dependency on acc
  for (; n > 32; p += 32, n -= 32) {
    acc += halves(load64(p)) + halves(load64(p + 8));
    acc2 += halves(load64(p + 16)) + halves(load64(p + 24));
  }
  // Short datagrams (the common small reply) take at most three predictable branches here.
  if (n > 16) {
    acc2 += halves(load64(p)) + halves(load64(p + 8));
    p += 16;
    n -= 16;
  }
  if (n > 8) {
    acc2 += halves(load64(p));
    p += 8;
    n -= 8;
  }
  return acc + acc2 + halves(load64(p) & (~uint64_t{0} >> (64 - 8 * n)));  // n in 1..8
}

// For a nonzero unfolded sum x: true when it folds to 0xffff (a region including its checksum
// field verifies). fold16(x) is x mod 0xffff, written 0xffff instead of 0, so this is a
// divisibility test, which the compiler does with one multiplication.
inline bool sum_verifies(uint64_t x) { return x % 0xffff == 0; }

// ~fold16(x) for a nonzero unfolded sum x: the checksum field that makes the region verify.
inline uint16_t checksum_of(uint64_t x) {
  const uint64_t r = x % 0xffff;
  return r == 0 ? 0 : static_cast<uint16_t>(~r);
}

// True when dst is one of a[0..4) (the scalar reference of addr_match).
inline bool addr_match_scalar(uint32_t dst, const uint32_t a[4]) {
  return (dst == a[0]) | (dst == a[1]) | (dst == a[2]) | (dst == a[3]);
}
// The same with one 4-lane compare where SSE2 exists (every x86-64).
inline bool addr_match(uint32_t dst, const uint32_t a[4]) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
  return _mm_movemask_epi8(_mm_cmpeq_epi32(v, _mm_set1_epi32(static_cast<int>(dst)))) != 0;
#else
  return addr_match_scalar(dst, a);
#endif
}

}  // namespace fast

// What the fast path compares against, taken from LocalAddrs once per burst: loads from a struct
// the loop also writes through byte pointers could not be hoisted by the compiler.
struct Udp4Fast {
  uint64_t mac_word = 0;   // frame bytes 0..7 as loaded: our MAC in 0..5
  uint64_t port_word = 0;  // frame bytes 32..39: our UDP port (network order) in 4..5
  uint32_t addr[kFastAddrs] = {};  // our first IPv4 addresses, padded with the first
  uint16_t iface = 0;
  bool enabled = false;  // false without an IPv4 address: everything goes to classify()

  explicit Udp4Fast(const LocalAddrs& l) {
    const uint8_t* m = l.mac;
    mac_word = fast::word({m[0], m[1], m[2], m[3], m[4], m[5], 0, 0});
    port_word = fast::word({0, 0, 0, 0, static_cast<uint8_t>(l.udp_port >> 8),
                            static_cast<uint8_t>(l.udp_port), 0, 0});
    iface = l.iface;
    enabled = l.n_ipv4 != 0;
    for (unsigned i = 0; i < kFastAddrs; ++i) {
      addr[i] = wire::load32(l.ipv4[i < l.n_ipv4 && i < kMaxAddrs ? i : 0]);
    }
  }
};

// Verifies `frame` (len bytes, of which `readable` >= len may be read: the rest of the buffer)
// as the common IPv4/UDP datagram for us. True: the frame passed every check classify() makes
// (IPv4 header checksum, and the UDP checksum unless it is 0, either skipped only where `off`
// vouches for it; lengths; MAC, address, port) and *out holds exactly what classify() would
// write (tuple, data, len; room and buf_id untouched). False: *out is untouched; classify() must
// decide. Reads only [frame, frame + readable), and beyond len only to mask bytes off a word.
inline bool classify_udp4_fast(const uint8_t* frame, uint16_t len, size_t readable,
                               const Udp4Fast& f, RxOffload off, RxDatagram* out) {
  using namespace wire;
  using fast::load64;
  using fast::word;
  constexpr uint16_t kHdr = kEthLen + kIpv4Len + sizeof(rte_udp_hdr);  // 42
  if (len < kHdr || !f.enabled) [[unlikely]] return false;
  const uint64_t w0 = load64(frame);       // destination MAC, source MAC 0..1
  const uint64_t w1 = load64(frame + 8);   // source MAC 2..5, EtherType, version/IHL, TOS
  const uint64_t w2 = load64(frame + 16);  // total length, ID, flags/fragment, TTL, protocol
  const uint64_t w3 = load64(frame + 24);  // header checksum, source, destination 0..1
  const uint64_t w4 = load64(frame + 32);  // destination 2..3, ports, UDP length
  // EtherType IPv4, version 4 with IHL 5; no MF flag or fragment offset, protocol UDP.
  constexpr uint64_t kW1 = word({0, 0, 0, 0, 0x08, 0x00, 0x45, 0});
  constexpr uint64_t kW1Mask = word({0, 0, 0, 0, 0xff, 0xff, 0xff, 0});
  constexpr uint64_t kW2 = word({0, 0, 0, 0, 0, 0, 0, kUdp});
  constexpr uint64_t kW2Mask = word({0, 0, 0, 0, 0x3f, 0xff, 0, 0xff});
  constexpr uint64_t kMacMask = word({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0});
  constexpr uint64_t kPortMask = word({0, 0, 0, 0, 0xff, 0xff, 0, 0});
  uint64_t bad = ((w0 ^ f.mac_word) & kMacMask) | ((w1 ^ kW1) & kW1Mask) |
                 ((w2 ^ kW2) & kW2Mask) | ((w4 ^ f.port_word) & kPortMask);
  const uint16_t tot_be = static_cast<uint16_t>(w2);
  const uint16_t ulen_be = static_cast<uint16_t>(w4 >> 48);
  const uint32_t tot = rte_be_to_cpu_16(tot_be);
  const uint32_t ulen = rte_be_to_cpu_16(ulen_be);
  // Total length within the frame (longer frames are padding) and room for the UDP header; the
  // UDP length equal to the IP payload length.
  bad |= static_cast<uint64_t>(tot - (kHdr - kEthLen) > uint32_t{len} - kHdr);
  bad |= ulen ^ (tot - kIpv4Len);
  const uint32_t dst = load32(frame + 30);
  bad |= static_cast<uint64_t>(!fast::addr_match(dst, f.addr));
  bad |= static_cast<uint64_t>((off.ip == CksumState::bad) | (off.l4 == CksumState::bad));
  if (bad != 0) [[unlikely]] return false;

  // IPv4 header, bytes 14..33: nonzero (version/IHL is 0x45), so sum_verifies applies.
  if (off.ip != CksumState::good &&
      !fast::sum_verifies((w1 >> 48) + fast::halves(w2) + fast::halves(w3) + (w4 & 0xffff))) {
    return false;
  }
  const uint8_t* u = frame + kEthLen + kIpv4Len;
  if (off.l4 != CksumState::good && load16(u + offsetof(rte_udp_hdr, dgram_cksum)) != 0) {
    // Pseudo-header (addresses = bytes 26..33, protocol, UDP length), then the UDP header's
    // first six bytes from w4 and everything after from memory: bytes 40 .. 34 + ulen.
    const uint64_t head = (w3 >> 16) + (w4 & 0xffff) + RTE_BE16(kUdp) + ulen_be + (w4 >> 16);
    const size_t rest = ulen - 6;
    const uint8_t* p = frame + 40;
    const uint64_t s = readable >= 40 + ((rest + 7) & ~size_t{7})
                           ? fast::sum_padded(p, rest, head)
                           : sum_bytes(p, rest, head);  // the buffer ends with the frame
    if (!fast::sum_verifies(s)) return false;  // nonzero: the protocol term is
  }

  RxDatagram& d = *out;
  d.data = u + sizeof(rte_udp_hdr);
  d.len = static_cast<uint16_t>(ulen - sizeof(rte_udp_hdr));
  d.tuple.local.family = 4;
  std::memcpy(d.tuple.local.bytes, &dst, 4);
  d.tuple.remote.family = 4;
  std::memcpy(d.tuple.remote.bytes, frame + 26, 4);
  d.tuple.local_port = load_be16(u + offsetof(rte_udp_hdr, dst_port));
  d.tuple.remote_port = load_be16(u + offsetof(rte_udp_hdr, src_port));
  d.tuple.iface = f.iface;
  std::memcpy(d.tuple.next_hop_mac, frame + 6, 6);
  return true;
}

// build_udp() for IPv4 with both checksums in software: Ethernet, IPv4 (TTL 64, DF, ID 0) and UDP
// headers into frame[0 .. 42) in front of payload_len bytes already at frame + 42, of which
// `readable` >= payload_len may be read (the payload is summed in whole words when its padding
// is readable). Checksums are summed from the values written (reading the just-stored header
// back would stall on store forwarding); only the payload is read. Returns the frame length.
inline uint16_t build_udp4(uint8_t* frame, uint16_t payload_len, const Tuple& t,
                           const uint8_t src_mac[6], size_t readable) {
  using namespace wire;
  constexpr uint16_t kTtlProto = 64 << 8 | kUdp;
  const uint16_t udp_len = static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_len);
  const uint16_t total = static_cast<uint16_t>(kIpv4Len + udp_len);
  const uint32_t src = load32(t.local.bytes);
  const uint32_t dst = load32(t.remote.bytes);
  const uint16_t sport = rte_cpu_to_be_16(t.local_port);
  const uint16_t dport = rte_cpu_to_be_16(t.remote_port);
  const uint16_t ulen_be = rte_cpu_to_be_16(udp_len);
  const uint16_t total_be = rte_cpu_to_be_16(total);
  const uint64_t addrs = uint64_t{src} + dst;
  // Version/IHL, TOS, flags and TTL/protocol are constants: their sum folds at compile time.
  // Both sums below are nonzero (they hold these constants), as checksum_of requires.
  constexpr uint64_t kFixed = static_cast<uint64_t>(RTE_BE16(0x4500)) +
                              RTE_BE16(RTE_IPV4_HDR_DF_FLAG) + RTE_BE16(kTtlProto);
  const uint16_t hc = fast::checksum_of(addrs + kFixed + total_be);
  const uint8_t* payload = frame + kEthLen + kIpv4Len + sizeof(rte_udp_hdr);
  const uint64_t head = addrs + RTE_BE16(kUdp) + 2 * uint64_t{ulen_be} + sport + dport;
  const uint64_t us = readable >= ((size_t{payload_len} + 7) & ~size_t{7})
                          ? fast::sum_padded(payload, payload_len, head)
                          : sum_bytes(payload, payload_len, head);
  uint16_t uc = fast::checksum_of(us);
  if (uc == 0) uc = 0xffff;  // zero would mean "no checksum" (RFC 768)

  std::memcpy(frame, t.next_hop_mac, 6);
  std::memcpy(frame + 6, src_mac, 6);
  // Bytes 12..19: EtherType, version/IHL, TOS, total length, ID 0 (DF set: RFC 6864).
  const uint64_t w12 = fast::word({0x08, 0x00, 0x45, 0, static_cast<uint8_t>(total >> 8),
                                   static_cast<uint8_t>(total), 0, 0});
  std::memcpy(frame + 12, &w12, 8);
  constexpr uint32_t kFlagsTtlProto =
      static_cast<uint32_t>(fast::word({RTE_IPV4_HDR_DF_FLAG >> 8, 0, 64, kUdp, 0, 0, 0, 0}));
  std::memcpy(frame + 20, &kFlagsTtlProto, 4);
  store16(frame + 24, hc);
  std::memcpy(frame + 26, &src, 4);
  std::memcpy(frame + 30, &dst, 4);
  store16(frame + 34, sport);
  store16(frame + 36, dport);
  store16(frame + 38, ulen_be);
  store16(frame + 40, uc);
  return static_cast<uint16_t>(kEthLen + kIpv4Len + udp_len);
}

}  // namespace camp::net
