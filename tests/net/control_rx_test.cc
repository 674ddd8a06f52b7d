// ARP, ICMP echo, ICMPv6 echo and neighbour discovery: the replies built in place.
#include "tests/net/frames.h"

namespace camp::net::test {
namespace {

TEST(Arp, RequestGetsExactReply) {
  const LocalAddrs l = make_local();
  Bytes f = arp_request_frame();
  f.resize(60, 0);  // padded as on the wire; the reply does not carry the padding
  Buf b(f);
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(r.reply, ReplyKind::arp);
  ASSERT_EQ(r.reply_len, 42);
  const Bytes want =
      ether(kPeerMac, kOurMac, 0x0806, arp_body(2, kOurMac, kOur4, kPeerMac, kPeer4));
  EXPECT_EQ(b.bytes(42), want);
}

TEST(Arp, RequestForSecondAddress) {
  LocalAddrs l = make_local();
  l.add_ipv4(kOur4b.data());
  Buf b(arp_request_frame(kOur4b));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(b.bytes(42),
            ether(kPeerMac, kOurMac, 0x0806, arp_body(2, kOurMac, kOur4b, kPeerMac, kPeer4)));
}

TEST(Arp, ReplyToUsIsConsumed) {
  const LocalAddrs l = make_local();
  const Bytes f = ether(kOurMac, kPeerMac, 0x0806, arp_body(2, kPeerMac, kPeer4, kOurMac, kOur4));
  Buf b(f);
  const Result r = classify_buf(b, l);
  EXPECT_EQ(r.action, Action::consumed);
  EXPECT_EQ(b.bytes(f.size()), f);  // untouched
}

void expect_ipv4_header_ok(const uint8_t* ip, const V4& src, const V4& dst, uint16_t total) {
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(get16(ip + 2), total);
  EXPECT_EQ(ip[8], 64);  // TTL
  EXPECT_TRUE(verifies(ip, 20)) << "IPv4 header checksum";
  EXPECT_EQ(0, std::memcmp(ip + 12, src.data(), 4));
  EXPECT_EQ(0, std::memcmp(ip + 16, dst.data(), 4));
}

TEST(IcmpEcho, RequestGetsValidReply) {
  const LocalAddrs l = make_local();
  const Bytes f = echo4_frame();
  Buf b(f);
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(r.reply, ReplyKind::icmp_echo);
  ASSERT_EQ(r.reply_len, f.size());
  const uint8_t* p = b.data;
  EXPECT_EQ(0, std::memcmp(p, kPeerMac.data(), 6));
  EXPECT_EQ(0, std::memcmp(p + 6, kOurMac.data(), 6));
  EXPECT_EQ(get16(p + 12), 0x0800);
  expect_ipv4_header_ok(p + 14, kOur4, kPeer4, static_cast<uint16_t>(f.size() - 14));
  const uint8_t* ic = p + 34;
  EXPECT_EQ(ic[0], 0);  // echo reply
  EXPECT_EQ(ic[1], 0);
  EXPECT_TRUE(verifies(ic, f.size() - 34)) << "ICMP checksum";
  EXPECT_EQ(0, std::memcmp(ic + 4, f.data() + 38, f.size() - 38));  // id, seq, data kept
}

TEST(IcmpEcho, OptionsAreNotEchoed) {
  const LocalAddrs l = make_local();
  V4Opts o;
  o.options = {0x07, 0x07, 0x04, 0, 0, 0, 0, 0};  // record route with one empty slot
  const Bytes f = echo4_frame(o);
  Buf b(f);
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  ASSERT_EQ(r.reply_len, f.size() - 8);
  expect_ipv4_header_ok(b.data + 14, kOur4, kPeer4, static_cast<uint16_t>(f.size() - 8 - 14));
  const uint8_t* ic = b.data + 34;
  EXPECT_EQ(ic[0], 0);
  EXPECT_TRUE(verifies(ic, r.reply_len - 34));
  EXPECT_EQ(0, std::memcmp(ic + 4, f.data() + 46, f.size() - 46));
}

TEST(Icmpv6Echo, RequestGetsValidReply) {
  const LocalAddrs l = make_local();
  const Bytes f = echo6_frame();
  Buf b(f);
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(r.reply, ReplyKind::icmpv6_echo);
  ASSERT_EQ(r.reply_len, f.size());
  const uint8_t* p = b.data;
  EXPECT_EQ(0, std::memcmp(p, kPeerMac.data(), 6));
  EXPECT_EQ(0, std::memcmp(p + 6, kOurMac.data(), 6));
  const uint8_t* ip = p + 14;
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(get16(ip + 4), f.size() - 54);
  EXPECT_EQ(ip[6], 58);
  EXPECT_EQ(ip[7], 64);
  EXPECT_EQ(0, std::memcmp(ip + 8, kOur6.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip + 24, kPeer6.data(), 16));
  const uint8_t* ic = p + 54;
  EXPECT_EQ(ic[0], 129);
  EXPECT_EQ(ic[1], 0);
  const size_t n = f.size() - 54;
  EXPECT_TRUE(verifies(ic, n, pseudo6(kOur6, kPeer6, 58, n))) << "ICMPv6 checksum";
  EXPECT_EQ(0, std::memcmp(ic + 4, f.data() + 58, n - 4));
}

// Checks that b holds a neighbour advertisement for kOur6 to dst with these flags.
void expect_advert(const Buf& b, const Result& r, const Mac& dst_mac, const V6& dst,
                   uint8_t flags) {
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(r.reply, ReplyKind::nd_advert);
  ASSERT_EQ(r.reply_len, 86);
  const uint8_t* p = b.data;
  EXPECT_EQ(0, std::memcmp(p, dst_mac.data(), 6));
  EXPECT_EQ(0, std::memcmp(p + 6, kOurMac.data(), 6));
  EXPECT_EQ(get16(p + 12), 0x86dd);
  const uint8_t* ip = p + 14;
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(get16(ip + 4), 32);
  EXPECT_EQ(ip[6], 58);
  EXPECT_EQ(ip[7], 255);
  EXPECT_EQ(0, std::memcmp(ip + 8, kOur6.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip + 24, dst.data(), 16));
  const uint8_t* ic = p + 54;
  EXPECT_EQ(ic[0], 136);
  EXPECT_EQ(ic[1], 0);
  EXPECT_TRUE(verifies(ic, 32, pseudo6(kOur6, dst, 58, 32))) << "ICMPv6 checksum";
  EXPECT_EQ(ic[4], flags);
  EXPECT_EQ(ic[5] | ic[6] | ic[7], 0);
  EXPECT_EQ(0, std::memcmp(ic + 8, kOur6.data(), 16));
  const uint8_t tlla[8] = {2,          1,          kOurMac[0], kOurMac[1],
                           kOurMac[2], kOurMac[3], kOurMac[4], kOurMac[5]};
  EXPECT_EQ(0, std::memcmp(ic + 24, tlla, 8));
}

TEST(NeighbourDiscovery, SolicitationWithSourceLinkLayer) {
  const LocalAddrs l = make_local();
  const Bytes f = ns_frame(kPeerLl, solicited_node(kOur6), kOur6, sll_option(kPeerMac));
  ASSERT_EQ(f.size(), 86u);
  Buf b(f);
  expect_advert(b, classify_buf(b, l), kPeerMac, kPeerLl, 0x60);
}

TEST(NeighbourDiscovery, SolicitationWithoutOptionGrowsTheFrame) {
  const LocalAddrs l = make_local();
  const Bytes f = ns_frame(kPeer6, kOur6, kOur6, {}, 255, 0, kOurMac);  // unicast probe
  ASSERT_EQ(f.size(), 78u);
  Buf b(f.data(), f.size(), 86);
  expect_advert(b, classify_buf(b, l), kPeerMac, kPeer6, 0x60);
}

TEST(NeighbourDiscovery, SolicitationWithUnknownOptionIsSkipped) {
  const LocalAddrs l = make_local();
  Bytes opts = {14, 1, 1, 2, 3, 4, 5, 6};  // nonce
  const Bytes s = sll_option(kPeerMac);
  opts.insert(opts.end(), s.begin(), s.end());
  Buf b(ns_frame(kPeerLl, solicited_node(kOur6), kOur6, opts));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(r.reply_len, 86);
}

TEST(NeighbourDiscovery, CapTooSmallForTheAdvertisement) {
  const LocalAddrs l = make_local();
  const Bytes f = ns_frame(kPeer6, kOur6, kOur6, {}, 255, 0, kOurMac);
  Buf b(f.data(), f.size(), 85);  // one byte short: ASan would see a write past cap
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::drop);
  EXPECT_EQ(r.reason, DropReason::endpoint_no_tx_room);
  EXPECT_EQ(b.bytes(f.size()), f);  // nothing rewritten
}

TEST(NeighbourDiscovery, DuplicateAddressDetectionGoesToAllNodes) {
  const LocalAddrs l = make_local();
  const Bytes f = ns_frame(kUnspecified, solicited_node(kOur6), kOur6, {});
  Buf b(f.data(), f.size(), 86);
  expect_advert(b, classify_buf(b, l), kAllNodesMac, kAllNodes, 0x20);  // override only
}

TEST(NeighbourDiscovery, ForLinkLocalAddress) {
  const LocalAddrs l = make_local();
  const V6 ll = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  Buf b(ns_frame(kPeerLl, solicited_node(ll), ll, sll_option(kPeerMac)));
  const Result r = classify_buf(b, l);
  ASSERT_EQ(r.action, Action::reply);
  EXPECT_EQ(0, std::memcmp(b.data + 14 + 8, ll.data(), 16));  // answered from the target
  EXPECT_TRUE(verifies(b.data + 54, 32, pseudo6(ll, kPeerLl, 58, 32)));
}

}  // namespace
}  // namespace camp::net::test
