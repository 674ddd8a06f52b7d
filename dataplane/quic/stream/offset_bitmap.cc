#include "dataplane/quic/stream/offset_bitmap.h"

#include <algorithm>
#include <bit>

namespace camp::quic {

OffsetBitmap::OffsetBitmap(size_t capacity_bits)
    : words_(capacity_bits ? std::make_unique<uint64_t[]>(capacity_bits / 64) : nullptr),
      cap_(capacity_bits) {}

// Calls fn(word, mask) for every word touched by [lo, hi), mask holding the range's bits in it.
template <class Fn>
void OffsetBitmap::for_each_word(uint64_t lo, uint64_t hi, Fn&& fn) {
  while (lo < hi) {
    size_t idx = lo % cap_;
    size_t bit = idx % 64;
    uint64_t n = std::min<uint64_t>(64 - bit, hi - lo);
    uint64_t mask = (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << bit;
    fn(idx / 64, mask);
    lo += n;
  }
}

void OffsetBitmap::set(uint64_t lo, uint64_t hi) {
  for_each_word(lo, hi, [this](size_t w, uint64_t m) { words_[w] |= m; });
}

void OffsetBitmap::clear(uint64_t lo, uint64_t hi) {
  for_each_word(lo, hi, [this](size_t w, uint64_t m) { words_[w] &= ~m; });
}

void OffsetBitmap::set_except(uint64_t lo, uint64_t hi, const OffsetBitmap& mask) {
  for_each_word(lo, hi, [&](size_t w, uint64_t m) { words_[w] |= m & ~mask.words_[w]; });
}

bool OffsetBitmap::test(uint64_t off) const {
  size_t idx = off % cap_;
  return (words_[idx / 64] >> (idx % 64)) & 1;
}

uint64_t OffsetBitmap::find(uint64_t from, uint64_t to, bool want_clear) const {
  while (from < to) {
    size_t idx = from % cap_;
    size_t bit = idx % 64;
    uint64_t n = std::min<uint64_t>(64 - bit, to - from);
    uint64_t word = words_[idx / 64];
    if (want_clear) word = ~word;
    word >>= bit;
    if (n < 64) word &= (uint64_t{1} << n) - 1;
    if (word) return from + static_cast<uint64_t>(std::countr_zero(word));
    from += n;
  }
  return to;
}

}  // namespace camp::quic
