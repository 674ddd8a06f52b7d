// Branch-light QUIC varint reads and writes for the MMF codec's inner loops. They give exactly
// what varint::decode / varint::encode give (tests/mmf checks every length boundary against
// them), but with one unaligned load or store instead of a byte loop, so the caller must
// guarantee the room: 8 readable bytes for peek(), size(v) writable bytes for put().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/codec/varint.h"

namespace camp::mmf::fast_varint {

// Indexed by the two length bits of the first byte (length 1 << l2).
inline constexpr uint8_t kShift[4] = {56, 48, 32, 0};
inline constexpr uint64_t kMask[4] = {0x3f, 0x3fff, 0x3fffffff, varint::kMax};
// Smallest value that needs that length: anything below it was padded.
inline constexpr uint64_t kMinForLen[4] = {0, uint64_t{1} << 6, uint64_t{1} << 14,
                                           uint64_t{1} << 30};

// Reads the varint at p (8 bytes must be readable) into *v; returns the length bits l2.
inline unsigned peek(const uint8_t* p, uint64_t* v) {
  const unsigned l2 = p[0] >> 6;
  uint64_t w;
  std::memcpy(&w, p, 8);
  *v = (__builtin_bswap64(w) >> kShift[l2]) & kMask[l2];
  return l2;
}

// Writes v (at most varint::kMax) in its minimal form at p; returns the bytes written.
inline size_t put(uint8_t* p, uint64_t v) {
  if (v < (uint64_t{1} << 6)) {
    *p = static_cast<uint8_t>(v);
    return 1;
  }
  if (v < (uint64_t{1} << 14)) {
    const uint16_t w = __builtin_bswap16(static_cast<uint16_t>(v | 0x4000));
    std::memcpy(p, &w, 2);
    return 2;
  }
  if (v < (uint64_t{1} << 30)) {
    const uint32_t w = __builtin_bswap32(static_cast<uint32_t>(v | 0x80000000u));
    std::memcpy(p, &w, 4);
    return 4;
  }
  const uint64_t w = __builtin_bswap64(v | 0xc000000000000000ull);
  std::memcpy(p, &w, 8);
  return 8;
}

}  // namespace camp::mmf::fast_varint
