#include "dataplane/quic/stream/offset_bitmap.h"

#include <algorithm>
#include <bit>

namespace camp::quic {

OffsetBitmap::OffsetBitmap(size_t capacity_bits)
    : words_(capacity_bits ? std::make_unique<uint64_t[]>(capacity_bits / 64) : nullptr),
      cap_(capacity_bits),
      ring_(capacity_bits) {}

// Calls fn(word, mask) for every word touched by [lo, hi), mask holding the range's bits in it.
// One ring index for the start; after the first word the walk is word-aligned and wraps by compare.
template <class Fn>
void OffsetBitmap::for_each_word(uint64_t lo, uint64_t hi, Fn&& fn) {
  if (lo >= hi) return;
  const size_t nwords = cap_ / 64;
  const size_t idx = ring_(lo);
  size_t w = idx / 64;
  const size_t bit = idx % 64;
  uint64_t n = std::min<uint64_t>(64 - bit, hi - lo);
  fn(w, (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << bit);
  lo += n;
  while (lo < hi) {
    if (++w == nwords) w = 0;
    n = std::min<uint64_t>(64, hi - lo);
    fn(w, n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1));
    lo += n;
  }
}

// set() and clear(): the whole words between the partial first and last one are stored in at
// most two runs (the ring wraps once at most), which the compiler turns into wide stores. A
// packet's 1,150 bytes are 18 words: the word-at-a-time walk cost ~130 instructions per range.
template <bool kSet>
void OffsetBitmap::fill(uint64_t lo, uint64_t hi) {
  if (lo >= hi) return;
  const size_t nwords = cap_ / 64;
  auto apply = [this](size_t w, uint64_t m) {
    if constexpr (kSet) {
      words_[w] |= m;
    } else {
      words_[w] &= ~m;
    }
  };
  const size_t idx = ring_(lo);
  size_t w = idx / 64;
  const size_t bit = idx % 64;
  const uint64_t n = std::min<uint64_t>(64 - bit, hi - lo);
  apply(w, (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << bit);
  lo += n;
  if (++w == nwords) w = 0;
  uint64_t whole = (hi - lo) / 64;
  while (whole) {
    const size_t run = static_cast<size_t>(std::min<uint64_t>(whole, nwords - w));
    std::fill_n(words_.get() + w, run, kSet ? ~uint64_t{0} : 0);
    w += run;
    if (w == nwords) w = 0;
    whole -= run;
    lo += uint64_t{run} * 64;
  }
  if (lo < hi) apply(w, (uint64_t{1} << (hi - lo)) - 1);
}

void OffsetBitmap::set(uint64_t lo, uint64_t hi) { fill<true>(lo, hi); }

void OffsetBitmap::clear(uint64_t lo, uint64_t hi) { fill<false>(lo, hi); }

void OffsetBitmap::set_except(uint64_t lo, uint64_t hi, const OffsetBitmap& mask) {
  for_each_word(lo, hi, [&](size_t w, uint64_t m) { words_[w] |= m & ~mask.words_[w]; });
}

bool OffsetBitmap::test(uint64_t off) const {
  size_t idx = ring_(off);
  return (words_[idx / 64] >> (idx % 64)) & 1;
}

uint64_t OffsetBitmap::find(uint64_t from, uint64_t to, bool want_clear) const {
  if (from >= to) return to;
  const size_t nwords = cap_ / 64;
  const uint64_t flip = want_clear ? ~uint64_t{0} : 0;
  const size_t idx = ring_(from);
  size_t w = idx / 64;
  const size_t bit = idx % 64;
  uint64_t n = std::min<uint64_t>(64 - bit, to - from);
  uint64_t word = (words_[w] ^ flip) >> bit;
  if (n < 64) word &= (uint64_t{1} << n) - 1;
  if (word) return from + static_cast<uint64_t>(std::countr_zero(word));
  from += n;
  while (from < to) {
    if (++w == nwords) w = 0;
    n = std::min<uint64_t>(64, to - from);
    word = words_[w] ^ flip;
    if (n < 64) word &= (uint64_t{1} << n) - 1;
    if (word) return from + static_cast<uint64_t>(std::countr_zero(word));
    from += n;
  }
  return to;
}

}  // namespace camp::quic
