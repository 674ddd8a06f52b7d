#include "drivers/socket/address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

namespace camp::sockdrv {

namespace {

bool fail(std::string* err, std::string_view text, const char* why) {
  if (err != nullptr) {
    *err = "bad address \"";
    err->append(text);
    err->append("\": ");
    err->append(why);
  }
  return false;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Decimal 0..65535, digits only (no sign, no spaces, no hex).
bool parse_port(std::string_view s, uint16_t* port) {
  if (!all_digits(s) || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint32_t>(c - '0');
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

// A zone is an interface name or a numeric index.
bool parse_scope(std::string_view s, uint32_t* scope) {
  if (s.empty() || s.size() >= IF_NAMESIZE) return false;
  if (all_digits(s)) {
    uint64_t v = 0;
    for (char c : s) {
      v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > UINT32_MAX) return false;
    }
    *scope = static_cast<uint32_t>(v);
    return true;
  }
  char name[IF_NAMESIZE] = {};
  std::memcpy(name, s.data(), s.size());
  *scope = if_nametoindex(name);
  return *scope != 0;
}

}  // namespace

IpAddr SockAddr::ip() const {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return IpAddr::v4(reinterpret_cast<const uint8_t*>(&sin->sin_addr));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    return IpAddr::v6(sin6->sin6_addr.s6_addr);
  }
  return IpAddr{};
}

uint16_t SockAddr::port() const {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  }
  return 0;
}

uint32_t SockAddr::scope_id() const {
  if (ss.ss_family != AF_INET6) return 0;
  return reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_scope_id;
}

bool SockAddr::is_wildcard() const {
  const IpAddr a = ip();
  if (a.family == 0) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return true;
}

bool parse_address(std::string_view text, SockAddr* out, std::string* err) {
  if (text.empty()) return fail(err, text, "empty (expected ADDR:PORT)");
  std::string_view host;
  std::string_view port_text;
  bool v6 = false;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return fail(err, text, "missing ']' after IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(err, text, "expected ':PORT' after ']'");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    v6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(err, text, "missing ':PORT'");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(err, text, "IPv6 addresses go in brackets: [ADDR]:PORT");
    }
  }
  uint16_t port = 0;
  if (port_text.empty()) return fail(err, text, "missing port after ':'");
  if (!parse_port(port_text, &port)) return fail(err, text, "port is not a number in 0..65535");
  if (host.empty()) return fail(err, text, "missing address before ':PORT'");

  // inet_pton wants a NUL-terminated string; addresses are short, so a stack buffer will do.
  char buf[INET6_ADDRSTRLEN + 1] = {};
  SockAddr a;
  if (v6) {
    std::string_view addr = host;
    uint32_t scope = 0;
    const size_t pct = host.find('%');
    if (pct != std::string_view::npos) {
      addr = host.substr(0, pct);
      if (!parse_scope(host.substr(pct + 1), &scope)) {
        return fail(err, text, "unknown IPv6 zone (interface name or index after '%')");
      }
    }
    if (addr.size() >= sizeof(buf)) return fail(err, text, "not an IPv6 address");
    std::memcpy(buf, addr.data(), addr.size());
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) {
      return fail(err, text, "not an IPv6 address");
    }
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_scope_id = scope;
    a.len = sizeof(sockaddr_in6);
  } else {
    if (host.size() >= sizeof(buf)) return fail(err, text, "not an IPv4 address");
    std::memcpy(buf, host.data(), host.size());
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.ss);
    if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) {
      return fail(err, text, "not an IPv4 address (numeric dotted quad; names are not resolved)");
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
  }
  *out = a;
  return true;
}

std::string format_address(const SockAddr& a) {
  char host[INET6_ADDRSTRLEN] = {};
  char out[INET6_ADDRSTRLEN + 32] = {};
  if (a.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&a.ss);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
    std::snprintf(out, sizeof(out), "%s:%u", host, a.port());
  } else if (a.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    if (sin6->sin6_scope_id != 0) {
      std::snprintf(out, sizeof(out), "[%s%%%u]:%u", host, sin6->sin6_scope_id, a.port());
    } else {
      std::snprintf(out, sizeof(out), "[%s]:%u", host, a.port());
    }
  } else {
    return "(unset)";
  }
  return out;
}

bool to_sockaddr(const IpAddr& ip, uint16_t port, uint32_t scope_id, SockAddr* out) {
  if (ip.family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out->ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes, 4);
    std::memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
    out->len = sizeof(sockaddr_in);
    return true;
  }
  if (ip.family == 6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out->ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_flowinfo = 0;
    std::memcpy(&sin6->sin6_addr, ip.bytes, 16);
    sin6->sin6_scope_id = scope_id;
    out->len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace camp::sockdrv
