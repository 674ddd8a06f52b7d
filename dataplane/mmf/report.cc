// MMF report codec: see report.h. The decoder is one forward pass with every read bounds-checked;
// the encoder validates and sizes in one pass, trims if over budget, then writes into a buffer it
// already knows is big enough.
#include "dataplane/mmf/report.h"

#include <algorithm>

#include "dataplane/codec/varint.h"
#include "dataplane/mmf/fast_varint.h"

namespace camp::mmf {

namespace {

// Every entry is at least Object ID + Status, every metric Type + Value: one byte each at least.
constexpr size_t kMinEntryBytes = 2;
constexpr size_t kMinMetricBytes = 2;
// Object ID, Status and Receive Timestamp Delta at their longest.
constexpr size_t kMaxEntryBytes = 3 * varint::kMaxLen;

// Signed fields travel as ZigZag in a 62-bit varint: [-2^61, 2^61-1].
constexpr bool signed_fits(int64_t v) { return varint::zigzag_encode(v) <= varint::kMax; }

constexpr size_t signed_size(int64_t v) { return varint::size(varint::zigzag_encode(v)); }

constexpr uint64_t kNoMinimum[4] = {0, 0, 0, 0};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, bool minimal)
      : p_(p), end_(p + n), min_(minimal ? fast_varint::kMinForLen : kNoMinimum) {}

  // Bounds-checked read through the reference codec: the header, the summary, the metrics, and
  // entries near the end of the input.
  Error read(uint64_t* v) {
    const size_t len = varint::decode(p_, static_cast<size_t>(end_ - p_), v);
    if (len == 0) return Error::kTruncated;
    if (*v < min_[__builtin_ctzll(len)]) return Error::kNonMinimalVarint;
    p_ += len;
    return Error::kOk;
  }

  // The hot path, for when 8 bytes are known to be left. Returns the length bits and does not
  // advance, so a caller can skip an optional field without a branch.
  unsigned peek(uint64_t* v) const { return fast_varint::peek(p_, v); }
  bool padded(uint64_t v, unsigned l2) const { return v < min_[l2]; }
  void skip(size_t len) { p_ += len; }
  uint8_t byte() const { return *p_; }

  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const uint64_t* min_;  // per length: below this the varint was padded
};

#define MMF_READ(reader, dst)            \
  do {                                   \
    const Error e_ = (reader).read(dst); \
    if (e_ != Error::kOk) [[unlikely]]   \
      return e_;                         \
  } while (0)

inline size_t put(uint8_t* p, uint64_t v) { return fast_varint::put(p, v); }

// Summary Stats and Optional Metrics, already validated.
uint8_t* write_tail(uint8_t* p, const SummaryStats& s, std::span<const Metric> metrics) {
  p += put(p, s.report_interval_us);
  p += put(p, s.total_evaluated);
  p += put(p, s.received);
  p += put(p, s.received_late);
  p += put(p, s.lost);
  p += put(p, varint::zigzag_encode(s.avg_inter_arrival_delta_us));
  p += put(p, metrics.size());
  for (const Metric& m : metrics) {
    p += put(p, m.type);
    p += put(p, m.value);
  }
  return p;
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kReceived:
      return "RECEIVED";
    case Status::kReceivedLate:
      return "RECEIVED_LATE";
    case Status::kNotReceived:
      return "NOT_RECEIVED";
    case Status::kPartiallyReceived:
      return "PARTIALLY_RECEIVED";
  }
  return "";
}

bool status_from_name(std::string_view name, Status* out) {
  for (uint8_t v = 0; v <= 3; ++v) {
    if (status_name(static_cast<Status>(v)) == name) {
      *out = static_cast<Status>(v);
      return true;
    }
  }
  return false;
}

std::string_view metric_name(uint64_t type) {
  switch (static_cast<MetricType>(type)) {
    case MetricType::kPlayoutAheadMs:
      return "PLAYOUT_AHEAD_MS";
    case MetricType::kEstimatedBandwidthKbps:
      return "ESTIMATED_BANDWIDTH_KBPS";
    case MetricType::kPeerRttUs:
      return "PEER_RTT_US";
    case MetricType::kPeerLossRate:
      return "PEER_LOSS_RATE";
  }
  return "";
}

bool metric_from_name(std::string_view name, uint64_t* type) {
  for (MetricType t : {MetricType::kPlayoutAheadMs, MetricType::kEstimatedBandwidthKbps,
                       MetricType::kPeerRttUs, MetricType::kPeerLossRate}) {
    if (!name.empty() && metric_name(static_cast<uint64_t>(t)) == name) {
      *type = static_cast<uint64_t>(t);
      return true;
    }
  }
  return false;
}

