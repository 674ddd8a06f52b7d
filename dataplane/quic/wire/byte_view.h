// Non-owning views of bytes inside a packet, and owned connection IDs.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace camp::quic {

// Connection IDs of QUIC v1 are at most 20 bytes (RFC 9000 17.2).
inline constexpr size_t kMaxCidLength = 20;
inline constexpr size_t kStatelessResetTokenLength = 16;

// A read-only view into a received packet (or a sender's buffer). Unlike std::span it compares by
// content, so frames and headers holding views can use a defaulted operator==.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr ByteView() = default;
  constexpr ByteView(const uint8_t* d, size_t n) : data(n ? d : nullptr), size(n) {}
  constexpr ByteView(std::span<const uint8_t> s) : ByteView(s.data(), s.size()) {}

  std::span<const uint8_t> span() const { return {data, size}; }
  bool empty() const { return size == 0; }
  const uint8_t& operator[](size_t i) const { return data[i]; }
  friend bool operator==(const ByteView& a, const ByteView& b) {
    return a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0);
  }
};

// An owned connection ID, for values that outlive the packet (transport parameters).
struct ConnectionId {
  uint8_t length = 0;
  std::array<uint8_t, kMaxCidLength> bytes{};

  ConnectionId() = default;
  // Copies at most kMaxCidLength bytes; callers check the length first.
  explicit ConnectionId(ByteView v) : length(static_cast<uint8_t>(std::min(v.size, kMaxCidLength))) {
    if (length) std::memcpy(bytes.data(), v.data, length);
  }
  ByteView view() const { return {bytes.data(), length}; }
  friend bool operator==(const ConnectionId& a, const ConnectionId& b) {
    return a.view() == b.view();
  }
};

}  // namespace camp::quic
