// Property tests: every batch decoder gives exactly what looping the scalar reference
// camp::varint::decode() gives, on valid, adversarial and truncated input, with any output room,
// never touching memory outside the input or past out[max_out - 1] (ASan checks the first; guard
// words check the second).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/codec/varint.h"
#include "dataplane/codec/varint_batch.h"

namespace camp::varint {
namespace {

using Bytes = std::vector<uint8_t>;

struct Result {
  size_t count = 0;
  size_t consumed = 0;
  std::vector<uint64_t> values;
};

Result reference(const uint8_t* p, size_t n, size_t max_out) {
  Result r;
  while (r.count < max_out) {
    uint64_t v;
    const size_t len = decode(p + r.consumed, n - r.consumed, &v);
    if (len == 0) break;
    r.values.push_back(v);
    r.consumed += len;
    ++r.count;
  }
  return r;
}

constexpr uint64_t kGuard = 0xdeadbeefcafef00dull;
constexpr size_t kGuardWords = 16;

// Runs impl on a copy of in held in an allocation of exactly its size, so that ASan reports any
// read past the end, and checks the result against the reference.
void expect_same(Impl impl, const Bytes& in, size_t max_out, const std::string& what) {
  const size_t n = in.size();
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n == 0 ? 1 : n]);
  if (n) std::memcpy(buf.get(), in.data(), n);
  const Result want = reference(buf.get(), n, max_out);
  std::vector<uint64_t> out(max_out + kGuardWords, kGuard);
  size_t consumed = ~size_t{0};
  const size_t count = decode_batch(impl, buf.get(), n, out.data(), max_out, &consumed);
  ASSERT_EQ(count, want.count) << impl_name(impl) << " " << what << " n=" << n
                               << " max_out=" << max_out;
  ASSERT_EQ(consumed, want.consumed) << impl_name(impl) << " " << what << " n=" << n;
  for (size_t i = 0; i < count; ++i) {
    ASSERT_EQ(out[i], want.values[i]) << impl_name(impl) << " " << what << " value " << i
                                      << " n=" << n;
  }
  for (size_t i = max_out; i < out.size(); ++i) {
    ASSERT_EQ(out[i], kGuard) << impl_name(impl) << " wrote past max_out: " << what;
  }
}

// A stream of varints with lengths drawn from weights (1, 2, 4, 8 bytes) and values drawn
// uniformly within the chosen length, sometimes non-minimal.
Bytes random_stream(std::mt19937_64& rng, size_t count, const double (&weights)[4]) {
  std::discrete_distribution<int> pick(std::begin(weights), std::end(weights));
  Bytes b;
  for (size_t i = 0; i < count; ++i) {
    const size_t len = size_t{1} << pick(rng);
    const uint64_t top = len == 8 ? kMax : (uint64_t{1} << (8 * len - 2)) - 1;
    uint64_t v = rng() & top;
    if (rng() % 4 == 0) v >>= rng() % 62;  // small values in long encodings too
    uint8_t tmp[8];
    const size_t w = encode_len(tmp, sizeof tmp, v, len);
    b.insert(b.end(), tmp, tmp + w);
  }
  return b;
}

Bytes random_bytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class BatchDecode : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (!impl_supported(GetParam())) GTEST_SKIP() << impl_name(GetParam()) << " not on this CPU";
  }
};

TEST_P(BatchDecode, EmptyAndZeroRoom) {
  expect_same(GetParam(), {}, 0, "empty");
  expect_same(GetParam(), {}, 10, "empty");
  expect_same(GetParam(), Bytes(300, 0x01), 0, "no room");
  expect_same(GetParam(), {0xc0}, 10, "lone 8-byte prefix");
}

TEST_P(BatchDecode, MmfLikeMixes) {
  std::mt19937_64 rng(1);
  const double mixes[][4] = {{0.45, 0.40, 0.12, 0.03}, {1, 0, 0, 0},     {0, 1, 0, 0},
                             {0, 0, 1, 0},             {0, 0, 0, 1},     {1, 1, 1, 1},
                             {0.9, 0, 0, 0.1},         {0.5, 0, 0.5, 0}, {0.2, 0.2, 0.3, 0.3}};
  for (const auto& mix : mixes) {
    for (size_t count : {size_t{1}, size_t{7}, size_t{63}, size_t{64}, size_t{65}, size_t{200},
                         size_t{3000}}) {
      const Bytes b = random_stream(rng, count, mix);
      expect_same(GetParam(), b, count, "exact room");
      expect_same(GetParam(), b, count + 100, "spare room");
      expect_same(GetParam(), b, count / 2, "half room");
    }
  }
}

TEST_P(BatchDecode, RandomBytes) {
  // Random prefix bits everywhere: the decoder must follow the chain exactly.
  std::mt19937_64 rng(2);
  for (int round = 0; round < 400; ++round) {
    const size_t n = rng() % 700;
    expect_same(GetParam(), random_bytes(rng, n), 1000, "random bytes");
    expect_same(GetParam(), random_bytes(rng, n), rng() % 90, "random bytes, small room");
  }
}

