// MMF report codec: the draft's example byte for byte, hand-made reports, size control and every
// error code.
#include "dataplane/mmf/report.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/codec/varint.h"
#include "dataplane/mmf/fast_varint.h"

namespace camp::mmf {
namespace {

using Bytes = std::vector<uint8_t>;

// Section 5.6.1, field by field (RFC 9000 varints, ZigZag for the signed fields).
const Bytes kExample = {
    0x80, 0x1e, 0x84, 0x80,  // Report Timestamp 2000000 (4-byte varint)
    0x0a,                    // Report Sequence 10
    0x05,                    // Object Entry Count 5
    0x40, 0x60, 0x00,        // Object 96, RECEIVED
    0x80, 0x02, 0x98, 0x0f,  //   delta 169999 = ZigZag(-85000)
    0x40, 0x61, 0x02,        // Object 97, NOT_RECEIVED (no delta)
    0x40, 0x62, 0x01,        // Object 98, RECEIVED_LATE
    0x80, 0x01, 0x86, 0xa0,  //   delta 100000 = ZigZag(+50000)
    0x40, 0x63, 0x00,        // Object 99, RECEIVED
    0x80, 0x00, 0x9c, 0x40,  //   delta 40000 = ZigZag(+20000)
    0x40, 0x64, 0x00,        // Object 100, RECEIVED
    0x80, 0x00, 0x9c, 0x40,  //   delta 40000 = ZigZag(+20000)
    0x80, 0x01, 0x86, 0xa0,  // Report Interval 100000
    0x05, 0x03, 0x01, 0x01,  // Total 5, Received 3, Received Late 1, Lost 1
    0x57, 0x70,              // Avg Inter-Arrival Delta 6000 = ZigZag(+3000)
    0x02,                    // Optional Metric Count 2
    0x02, 0x40, 0x96,        // PLAYOUT_AHEAD_MS 150
    0x04, 0x43, 0x20,        // ESTIMATED_BANDWIDTH_KBPS 800
};

const std::array<ObjectEntry, 5> kExampleEntries = {{
    {96, Status::kReceived, -85000},
    {97, Status::kNotReceived, 0},
    {98, Status::kReceivedLate, 50000},
    {99, Status::kReceived, 20000},
    {100, Status::kReceived, 20000},
}};
const std::array<Metric, 2> kExampleMetrics = {{{0x02, 150}, {0x04, 800}}};

Report example_report() {
  Report r;
  r.report_timestamp_us = 2000000;
  r.report_sequence = 10;
  r.entries = kExampleEntries;
  r.summary = {100000, 5, 3, 1, 1, 3000};
  r.metrics = kExampleMetrics;
  return r;
}

Bytes encode_ok(const Report& r, EncodeOptions opts = {}, size_t* dropped = nullptr) {
  Bytes out(4096);
  const EncodeResult res = encode(r, opts, out.data(), out.size());
  EXPECT_EQ(res.error, Error::kOk) << error_name(res.error);
  out.resize(res.size);
  if (dropped) *dropped = res.entries_dropped;
  // A buffer of exactly the right size takes the sizing path; it must write the same bytes.
  Bytes exact(res.size);
  const EncodeResult again = encode(r, opts, exact.data(), exact.size());
  EXPECT_EQ(again.error, Error::kOk);
  EXPECT_EQ(again.entries_dropped, res.entries_dropped);
  EXPECT_EQ(exact, out);
  return out;
}

// The encoder has a one-pass path (when even the longest encoding fits) and a sizing path; an
// empty buffer forces the second, which must refuse the same way before it notices the size.
Error encode_err(const Report& r, EncodeOptions opts = {}) {
  uint8_t out[4096];
  const Error one_pass = encode(r, opts, out, sizeof out).error;
  EXPECT_EQ(encode(r, opts, out, 0).error, one_pass);
  return one_pass;
}

Error decode_err(const Bytes& b, DecodeOptions opts = {}) {
  ReportBuffer<64, 16> buf;
  return buf.decode(b.data(), b.size(), opts);
}

// Appends varints, for building reports by hand.
struct Builder {
  Bytes b;
  Builder& v(uint64_t x) {
    uint8_t tmp[8];
    const size_t n = varint::encode(tmp, sizeof tmp, x);
    EXPECT_NE(n, 0u);
    b.insert(b.end(), tmp, tmp + n);
    return *this;
  }
  Builder& s(int64_t x) { return v(varint::zigzag_encode(x)); }
  Builder& raw(std::initializer_list<uint8_t> bytes) {
    b.insert(b.end(), bytes);
    return *this;
  }
  // Summary Stats with a consistent total, and a metric count of 0.
  Builder& tail() { return v(100000).v(0).v(0).v(0).v(0).s(0).v(0); }
};

TEST(MmfFastVarint, MatchesTheReferenceCodecAtEveryLengthBoundary) {
  std::vector<uint64_t> values;
  for (int bits = 0; bits <= 62; ++bits) {
    const uint64_t b = uint64_t{1} << bits;
    for (uint64_t v : {b - 1, b, b + 1}) {
      if (v <= varint::kMax) values.push_back(v);
    }
  }
  values.push_back(0x123456789abcdefull & varint::kMax);
  for (uint64_t v : values) {
    uint8_t ref[16] = {}, fast[16] = {};
    const size_t n = varint::encode(ref, sizeof ref, v);
    ASSERT_EQ(fast_varint::put(fast, v), n) << v;
    EXPECT_EQ(0, std::memcmp(ref, fast, 16)) << v;  // and nothing written past the varint
    // peek reads 8 bytes whatever follows; fill the tail so stray bits would show.
    std::memset(ref + n, 0xff, sizeof ref - n);
    uint64_t got = 0;
    const unsigned l2 = fast_varint::peek(ref, &got);
    EXPECT_EQ(size_t{1} << l2, n) << v;
    EXPECT_EQ(got, v);
    // Padded forms read back the same value and are flagged as below the length's minimum.
    for (size_t len : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
      uint8_t pad[16];
      std::memset(pad, 0xaa, sizeof pad);
      if (varint::encode_len(pad, sizeof pad, v, len) == 0) continue;
      const unsigned pl2 = fast_varint::peek(pad, &got);
      EXPECT_EQ(got, v);
      EXPECT_EQ(v<fast_varint::kMinForLen[pl2], len> n) << v << " in " << len;
    }
  }
}

TEST(MmfReport, DraftExampleDecodes) {
  ReportBuffer<8, 4> buf;
  ASSERT_EQ(buf.decode(kExample.data(), kExample.size()), Error::kOk);
  const Report& r = buf.report;
  EXPECT_EQ(r.report_timestamp_us, 2000000u);
  EXPECT_EQ(r.report_sequence, 10u);
  ASSERT_EQ(r.entries.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(r.entries[i], kExampleEntries[i]) << i;
  EXPECT_EQ(r.summary, (SummaryStats{100000, 5, 3, 1, 1, 3000}));
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0], (Metric{0x02, 150}));
  EXPECT_EQ(r.metrics[1], (Metric{0x04, 800}));
  EXPECT_EQ(metric_name(r.metrics[0].type), "PLAYOUT_AHEAD_MS");
  EXPECT_EQ(metric_name(r.metrics[1].type), "ESTIMATED_BANDWIDTH_KBPS");
}

TEST(MmfReport, DraftExampleEncodesByteForByte) {
  EXPECT_EQ(encode_ok(example_report()), kExample);
  ReportBuffer<8, 4> buf;
  ASSERT_EQ(buf.decode(kExample.data(), kExample.size()), Error::kOk);
  EXPECT_EQ(encode_ok(buf.report), kExample);
}

TEST(MmfReport, DraftExampleArrivalTimes) {
  // 96 arrived 85 ms before the report, 98 50 ms after 96, 99 and 100 20 ms apart.
  std::array<int64_t, 5> at{};
  ASSERT_EQ(arrival_times(example_report(), at), Error::kOk);
  EXPECT_EQ(at, (std::array<int64_t, 5>{1915000, 0, 1965000, 1985000, 2005000}));
}

TEST(MmfReport, EveryStatusAndMetricRoundTrips) {
  const std::array<ObjectEntry, 6> entries = {{
      {0, Status::kNotReceived, 0},  // first entry not received: the chain starts later
      {1, Status::kPartiallyReceived, 0},
      {2, Status::kReceivedLate, -7},  // first received: relative to the Report Timestamp
      {3, Status::kNotReceived, 0},
      {7, Status::kReceived, -300},  // arrived before object 2 (reordering)
      {1000, Status::kReceived, 0},
  }};
  const std::array<Metric, 6> metrics = {
      {{0x02, 0}, {0x04, 12345}, {0x10, 25000}, {0x12, 50}, {0x20, 99}, {0x1f, varint::kMax}}};
  Report r;
  r.report_timestamp_us = 5;
  r.report_sequence = 0;
  r.entries = entries;
  r.summary = {50000, 9, 3, 2, 4, -12};
  r.metrics = metrics;
  const Bytes b = encode_ok(r);
  ReportBuffer<8, 8> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size()), Error::kOk);
  EXPECT_EQ(buf.report, r);
  // Unknown types are kept, with no name.
  EXPECT_EQ(buf.report.metrics[4].type, 0x20u);
  EXPECT_EQ(metric_name(0x20), "");
  EXPECT_EQ(metric_name(0x1f), "");
  EXPECT_EQ(metric_name(0x10), "PEER_RTT_US");
  EXPECT_EQ(metric_name(0x12), "PEER_LOSS_RATE");
  // The Report Timestamp is 5 µs: the chain runs below zero and that is still a valid time.
  std::array<int64_t, 6> at{};
  ASSERT_EQ(arrival_times(buf.report, at), Error::kOk);
  EXPECT_EQ(at, (std::array<int64_t, 6>{0, 0, -2, 0, -302, -302}));
}

