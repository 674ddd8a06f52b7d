// DatagramRing: bounded FIFO of DATAGRAM payloads with their SendMeta; pinned ones are taken
// only for their path and the others pass them in order.
#include "dataplane/quic/conn/datagram_ring.h"

#include <gtest/gtest.h>

#include <vector>

namespace camp::quic {
namespace {

SendMeta pinned(uint32_t path) {
  SendMeta m;
  m.path_id = path;
  return m;
}

// Takes, for a packet on `path`, every datagram it may carry; returns their ids in order.
std::vector<uint64_t> take_all(DatagramRing& r, uint32_t path) {
  std::vector<uint64_t> ids;
  for (size_t k; (k = r.first_for(path)) < r.size();) {
    ids.push_back(r.at(k).id);
    r.erase(k);
  }
  return ids;
}

TEST(DatagramRing, PinnedEntriesWaitForTheirPathAndTheRestKeepOrder) {
  DatagramRing r;
  r.init(8, 100);
  const uint8_t d[3] = {1, 2, 3};
  ASSERT_TRUE(r.push(d, 1, pinned(1)));
  ASSERT_TRUE(r.push(d, 2));
  ASSERT_TRUE(r.push(d, 3, pinned(1)));
  ASSERT_TRUE(r.push(d, 4));
  ASSERT_TRUE(r.push(d, 5, pinned(2)));
  EXPECT_TRUE(r.has_unpinned());
  EXPECT_EQ(take_all(r, 0), (std::vector<uint64_t>{2, 4}));
  EXPECT_FALSE(r.has_unpinned());
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.first_for(0), r.size());
  EXPECT_EQ(take_all(r, 1), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(r.front().id, 5u);
  EXPECT_EQ(r.front().meta.path_id, 2u);
  EXPECT_EQ(r.front().data, (std::vector<uint8_t>{1, 2, 3}));
  r.pop();
  EXPECT_TRUE(r.empty());
}

TEST(DatagramRing, BoundedAndReusesItsBuffersAcrossTheWrap) {
  DatagramRing r;
  r.init(3, 4);
  const uint8_t big[5] = {};
  EXPECT_FALSE(r.push(big, 9));  // larger than max_size
  for (uint64_t round = 0; round < 5; ++round) {
    for (uint64_t i = 0; i < 3; ++i) {
      const uint8_t b[2] = {static_cast<uint8_t>(round), static_cast<uint8_t>(i)};
      ASSERT_TRUE(r.push(b, round * 10 + i, i == 1 ? pinned(7) : SendMeta{}));
    }
    const uint8_t extra[1] = {0};
    EXPECT_FALSE(r.push(extra, 99));  // full
    // The middle (pinned) one leaves first, from the middle of the ring; order is kept.
    const size_t k = r.first_for(7);
    ASSERT_EQ(k, 0u);  // the front is unpinned: any path may take it, path 7 included
    r.erase(1);
    EXPECT_EQ(r.at(0).id, round * 10);
    EXPECT_EQ(r.at(1).id, round * 10 + 2);
    EXPECT_EQ(r.at(1).data, (std::vector<uint8_t>{static_cast<uint8_t>(round), 2}));
    r.pop();
    r.pop();
    EXPECT_TRUE(r.empty());
    EXPECT_FALSE(r.has_unpinned());
  }
}

}  // namespace
}  // namespace camp::quic
