// QUIC variable-length integers (RFC 9000 section 16): the scalar reference codec.
// The two high bits of the first byte give the length (1, 2, 4 or 8 bytes), the rest is the value
// in network byte order. Every SIMD batch decoder is checked against decode() here.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace camp::varint {

inline constexpr uint64_t kMax = (uint64_t{1} << 62) - 1;
inline constexpr size_t kMaxLen = 8;

// Bytes the minimal encoding of v takes; 0 when v does not fit in 62 bits.
constexpr size_t size(uint64_t v) {
  if (v < (uint64_t{1} << 6)) return 1;
  if (v < (uint64_t{1} << 14)) return 2;
  if (v < (uint64_t{1} << 30)) return 4;
  if (v <= kMax) return 8;
  return 0;
}

// Length of the varint whose first byte is b.
constexpr size_t length_of(uint8_t b) { return size_t{1} << (b >> 6); }

inline void store_be16(uint8_t* p, uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

// Writes v in exactly len bytes (1, 2, 4 or 8), for fields patched later.
// Returns len, or 0 when v does not fit in len bytes, len is not a varint length, or cap < len.
inline size_t encode_len(uint8_t* p, size_t cap, uint64_t v, size_t len) {
  if (len > 8 || (len & (len - 1)) != 0 || cap < len || v > kMax || size(v) > len) return 0;
  // One big-endian store of the value with the length prefix in its top two bits (hot: every
  // frame field on the send path).
  switch (len) {
    case 1: p[0] = static_cast<uint8_t>(v); break;
    case 2: store_be16(p, static_cast<uint16_t>(v | 0x4000)); break;
    case 4: store_be32(p, static_cast<uint32_t>(v | 0x80000000u)); break;
    default: store_be64(p, v | 0xc000000000000000ull); break;
  }
  return len;
}

// Writes the minimal encoding. Returns bytes written, or 0 when v > kMax or cap is too small.
inline size_t encode(uint8_t* p, size_t cap, uint64_t v) {
  const size_t len = size(v);
  return len == 0 ? 0 : encode_len(p, cap, v, len);
}

// Reads one varint from p[0..n). Returns bytes consumed, or 0 when the input is truncated.
inline size_t decode(const uint8_t* p, size_t n, uint64_t* out) {
  if (n == 0) return 0;
  const size_t len = length_of(p[0]);
  if (n < len) return 0;
  uint64_t v = p[0] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = (v << 8) | p[i];
  *out = v;
  return len;
}

// ZigZag mapping for signed fields (MMF): 0->0, -1->1, 1->2, -2->3, ... over the 62-bit range.
constexpr uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t zigzag_decode(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

}  // namespace camp::varint