std::string_view error_name(Error e) {
  switch (e) {
    case Error::kOk:
      return "ok";
    case Error::kTruncated:
      return "truncated";
    case Error::kNonMinimalVarint:
      return "non_minimal_varint";
    case Error::kValueTooLarge:
      return "value_too_large";
    case Error::kUnknownStatus:
      return "unknown_status";
    case Error::kEntriesNotAscending:
      return "entries_not_ascending";
    case Error::kTimeOverflow:
      return "time_overflow";
    case Error::kSummaryTotalMismatch:
      return "summary_total_mismatch";
    case Error::kCountExceedsInput:
      return "count_exceeds_input";
    case Error::kTooManyEntries:
      return "too_many_entries";
    case Error::kTooManyMetrics:
      return "too_many_metrics";
    case Error::kMetricsNotNegotiated:
      return "metrics_not_negotiated";
    case Error::kTrailingBytes:
      return "trailing_bytes";
    case Error::kBufferTooSmall:
      return "buffer_too_small";
    case Error::kBudgetTooSmall:
      return "budget_too_small";
  }
  return "unknown_error";
}

bool operator==(const Report& a, const Report& b) {
  return a.report_timestamp_us == b.report_timestamp_us && a.report_sequence == b.report_sequence &&
         a.summary == b.summary &&
         std::equal(a.entries.begin(), a.entries.end(), b.entries.begin(), b.entries.end()) &&
         std::equal(a.metrics.begin(), a.metrics.end(), b.metrics.begin(), b.metrics.end());
}

Error decode(const uint8_t* p, size_t n, const DecodeOptions& opts,
             std::span<ObjectEntry> entry_storage, std::span<Metric> metric_storage, Report* out) {
  Reader rd(p, n, opts.require_minimal_varints);
  MMF_READ(rd, &out->report_timestamp_us);
  MMF_READ(rd, &out->report_sequence);

  uint64_t count;
  MMF_READ(rd, &count);
  // Checked against the bytes left before the caller's capacity: a short report claiming a huge
  // count is malformed, not merely too big for us.
  if (count > rd.left() / kMinEntryBytes) return Error::kCountExceedsInput;
  if (count > entry_storage.size()) return Error::kTooManyEntries;

  // Arrival time of the previous received entry; the chain starts at the Report Timestamp, which
  // is below 2^62 and so fits.
  int64_t t = static_cast<int64_t>(out->report_timestamp_us);
  ObjectEntry* e = entry_storage.data();
  uint64_t prev_id = 0;
  for (uint64_t i = 0; i < count; ++i, ++e) {
    uint64_t id, status, z;
    if (rd.left() >= kMaxEntryBytes + varint::kMaxLen) [[likely]] {
      // Room for a whole entry plus the over-read of the 8-byte loads.
      unsigned l2 = rd.peek(&id);
      if (rd.padded(id, l2)) [[unlikely]]
        return Error::kNonMinimalVarint;
      rd.skip(size_t{1} << l2);
      status = rd.byte();
      if (status < 4) [[likely]] {
        rd.skip(1);
      } else {
        l2 = rd.peek(&status);  // a padded or out-of-range status
        if (rd.padded(status, l2)) return Error::kNonMinimalVarint;
        rd.skip(size_t{1} << l2);
      }
      // The delta is read whether or not the status carries one, then kept or skipped without
      // a branch: statuses are mixed, and a mispredicted branch per entry costs more.
      const bool has = status <= 1;
      l2 = rd.peek(&z);
      if (has && rd.padded(z, l2)) [[unlikely]]
        return Error::kNonMinimalVarint;
      rd.skip(has ? size_t{1} << l2 : 0);
      z = has ? z : 0;
    } else {
      MMF_READ(rd, &id);
      MMF_READ(rd, &status);
      z = 0;
      if (status <= 1) MMF_READ(rd, &z);
    }
    if ((id <= prev_id && i > 0) || status > 3) [[unlikely]] {
      return status > 3 ? Error::kUnknownStatus : Error::kEntriesNotAscending;
    }
    prev_id = id;
    e->object_id = id;
    e->status = static_cast<Status>(status);
    // Entries without a delta carry z = 0, which adds nothing to the chain.
    e->recv_ts_delta_us = varint::zigzag_decode(z);
    if (__builtin_add_overflow(t, e->recv_ts_delta_us, &t)) [[unlikely]] {
      return Error::kTimeOverflow;
    }
  }
  out->entries = entry_storage.first(static_cast<size_t>(count));

  SummaryStats& s = out->summary;
  uint64_t avg;
  MMF_READ(rd, &s.report_interval_us);
  MMF_READ(rd, &s.total_evaluated);
  MMF_READ(rd, &s.received);
  MMF_READ(rd, &s.received_late);
  MMF_READ(rd, &s.lost);
  MMF_READ(rd, &avg);
  s.avg_inter_arrival_delta_us = varint::zigzag_decode(avg);
  // Each addend is below 2^62, so the sum cannot wrap 64 bits.
  if (s.total_evaluated != s.received + s.received_late + s.lost) {
    return Error::kSummaryTotalMismatch;
  }

  uint64_t mcount;
  MMF_READ(rd, &mcount);
  if (mcount != 0 && !opts.metrics_negotiated) return Error::kMetricsNotNegotiated;
  if (mcount > rd.left() / kMinMetricBytes) return Error::kCountExceedsInput;
  if (mcount > metric_storage.size()) return Error::kTooManyMetrics;
  for (uint64_t i = 0; i < mcount; ++i) {
    MMF_READ(rd, &metric_storage[i].type);
    MMF_READ(rd, &metric_storage[i].value);
  }
  out->metrics = metric_storage.first(static_cast<size_t>(mcount));

  if (rd.left() != 0) return Error::kTrailingBytes;
  return Error::kOk;
}

