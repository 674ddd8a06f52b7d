// ARP for Ethernet / IPv4 (RFC 826): answer requests for our addresses in place.
#include <rte_arp.h>

#include "drivers/net/wire.h"

namespace camp::net::wire {

Verdict arp(uint8_t* frame, uint8_t* l3, uint16_t avail, const LocalAddrs& local) {
  if (avail < sizeof(rte_arp_hdr)) return drop(DropReason::arp_malformed);
  // rte_arp_hdr is 2-byte aligned and the frame may not be: work on a copy.
  rte_arp_hdr a;
  std::memcpy(&a, l3, sizeof(a));
  if (a.arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      a.arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || a.arp_hlen != 6 ||
      a.arp_plen != 4) {
    return drop(DropReason::arp_malformed);
  }
  const uint16_t op = rte_be_to_cpu_16(a.arp_opcode);
  if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) {
    return drop(DropReason::arp_unsupported_op);
  }
  uint8_t tip[4];
  std::memcpy(tip, &a.arp_data.arp_tip, 4);
  if (!local.has_ipv4(tip)) return drop(DropReason::arp_not_for_us);
  if (op == RTE_ARP_OP_REPLY) {
    Verdict r;
    r.action = Action::consumed;  // no neighbour table: replies are only counted
    return r;
  }
  a.arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  a.arp_data.arp_tha = a.arp_data.arp_sha;
  a.arp_data.arp_tip = a.arp_data.arp_sip;
  std::memcpy(&a.arp_data.arp_sha, local.mac, 6);
  std::memcpy(&a.arp_data.arp_sip, tip, 4);
  std::memcpy(l3, &a, sizeof(a));
  // To the requester's hardware address; padding after the ARP body is not sent back.
  write_eth(frame, a.arp_data.arp_tha.addr_bytes, local.mac, RTE_ETHER_TYPE_ARP);
  return reply(ReplyKind::arp, kEthLen + sizeof(rte_arp_hdr));
}

}  // namespace camp::net::wire
