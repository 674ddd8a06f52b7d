// Batch QUIC varint decoding: the scalar decoder against each SIMD one on the same MMF-like buffer.
// Prints Google Benchmark's table, then one JSON line (the last line) with the medians:
//   {"bench":"varint","scalar_mvarints_s":X,"best_simd":"avx512|avx2","simd_mvarints_s":Y,
//    "speedup":Y/X}
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "dataplane/codec/varint.h"
#include "dataplane/codec/varint_batch.h"
#include "perf/bench_capture.h"

namespace {

using camp::varint::Impl;

struct Buffer {
  std::vector<uint8_t> bytes;
  size_t count = 0;
  size_t by_len[9] = {};
};

void put(Buffer& b, uint64_t v) {
  uint8_t tmp[8];
  const size_t len = camp::varint::encode(tmp, sizeof tmp, v);
  b.bytes.insert(b.bytes.end(), tmp, tmp + len);
  ++b.by_len[len];
  ++b.count;
}

// A run of MMF reports (draft-jiang-moq-multimodal-feedback section 5) for a video track: report
// timestamp (a microsecond clock, 8 bytes), sequence, entry count, then per object its Object ID
// (2 bytes once past 63), status, and for received objects a ZigZag receive-time delta (mostly a
// few ms: 2 or 4 bytes), then summary stats and an empty optional-metric list. Stops at about
// `target` varints.
Buffer mmf_like(size_t target) {
  Buffer b;
  std::mt19937_64 rng(42);
  uint64_t clock_us = 1'700'000'000'000'000ull % camp::varint::kMax;
  uint64_t object_id = 100;
  for (uint64_t seq = 0; b.count < target; ++seq) {
    clock_us += 20'000 + rng() % 5'000;
    put(b, clock_us);
    put(b, seq);
    const uint64_t entries = 8 + rng() % 16;
    put(b, entries);
    bool first = true;
    for (uint64_t i = 0; i < entries; ++i) {
      put(b, object_id++);
      const unsigned r = static_cast<unsigned>(rng() % 100);
      const uint64_t status = r < 90 ? 0 : r < 95 ? 1 : 2;  // RECEIVED, RECEIVED_LATE, NOT_RECEIVED
      put(b, status);
      if (status <= 1) {
        // The first delta is against the report time (tens of ms back); later ones are the
        // inter-arrival gaps (a few ms, jittered either way).
        const int64_t delta = first ? -static_cast<int64_t>(20'000 + rng() % 60'000)
                                    : static_cast<int64_t>(rng() % 6'000) - 1'000;
        put(b, camp::varint::zigzag_encode(delta));
        first = false;
      }
    }
    // Summary stats: loss, late and received counts, a jitter in us, an optional-metric count.
    put(b, rng() % 4);
    put(b, rng() % 3);
    put(b, entries);
    put(b, 500 + rng() % 4'000);
    put(b, 0);
  }
  return b;
}

// Lengths drawn independently: 45% 1 byte, 35% 2, 15% 4, 5% 8 (a harder, unstructured mix).
Buffer weighted(size_t target) {
  Buffer b;
  std::mt19937_64 rng(7);
  std::discrete_distribution<int> pick({45, 35, 15, 5});
  while (b.count < target) {
    const int code = pick(rng);
    const uint64_t top = code == 3 ? camp::varint::kMax : (uint64_t{1} << (8 * (1 << code) - 2)) - 1;
    const uint64_t low = code == 0 ? 0 : (uint64_t{1} << (8 * (1 << (code - 1)) - 2));
    put(b, low + rng() % (top - low + 1));
  }
  return b;
}

const Buffer& buffer() {
  static const Buffer b = mmf_like(4096);
  return b;
}

const Buffer& weighted_buffer() {
  static const Buffer b = weighted(4096);
  return b;
}

void bm_decode(benchmark::State& state, Impl impl, const Buffer& b) {
  std::vector<uint64_t> out(b.count);
  size_t consumed = 0;
  for (auto _ : state) {
    const size_t n =
        camp::varint::decode_batch(impl, b.bytes.data(), b.bytes.size(), out.data(), out.size(),
                                   &consumed);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    if (n != b.count || consumed != b.bytes.size()) {
      state.SkipWithError("short decode");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.count));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  for (const Buffer* b : {&buffer(), &weighted_buffer()}) {
    std::printf("%s buffer: %zu varints in %zu bytes (1B %zu, 2B %zu, 4B %zu, 8B %zu)\n",
                b == &buffer() ? "varint_decode (MMF reports)" : "varint_weighted",
                b->count, b->bytes.size(), b->by_len[1], b->by_len[2], b->by_len[4], b->by_len[8]);
  }
  // varint_decode/* is the MMF-like buffer the JSON line reports; varint_weighted/* is extra.
  for (Impl impl : camp::varint::kAllImpls) {
    if (!camp::varint::impl_supported(impl)) continue;
    const std::string name = camp::varint::impl_name(impl);
    benchmark::RegisterBenchmark(("varint_decode/" + name).c_str(), bm_decode, impl, buffer())
        ->Repetitions(5)
        ->MinTime(0.2);
    benchmark::RegisterBenchmark(("varint_weighted/" + name).c_str(), bm_decode, impl,
                                 weighted_buffer())
        ->Repetitions(3)
        ->MinTime(0.1);
  }
  benchmark::Initialize(&argc, argv);
  camp::perf::Capture rec;
  benchmark::RunSpecifiedBenchmarks(&rec);
  benchmark::Shutdown();

  auto rate = [&](Impl impl) {
    return rec.items_per_second(std::string("varint_decode/") + camp::varint::impl_name(impl)) /
           1e6;
  };
  const double scalar = rate(Impl::scalar);
  const Impl best = camp::varint::impl_supported(Impl::avx512) ? Impl::avx512 : Impl::avx2;
  const double simd = rate(best);
  std::printf(
      "{\"bench\":\"varint\",\"scalar_mvarints_s\":%.1f,\"best_simd\":\"%s\","
      "\"simd_mvarints_s\":%.1f,\"speedup\":%.2f}\n",
      scalar, camp::varint::impl_name(best), simd, scalar > 0 ? simd / scalar : 0.0);
  return 0;
}
