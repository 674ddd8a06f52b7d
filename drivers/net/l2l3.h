// Ethernet / ARP / IPv4 / IPv6 / ICMP / ICMPv6 neighbour discovery / UDP for the workers.
// Works on plain byte buffers (a DPDK worker passes rte_pktmbuf_mtod), using DPDK's header
// structs and checksum helpers, so it is tested without EAL or mbufs. Never reads past `len`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/endpoint.h"

namespace camp::net {

inline constexpr size_t kMaxAddrs = 8;

// The addresses a port answers for. IPv6 link-local (fe80::/64 from the MAC, EUI-64) is added
// by add_link_local(); ND and echo answer for every address listed.
struct LocalAddrs {
  uint8_t mac[6] = {};
  uint8_t ipv4[kMaxAddrs][4] = {};
  uint8_t n_ipv4 = 0;
  uint8_t ipv6[kMaxAddrs][16] = {};
  uint8_t n_ipv6 = 0;
  uint16_t udp_port = 0;  // the endpoint's port, host order
  uint16_t iface = 0;     // copied into the Tuple of every datagram

  bool add_ipv4(const uint8_t a[4]);
  bool add_ipv6(const uint8_t a[16]);
  bool add_link_local();  // fe80::/64 with the modified EUI-64 interface ID of mac
  bool has_ipv4(const uint8_t a[4]) const;
  bool has_ipv6(const uint8_t a[16]) const;
};

// Checksum state the port reported for a received frame (DPDK RTE_MBUF_F_RX_*_CKSUM_*).
// unknown: verify in software.
enum class CksumState : uint8_t { unknown, good, bad };
struct RxOffload {
  CksumState ip = CksumState::unknown;
  CksumState l4 = CksumState::unknown;
};

enum class Action : uint8_t {
  drop,      // counted under `reason`; free the frame
  reply,     // the frame was rewritten in place into a reply of `reply_len` bytes: send it
  udp,       // a datagram for the endpoint: see `datagram`
  consumed,  // valid, for us, nothing to send (an ARP reply addressed to us)
};

// Which reply was built (for counters).
enum class ReplyKind : uint8_t { none, arp, icmp_echo, icmpv6_echo, nd_advert };

// What classify decided. Small on purpose: it comes back in registers.
struct Verdict {
  Action action = Action::drop;
  DropReason reason = DropReason::count;  // valid when action == drop
  ReplyKind reply = ReplyKind::none;
  uint16_t reply_len = 0;   // frame length after an in-place reply
};

// The verdict with its datagram, for callers that want one value.
struct Result : Verdict {
  RxDatagram datagram;      // valid when action == udp; data points into the frame
};

// Classify one received Ethernet frame of `len` bytes held in a buffer of `cap` >= len bytes
// (a reply may grow the frame up to cap, e.g. a neighbour advertisement answering a solicitation
// that carried no source link-layer option). Ethernet frames with any destination MAC other than
// ours, broadcast, or an IPv6 multicast MAC of ours (33:33:..., solicited-node / all-nodes) are
// dropped as eth_not_for_us.
// IPv4: version 4, IHL >= 5, total length within the frame (trailing Ethernet padding allowed),
// header checksum, no fragments, destination one of ours (or broadcast for nothing: dropped).
// IPv6: version 6, payload length within the frame, next header ICMPv6 or UDP directly.
// ICMP echo request -> echo reply in place; ICMPv6 echo request -> echo reply; neighbour
// solicitation for one of our addresses -> neighbour advertisement (solicited, override, with the
// target link-layer address option) to the solicitor (or all-nodes when it was unspecified).
// UDP: length field consistent, checksum verified unless the offload says good (IPv4 zero checksum
// means none; IPv6 zero checksum is invalid), destination port must be local.udp_port.
// The hot path: when the action is udp the datagram is written to *out (tuple, data, len; the
// driver's fields room and buf_id are left as they are), otherwise *out is not touched.
Verdict classify(uint8_t* frame, uint16_t len, uint16_t cap, const LocalAddrs& local,
                 RxOffload off, RxDatagram* out);
inline Result classify(uint8_t* frame, uint16_t len, uint16_t cap, const LocalAddrs& local,
                       RxOffload off) {
  Result r;
  static_cast<Verdict&>(r) = classify(frame, len, cap, local, off, &r.datagram);
  return r;
}

// Bytes of Ethernet + IP + UDP header in front of a payload for this address family (42 or 62).
constexpr uint16_t udp_headroom(uint8_t family) { return family == 6 ? 62 : 42; }

// Writes Ethernet, IP and UDP headers into frame[0 .. udp_headroom) for a payload of payload_len
// bytes already at frame + udp_headroom(t.local.family). Source MAC = src_mac, destination MAC =
// t.next_hop_mac, addresses and ports from t (local = source). IPv4 TTL / IPv6 hop limit 64, DF set.
// With l4_offload, the UDP checksum field gets the pseudo-header sum the NIC expects
// (rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum) and the IPv4 header checksum is left 0 when
// ip_offload; otherwise both are computed in software. Returns the frame length.
uint16_t build_udp(uint8_t* frame, uint16_t payload_len, const Tuple& t, const uint8_t src_mac[6],
                   bool ip_offload, bool l4_offload);

}  // namespace camp::net
