// `campctl mmf decode|encode` through run_mmf_command with string streams.
#include "tools/campctl/mmf_cmd.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace camp {
namespace {

// Section 5.6.1 of the draft.
constexpr char kExampleHex[] =
    "801e84800a054060008002980f406102406201800186a040630080009c4040640080009c40800186a005030101577"
    "002024096044320";

constexpr char kExampleJson[] =
    R"({"report_timestamp_us":2000000,"report_sequence":10,"entries":[)"
    R"({"object_id":96,"status":"RECEIVED","recv_ts_delta_us":-85000},)"
    R"({"object_id":97,"status":"NOT_RECEIVED"},)"
    R"({"object_id":98,"status":"RECEIVED_LATE","recv_ts_delta_us":50000},)"
    R"({"object_id":99,"status":"RECEIVED","recv_ts_delta_us":20000},)"
    R"({"object_id":100,"status":"RECEIVED","recv_ts_delta_us":20000}],)"
    R"("summary":{"report_interval_us":100000,"total_evaluated":5,"received":3,)"
    R"("received_late":1,"lost":1,"avg_inter_arrival_delta_us":3000},)"
    R"("metrics":[{"type":2,"name":"PLAYOUT_AHEAD_MS","value":150},)"
    R"({"type":4,"name":"ESTIMATED_BANDWIDTH_KBPS","value":800}]})";

struct Outcome {
  int rc;
  std::string out, err;
};

Outcome run(std::vector<std::string> args, const std::string& input = "") {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::istringstream in(input);
  std::ostringstream out, err;
  const int rc = run_mmf_command(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {rc, out.str(), err.str()};
}

// A failure: exit 1, nothing on stdout, exactly one line on stderr containing `what`.
void expect_error(const Outcome& r, const std::string& what) {
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(MmfCmd, DecodeExample) {
  const Outcome r = run({"mmf", "decode", "--hex", kExampleHex});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kExampleJson) + "\n");
  EXPECT_EQ(r.err, "");
}

TEST(MmfCmd, DecodeFromStdinIgnoresWhitespace) {
  std::string spread;
  for (const char* p = kExampleHex; *p; ++p) {
    spread.push_back(*p);
    if ((p - kExampleHex) % 7 == 0) spread += " \n\t\r";
  }
  const Outcome r = run({"mmf", "decode", "-"}, spread);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kExampleJson) + "\n");
  // Upper-case hex too.
  std::string upper = kExampleHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(run({"mmf", "decode", "--hex", upper}).out, std::string(kExampleJson) + "\n");
}

TEST(MmfCmd, DecodePretty) {
  const Outcome r = run({"mmf", "decode", "--pretty", "--hex", kExampleHex});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("\n  \"report_sequence\": 10,\n"), std::string::npos) << r.out;
  EXPECT_EQ(run({"mmf", "encode"}, r.out).out, std::string(kExampleHex) + "\n");
}

TEST(MmfCmd, EncodeExample) {
  const Outcome r = run({"mmf", "encode"}, kExampleJson);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kExampleHex) + "\n");
}

TEST(MmfCmd, EncodeAcceptsNameForTypeAndAbsentMetrics) {
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(kExampleJson, &v, &err));
  json::Value m = json::Value::object();
  m.set("name", json::Value::string("PEER_RTT_US"));
  m.set("value", json::Value::u64(25000));
  json::Value metrics = json::Value::array();
  metrics.push(m);
  json::Value unknown = json::Value::object();
  unknown.set("type", json::Value::u64(0x21));
  unknown.set("name", json::Value());
  unknown.set("value", json::Value::u64(7));
  metrics.push(unknown);
  v.set("metrics", metrics);
  const Outcome r = run({"mmf", "encode"}, json::write(v));
  ASSERT_EQ(r.rc, 0) << r.err;
  const Outcome back = run({"mmf", "decode", "--hex", r.out});
  EXPECT_NE(back.out.find(R"({"type":16,"name":"PEER_RTT_US","value":25000})"), std::string::npos);
  EXPECT_NE(back.out.find(R"({"type":33,"name":null,"value":7})"), std::string::npos);

  // Without "metrics" at all: a count of 0.
  json::Value none = v;
  none.members().pop_back();
  const Outcome r2 = run({"mmf", "encode"}, json::write(none));
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_EQ(r2.out.substr(r2.out.size() - 3), "00\n");
}

