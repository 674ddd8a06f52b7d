// The JSON reader/writer (control/json.h): exact 64-bit integers, escapes, nesting, errors with
// positions, path lookup.
#include "control/json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace camp::json {
namespace {

Value parse_ok(std::string_view text) {
  Value v;
  std::string err;
  EXPECT_TRUE(parse(text, &v, &err)) << text << ": " << err;
  return v;
}

std::string parse_err(std::string_view text) {
  Value v;
  std::string err;
  EXPECT_FALSE(parse(text, &v, &err)) << text;
  return err;
}

TEST(Json, IntegersAreExact) {
  uint64_t u;
  int64_t i;
  // 2^64-1 and 2^53+1 (which a double would round) survive exactly.
  ASSERT_TRUE(parse_ok("18446744073709551615").get_u64(&u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(parse_ok("18446744073709551615").get_i64(&i));
  ASSERT_TRUE(parse_ok("9007199254740993").get_u64(&u));
  EXPECT_EQ(u, 9007199254740993u);
  ASSERT_TRUE(parse_ok("-9223372036854775808").get_i64(&i));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(parse_ok("-9223372036854775808").get_u64(&u));
  ASSERT_TRUE(parse_ok("-9007199254740993").get_i64(&i));
  EXPECT_EQ(i, -9007199254740993);
  ASSERT_TRUE(parse_ok("9223372036854775807").get_i64(&i));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(parse_ok("9223372036854775808").get_i64(&i));
  ASSERT_TRUE(parse_ok("-0").get_u64(&u));
  EXPECT_EQ(u, 0u);
  // Beyond 64 bits, fractions and exponents parse but are not integers; their text is kept.
  const Value big = parse_ok("18446744073709551616");
  EXPECT_FALSE(big.get_u64(&u));
  EXPECT_EQ(write(big), "18446744073709551616");
  EXPECT_FALSE(parse_ok("-9223372036854775809").get_i64(&i));
  EXPECT_FALSE(parse_ok("1.5").get_u64(&u));
  EXPECT_FALSE(parse_ok("1e3").get_u64(&u));
  EXPECT_EQ(write(parse_ok("-2.5E-3")), "-2.5E-3");
  // Writing is exact too.
  EXPECT_EQ(write(Value::u64(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
  EXPECT_EQ(write(Value::i64(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(write(Value::i64(-85000)), "-85000");
  EXPECT_EQ(Value::i64(7), Value::u64(7));
}

TEST(Json, StringsAndEscapes) {
  const Value v = parse_ok(R"("a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")");
  ASSERT_EQ(v.kind(), Value::Kind::kString);
  EXPECT_EQ(v.str(), "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  // Written back with the escapes JSON needs; non-ASCII bytes pass through.
  EXPECT_EQ(write(v), "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  EXPECT_EQ(write(Value::string(std::string("\x01", 1))), "\"\\u0001\"");
  EXPECT_EQ(parse_ok(write(Value::string(std::string("x\0y", 3)))).str(), std::string("x\0y", 3));
}

TEST(Json, NestingAndOrder) {
  const Value v = parse_ok(R"( {"b": [1, {"c": null}, [], {}], "a": true, "z": false} )");
  ASSERT_EQ(v.kind(), Value::Kind::kObject);
  ASSERT_EQ(v.members().size(), 3u);
  EXPECT_EQ(v.members()[0].first, "b");  // order kept
  const Value* b = v.find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items().size(), 4u);
  EXPECT_TRUE(b->items()[1].find("c")->is_null());
  bool t = false;
  ASSERT_TRUE(v.find("a")->get_bool(&t));
  EXPECT_TRUE(t);
  EXPECT_EQ(v.find("nope"), nullptr);
  EXPECT_EQ(write(v), R"({"b":[1,{"c":null},[],{}],"a":true,"z":false})");
  EXPECT_EQ(write(v, 2),
            "{\n  \"b\": [\n    1,\n    {\n      \"c\": null\n    },\n    [],\n    {}\n  ],\n"
            "  \"a\": true,\n  \"z\": false\n}");
  EXPECT_EQ(parse_ok(write(v, 2)), v);
  EXPECT_EQ(parse_ok(write(v)), v);
}

TEST(Json, PathLookup) {
  const Value v = parse_ok(
      R"({"a": {"b": [10, {"c": 7}, [5, 6]]}, "x.y": 1, "": {"": 2}, "n": null, "s": "t"})");
  uint64_t u = 0;
  EXPECT_EQ(v.at(""), &v);
  ASSERT_NE(v.at("a.b.1.c"), nullptr);
  ASSERT_TRUE(v.at("a.b.1.c")->get_u64(&u));
  EXPECT_EQ(u, 7u);
  EXPECT_EQ(v.at("a.b.1.c"), v.find("a")->find("b")->items()[1].find("c"));
  ASSERT_TRUE(v.at("a.b.0")->get_u64(&u));
  EXPECT_EQ(u, 10u);
  ASSERT_TRUE(v.at("a.b.2.1")->get_u64(&u));
  EXPECT_EQ(u, 6u);
  EXPECT_EQ(v.at("a.b")->kind(), Value::Kind::kArray);
  EXPECT_TRUE(v.at("n")->is_null());
  EXPECT_EQ(v.at("s")->str(), "t");
  // Absent: a missing key, an index past the end or not plain digits, a step into a scalar, a
  // name used on an array, an index used on an object key that is not there.
  EXPECT_EQ(v.at("nope"), nullptr);
  EXPECT_EQ(v.at("a.c"), nullptr);
  EXPECT_EQ(v.at("a.b.3"), nullptr);
  EXPECT_EQ(v.at("a.b.18446744073709551616"), nullptr);
  EXPECT_EQ(v.at("a.b.1x"), nullptr);
  EXPECT_EQ(v.at("a.b.-1"), nullptr);
  EXPECT_EQ(v.at("a.b.+1"), nullptr);
  EXPECT_EQ(v.at("a.b."), nullptr);
  EXPECT_EQ(v.at("a.b.c"), nullptr);
  EXPECT_EQ(v.at("a.b.0.c"), nullptr);
  EXPECT_EQ(v.at("s.0"), nullptr);
  EXPECT_EQ(v.at("n.x"), nullptr);
  EXPECT_EQ(v.at("a.0"), nullptr);
  // Dots always separate steps, so a key holding one cannot be reached; empty steps are the key "".
  EXPECT_EQ(v.at("x.y"), nullptr);
  ASSERT_NE(v.at("."), nullptr);
  ASSERT_TRUE(v.at(".")->get_u64(&u));
  EXPECT_EQ(u, 2u);
  EXPECT_EQ(v.at("a."), nullptr);
  // On a scalar root only the empty path resolves.
  const Value one = Value::u64(1);
  EXPECT_EQ(one.at(""), &one);
  EXPECT_EQ(one.at("0"), nullptr);
}

TEST(Json, Errors) {
  EXPECT_EQ(parse_err(""), "line 1 column 1: unexpected end of input");
  EXPECT_EQ(parse_err("{\"a\":1,\n \"a\":2}"), "line 2 column 2: duplicate key");
  EXPECT_EQ(parse_err("[1 2]"), "line 1 column 4: expected ',' or ']'");
  EXPECT_EQ(parse_err("{\"a\" 1}"), "line 1 column 6: expected ':'");
  EXPECT_EQ(parse_err("{1:2}"), "line 1 column 2: expected a string key");
  EXPECT_EQ(parse_err("[1,]"), "line 1 column 4: invalid value");
  EXPECT_EQ(parse_err("01"), "line 1 column 2: unexpected text after the value");
  EXPECT_EQ(parse_err("1."), "line 1 column 3: digit expected after '.'");
  EXPECT_EQ(parse_err("1e"), "line 1 column 3: digit expected in exponent");
  EXPECT_EQ(parse_err("-"), "line 1 column 2: invalid value");
  EXPECT_EQ(parse_err("tru"), "line 1 column 1: invalid literal");
  EXPECT_EQ(parse_err("\"abc"), "line 1 column 5: unterminated string");
  EXPECT_EQ(parse_err("\"a\nb\""), "line 1 column 3: control character in string");
  EXPECT_EQ(parse_err(R"("\x")"), "line 1 column 3: bad escape");
  EXPECT_EQ(parse_err(R"("\u12g4")"), "line 1 column 4: bad hex digit in \\u escape");
  EXPECT_EQ(parse_err(R"("\u12")"), "line 1 column 4: truncated \\u escape");
  EXPECT_EQ(parse_err(R"("\ud800x")"), "line 1 column 8: lone high surrogate");
  EXPECT_EQ(parse_err(R"("\ud800\u0041")"), "line 1 column 14: bad low surrogate");
  EXPECT_EQ(parse_err(R"("\udc00")"), "line 1 column 8: lone low surrogate");
  EXPECT_EQ(parse_err("[1"), "line 1 column 3: unexpected end of input in array");
  EXPECT_EQ(parse_err("{\"a\":1"), "line 1 column 7: unexpected end of input in object");
  EXPECT_EQ(parse_err("{\"a\":1]"), "line 1 column 7: expected ',' or '}'");
  // Deep nesting is refused rather than recursing without bound.
  EXPECT_NE(parse_err(std::string(100000, '[')).find("nesting too deep"), std::string::npos);
  const std::string ok_depth = std::string(64, '[') + std::string(64, ']');
  parse_ok(ok_depth);
}

TEST(Json, Building) {
  Value o = Value::object();
  o.set("x", Value::u64(1));
  o.set("y", Value::array()).push(Value::boolean(false));
  o.set("x", Value::i64(-2));  // replaces
  EXPECT_EQ(write(o), R"({"x":-2,"y":[false]})");
  EXPECT_NE(Value::u64(1), Value::i64(-1));
  EXPECT_NE(Value::string("1"), Value::u64(1));
  EXPECT_NE(Value(), Value::boolean(false));
}

}  // namespace
}  // namespace camp::json
