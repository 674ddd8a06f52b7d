// MMF report codec: encode and decode of a realistic 50-entry audio report (section 7.4's
// recommended maximum), mixed statuses, three metrics. Prints, last:
//   {"bench":"mmf_decode_50","ns_per_report":X}
//   {"bench":"mmf_encode_50","ns_per_report":Y}
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "dataplane/mmf/report.h"
#include "perf/bench_capture.h"

namespace {

using namespace camp::mmf;

struct Fixture {
  std::vector<ObjectEntry> entries;
  std::vector<Metric> metrics = {{0x02, 180}, {0x10, 24000}, {0x12, 12}};
  Report report;
  std::vector<uint8_t> wire;

  Fixture() {
    // Audio at 50 objects/s, 20 ms apart with jitter and some reordering; about 1 in 10 lost,
    // 1 in 10 late, 1 in 20 partial. Object IDs in the thousands need 2-byte varints.
    uint32_t seed = 12345;
    auto rnd = [&seed] {
      seed = seed * 1664525u + 1013904223u;
      return seed >> 8;
    };
    bool first = true;
    for (uint64_t i = 0; i < 50; ++i) {
      ObjectEntry e;
      e.object_id = 4000 + i;
      const uint32_t r = rnd() % 20;
      e.status = r < 2    ? Status::kNotReceived
                 : r < 4  ? Status::kReceivedLate
                 : r == 4 ? Status::kPartiallyReceived
                          : Status::kReceived;
      if (has_recv_ts_delta(e.status)) {
        e.recv_ts_delta_us = first ? -995000 : 20000 + static_cast<int64_t>(rnd() % 6000) - 3000;
        first = false;
      }
      entries.push_back(e);
    }
    report.report_timestamp_us = 81'234'567;
    report.report_sequence = 812;
    report.entries = entries;
    report.summary = {100000, 50, 35, 10, 5, 420};
    report.metrics = metrics;
    wire.resize(2048);
    const EncodeResult res = encode(report, {}, wire.data(), wire.size());
    if (res.error != Error::kOk || res.entries_dropped != 0) std::abort();
    wire.resize(res.size);
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_MmfDecode50(benchmark::State& state) {
  const Fixture& f = fixture();
  ReportBuffer<64, 8> buf;
  for (auto _ : state) {
    const Error e = buf.decode(f.wire.data(), f.wire.size());
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(buf.report.entries.data());
    benchmark::ClobberMemory();
  }
  if (buf.report.entries.size() != 50) state.SkipWithError("decode failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.wire.size()));
  state.counters["bytes"] = static_cast<double>(f.wire.size());
}
BENCHMARK(BM_MmfDecode50)->Name("mmf_decode_50");

void BM_MmfEncode50(benchmark::State& state) {
  const Fixture& f = fixture();
  uint8_t out[2048];
  EncodeResult res;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.report.entries.data());
    res = encode(f.report, {}, out, sizeof out);
    benchmark::DoNotOptimize(res);
    benchmark::ClobberMemory();
  }
  if (res.error != Error::kOk || res.size != f.wire.size()) state.SkipWithError("encode failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.wire.size()));
}
BENCHMARK(BM_MmfEncode50)->Name("mmf_encode_50");

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  camp::perf::Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture);
  benchmark::Shutdown();
  std::printf("{\"bench\":\"mmf_decode_50\",\"ns_per_report\":%.1f}\n",
              capture.ns("mmf_decode_50"));
  std::printf("{\"bench\":\"mmf_encode_50\",\"ns_per_report\":%.1f}\n",
              capture.ns("mmf_encode_50"));
  return 0;
}
