// AVX2 batch varint decoder. Compiled alone with -mavx2 -mbmi2 -mpopcnt: it must not include
// headers with inline functions shared with generic code (varint.h, <algorithm>), or the linker
// could keep an AVX2 copy of them for everyone. Everything here is file-local.
//
// Same plan as the AVX-512 decoder (see varint_batch_avx512.cc), cut to what vpshufb can reach:
// blocks of 16 bytes, two per 256-bit register. Per block, T(j) = j + length(byte j) for every
// position; T^2 .. T^16 come from in-lane shuffles (exits, >= 16, are kept by a max); T^16 of
// the entry gives the next block's entry; V[t] = T^t(entry) lists the starts in order. Values
// are gathered eight bytes per start from the 32 bytes at the block with two shuffles, then the
// prefix and the bytes of later varints are shifted out. What is left at the end (under 48 bytes,
// or under 32 values of room) goes to the scalar decoder.
#include <immintrin.h>

#include "dataplane/codec/varint_batch_impl.h"

namespace camp::varint::detail {
namespace {

struct Consts {
  __m256i iota;          // 0..15 in each 128-bit lane
  __m256i len_tab;       // length by prefix code
  __m256i shift_tab;     // 66 - 8 * length by prefix code
  __m256i rev;           // 7, 6, ..., 0 in every 64-bit lane
  __m256i skip_digit[4]; // 0x80 in byte t of a lane where binary digit k of t is clear
  __m256i group[4];      // group g: every byte of 64-bit lane l holds 4g + l
  __m256i group_low[4];  // the same in byte 0 of each 64-bit lane, 0x80 (zero) elsewhere
};

const Consts& consts() {
  static const Consts c = [] {
    Consts k;
    alignas(32) uint8_t b[32];
    auto load = [&] { return _mm256_load_si256(reinterpret_cast<const __m256i*>(b)); };
    for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(i & 15);
    k.iota = load();
    for (int i = 0; i < 32; ++i) b[i] = (i & 15) < 4 ? static_cast<uint8_t>(1u << (i & 15)) : 0;
    k.len_tab = load();
    for (int i = 0; i < 32; ++i) {
      b[i] = (i & 15) < 4 ? static_cast<uint8_t>(66 - (8u << (i & 15))) : 0;
    }
    k.shift_tab = load();
    for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(7 - (i & 7));
    k.rev = load();
    for (int d = 0; d < 4; ++d) {
      for (int i = 0; i < 32; ++i) b[i] = ((i & 15) >> d) & 1 ? 0 : 0x80;
      k.skip_digit[d] = load();
    }
    for (int g = 0; g < 4; ++g) {
      for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(4 * g + i / 8);
      k.group[g] = load();
      for (int i = 0; i < 32; ++i) b[i] = i % 8 == 0 ? static_cast<uint8_t>(4 * g + i / 8) : 0x80;
      k.group_low[g] = load();
    }
    return k;
  }();
  return c;
}

// idx with bit 7 set where idx >= 16, so that vpshufb yields zero there; low nibble kept.
inline __m256i zero_from_16(__m256i idx) {
  return _mm256_adds_epu8(idx, _mm256_set1_epi8(0x70));
}

// T composed with itself, per 16-byte block: T[T[j]] while T[j] is inside, else T[j].
inline __m256i square(__m256i t) {
  return _mm256_max_epu8(t, _mm256_shuffle_epi8(t, zero_from_16(t)));
}

// Lanes whose digit is set take the step tk; the others (and exits) stay.
inline __m256i step(__m256i v, __m256i tk, __m256i skip) {
  const __m256i idx = _mm256_or_si256(zero_from_16(v), skip);
  return _mm256_max_epu8(v, _mm256_shuffle_epi8(tk, idx));
}

inline __m256i broadcast16(const uint8_t* q) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
}

// Writes the values of the count starts in v (the block's starts in both lanes), reading the
// bytes from lo (the block) and hi (the 16 bytes after it), both broadcast to both lanes.
// Stores whole groups of four: up to out[15].
inline void emit(const Consts& c, __m256i v, __m256i shifts, __m256i lo, __m256i hi,
                 unsigned count, uint64_t* out) {
  for (unsigned g = 0; 4 * g < count; ++g) {
    const __m256i idx = _mm256_add_epi8(_mm256_shuffle_epi8(v, c.group[g]), c.rev);
    const __m256i w =
        _mm256_or_si256(_mm256_shuffle_epi8(lo, zero_from_16(idx)),
                        _mm256_shuffle_epi8(hi, _mm256_sub_epi8(idx, _mm256_set1_epi8(16))));
    const __m256i sh = _mm256_shuffle_epi8(shifts, c.group_low[g]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 * g),
                        _mm256_srlv_epi64(_mm256_slli_epi64(w, 2), sh));
  }
}

}  // namespace