TEST(MmfCmd, MetricsNotNegotiated) {
  expect_error(run({"mmf", "decode", "--no-metrics", "--hex", kExampleHex}),
               "metrics_not_negotiated");
  const Outcome r = run({"mmf", "encode", "--no-metrics"}, kExampleJson);
  ASSERT_EQ(r.rc, 0);
  const std::string expect = std::string(kExampleHex, sizeof kExampleHex - 1 - 14) + "00\n";
  EXPECT_EQ(r.out, expect);
  EXPECT_EQ(run({"mmf", "decode", "--no-metrics", "--hex", r.out}).rc, 0);
}

TEST(MmfCmd, LenientVarints) {
  // Report Sequence 10 in two bytes.
  std::string hex = kExampleHex;
  hex.replace(8, 2, "400a");
  expect_error(run({"mmf", "decode", "--hex", hex}), "non_minimal_varint");
  const Outcome r = run({"mmf", "decode", "--lenient-varints", "--hex", hex});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, std::string(kExampleJson) + "\n");
}

TEST(MmfCmd, MaxBytesTrims) {
  const Outcome r = run({"mmf", "encode", "--max-bytes", "40"}, kExampleJson);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_LE(r.out.size(), 81u);
  EXPECT_NE(r.err.find("dropped the 3 oldest entries"), std::string::npos) << r.err;
  const Outcome d = run({"mmf", "decode", "--hex", r.out});
  // Object 99 is now first, rebased onto the Report Timestamp: -85000 + 50000 + 20000.
  EXPECT_NE(
      d.out.find(R"("entries":[{"object_id":99,"status":"RECEIVED","recv_ts_delta_us":-15000},)"
                 R"({"object_id":100,)"),
      std::string::npos)
      << d.out;
  expect_error(run({"mmf", "encode", "--max-bytes", "10"}, kExampleJson), "budget_too_small");
  EXPECT_EQ(run({"mmf", "encode", "--max-bytes", "0"}, kExampleJson).out,
            std::string(kExampleHex) + "\n");
}

TEST(MmfCmd, Help) {
  for (const char* sub : {"--help", "help"}) {
    const Outcome r = run({"mmf", sub});
    EXPECT_EQ(r.rc, 0);
    EXPECT_NE(r.out.find("usage: campctl mmf decode"), std::string::npos);
  }
  EXPECT_EQ(run({"mmf", "encode", "--help"}).rc, 0);
  EXPECT_NE(run({"mmf", "decode", "--help"}).out.find("--no-metrics"), std::string::npos);
}

TEST(MmfCmd, BadArguments) {
  expect_error(run({"mmf"}), "expected decode or encode");
  expect_error(run({"mmf", "frobnicate"}), "unknown subcommand: frobnicate");
  expect_error(run({"mmf", "decode"}), "exactly one of --hex HEX or -");
  expect_error(run({"mmf", "decode", "--hex", "00", "-"}), "exactly one of --hex HEX or -");
  expect_error(run({"mmf", "decode", "--hex"}), "--hex needs a value");
  expect_error(run({"mmf", "decode", "--max-bytes", "5", "--hex", "00"}), "unknown argument");
  expect_error(run({"mmf", "encode", "--max-bytes", "12x"}), "--max-bytes: not a number");
  expect_error(run({"mmf", "encode", "--max-bytes", "-1"}), "--max-bytes: not a number");
  expect_error(run({"mmf", "encode", "--pretty"}), "unknown argument: --pretty");
}

TEST(MmfCmd, BadHex) {
  expect_error(run({"mmf", "decode", "--hex", "0g"}), "hex: invalid character at offset 1");
  expect_error(run({"mmf", "decode", "--hex", "801"}), "hex: odd number of digits");
  expect_error(run({"mmf", "decode", "--hex", "801e84"}), "invalid report: truncated");
  expect_error(run({"mmf", "decode", "--hex", ""}), "invalid report: truncated");
  expect_error(run({"mmf", "decode", "--hex", std::string(kExampleHex) + "00"}), "trailing_bytes");
}

