#include "tools/campd/options.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <rte_cfgfile.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dataplane/codec/hex.h"

namespace camp::campd {

namespace {

bool parse_u64(const std::string& s, uint64_t lo, uint64_t hi, uint64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;  // strtoull would skip blanks and signs
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::string range_msg(const std::string& key, const std::string& v, uint64_t lo, uint64_t hi) {
  return key + ": '" + v + "' is not a whole number in " + std::to_string(lo) + ".." +
         std::to_string(hi);
}

template <typename T>
bool set_uint(const std::string& key, const std::string& v, uint64_t lo, uint64_t hi, T* out,
              std::string* err) {
  uint64_t x;
  if (!parse_u64(v, lo, hi, &x)) {
    *err = range_msg(key, v, lo, hi);
    return false;
  }
  *out = static_cast<T>(x);
  return true;
}
constexpr auto set_u16 = set_uint<uint16_t>;
constexpr auto set_u32 = set_uint<uint32_t>;

bool set_bool(const std::string& key, const std::string& v, bool* out, std::string* err) {
  if (v == "yes" || v == "true" || v == "on" || v == "1") return *out = true, true;
  if (v == "no" || v == "false" || v == "off" || v == "0") return *out = false, true;
  *err = key + ": '" + v + "' is not yes/no";
  return false;
}

bool set_worker(const std::string& key, const std::string& name, const std::string& v,
                WorkerSettings* w, std::string* err) {
  const auto k = worker_key_by_name(name);
  if (!k) return false;
  uint64_t x;
  if (!parse_worker_value(worker_key_info(*k), key, v, &x, err)) return false;
  w->set(*k, x);
  return true;
}

// "off", or a path ID limit in 0..kMaxOfferedPathId.
bool set_max_path_id(const std::string& key, const std::string& v, std::optional<uint32_t>* out,
                     std::string* err) {
  if (v == "off") return *out = std::nullopt, true;
  uint32_t n = 0;
  if (!set_u32(key, v, 0, kMaxOfferedPathId, &n, err)) {
    *err += " (or off)";
    return false;
  }
  *out = n;
  return true;
}

// QUIC-LB config rotation bits: 0..6 (7 is the "no configuration" codepoint, the default).
bool set_lb_config_id(const std::string& key, const std::string& v, std::optional<uint8_t>* out,
                      std::string* err) {
  uint32_t n = 0;
  if (!set_u32(key, v, 0, 6, &n, err)) return false;
  *out = static_cast<uint8_t>(n);
  return true;
}

// A QUIC-LB server ID in hex, 1..kMaxLbServerIdLength octets.
bool set_lb_server_id(const std::string& key, const std::string& v, std::vector<uint8_t>* out,
                      std::string* err) {
  std::vector<uint8_t> id;
  std::string why;
  if (!parse_hex(v, &id, &why) || id.empty() || id.size() > kMaxLbServerIdLength) {
    *err = key + ": '" + v + "' is not 1.." + std::to_string(kMaxLbServerIdLength) +
           " octets in hex";
    return false;
  }
  *out = std::move(id);
  return true;
}

bool set_duration(const std::string& key, const std::string& v, double* out, std::string* err) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= 0) || d > 1e7) {
    *err = key + ": '" + v + "' is not a number of seconds >= 0";
    return false;
  }
  *out = d;
  return true;
}

// "[PORT@]ADDR" -> port index and address.
bool parse_addr_flag(const std::string& v, Options* o, std::string* err) {
  uint16_t port = 0;
  std::string addr = v;
  const auto at = v.find('@');
  if (at != std::string::npos) {
    if (!set_u16("--addr", v.substr(0, at), 0, RTE_MAX_ETHPORTS - 1, &port, err)) return false;
    addr = v.substr(at + 1);
  }
  if (add_address(o->ports[port], addr, err)) return true;
  *err = "--addr: " + *err;
  return false;
}

bool set_driver(const std::string& key, const std::string& v, DriverKind* out, std::string* err) {
  if (v == "dpdk") return *out = DriverKind::dpdk, true;
  if (v == "socket") return *out = DriverKind::socket, true;
  *err = key + ": '" + v + "' is not a driver (known: dpdk, socket)";
  return false;
}

