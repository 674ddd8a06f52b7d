#include "dataplane/quic/cid/cid_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/quic/cid/random_source.h"

namespace camp::quic {
namespace {

ConnectionId random_cid(SeededRandom& r, size_t len) {
  ConnectionId c;
  c.length = static_cast<uint8_t>(len);
  r.fill(c.bytes.data(), len);
  return c;
}

TEST(CidTable, InsertLookupErase) {
  CidTable t(4, 1);
  SeededRandom r(1);
  const ConnectionId a = random_cid(r, 8), b = random_cid(r, 20), c = random_cid(r, 1);
  EXPECT_EQ(t.insert(a.view(), 10), CidTableError::kOk);
  EXPECT_EQ(t.insert(b.view(), 20), CidTableError::kOk);
  EXPECT_EQ(t.insert(c.view(), 30), CidTableError::kOk);
  EXPECT_EQ(t.insert(a.view(), 11), CidTableError::kDuplicate);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.find(a.view()), 10u);
  EXPECT_EQ(t.find(b.view()), 20u);
  EXPECT_EQ(t.find(c.view()), 30u);
  // Same bytes, different length: a different CID.
  EXPECT_FALSE(t.find(ByteView(a.bytes.data(), 7)).has_value());
  EXPECT_TRUE(t.erase(b.view()));
  EXPECT_FALSE(t.erase(b.view()));
  EXPECT_FALSE(t.find(b.view()).has_value());
  EXPECT_EQ(t.find(a.view()), 10u);
  EXPECT_EQ(t.size(), 2u);
}

TEST(CidTable, BadLengths) {
  CidTable t(4, 1);
  uint8_t big[21] = {};
  EXPECT_EQ(t.insert(ByteView(), 1), CidTableError::kBadLength);
  EXPECT_EQ(t.insert(ByteView(big, 21), 1), CidTableError::kBadLength);
  EXPECT_FALSE(t.find(ByteView(big, 21)).has_value());
  EXPECT_FALSE(t.erase(ByteView()));
}

TEST(CidTable, FullReturnsErrorAndNeverGrows) {
  CidTable t(100, 7);
  SeededRandom r(2);
  std::vector<ConnectionId> cids;
  for (int i = 0; i < 100; ++i) {
    cids.push_back(random_cid(r, 9));
    ASSERT_EQ(t.insert(cids.back().view(), i), CidTableError::kOk);
  }
  const ConnectionId extra = random_cid(r, 9);
  EXPECT_EQ(t.insert(extra.view(), 100), CidTableError::kFull);
  EXPECT_EQ(t.size(), 100u);
  ASSERT_TRUE(t.erase(cids[50].view()));
  EXPECT_EQ(t.insert(extra.view(), 100), CidTableError::kOk);
  EXPECT_EQ(t.find(extra.view()), 100u);
}

// Heavy churn at full load against a reference: backward-shift deletion must keep every
// remaining entry reachable.
TEST(CidTable, ChurnMatchesReference) {
  constexpr size_t kCap = 64;
  CidTable t(kCap, 3);
  SeededRandom r(9);
  std::vector<std::pair<ConnectionId, uint32_t>> live;
  for (uint32_t step = 0; step < 20000; ++step) {
    const bool do_insert = live.size() < kCap && (live.empty() || r.next() % 3 != 0);
    if (do_insert) {
      const ConnectionId c = random_cid(r, 4 + r.next() % 17);
      ASSERT_EQ(t.insert(c.view(), step), CidTableError::kOk);
      live.emplace_back(c, step);
    } else {
      const size_t i = r.next() % live.size();
      ASSERT_TRUE(t.erase(live[i].first.view()));
      live[i] = live.back();
      live.pop_back();
    }
    if (step % 97 == 0) {
      for (const auto& [c, h] : live) ASSERT_EQ(t.find(c.view()), h) << step;
      ASSERT_EQ(t.size(), live.size());
    }
  }
}

// Few distinct bits: CIDs differing only in their last byte still spread and resolve.
TEST(CidTable, SimilarKeys) {
  CidTable t(256, 0);
  ConnectionId c;
  c.length = 12;
  for (int i = 0; i < 256; ++i) {
    c.bytes[11] = static_cast<uint8_t>(i);
    ASSERT_EQ(t.insert(c.view(), i), CidTableError::kOk);
  }
  for (int i = 0; i < 256; ++i) {
    c.bytes[11] = static_cast<uint8_t>(i);
    ASSERT_EQ(t.find(c.view()), static_cast<uint32_t>(i));
  }
}

}  // namespace
}  // namespace camp::quic
