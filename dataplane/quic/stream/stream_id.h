// QUIC stream IDs (RFC 9000 2.1): the two low bits say who opened the stream and whether it is
// bidirectional; the rest is the stream's index within its type.
#pragma once

#include <cstdint>

namespace camp::quic {

enum class Perspective : uint8_t { kClient, kServer };

inline constexpr uint64_t kStreamIdServerBit = 0x1;
inline constexpr uint64_t kStreamIdUniBit = 0x2;

constexpr bool stream_is_client_initiated(uint64_t id) { return (id & kStreamIdServerBit) == 0; }
constexpr bool stream_is_server_initiated(uint64_t id) { return (id & kStreamIdServerBit) != 0; }
constexpr bool stream_is_bidi(uint64_t id) { return (id & kStreamIdUniBit) == 0; }
constexpr bool stream_is_uni(uint64_t id) { return (id & kStreamIdUniBit) != 0; }
constexpr uint64_t stream_index(uint64_t id) { return id >> 2; }

constexpr bool stream_is_local(uint64_t id, Perspective self) {
  return stream_is_server_initiated(id) == (self == Perspective::kServer);
}

// The ID of the index-th stream of a type (index starts at 0).
constexpr uint64_t make_stream_id(uint64_t index, Perspective initiator, bool bidi) {
  return (index << 2) | (initiator == Perspective::kServer ? kStreamIdServerBit : 0) |
         (bidi ? 0 : kStreamIdUniBit);
}

// Whether this endpoint can send / receive on a stream (2.1: uni streams go one way only).
constexpr bool stream_can_send(uint64_t id, Perspective self) {
  return stream_is_bidi(id) || stream_is_local(id, self);
}
constexpr bool stream_can_receive(uint64_t id, Perspective self) {
  return stream_is_bidi(id) || !stream_is_local(id, self);
}

}  // namespace camp::quic