size_t decode_avx2(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed) {
  const Consts& c = consts();
  size_t pos = 0;   // start of the current pair of blocks
  unsigned e8 = 0;  // 8 * offset of the first varint start in it (0..7)
  size_t k = 0;
  // Needs the 16 bytes past the pair readable (varints that run over its end), and room for two
  // blocks of 16 values stored a group of four at a time.
  while (n - pos >= 48 && max_out - k >= 32) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + pos));
    const __m256i code = _mm256_and_si256(_mm256_srli_epi16(b, 6), _mm256_set1_epi8(3));
    const __m256i t1 = _mm256_add_epi8(c.iota, _mm256_shuffle_epi8(c.len_tab, code));
    const __m256i t2 = square(t1);
    const __m256i t4 = square(t2);
    const __m256i t8 = square(t4);
    const __m256i t16 = square(t8);
    // Entries 0..7 leave at 16..23: minus 16, times 8, each stays inside its byte.
    const uint64_t exit_a =
        (static_cast<uint64_t>(_mm_cvtsi128_si64(_mm256_castsi256_si128(t16))) -
         0x1010101010101010ull) << 3;
    const uint64_t exit_b =
        (static_cast<uint64_t>(_mm_cvtsi128_si64(_mm256_extracti128_si256(t16, 1))) -
         0x1010101010101010ull) << 3;
    const unsigned e8_b = static_cast<unsigned>((exit_a >> e8) & 0xff);
    __m256i v = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_set1_epi8(static_cast<char>(e8 >> 3))),
        _mm_set1_epi8(static_cast<char>(e8_b >> 3)), 1);
    e8 = static_cast<unsigned>((exit_b >> e8_b) & 0xff);
    v = step(v, t1, c.skip_digit[0]);
    v = step(v, t2, c.skip_digit[1]);
    v = step(v, t4, c.skip_digit[2]);
    v = step(v, t8, c.skip_digit[3]);
    const unsigned inside = static_cast<unsigned>(
        _mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(16), v)));
    const unsigned count_a = static_cast<unsigned>(__builtin_popcount(inside & 0xffff));
    const unsigned count_b = static_cast<unsigned>(__builtin_popcount(inside >> 16));
    const __m256i shifts = _mm256_shuffle_epi8(_mm256_shuffle_epi8(c.shift_tab, code), v);
    const __m256i mid = broadcast16(p + pos + 16);
    emit(c, _mm256_permute2x128_si256(v, v, 0x00), _mm256_permute2x128_si256(shifts, shifts, 0x00),
         broadcast16(p + pos), mid, count_a, out + k);
    k += count_a;
    emit(c, _mm256_permute2x128_si256(v, v, 0x11), _mm256_permute2x128_si256(shifts, shifts, 0x11),
         mid, broadcast16(p + pos + 32), count_b, out + k);
    k += count_b;
    pos += 32;
  }
  pos += e8 >> 3;
  size_t tail = 0;
  k += decode_scalar(p + pos, n - pos, out + k, max_out - k, &tail);
  *consumed = pos + tail;
  return k;
}

}  // namespace camp::varint::detail
