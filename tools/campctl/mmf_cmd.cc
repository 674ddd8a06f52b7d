#include "tools/campctl/mmf_cmd.h"

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>

#include "dataplane/codec/varint.h"

namespace camp {
namespace mmf {

namespace {

constexpr char kUsage[] =
    "usage: campctl mmf decode [options] --hex HEX\n"
    "       campctl mmf decode [options] -      (hex text on stdin)\n"
    "       campctl mmf encode [options]        (JSON report on stdin)\n"
    "\n"
    "decode prints an MMF report (draft-jiang-moq-multimodal-feedback section 5) as JSON;\n"
    "encode reads that JSON and prints the report as hex. Hex input may contain whitespace.\n"
    "JSON names: report_timestamp_us, report_sequence, entries [{object_id, status,\n"
    "recv_ts_delta_us}], summary {report_interval_us, total_evaluated, received, received_late,\n"
    "lost, avg_inter_arrival_delta_us}, metrics [{type, name, value}]. Deltas are the signed\n"
    "values as carried (after ZigZag); status is RECEIVED, RECEIVED_LATE, NOT_RECEIVED or\n"
    "PARTIALLY_RECEIVED; an unknown metric type has \"name\": null.\n"
    "\n"
    "options:\n"
    "  --no-metrics       Optional Metrics not negotiated: decode refuses a non-zero metric\n"
    "                     count; encode leaves the metrics out\n"
    "  --lenient-varints  decode: accept longer-than-needed varints (RFC 9000 allows them)\n"
    "  --max-bytes N      encode: size budget, oldest entries dropped to fit (default 1200,\n"
    "                     0 = no limit)\n"
    "  --pretty           decode: indented JSON\n"
    "  --help             this text\n";

constexpr int64_t kSignedMax = (int64_t{1} << 61) - 1;
constexpr int64_t kSignedMin = -(int64_t{1} << 61);

bool get_varint(const json::Value& obj, std::string_view key, const std::string& where,
                uint64_t* out, std::string* error) {
  const json::Value* v = obj.find(key);
  const std::string name = where + std::string(key);
  if (v == nullptr) {
    *error = name + ": missing";
    return false;
  }
  if (!v->get_u64(out)) {
    *error = name + ": not an unsigned integer";
    return false;
  }
  if (*out > varint::kMax) {
    *error = name + ": " + std::to_string(*out) + " exceeds 2^62-1";
    return false;
  }
  return true;
}

bool get_signed(const json::Value& obj, std::string_view key, const std::string& where,
                int64_t* out, std::string* error) {
  const json::Value* v = obj.find(key);
  const std::string name = where + std::string(key);
  if (v == nullptr) {
    *error = name + ": missing";
    return false;
  }
  if (!v->get_i64(out)) {
    *error = name + ": not a 64-bit integer";
    return false;
  }
  if (*out > kSignedMax || *out < kSignedMin) {
    *error = name + ": " + std::to_string(*out) + " outside -2^61..2^61-1";
    return false;
  }
  return true;
}

// Unknown keys are refused so a misspelt field is not silently ignored.
bool only_keys(const json::Value& obj, std::initializer_list<std::string_view> keys,
               const std::string& where, std::string* error) {
  if (obj.kind() != json::Value::Kind::kObject) {
    *error = (where.empty() ? std::string("report") : where.substr(0, where.size() - 1)) +
             ": not an object";
    return false;
  }
  for (const json::Value::Member& m : obj.members()) {
    bool known = false;
    for (std::string_view k : keys) known = known || m.first == k;
    if (!known) {
      *error = where + m.first + ": unknown key";
      return false;
    }
  }
  return true;
}

const json::Value* get_array(const json::Value& obj, std::string_view key, bool required,
                             std::string* error) {
  const json::Value* v = obj.find(key);
  if (v == nullptr) {
    if (required) *error = std::string(key) + ": missing";
    return nullptr;
  }
  if (v->kind() != json::Value::Kind::kArray) {
    *error = std::string(key) + ": not an array";
    return nullptr;
  }
  return v;
}

}  // namespace

json::Value report_to_json(const Report& r) {
  using json::Value;
  Value root = Value::object();
  root.set("report_timestamp_us", Value::u64(r.report_timestamp_us));
  root.set("report_sequence", Value::u64(r.report_sequence));
  Value& entries = root.set("entries", Value::array());
  for (const ObjectEntry& e : r.entries) {
    Value& je = entries.push(Value::object());
    je.set("object_id", Value::u64(e.object_id));
    je.set("status", Value::string(std::string(status_name(e.status))));
    if (has_recv_ts_delta(e.status)) je.set("recv_ts_delta_us", Value::i64(e.recv_ts_delta_us));
  }
  Value& s = root.set("summary", Value::object());
  s.set("report_interval_us", Value::u64(r.summary.report_interval_us));
  s.set("total_evaluated", Value::u64(r.summary.total_evaluated));
  s.set("received", Value::u64(r.summary.received));
  s.set("received_late", Value::u64(r.summary.received_late));
  s.set("lost", Value::u64(r.summary.lost));
  s.set("avg_inter_arrival_delta_us", Value::i64(r.summary.avg_inter_arrival_delta_us));
  Value& metrics = root.set("metrics", Value::array());
  for (const Metric& m : r.metrics) {
    Value& jm = metrics.push(Value::object());
    jm.set("type", Value::u64(m.type));
    const std::string_view name = metric_name(m.type);
    jm.set("name", name.empty() ? Value() : Value::string(std::string(name)));
    jm.set("value", Value::u64(m.value));
  }
  return root;
}

bool report_from_json(const json::Value& v, OwnedReport* out, std::string* error) {
  if (!only_keys(v, {"report_timestamp_us", "report_sequence", "entries", "summary", "metrics"}, "",
                 error) ||
      !get_varint(v, "report_timestamp_us", "", &out->report_timestamp_us, error) ||
      !get_varint(v, "report_sequence", "", &out->report_sequence, error)) {
    return false;
  }

  const json::Value* entries = get_array(v, "entries", true, error);
  if (entries == nullptr) return false;
  out->entries.clear();
  for (size_t i = 0; i < entries->items().size(); ++i) {
    const json::Value& je = entries->items()[i];
    const std::string where = "entries[" + std::to_string(i) + "].";
    ObjectEntry e;
    if (!only_keys(je, {"object_id", "status", "recv_ts_delta_us"}, where, error) ||
        !get_varint(je, "object_id", where, &e.object_id, error)) {
      return false;
    }
    const json::Value* st = je.find("status");
    if (st == nullptr || st->kind() != json::Value::Kind::kString ||
        !status_from_name(st->str(), &e.status)) {
      *error = where + "status: " + (st == nullptr ? "missing" : "not a status name");
      return false;
    }
    if (has_recv_ts_delta(e.status)) {
      if (!get_signed(je, "recv_ts_delta_us", where, &e.recv_ts_delta_us, error)) return false;
    } else if (je.find("recv_ts_delta_us") != nullptr) {
      *error = where + "recv_ts_delta_us: only RECEIVED and RECEIVED_LATE carry one";
      return false;
    }
    out->entries.push_back(e);
  }

  const json::Value* s = v.find("summary");
  if (s == nullptr) {
    *error = "summary: missing";
    return false;
  }
  const std::string sw = "summary.";
  SummaryStats& ss = out->summary;
  if (!only_keys(*s,
                 {"report_interval_us", "total_evaluated", "received", "received_late", "lost",
                  "avg_inter_arrival_delta_us"},
                 sw, error) ||
      !get_varint(*s, "report_interval_us", sw, &ss.report_interval_us, error) ||
      !get_varint(*s, "total_evaluated", sw, &ss.total_evaluated, error) ||
      !get_varint(*s, "received", sw, &ss.received, error) ||
      !get_varint(*s, "received_late", sw, &ss.received_late, error) ||
      !get_varint(*s, "lost", sw, &ss.lost, error) ||
      !get_signed(*s, "avg_inter_arrival_delta_us", sw, &ss.avg_inter_arrival_delta_us, error)) {
    return false;
  }

  out->metrics.clear();
  if (v.find("metrics") != nullptr) {
    const json::Value* metrics = get_array(v, "metrics", false, error);
    if (metrics == nullptr) return false;
    for (size_t i = 0; i < metrics->items().size(); ++i) {
      const json::Value& jm = metrics->items()[i];
      const std::string where = "metrics[" + std::to_string(i) + "].";
      Metric m;
      if (!only_keys(jm, {"type", "name", "value"}, where, error) ||
          !get_varint(jm, "value", where, &m.value, error)) {
        return false;
      }
      // "type" is authoritative; "name" may stand in for a known type, and must agree with it.
      const json::Value* name = jm.find("name");
      uint64_t named = 0;
      const bool has_name = name != nullptr && !name->is_null();
      if (has_name &&
          (name->kind() != json::Value::Kind::kString || !metric_from_name(name->str(), &named))) {
        *error = where + "name: not a known metric name (use null for other types)";
        return false;
      }
      if (jm.find("type") != nullptr) {
        if (!get_varint(jm, "type", where, &m.type, error)) return false;
        if (has_name && named != m.type) {
          *error = where + "name: does not match type " + std::to_string(m.type);
          return false;
        }
      } else if (has_name) {
        m.type = named;
      } else {
        *error = where + "type: missing";
        return false;
      }
      out->metrics.push_back(m);
    }
  }
  return true;
}

}  // namespace mmf

namespace {

struct Options {
  bool metrics = true;
  bool lenient = false;
  bool pretty = false;
  bool help = false;
  bool from_stdin = false;
  bool has_hex = false;
  std::string hex;
  size_t max_bytes = mmf::kDefaultMaxBytes;
};

bool parse_options(int argc, char** argv, bool decode, Options* o, std::string* error) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      o->help = true;
    } else if (a == "--no-metrics") {
      o->metrics = false;
    } else if (a == "--lenient-varints" && decode) {
      o->lenient = true;
    } else if (a == "--pretty" && decode) {
      o->pretty = true;
    } else if (a == "--hex" && decode) {
      if (i + 1 >= argc) {
        *error = "--hex needs a value";
        return false;
      }
      o->has_hex = true;
      o->hex = argv[++i];
    } else if (a == "-" && decode) {
      o->from_stdin = true;
    } else if (a == "--max-bytes" && !decode) {
      if (i + 1 >= argc) {
        *error = "--max-bytes needs a value";
        return false;
      }
      const std::string v = argv[++i];
      char* end = nullptr;
      const unsigned long long n =
          v.empty() || v[0] == '-' ? 0 : std::strtoull(v.c_str(), &end, 10);
      if (end == nullptr || *end != '\0') {
        *error = "--max-bytes: not a number: " + v;
        return false;
      }
      o->max_bytes = n == 0 ? SIZE_MAX : static_cast<size_t>(n);
    } else {
      *error = "unknown argument: " + std::string(a);
      return false;
    }
  }
  if (decode && !o->help && o->has_hex == o->from_stdin) {
    *error = "decode takes exactly one of --hex HEX or -";
    return false;
  }
  return true;
}

