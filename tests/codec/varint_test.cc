// The scalar QUIC varint codec (RFC 9000 section 16) and the ZigZag mapping used by MMF.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <cstdint>
#include <limits>

#include "dataplane/codec/varint.h"

namespace camp::varint {
namespace {

constexpr uint64_t kTwo62 = uint64_t{1} << 62;

TEST(Varint, MinimalSizeAtBoundaries) {
  EXPECT_EQ(size(0), 1u);
  EXPECT_EQ(size(63), 1u);
  EXPECT_EQ(size(64), 2u);
  EXPECT_EQ(size(16383), 2u);
  EXPECT_EQ(size(16384), 4u);
  EXPECT_EQ(size((uint64_t{1} << 30) - 1), 4u);
  EXPECT_EQ(size(uint64_t{1} << 30), 8u);
  EXPECT_EQ(size(kTwo62 - 1), 8u);
  EXPECT_EQ(size(kTwo62), 0u);
  EXPECT_EQ(size(~uint64_t{0}), 0u);
}

TEST(Varint, RoundTripBoundaryValues) {
  const uint64_t values[] = {0,         1,          63,          64,           16383,
                             16384,     (1u << 30) - 1, uint64_t{1} << 30, kTwo62 - 1};
  for (uint64_t v : values) {
    std::array<uint8_t, 8> buf{};
    const size_t len = encode(buf.data(), buf.size(), v);
    ASSERT_EQ(len, size(v)) << v;
    EXPECT_EQ(length_of(buf[0]), len) << v;
    uint64_t got = ~uint64_t{0};
    EXPECT_EQ(decode(buf.data(), len, &got), len) << v;
    EXPECT_EQ(got, v);
    // Every shorter buffer is truncated.
    for (size_t cut = 0; cut < len; ++cut) EXPECT_EQ(decode(buf.data(), cut, &got), 0u) << v;
  }
}

TEST(Varint, KnownEncodingsFromRfc9000) {
  // RFC 9000 appendix A.1 examples.
  const uint8_t eight[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
  const uint8_t four[] = {0x9d, 0x7f, 0x3e, 0x7d};
  const uint8_t two[] = {0x7b, 0xbd};
  const uint8_t one[] = {0x25};
  uint64_t v = 0;
  EXPECT_EQ(decode(eight, 8, &v), 8u);
  EXPECT_EQ(v, 151288809941952652ull);
  EXPECT_EQ(decode(four, 4, &v), 4u);
  EXPECT_EQ(v, 494878333u);
  EXPECT_EQ(decode(two, 2, &v), 2u);
  EXPECT_EQ(v, 15293u);
  EXPECT_EQ(decode(one, 1, &v), 1u);
  EXPECT_EQ(v, 37u);
  // The two-byte encoding of 37 decodes the same (non-minimal is allowed).
  const uint8_t two37[] = {0x40, 0x25};
  EXPECT_EQ(decode(two37, 2, &v), 2u);
  EXPECT_EQ(v, 37u);
  std::array<uint8_t, 8> buf{};
  ASSERT_EQ(encode(buf.data(), buf.size(), 151288809941952652ull), 8u);
  EXPECT_EQ(0, std::memcmp(buf.data(), eight, 8));
}

TEST(Varint, ForcedLengths) {
  for (size_t len : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
    const uint64_t max_for_len = len == 8 ? kTwo62 - 1 : (uint64_t{1} << (8 * len - 2)) - 1;
    for (uint64_t v : {uint64_t{0}, uint64_t{5}, max_for_len}) {
      std::array<uint8_t, 8> buf{};
      ASSERT_EQ(encode_len(buf.data(), buf.size(), v, len), len) << v << " in " << len;
      uint64_t got = 0;
      EXPECT_EQ(decode(buf.data(), buf.size(), &got), len);
      EXPECT_EQ(got, v);
    }
    std::array<uint8_t, 8> buf{};
    EXPECT_EQ(encode_len(buf.data(), len - 1, 0, len), 0u) << "cap too small";
  }
  std::array<uint8_t, 8> buf{};
  // One past the largest value of each length does not fit it.
  EXPECT_EQ(encode_len(buf.data(), buf.size(), 64, 1), 0u);
  EXPECT_EQ(encode_len(buf.data(), buf.size(), 16384, 2), 0u);
  EXPECT_EQ(encode_len(buf.data(), buf.size(), uint64_t{1} << 30, 4), 0u);
  EXPECT_EQ(encode_len(buf.data(), buf.size(), 1, 3), 0u);
  EXPECT_EQ(encode_len(buf.data(), buf.size(), 1, 0), 0u);
  EXPECT_EQ(encode_len(buf.data(), buf.size(), kTwo62, 8), 0u);
}

TEST(Varint, RejectsTooLargeAndTooSmallBuffer) {
  std::array<uint8_t, 8> buf{};
  EXPECT_EQ(encode(buf.data(), buf.size(), kTwo62), 0u);
  EXPECT_EQ(encode(buf.data(), buf.size(), ~uint64_t{0}), 0u);
  EXPECT_EQ(encode(buf.data(), 3, 16384), 0u);
  EXPECT_EQ(encode(buf.data(), 0, 0), 0u);
  EXPECT_EQ(encode(buf.data(), 1, 63), 1u);
}

TEST(Varint, ZigZagMapping) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  EXPECT_EQ(zigzag_encode(2), 4u);
  // The 62-bit range of a varint holds signed values in [-2^61, 2^61 - 1].
  const int64_t lo = -(int64_t{1} << 61);
  const int64_t hi = (int64_t{1} << 61) - 1;
  EXPECT_EQ(zigzag_encode(hi), kTwo62 - 2);
  EXPECT_EQ(zigzag_encode(lo), kTwo62 - 1);
  EXPECT_LE(zigzag_encode(lo), kMax);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::max()), ~uint64_t{0} - 1);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::min()), ~uint64_t{0});
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{-85000}, int64_t{50000}, lo, hi,
                    lo + 1, hi - 1, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v) << v;
  }
  // MMF's example: -85000 us is sent as 169999.
  EXPECT_EQ(zigzag_encode(-85000), 169999u);
  // Every u in the varint range decodes to a value that encodes back to u.
  for (uint64_t u : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, kTwo62 - 2, kTwo62 - 1}) {
    EXPECT_EQ(zigzag_encode(zigzag_decode(u)), u) << u;
  }
}

TEST(Varint, ZigZagSweep) {
  // Walk the 62-bit range in big strides from both ends; the map must be a bijection that
  // alternates sign and keeps small magnitudes small.
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 100000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t u = x & kMax;
    const int64_t s = zigzag_decode(u);
    ASSERT_EQ(zigzag_encode(s), u);
    ASSERT_EQ(s < 0, (u & 1) == 1);
    ASSERT_LE(size(zigzag_encode(s)), 8u);
  }
}

}  // namespace
}  // namespace camp::varint
