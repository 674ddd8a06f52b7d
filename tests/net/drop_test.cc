// Every drop reason the layer produces, each from a frame with exactly that defect; truncation of
// valid frames at every length; random corruption never reads or writes out of bounds.
#include <random>
#include <set>
#include <string>

#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

// Recomputes the IPv4 header checksum of a frame edited after it was built.
Bytes fix_ip4(Bytes f) {
  const size_t ihl = (f[14] & 0x0f) * 4u;
  set16(&f[24], 0);
  set16(&f[24], cksum(&f[14], ihl));
  return f;
}
Bytes with(Bytes f, size_t at, uint8_t v) {
  f.at(at) = v;
  return f;
}
Bytes with16(Bytes f, size_t at, uint16_t v) {
  set16(&f.at(at), v);
  return f;
}
Bytes cut(Bytes f, size_t n) {
  f.resize(n);
  return f;
}
Bytes v4_frame(uint8_t proto, const Bytes& l4, const V4& dst = kOur4, const V4Opts& o = {}) {
  return ether(kOurMac, kPeerMac, 0x0800, ipv4(kPeer4, dst, proto, l4, o));
}
Bytes v6_frame(uint8_t next, const Bytes& l4, const V6& dst = kOur6, const Mac& mac = kOurMac) {
  return ether(mac, kPeerMac, 0x86dd, ipv6(kPeer6, dst, next, l4));
}
Bytes icmp6_frame(const V6& dst, uint8_t type, uint8_t code, const Bytes& rest,
                  const Mac& mac = kOurMac) {
  return v6_frame(58, icmp6(kPeer6, dst, type, code, rest), dst, mac);
}
// A UDP segment of `l4_len` bytes with a chosen length field (checksum zero: never reached).
Bytes udp_len_field(size_t l4_len, uint16_t field) {
  Bytes b = udp_raw(kPeerPort, kPort, payload(l4_len >= 8 ? l4_len - 8 : 0));
  b.resize(l4_len);
  if (l4_len >= 6) set16(&b[4], field);
  return b;
}

struct Case {
  std::string name;
  Bytes frame;
  DropReason want;
  RxOffload off = {};
  size_t cap = 0;  // 0: exactly the frame
};