int decode_cmd(const Options& o, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string text = o.hex;
  if (o.from_stdin) text.assign(std::istreambuf_iterator<char>(in), {});
  std::vector<uint8_t> bytes;
  std::string error;
  if (!mmf::parse_hex(text, &bytes, &error)) {
    err << "campctl mmf decode: " << error << "\n";
    return 1;
  }
  // An entry or a metric takes two bytes at least, so this storage holds any report that fits.
  std::vector<mmf::ObjectEntry> entries(bytes.size() / 2 + 1);
  std::vector<mmf::Metric> metrics(bytes.size() / 2 + 1);
  mmf::DecodeOptions opts;
  opts.metrics_negotiated = o.metrics;
  opts.require_minimal_varints = !o.lenient;
  mmf::Report r;
  const mmf::Error e = mmf::decode(bytes.data(), bytes.size(), opts, entries, metrics, &r);
  if (e != mmf::Error::kOk) {
    err << "campctl mmf decode: invalid report: " << mmf::error_name(e) << "\n";
    return 1;
  }
  out << json::write(mmf::report_to_json(r), o.pretty ? 2 : 0) << "\n";
  return 0;
}

int encode_cmd(const Options& o, std::istream& in, std::ostream& out, std::ostream& err) {
  const std::string text(std::istreambuf_iterator<char>(in), {});
  json::Value v;
  std::string error;
  if (!json::parse(text, &v, &error)) {
    err << "campctl mmf encode: JSON: " << error << "\n";
    return 1;
  }
  mmf::OwnedReport report;
  if (!mmf::report_from_json(v, &report, &error)) {
    err << "campctl mmf encode: " << error << "\n";
    return 1;
  }
  mmf::EncodeOptions opts;
  opts.metrics_negotiated = o.metrics;
  opts.max_bytes = o.max_bytes;
  const mmf::Report r = report.view();
  // Size the buffer for the whole report: each entry or metric needs at most 8 bytes per field.
  std::vector<uint8_t> buf(16 + 8 * 8 + 24 * r.entries.size() + 16 * r.metrics.size());
  const mmf::EncodeResult res = mmf::encode(r, opts, buf.data(), buf.size());
  if (res.error != mmf::Error::kOk) {
    err << "campctl mmf encode: report refused: " << mmf::error_name(res.error) << "\n";
    return 1;
  }
  if (res.entries_dropped != 0) {
    err << "campctl mmf encode: note: dropped the " << res.entries_dropped
        << " oldest entries to fit " << o.max_bytes << " bytes\n";
  }
  out << mmf::to_hex(buf.data(), res.size) << "\n";
  return 0;
}

}  // namespace

int run_mmf_command(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  if (argc < 2) {
    err << "campctl mmf: expected decode or encode (see campctl mmf --help)\n";
    return 1;
  }
  const std::string_view sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    out << mmf::kUsage;
    return 0;
  }
  if (sub != "decode" && sub != "encode") {
    err << "campctl mmf: unknown subcommand: " << sub << " (expected decode or encode)\n";
    return 1;
  }
  const bool decode = sub == "decode";
  Options o;
  std::string error;
  if (!parse_options(argc, argv, decode, &o, &error)) {
    err << "campctl mmf " << sub << ": " << error << "\n";
    return 1;
  }
  if (o.help) {
    out << mmf::kUsage;
    return 0;
  }
  return decode ? decode_cmd(o, in, out, err) : encode_cmd(o, in, out, err);
}

int run_mmf_command(int argc, char** argv) {
  return run_mmf_command(argc, argv, std::cin, std::cout, std::cerr);
}

}  // namespace camp
