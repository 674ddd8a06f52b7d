// Run-time choice of the batch varint decoder. Only this file asks the CPU what it can do; the
// SIMD units are reached through here, so a CPU without AVX never executes their code.
#include "dataplane/codec/varint_batch.h"

#include "dataplane/codec/varint_batch_impl.h"

namespace camp::varint {
namespace {

using DecodeFn = size_t (*)(const uint8_t*, size_t, uint64_t*, size_t, size_t*);

bool cpu_has_avx2() {
#if CAMP_VARINT_X86
  __builtin_cpu_init();  // may run before libgcc's own constructor does it
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if CAMP_VARINT_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

DecodeFn fn_of(Impl impl) {
  switch (impl) {
    case Impl::scalar: return detail::decode_scalar;
#if CAMP_VARINT_X86
    case Impl::avx2: return detail::decode_avx2;
    case Impl::avx512: return detail::decode_avx512;
#else
    case Impl::avx2:
    case Impl::avx512: break;
#endif
  }
  return nullptr;
}

}  // namespace

const char* impl_name(Impl impl) {
  switch (impl) {
    case Impl::scalar: return "scalar";
    case Impl::avx2: return "avx2";
    case Impl::avx512: return "avx512";
  }
  return "unknown";
}

bool impl_supported(Impl impl) {
  // The CPU does not change under us: ask once.
  static const bool avx2 = cpu_has_avx2();
  static const bool avx512 = cpu_has_avx512();
  switch (impl) {
    case Impl::scalar: return true;
    case Impl::avx2: return avx2;
    case Impl::avx512: return avx512;
  }
  return false;
}

Impl best_impl() {
  if (impl_supported(Impl::avx512)) return Impl::avx512;
  if (impl_supported(Impl::avx2)) return Impl::avx2;
  return Impl::scalar;
}

size_t decode_batch(Impl impl, const uint8_t* p, size_t n, uint64_t* out, size_t max_out,
                    size_t* consumed) {
  *consumed = 0;
  if (!impl_supported(impl)) return 0;
  return fn_of(impl)(p, n, out, max_out, consumed);
}

size_t decode_batch(const uint8_t* p, size_t n, uint64_t* out, size_t max_out, size_t* consumed) {
  static const DecodeFn best = fn_of(best_impl());
  return best(p, n, out, max_out, consumed);
}

}  // namespace camp::varint
