// The event heap: time order, insertion order among equal times, fixed capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "drivers/sim/event_queue.h"
#include "drivers/sim/rng.h"

namespace camp::sim {
namespace {

TEST(SimEventQueue, PopsInTimeOrderThenInsertionOrder) {
  EventQueue q(16);
  q.push(30, EventKind::timer, 0);
  q.push(10, EventKind::timer, 1);
  q.push(20, EventKind::timer, 2);
  q.push(10, EventKind::timer, 3);
  q.push(10, EventKind::timer, 4);
  std::vector<uint32_t> order;
  while (!q.empty()) {
    order.push_back(q.top().a);
    q.pop();
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{1, 3, 4, 2, 0}));
}

TEST(SimEventQueue, CapacityIsFixed) {
  EventQueue q(3);
  EXPECT_TRUE(q.push(1, EventKind::timer, 0));
  EXPECT_TRUE(q.push(2, EventKind::timer, 0));
  EXPECT_TRUE(q.push(3, EventKind::timer, 0));
  EXPECT_FALSE(q.push(0, EventKind::timer, 9));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.top().time, 1u);  // the refused one did not get in
  q.pop();
  EXPECT_TRUE(q.push(0, EventKind::timer, 9));
  EXPECT_EQ(q.top().a, 9u);
}

TEST(SimEventQueue, MatchesAStableSortUnderRandomInterleaving) {
  EventQueue q(20000);
  Rng r(11);
  std::vector<std::pair<uint64_t, uint32_t>> ref;  // (time, id), id = insertion order
  std::vector<std::pair<uint64_t, uint32_t>> out;
  uint32_t id = 0;
  uint64_t floor = 0;
  for (int round = 0; round < 20000; ++round) {
    if (q.empty() || r.below(3) != 0) {
      const uint64_t t = floor + r.below(50);  // many ties on purpose
      ASSERT_TRUE(q.push(t, EventKind::arrival, id));
      ref.emplace_back(t, id++);
    } else {
      out.emplace_back(q.top().time, q.top().a);
      floor = q.top().time;
      q.pop();
    }
  }
  while (!q.empty()) {
    out.emplace_back(q.top().time, q.top().a);
    q.pop();
  }
  // Every pop is the smallest (time, id) present, so the output is sorted by time and, within a
  // time, by id; and nothing is lost.
  ASSERT_EQ(out.size(), ref.size());
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(), [](auto& x, auto& y) {
    return x.first < y.first;
  }));
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].first == out[i - 1].first) {
      ASSERT_LT(out[i - 1].second, out[i].second);
    }
  }
  std::sort(out.begin(), out.end());
  std::sort(ref.begin(), ref.end());
  EXPECT_EQ(out, ref);
}

}  // namespace
}  // namespace camp::sim
