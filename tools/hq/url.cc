#include "tools/hq/url.h"

#include <arpa/inet.h>

#include <cctype>

namespace camp::hq {

namespace {

bool fail(std::string* err, std::string msg) {
  if (err) *err = std::move(msg);
  return false;
}

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool all_digits_and_dots(std::string_view s) {
  for (char c : s) {
    if (c != '.' && !std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// RFC 1123 host name: labels of letters, digits and '-' (and '_', seen in practice), 1-63 bytes
// each, 253 in all; one trailing dot (a fully qualified name) is allowed.
bool valid_name(std::string_view name, std::string* why) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return (*why = "empty host name", false);
  if (name.size() > 253) return (*why = "host name longer than 253 bytes", false);
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return (*why = "empty label in host name", false);
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      *why = std::string("character '") + c + "' not allowed in a host name";
      return false;
    }
    if (++label > 63) return (*why = "host name label longer than 63 bytes", false);
  }
  if (label == 0) return (*why = "empty label in host name", false);
  return true;
}

bool parse_port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

std::string Url::authority() const {
  std::string a;
  if (host_kind == HostKind::kIPv6) a += '[';
  a += host;
  if (host_kind == HostKind::kIPv6) a += ']';
  a += ':';
  a += std::to_string(port);
  return a;
}

bool parse_url(std::string_view text, Url& out, std::string* err) {
  std::string quoted(1, '\'');  // built by appends: GCC 12 warns (falsely) on "'" + string
  quoted += text;
  quoted += '\'';
  out = Url{};
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return fail(err, quoted + " is not a URL (expected https://HOST[:PORT]/PATH)");
  }
  std::string scheme;
  for (char c : text.substr(0, sep)) scheme += lower(c);
  if (scheme != "https") {
    return fail(err, quoted + ": scheme '" + std::string(text.substr(0, sep)) +
                         "' is not supported (only https://)");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view("/")
                                                          : rest.substr(slash);
  if (authority.empty()) return fail(err, quoted + ": no host");
  for (char c : authority) {
    if (c == '@') return fail(err, quoted + ": user information ('@') is not supported");
    if (c == '?' || c == '#') return fail(err, quoted + ": the path must start with '/'");
  }

  std::string_view host, port;
  bool has_port = false;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(err, quoted + ": '[' without ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(err, quoted + ": unexpected text after ']'");
      port = after.substr(1);
      has_port = true;
    }
    in6_addr a6;
    const std::string h(host);
    if (host.empty() || inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
      return fail(err, quoted + ": '" + h + "' is not an IPv6 address");
    }
    // Canonical text, so [::0001] and [::1] name the same server.
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    out.host = buf;
    out.host_kind = HostKind::kIPv6;
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) {
        return fail(err, quoted + ": an IPv6 address must be in brackets ([::1]:443)");
      }
    }
    if (host.empty()) return fail(err, quoted + ": no host");
    const std::string h(host);
    if (all_digits_and_dots(host)) {
      in_addr a4;
      if (inet_pton(AF_INET, h.c_str(), &a4) != 1) {
        return fail(err, quoted + ": '" + h + "' is not an IPv4 address");
      }
      out.host = h;
      out.host_kind = HostKind::kIPv4;
    } else {
      std::string why;
      if (!valid_name(host, &why)) return fail(err, quoted + ": " + why);
      for (char c : host) out.host += lower(c);
      out.host_kind = HostKind::kName;
    }
  }
  if (has_port && !parse_port(port, out.port)) {
    return fail(err, quoted + ": port '" + std::string(port) + "' is not a number 1-65535");
  }

  const size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  if (path.empty()) path = "/";
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return fail(err, quoted + ": the path holds a space or control character");
    }
  }
  out.path = std::string(path);
  return true;
}

}  // namespace camp::hq