TEST(MmfReport, NonReceivedDeltaIsIgnoredByEncoder) {
  std::array<ObjectEntry, 2> entries = {
      {{1, Status::kNotReceived, 777}, {2, Status::kReceived, 3}}};
  Report r;
  r.entries = entries;
  r.summary.report_interval_us = 100000;
  const Bytes b = encode_ok(r);
  EXPECT_EQ(b, Builder().v(0).v(0).v(2).v(1).v(2).v(2).v(0).s(3).tail().b);
  ReportBuffer<4, 1> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size()), Error::kOk);
  EXPECT_EQ(buf.report.entries[0].recv_ts_delta_us, 0);
}

TEST(MmfReport, HeartbeatWithNoEntries) {
  Report r;
  r.report_timestamp_us = 123;
  r.report_sequence = 4;
  r.summary = {1000000, 0, 0, 0, 0, 0};
  const Bytes b = encode_ok(r);
  EXPECT_EQ(b, (Bytes{0x40, 123, 4, 0, 0x80, 0x0f, 0x42, 0x40, 0, 0, 0, 0, 0, 0}));
  ReportBuffer<1, 1> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size()), Error::kOk);
  EXPECT_EQ(buf.report, r);
  // Zero capacity is fine for a report with nothing in it.
  Report out;
  EXPECT_EQ(decode(b.data(), b.size(), {}, {}, {}, &out), Error::kOk);
}

