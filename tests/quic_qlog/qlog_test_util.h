// Helpers for the qlog tests: a sink that collects the byte stream, and a JSON-SEQ splitter that
// checks the RFC 7464 framing and parses every record with camp::json.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "control/json.h"

namespace camp::quic::testing {

struct Collector {
  std::string bytes;
  size_t calls = 0;
  size_t largest_chunk = 0;

  auto sink() {
    return [this](std::span<const char> s) {
      bytes.append(s.data(), s.size());
      ++calls;
      if (s.size() > largest_chunk) largest_chunk = s.size();
    };
  }
};

// Splits a JSON-SEQ stream: every record starts with 0x1E and ends with '\n'; each is parsed.
// Adds a test failure (and returns what parsed) when the framing or a record is wrong.
inline std::vector<json::Value> parse_seq(const std::string& stream) {
  std::vector<json::Value> out;
  if (stream.empty()) return out;
  EXPECT_EQ(stream[0], '\x1e') << "stream must start with RS";
  size_t pos = 0;
  while (pos < stream.size()) {
    if (stream[pos] != '\x1e') {
      ADD_FAILURE() << "record at " << pos << " does not start with RS";
      return out;
    }
    size_t next = stream.find('\x1e', pos + 1);
    if (next == std::string::npos) next = stream.size();
    const std::string rec = stream.substr(pos + 1, next - pos - 1);
    EXPECT_FALSE(rec.empty());
    if (!rec.empty()) {
      EXPECT_EQ(rec.back(), '\n') << "record must end with LF: " << rec;
      // Exactly one LF, at the end: records are single-line JSON.
      EXPECT_EQ(rec.find('\n'), rec.size() - 1) << rec;
    }
    json::Value v;
    std::string err;
    if (!json::parse(rec, &v, &err)) {
      ADD_FAILURE() << "invalid JSON (" << err << "): " << rec;
    } else {
      out.push_back(std::move(v));
    }
    pos = next;
  }
  return out;
}

inline std::string str_at(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  if (!p) {
    ADD_FAILURE() << "missing " << path << " in " << json::write(v);
    return {};
  }
  if (p->kind() != json::Value::Kind::kString) {
    ADD_FAILURE() << path << " is not a string in " << json::write(v);
    return {};
  }
  return p->str();
}

inline uint64_t u64_at(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  uint64_t x = 0;
  if (!p || !p->get_u64(&x)) ADD_FAILURE() << "no integer " << path << " in " << json::write(v);
  return x;
}

// A number's text as written (for fractional values such as times).
inline std::string num_text(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  if (!p || p->kind() != json::Value::Kind::kNumber) {
    ADD_FAILURE() << "no number " << path << " in " << json::write(v);
    return {};
  }
  return p->is_integer() ? json::write(*p) : p->str();
}

}  // namespace camp::quic::testing
