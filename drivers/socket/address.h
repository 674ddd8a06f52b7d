// "ADDR:PORT" strings for the socket driver: IPv4 as "192.0.2.1:4433", IPv6 in brackets as
// "[2001:db8::1]:4433" (with an optional "%scope" zone, e.g. "[fe80::1%eth0]:4433"). Port 0 asks
// the kernel for an ephemeral port. Numeric addresses only: the driver never resolves names.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/endpoint.h"

namespace camp::sockdrv {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;

  int family() const { return ss.ss_family; }
  IpAddr ip() const;
  uint16_t port() const;         // host order
  uint32_t scope_id() const;     // IPv6 zone; 0 for IPv4
  bool is_wildcard() const;      // 0.0.0.0 or ::
};

// Parses `text`. On failure returns false and sets *err (if given) to a message that quotes the
// text and says what is wrong with it.
bool parse_address(std::string_view text, SockAddr* out, std::string* err);

// The canonical "ADDR:PORT" form of `a` ("[...]:PORT" for IPv6, "%zone" numeric).
std::string format_address(const SockAddr& a);

// A sockaddr for (ip, port, scope); false when ip.family is neither 4 nor 6.
bool to_sockaddr(const IpAddr& ip, uint16_t port, uint32_t scope_id, SockAddr* out);

}  // namespace camp::sockdrv
