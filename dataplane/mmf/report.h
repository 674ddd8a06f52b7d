// MMF feedback report codec (draft-jiang-moq-multimodal-feedback-00, section 5).
//
// MoQ Multimodal Feedback { Report Timestamp (i), Report Sequence (i), Object Entry Count (i),
//   Object Entry (..) ..., Summary Stats (..), Optional Metric Count (i), Optional Metric (..) ...
//   }
//
// Every field is a QUIC varint (RFC 9000 section 16); signed fields use ZigZag. The decoder writes
// into storage the caller lends it, so nothing a report says can make it allocate, and it never
// reads past the bytes it is given. The encoder refuses anything the decoder would refuse, so what
// it writes always decodes back to the same report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace camp::mmf {

// Delivery status codes (section 5.3). Carried as a varint; any other value is rejected because
// whether a Receive Timestamp Delta follows depends on it.
enum class Status : uint8_t {
  kReceived = 0x00,
  kReceivedLate = 0x01,
  kNotReceived = 0x02,
  kPartiallyReceived = 0x03,
};

// Spec name ("RECEIVED", ...), or "" for a value outside the table.
std::string_view status_name(Status s);
// Inverse of status_name; false when the name is not one of the four.
bool status_from_name(std::string_view name, Status* out);

// Only RECEIVED and RECEIVED_LATE carry a Receive Timestamp Delta and take part in the chain.
constexpr bool has_recv_ts_delta(Status s) {
  return s == Status::kReceived || s == Status::kReceivedLate;
}

// Optional Metric types defined by section 5.5. Others (0x20+ application-defined, or reserved
// values we do not know) are kept by the decoder and ignored by consumers.
enum class MetricType : uint64_t {
  kPlayoutAheadMs = 0x02,
  kEstimatedBandwidthKbps = 0x04,
  kPeerRttUs = 0x10,
  kPeerLossRate = 0x12,
};

// Spec name ("PLAYOUT_AHEAD_MS", ...), or "" for a type this code does not know.
std::string_view metric_name(uint64_t type);
// Inverse of metric_name; false for an unknown name.
bool metric_from_name(std::string_view name, uint64_t* type);

struct ObjectEntry {
  uint64_t object_id = 0;
  Status status = Status::kReceived;
  // Signed delta as carried (microseconds), after ZigZag: for the first received entry relative to
  // the Report Timestamp, for later ones relative to the previous received entry (section 5.2.3).
  // Only meaningful when has_recv_ts_delta(status); the decoder sets 0 otherwise and the encoder
  // ignores it.
  int64_t recv_ts_delta_us = 0;

  bool operator==(const ObjectEntry&) const = default;
};

// Summary Stats (section 5.4): always present, never trimmed.
struct SummaryStats {
  uint64_t report_interval_us = 0;
  uint64_t total_evaluated = 0;  // must equal received + received_late + lost
  uint64_t received = 0;
  uint64_t received_late = 0;
  uint64_t lost = 0;
  int64_t avg_inter_arrival_delta_us = 0;  // signed (ZigZag on the wire)

  bool operator==(const SummaryStats&) const = default;
};

struct Metric {
  uint64_t type = 0;
  uint64_t value = 0;

  bool operator==(const Metric&) const = default;
};

// A report as a view: entries and metrics live in storage owned by the caller.
struct Report {
  uint64_t report_timestamp_us = 0;
  uint64_t report_sequence = 0;
  std::span<const ObjectEntry> entries;  // strictly ascending Object ID
  SummaryStats summary;
  std::span<const Metric> metrics;
};

bool operator==(const Report& a, const Report& b);

// Why a report was refused. Names (error_name) are the enumerator names in snake_case.
enum class Error : uint8_t {
  kOk = 0,
  kTruncated,             // a varint or a whole field runs past the end of the input
  kNonMinimalVarint,      // a varint longer than needed (only with require_minimal_varints)
  kValueTooLarge,         // encoder: a value above 2^62-1, or a signed value outside +-2^61
  kUnknownStatus,         // Status is not 0x00..0x03
  kEntriesNotAscending,   // Object IDs not strictly ascending
  kTimeOverflow,          // the Receive Timestamp Delta chain leaves the signed 64-bit time range
  kSummaryTotalMismatch,  // Total Objects Evaluated != Received + Received Late + Lost
  kCountExceedsInput,     // a count promises more items than the bytes left could hold
  kTooManyEntries,        // more Object Entries than the caller's storage holds
  kTooManyMetrics,        // more Optional Metrics than the caller's storage holds
  kMetricsNotNegotiated,  // decoder: Optional Metric Count > 0 though metrics were not negotiated
  kTrailingBytes,         // bytes left after the last Optional Metric
  kBufferTooSmall,        // encoder: the output buffer cannot hold the report
  kBudgetTooSmall,        // encoder: even with every entry dropped the report exceeds max_bytes
};

std::string_view error_name(Error e);

struct DecodeOptions {
  // Section 6.2: without both sides declaring bit 1, Optional Metric Count MUST be 0.
  bool metrics_negotiated = true;
  // RFC 9000 allows longer-than-needed varints; by default this decoder refuses them so that every
  // report has one encoding (and decode -> encode reproduces the bytes). Set false to accept them.
  bool require_minimal_varints = true;
};

// Decodes one whole report from p[0..n) (an MMF object payload: nothing may follow it).
// Entries and metrics go into the caller's storage; out's spans point into it.
// On error *out is unspecified.
Error decode(const uint8_t* p, size_t n, const DecodeOptions& opts,
             std::span<ObjectEntry> entry_storage, std::span<Metric> metric_storage, Report* out);

inline constexpr size_t kDefaultMaxBytes = 1200;  // section 5.6: one MMF within one QUIC packet

struct EncodeOptions {
  // Without negotiation the metrics are left out (count 0), so a caller may always fill them and
  // let the session's negotiated capability decide.
  bool metrics_negotiated = true;
  // Size control (section 5.6): when the whole report would exceed this, the oldest entries
  // (smallest Object IDs) are dropped until it fits; Summary Stats stay whole. SIZE_MAX: no limit.
  size_t max_bytes = kDefaultMaxBytes;
};

struct EncodeResult {
  Error error = Error::kOk;
  size_t size = 0;             // bytes written
  size_t entries_dropped = 0;  // oldest entries left out to fit max_bytes
};

// Encodes r into out[0..cap); on error out's contents are unspecified. Entries must already ascend
// by Object ID; they are not sorted here because each delta is relative to the previous received
// entry in list order, so reordering would change what the deltas mean. When entries are dropped,
// the first kept received entry's delta is rebased onto the Report Timestamp so the chain still
// says the same arrival times.
EncodeResult encode(const Report& r, const EncodeOptions& opts, uint8_t* out, size_t cap);

// Absolute arrival times (receiver clock, microseconds) of the received entries, following the
// delta chain; arrival_us[i] is set for entries that carry a delta and 0 for the others.
// arrival_us must hold r.entries.size() values. Fails with kTimeOverflow like the decoder.
Error arrival_times(const Report& r, std::span<int64_t> arrival_us);

// Storage for decoding with compile-time capacity, e.g. a worker's scratch report.
template <size_t kEntries, size_t kMetrics>
struct ReportBuffer {
  ObjectEntry entries[kEntries];
  Metric metrics[kMetrics];
  Report report;

  Error decode(const uint8_t* p, size_t n, const DecodeOptions& opts = {}) {
    return mmf::decode(p, n, opts, entries, metrics, &report);
  }
};

}  // namespace camp::mmf
