#include "tools/hq/client_options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace camp::hq {

namespace {

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;  // strtoull would take "-1", " 1"
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// "ADDR", "ADDR:PORT" (IPv4) or "[ADDR]:PORT" / bare IPv6.
bool parse_local_addr(const std::string& v, LocalAddr* out, std::string* why) {
  std::string addr = v;
  std::string port;
  if (!v.empty() && v.front() == '[') {
    const size_t close = v.find(']');
    if (close == std::string::npos) return (*why = "'[' without ']'", false);
    addr = v.substr(1, close - 1);
    const std::string after = v.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return (*why = "unexpected text after ']'", false);
      port = after.substr(1);
      if (port.empty()) return (*why = "empty port", false);
    }
  } else if (std::count(v.begin(), v.end(), ':') == 1) {
    const size_t colon = v.find(':');
    addr = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (port.empty()) return (*why = "empty port", false);
  }
  char buf[INET6_ADDRSTRLEN];
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    out->ipv6 = false;
    inet_ntop(AF_INET, &a4, buf, sizeof buf);
  } else if (inet_pton(AF_INET6, addr.c_str(), &a6) == 1) {
    out->ipv6 = true;
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
  } else {
    *why = "'" + addr + "' is not an IPv4 or IPv6 address";
    return false;
  }
  out->addr = buf;
  out->port = 0;
  if (!port.empty()) {
    uint64_t p;
    if (!parse_u64(port, &p) || p > 65535) return (*why = "port '" + port + "' is not 0-65535", false);
    out->port = static_cast<uint16_t>(p);
  }
  return true;
}

}  // namespace

ClientParse parse_client_options(int argc, const char* const* argv, ClientOptions* out,
                                 std::string* err) {
  *out = ClientOptions{};
  bool ca_given = false, options_done = false, datagram_given = false;
  std::vector<std::string> url_text;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (options_done || a.empty() || a[0] != '-') {
      url_text.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") return ClientParse::kHelp;
    if (a == "-v" || a == "--verbose") {
      ++out->verbose;
      continue;
    }
    if (a == "--insecure") {
      out->insecure = true;
      continue;
    }
    if (a == "--key-update") {
      out->key_update = true;
      continue;
    }
    if (a == "--migrate") {
      out->migrate = true;
      continue;
    }
    // Everything else takes a value, as "--opt VALUE" or "--opt=VALUE".
    std::string name = a, value;
    bool has_value = false;
    if (const size_t eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    static constexpr std::string_view kValued[] = {"--ca", "--out", "--path", "--qlog",
                                                   "--timeout", "--session", "--datagram",
                                                   "--datagrams", "--scheduler"};
    bool known = false;
    for (auto k : kValued) known = known || name == k;
    if (!known) {
      *err = "unknown option '" + a + "' (see --help)";
      return ClientParse::kError;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        *err = name + ": missing value";
        return ClientParse::kError;
      }
      value = argv[++i];
    }
    if (value.empty()) {
      *err = name + ": empty value";
      return ClientParse::kError;
    }
    if (name == "--ca") {
      out->ca_file = value;
      ca_given = true;
    } else if (name == "--out") {
      out->out_dir = value;
    } else if (name == "--qlog") {
      out->qlog_dir = value;
    } else if (name == "--session") {
      out->session_file = value;
    } else if (name == "--path") {
      LocalAddr la;
      std::string why;
      if (!parse_local_addr(value, &la, &why)) {
        *err = "--path: " + why;
        return ClientParse::kError;
      }
      for (const LocalAddr& p : out->paths) {
        if (p.addr == la.addr && p.port == la.port) {
          *err = "--path: '" + value + "' given twice";
          return ClientParse::kError;
        }
      }
      if (out->paths.size() == kMaxPaths) {
        *err = "--path: at most " + std::to_string(kMaxPaths) + " paths";
        return ClientParse::kError;
      }
      out->paths.push_back(la);
    } else if (name == "--timeout") {
      char* end = nullptr;
      errno = 0;
      double t = std::strtod(value.c_str(), &end);
      if (errno != 0 || *end != '\0' || !std::isfinite(t) || t <= 0 || t > kMaxTimeoutS) {
        *err = "--timeout: '" + value + "' is not a number of seconds in (0, 86400]";
        return ClientParse::kError;
      }
      out->timeout_s = t;
    } else if (name == "--datagram") {
      uint64_t n;
      if (!parse_u64(value, &n) || n > kMaxDatagram) {
        *err = "--datagram: '" + value + "' is not a size 0-" + std::to_string(kMaxDatagram);
        return ClientParse::kError;
      }
      out->datagram = n;
      datagram_given = true;
    } else if (name == "--scheduler") {
      const std::optional<quic::SchedulerKind> k = quic::scheduler_kind_by_name(value);
      if (!k) {
        *err = "--scheduler: '" + value + "' is not minrtt, rr or redundant";
        return ClientParse::kError;
      }
      out->scheduler = *k;
    } else if (name == "--datagrams") {
      uint64_t n;
      if (!parse_u64(value, &n) || n > kMaxDatagrams) {
        *err = "--datagrams: '" + value + "' is not a count 0-" + std::to_string(kMaxDatagrams);
        return ClientParse::kError;
      }
      out->datagrams = n;
    }
  }
  if (out->migrate && out->paths.size() < 2) {
    *err = "--migrate needs two --path addresses (it moves from the first to the second)";
    return ClientParse::kError;
  }
  if (ca_given && out->insecure) {
    *err = "--ca and --insecure exclude each other";
    return ClientParse::kError;
  }
  if (out->datagrams > 0) {
    if (datagram_given && out->datagram == 0) {
      *err = "--datagrams needs DATAGRAM support: not with --datagram 0";
      return ClientParse::kError;
    }
    if (out->datagram == 0) out->datagram = kDefaultDatagramFrame;
  }
  if (url_text.empty()) {
    *err = "no URL given (camp-client [options] https://HOST:PORT/PATH...)";
    return ClientParse::kError;
  }
  for (const std::string& t : url_text) {
    Url u;
    std::string why;
    if (!parse_url(t, u, &why)) {
      *err = "URL " + why;
      return ClientParse::kError;
    }
    if (!out->urls.empty() && u.authority() != out->urls.front().authority()) {
      *err = "URL '" + t + "': every URL must name the same server (" +
             out->urls.front().authority() + "): they share one connection";
      return ClientParse::kError;
    }
    out->urls.push_back(std::move(u));
  }
  return ClientParse::kOk;
}

