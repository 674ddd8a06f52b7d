// The scalar batch decoder: the baseline the SIMD paths are measured against, and their reference.
#include <bit>
#include <cstring>

#include "dataplane/codec/varint.h"
#include "dataplane/codec/varint_batch_impl.h"

namespace camp::varint::detail {

size_t decode_scalar(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed) {
  size_t pos = 0;
  size_t k = 0;
  // While a whole 8-byte window is readable, read it at once as a big-endian word: the top two bits
  // give the length, and two shifts drop the prefix and the bytes that belong to later varints.
  while (k < max_out && n - pos >= 8) {
    uint64_t w;
    std::memcpy(&w, p + pos, 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    const unsigned len = 1u << (w >> 62);
    out[k++] = (w << 2) >> (66 - 8 * len);
    pos += len;
  }
  // The last few bytes: the reference decoder, which checks the length against what is left.
  while (k < max_out) {
    uint64_t v;
    const size_t len = decode(p + pos, n - pos, &v);
    if (len == 0) break;
    out[k++] = v;
    pos += len;
  }
  *consumed = pos;
  return k;
}

}  // namespace camp::varint::detail
