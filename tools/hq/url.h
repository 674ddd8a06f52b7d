// "https://HOST[:PORT][/PATH]" as camp-client takes it: HOST a DNS name, a dotted IPv4 address or
// a bracketed IPv6 address; PORT 1-65535 (443 when absent); PATH starts with '/' ("/" when absent)
// and is sent as-is in the hq-interop request line, so it may not hold spaces or control bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace camp::hq {

enum class HostKind : uint8_t { kName, kIPv4, kIPv6 };

struct Url {
  std::string host;  // names lower-cased; IPv6 without the brackets
  HostKind host_kind = HostKind::kName;
  uint16_t port = 443;
  std::string path = "/";  // the fragment ("#...") is dropped: it is never sent

  // "host:port", IPv6 in brackets: two URLs with equal authorities reach the same server.
  std::string authority() const;
};

// False with *err (when given) saying what is wrong; out is unspecified then.
bool parse_url(std::string_view text, Url& out, std::string* err);

}  // namespace camp::hq