TEST(MmfReport, MaximumValues) {
  constexpr uint64_t M = varint::kMax;
  constexpr int64_t kSMax = (int64_t{1} << 61) - 1;
  constexpr int64_t kSMin = -(int64_t{1} << 61);
  const std::array<ObjectEntry, 3> entries = {{
      {M - 2, Status::kReceived, kSMin},  // far before the report
      {M - 1, Status::kReceived, kSMax},
      {M, Status::kReceivedLate, kSMax},
  }};
  const std::array<Metric, 1> metrics = {{{M, M}}};
  Report r;
  r.report_timestamp_us = M;
  r.report_sequence = M;
  r.entries = entries;
  r.summary = {M, M, M - 2, 1, 1, kSMin};
  r.metrics = metrics;
  const Bytes b = encode_ok(r);
  EXPECT_EQ(b.size(), 8u * 2 + 1 + 3 * 17 + (4 * 8 + 2) + 1 + 16);  // two summary counts are 1
  ReportBuffer<4, 2> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size()), Error::kOk);
  EXPECT_EQ(buf.report, r);
}

TEST(MmfReport, LenientVarintsDecodeToTheSameReport) {
  // Object Entry Count padded to 2 bytes and Report Sequence to 8, as a writer patching fields
  // later might; the report is otherwise the example's.
  Bytes padded = kExample;
  padded[5] = 0x40;
  padded.insert(padded.begin() + 6, 0x05);
  padded[4] = 0xc0;
  padded.insert(padded.begin() + 5, {0, 0, 0, 0, 0, 0, 0x0a});
  DecodeOptions lenient;
  lenient.require_minimal_varints = false;
  ReportBuffer<8, 4> buf;
  ASSERT_EQ(buf.decode(padded.data(), padded.size(), lenient), Error::kOk);
  EXPECT_EQ(buf.report, example_report());
  EXPECT_EQ(encode_ok(buf.report), kExample);
  EXPECT_EQ(decode_err(padded), Error::kNonMinimalVarint);
}