// "ADDR:PORT" or "[V6]:PORT": checked here so a typo stops campd before anything starts.
bool check_listen(const std::string& key, const std::string& v, std::string* err) {
  const auto colon = v.rfind(':');
  std::string host = colon == std::string::npos ? "" : v.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint64_t port;
  uint8_t buf[16];
  if (colon == std::string::npos || !parse_u64(v.substr(colon + 1), 0, 65535, &port) ||
      (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1)) {
    *err = key + ": '" + v + "' is not ADDR:PORT (e.g. 127.0.0.1:4433 or [::1]:4433)";
    return false;
  }
  return true;
}

}  // namespace

bool add_address(PortOptions& p, const std::string& text, std::string* err) {
  uint8_t buf[16];
  bool ok;
  // One IPv6 entry stays free for the port's link-local address, added when the port starts.
  constexpr size_t kMaxV6 = net::kMaxAddrs - 1;
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    ok = p.local.has_ipv4(buf) || p.local.add_ipv4(buf);
  } else if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    ok = p.local.has_ipv6(buf) || (p.local.n_ipv6 < kMaxV6 && p.local.add_ipv6(buf));
  } else {
    *err = "'" + text + "' is not an IPv4 or IPv6 address";
    return false;
  }
  if (!ok) {
    *err = "too many addresses (at most " + std::to_string(net::kMaxAddrs) + " IPv4 and " +
           std::to_string(kMaxV6) + " IPv6 per port)";
    return false;
  }
  p.addr_text.push_back(text);
  return true;
}

bool load_config(const std::string& path, Options* o, std::string* err) {
  std::unique_ptr<rte_cfgfile, int (*)(rte_cfgfile*)> cfg(rte_cfgfile_load(path.c_str(), 0),
                                                          rte_cfgfile_close);
  if (!cfg) {
    *err = "config " + path + ": cannot read or parse it (INI: [section] and key = value lines)";
    return false;
  }
  const int n_sec = rte_cfgfile_num_sections(cfg.get(), "", 0);
  // rte_cfgfile_sections fills caller arrays; size them from the count.
  std::vector<std::vector<char>> storage(n_sec, std::vector<char>(CFG_NAME_LEN));
  std::vector<char*> ptrs(n_sec);
  for (int i = 0; i < n_sec; ++i) ptrs[i] = storage[i].data();
  rte_cfgfile_sections(cfg.get(), ptrs.data(), n_sec);

  for (int i = 0; i < n_sec; ++i) {
    const std::string sec = ptrs[i];
    if (sec != "engine" && sec != "workers" && sec.rfind("port.", 0) != 0) {
      *err = "config " + path + ": unknown section [" + sec + "] (known: engine, workers, port.N)";
      return false;
    }
    const int n = rte_cfgfile_section_num_entries(cfg.get(), sec.c_str());
    std::vector<rte_cfgfile_entry> entries(n > 0 ? n : 0);
    if (n > 0) rte_cfgfile_section_entries(cfg.get(), sec.c_str(), entries.data(), n);
    for (const auto& e : entries) {
      const std::string key = e.name, val = e.value;
      const std::string where = "config " + path + ": [" + sec + "] " + key;
      std::string why;
      bool known = true, good = true;
      if (sec == "engine") {
        if (key == "udp_port") good = set_u16(where, val, 1, 65535, &o->udp_port, &why);
        else if (key == "ctl_socket") o->ctl_socket = val;
        else if (key == "driver") good = set_driver(where, val, &o->driver, &why);
        else if (key == "listen") {
          std::string cur;
          for (size_t j = 0; j <= val.size() && good; ++j) {
            const char c = j < val.size() ? val[j] : ' ';
            if (c == ' ' || c == ',' || c == '\t') {
              if (!cur.empty()) {
                good = check_listen(where, cur, &why);
                o->listen.push_back(cur);
              }
              cur.clear();
            } else {
              cur += c;
            }
          }
        }
        else if (key == "telemetry") good = set_bool(where, val, &o->telemetry, &why);
        else if (key == "duration") good = set_duration(where, val, &o->duration_s, &why);
        else if (key == "mbufs") good = set_u32(where, val, 1024, 1u << 24, &o->mbufs, &why);
        else if (key == "max_path_id") good = set_max_path_id(where, val, &o->max_path_id, &why);
        else if (key == "lb_config_id") good = set_lb_config_id(where, val, &o->lb_config_id, &why);
        else if (key == "lb_server_id") good = set_lb_server_id(where, val, &o->lb_server_id, &why);
        else known = false;
      } else if (sec == "workers") {
        known = worker_key_by_name(key).has_value();
        if (known) good = set_worker(where, key, val, &o->worker, &why);
      } else if (sec.rfind("port.", 0) == 0) {
        uint64_t idx;
        if (!parse_u64(sec.substr(5), 0, RTE_MAX_ETHPORTS - 1, &idx)) {
          *err = "config " + path + ": [" + sec + "]: section name must be port.N with N a port number";
          return false;
        }
        PortOptions& p = o->ports[static_cast<uint16_t>(idx)];
        if (key == "addresses") {
          // Whitespace or comma separated.
          std::string cur;
          for (size_t j = 0; j <= val.size() && good; ++j) {
            const char c = j < val.size() ? val[j] : ' ';
            if (c == ' ' || c == ',' || c == '\t') {
              if (!cur.empty() && !add_address(p, cur, &why)) {
                why = where + ": " + why;
                good = false;
              }
              cur.clear();
            } else {
              cur += c;
            }
          }
        } else if (key == "rxd") good = set_u16(where, val, 64, 16384, &p.rxd, &why);
        else if (key == "txd") good = set_u16(where, val, 64, 16384, &p.txd, &why);
        else known = false;
      } else {
        *err = "config " + path + ": unknown section [" + sec +
               "] (known: engine, workers, port.N)";
        return false;
      }
      if (!known) {
        *err = where + ": unknown key";
        return false;
      }
      if (!good) {
        *err = why;
        return false;
      }
    }
  }
  return true;
}

