// Ethernet, IPv4, IPv6 and UDP receive path, and the local address table. ARP, ICMP and ND live
// in arp.cc / icmp.cc; building outgoing UDP frames in build_udp.cc.
//
// The IPv4/UDP datagram to our port is the per-packet hot path: it is written as a straight line
// with the common case (one address, IHL 5, checksum offload or a short payload) tested first.
#include "drivers/net/l2l3.h"

#include <rte_ip.h>
#include <rte_udp.h>

#include "drivers/net/wire.h"

namespace camp::net {

using namespace wire;

bool LocalAddrs::add_ipv4(const uint8_t a[4]) {
  if (has_ipv4(a)) return true;
  if (n_ipv4 >= kMaxAddrs) return false;
  std::memcpy(ipv4[n_ipv4++], a, 4);
  return true;
}

bool LocalAddrs::add_ipv6(const uint8_t a[16]) {
  if (has_ipv6(a)) return true;
  if (n_ipv6 >= kMaxAddrs) return false;
  std::memcpy(ipv6[n_ipv6++], a, 16);
  return true;
}

bool LocalAddrs::add_link_local() {
  // RFC 4291 appendix A: the universal/local bit of the MAC is inverted, ff:fe in the middle.
  const uint8_t a[16] = {
      0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<uint8_t>(mac[0] ^ 0x02),
      mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
  return add_ipv6(a);
}

bool LocalAddrs::has_ipv4(const uint8_t a[4]) const {
  const uint32_t v = load32(a);
  for (uint8_t i = 0; i < n_ipv4 && i < kMaxAddrs; ++i) {
    if (load32(ipv4[i]) == v) return true;
  }
  return false;
}

bool LocalAddrs::has_ipv6(const uint8_t a[16]) const {
  for (uint8_t i = 0; i < n_ipv6 && i < kMaxAddrs; ++i) {
    if (std::memcmp(ipv6[i], a, 16) == 0) return true;
  }
  return false;
}

namespace {

// A 33:33:xx:xx:xx:xx destination we listen on: all-nodes, or the solicited-node group
// (33:33:ff + low 24 bits) of one of our IPv6 addresses.
bool ipv6_mcast_mac_ours(const uint8_t* d, const LocalAddrs& local) {
  if (std::memcmp(d, kAllNodesMac, 6) == 0) return true;
  if (d[2] != 0xff) return false;
  for (uint8_t i = 0; i < local.n_ipv6 && i < kMaxAddrs; ++i) {
    if (std::memcmp(d + 3, local.ipv6[i] + 13, 3) == 0) return true;
  }
  return false;
}

// Fills the caller's datagram. `l3_dst`/`l3_src` are the IP header's addresses.
inline Verdict deliver(const uint8_t* frame, const uint8_t* udp, uint16_t udp_len, uint8_t family,
                       const uint8_t* l3_src, const uint8_t* l3_dst, const LocalAddrs& local,
                       RxDatagram* out) {
  Verdict r;
  r.action = Action::udp;
  RxDatagram& d = *out;
  d.data = udp + sizeof(rte_udp_hdr);
  d.len = static_cast<uint16_t>(udp_len - sizeof(rte_udp_hdr));
  const size_t n = family == 4 ? 4 : 16;
  d.tuple.local.family = family;
  std::memcpy(d.tuple.local.bytes, l3_dst, n);
  d.tuple.remote.family = family;
  std::memcpy(d.tuple.remote.bytes, l3_src, n);
  d.tuple.local_port = load_be16(udp + offsetof(rte_udp_hdr, dst_port));
  d.tuple.remote_port = load_be16(udp + offsetof(rte_udp_hdr, src_port));
  d.tuple.iface = local.iface;
  std::memcpy(d.tuple.next_hop_mac, frame + offsetof(rte_ether_hdr, src_addr), 6);
  return r;
}

// Pseudo-header sums (what rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum compute), unfolded so the
// payload sum continues in the same accumulator.
inline uint64_t pseudo_sum4(const rte_ipv4_hdr* ip, uint16_t l4_len) {
  return sum_bytes(&ip->src_addr, 8) + rte_cpu_to_be_16(kUdp) + rte_cpu_to_be_16(l4_len);
}
inline uint64_t pseudo_sum6(const rte_ipv6_hdr* ip, uint16_t l4_len) {
  return sum_bytes(ip->src_addr, 32) + rte_cpu_to_be_16(kUdp) + rte_cpu_to_be_16(l4_len);
}

Verdict udp4(uint8_t* frame, rte_ipv4_hdr* ip, uint16_t ihl, uint16_t l4_len,
             const LocalAddrs& local, RxOffload off, RxDatagram* out) {
  if (l4_len < sizeof(rte_udp_hdr)) return drop(DropReason::udp_truncated);
  const uint8_t* u = reinterpret_cast<const uint8_t*>(ip) + ihl;
  // The UDP length must match the IP payload: the pseudo-header sum uses the IP one.
  if (load_be16(u + offsetof(rte_udp_hdr, dgram_len)) != l4_len) {
    return drop(DropReason::udp_bad_length);
  }
  // The port before the checksum: traffic for closed ports costs no summing.
  if (load_be16(u + offsetof(rte_udp_hdr, dst_port)) != local.udp_port) {
    return drop(DropReason::udp_port_closed);
  }
  if (off.l4 != CksumState::good) {
    if (off.l4 == CksumState::bad) return drop(DropReason::udp_bad_checksum);
    // Zero means the sender did not compute one (IPv4 only).
    if (load16(u + offsetof(rte_udp_hdr, dgram_cksum)) != 0 &&
        !sum_ok(fold16(sum_bytes(u, l4_len, pseudo_sum4(ip, l4_len))))) {
      return drop(DropReason::udp_bad_checksum);
    }
  }
  const uint8_t* ipb = reinterpret_cast<const uint8_t*>(ip);
  return deliver(frame, u, l4_len, 4, ipb + offsetof(rte_ipv4_hdr, src_addr),
                 ipb + offsetof(rte_ipv4_hdr, dst_addr), local, out);
}

Verdict ipv4(uint8_t* frame, uint16_t len, const LocalAddrs& local, RxOffload off,
             RxDatagram* out) {
  const uint16_t avail = len - kEthLen;
  if (avail < kIpv4Len) return drop(DropReason::ipv4_truncated);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + kEthLen);  // packed: any alignment
  const uint8_t vihl = ip->version_ihl;
  uint16_t ihl = kIpv4Len;
  if (vihl != 0x45) [[unlikely]] {  // options, or garbage
    if ((vihl >> 4) != 4) return drop(DropReason::ipv4_bad_version);
    ihl = static_cast<uint16_t>((vihl & 0x0f) * 4);
    if (ihl < kIpv4Len) return drop(DropReason::ipv4_bad_header_length);
    if (ihl > avail) return drop(DropReason::ipv4_truncated);
  }
  const uint16_t tot = rte_be_to_cpu_16(ip->total_length);
  // Longer frames are Ethernet padding; shorter ones lost bytes.
  if (tot < ihl || tot > avail) return drop(DropReason::ipv4_bad_total_length);
  if (off.ip != CksumState::good) {
    if (off.ip == CksumState::bad) return drop(DropReason::ipv4_bad_checksum);
    // A constant length for the usual header lets the sum unroll.
    const uint64_t s = ihl == kIpv4Len ? sum_bytes(ip, kIpv4Len) : sum_bytes(ip, ihl);
    if (!sum_ok(fold16(s))) return drop(DropReason::ipv4_bad_checksum);
  }
  if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
    return drop(DropReason::ipv4_fragment);
  }
  const uint8_t* dst = frame + kEthLen + offsetof(rte_ipv4_hdr, dst_addr);
  // The usual port has one address: compare it inline before walking the table.
  if (!(local.n_ipv4 != 0 && load32(dst) == load32(local.ipv4[0])) && !local.has_ipv4(dst)) {
    return drop(DropReason::ipv4_not_for_us);
  }
  const uint16_t l4_len = tot - ihl;
  if (ip->next_proto_id == kUdp) [[likely]] {
    return udp4(frame, ip, ihl, l4_len, local, off, out);
  }
  if (ip->next_proto_id == kIcmp) return icmp4(frame, ip, ihl, l4_len, local);
  return drop(DropReason::ipv4_unknown_protocol);
}

Verdict udp6(uint8_t* frame, rte_ipv6_hdr* ip, uint16_t plen, const LocalAddrs& local,
             RxOffload off, RxDatagram* out) {
  if (plen < sizeof(rte_udp_hdr)) return drop(DropReason::udp_truncated);
  const uint8_t* u = reinterpret_cast<const uint8_t*>(ip) + kIpv6Len;
  if (load_be16(u + offsetof(rte_udp_hdr, dgram_len)) != plen) {
    return drop(DropReason::udp_bad_length);
  }
  if (load_be16(u + offsetof(rte_udp_hdr, dst_port)) != local.udp_port) {
    return drop(DropReason::udp_port_closed);
  }
  if (off.l4 != CksumState::good) {
    // RFC 8200 8.1: a zero UDP checksum is invalid over IPv6.
    if (off.l4 == CksumState::bad || load16(u + offsetof(rte_udp_hdr, dgram_cksum)) == 0 ||
        !sum_ok(fold16(sum_bytes(u, plen, pseudo_sum6(ip, plen))))) {
      return drop(DropReason::udp_bad_checksum);
    }
  }
  return deliver(frame, u, plen, 6, ip->src_addr, ip->dst_addr, local, out);
}

Verdict ipv6(uint8_t* frame, uint16_t len, uint16_t cap, const LocalAddrs& local, RxOffload off,
             RxDatagram* out) {
  const uint16_t avail = len - kEthLen;
  if (avail < kIpv6Len) return drop(DropReason::ipv6_truncated);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + kEthLen);  // packed: any alignment
  if ((frame[kEthLen] >> 4) != 6) return drop(DropReason::ipv6_bad_version);
  const uint16_t plen = rte_be_to_cpu_16(ip->payload_len);
  if (plen > avail - kIpv6Len) return drop(DropReason::ipv6_bad_payload_length);
  bool multicast = false;
  if (!local.has_ipv6(ip->dst_addr)) {
    multicast = std::memcmp(ip->dst_addr, kAllNodes, 16) == 0;
    for (uint8_t i = 0; !multicast && i < local.n_ipv6 && i < kMaxAddrs; ++i) {
      multicast = is_solicited_node_of(ip->dst_addr, local.ipv6[i]);
    }
    if (!multicast) return drop(DropReason::ipv6_not_for_us);
  }
  if (ip->proto == kUdp) {
    // The endpoint answers from the address it was reached on, which must be unicast.
    if (multicast) return drop(DropReason::ipv6_not_for_us);
    return udp6(frame, ip, plen, local, off, out);
  }
  if (ip->proto == kIcmpv6) return icmp6(frame, cap, ip, plen, multicast, local);
  return drop(DropReason::ipv6_unknown_next_header);
}

}  // namespace

Verdict classify(uint8_t* frame, uint16_t len, uint16_t cap, const LocalAddrs& local,
                 RxOffload off, RxDatagram* out) {
  if (len < kEthLen) return drop(DropReason::eth_truncated);
  // Destination MAC as 4 + 2 bytes: the frame may be at any alignment.
  const uint32_t d4 = load32(frame);
  const uint16_t d2 = load16(frame + 4);
  if (!(d4 == load32(local.mac) && d2 == load16(local.mac + 4))) [[unlikely]] {
    const bool broadcast = d4 == 0xffffffffu && d2 == 0xffff;
    const bool v6mcast = frame[0] == 0x33 && frame[1] == 0x33 && ipv6_mcast_mac_ours(frame, local);
    if (!broadcast && !v6mcast) return drop(DropReason::eth_not_for_us);
  }
  const uint16_t type = load16(frame + offsetof(rte_ether_hdr, ether_type));
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) [[likely]] {
    return ipv4(frame, len, local, off, out);
  }
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) return ipv6(frame, len, cap, local, off, out);
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
    return arp(frame, frame + kEthLen, len - kEthLen, local);
  }
  return drop(DropReason::eth_unknown_type);  // VLAN tags included: ports strip or drop them
}

}  // namespace camp::net