TEST(MmfReport, MetricsNotNegotiated) {
  // Encoder: metrics are left out and the count is 0.
  EncodeOptions eo;
  eo.metrics_negotiated = false;
  const Bytes b = encode_ok(example_report(), eo);
  ASSERT_EQ(b.size(), kExample.size() - 6);
  EXPECT_TRUE(std::equal(b.begin(), b.end() - 1, kExample.begin()));
  EXPECT_EQ(b.back(), 0x00);
  // Decoder: a count of 0 is fine, anything else is refused.
  DecodeOptions dopt;
  dopt.metrics_negotiated = false;
  ReportBuffer<8, 4> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size(), dopt), Error::kOk);
  EXPECT_TRUE(buf.report.metrics.empty());
  EXPECT_EQ(decode_err(kExample, dopt), Error::kMetricsNotNegotiated);
}

// ---- size control (section 5.6) ----

// n entries with IDs 10.. and a mix of statuses; deltas from a fixed pattern.
struct Big {
  std::vector<ObjectEntry> entries;
  std::vector<Metric> metrics = {{0x02, 150}, {0x10, 30000}};
  Report report() const {
    Report r;
    r.report_timestamp_us = 10'000'000;
    r.report_sequence = 77;
    r.entries = entries;
    r.summary = {200000, 40, 30, 5, 5, 250};
    r.metrics = metrics;
    return r;
  }
};

Big make_big(size_t n) {
  Big big;
  for (size_t i = 0; i < n; ++i) {
    ObjectEntry e;
    e.object_id = 10 + i;
    switch (i % 5) {
      case 0:
        e.status = Status::kNotReceived;
        break;
      case 3:
        e.status = Status::kReceivedLate;
        break;
      case 4:
        e.status = Status::kPartiallyReceived;
        break;
      default:
        e.status = Status::kReceived;
    }
    e.recv_ts_delta_us = i == 1 ? -9'000'000 : (i % 2 ? 20000 : -1500);
    big.entries.push_back(e);
  }
  return big;
}