std::string usage(const char* prog) {
  std::string u = std::string("Usage: ") + prog + " [EAL options] -- [campd options]\n" + R"(
camp's packet engine: one poll-mode worker per worker lcore on DPDK ports (any PMD), a control
thread, and campctl/telemetry access. UDP to the service port goes to the dataplane endpoint:
QUIC (hq-interop file service) with --www, otherwise a reflector that echoes datagrams; ARP, IPv6 neighbour discovery and ICMP/ICMPv6 echo are answered;
everything else is dropped and counted by reason.

With no EAL options, campd runs on an embedded default that needs no NIC and no hugepages:
  -l 0-1 --no-huge -m 512 --no-pci --file-prefix camp --vdev net_tap0,iface=camp0
with addresses 198.18.0.1 and 2001:2::1 on port 0 (a tap interface "camp0" in the kernel).

campd options:
      --driver dpdk|socket dpdk (default): DPDK ports and lcores. socket: kernel UDP sockets
                           on the --listen addresses, no EAL (give no EAL options), one worker
      --listen ADDR:PORT   socket driver: a socket to open (repeatable, [::1]:4433 for IPv6);
                           dpdk driver: ADDR is added to port 0 and PORT is the UDP port
  -c, --config FILE        INI file: [engine] driver, listen, udp_port, ctl_socket, telemetry,
                           duration, mbufs, max_path_id, lb_config_id, lb_server_id;
                           [workers] idle_polls, idle_sleep_us, telemetry_ms, rx_burst,
                           scheduler, failover_action;
                           [port.N] addresses, rxd, txd. Flags override the file.
  -a, --addr [PORT@]ADDR   an IPv4 or IPv6 address port PORT (default 0) answers for; repeatable
  -p, --udp-port N         the endpoint's UDP port (default 4433)
  -i, --interactive        a command prompt (same commands as campctl)
  -s, --ctl-socket PATH    campctl's unix socket (default /run/camp/campd.sock)
      --no-telemetry       do not register /camp/... with rte_telemetry
  -d, --duration SEC       stop by itself after SEC seconds (default: run until SIGINT/SIGTERM)
      --json               print the final counters as JSON
      --mbufs N            rx mbufs per worker (default: from the descriptor counts), plus
                           room for steering rings when there are several workers
      --rxd N, --txd N     descriptors per queue on every port (default 1024)
      --null-template udp  fill rx mbuf pools with a UDP datagram from port 0's second IPv4
                           address to its first, both on the UDP port, so net_null ports act
                           as a traffic generator (benchmarks)
    QUIC (hq-interop, HTTP/0.9 over QUIC v1; the UDP port serves QUIC instead of the reflector):
      --www DIR            serve the files under DIR (ALPN hq-interop)
      --cert FILE --key FILE  certificate chain and key, PEM (default: the development
                           certificate that `tools/camp build` writes to /var/lib/camp/dev-cert)
      --retry              validate every new client address with a Retry first
      --qlog DIR           write one qlog file (JSON-SEQ) per connection into DIR
      --max-path-id N|off  multipath QUIC (draft-ietf-quic-multipath-21): offer path IDs
                           0..N (N <= 7) to clients that offer it too; off: single path only
                           (default 3)
      --lb-config-id N     QUIC-LB (draft-ietf-quic-load-balancers): the config rotation
                           bits 0..6 of connection IDs (default: none, the IDs then start
                           with 0b111, which load balancers route by 4-tuple)
      --lb-server-id HEX   this server's QUIC-LB server ID, 1..11 octets (default 00); each
                           worker appends its number, so the ID on the wire is one octet longer
)";
  for (const auto& k : kWorkerKeys) {
    std::string flag = "      --" + std::string(k.name) + (k.names.empty() ? " N" : " NAME");
    for (char& c : flag) if (c == '_') c = '-';
    // The help starts in column 28, on the next line when the flag reaches it.
    flag = flag.size() < 27 ? flag + std::string(27 - flag.size(), ' ')
                            : flag + "\n" + std::string(27, ' ');
    u += flag + std::string(k.help) + " (" + (k.names.empty() ? "" : worker_value_domain(k) + "; ") +
         "default " + worker_value_text(k, k.def) + ")\n";
  }
  u += "  -h, --help               this text\n";
  return u;
}

