// `campctl mmf decode|encode`: MMF reports between hex and JSON (see --help and
// dataplane/mmf/README.md for the JSON names).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "dataplane/codec/hex.h"
#include "dataplane/mmf/report.h"
#include "control/json.h"

namespace camp {

// argv[0] is "mmf", argv[1] "decode" or "encode". Returns the exit status: 0, or 1 after one line
// on stderr naming what is wrong.
int run_mmf_command(int argc, char** argv);
// The same with the streams given, for tests.
int run_mmf_command(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

namespace mmf {

// A report that owns its entries and metrics (the tool's side; the codec itself borrows storage).
struct OwnedReport {
  uint64_t report_timestamp_us = 0;
  uint64_t report_sequence = 0;
  std::vector<ObjectEntry> entries;
  SummaryStats summary;
  std::vector<Metric> metrics;

  Report view() const {
    return Report{report_timestamp_us, report_sequence, entries, summary, metrics};
  }
};

json::Value report_to_json(const Report& r);
// Checks names, types and ranges; on failure *error names the field, e.g. "entries[2].status: ...".
bool report_from_json(const json::Value& v, OwnedReport* out, std::string* error);

// Hex text and bytes (dataplane/codec/hex.h).
using camp::parse_hex;
using camp::to_hex;

}  // namespace mmf
}  // namespace camp
