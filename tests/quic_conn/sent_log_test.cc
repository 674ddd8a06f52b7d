// The per-space log of what each packet carried: records found by tag after the rings grew, and
// out-of-order settling with the frame ring reclaimed only from the tail.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/quic/conn/sent_log.h"

namespace camp::quic {
namespace {

TEST(SentLog, GrowsAndKeepsEveryLiveRecord) {
  SentLog log(256, 1024, 4);  // starts at 4 records and 16 frames
  std::vector<uint64_t> tags;
  std::vector<bool> early(200, false);
  for (uint64_t p = 0; p < 200; ++p) {
    ASSERT_TRUE(log.begin(4));
    for (uint64_t f = 0; f < p % 4 + 1; ++f) {
      log.add({SentFrameKind::kStream, false, false, 100, p, f, 0});
    }
    tags.push_back(log.commit());
    if (p % 3 == 0 && !early[p / 2]) {  // settle some early, out of order, as the rings grow
      uint64_t n = 0;
      log.settle(tags[p / 2], [&](const SentFrame&) { ++n; });
      EXPECT_EQ(n, p / 2 % 4 + 1);
      early[p / 2] = true;
    }
  }
  // Every record not settled yet is still there with its own frames, in order.
  for (uint64_t p = 0; p < 200; ++p) {
    std::vector<uint64_t> seen;
    log.settle(tags[p], [&](const SentFrame& f) {
      EXPECT_EQ(f.a, p);
      seen.push_back(f.b);
    });
    if (early[p]) {
      EXPECT_TRUE(seen.empty());
      continue;
    }
    ASSERT_EQ(seen.size(), p % 4 + 1) << p;
    for (uint64_t f = 0; f < seen.size(); ++f) EXPECT_EQ(seen[f], f);
  }
  // Settling twice does nothing.
  int again = 0;
  for (uint64_t t : tags) log.settle(t, [&](const SentFrame&) { ++again; });
  EXPECT_EQ(again, 0);
}

TEST(SentLog, RefusesPastItsMaximumUntilTheTailSettles) {
  SentLog log(8, 16, 2);
  std::vector<uint64_t> tags;
  for (int p = 0; p < 8; ++p) {
    ASSERT_TRUE(log.begin(2));
    log.add({SentFrameKind::kPing});
    log.add({SentFrameKind::kPing});
    tags.push_back(log.commit());
  }
  EXPECT_FALSE(log.begin(2));  // 8 records, 16 frames: full at the maximum
  log.settle(tags[3], [](const SentFrame&) {});
  EXPECT_FALSE(log.begin(2));  // a hole in the middle frees nothing
  log.settle(tags[0], [](const SentFrame&) {});
  EXPECT_TRUE(log.begin(2));   // the tail moved
  log.discard_open();
}

}  // namespace
}  // namespace camp::quic