ParseResult parse_options(int argc, char** argv, Options* o, std::string* err) {
  enum { kNoTelemetry = 256, kJson, kMbufs, kRxd, kTxd, kNullTemplate, kDriver, kListen,
         kWww, kCert, kKey, kRetry, kQlog, kMaxPathIdFlag, kLbConfigId, kLbServerId, kWorkerBase };
  std::vector<option> longopts = {
      {"config", required_argument, nullptr, 'c'},
      {"addr", required_argument, nullptr, 'a'},
      {"udp-port", required_argument, nullptr, 'p'},
      {"interactive", no_argument, nullptr, 'i'},
      {"ctl-socket", required_argument, nullptr, 's'},
      {"no-telemetry", no_argument, nullptr, kNoTelemetry},
      {"duration", required_argument, nullptr, 'd'},
      {"json", no_argument, nullptr, kJson},
      {"mbufs", required_argument, nullptr, kMbufs},
      {"rxd", required_argument, nullptr, kRxd},
      {"txd", required_argument, nullptr, kTxd},
      {"null-template", required_argument, nullptr, kNullTemplate},
      {"driver", required_argument, nullptr, kDriver},
      {"listen", required_argument, nullptr, kListen},
      {"www", required_argument, nullptr, kWww},
      {"cert", required_argument, nullptr, kCert},
      {"key", required_argument, nullptr, kKey},
      {"retry", no_argument, nullptr, kRetry},
      {"qlog", required_argument, nullptr, kQlog},
      {"max-path-id", required_argument, nullptr, kMaxPathIdFlag},
      {"lb-config-id", required_argument, nullptr, kLbConfigId},
      {"lb-server-id", required_argument, nullptr, kLbServerId},
      {"help", no_argument, nullptr, 'h'},
  };
  std::vector<std::string> worker_flag_names;
  for (const auto& k : kWorkerKeys) {
    std::string f(k.name);
    for (char& c : f) if (c == '_') c = '-';
    worker_flag_names.push_back(f);
  }
  for (size_t i = 0; i < worker_flag_names.size(); ++i)
    longopts.push_back({worker_flag_names[i].c_str(), required_argument, nullptr,
                        kWorkerBase + static_cast<int>(i)});
  longopts.push_back({nullptr, 0, nullptr, 0});

  // Pass 1: the config file, so flags given in any order still override it.
  optind = 1;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "c:a:p:is:d:h", longopts.data(), nullptr)) != -1;) {
    if (c == 'h') return ParseResult::help;
    if (c == 'c') o->config_file = optarg;
  }
  if (!o->config_file.empty() && !load_config(o->config_file, o, err)) return ParseResult::error;

  optind = 1;
  std::string why;
  uint16_t rxd = 0, txd = 0;
  bool listen_flag_seen = false;
  for (int c; (c = getopt_long(argc, argv, "c:a:p:is:d:h", longopts.data(), nullptr)) != -1;) {
    const std::string v = optarg ? optarg : "";
    bool good = true;
    switch (c) {
      case 'c': break;
      case 'a': good = parse_addr_flag(v, o, &why); break;
      case 'p': good = set_u16("--udp-port", v, 1, 65535, &o->udp_port, &why); break;
      case 'i': o->interactive = true; break;
      case 's': o->ctl_socket = v; break;
      case kNoTelemetry: o->telemetry = false; break;
      case 'd': good = set_duration("--duration", v, &o->duration_s, &why); break;
      case kJson: o->final_json = true; break;
      case kMbufs: good = set_u32("--mbufs", v, 1024, 1u << 24, &o->mbufs, &why); break;
      case kRxd: good = set_u16("--rxd", v, 64, 16384, &rxd, &why); break;
      case kTxd: good = set_u16("--txd", v, 64, 16384, &txd, &why); break;
      case kDriver: good = set_driver("--driver", v, &o->driver, &why); break;
      case kListen:
        if (!listen_flag_seen) o->listen.clear();  // flags replace the file's list
        listen_flag_seen = true;
        good = check_listen("--listen", v, &why);
        o->listen.push_back(v);
        break;
      case kWww: o->www = v; break;
      case kCert: o->cert_file = v; break;
      case kKey: o->key_file = v; break;
      case kRetry: o->retry = true; break;
      case kQlog: o->qlog_dir = v; break;
      case kMaxPathIdFlag: good = set_max_path_id("--max-path-id", v, &o->max_path_id, &why); break;
      case kLbConfigId: good = set_lb_config_id("--lb-config-id", v, &o->lb_config_id, &why); break;
      case kLbServerId: good = set_lb_server_id("--lb-server-id", v, &o->lb_server_id, &why); break;
      case kNullTemplate:
        good = v == "udp";
        if (good) o->null_template = v;
        else why = "--null-template: '" + v + "' is not a known template (known: udp)";
        break;
      case '?':
        *err = optopt ? std::string("unknown or incomplete option '-") + char(optopt) + "'"
                      : std::string("unknown or incomplete option '") + argv[optind - 1] + "'";
        *err += " (see --help)";
        return ParseResult::error;
      default:
        if (c >= kWorkerBase && c < kWorkerBase + static_cast<int>(worker_flag_names.size())) {
          const auto& k = kWorkerKeys[c - kWorkerBase];
          good = set_worker("--" + worker_flag_names[c - kWorkerBase], std::string(k.name), v,
                            &o->worker, &why);
        }
        break;
    }
    if (!good) {
      *err = why;
      return ParseResult::error;
    }
  }
  if (optind < argc) {
    *err = std::string("unexpected argument '") + argv[optind] + "' (see --help)";
    return ParseResult::error;
  }
  o->rxd = rxd;
  o->txd = txd;
  if (o->cert_file.empty() != o->key_file.empty()) {
    *err = o->cert_file.empty() ? "--key needs --cert" : "--cert needs --key";
    return ParseResult::error;
  }
  if (o->www.empty() && (!o->cert_file.empty() || o->retry || !o->qlog_dir.empty())) {
    *err = "--cert, --key, --retry and --qlog need --www (the QUIC service)";
    return ParseResult::error;
  }
  if (o->driver == DriverKind::socket && o->listen.empty()) {
    *err = "--driver socket needs at least one --listen ADDR:PORT";
    return ParseResult::error;
  }
  return ParseResult::ok;
}

}  // namespace camp::campd
