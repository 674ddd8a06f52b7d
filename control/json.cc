#include "control/json.h"

#include <charconv>
#include <cstdio>

namespace camp::json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::u64(uint64_t x) {
  Value v;
  v.kind_ = Kind::kNumber;
  v.integer_ = true;
  v.mag_ = x;
  return v;
}

Value Value::i64(int64_t x) {
  Value v;
  v.kind_ = Kind::kNumber;
  v.integer_ = true;
  v.neg_ = x < 0;
  // Negating in unsigned arithmetic also handles INT64_MIN.
  v.mag_ = x < 0 ? uint64_t{0} - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  return v;
}

Value Value::number_text(std::string text) {
  Value v;
  v.kind_ = Kind::kNumber;
  v.text_ = std::move(text);
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(s);
  return v;
}

Value Value::array() {
  Value v;
  v.kind_ = Kind::kArray;
  return v;
}

Value Value::object() {
  Value v;
  v.kind_ = Kind::kObject;
  return v;
}

bool Value::get_bool(bool* out) const {
  if (kind_ != Kind::kBool) return false;
  *out = b_;
  return true;
}

bool Value::get_u64(uint64_t* out) const {
  if (kind_ != Kind::kNumber || !integer_ || (neg_ && mag_ != 0)) return false;
  *out = mag_;
  return true;
}

bool Value::get_i64(int64_t* out) const {
  if (kind_ != Kind::kNumber || !integer_) return false;
  constexpr uint64_t kMinMag = uint64_t{1} << 63;
  if (neg_) {
    if (mag_ > kMinMag) return false;
    *out = static_cast<int64_t>(uint64_t{0} - mag_);  // two's complement, exact at INT64_MIN
  } else {
    if (mag_ >= kMinMag) return false;
    *out = static_cast<int64_t>(mag_);
  }
  return true;
}

Value& Value::push(Value v) {
  items_.push_back(std::move(v));
  return items_.back();
}

const Value* Value::find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

const Value* Value::at(std::string_view path) const {
  if (path.empty()) return this;
  const Value* v = this;
  for (;;) {
    const size_t dot = path.find('.');
    const std::string_view step = path.substr(0, dot);
    if (v->kind_ == Kind::kArray) {
      // The whole step must be digits: from_chars alone would accept a prefix such as "1x".
      size_t i = 0;
      const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), i);
      if (step.empty() || ec != std::errc() || end != step.data() + step.size() ||
          i >= v->items_.size())
        return nullptr;
      v = &v->items_[i];
    } else if (v->kind_ == Kind::kObject) {
      v = v->find(step);
      if (v == nullptr) return nullptr;
    } else {
      return nullptr;  // a scalar has nothing inside it
    }
    if (dot == std::string_view::npos) return v;
    path.remove_prefix(dot + 1);  // a trailing dot leaves one empty step: the key ""
  }
}

Value& Value::set(std::string key, Value v) {
  for (Member& m : members_) {
    if (m.first == key) {
      m.second = std::move(v);
      return m.second;
    }
  }
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

bool Value::operator==(const Value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return b_ == o.b_;
    case Kind::kNumber:
      if (integer_ != o.integer_) return false;
      return integer_ ? (neg_ == o.neg_ && mag_ == o.mag_) : text_ == o.text_;
    case Kind::kString:
      return text_ == o.text_;
    case Kind::kArray:
      return items_ == o.items_;
    case Kind::kObject:
      return members_ == o.members_;
  }
  return false;
}

