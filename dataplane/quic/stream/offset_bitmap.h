// One bit per stream byte over a sliding window of offsets, stored as a ring: offset o lives at bit
// o % capacity. Used for "received", "acknowledged" and "lost" marks. The window is fixed at
// construction, so a peer's frame pattern can never grow it; ranges are walked a word at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/quic/stream/ring_index.h"

namespace camp::quic {

class OffsetBitmap {
 public:
  OffsetBitmap() = default;
  // capacity_bits must be a multiple of 64 (callers round their window up).
  explicit OffsetBitmap(size_t capacity_bits);

  size_t capacity() const { return cap_; }
  // Ranges are [lo, hi) with hi - lo <= capacity(); they may wrap around the ring.
  void set(uint64_t lo, uint64_t hi);
  void clear(uint64_t lo, uint64_t hi);
  // Sets the bits of [lo, hi) that are clear in mask (same capacity).
  void set_except(uint64_t lo, uint64_t hi, const OffsetBitmap& mask);
  bool test(uint64_t off) const;
  // First offset in [from, to) whose bit is clear / set; `to` when there is none.
  uint64_t find_clear(uint64_t from, uint64_t to) const { return find(from, to, true); }
  uint64_t find_set(uint64_t from, uint64_t to) const { return find(from, to, false); }

 private:
  uint64_t find(uint64_t from, uint64_t to, bool want_clear) const;
  template <class Fn>
  void for_each_word(uint64_t lo, uint64_t hi, Fn&& fn);
  template <bool kSet>
  void fill(uint64_t lo, uint64_t hi);

  std::unique_ptr<uint64_t[]> words_;
  size_t cap_ = 0;
  RingIndex ring_;
};

}  // namespace camp::quic
