// Client side of NEW_TOKEN (RFC 9000 8.1.3, 19.7): the latest token each server gave us, keyed by
// server name and port, for the Token field of the next connection's Initial packets.
//
// Fixed capacity, fixed arrays, no allocation. take() removes the token, because a client SHOULD
// NOT reuse one for different connection attempts (reuse links them, 8.1.3); a newer put() for
// the same server replaces the older token (the most recent is the most likely to work). When
// full, put() for a new server evicts the least recently used entry.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

inline constexpr size_t kTokenStoreCapacity = 16;
inline constexpr size_t kMaxServerNameLen = 255;  // a DNS name's limit
inline constexpr size_t kMaxStoredTokenLen = 256;

class TokenStore {
 public:
  // Stores token for (server, port), replacing what was there. false (nothing changes) when the
  // name is empty or over 255 bytes, or the token is empty (19.7 forbids that) or over 256 bytes.
  // Server names compare ASCII case-insensitively, as DNS names do.
  bool put(std::string_view server, uint16_t port, ByteView token);

  // Copies the token for (server, port) into out and forgets it; returns its length, or 0 when
  // there is none or cap is too small (then the token stays).
  size_t take(std::string_view server, uint16_t port, uint8_t* out, size_t cap);

  bool contains(std::string_view server, uint16_t port) const;
  size_t size() const;
  void clear();

 private:
  struct Entry {
    uint64_t last_use = 0;  // 0 = free; otherwise the tick of the last put
    uint16_t port = 0;
    uint8_t name_len = 0;
    uint16_t token_len = 0;
    std::array<char, kMaxServerNameLen> name{};
    std::array<uint8_t, kMaxStoredTokenLen> token{};
  };

  int find(std::string_view server, uint16_t port) const;

  std::array<Entry, kTokenStoreCapacity> entries_{};
  uint64_t tick_ = 0;
};

}  // namespace camp::quic
