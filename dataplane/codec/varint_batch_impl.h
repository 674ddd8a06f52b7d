// Internal: one entry point per implementation, each in its own translation unit so that only
// that unit is compiled with the matching -m flags. Callers go through varint_batch.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camp::varint::detail {

size_t decode_scalar(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed);
size_t decode_avx2(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed);
size_t decode_avx512(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed);

}  // namespace camp::varint::detail
