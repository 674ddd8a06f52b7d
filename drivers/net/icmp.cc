// ICMP echo (RFC 792), ICMPv6 echo (RFC 4443) and neighbour solicitation -> advertisement
// (RFC 4861), all answered in place in the received frame.
#include <rte_icmp.h>

#include "drivers/net/wire.h"

namespace camp::net::wire {

namespace {

constexpr uint8_t kHopLimit = 64;
constexpr uint8_t kIcmp6EchoRequest = 128;
constexpr uint8_t kIcmp6EchoReply = 129;
constexpr uint8_t kNdSolicit = 135;
constexpr uint8_t kNdAdvert = 136;
constexpr uint8_t kOptSourceLl = 1;
constexpr uint8_t kOptTargetLl = 2;
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;
constexpr uint16_t kNsLen = 24;  // ICMPv6 header, reserved, target
constexpr uint16_t kNaLen = 32;  // ... plus one 8-byte target link-layer address option

// Offsets in the ICMP / ICMPv6 header (rte_icmp_hdr covers the first 8 bytes of both).
constexpr size_t kType = offsetof(rte_icmp_hdr, icmp_type);
constexpr size_t kCode = offsetof(rte_icmp_hdr, icmp_code);
constexpr size_t kCksum = offsetof(rte_icmp_hdr, icmp_cksum);

// Complemented ICMPv6 checksum of `len` bytes at `l4` whose checksum field is zero.
uint16_t icmp6_cksum(const rte_ipv6_hdr* ip, const uint8_t* l4, uint16_t len) {
  return static_cast<uint16_t>(~add_sum(rte_raw_cksum(l4, len), rte_ipv6_phdr_cksum(ip, 0)));
}

// Turns the frame's Ethernet header around: to its sender, from us.
void eth_to_sender(uint8_t* frame, const LocalAddrs& local, uint16_t type) {
  uint8_t peer[6];
  std::memcpy(peer, frame + offsetof(rte_ether_hdr, src_addr), 6);
  write_eth(frame, peer, local.mac, type);
}

Verdict echo6(uint8_t* frame, rte_ipv6_hdr* ip, uint8_t* ic, uint16_t len, bool multicast,
             const LocalAddrs& local) {
  if (ic[kCode] != 0) return drop(DropReason::icmpv6_unsupported_type);
  // A reply must come from a unicast address; we do not pick one for group pings.
  if (multicast) return drop(DropReason::ipv6_not_for_us);
  uint8_t tmp[16];
  std::memcpy(tmp, ip->src_addr, 16);
  std::memcpy(ip->src_addr, ip->dst_addr, 16);
  std::memcpy(ip->dst_addr, tmp, 16);
  ip->hop_limits = kHopLimit;
  ic[kType] = kIcmp6EchoReply;
  store16(ic + kCksum, 0);
  store16(ic + kCksum, icmp6_cksum(ip, ic, len));
  eth_to_sender(frame, local, RTE_ETHER_TYPE_IPV6);
  return reply(ReplyKind::icmpv6_echo, static_cast<uint16_t>(kEthLen + kIpv6Len + len));
}

Verdict solicit(uint8_t* frame, uint16_t cap, rte_ipv6_hdr* ip, uint8_t* ic, uint16_t len,
               const LocalAddrs& local) {
  // RFC 4861 7.1.1 validation.
  if (ip->hop_limits != 255 || ic[kCode] != 0 || len < kNsLen) {
    return drop(DropReason::nd_malformed);
  }
  uint8_t target[16];
  std::memcpy(target, ic + 8, 16);
  if (target[0] == 0xff) return drop(DropReason::nd_malformed);  // multicast target
  bool source_ll = false;
  for (uint16_t o = kNsLen; o < len;) {
    if (len - o < 2) return drop(DropReason::nd_malformed);
    const uint16_t olen = static_cast<uint16_t>(ic[o + 1] * 8);
    if (olen == 0 || olen > len - o) return drop(DropReason::nd_malformed);
    source_ll |= ic[o] == kOptSourceLl;
    o = static_cast<uint16_t>(o + olen);
  }
  static constexpr uint8_t kUnspecified[16] = {};
  const bool dad = std::memcmp(ip->src_addr, kUnspecified, 16) == 0;
  // Duplicate address detection goes to the target's solicited-node group, without an address.
  if (dad && (source_ll || !is_solicited_node_of(ip->dst_addr, target))) {
    return drop(DropReason::nd_malformed);
  }
  if (!local.has_ipv6(target)) return drop(DropReason::nd_not_for_us);
  constexpr uint16_t kReplyLen = kEthLen + kIpv6Len + kNaLen;
  // Only reachable with a caller buffer smaller than any mbuf; no better reason fits.
  if (cap < kReplyLen) return drop(DropReason::endpoint_no_tx_room);

  uint8_t dst_mac[6];
  if (dad) {
    std::memcpy(dst_mac, kAllNodesMac, 6);
    std::memcpy(ip->dst_addr, kAllNodes, 16);
  } else {
    std::memcpy(dst_mac, frame + offsetof(rte_ether_hdr, src_addr), 6);
    std::memcpy(ip->dst_addr, ip->src_addr, 16);
  }
  write_eth(frame, dst_mac, local.mac, RTE_ETHER_TYPE_IPV6);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(kNaLen);
  ip->proto = kIcmpv6;
  ip->hop_limits = 255;  // RFC 4861 7.1.2: receivers drop anything else
  std::memcpy(ip->src_addr, target, 16);
  ic[kType] = kNdAdvert;
  ic[kCode] = 0;
  store16(ic + kCksum, 0);
  ic[4] = static_cast<uint8_t>((dad ? 0 : kNaSolicited) | kNaOverride);
  ic[5] = ic[6] = ic[7] = 0;
  std::memcpy(ic + 8, target, 16);
  ic[kNsLen] = kOptTargetLl;
  ic[kNsLen + 1] = 1;  // in units of 8 bytes
  std::memcpy(ic + kNsLen + 2, local.mac, 6);
  store16(ic + kCksum, icmp6_cksum(ip, ic, kNaLen));
  return reply(ReplyKind::nd_advert, kReplyLen);
}

}  // namespace

Verdict icmp4(uint8_t* frame, rte_ipv4_hdr* ip, uint16_t ihl, uint16_t icmp_len,
             const LocalAddrs& local) {
  if (icmp_len < sizeof(rte_icmp_hdr)) return drop(DropReason::icmp_truncated);
  uint8_t* ic = reinterpret_cast<uint8_t*>(ip) + ihl;
  if (!sum_ok(rte_raw_cksum(ic, icmp_len))) return drop(DropReason::icmp_bad_checksum);
  if (ic[kType] != RTE_IP_ICMP_ECHO_REQUEST || ic[kCode] != 0) {
    return drop(DropReason::icmp_unsupported_type);
  }
  if (ihl != kIpv4Len) {
    // Options (record route, timestamps) are not echoed: the reply gets a plain header.
    uint8_t* to = reinterpret_cast<uint8_t*>(ip) + kIpv4Len;
    std::memmove(to, ic, icmp_len);
    ic = to;
    ip->version_ihl = 0x45;
  }
  const uint32_t src = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = src;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4Len + icmp_len));
  ip->time_to_live = kHopLimit;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  ic[kType] = RTE_IP_ICMP_ECHO_REPLY;
  store16(ic + kCksum, 0);
  store16(ic + kCksum, static_cast<uint16_t>(~rte_raw_cksum(ic, icmp_len)));
  eth_to_sender(frame, local, RTE_ETHER_TYPE_IPV4);
  return reply(ReplyKind::icmp_echo, static_cast<uint16_t>(kEthLen + kIpv4Len + icmp_len));
}

Verdict icmp6(uint8_t* frame, uint16_t cap, rte_ipv6_hdr* ip, uint16_t plen, bool dst_multicast,
             const LocalAddrs& local) {
  // Every ICMPv6 message we look at (echo, ND) has at least 8 bytes.
  if (plen < sizeof(rte_icmp_hdr)) return drop(DropReason::icmpv6_truncated);
  uint8_t* ic = reinterpret_cast<uint8_t*>(ip) + kIpv6Len;
  if (!sum_ok(add_sum(rte_raw_cksum(ic, plen), rte_ipv6_phdr_cksum(ip, 0)))) {
    return drop(DropReason::icmpv6_bad_checksum);
  }
  switch (ic[kType]) {
    case kIcmp6EchoRequest:
      return echo6(frame, ip, ic, plen, dst_multicast, local);
    case kNdSolicit:
      return solicit(frame, cap, ip, ic, plen, local);
    default:
      return drop(DropReason::icmpv6_unsupported_type);  // RA, NA, MLD, errors, ...
  }
}

}  // namespace camp::net::wire