TEST(MmfReport, SizeControlKeepsNewestAndRebasesTheChain) {
  const Big big = make_big(400);
  const Report r = big.report();
  size_t dropped = 0;
  const Bytes b = encode_ok(r, {}, &dropped);
  EXPECT_LE(b.size(), kDefaultMaxBytes);
  EXPECT_GT(dropped, 0u);

  std::vector<ObjectEntry> es(400);
  std::vector<Metric> ms(4);
  Report got;
  ASSERT_EQ(decode(b.data(), b.size(), {}, es, ms, &got), Error::kOk);
  // The newest entries, in order, all of them up to the last one.
  ASSERT_EQ(got.entries.size(), 400 - dropped);
  EXPECT_EQ(got.entries.back().object_id, 10u + 399);
  EXPECT_EQ(got.entries.front().object_id, 10u + dropped);
  // Summary and metrics untouched.
  EXPECT_EQ(got.summary, r.summary);
  EXPECT_TRUE(
      std::equal(got.metrics.begin(), got.metrics.end(), big.metrics.begin(), big.metrics.end()));
  // Every kept entry arrives at the same time as in the full report.
  std::vector<int64_t> full(400), kept(got.entries.size());
  ASSERT_EQ(arrival_times(r, full), Error::kOk);
  ASSERT_EQ(arrival_times(got, kept), Error::kOk);
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(got.entries[i].status, big.entries[dropped + i].status);
    EXPECT_EQ(kept[i], full[dropped + i]) << i;
  }
  // As many as fit: one more entry would not have.
  EncodeOptions exact;
  exact.max_bytes = b.size();
  size_t dropped2 = 0;
  EXPECT_EQ(encode_ok(r, exact, &dropped2), b);
  EXPECT_EQ(dropped2, dropped);
  // The suffix one entry longer, its first received entry rebased by hand, is over budget.
  Big bigger = big;
  bigger.entries.erase(bigger.entries.begin(), bigger.entries.begin() + (dropped - 1));
  for (size_t i = 0; i < bigger.entries.size(); ++i) {
    if (has_recv_ts_delta(bigger.entries[i].status)) {
      bigger.entries[i].recv_ts_delta_us =
          full[dropped - 1 + i] - static_cast<int64_t>(r.report_timestamp_us);
      break;
    }
  }
  EncodeOptions none;
  none.max_bytes = SIZE_MAX;
  EXPECT_GT(encode_ok(bigger.report(), none).size(), kDefaultMaxBytes);
}

TEST(MmfReport, SizeControlAtEveryBudget) {
  // Whatever the budget, the result fits it, keeps a suffix, and keeps the arrival times.
  const Big big = make_big(60);
  const Report r = big.report();
  std::vector<int64_t> full(60);
  ASSERT_EQ(arrival_times(r, full), Error::kOk);
  EncodeOptions none;
  none.max_bytes = SIZE_MAX;
  const size_t whole = encode_ok(r, none).size();
  size_t prev_dropped = 60;
  for (size_t budget = 0; budget <= whole + 2; ++budget) {
    EncodeOptions o;
    o.max_bytes = budget;
    uint8_t out[2048];
    const EncodeResult res = encode(r, o, out, sizeof out);
    if (res.error == Error::kBudgetTooSmall) {
      EXPECT_LT(budget, 30u);
      continue;
    }
    ASSERT_EQ(res.error, Error::kOk) << budget;
    EXPECT_LE(res.size, budget);
    EXPECT_LE(res.entries_dropped, prev_dropped);  // more room never keeps fewer
    prev_dropped = res.entries_dropped;
    ReportBuffer<64, 4> buf;
    ASSERT_EQ(buf.decode(out, res.size), Error::kOk);
    ASSERT_EQ(buf.report.entries.size(), 60 - res.entries_dropped);
    std::vector<int64_t> kept(buf.report.entries.size());
    ASSERT_EQ(arrival_times(buf.report, kept), Error::kOk);
    for (size_t i = 0; i < kept.size(); ++i) {
      EXPECT_EQ(buf.report.entries[i].object_id, big.entries[res.entries_dropped + i].object_id);
      EXPECT_EQ(kept[i], full[res.entries_dropped + i]);
    }
  }
  EXPECT_EQ(prev_dropped, 0u);
}

