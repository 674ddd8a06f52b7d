// Batch decoding of QUIC variable-length integers (RFC 9000 section 16) with run-time SIMD dispatch.
// Every implementation gives exactly what looping camp::varint::decode() (varint.h) gives.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camp::varint {

// The decoders. avx2 needs AVX2+BMI2+POPCNT; avx512 needs AVX-512 F, BW and VBMI (the byte
// permutes vpermb / vpermi2b) plus BMI2+POPCNT. impl_supported() checks the running CPU.
enum class Impl : uint8_t { scalar, avx2, avx512 };

inline constexpr Impl kAllImpls[] = {Impl::scalar, Impl::avx2, Impl::avx512};

const char* impl_name(Impl impl);

// True when this build contains impl and the running CPU (and OS) can execute it.
bool impl_supported(Impl impl);

// The fastest supported implementation.
Impl best_impl();

// Decodes consecutive varints from p[0..n) into out, at most max_out of them. Stops before the
// first varint that is not wholly inside p[0..n). Returns the number decoded and stores the bytes
// they used in *consumed. Never reads outside p[0..n) and never writes past out[max_out - 1].
// An unsupported impl decodes nothing (returns 0, *consumed = 0).
size_t decode_batch(Impl impl, const uint8_t* p, size_t n, uint64_t* out, size_t max_out,
                    size_t* consumed);

// Same, with best_impl() chosen once per process.
size_t decode_batch(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed);

}  // namespace camp::varint
