// The bounded JSON-SEQ emitter: escaping, numbers, chunking and flush.
#include "dataplane/quic/qlog/json_seq_output.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <cstdio>
#include <string>
#include <vector>

#include "qlog_test_util.h"

namespace camp::quic::qlog {
namespace {

using testing::Collector;
using testing::parse_seq;

std::string one_value(void (*fill)(JsonSeqOutput&)) {
  Collector c;
  {
    JsonSeqOutput out(64, c.sink());
    out.begin_record();
    fill(out);
    out.end_record();
    out.flush();
  }
  return c.bytes;
}

TEST(JsonSeqOutput, RecordFramingAndCommas) {
  const std::string s = one_value([](JsonSeqOutput& o) {
    o.begin_object();
    o.key("a");
    o.u64(1);
    o.key("b");
    o.begin_array();
    o.u64(2);
    o.begin_object();
    o.end_object();
    o.begin_array();
    o.end_array();
    o.boolean(false);
    o.end_array();
    o.key("c");
    o.literal("x");
    o.end_object();
  });
  EXPECT_EQ(s, "\x1e{\"a\":1,\"b\":[2,{},[],false],\"c\":\"x\"}\n");
}

TEST(JsonSeqOutput, Integers) {
  const std::string s = one_value([](JsonSeqOutput& o) {
    o.begin_array();
    o.u64(0);
    o.u64(std::numeric_limits<uint64_t>::max());
    o.end_array();
  });
  EXPECT_EQ(s, "\x1e[0,18446744073709551615]\n");
  const auto v = parse_seq(s);
  ASSERT_EQ(v.size(), 1u);
  uint64_t x = 0;
  ASSERT_TRUE(v[0].items()[1].get_u64(&x));
  EXPECT_EQ(x, std::numeric_limits<uint64_t>::max());
}

TEST(JsonSeqOutput, MillisecondsWithMicrosecondPrecision) {
  const std::string s = one_value([](JsonSeqOutput& o) {
    o.begin_array();
    o.ms_from_ns(0);
    o.ms_from_ns(1);             // rounds down to 0 us
    o.ms_from_ns(500);           // rounds up to 1 us
    o.ms_from_ns(12'345'678);    // 12.346 ms
    o.ms_from_ns(25'000'000);
    o.ms_from_ns(-1'500'000);
    o.ms_from_ns(-100);          // rounds to zero: no "-0.000"
    o.ms_from_ns(std::numeric_limits<int64_t>::min());
    o.end_array();
  });
  EXPECT_EQ(s,
            "\x1e[0.000,0.000,0.001,12.346,25.000,-1.500,0.000,-9223372036854.776]\n");
  EXPECT_EQ(parse_seq(s).size(), 1u);
}

TEST(JsonSeqOutput, HexIsLowerCase) {
  const std::string s = one_value([](JsonSeqOutput& o) {
    static const uint8_t b[] = {0x00, 0xab, 0xCD, 0x0f, 0xff};
    o.begin_array();
    o.hex(ByteView(b, sizeof b));
    o.hex(ByteView());
    o.end_array();
  });
  EXPECT_EQ(s, "\x1e[\"00abcd0fff\",\"\"]\n");
}

TEST(JsonSeqOutput, LongHexCrossesItsScratchBuffer) {
  std::vector<uint8_t> b(100);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
  Collector c;
  JsonSeqOutput out(16, c.sink());
  out.hex(ByteView(b.data(), b.size()));
  out.flush();
  std::string want = "\"";
  for (size_t i = 0; i < b.size(); ++i) {
    char t[3];
    snprintf(t, sizeof t, "%02x", b[i]);
    want += t;
  }
  want += "\"";
  EXPECT_EQ(c.bytes, want);
}

TEST(JsonSeqOutput, HostileStringStaysValidJson) {
  // Quotes, backslashes, every control byte, DEL, and high bytes including 0xff.
  std::string hostile = "a\"b\\c/d";
  for (int i = 0; i < 0x20; ++i) hostile.push_back(static_cast<char>(i));
  hostile += "\x7f\x80\xc3\x28\xff end";
  Collector c;
  {
    JsonSeqOutput out(7, c.sink());  // tiny buffer: escapes split across chunks
    out.begin_record();
    out.str(hostile);
    out.end_record();
  }
  const std::string& s = c.bytes;
  // Only printable ASCII inside the record (plus the framing bytes).
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const auto ch = static_cast<unsigned char>(s[i]);
    EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "raw byte " << int(ch) << " at " << i;
  }
  EXPECT_NE(s.find("\\u0000"), std::string::npos);
  EXPECT_NE(s.find("\\u001f"), std::string::npos);
  EXPECT_NE(s.find("\\u007f"), std::string::npos);
  EXPECT_NE(s.find("\\u00ff"), std::string::npos);
  EXPECT_NE(s.find("a\\\"b\\\\c/d"), std::string::npos);
  const auto v = parse_seq(s);
  ASSERT_EQ(v.size(), 1u);
  ASSERT_EQ(v[0].kind(), json::Value::Kind::kString);
  // Decoded, each byte b became code point U+00b: ASCII survives as is.
  EXPECT_EQ(v[0].str().substr(0, 7), "a\"b\\c/d");
  EXPECT_EQ(v[0].str().substr(7, 0x20), hostile.substr(7, 0x20));
  EXPECT_EQ(v[0].str().substr(v[0].str().size() - 4), " end");
  EXPECT_EQ(v[0].str().find("\xc3\xbf"), v[0].str().size() - 6);  // U+00FF in UTF-8
}

TEST(JsonSeqOutput, FullChunksGoOutAtOnceAndFlushHandsTheRest) {
  Collector c;
  JsonSeqOutput out(10, c.sink());
  out.literal("abcdefgh");  // 10 bytes with the quotes: exactly one full chunk
  EXPECT_EQ(c.calls, 1u);
  EXPECT_EQ(c.bytes, "\"abcdefgh\"");
  EXPECT_EQ(out.buffered(), 0u);
  out.flush();  // nothing left: no empty chunk
  EXPECT_EQ(c.calls, 1u);
  out.u64(12345);
  EXPECT_EQ(c.calls, 1u);
  EXPECT_EQ(out.buffered(), 6u);  // ",12345"
  out.flush();
  EXPECT_EQ(c.calls, 2u);
  EXPECT_EQ(c.bytes, "\"abcdefgh\",12345");
  EXPECT_EQ(out.buffered(), 0u);
  EXPECT_EQ(out.total_bytes(), c.bytes.size());
  EXPECT_EQ(c.largest_chunk, 10u);
}

TEST(JsonSeqOutput, ZeroCapacityStillMakesProgress) {
  Collector c;
  JsonSeqOutput out(0, c.sink());
  EXPECT_EQ(out.capacity(), 1u);
  out.literal("xy");
  EXPECT_EQ(c.bytes, "\"xy\"");
  EXPECT_EQ(c.calls, 4u);
}

TEST(JsonSeqOutput, NoSinkDropsQuietly) {
  JsonSeqOutput out(4, QlogSink{});
  out.literal("0123456789");
  out.flush();
  EXPECT_EQ(out.total_bytes(), 12u);
  EXPECT_EQ(out.buffered(), 0u);
}

}  // namespace
}  // namespace camp::quic::qlog