std::vector<Case> cases() {
  const V6 sn = solicited_node(kOur6);
  V6 same_group = kPeer6;  // an address of someone else in our solicited-node group
  same_group[13] = kOur6[13];
  same_group[14] = kOur6[14];
  same_group[15] = kOur6[15];
  same_group[11] = 0x77;
  Bytes vlan = {0x00, 0x05, 0x08, 0x00};
  const Bytes inner = ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, kPeerPort, kPort, payload(8)));
  vlan.insert(vlan.end(), inner.begin(), inner.end());
  const Bytes echo = echo_body(1, 2, payload(8));
  const Bytes ns_dad = ns_frame(kUnspecified, sn, kOur6, {});

  std::vector<Case> c = {
      {"eth_truncated", cut(udp4_frame(), 13), DropReason::eth_truncated},
      {"eth_other_unicast", with(udp4_frame(), 5, 0x56), DropReason::eth_not_for_us},
      {"eth_other_multicast", with(udp4_frame(), 0, 0x01), DropReason::eth_not_for_us},
      {"eth_v6_group_not_ours", with(echo6_frame(), 0, 0x33) /* 33:11:... */,
       DropReason::eth_not_for_us},
      {"eth_all_routers", ether({0x33, 0x33, 0, 0, 0, 2}, kPeerMac, 0x86dd, {}),
       DropReason::eth_not_for_us},
      {"eth_other_solicited_node", ether({0x33, 0x33, 0xff, 1, 2, 3}, kPeerMac, 0x86dd, {}),
       DropReason::eth_not_for_us},
      {"eth_v6_group_not_solicited_node",  // our low 24 bits, but not 33:33:ff
       ether({0x33, 0x33, 0xfe, kOur6[13], kOur6[14], kOur6[15]}, kPeerMac, 0x86dd, {}),
       DropReason::eth_not_for_us},
      {"eth_vlan", ether(kOurMac, kPeerMac, 0x8100, vlan), DropReason::eth_unknown_type},
      {"eth_lldp", ether(kOurMac, kPeerMac, 0x88cc, payload(40)), DropReason::eth_unknown_type},
      {"arp_short", cut(arp_request_frame(), 41), DropReason::arp_malformed},
      {"arp_hlen", ether(kBroadcast, kPeerMac, 0x0806, arp_body(1, kPeerMac, kPeer4, {}, kOur4, 8)),
       DropReason::arp_malformed},
      {"arp_hw_type", with(arp_request_frame(), 15, 6), DropReason::arp_malformed},
      {"arp_proto", with(arp_request_frame(), 16, 0x86), DropReason::arp_malformed},
      {"arp_not_for_us", arp_request_frame(kPeer4), DropReason::arp_not_for_us},
      {"arp_rarp_op", with(arp_request_frame(), 21, 3), DropReason::arp_unsupported_op},
      {"ipv4_short", cut(udp4_frame(), 33), DropReason::ipv4_truncated},
      {"ipv4_options_past_frame", with(udp4_frame(), 14, 0x4f) /* 60-byte header */,
       DropReason::ipv4_truncated},
      {"ipv4_version", with(udp4_frame(), 14, 0x65), DropReason::ipv4_bad_version},
      {"ipv4_ihl_4", fix_ip4(with(udp4_frame(), 14, 0x44)), DropReason::ipv4_bad_header_length},
      {"ipv4_total_below_header", fix_ip4(with16(udp4_frame(), 16, 19)),
       DropReason::ipv4_bad_total_length},
      {"ipv4_total_past_frame", fix_ip4(with16(udp4_frame(), 16, 47)),
       DropReason::ipv4_bad_total_length},
      {"ipv4_header_checksum", with(udp4_frame(), 22, 63), DropReason::ipv4_bad_checksum},
      {"ipv4_offload_bad",
       udp4_frame(),
       DropReason::ipv4_bad_checksum,
       {CksumState::bad, CksumState::good}},
      {"ipv4_more_fragments",
       v4_frame(17, udp4(kPeer4, kOur4, 1, kPort, payload(8)), kOur4, V4Opts{{}, 0x2000, 64}),
       DropReason::ipv4_fragment},
      {"ipv4_fragment_offset", v4_frame(17, payload(16), kOur4, V4Opts{{}, 0x0002, 64}),
       DropReason::ipv4_fragment},
      {"ipv4_not_for_us", v4_frame(17, udp4(kPeer4, kPeer4, 1, kPort, payload(8)), kPeer4),
       DropReason::ipv4_not_for_us},
      {"ipv4_broadcast",
       ether(kBroadcast, kPeerMac, 0x0800,
             ipv4(kPeer4, {255, 255, 255, 255}, 17, udp_raw(1, kPort, {}))),
       DropReason::ipv4_not_for_us},
      {"ipv4_tcp", v4_frame(6, payload(20)), DropReason::ipv4_unknown_protocol},
      {"ipv6_short", cut(udp6_frame(), 53), DropReason::ipv6_truncated},
      {"ipv6_version", with(udp6_frame(), 14, 0x40), DropReason::ipv6_bad_version},
      {"ipv6_payload_past_frame", with16(udp6_frame(), 18, 27),
       DropReason::ipv6_bad_payload_length},
      {"ipv6_not_for_us", v6_frame(17, udp6(kPeer6, kPeer6, 1, kPort, payload(4)), kPeer6),
       DropReason::ipv6_not_for_us},
      {"ipv6_all_routers",
       icmp6_frame({0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 133, 0, payload(4),
                   kAllNodesMac),
       DropReason::ipv6_not_for_us},
      {"ipv6_echo_to_all_nodes", icmp6_frame(kAllNodes, 128, 0, echo, kAllNodesMac),
       DropReason::ipv6_not_for_us},
      {"ipv6_hop_by_hop", v6_frame(0, payload(16)), DropReason::ipv6_unknown_next_header},
      {"ipv6_tcp", v6_frame(6, payload(20)), DropReason::ipv6_unknown_next_header},
      {"icmp_short", v4_frame(1, {8, 0, 0xf7, 0xff, 0, 0, 0}), DropReason::icmp_truncated},
      {"icmp_checksum", with(echo4_frame(), 40, 0x55), DropReason::icmp_bad_checksum},
      {"icmp_timestamp", v4_frame(1, icmp4(13, 0, payload(16))), DropReason::icmp_unsupported_type},
      {"icmp_echo_reply", v4_frame(1, icmp4(0, 0, echo)), DropReason::icmp_unsupported_type},
      {"icmp_echo_code", v4_frame(1, icmp4(8, 1, echo)), DropReason::icmp_unsupported_type},
      {"icmpv6_short", icmp6_frame(kOur6, 128, 0, {}), DropReason::icmpv6_truncated},
      {"icmpv6_checksum", with(echo6_frame(), 60, 0x55), DropReason::icmpv6_bad_checksum},
      {"icmpv6_router_advert", icmp6_frame(kAllNodes, 134, 0, payload(12), kAllNodesMac),
       DropReason::icmpv6_unsupported_type},
      {"icmpv6_mld_query", icmp6_frame(kAllNodes, 130, 0, payload(20), kAllNodesMac),
       DropReason::icmpv6_unsupported_type},
      {"icmpv6_neighbour_advert", icmp6_frame(kOur6, 136, 0, ns_body(kPeer6, {})),
       DropReason::icmpv6_unsupported_type},
      {"icmpv6_echo_code", icmp6_frame(kOur6, 128, 1, echo), DropReason::icmpv6_unsupported_type},
      {"nd_hop_limit", ns_frame(kPeerLl, sn, kOur6, sll_option(kPeerMac), 254),
       DropReason::nd_malformed},
      {"nd_code", ns_frame(kPeerLl, sn, kOur6, sll_option(kPeerMac), 255, 1),
       DropReason::nd_malformed},
      {"nd_short", icmp6_frame(sn, 135, 0, payload(16), mcast_mac(sn)), DropReason::nd_malformed},
      {"nd_option_len_0", ns_frame(kPeerLl, sn, kOur6, {1, 0, 1, 2, 3, 4, 5, 6}),
       DropReason::nd_malformed},
      {"nd_option_overrun", ns_frame(kPeerLl, sn, kOur6, {1, 2, 1, 2, 3, 4, 5, 6}),
       DropReason::nd_malformed},
      {"nd_option_one_byte", ns_frame(kPeerLl, sn, kOur6, {1}), DropReason::nd_malformed},
      {"nd_dad_with_source_ll", ns_frame(kUnspecified, sn, kOur6, sll_option(kPeerMac)),
       DropReason::nd_malformed},
      {"nd_dad_to_unicast", ns_frame(kUnspecified, kOur6, kOur6, {}, 255, 0, kOurMac),
       DropReason::nd_malformed},
      {"nd_multicast_target", ns_frame(kPeerLl, sn, sn, {}), DropReason::nd_malformed},
      {"nd_not_for_us_group", ns_frame(kPeerLl, sn, same_group, sll_option(kPeerMac)),
       DropReason::nd_not_for_us},
      {"nd_not_for_us_unicast", ns_frame(kPeer6, kOur6, kPeer6, {}, 255, 0, kOurMac),
       DropReason::nd_not_for_us},
      {"nd_no_room", ns_dad, DropReason::endpoint_no_tx_room, {}, ns_dad.size()},
      {"udp4_short", v4_frame(17, payload(7)), DropReason::udp_truncated},
      {"udp6_short", v6_frame(17, payload(7)), DropReason::udp_truncated},
      {"udp4_len_above", v4_frame(17, udp_len_field(20, 21)), DropReason::udp_bad_length},
      {"udp4_len_below", v4_frame(17, udp_len_field(20, 19)), DropReason::udp_bad_length},
      {"udp4_len_under_header", v4_frame(17, udp_len_field(8, 7)), DropReason::udp_bad_length},
      {"udp6_len", v6_frame(17, udp_len_field(20, 12)), DropReason::udp_bad_length},
      {"udp4_checksum", with(udp4_frame(), 45, 0), DropReason::udp_bad_checksum},
      {"udp6_checksum", with(udp6_frame(), 65, 0), DropReason::udp_bad_checksum},
      {"udp6_zero_checksum", with16(udp6_frame(), 60, 0), DropReason::udp_bad_checksum},
      {"udp4_offload_bad",
       udp4_frame(),
       DropReason::udp_bad_checksum,
       {CksumState::good, CksumState::bad}},
      {"udp4_port_closed", udp4_frame(payload(8), kPort + 1), DropReason::udp_port_closed},
      {"udp6_port_closed", udp6_frame(payload(8), 53), DropReason::udp_port_closed},
  };
  return c;
}

