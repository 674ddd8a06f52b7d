// Where a stream offset lies in a ring of `size` bytes (or bits): offset % size. Buffer and window
// sizes are powers of two as a rule, and then a mask does it; the 64-bit division it replaces
// cost about as much as the rest of handing out a packet's chunk.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace camp::quic {

class RingIndex {
 public:
  RingIndex() = default;
  // A size of 0 (a ring never used) counts as 1.
  explicit RingIndex(uint64_t size)
      : size_(size ? size : 1), mask_(size_ - 1), pow2_(std::has_single_bit(size_)) {}
  size_t operator()(uint64_t offset) const {
    return static_cast<size_t>(pow2_ ? offset & mask_ : offset % size_);
  }

 private:
  uint64_t size_ = 0;
  uint64_t mask_ = 0;
  bool pow2_ = false;
};

}  // namespace camp::quic