Error arrival_times(const Report& r, std::span<int64_t> arrival_us) {
  if (r.report_timestamp_us > varint::kMax) return Error::kValueTooLarge;
  int64_t t = static_cast<int64_t>(r.report_timestamp_us);
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const ObjectEntry& e = r.entries[i];
    if (has_recv_ts_delta(e.status)) {
      if (__builtin_add_overflow(t, e.recv_ts_delta_us, &t)) return Error::kTimeOverflow;
      arrival_us[i] = t;
    } else {
      arrival_us[i] = 0;
    }
  }
  return Error::kOk;
}

EncodeResult encode(const Report& r, const EncodeOptions& opts, uint8_t* out, size_t cap) {
  EncodeResult res;
  auto fail = [&res](Error e) {
    res.error = e;
    return res;
  };
  const SummaryStats& s = r.summary;
  if (r.report_timestamp_us > varint::kMax || r.report_sequence > varint::kMax ||
      s.report_interval_us > varint::kMax || s.total_evaluated > varint::kMax ||
      s.received > varint::kMax || s.received_late > varint::kMax || s.lost > varint::kMax ||
      !signed_fits(s.avg_inter_arrival_delta_us)) {
    return fail(Error::kValueTooLarge);
  }
  if (s.total_evaluated != s.received + s.received_late + s.lost) {
    return fail(Error::kSummaryTotalMismatch);
  }

  const std::span<const Metric> metrics =
      opts.metrics_negotiated ? r.metrics : std::span<const Metric>{};
  size_t fixed = varint::size(r.report_timestamp_us) + varint::size(r.report_sequence) +
                 varint::size(s.report_interval_us) + varint::size(s.total_evaluated) +
                 varint::size(s.received) + varint::size(s.received_late) + varint::size(s.lost) +
                 signed_size(s.avg_inter_arrival_delta_us) + varint::size(metrics.size());
  if (metrics.size() > varint::kMax) return fail(Error::kValueTooLarge);
  for (const Metric& m : metrics) {
    if (m.type > varint::kMax || m.value > varint::kMax) return fail(Error::kValueTooLarge);
    fixed += varint::size(m.type) + varint::size(m.value);
  }
  // fixed at the longest varints: timestamp, sequence, six summary fields, metric count.
  const size_t fixed_worst = (9 + 2 * metrics.size()) * varint::kMaxLen;

  // Validate the entries as the decoder would, and size them with their own deltas.
  const std::span<const ObjectEntry> entries = r.entries;
  const size_t n = entries.size();
  if (n > varint::kMax || n > SIZE_MAX / (2 * kMaxEntryBytes)) return fail(Error::kValueTooLarge);

  // The common case: even at the longest varints the report fits the budget and the buffer, so
  // nothing can be trimmed and one pass validates and writes. Otherwise size first, then write.
  const size_t worst = fixed_worst + varint::kMaxLen + n * (2 * varint::kMaxLen + 1);
  if (worst <= opts.max_bytes && worst <= cap) {
    uint8_t* p = out;
    p += put(p, r.report_timestamp_us);
    p += put(p, r.report_sequence);
    p += put(p, n);
    int64_t t = static_cast<int64_t>(r.report_timestamp_us);
    for (size_t i = 0; i < n; ++i) {
      const ObjectEntry& e = entries[i];
      const uint8_t status = static_cast<uint8_t>(e.status);
      if (e.object_id > varint::kMax || status > 3 ||
          (i > 0 && e.object_id <= entries[i - 1].object_id)) [[unlikely]] {
        return fail(e.object_id > varint::kMax ? Error::kValueTooLarge
                    : status > 3               ? Error::kUnknownStatus
                                               : Error::kEntriesNotAscending);
      }
      p += put(p, e.object_id);
      *p++ = status;
      if (status <= 1) {
        const uint64_t z = varint::zigzag_encode(e.recv_ts_delta_us);
        if (z > varint::kMax) [[unlikely]]
          return fail(Error::kValueTooLarge);
        if (__builtin_add_overflow(t, e.recv_ts_delta_us, &t)) [[unlikely]] {
          return fail(Error::kTimeOverflow);
        }
        p += put(p, z);
      }
    }
    p = write_tail(p, s, metrics);
    res.size = static_cast<size_t>(p - out);
    return res;
  }

  size_t entries_size = 0;
  int64_t t = static_cast<int64_t>(r.report_timestamp_us);
  for (size_t i = 0; i < n; ++i) {
    const ObjectEntry& e = entries[i];
    if (e.object_id > varint::kMax) return fail(Error::kValueTooLarge);
    if (static_cast<uint8_t>(e.status) > 3) return fail(Error::kUnknownStatus);
    if (i > 0 && e.object_id <= entries[i - 1].object_id) {
      return fail(Error::kEntriesNotAscending);
    }
    entries_size += varint::size(e.object_id) + 1;
    if (has_recv_ts_delta(e.status)) {
      if (!signed_fits(e.recv_ts_delta_us)) return fail(Error::kValueTooLarge);
      if (__builtin_add_overflow(t, e.recv_ts_delta_us, &t)) return fail(Error::kTimeOverflow);
      entries_size += signed_size(e.recv_ts_delta_us);
    }
  }

  // Which suffix [start, n) to keep, and the delta its first received entry carries.
  size_t start = 0;
  size_t total = fixed + varint::size(n) + entries_size;
  size_t first_rx = n;  // index whose delta is replaced by rebased_delta (n: none)
  int64_t rebased_delta = 0;
  if (total > opts.max_bytes) {
    // Walk back from the newest entry, growing the kept suffix while it fits. `rest` sizes the
    // kept entries other than the first received one, whose delta is rebased onto the Report
    // Timestamp; `arr` is the arrival time of the received entry met next going backwards.
    if (fixed + 1 > opts.max_bytes) return fail(Error::kBudgetTooSmall);
    start = n;
    total = fixed + 1;
    size_t rest = 0;
    size_t cur_rx = n;      // first received entry of the suffix (n: none yet)
    bool cur_ok = true;     // its rebased delta fits a varint
    int64_t cur_delta = 0;  // its rebased delta
    int64_t arr = t;
    for (size_t i = n; i-- > 0;) {
      const ObjectEntry& e = entries[i];
      rest += varint::size(e.object_id) + 1;
      if (has_recv_ts_delta(e.status)) {
        if (cur_rx != n) rest += signed_size(entries[cur_rx].recv_ts_delta_us);  // now chained
        cur_rx = i;
        // arr is this entry's arrival; stepping back gives the previous received one's, which
        // the forward pass already computed without overflow.
        cur_ok =
            !__builtin_sub_overflow(arr, static_cast<int64_t>(r.report_timestamp_us), &cur_delta) &&
            signed_fits(cur_delta);
        arr -= e.recv_ts_delta_us;
      }
      const size_t k = n - i;
      if (fixed + varint::size(k) + rest > opts.max_bytes) break;  // only grows from here
      if (!cur_ok) continue;  // this start cannot be carried; an older one still might
      const size_t sz = fixed + varint::size(k) + rest + (cur_rx == n ? 0 : signed_size(cur_delta));
      if (sz <= opts.max_bytes) {
        start = i;
        total = sz;
        first_rx = cur_rx;
        rebased_delta = cur_delta;
      }
    }
  }
  if (total > cap) return fail(Error::kBufferTooSmall);

  uint8_t* p = out;
  p += put(p, r.report_timestamp_us);
  p += put(p, r.report_sequence);
  p += put(p, n - start);
  for (size_t i = start; i < n; ++i) {
    const ObjectEntry& e = entries[i];
    p += put(p, e.object_id);
    *p++ = static_cast<uint8_t>(e.status);
    if (has_recv_ts_delta(e.status)) {
      p += put(p, varint::zigzag_encode(i == first_rx ? rebased_delta : e.recv_ts_delta_us));
    }
  }
  p = write_tail(p, s, metrics);
  res.size = static_cast<size_t>(p - out);
  res.entries_dropped = start;
  return res;
}

}  // namespace camp::mmf