TEST_P(BatchDecode, EveryLengthAndExtremeValues) {
  for (uint8_t fill : {0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff}) {
    for (size_t n : {size_t{1}, size_t{63}, size_t{64}, size_t{127}, size_t{128}, size_t{129},
                     size_t{255}, size_t{256}, size_t{257}, size_t{1000}}) {
      expect_same(GetParam(), Bytes(n, fill), 2000, "fill " + std::to_string(fill));
    }
  }
  // Maximum value of every length, back to back, in every rotation.
  const Bytes maxes = {0x3f, 0x7f, 0xff, 0xbf, 0xff, 0xff, 0xff,
                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  Bytes b;
  for (int i = 0; i < 40; ++i) b.insert(b.end(), maxes.begin(), maxes.end());
  for (size_t rot = 0; rot < maxes.size(); ++rot) {
    expect_same(GetParam(), Bytes(b.begin() + rot, b.end()), 1000, "maxes");
  }
}

TEST_P(BatchDecode, TruncatedAtEveryByte) {
  std::mt19937_64 rng(3);
  const double mix[4] = {0.4, 0.3, 0.2, 0.1};
  for (int round = 0; round < 3; ++round) {
    const Bytes full = random_stream(rng, 120, mix);
    for (size_t n = 0; n <= full.size(); ++n) {
      expect_same(GetParam(), Bytes(full.begin(), full.begin() + n), 500, "truncated");
    }
  }
  // Long varints straddling every block boundary.
  Bytes eights;
  for (int i = 0; i < 40; ++i) {
    uint8_t tmp[8];
    encode_len(tmp, 8, kMax - i, 8);
    eights.insert(eights.end(), tmp, tmp + 8);
  }
  for (size_t lead = 0; lead < 8; ++lead) {
    Bytes b(lead, 0x05);
    b.insert(b.end(), eights.begin(), eights.end());
    for (size_t n = 0; n <= b.size(); ++n) {
      expect_same(GetParam(), Bytes(b.begin(), b.begin() + n), 500, "eights truncated");
    }
  }
}

TEST_P(BatchDecode, EveryRoomSize) {
  std::mt19937_64 rng(4);
  const double mix[4] = {0.5, 0.3, 0.15, 0.05};
  const Bytes b = random_stream(rng, 400, mix);
  for (size_t room = 0; room <= 400; ++room) expect_same(GetParam(), b, room, "room");
  const Bytes ones(500, 0x2a);
  for (size_t room = 0; room <= 200; ++room) expect_same(GetParam(), ones, room, "ones room");
}

TEST_P(BatchDecode, ManyRandomStreams) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 300; ++round) {
    double mix[4];
    for (double& w : mix) w = static_cast<double>(rng() % 100) + 0.01;
    const Bytes b = random_stream(rng, rng() % 500, mix);
    // Random cut and random room.
    const size_t n = b.empty() ? 0 : rng() % (b.size() + 1);
    expect_same(GetParam(), Bytes(b.begin(), b.begin() + n), rng() % 600, "random cut");
  }
}

INSTANTIATE_TEST_SUITE_P(Impls, BatchDecode,
                         ::testing::Values(Impl::scalar, Impl::avx2, Impl::avx512),
                         [](const auto& info) { return std::string(impl_name(info.param)); });

TEST(BatchDispatch, NamesAndBest) {
  EXPECT_STREQ(impl_name(Impl::scalar), "scalar");
  EXPECT_STREQ(impl_name(Impl::avx2), "avx2");
  EXPECT_STREQ(impl_name(Impl::avx512), "avx512");
  EXPECT_TRUE(impl_supported(Impl::scalar));
  const Impl best = best_impl();
  EXPECT_TRUE(impl_supported(best));
  if (impl_supported(Impl::avx512)) {
    EXPECT_EQ(best, Impl::avx512);
  }
  // The one-argument-less entry point agrees with the reference too.
  std::mt19937_64 rng(6);
  const double mix[4] = {0.5, 0.3, 0.15, 0.05};
  const Bytes b = random_stream(rng, 1000, mix);
  const Result want = reference(b.data(), b.size(), 1000);
  std::vector<uint64_t> out(1000);
  size_t consumed = 0;
  ASSERT_EQ(decode_batch(b.data(), b.size(), out.data(), out.size(), &consumed), want.count);
  EXPECT_EQ(consumed, b.size());
  EXPECT_EQ(out, want.values);
}

TEST(BatchDispatch, UnsupportedImplDecodesNothing) {
  for (Impl impl : kAllImpls) {
    if (impl_supported(impl)) continue;
    const Bytes b(100, 1);
    uint64_t out[100];
    size_t consumed = 7;
    EXPECT_EQ(decode_batch(impl, b.data(), b.size(), out, 100, &consumed), 0u);
    EXPECT_EQ(consumed, 0u);
  }
}

}  // namespace
}  // namespace camp::varint
