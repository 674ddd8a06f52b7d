// camp-client's DATAGRAM probe (tools/hq/datagram_probe.h) and its --datagrams option, without a
// network: the interop tests run them against ngtcp2; these pin the bookkeeping down.
#include "tools/hq/datagram_probe.h"

#include <gtest/gtest.h>

#include <vector>

#include "tools/hq/client_options.h"

namespace camp::hq {
namespace {

TEST(DatagramProbe, PayloadsAreDistinctSizedAndVerified) {
  DatagramProbe p(50, 1156);
  std::vector<uint8_t> a, b;
  for (uint64_t i = 0; i < 50; ++i) {
    p.payload(i, a);
    EXPECT_GE(a.size(), DatagramProbe::kMinSize);
    EXPECT_LE(a.size(), DatagramProbe::kMaxSize);
    EXPECT_EQ(a.size(), p.size_of(i));
    p.on_sent(100 + i);  // the connection's IDs need not start at 0
  }
  p.payload(3, a);
  p.payload(4, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(p.on_echo(a), DatagramProbe::Echo::kNew);
  EXPECT_EQ(p.on_echo(a), DatagramProbe::Echo::kDuplicate);
  // Corrupted, truncated, or naming a datagram never sent: bad.
  b[b.size() / 2] ^= 1;
  EXPECT_EQ(p.on_echo(b), DatagramProbe::Echo::kBad);
  p.payload(5, b);
  b.pop_back();
  EXPECT_EQ(p.on_echo(b), DatagramProbe::Echo::kBad);
  DatagramProbe q(100, 1156);
  q.payload(60, b);
  EXPECT_EQ(p.on_echo(b), DatagramProbe::Echo::kBad);  // p sent only 0-49
  EXPECT_EQ(p.on_echo(std::vector<uint8_t>(4, 0)), DatagramProbe::Echo::kBad);
  EXPECT_EQ(p.echoed(), 1u);
  EXPECT_EQ(p.duplicates(), 1u);
  EXPECT_EQ(p.bad(), 4u);
}

TEST(DatagramProbe, SizesClampedToWhatThePathCarries) {
  DatagramProbe p(20, 150);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_LE(p.size_of(i), 150u);
  std::vector<uint8_t> a;
  p.payload(7, a);
  p.on_sent(0);
  EXPECT_EQ(p.on_echo(a), DatagramProbe::Echo::kBad);  // 7 was never sent
}

TEST(DatagramProbe, AckedPlusLostEqualsSentAndLateAcksCount) {
  DatagramProbe p(4, 1000);
  for (uint64_t id = 10; id < 14; ++id) p.on_sent(id);
  EXPECT_EQ(p.pending(), 4u);
  p.on_acked(10);
  p.on_acked(10);  // repeated: counted once
  p.on_lost(11);
  p.on_lost(12);
  p.on_acked(12);  // declared lost, then acknowledged: acked, one spurious loss
  p.on_lost(10);   // acknowledged already: ignored
  p.on_acked(99);  // not ours
  EXPECT_EQ(p.acked(), 2u);
  EXPECT_EQ(p.lost(), 1u);
  EXPECT_EQ(p.pending(), 1u);
  EXPECT_EQ(p.spurious_losses(), 1u);
  EXPECT_EQ(p.unknown_ids(), 1u);
  p.on_lost(13);
  EXPECT_EQ(p.acked() + p.lost(), p.sent());
  EXPECT_EQ(p.summary(), "datagrams: sent 4, acked 2, lost 2, echoed 0, spurious losses 1, "
                         "unknown ids 1");
}

TEST(DatagramProbe, WindowBoundsUnresolvedAndWritesOffLostEchoes) {
  DatagramProbe p(10, 1000, 3);
  std::vector<uint8_t> a;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.may_send());
    p.on_sent(p.next_seq());
  }
  EXPECT_FALSE(p.may_send());
  p.payload(0, a);
  p.on_echo(a);  // 0 echoed: room for one more
  EXPECT_TRUE(p.may_send());
  p.on_sent(p.next_seq());
  p.on_lost(1);  // 1 lost on the way out: it leaves the window
  EXPECT_TRUE(p.may_send());
  p.on_sent(p.next_seq());
  EXPECT_FALSE(p.may_send());
  EXPECT_EQ(p.unresolved(), 3u);  // 2, 3, 4
  // 2 and 3 acknowledged but never echoed (echoes lost): written off; 4 is still unacknowledged.
  p.on_acked(2);
  p.on_acked(3);
  EXPECT_EQ(p.write_off_unechoed(), 2u);
  EXPECT_EQ(p.unresolved(), 1u);
  // A late echo of a written-off datagram still counts, without freeing a slot twice.
  p.payload(2, a);
  EXPECT_EQ(p.on_echo(a), DatagramProbe::Echo::kNew);
  EXPECT_EQ(p.unresolved(), 1u);
  // Declared lost, then acknowledged: unresolved again (its echo may come).
  p.on_lost(4);
  EXPECT_EQ(p.unresolved(), 0u);
  p.on_acked(4);
  EXPECT_EQ(p.unresolved(), 1u);
  EXPECT_EQ(p.echoed(), 2u);
}

TEST(DatagramProbe, CountIsBounded) {
  DatagramProbe p(DatagramProbe::kMaxCount + 5, 1000);
  EXPECT_EQ(p.count(), DatagramProbe::kMaxCount);
}

ClientParse parse(std::vector<const char*> args, ClientOptions* o, std::string* err) {
  args.insert(args.begin(), "camp-client");
  return parse_client_options(static_cast<int>(args.size()), args.data(), o, err);
}

TEST(DatagramsOption, ImpliesDatagramSupport) {
  ClientOptions o;
  std::string err;
  ASSERT_EQ(parse({"--datagrams", "200", "https://h/x"}, &o, &err), ClientParse::kOk) << err;
  EXPECT_EQ(o.datagrams, 200u);
  EXPECT_EQ(o.datagram, kDefaultDatagramFrame);
  ASSERT_EQ(parse({"--datagram=1400", "--datagrams=5", "https://h/x"}, &o, &err), ClientParse::kOk);
  EXPECT_EQ(o.datagram, 1400u);
  EXPECT_EQ(o.datagrams, 5u);
  ASSERT_EQ(parse({"--datagram", "900", "https://h/x"}, &o, &err), ClientParse::kOk);
  EXPECT_EQ(o.datagrams, 0u);
  EXPECT_EQ(o.datagram, 900u);
  EXPECT_NE(client_usage("camp-client").find("--datagrams COUNT"), std::string::npos);
}

TEST(DatagramsOption, RejectsBadValues) {
  ClientOptions o;
  std::string err;
  EXPECT_EQ(parse({"--datagrams", "-1", "https://h/x"}, &o, &err), ClientParse::kError);
  EXPECT_NE(err.find("--datagrams"), std::string::npos);
  EXPECT_EQ(parse({"--datagrams", "1000001", "https://h/x"}, &o, &err), ClientParse::kError);
  EXPECT_EQ(parse({"--datagrams", "3x", "https://h/x"}, &o, &err), ClientParse::kError);
  EXPECT_EQ(parse({"--datagrams", "https://h/x"}, &o, &err), ClientParse::kError);
  EXPECT_EQ(parse({"--datagram", "0", "--datagrams", "4", "https://h/x"}, &o, &err),
            ClientParse::kError);
  EXPECT_NE(err.find("--datagram 0"), std::string::npos);
}

}  // namespace
}  // namespace camp::hq
