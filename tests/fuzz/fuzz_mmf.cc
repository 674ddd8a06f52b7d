// libFuzzer target for the MMF report codec. Properties checked on every input:
//  - strict decode -> encode reproduces the input byte for byte (one encoding per report), and
//    decoding that again gives the same report;
//  - lenient decode (padded varints allowed) -> encode -> strict decode gives the same report;
//  - without metrics negotiated, a report with metrics is refused and one without is unchanged;
//  - size control at a budget taken from the input keeps a suffix of the entries with the same
//    arrival times, the same Summary Stats and metrics, within the budget.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dataplane/mmf/report.h"

using namespace camp::mmf;

namespace {

constexpr size_t kEntries = 4096;
constexpr size_t kMetrics = 1024;
constexpr size_t kOut = 1 << 16;

ObjectEntry g_e1[kEntries], g_e2[kEntries];
Metric g_m1[kMetrics], g_m2[kMetrics];
int64_t g_t1[kEntries], g_t2[kEntries];
uint8_t g_out[kOut];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_mmf: property violated: %s\n", what);
    std::abort();
  }
}

void check_trimmed(const Report& r, const uint8_t* data, size_t size) {
  // A budget from the input's last two bytes, so the fuzzer explores every cut point.
  const size_t budget = size >= 2 ? (size_t{data[size - 2]} << 8 | data[size - 1]) % (size + 8) : 0;
  EncodeOptions eo;
  eo.max_bytes = budget;
  const EncodeResult res = encode(r, eo, g_out, kOut);
  if (res.error == Error::kBudgetTooSmall) {
    // Only when even an empty entry list would not fit.
    Report empty = r;
    empty.entries = {};
    EncodeOptions none;
    none.max_bytes = SIZE_MAX;
    const EncodeResult e = encode(empty, none, g_out, kOut);
    check(e.error == Error::kOk && e.size > budget, "budget_too_small with room to spare");
    return;
  }
  check(res.error == Error::kOk, "trimmed encode failed");
  check(res.size <= budget, "trimmed report over budget");
  Report got;
  check(decode(g_out, res.size, {}, g_e2, g_m2, &got) == Error::kOk, "trimmed report undecodable");
  const size_t d = res.entries_dropped;
  check(got.entries.size() + d == r.entries.size(), "trimmed entry count");
  check(got.summary == r.summary && got.report_timestamp_us == r.report_timestamp_us &&
            got.report_sequence == r.report_sequence,
        "trimming touched the header or Summary Stats");
  check(got.metrics.size() == r.metrics.size() &&
            std::memcmp(got.metrics.data(), r.metrics.data(), r.metrics.size_bytes()) == 0,
        "trimming touched the metrics");
  check(arrival_times(r, {g_t1, r.entries.size()}) == Error::kOk &&
            arrival_times(got, {g_t2, got.entries.size()}) == Error::kOk,
        "arrival times");
  for (size_t i = 0; i < got.entries.size(); ++i) {
    check(got.entries[i].object_id == r.entries[d + i].object_id &&
              got.entries[i].status == r.entries[d + i].status,
          "trimming kept something other than the newest entries");
    check(g_t2[i] == g_t1[d + i], "trimming moved an arrival time");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EncodeOptions unlimited;
  unlimited.max_bytes = SIZE_MAX;

  Report r1;
  const Error strict = decode(data, size, {}, g_e1, g_m1, &r1);
  if (strict == Error::kOk) {
    const EncodeResult res = encode(r1, unlimited, g_out, kOut);
    check(res.error == Error::kOk, "encode of a decoded report failed");
    check(res.entries_dropped == 0, "unlimited encode dropped entries");
    check(res.size == size && std::memcmp(g_out, data, size) == 0,
          "decode -> encode did not reproduce the input");
    // A buffer of exactly the input's size makes the encoder size first, then write.
    const EncodeResult exact = encode(r1, unlimited, g_out, size);
    check(exact.error == Error::kOk && exact.size == size && std::memcmp(g_out, data, size) == 0,
          "sizing encode path differs");
    Report r2;
    check(decode(g_out, res.size, {}, g_e2, g_m2, &r2) == Error::kOk, "re-decode failed");
    check(r1 == r2, "re-decoded report differs");

    DecodeOptions no_metrics;
    no_metrics.metrics_negotiated = false;
    Report r3;
    const Error e3 = decode(data, size, no_metrics, g_e2, g_m2, &r3);
    check(r1.metrics.empty() ? (e3 == Error::kOk && r3 == r1) : e3 == Error::kMetricsNotNegotiated,
          "metrics negotiation");

    check_trimmed(r1, data, size);
  }

  DecodeOptions lenient;
  lenient.require_minimal_varints = false;
  Report l1;
  const Error le = decode(data, size, lenient, g_e1, g_m1, &l1);
  check(strict != Error::kOk || le == Error::kOk, "lenient refused what strict accepted");
  if (le == Error::kOk) {
    const EncodeResult res = encode(l1, unlimited, g_out, kOut);
    check(res.error == Error::kOk && res.size <= size, "encode of a lenient report");
    Report l2;
    check(decode(g_out, res.size, {}, g_e2, g_m2, &l2) == Error::kOk, "canonical re-decode failed");
    check(l1 == l2, "lenient round trip differs");
  } else {
    check(strict == le || strict == Error::kNonMinimalVarint, "strict and lenient disagree");
  }
  return 0;
}