std::string client_usage(const char* prog) {
  std::string p = prog ? prog : "camp-client";
  return "usage: " + p +
         " [options] https://HOST[:PORT]/PATH...\n"
         "Fetches every URL over one QUIC connection with hq-interop (HTTP/0.9); all URLs must\n"
         "name the same HOST:PORT. Exits 0 only when every response ends complete.\n"
         "\n"
         "options:\n"
         "  --ca FILE         trust the CA certificates in FILE (PEM)\n"
         "  --insecure        do not verify the server's certificate (not with --ca)\n"
         "  --out DIR         write each body to DIR/<basename of its path> (default: discard)\n"
         "  --path LOCAL_ADDR open a path from this local address, ADDR or ADDR:PORT\n"
         "                    ([v6]:PORT); may repeat (at most 16). With two or more (and no\n"
         "                    --migrate) the client offers multipath QUIC (draft-21): the\n"
         "                    handshake goes from the first, then a path opens from each other\n"
         "                    one; exit 1 unless at least one of them is validated\n"
         "  --scheduler NAME  how the client spreads what it sends over its paths: minrtt\n"
         "                    (default), rr (round robin) or redundant (every packet on all)\n"
         "  --qlog DIR        write a qlog file per connection into DIR\n"
         "  --timeout SEC     give up after SEC seconds (default 30)\n"
         "  --session FILE    resume with the TLS session ticket in FILE, store the new one\n"
         "  --key-update      start a 1-RTT key update once the handshake is confirmed\n"
         "  --migrate         once 1 MiB has arrived, move the connection from the first --path\n"
         "                    address to the second (RFC 9000 9.2: new connection ID, path\n"
         "                    validation); fails unless the new path is validated\n"
         "  --datagram N      offer DATAGRAM frames (RFC 9221) of up to N bytes (0 = off)\n"
         "  --datagrams COUNT after the handshake send COUNT DATAGRAMs (100-1000 bytes) for the\n"
         "                    server to echo, and report them (sent, acked, lost, echoed); fails\n"
         "                    when the server lacks DATAGRAM or echoes none. Implies\n"
         "                    --datagram 1200 unless --datagram is given\n"
         "  -v, --verbose     more logging (repeat for more)\n"
         "  -h, --help        this text\n"
         "  --                end of options\n";
}

}  // namespace camp::hq