TEST(MmfReport, SizeControlSkipsAStartWhoseRebasedDeltaCannotBeCarried) {
  // Object 2 arrived 2^61 µs after object 1 which itself is 2^61-1 µs after the report: starting
  // at object 2 would need a delta of 2^62-1, beyond ZigZag's range, so the encoder keeps only
  // object 3 (which is back near the Report Timestamp) rather than produce a bad chain.
  constexpr int64_t kSMax = (int64_t{1} << 61) - 1;
  const std::array<ObjectEntry, 3> entries = {{
      {1, Status::kReceived, kSMax},
      {2, Status::kReceived, kSMax},
      {3, Status::kReceived, -(int64_t{1} << 61)},
  }};
  Report r;
  r.entries = entries;
  EncodeOptions o;
  o.max_bytes = 9 + 1 + 2 * 10;  // fixed fields, count, two entries with 8-byte deltas
  size_t dropped = 0;
  const Bytes b = encode_ok(r, o, &dropped);
  EXPECT_EQ(dropped, 2u);
  ReportBuffer<4, 1> buf;
  ASSERT_EQ(buf.decode(b.data(), b.size()), Error::kOk);
  ASSERT_EQ(buf.report.entries.size(), 1u);
  EXPECT_EQ(buf.report.entries[0].recv_ts_delta_us, kSMax - 1);
}

// ---- every error code ----

TEST(MmfReportErrors, Names) {
  EXPECT_EQ(error_name(Error::kOk), "ok");
  EXPECT_EQ(error_name(Error::kTruncated), "truncated");
  EXPECT_EQ(error_name(Error::kNonMinimalVarint), "non_minimal_varint");
  EXPECT_EQ(error_name(Error::kValueTooLarge), "value_too_large");
  EXPECT_EQ(error_name(Error::kUnknownStatus), "unknown_status");
  EXPECT_EQ(error_name(Error::kEntriesNotAscending), "entries_not_ascending");
  EXPECT_EQ(error_name(Error::kTimeOverflow), "time_overflow");
  EXPECT_EQ(error_name(Error::kSummaryTotalMismatch), "summary_total_mismatch");
  EXPECT_EQ(error_name(Error::kCountExceedsInput), "count_exceeds_input");
  EXPECT_EQ(error_name(Error::kTooManyEntries), "too_many_entries");
  EXPECT_EQ(error_name(Error::kTooManyMetrics), "too_many_metrics");
  EXPECT_EQ(error_name(Error::kMetricsNotNegotiated), "metrics_not_negotiated");
  EXPECT_EQ(error_name(Error::kTrailingBytes), "trailing_bytes");
  EXPECT_EQ(error_name(Error::kBufferTooSmall), "buffer_too_small");
  EXPECT_EQ(error_name(Error::kBudgetTooSmall), "budget_too_small");
  EXPECT_EQ(status_name(static_cast<Status>(9)), "");
  Status s;
  EXPECT_TRUE(status_from_name("PARTIALLY_RECEIVED", &s));
  EXPECT_EQ(s, Status::kPartiallyReceived);
  EXPECT_FALSE(status_from_name("received", &s));
  uint64_t t;
  EXPECT_TRUE(metric_from_name("PEER_LOSS_RATE", &t));
  EXPECT_EQ(t, 0x12u);
  EXPECT_FALSE(metric_from_name("", &t));
}

TEST(MmfReportErrors, EveryTruncationIsCaught) {
  for (size_t n = 0; n < kExample.size(); ++n) {
    const Bytes cut(kExample.begin(), kExample.begin() + n);
    const Error e = decode_err(cut);
    EXPECT_TRUE(e == Error::kTruncated || e == Error::kCountExceedsInput)
        << n << " " << error_name(e);
  }
  // A varint whose length prefix promises more bytes than there are.
  EXPECT_EQ(decode_err(Bytes{0xc0, 0, 0}), Error::kTruncated);
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(1).v(5).v(0).raw({0x80, 0x01}).b), Error::kTruncated);
}

