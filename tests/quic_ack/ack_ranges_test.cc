// Range bookkeeping: a reference std::set model over random arrivals, overflow, duplicates and
// ack-of-ack pruning (RFC 9000 13.2.3-13.2.4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "dataplane/quic/ack/ack_tracker.h"
#include "tests/quic_ack/ack_test_util.h"

namespace camp::quic::test {
namespace {

// What the tracker should remember: the received packet numbers above a floor, at most
// kMaxAckRanges runs, dropping the lowest run (and raising the floor past it) on overflow.
class Model {
 public:
  bool duplicate(uint64_t pn) const { return pn < floor_ || seen_.count(pn) != 0; }

  bool receive(uint64_t pn) {
    if (duplicate(pn)) return false;
    seen_.insert(pn);
    largest_ = std::max<int64_t>(largest_, static_cast<int64_t>(pn));
    const std::vector<AckRange> r = runs();
    if (r.size() > kMaxAckRanges) drop_below(r.front().largest);
    return true;
  }

  void acked(uint64_t largest) {
    if (largest_ < 0) return;
    drop_below(std::min<uint64_t>(largest, static_cast<uint64_t>(largest_)));
  }

  // Ascending runs of consecutive packet numbers.
  std::vector<AckRange> runs() const {
    std::vector<AckRange> out;
    for (uint64_t pn : seen_) {
      if (!out.empty() && out.back().largest + 1 == pn) {
        out.back().largest = pn;
      } else {
        out.push_back({pn, pn});
      }
    }
    return out;
  }
  std::vector<AckRange> runs_desc() const {
    std::vector<AckRange> r = runs();
    std::reverse(r.begin(), r.end());
    return r;
  }
  int64_t largest() const { return largest_; }
  uint64_t floor() const { return floor_; }

 private:
  void drop_below(uint64_t last) {  // forgets everything <= last
    seen_.erase(seen_.begin(), seen_.upper_bound(last));
    floor_ = std::max(floor_, last + 1);
  }

