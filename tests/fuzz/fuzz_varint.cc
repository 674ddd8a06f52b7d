// Differential fuzzing of the batch varint decoders: every implementation the CPU supports must
// give exactly what looping the scalar reference decode() gives. The first input byte picks the
// output room (so small max_out is covered too), the rest is the varint stream.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/codec/varint.h"
#include "dataplane/codec/varint_batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_out = data[0] == 0xff ? size : data[0];
  const uint8_t* p = data + 1;
  const size_t n = size - 1;

  std::vector<uint64_t> want;
  size_t want_consumed = 0;
  while (want.size() < max_out) {
    uint64_t v;
    const size_t len = camp::varint::decode(p + want_consumed, n - want_consumed, &v);
    if (len == 0) break;
    want.push_back(v);
    want_consumed += len;
  }

  constexpr uint64_t kGuard = 0x5a5a5a5a5a5a5a5aull;
  for (camp::varint::Impl impl : camp::varint::kAllImpls) {
    if (!camp::varint::impl_supported(impl)) continue;
    std::vector<uint64_t> out(max_out + 8, kGuard);
    size_t consumed = 0;
    const size_t count = camp::varint::decode_batch(impl, p, n, out.data(), max_out, &consumed);
    if (count != want.size() || consumed != want_consumed) std::abort();
    for (size_t i = 0; i < count; ++i) {
      if (out[i] != want[i]) std::abort();
    }
    for (size_t i = max_out; i < out.size(); ++i) {
      if (out[i] != kGuard) std::abort();
    }
  }
  return 0;
}