TEST(MmfReportErrors, NonMinimalVarint) {
  // Status 0 written in two bytes.
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(1).v(5).raw({0x40, 0x00}).s(0).tail().b),
            Error::kNonMinimalVarint);
  // A 4-byte Report Timestamp whose value fits 2 bytes.
  EXPECT_EQ(decode_err(Builder().raw({0x80, 0x00, 0x3f, 0xff}).v(0).v(0).tail().b),
            Error::kNonMinimalVarint);
}

TEST(MmfReportErrors, UnknownStatus) {
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(1).v(5).v(4).tail().b), Error::kUnknownStatus);
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(1).v(5).v(varint::kMax).tail().b),
            Error::kUnknownStatus);
  std::array<ObjectEntry, 1> entries = {{{1, static_cast<Status>(4), 0}}};
  Report r;
  r.entries = entries;
  EXPECT_EQ(encode_err(r), Error::kUnknownStatus);
}

TEST(MmfReportErrors, EntriesNotAscending) {
  // Descending, and a duplicate.
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(2).v(5).v(2).v(4).v(2).tail().b),
            Error::kEntriesNotAscending);
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(2).v(5).v(2).v(5).v(2).tail().b),
            Error::kEntriesNotAscending);
  std::array<ObjectEntry, 2> entries = {
      {{5, Status::kNotReceived, 0}, {5, Status::kNotReceived, 0}}};
  Report r;
  r.entries = entries;
  EXPECT_EQ(encode_err(r), Error::kEntriesNotAscending);
  entries[1].object_id = 4;
  EXPECT_EQ(encode_err(r), Error::kEntriesNotAscending);
}

TEST(MmfReportErrors, TimeOverflow) {
  // Each delta is as large as ZigZag allows: from 2^62-1, two reach 2^63-3, a third passes 2^63.
  constexpr int64_t kSMax = (int64_t{1} << 61) - 1;
  Builder b;
  b.v(varint::kMax).v(0).v(3);
  for (int i = 0; i < 3; ++i) b.v(i).v(0).s(kSMax);
  EXPECT_EQ(decode_err(b.tail().b), Error::kTimeOverflow);
  Builder ok;
  ok.v(varint::kMax).v(0).v(2);
  for (int i = 0; i < 2; ++i) ok.v(i).v(0).s(kSMax);
  EXPECT_EQ(decode_err(ok.tail().b), Error::kOk);
  // And downwards: from time 0, four times -2^61 is exactly -2^63, a fifth passes it.
  Builder down;
  down.v(0).v(0).v(5);
  for (int i = 0; i < 5; ++i) down.v(i).v(1).s(-(int64_t{1} << 61));
  EXPECT_EQ(decode_err(down.tail().b), Error::kTimeOverflow);
  // The encoder refuses what the decoder would.
  std::array<ObjectEntry, 3> entries;
  for (int i = 0; i < 3; ++i) entries[i] = {static_cast<uint64_t>(i), Status::kReceived, kSMax};
  Report r;
  r.report_timestamp_us = varint::kMax;
  r.entries = entries;
  EXPECT_EQ(encode_err(r), Error::kTimeOverflow);
  std::array<int64_t, 3> at;
  EXPECT_EQ(arrival_times(r, at), Error::kTimeOverflow);
}

TEST(MmfReportErrors, SummaryTotalMismatch) {
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(0).v(100000).v(5).v(3).v(1).v(0).s(0).v(0).b),
            Error::kSummaryTotalMismatch);
  Report r = example_report();
  r.summary.lost = 2;
  EXPECT_EQ(encode_err(r), Error::kSummaryTotalMismatch);
  // Large addends must not wrap into a match.
  Report w;
  w.summary = {0, 1, varint::kMax, varint::kMax, varint::kMax, 0};
  EXPECT_EQ(encode_err(w), Error::kSummaryTotalMismatch);
}