  std::set<uint64_t> seen_;
  uint64_t floor_ = 0;
  int64_t largest_ = -1;
};

void expect_same(const AckTracker& t, const Model& m) {
  EXPECT_EQ(tracker_ranges(t), m.runs_desc());
  EXPECT_EQ(t.largest_received(), m.largest());
  EXPECT_EQ(t.floor(), m.floor());
}

// Random arrivals near a moving edge: in order, reordered, duplicated, jumps ahead; now and then
// an ACK is sent and (later) acknowledged. Every step is checked against the model, and every
// ACK written is parsed back and compared with it.
// Returns whether the range array filled up at some point (so overflow was exercised).
bool run_random(uint32_t seed, int steps, bool with_acks) {
  SCOPED_TRACE(seed);
  std::mt19937_64 rng(seed);
  AckTracker t;
  Model m;
  uint64_t edge = 0;
  uint64_t our_pn = 0;
  std::vector<std::pair<uint64_t, uint64_t>> in_flight;  // (our pn, Largest Acknowledged)
  std::vector<uint8_t> buf;
  bool saw_full = false;
  for (int step = 0; step < steps; ++step) {
    const uint64_t roll = rng() % 100;
    uint64_t pn;
    if (roll < 55) {
      pn = edge++;
    } else if (roll < 80) {
      pn = edge > 0 ? edge - 1 - rng() % std::min<uint64_t>(edge, 60) : 0;  // late or duplicate
    } else if (roll < 95) {
      edge += 1 + rng() % 4;  // a hole
      pn = edge++;
    } else {
      edge += 50 + rng() % 200;  // a long jump
      pn = edge++;
    }
    EXPECT_EQ(t.is_duplicate(pn), m.duplicate(pn)) << "pn " << pn;
    EXPECT_EQ(t.on_packet_received(pn, rng() % 4 != 0, step, 0), m.receive(pn)) << "pn " << pn;
    expect_same(t, m);
    if (::testing::Test::HasFailure()) return saw_full;
    saw_full |= t.range_count() == kMaxAckRanges;
    const uint64_t probe = rng() % (edge + 10);
    EXPECT_EQ(t.is_duplicate(probe), m.duplicate(probe)) << "probe " << probe;

    if (with_acks && rng() % 10 == 0) {
      const DecodedAck d = write_and_decode(t, buf, step + 1);
      if (m.runs().empty()) {
        EXPECT_FALSE(d.ok);
      } else {
        EXPECT_TRUE(d.ok);
        EXPECT_EQ(d.ranges, m.runs_desc());
        EXPECT_EQ(d.frame.largest_acknowledged, static_cast<uint64_t>(m.largest()));
        t.on_ack_sent(step + 1, our_pn);
        in_flight.emplace_back(our_pn, d.frame.largest_acknowledged);
        ++our_pn;
      }
    }
    if (with_acks && !in_flight.empty() && rng() % 8 == 0) {
      const auto [pn_of_ack, largest] = in_flight.front();
      in_flight.erase(in_flight.begin());
      // Only the last kAckRecords ACKs sent are remembered; older ones just prune nothing.
      const bool remembered = pn_of_ack + kAckRecords >= our_pn;
      EXPECT_EQ(t.on_ack_packet_acked(pn_of_ack), remembered);
      if (remembered) m.acked(largest);
      expect_same(t, m);
    }
  }
  EXPECT_GT(t.floor(), 0u);  // overflow or ack-of-ack pruning happened
  return saw_full;
}

TEST(AckRanges, RandomArrivalsMatchModel) {
  int full = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) full += run_random(seed, 3000, false);
  EXPECT_GT(full, 20);
}

TEST(AckRanges, RandomArrivalsWithAckOfAckMatchModel) {
  for (uint32_t seed = 100; seed <= 140; ++seed) run_random(seed, 3000, true);
}

TEST(AckRanges, InOrderExtendsOneRange) {
  AckTracker t;
  for (uint64_t pn = 0; pn < 1000; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  ASSERT_EQ(t.range_count(), 1u);
  EXPECT_EQ(t.range(0), (AckRange{0, 999}));
}

TEST(AckRanges, FillingHolesMerges) {
  AckTracker t;
  for (uint64_t pn : {0, 2, 4, 6}) ASSERT_TRUE(t.on_packet_received(pn, false, 0, 0));
  EXPECT_EQ(t.range_count(), 4u);
  ASSERT_TRUE(t.on_packet_received(3, false, 0, 0));
  EXPECT_EQ(tracker_ranges(t), (std::vector<AckRange>{{6, 6}, {2, 4}, {0, 0}}));
  ASSERT_TRUE(t.on_packet_received(5, false, 0, 0));
  ASSERT_TRUE(t.on_packet_received(1, false, 0, 0));
  EXPECT_EQ(tracker_ranges(t), (std::vector<AckRange>{{0, 6}}));
}

TEST(AckRanges, OverflowDropsOldestKeepsNewest) {
  AckTracker t;
  // Every other packet: each is its own range. 40 of them overflow the 32 slots.
  for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE(t.on_packet_received(2 * i, true, i, 0));
  ASSERT_EQ(t.range_count(), kMaxAckRanges);
  EXPECT_EQ(t.range(kMaxAckRanges - 1), (AckRange{78, 78}));  // newest kept
  EXPECT_EQ(t.range(0), (AckRange{16, 16}));                  // 0..14 dropped
  EXPECT_EQ(t.floor(), 15u);
  // The dropped ones, and the holes among them, now count as duplicates; holes above do not.
  EXPECT_TRUE(t.is_duplicate(0));
  EXPECT_TRUE(t.is_duplicate(13));
  EXPECT_TRUE(t.is_duplicate(14));
  EXPECT_FALSE(t.is_duplicate(15));
  EXPECT_FALSE(t.is_duplicate(17));
  EXPECT_FALSE(t.on_packet_received(3, true, 50, 0));
  // A new range below every kept one when full: accepted once, not kept, floor passes it.
  ASSERT_TRUE(t.on_packet_received(15, true, 51, 0));
  EXPECT_EQ(t.range_count(), kMaxAckRanges);
  EXPECT_EQ(t.range(0), (AckRange{15, 16}));  // it joined the oldest range instead
  for (uint64_t i = 0; i < 32; ++i) ASSERT_TRUE(t.on_packet_received(100 + 2 * i, true, 60, 0));
  EXPECT_EQ(t.range(0), (AckRange{100, 100}));
  ASSERT_TRUE(t.on_packet_received(90, true, 61, 0));
  EXPECT_EQ(t.range(0), (AckRange{100, 100}));
  EXPECT_TRUE(t.is_duplicate(90));
  EXPECT_EQ(t.floor(), 91u);
  EXPECT_EQ(t.largest_received(), 162);
}

TEST(AckRanges, DuplicatesAreRejected) {
  AckTracker t;
  for (uint64_t pn : {5, 6, 7, 10}) ASSERT_TRUE(t.on_packet_received(pn, true, 0, 0));
  for (uint64_t pn : {5, 6, 7, 10}) {
    EXPECT_TRUE(t.is_duplicate(pn));
    EXPECT_FALSE(t.on_packet_received(pn, true, 1, 2)) << pn;
  }
  for (uint64_t pn : {0, 4, 8, 9, 11, 1000}) EXPECT_FALSE(t.is_duplicate(pn)) << pn;
  EXPECT_EQ(t.ecn_counts().ect0, 0u);  // duplicates are not counted
}

TEST(AckRanges, AckOfAckPrunesAndRaisesFloor) {
  AckTracker t;
  for (uint64_t pn = 0; pn < 10; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  for (uint64_t pn = 20; pn < 30; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  std::vector<uint8_t> buf;
  ASSERT_TRUE(write_and_decode(t, buf, 40).ok);
  t.on_ack_sent(40, 100);
  EXPECT_FALSE(t.on_ack_packet_acked(99));  // carried no ACK: nothing happens
  EXPECT_EQ(t.range_count(), 2u);
  EXPECT_TRUE(t.on_ack_packet_acked(100));
  EXPECT_FALSE(t.on_ack_packet_acked(100));  // only once
  EXPECT_EQ(t.range_count(), 0u);
  EXPECT_EQ(t.floor(), 30u);
  EXPECT_FALSE(t.ack_pending());
  EXPECT_TRUE(t.is_duplicate(15));  // never received, but below the floor now
  EXPECT_TRUE(t.is_duplicate(29));
  EXPECT_EQ(t.largest_received(), 29);  // kept for packet number decoding (13.2.3)
  EXPECT_EQ(write_and_decode(t, buf, 41).ok, false);
  ASSERT_TRUE(t.on_packet_received(31, true, 42, 0));
  const DecodedAck d = write_and_decode(t, buf, 43);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.ranges, (std::vector<AckRange>{{31, 31}}));
}

TEST(AckRanges, AckOfAckTrimsRangeStraddlingLargest) {
  AckTracker t;
  for (uint64_t pn = 0; pn < 10; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  std::vector<uint8_t> buf;
  ASSERT_TRUE(write_and_decode(t, buf, 10).ok);
  t.on_ack_sent(10, 7);
  for (uint64_t pn = 10; pn < 13; ++pn) ASSERT_TRUE(t.on_packet_received(pn, true, pn, 0));
  ASSERT_TRUE(t.on_ack_packet_acked(7));  // that ACK carried Largest Acknowledged 9
  EXPECT_EQ(tracker_ranges(t), (std::vector<AckRange>{{10, 12}}));
  EXPECT_EQ(t.floor(), 10u);
  EXPECT_TRUE(t.ack_pending());
}

TEST(AckRanges, AckRecordsAreBounded) {
  AckTracker t;
  std::vector<uint8_t> buf;
  for (uint64_t i = 0; i < kAckRecords + 4; ++i) {
    ASSERT_TRUE(t.on_packet_received(i, true, i, 0));
    ASSERT_TRUE(write_and_decode(t, buf, i).ok);
    t.on_ack_sent(i, 1000 + i);
  }
  EXPECT_FALSE(t.on_ack_packet_acked(1000));  // overwritten: only pruning is lost
  EXPECT_TRUE(t.on_ack_packet_acked(1000 + kAckRecords + 3));
  EXPECT_EQ(t.range_count(), 0u);
}

TEST(AckRanges, LargestReceivedAndItsTime) {
  AckTracker t;
  EXPECT_EQ(t.largest_received(), -1);
  ASSERT_TRUE(t.on_packet_received(7, true, 70, 0));
  ASSERT_TRUE(t.on_packet_received(3, true, 80, 0));
  EXPECT_EQ(t.largest_received(), 7);
  EXPECT_EQ(t.largest_received_time(), 70u);
  ASSERT_TRUE(t.on_packet_received(8, false, 90, 0));
  EXPECT_EQ(t.largest_received(), 8);
  EXPECT_EQ(t.largest_received_time(), 90u);
}

}  // namespace
}  // namespace camp::quic::test
