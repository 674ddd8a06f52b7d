#include "dataplane/quic/token/token_store.h"

#include <cstring>

namespace camp::quic {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool names_equal(const char* a, std::string_view b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

int TokenStore::find(std::string_view server, uint16_t port) const {
  if (server.size() > kMaxServerNameLen) return -1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.last_use != 0 && e.port == port && e.name_len == server.size() &&
        names_equal(e.name.data(), server)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool TokenStore::put(std::string_view server, uint16_t port, ByteView token) {
  if (server.empty() || server.size() > kMaxServerNameLen || token.empty() ||
      token.size > kMaxStoredTokenLen) {
    return false;
  }
  int slot = find(server, port);
  if (slot < 0) {
    // A free entry if there is one, else the least recently used.
    slot = 0;
    for (size_t i = 1; i < entries_.size() && entries_[slot].last_use != 0; ++i) {
      if (entries_[i].last_use < entries_[slot].last_use) slot = static_cast<int>(i);
    }
  }
  Entry& e = entries_[slot];
  e.last_use = ++tick_;
  e.port = port;
  e.name_len = static_cast<uint8_t>(server.size());
  std::memcpy(e.name.data(), server.data(), server.size());
  e.token_len = static_cast<uint16_t>(token.size);
  std::memcpy(e.token.data(), token.data, token.size);
  return true;
}

size_t TokenStore::take(std::string_view server, uint16_t port, uint8_t* out, size_t cap) {
  const int slot = find(server, port);
  if (slot < 0) return 0;
  Entry& e = entries_[slot];
  if (out == nullptr || cap < e.token_len) return 0;
  const size_t n = e.token_len;
  std::memcpy(out, e.token.data(), n);
  // Wipe it: a used token must not turn up again for another attempt.
  e = Entry{};
  return n;
}

bool TokenStore::contains(std::string_view server, uint16_t port) const {
  return find(server, port) >= 0;
}

size_t TokenStore::size() const {
  size_t n = 0;
  for (const Entry& e : entries_) n += e.last_use != 0;
  return n;
}

void TokenStore::clear() {
  entries_.fill(Entry{});
  tick_ = 0;
}

}  // namespace camp::quic