TEST(MmfReportErrors, CountExceedsInput) {
  // A short report claiming 2^62-1 entries or metrics is refused before any storage is touched.
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(varint::kMax).v(1).v(0).b), Error::kCountExceedsInput);
  EXPECT_EQ(decode_err(Builder().v(1).v(2).v(0).v(0).v(0).v(0).v(0).v(0).s(0).v(3).v(2).v(1).b),
            Error::kCountExceedsInput);
}

TEST(MmfReportErrors, TooManyEntriesOrMetrics) {
  std::array<ObjectEntry, 4> es;
  std::array<Metric, 1> ms;
  Report out;
  EXPECT_EQ(decode(kExample.data(), kExample.size(), {}, es, ms, &out), Error::kTooManyEntries);
  std::array<ObjectEntry, 5> es5;
  EXPECT_EQ(decode(kExample.data(), kExample.size(), {}, es5, ms, &out), Error::kTooManyMetrics);
  std::array<Metric, 2> ms2;
  EXPECT_EQ(decode(kExample.data(), kExample.size(), {}, es5, ms2, &out), Error::kOk);
}

TEST(MmfReportErrors, TrailingBytes) {
  Bytes b = kExample;
  b.push_back(0);
  EXPECT_EQ(decode_err(b), Error::kTrailingBytes);
}

TEST(MmfReportErrors, EncoderValueTooLarge) {
  const uint64_t big = varint::kMax + 1;
  auto with = [](auto change) {
    Report r = example_report();
    change(r);
    return encode_err(r);
  };
  EXPECT_EQ(with([&](Report& r) { r.report_timestamp_us = big; }), Error::kValueTooLarge);
  EXPECT_EQ(with([&](Report& r) { r.report_sequence = big; }), Error::kValueTooLarge);
  EXPECT_EQ(with([&](Report& r) { r.summary.report_interval_us = big; }), Error::kValueTooLarge);
  EXPECT_EQ(with([&](Report& r) { r.summary.avg_inter_arrival_delta_us = int64_t{1} << 61; }),
            Error::kValueTooLarge);
  const std::array<Metric, 1> bad_metric = {{{0x02, big}}};
  EXPECT_EQ(with([&](Report& r) { r.metrics = bad_metric; }), Error::kValueTooLarge);
  std::array<ObjectEntry, 1> e = {{{big, Status::kNotReceived, 0}}};
  EXPECT_EQ(with([&](Report& r) { r.entries = e; }), Error::kValueTooLarge);
  std::array<ObjectEntry, 1> d = {{{1, Status::kReceived, -(int64_t{1} << 61) - 1}}};
  EXPECT_EQ(with([&](Report& r) { r.entries = d; }), Error::kValueTooLarge);
}

TEST(MmfReportErrors, BufferAndBudgetTooSmall) {
  uint8_t out[64];
  EXPECT_EQ(encode(example_report(), {}, out, kExample.size() - 1).error, Error::kBufferTooSmall);
  EXPECT_EQ(encode(example_report(), {}, out, kExample.size()).error, Error::kOk);
  // Header (4+1) + count (1) + summary (10) + metrics (7) = 23 bytes even with no entries.
  EncodeOptions o;
  o.max_bytes = 22;
  EXPECT_EQ(encode(example_report(), o, out, sizeof out).error, Error::kBudgetTooSmall);
  o.max_bytes = 23;
  const EncodeResult res = encode(example_report(), o, out, sizeof out);
  EXPECT_EQ(res.error, Error::kOk);
  EXPECT_EQ(res.size, 23u);
  EXPECT_EQ(res.entries_dropped, 5u);
}

}  // namespace
}  // namespace camp::mmf
