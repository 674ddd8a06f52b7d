// Client NEW_TOKEN store: put/take round trips, one-shot use, replacement by newer tokens, keys
// by name (case-insensitive) and port, limits on name and token sizes, LRU eviction when full.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "dataplane/quic/token/token_store.h"

namespace camp::quic {
namespace {

std::vector<uint8_t> tok(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 7 + i);
  return v;
}
ByteView view(const std::vector<uint8_t>& v) { return {v.data(), v.size()}; }

std::vector<uint8_t> take(TokenStore& s, std::string_view name, uint16_t port) {
  std::array<uint8_t, kMaxStoredTokenLen> buf;
  const size_t n = s.take(name, port, buf.data(), buf.size());
  return {buf.begin(), buf.begin() + n};
}

TEST(TokenStoreTest, PutThenTakeOnce) {
  TokenStore s;
  const auto t = tok(54, 1);
  ASSERT_TRUE(s.put("example.com", 443, view(t)));
  EXPECT_TRUE(s.contains("example.com", 443));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(take(s, "example.com", 443), t);
  // Used once: a second attempt must not send it again (RFC 9000 8.1.3).
  EXPECT_TRUE(take(s, "example.com", 443).empty());
  EXPECT_FALSE(s.contains("example.com", 443));
  EXPECT_EQ(s.size(), 0u);
}

TEST(TokenStoreTest, KeyedByNameAndPort) {
  TokenStore s;
  const auto a = tok(10, 1), b = tok(11, 2), c = tok(12, 3);
  ASSERT_TRUE(s.put("a.example", 443, view(a)));
  ASSERT_TRUE(s.put("a.example", 8443, view(b)));
  ASSERT_TRUE(s.put("b.example", 443, view(c)));
  EXPECT_TRUE(take(s, "a.example", 444).empty());
  EXPECT_TRUE(take(s, "c.example", 443).empty());
  EXPECT_TRUE(take(s, "a.exampl", 443).empty());
  EXPECT_TRUE(take(s, "a.example.", 443).empty());
  EXPECT_EQ(take(s, "A.Example", 8443), b);  // DNS names ignore ASCII case
  EXPECT_EQ(take(s, "b.example", 443), c);
  EXPECT_EQ(take(s, "a.example", 443), a);
}

TEST(TokenStoreTest, NewerTokenReplacesOlder) {
  TokenStore s;
  const auto old_t = tok(40, 1), new_t = tok(60, 2);
  ASSERT_TRUE(s.put("srv", 1, view(old_t)));
  ASSERT_TRUE(s.put("SRV", 1, view(new_t)));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(take(s, "srv", 1), new_t);
  EXPECT_TRUE(take(s, "srv", 1).empty());
}

TEST(TokenStoreTest, RejectsBadSizes) {
  TokenStore s;
  const auto t = tok(20, 1);
  const std::string longest(kMaxServerNameLen, 'x'), too_long(kMaxServerNameLen + 1, 'x');
  EXPECT_FALSE(s.put("", 1, view(t)));
  EXPECT_FALSE(s.put(too_long, 1, view(t)));
  EXPECT_FALSE(s.put("srv", 1, ByteView{}));  // 19.7: a token is never empty
  const auto big = tok(kMaxStoredTokenLen + 1, 3);
  EXPECT_FALSE(s.put("srv", 1, view(big)));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(take(s, too_long, 1).empty());

  const auto max = tok(kMaxStoredTokenLen, 4);
  ASSERT_TRUE(s.put(longest, 65535, view(max)));
  // No room for it: the token stays.
  std::array<uint8_t, kMaxStoredTokenLen> buf;
  EXPECT_EQ(s.take(longest, 65535, buf.data(), kMaxStoredTokenLen - 1), 0u);
  EXPECT_EQ(s.take(longest, 65535, nullptr, 1000), 0u);
  EXPECT_TRUE(s.contains(longest, 65535));
  EXPECT_EQ(take(s, longest, 65535), max);
}

TEST(TokenStoreTest, EvictsLeastRecentlyPutWhenFull) {
  TokenStore s;
  auto name = [](size_t i) { return "server" + std::to_string(i) + ".example"; };
  for (size_t i = 0; i < kTokenStoreCapacity; ++i) {
    ASSERT_TRUE(s.put(name(i), 443, view(tok(30, static_cast<uint8_t>(i)))));
  }
  EXPECT_EQ(s.size(), kTokenStoreCapacity);
  // Refresh server0: server1 is now the oldest.
  ASSERT_TRUE(s.put(name(0), 443, view(tok(31, 100))));
  ASSERT_TRUE(s.put("newcomer", 443, view(tok(32, 101))));
  EXPECT_EQ(s.size(), kTokenStoreCapacity);
  EXPECT_FALSE(s.contains(name(1), 443));
  EXPECT_TRUE(s.contains(name(0), 443));
  EXPECT_TRUE(s.contains("newcomer", 443));
  ASSERT_TRUE(s.put("second", 443, view(tok(33, 102))));
  EXPECT_FALSE(s.contains(name(2), 443));
  for (size_t i = 3; i < kTokenStoreCapacity; ++i) EXPECT_TRUE(s.contains(name(i), 443)) << i;
  EXPECT_EQ(take(s, name(0), 443), tok(31, 100));

  // A taken entry frees its slot: the next put uses it and evicts nothing.
  ASSERT_TRUE(s.put("third", 443, view(tok(34, 103))));
  for (size_t i = 3; i < kTokenStoreCapacity; ++i) EXPECT_TRUE(s.contains(name(i), 443)) << i;
  EXPECT_TRUE(s.contains("newcomer", 443));
  EXPECT_TRUE(s.contains("second", 443));
  EXPECT_EQ(s.size(), kTokenStoreCapacity);

  s.clear();
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.contains("third", 443));
}

}  // namespace
}  // namespace camp::quic
