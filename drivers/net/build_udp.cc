// Ethernet + IPv4/IPv6 + UDP headers in front of an endpoint's payload (the transmit hot path).
//
// Checksums are summed from the values written rather than read back from the frame: reading
// just-stored header bytes with wide loads stalls store forwarding, and the sums equal what
// rte_ipv4_cksum, rte_ipv4/ipv6_phdr_cksum and rte_ipv4/ipv6_udptcp_cksum compute (tested).
#include <rte_udp.h>

#include "drivers/net/udp4_fast.h"
#include "drivers/net/wire.h"

namespace camp::net {

using namespace wire;

namespace {

constexpr uint8_t kTtl = 64;

inline uint64_t be(uint16_t v) { return rte_cpu_to_be_16(v); }

}  // namespace

uint16_t build_udp(uint8_t* frame, uint16_t payload_len, const Tuple& t, const uint8_t src_mac[6],
                   bool ip_offload, bool l4_offload) {
  // The common case has its own straight-line version, shared with the DPDK worker's fast path.
  if (t.local.family != 6 && !ip_offload && !l4_offload) {
    return build_udp4(frame, payload_len, t, src_mac, payload_len);  // nothing past the payload
  }
  const bool v6 = t.local.family == 6;
  const uint16_t hr = udp_headroom(t.local.family);
  const uint16_t udp_len = static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_len);
  write_eth(frame, t.next_hop_mac, src_mac, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);

  // Source and destination addresses, shared by the IPv4 header and the UDP pseudo-header.
  uint64_t addr_sum;
  if (v6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + kEthLen);  // packed: any alignment
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(udp_len);
    ip->proto = kUdp;
    ip->hop_limits = kTtl;
    std::memcpy(ip->src_addr, t.local.bytes, 16);
    std::memcpy(ip->dst_addr, t.remote.bytes, 16);
    addr_sum = sum_bytes(t.local.bytes, 16) + sum_bytes(t.remote.bytes, 16);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + kEthLen);
    const uint16_t total = static_cast<uint16_t>(kIpv4Len + udp_len);
    ip->version_ihl = 0x45;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = 0;  // DF set: never fragmented, so the ID carries nothing (RFC 6864)
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = kTtl;
    ip->next_proto_id = kUdp;
    std::memcpy(&ip->src_addr, t.local.bytes, 4);
    std::memcpy(&ip->dst_addr, t.remote.bytes, 4);
    addr_sum = sum_bytes(t.local.bytes, 4) + sum_bytes(t.remote.bytes, 4);
    uint16_t hc = 0;  // left zero for the NIC
    if (!ip_offload) {
      hc = static_cast<uint16_t>(~fold16(addr_sum + be(0x4500) + be(total) +
                                         be(RTE_IPV4_HDR_DF_FLAG) + be(kTtl << 8 | kUdp)));
    }
    store16(frame + kEthLen + offsetof(rte_ipv4_hdr, hdr_checksum), hc);
  }

  uint8_t* u = frame + hr - sizeof(rte_udp_hdr);
  store_be16(u + offsetof(rte_udp_hdr, src_port), t.local_port);
  store_be16(u + offsetof(rte_udp_hdr, dst_port), t.remote_port);
  store_be16(u + offsetof(rte_udp_hdr, dgram_len), udp_len);
  const uint64_t pseudo = addr_sum + be(kUdp) + be(udp_len);
  uint16_t cksum;
  if (l4_offload) {
    cksum = fold16(pseudo);  // the NIC adds header and payload, then complements
  } else {
    const uint64_t s = sum_bytes(u + sizeof(rte_udp_hdr), payload_len,
                                 pseudo + be(t.local_port) + be(t.remote_port) + be(udp_len));
    cksum = static_cast<uint16_t>(~fold16(s));
    if (cksum == 0) cksum = 0xffff;  // zero would mean "no checksum" (RFC 768)
  }
  store16(u + offsetof(rte_udp_hdr, dgram_cksum), cksum);
  return static_cast<uint16_t>(hr + payload_len);
}

}  // namespace camp::net
