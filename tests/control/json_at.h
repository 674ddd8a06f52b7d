// Typed lookups into parsed JSON (control/json.h) for the control tests. Each answers nullopt when
// the path is absent or holds another type, so an EXPECT_EQ against it fails visibly instead of
// dereferencing nullptr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control/json.h"

namespace camp::testing {

inline std::optional<uint64_t> u64_at(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  uint64_t out = 0;
  if (p == nullptr || !p->get_u64(&out)) return std::nullopt;
  return out;
}

inline std::optional<bool> bool_at(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  bool out = false;
  if (p == nullptr || !p->get_bool(&out)) return std::nullopt;
  return out;
}

inline std::optional<std::string> str_at(const json::Value& v, std::string_view path) {
  const json::Value* p = v.at(path);
  if (p == nullptr || p->kind() != json::Value::Kind::kString) return std::nullopt;
  return p->str();
}

}  // namespace camp::testing