TEST(Drops, EachDefectGivesItsReason) {
  const LocalAddrs l = make_local();
  for (const Case& c : cases()) {
    const size_t cap = c.cap ? c.cap : c.frame.size();
    Buf b(c.frame.data(), c.frame.size(), cap);
    const Result r = classify_buf(b, l, c.off);
    EXPECT_EQ(r.action, Action::drop) << c.name;
    EXPECT_EQ(drop_reason_name(r.reason), drop_reason_name(c.want)) << c.name;
  }
}

// The cases above must cover every reason the layer can give; the rest belong to the worker and
// the QUIC endpoint (listed after quic_header).
TEST(Drops, EveryLayerReasonIsCovered) {
  std::set<DropReason> seen;
  for (const Case& c : cases()) seen.insert(c.want);
  const std::set<DropReason> worker_only = {DropReason::rx_multiseg, DropReason::tx_ring_full,
                                            DropReason::no_mbuf};
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const auto r = static_cast<DropReason>(i);
    if (worker_only.count(r) || r >= DropReason::quic_header) continue;  // QUIC: the endpoint's
    EXPECT_TRUE(seen.count(r)) << "no case for " << drop_reason_name(r);
  }
}

// The frames each valid case starts from, unmodified: they must not be dropped.
TEST(Drops, BaseFramesAreAccepted) {
  const LocalAddrs l = make_local();
  for (const Bytes& f :
       {udp4_frame(), udp6_frame(), echo4_frame(), echo6_frame(), arp_request_frame()}) {
    EXPECT_EQ(drop_reason_name(reason_of(f, l)), drop_reason_name(DropReason::count));
  }
}

