// AVX-512 (F, BW, VBMI) batch varint decoder. Compiled alone with those -m flags: it must not
// include headers with inline functions shared with generic code (varint.h, <algorithm>), or the
// linker could keep an AVX-512 copy of them for everyone. Everything here is file-local.
//
// The difficulty of QUIC varints is that only the first byte of each says how long it is, so where
// varint i+1 starts depends on every varint before it. The input is cut into 64-byte blocks, and
// per block, for every byte position j, T(j) = j + length(byte j) is where the next varint would
// start if one started at j. Composing T with itself by byte permutes (vpermi2b) gives T^2, T^4,
// ... T^64 for all positions at once, all of it independent of where the chain enters the block:
//  * T^64(e) is where the chain that enters at e leaves the block, so the only serial work from
//    one block to the next is a single byte lookup (the entry offset e is 0..7);
//  * the starts in the block, in order, are V[t] = T^t(e), t = 0..63, built from the binary digits
//    of t in six masked permutes. Lanes past the last start stay at the exit (>= 64).
// Each group of eight starts then becomes eight 64-bit lanes: a permute gathers the eight bytes
// from each start (big-endian, so the first byte lands on top), a shift left by two drops the
// length prefix, and a per-lane right shift drops the bytes that belong to later varints.
#include <immintrin.h>

#include "dataplane/codec/varint_batch_impl.h"

