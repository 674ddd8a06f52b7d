// A small JSON reader and writer for campctl and the tests that read its output (RFC 8259).
// Integers are kept exactly as 64-bit values (0..2^64-1 and down to -2^63), never through double;
// other numbers keep their text.
// Object members keep their order; a duplicate key is a parse error because its meaning would be
// ambiguous. Not for the hot path: values own their strings and vectors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace camp::json {

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Value>;

  Value() = default;  // null
  static Value boolean(bool b);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  // A number that is not a 64-bit integer (fraction, exponent, or out of range), kept as text.
  static Value number_text(std::string text);
  static Value string(std::string s);
  static Value array();
  static Value object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }

  // False unless this is a boolean.
  bool get_bool(bool* out) const;
  // False unless this is an integer number within the target type's range.
  bool get_u64(uint64_t* out) const;
  bool get_i64(int64_t* out) const;
  // kString: the string. A kNumber that is not a 64-bit integer: its text as written.
  const std::string& str() const { return text_; }
  bool is_integer() const { return kind_ == Kind::kNumber && integer_; }

  // Arrays.
  std::vector<Value>& items() { return items_; }
  const std::vector<Value>& items() const { return items_; }
  Value& push(Value v);

  // Objects.
  std::vector<Member>& members() { return members_; }
  const std::vector<Member>& members() const { return members_; }
  const Value* find(std::string_view key) const;  // nullptr when absent
  // A nested value by path: "a.b.0.c" takes object members by name and array items by decimal
  // index, one dot-separated step each. An empty path is this value; nullptr when any step is
  // absent, is not a plain index into an array, or goes into a scalar.
  const Value* at(std::string_view path) const;
  Value& set(std::string key, Value v);           // appends, or replaces an existing key

  bool operator==(const Value& o) const;

 private:
  friend class Parser;

  Kind kind_ = Kind::kNull;
  bool b_ = false;
  bool integer_ = false;  // kNumber: neg_/mag_ hold it exactly
  bool neg_ = false;      // kNumber: magnitude is negated (mag_ in 1..2^63)
  uint64_t mag_ = 0;
  std::string text_;  // kString: the string; kNumber that is not an integer: its text
  std::vector<Value> items_;
  std::vector<Member> members_;
};

// Parses exactly one JSON value (surrounding whitespace allowed). On failure returns false and
// sets *error to "line L column C: what" for the first problem.
bool parse(std::string_view text, Value* out, std::string* error);

// Serialises v. indent 0: one line, no spaces; otherwise that many spaces per nesting level.
std::string write(const Value& v, int indent = 0);

}  // namespace camp::json