struct Valid {
  std::string name;
  Bytes frame;
  size_t l3_min;        // bytes from the frame start up to the end of the fixed L3 header
  DropReason short_l3;  // below l3_min
  DropReason short_l4;  // above it
};

TEST(Truncation, EveryLengthIsDroppedSafely) {
  const LocalAddrs l = make_local();
  V4Opts o;
  o.options = {1, 1, 1, 1};
  const V6 sn = solicited_node(kOur6);
  const std::vector<Valid> frames = {
      {"udp4", udp4_frame(), 34, DropReason::ipv4_truncated, DropReason::ipv4_bad_total_length},
      {"udp4_options",
       ether(kOurMac, kPeerMac, 0x0800,
             ipv4(kPeer4, kOur4, 17, udp4(kPeer4, kOur4, 1, kPort, payload(9)), o)),
       38, DropReason::ipv4_truncated, DropReason::ipv4_bad_total_length},
      {"echo4", echo4_frame(), 34, DropReason::ipv4_truncated, DropReason::ipv4_bad_total_length},
      {"udp6", udp6_frame(payload(9)), 54, DropReason::ipv6_truncated,
       DropReason::ipv6_bad_payload_length},
      {"echo6", echo6_frame(), 54, DropReason::ipv6_truncated, DropReason::ipv6_bad_payload_length},
      {"ns", ns_frame(kPeerLl, sn, kOur6, sll_option(kPeerMac)), 54, DropReason::ipv6_truncated,
       DropReason::ipv6_bad_payload_length},
      {"ns_dad", ns_frame(kUnspecified, sn, kOur6, {}), 54, DropReason::ipv6_truncated,
       DropReason::ipv6_bad_payload_length},
      {"arp", arp_request_frame(), 42, DropReason::arp_malformed, DropReason::arp_malformed},
  };
  for (const Valid& v : frames) {
    {
      Buf whole(v.frame.data(), v.frame.size(), 128);
      ASSERT_NE(classify_buf(whole, l).action, Action::drop) << v.name;
    }
    for (size_t n = 0; n < v.frame.size(); ++n) {
      Buf b(v.frame.data(), n, n);  // exactly n bytes of heap: ASan sees any over-read
      const Result r = classify_buf(b, l);
      ASSERT_EQ(r.action, Action::drop) << v.name << " at " << n;
      const DropReason want = n < 14         ? DropReason::eth_truncated
                              : n < v.l3_min ? v.short_l3
                                             : v.short_l4;
      EXPECT_EQ(drop_reason_name(r.reason), drop_reason_name(want)) << v.name << " at " << n;
    }
  }
}

// Random byte flips and lengths: whatever the verdict, no access outside [0, cap) (ASan), and a
// reply never claims more than cap.
TEST(Truncation, RandomCorruptionStaysInBounds) {
  const LocalAddrs l = make_local();
  const V6 sn = solicited_node(kOur6);
  const std::vector<Bytes> seeds = {udp4_frame(),
                                    udp6_frame(),
                                    echo4_frame(),
                                    echo6_frame(),
                                    arp_request_frame(),
                                    ns_frame(kPeerLl, sn, kOur6, {}),
                                    ns_frame(kUnspecified, sn, kOur6, {})};
  std::mt19937 rng(12345);
  size_t replies = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes f = seeds[rng() % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k)
      f[14 + rng() % (f.size() - 14)] ^= static_cast<uint8_t>(1 + rng() % 255);
    const size_t n = rng() % (f.size() + 1);
    const size_t cap = n + rng() % 16;
    Buf b(f.data(), n, cap);
    const Result r = classify_buf(
        b, l, {static_cast<CksumState>(rng() % 3), static_cast<CksumState>(rng() % 3)});
    if (r.action == Action::reply) {
      ++replies;
      EXPECT_LE(r.reply_len, cap);
    }
    if (r.action == Action::udp) {
      EXPECT_GE(r.datagram.data, b.data);
      EXPECT_LE(r.datagram.data + r.datagram.len, b.data + n);
    }
    if (r.action == Action::drop) {
      EXPECT_LT(r.reason, DropReason::count);
    }
  }
  EXPECT_GT(replies, 0u);  // some flips land in payloads whose checksums offload or miss
}

}  // namespace
}  // namespace camp::net::test