namespace camp::varint::detail {
namespace {

struct Consts {
  __m512i iota;       // 0, 1, ..., 63
  __m512i id_hi;      // 64, ..., 127: the second permute table, so exits (>= 64) stay fixed
  __m512i len_tab;    // length by prefix code, per 128-bit lane for vpshufb
  __m512i shift_tab;  // 66 - 8 * length by prefix code: the final right shift
  __m512i rev;        // 7, 6, ..., 0 in every 64-bit lane: big-endian byte order
  __m512i group[8];   // group g: every byte of 64-bit lane t holds 8g + t
};

const Consts& consts() {
  static const Consts c = [] {
    Consts k;
    alignas(64) uint8_t b[64];
    for (int i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(i);
    k.iota = _mm512_load_si512(b);
    for (int i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(64 + i);
    k.id_hi = _mm512_load_si512(b);
    for (int i = 0; i < 64; ++i) b[i] = (i & 15) < 4 ? static_cast<uint8_t>(1u << (i & 15)) : 0;
    k.len_tab = _mm512_load_si512(b);
    for (int i = 0; i < 64; ++i) {
      b[i] = (i & 15) < 4 ? static_cast<uint8_t>(66 - (8u << (i & 15))) : 0;
    }
    k.shift_tab = _mm512_load_si512(b);
    for (int i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(7 - (i & 7));
    k.rev = _mm512_load_si512(b);
    for (int g = 0; g < 8; ++g) {
      for (int i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(8 * g + i / 8);
      k.group[g] = _mm512_load_si512(b);
    }
    return k;
  }();
  return c;
}

// Lanes t whose binary digit k is set: which lanes take a step of 2^k.
constexpr __mmask64 kDigit[6] = {0xAAAAAAAAAAAAAAAAull, 0xCCCCCCCCCCCCCCCCull,
                                 0xF0F0F0F0F0F0F0F0ull, 0xFF00FF00FF00FF00ull,
                                 0xFFFF0000FFFF0000ull, 0xFFFFFFFF00000000ull};
// Byte 0 of every 64-bit lane: where a per-lane shift count goes.
constexpr __mmask64 kLaneLow = 0x0101010101010101ull;

// What one 64-byte block yields for a given entry offset.
struct Block {
  __m512i starts;  // V: start offsets in order; lanes past the last start hold the exit (>= 64)
  __m512i shifts;  // the final right shift for each start, same order
  __m512i t1;      // T itself, to find where each decoded varint ends
  uint64_t exit8;  // bytes 0..7: (T^64(j) - 64) * 8, the next block's entry for entry j, scaled
};

inline Block analyse(const Consts& c, __m512i blk, unsigned entry) {
  const __m512i code = _mm512_and_si512(_mm512_srli_epi16(blk, 6), _mm512_set1_epi8(3));
  const __m512i t1 = _mm512_add_epi8(c.iota, _mm512_shuffle_epi8(c.len_tab, code));
  const __m512i t2 = _mm512_permutex2var_epi8(t1, t1, c.id_hi);
  const __m512i t4 = _mm512_permutex2var_epi8(t2, t2, c.id_hi);
  const __m512i t8 = _mm512_permutex2var_epi8(t4, t4, c.id_hi);
  const __m512i t16 = _mm512_permutex2var_epi8(t8, t8, c.id_hi);
  const __m512i t32 = _mm512_permutex2var_epi8(t16, t16, c.id_hi);
  const __m512i t64 = _mm512_permutex2var_epi8(t32, t32, c.id_hi);
  Block b;
  // Each byte of T^64 for entries 0..7 is 64..71; minus 64 and times 8 stays inside its byte.
  b.exit8 = (static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(t64))) -
             0x4040404040404040ull)
            << 3;
  __m512i v = _mm512_set1_epi8(static_cast<char>(entry));
  v = _mm512_mask2_permutex2var_epi8(t1, v, kDigit[0], c.id_hi);
  v = _mm512_mask2_permutex2var_epi8(t2, v, kDigit[1], c.id_hi);
  v = _mm512_mask2_permutex2var_epi8(t4, v, kDigit[2], c.id_hi);
  v = _mm512_mask2_permutex2var_epi8(t8, v, kDigit[3], c.id_hi);
  v = _mm512_mask2_permutex2var_epi8(t16, v, kDigit[4], c.id_hi);
  v = _mm512_mask2_permutex2var_epi8(t32, v, kDigit[5], c.id_hi);
  b.starts = v;
  b.shifts = _mm512_permutexvar_epi8(v, _mm512_shuffle_epi8(c.shift_tab, code));
  b.t1 = t1;
  return b;
}

// Values of starts 8g .. 8g+7. blk and nxt are the block and the 64 bytes after it.
inline __m512i group_values(const Consts& c, const Block& b, __m512i blk, __m512i nxt, int g) {
  const __m512i idx =
      _mm512_add_epi8(_mm512_permutexvar_epi8(c.group[g], b.starts), c.rev);
  const __m512i w = _mm512_permutex2var_epi8(blk, idx, nxt);
  const __m512i sh = _mm512_maskz_permutexvar_epi8(kLaneLow, c.group[g], b.shifts);
  return _mm512_srlv_epi64(_mm512_slli_epi64(w, 2), sh);
}

inline __mmask64 low_bits(size_t k) { return k >= 64 ? ~__mmask64{0} : (__mmask64{1} << k) - 1; }

}  // namespace

size_t decode_avx512(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed) {
  const Consts& c = consts();
  size_t pos = 0;    // start of the current block
  unsigned e8 = 0;   // 8 * offset of the first varint start in the block (0..7)
  size_t k = 0;      // values written

  // Whole blocks with the next 64 bytes readable, so every varint starting in the block is
  // wholly inside, and room for 64 values, so all eight groups may be stored whole (lanes past
  // the block's count are scratch that the next block overwrites).
  while (n - pos >= 128 && max_out - k >= 64) {
    const __m512i blk = _mm512_loadu_si512(p + pos);
    const __m512i nxt = _mm512_loadu_si512(p + pos + 64);
    const Block b = analyse(c, blk, e8 >> 3);
    const unsigned count = static_cast<unsigned>(
        __builtin_popcountll(_mm512_cmplt_epu8_mask(b.starts, _mm512_set1_epi8(64))));
    uint64_t* o = out + k;
    // The first four groups unconditionally: a typical block (about 2 bytes a varint) has 25 to
    // 32 starts, and a fixed trip count costs less than a mispredicted loop exit.
    _mm512_storeu_si512(o, group_values(c, b, blk, nxt, 0));
    _mm512_storeu_si512(o + 8, group_values(c, b, blk, nxt, 1));
    _mm512_storeu_si512(o + 16, group_values(c, b, blk, nxt, 2));
    _mm512_storeu_si512(o + 24, group_values(c, b, blk, nxt, 3));
    for (unsigned g = 4; 8 * g < count; ++g) {
      _mm512_storeu_si512(o + 8 * g, group_values(c, b, blk, nxt, static_cast<int>(g)));
    }
    k += count;
    e8 = static_cast<unsigned>((b.exit8 >> e8) & 0xff);
    pos += 64;
  }

  // The rest: masked loads read nothing at or past p + n (the missing bytes read as zero, i.e.
  // as one-byte varints, which the length check below then refuses), masked stores write nothing
  // past out[max_out - 1].
  for (;;) {
    const size_t avail = n - pos;
    const size_t room = max_out - k;
    const unsigned e = e8 >> 3;
    if (e >= avail || room == 0) break;
    const __m512i blk = _mm512_maskz_loadu_epi8(low_bits(avail), p + pos);
    const __m512i nxt =
        avail > 64 ? _mm512_maskz_loadu_epi8(low_bits(avail - 64), p + pos + 64)
                   : _mm512_setzero_si512();
    const Block b = analyse(c, blk, e);
    // ends[t] = T(V[t]): where start t's varint ends (the next start).
    const __m512i ends = _mm512_permutex2var_epi8(b.t1, b.starts, c.id_hi);
    const __mmask64 in_block = _mm512_cmplt_epu8_mask(b.starts, _mm512_set1_epi8(64));
    const unsigned limit = static_cast<unsigned>(avail < 128 ? avail : 128);
    const __mmask64 whole =
        in_block & _mm512_cmple_epu8_mask(ends, _mm512_set1_epi8(static_cast<char>(limit)));
    const unsigned starting = static_cast<unsigned>(__builtin_popcountll(in_block));
    unsigned count = static_cast<unsigned>(__builtin_popcountll(whole));
    if (count > room) count = static_cast<unsigned>(room);
    for (unsigned g = 0; 8 * g < count; ++g) {
      const __mmask8 lanes = static_cast<__mmask8>(low_bits(count - 8 * g));
      _mm512_mask_storeu_epi64(out + k + 8 * g, lanes,
                               group_values(c, b, blk, nxt, static_cast<int>(g)));
    }
    k += count;
    if (count == 0) break;  // the varint at the entry is cut off: consumed ends at the entry
    alignas(64) uint8_t end_of[64];
    _mm512_store_si512(end_of, ends);
    const unsigned next = end_of[count - 1];  // one past the last decoded varint
    if (count < starting) {
      pos += next;
      e8 = 0;
      break;
    }
    pos += 64;
    e8 = (next - 64) << 3;
  }
  *consumed = pos + (e8 >> 3);
  return k;
}

}  // namespace camp::varint::detail
