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

namespace camp::quic {
namespace {

// Every CID keeps the path ID it was inserted with, also when deletions shift it along its probe
// run; find() is unchanged.
TEST(CidTable, StoresPathId) {
  CidTable t(64, 7);
  SeededRandom r(7);
  std::vector<ConnectionId> cids;
  for (uint32_t i = 0; i < 64; ++i) {
    cids.push_back(random_cid(r, 1 + i % 20));
    const uint64_t path = i == 63 ? kMaxPathId : i % 5;
    ASSERT_EQ(t.insert(cids.back().view(), 100 + i, path), CidTableError::kOk);
  }
  auto path_of = [](uint32_t i) { return i == 63 ? static_cast<uint32_t>(kMaxPathId) : i % 5; };
  // Remove every third entry: backward shifts move the survivors.
  for (uint32_t i = 0; i < 64; i += 3) ASSERT_TRUE(t.erase(cids[i].view()));
  for (uint32_t i = 0; i < 64; ++i) {
    const std::optional<CidEntry> e = t.find_entry(cids[i].view());
    if (i % 3 == 0) {
      EXPECT_FALSE(e.has_value());
      continue;
    }
    ASSERT_TRUE(e.has_value()) << i;
    EXPECT_EQ(*e, (CidEntry{100 + i, path_of(i)})) << i;
    EXPECT_EQ(t.find(cids[i].view()), 100 + i);
  }
  // Without a path ID a CID is on path 0; a duplicate keeps its first path ID.
  const ConnectionId x = random_cid(r, 8);
  ASSERT_EQ(t.insert(x.view(), 5), CidTableError::kOk);
  EXPECT_EQ(t.find_entry(x.view()), (CidEntry{5, 0}));
  EXPECT_EQ(t.insert(x.view(), 6, 3), CidTableError::kDuplicate);
  EXPECT_EQ(t.find_entry(x.view()), (CidEntry{5, 0}));
  // Path IDs above 2^32-1 cannot exist (multipath-21 2.1) and would not fit.
  const ConnectionId y = random_cid(r, 8);
  EXPECT_EQ(t.insert(y.view(), 7, kMaxPathId + 1), CidTableError::kBadPathId);
  EXPECT_FALSE(t.find_entry(y.view()).has_value());
  EXPECT_FALSE(t.find_entry(ByteView()).has_value());
}

}  // namespace
}  // namespace camp::quic