// Recursive descent over the text; depth is capped so hostile input cannot exhaust the stack.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool run(Value* out, std::string* error) {
    skip_ws();
    if (!value(out, 0)) return report(error);
    skip_ws();
    if (i_ != s_.size()) {
      fail("unexpected text after the value");
      return report(error);
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool fail(const char* what) {
    if (what_ == nullptr) {
      what_ = what;
      at_ = i_;
    }
    return false;
  }

  bool report(std::string* error) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < at_ && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    if (error) {
      *error = "line " + std::to_string(line) + " column " + std::to_string(col) + ": " + what_;
    }
    return false;
  }

  void skip_ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("invalid literal");
    i_ += word.size();
    return true;
  }

  bool value(Value* out, int depth) {
    if (i_ >= s_.size()) return fail("unexpected end of input");
    switch (s_[i_]) {
      case 'n':
        *out = Value();
        return literal("null");
      case 't':
        *out = Value::boolean(true);
        return literal("true");
      case 'f':
        *out = Value::boolean(false);
        return literal("false");
      case '"': {
        std::string str;
        if (!string(&str)) return false;
        *out = Value::string(std::move(str));
        return true;
      }
      case '[':
        return array(out, depth + 1);
      case '{':
        return object(out, depth + 1);
      default:
        return number(out);
    }
  }

  bool array(Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    *out = Value::array();
    ++i_;  // '['
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      Value item;
      if (!value(&item, depth)) return false;
      out->items_.push_back(std::move(item));
      skip_ws();
      if (i_ >= s_.size()) return fail("unexpected end of input in array");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool object(Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    *out = Value::object();
    ++i_;  // '{'
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a string key");
      const size_t key_at = i_;
      std::string key;
      if (!string(&key)) return false;
      if (out->find(key) != nullptr) {
        i_ = key_at;
        return fail("duplicate key");
      }
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
      ++i_;
      skip_ws();
      Value v;
      if (!value(&v, depth)) return false;
      out->members_.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (i_ >= s_.size()) return fail("unexpected end of input in object");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool hex4(uint32_t* out) {
    if (s_.size() - i_ < 4) return fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_ + k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad hex digit in \\u escape");
    }
    i_ += 4;
    *out = v;
    return true;
  }

  static void put_utf8(std::string* s, uint32_t cp) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool string(std::string* out) {
    ++i_;  // opening quote
    for (;;) {
      if (i_ >= s_.size()) return fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) return fail("unterminated string");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            // A high surrogate must be followed by an escaped low one.
            uint32_t lo;
            if (s_.substr(i_, 2) != "\\u") return fail("lone high surrogate");
            i_ += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xdc00 || lo >= 0xe000) return fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("lone low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default:
          --i_;
          return fail("bad escape");
      }
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number(Value* out) {
    const size_t begin = i_;
    bool neg = false;
    if (s_[i_] == '-') {
      neg = true;
      ++i_;
    }
    if (i_ >= s_.size() || !digit(s_[i_])) return fail("invalid value");
    const size_t int_begin = i_;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    const size_t int_end = i_;
    bool integer = true;
    if (i_ < s_.size() && s_[i_] == '.') {
      integer = false;
      ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return fail("digit expected after '.'");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integer = false;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return fail("digit expected in exponent");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (integer) {
      // Accumulate with overflow checks; anything beyond 64 bits is kept as text.
      uint64_t mag = 0;
      bool fits = true;
      for (size_t k = int_begin; k < int_end && fits; ++k) {
        fits = !__builtin_mul_overflow(mag, 10, &mag) &&
               !__builtin_add_overflow(mag, static_cast<uint64_t>(s_[k] - '0'), &mag);
      }
      if (fits && neg && mag > (uint64_t{1} << 63)) fits = false;
      if (fits) {
        *out = Value::u64(mag);
        out->neg_ = neg && mag != 0;  // "-0" is plain 0
        return true;
      }
    }
    *out = Value::number_text(std::string(s_.substr(begin, i_ - begin)));
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  const char* what_ = nullptr;
  size_t at_ = 0;
};

bool parse(std::string_view text, Value* out, std::string* error) {
  Parser p(text);
  return p.run(out, error);
}

namespace {

void write_string(std::string* o, const std::string& s) {
  o->push_back('"');
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        o->append("\\\"");
        break;
      case '\\':
        o->append("\\\\");
        break;
      case '\n':
        o->append("\\n");
        break;
      case '\r':
        o->append("\\r");
        break;
      case '\t':
        o->append("\\t");
        break;
      case '\b':
        o->append("\\b");
        break;
      case '\f':
        o->append("\\f");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o->append(buf);
        } else {
          o->push_back(ch);
        }
    }
  }
  o->push_back('"');
}

void newline(std::string* o, int indent, int depth) {
  if (indent <= 0) return;
  o->push_back('\n');
  o->append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

}  // namespace

static void write_value(std::string* o, const Value& v, int indent, int depth);

std::string write(const Value& v, int indent) {
  std::string o;
  write_value(&o, v, indent, 0);
  return o;
}

static void write_value(std::string* o, const Value& v, int indent, int depth) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      o->append("null");
      return;
    case Value::Kind::kBool: {
      bool b = false;
      v.get_bool(&b);
      o->append(b ? "true" : "false");
      return;
    }
    case Value::Kind::kNumber: {
      uint64_t u;
      int64_t s;
      if (v.get_u64(&u))
        o->append(std::to_string(u));
      else if (v.get_i64(&s))
        o->append(std::to_string(s));
      else
        o->append(v.str());
      return;
    }
    case Value::Kind::kString:
      write_string(o, v.str());
      return;
    case Value::Kind::kArray: {
      o->push_back('[');
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) o->push_back(',');
        first = false;
        newline(o, indent, depth + 1);
        write_value(o, item, indent, depth + 1);
      }
      if (!v.items().empty()) newline(o, indent, depth);
      o->push_back(']');
      return;
    }
    case Value::Kind::kObject: {
      o->push_back('{');
      bool first = true;
      for (const Value::Member& m : v.members()) {
        if (!first) o->push_back(',');
        first = false;
        newline(o, indent, depth + 1);
        write_string(o, m.first);
        o->append(indent > 0 ? ": " : ":");
        write_value(o, m.second, indent, depth + 1);
      }
      if (!v.members().empty()) newline(o, indent, depth);
      o->push_back('}');
      return;
    }
  }
}

}  // namespace camp::json
