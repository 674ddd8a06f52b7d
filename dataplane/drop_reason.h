// Why a received frame was dropped. Every drop is counted under exactly one reason, and the names
// below are what campctl, the JSON stats and rte_telemetry show.
#pragma once

#include <cstdint>
#include <string_view>

namespace camp {

#define CAMP_DROP_REASONS(X)                                                             \
  X(eth_truncated)          /* shorter than an Ethernet header */                        \
  X(rx_multiseg)            /* a chained mbuf that could not be made contiguous */      \
  X(eth_not_for_us)         /* destination MAC is neither ours nor broadcast/multicast */ \
  X(eth_unknown_type)       /* EtherType we do not handle (VLAN tags included) */         \
  X(arp_malformed)          /* truncated, or not Ethernet/IPv4 ARP */                     \
  X(arp_not_for_us)         /* target protocol address is not one of ours */             \
  X(arp_unsupported_op)     /* neither request nor reply */                               \
  X(ipv4_truncated)                                                                        \
  X(ipv4_bad_version)                                                                      \
  X(ipv4_bad_header_length)                                                                \
  X(ipv4_bad_total_length)                                                                 \
  X(ipv4_bad_checksum)                                                                     \
  X(ipv4_fragment)          /* fragments are not reassembled */                          \
  X(ipv4_not_for_us)                                                                       \
  X(ipv4_unknown_protocol)                                                                 \
  X(ipv6_truncated)                                                                        \
  X(ipv6_bad_version)                                                                      \
  X(ipv6_bad_payload_length)                                                               \
  X(ipv6_not_for_us)                                                                       \
  X(ipv6_unknown_next_header) /* extension headers and unknown protocols */              \
  X(icmp_truncated)                                                                        \
  X(icmp_bad_checksum)                                                                     \
  X(icmp_unsupported_type)                                                                 \
  X(icmpv6_truncated)                                                                      \
  X(icmpv6_bad_checksum)                                                                   \
  X(icmpv6_unsupported_type)                                                               \
  X(nd_malformed)           /* bad hop limit, code, target or option */                  \
  X(nd_not_for_us)          /* solicitation for an address that is not ours */          \
  X(udp_truncated)                                                                         \
  X(udp_bad_length)                                                                        \
  X(udp_bad_checksum)                                                                      \
  X(udp_port_closed)        /* no endpoint on that port */                               \
  X(endpoint_no_tx_room)    /* the endpoint had a reply but the tx batch was full */     \
  X(tx_ring_full)           /* the port would not take the packet */                     \
  X(no_mbuf)                /* the tx pool was empty */                                 \
  X(quic_header)            /* not a parsable QUIC packet header */                      \
  X(quic_unknown_connection) /* a packet for no connection of ours (answered by a reset) */ \
  X(quic_not_initial)       /* a long header other than Initial for no connection */    \
  X(quic_initial_too_small) /* a client Initial in a datagram under 1200 bytes */       \
  X(quic_short_dcid)        /* a client Initial with a DCID under 8 bytes */            \
  X(quic_bad_token)         /* an Initial whose token is invalid */                      \
  X(quic_no_connection_slot) /* the connection table is full */                          \
  X(quic_version)           /* another QUIC version (answered with Version Negotiation) */ \
  X(quic_undecryptable)     /* packets of a connection that did not decrypt */          \
  X(quic_duplicate)         /* a packet number received before */

enum class DropReason : uint8_t {
#define CAMP_X(name) name,
  CAMP_DROP_REASONS(CAMP_X)
#undef CAMP_X
  count
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::count);

constexpr std::string_view drop_reason_name(DropReason r) {
  constexpr std::string_view names[] = {
#define CAMP_X(name) #name,
      CAMP_DROP_REASONS(CAMP_X)
#undef CAMP_X
  };
  return static_cast<size_t>(r) < kDropReasonCount ? names[static_cast<size_t>(r)] : "unknown";
}

}  // namespace camp
