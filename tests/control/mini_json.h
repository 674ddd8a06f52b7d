// A strict little JSON reader for the control tests: enough to check that campctl's JSON is
// well-formed and to pull numbers out of it by path. Not for production use.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace camp::testing {

struct Json {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool b = false;
  std::string text;  // number digits or string contents
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return &v;
    return nullptr;
  }
  // "a.b.0.c": object members by name, array items by index; nullptr when absent.
  const Json* at(std::string_view path) const {
    const Json* j = this;
    while (j && !path.empty()) {
      const size_t dot = path.find('.');
      const std::string_view part = path.substr(0, dot);
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
      if (j->type == Type::array) {
        size_t i = 0;
        const auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), i);
        j = ec == std::errc() && p == part.data() + part.size() && i < j->items.size()
                ? &j->items[i]
                : nullptr;
      } else {
        j = j->type == Type::object ? j->get(part) : nullptr;
      }
    }
    return j;
  }
  // The value as an unsigned integer; ~0 when it is not one (so comparisons fail visibly).
  uint64_t u64() const {
    uint64_t v = 0;
    if (type != Type::number) return ~uint64_t{0};
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc() && p == text.data() + text.size() ? v : ~uint64_t{0};
  }
  int64_t i64() const {
    int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  bool parse(Json* out) {
    if (!value(out, 0)) return false;
    ws();
    return i_ == s_.size();
  }
  size_t where() const { return i_; }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool str(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      const char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
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
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          unsigned v = 0;
          if (i_ + 4 > s_.size()) return false;
          const auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, v, 16);
          if (ec != std::errc() || p != s_.data() + i_ + 4 || v > 0x7f) return false;  // ASCII only
          out->push_back(static_cast<char>(v));
          i_ += 4;
          break;
        }
        default:
          return false;
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool value(Json* out, int depth) {
    if (depth > 32) return false;
    ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      out->type = Json::Type::object;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string key;
        if (!str(&key)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json v;
        if (!value(&v, depth + 1)) return false;
        if (out->get(key)) return false;  // duplicate names are a bug in the writer
        out->members.emplace_back(std::move(key), std::move(v));
        ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      out->type = Json::Type::array;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        Json v;
        if (!value(&v, depth + 1)) return false;
        out->items.push_back(std::move(v));
        ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') {
      out->type = Json::Type::string;
      return str(&out->text);
    }
    if (lit("true")) {
      out->type = Json::Type::boolean;
      out->b = true;
      return true;
    }
    if (lit("false")) {
      out->type = Json::Type::boolean;
      return true;
    }
    if (lit("null")) return true;
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == start || (i_ == start + 1 && s_[start] == '-')) return false;
    out->type = Json::Type::number;
    out->text = std::string(s_.substr(start, i_ - start));
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

inline bool parse_json(std::string_view s, Json* out) { return JsonReader(s).parse(out); }

}  // namespace camp::testing