// Encode errors name the field.
void expect_encode_error(const std::string& from, const std::string& to, const std::string& what) {
  std::string j = kExampleJson;
  const size_t at = j.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  j.replace(at, from.size(), to);
  expect_error(run({"mmf", "encode"}, j), what);
}

TEST(MmfCmd, BadJson) {
  expect_error(run({"mmf", "encode"}, ""), "JSON: line 1 column 1: unexpected end of input");
  expect_error(run({"mmf", "encode"}, "[]"), "report: not an object");
  expect_error(run({"mmf", "encode"}, "{\"x\":1}"), "x: unknown key");
  expect_encode_error(R"("report_sequence":10,)", "", "report_sequence: missing");
  expect_encode_error(R"("report_sequence":10)", R"("report_sequence":-1)",
                      "report_sequence: not an unsigned integer");
  expect_encode_error(R"("report_sequence":10)", R"("report_sequence":4611686018427387904)",
                      "report_sequence: 4611686018427387904 exceeds 2^62-1");
  expect_encode_error(R"("report_sequence":10)", R"("report_sequence":1.5)",
                      "report_sequence: not an unsigned integer");
  expect_error(
      run({"mmf", "encode"}, R"({"report_timestamp_us":1,"report_sequence":1,"entries":7})"),
      "entries: not an array");
  expect_encode_error(R"({"object_id":97,)", R"({"object_id":97,"bogus":1,)",
                      "entries[1].bogus: unknown key");
  expect_encode_error(R"("status":"NOT_RECEIVED")", R"("status":"LOST")",
                      "entries[1].status: not a status name");
  expect_encode_error(R"("status":"NOT_RECEIVED")",
                      R"("status":"NOT_RECEIVED","recv_ts_delta_us":1)",
                      "entries[1].recv_ts_delta_us: only RECEIVED and RECEIVED_LATE carry one");
  expect_encode_error(R"(,"recv_ts_delta_us":50000)", "", "entries[2].recv_ts_delta_us: missing");
  expect_encode_error(R"("recv_ts_delta_us":50000)", R"("recv_ts_delta_us":2305843009213693952)",
                      "entries[2].recv_ts_delta_us: 2305843009213693952 outside -2^61..2^61-1");
  expect_encode_error(R"("recv_ts_delta_us":50000)", R"("recv_ts_delta_us":-9223372036854775809)",
                      "entries[2].recv_ts_delta_us: not a 64-bit integer");
  expect_encode_error(R"("object_id":98)", R"("object_id":96)", "entries_not_ascending");
  expect_encode_error(R"("lost":1)", R"("lost":2)", "report refused: summary_total_mismatch");
  expect_encode_error(R"(,"avg_inter_arrival_delta_us":3000)", "",
                      "summary.avg_inter_arrival_delta_us: missing");
  expect_encode_error(R"("summary":{)", R"("summary":{"extra":0,)", "summary.extra: unknown key");
  expect_encode_error(R"("type":2,"name":"PLAYOUT_AHEAD_MS")",
                      R"("type":3,"name":"PLAYOUT_AHEAD_MS")",
                      "metrics[0].name: does not match type 3");
  expect_encode_error(R"("name":"PLAYOUT_AHEAD_MS")", R"("name":"NOPE")",
                      "metrics[0].name: not a known metric name");
  expect_encode_error(R"("type":2,"name":"PLAYOUT_AHEAD_MS",)", "", "metrics[0].type: missing");
  expect_encode_error(R"("metrics":[)", R"("metrics":[1,)", "metrics[0]: not an object");
}

TEST(MmfCmd, HexHelpers) {
  std::vector<uint8_t> b;
  std::string err;
  ASSERT_TRUE(mmf::parse_hex(" 00 ff\nA5 ", &b, &err));
  EXPECT_EQ(b, (std::vector<uint8_t>{0x00, 0xff, 0xa5}));
  EXPECT_EQ(mmf::to_hex(b.data(), b.size()), "00ffa5");
}

}  // namespace
}  // namespace camp
