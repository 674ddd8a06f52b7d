// Hex text and bytes, for command lines and configuration (campd's QUIC-LB server ID, campctl's
// MMF reports). Not on any packet path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace camp {

// Hex text to bytes; whitespace anywhere is ignored. False (with *error) on any other character or
// an odd number of digits.
inline bool parse_hex(std::string_view text, std::vector<uint8_t>* out, std::string* error) {
  out->clear();
  int hi = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int d;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      *error = "hex: invalid character at offset " + std::to_string(i);
      return false;
    }
    if (hi < 0) {
      hi = d;
    } else {
      out->push_back(static_cast<uint8_t>(hi << 4 | d));
      hi = -1;
    }
  }
  if (hi >= 0) {
    *error = "hex: odd number of digits";
    return false;
  }
  return true;
}

inline std::string to_hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kDigits[p[i] >> 4]);
    s.push_back(kDigits[p[i] & 15]);
  }
  return s;
}

}  // namespace camp
