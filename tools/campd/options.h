// campd's own options (after `--`) and its INI configuration file (rte_cfgfile). Defaults, then
// the file, then flags. Every bad value names its key and why, before anything starts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/worker_settings.h"
#include "drivers/net/l2l3.h"

namespace camp::campd {

struct PortOptions {
  net::LocalAddrs local;             // addresses only; mac and link-local come from the port
  std::vector<std::string> addr_text;
  uint16_t rxd = 1024;
  uint16_t txd = 1024;
};

enum class DriverKind { dpdk, socket };

struct Options {
  std::string config_file;
  DriverKind driver = DriverKind::dpdk;
  std::vector<std::string> listen;   // --listen ADDR:PORT (socket: sockets to open; dpdk: port 0)
  uint16_t udp_port = 4433;
  std::string ctl_socket;            // empty: control::kDefaultSocketPath
  bool interactive = false;
  bool telemetry = true;
  double duration_s = 0;             // stop after this long; 0 = run until SIGINT/SIGTERM
  bool final_json = false;           // print final counters as JSON instead of text
  uint32_t mbufs = 0;                // per-worker rx pool size; 0 = sized from descriptors
  std::string null_template;         // "udp": fill rx pools with a UDP datagram (net_null as generator)
  std::map<uint16_t, PortOptions> ports;
  uint16_t rxd = 0, txd = 0;         // --rxd/--txd: override every port's; 0 = as configured
  WorkerSettings worker;
  // QUIC service (hq-interop): with --www, the UDP port serves QUIC instead of the reflector.
  std::string www;                   // --www DIR: files served over hq-interop
  std::string cert_file;             // --cert FILE (PEM); default: the development certificate
  std::string key_file;              // --key FILE
  bool retry = false;                // --retry: validate client addresses with Retry first
  std::string qlog_dir;              // --qlog DIR: one qlog (JSON-SEQ) file per connection
  // Multipath QUIC: the initial_max_path_id campd offers (path IDs 0..N at once); nullopt
  // ("off"): not offered, connections stay single-path.
  std::optional<uint32_t> max_path_id = 3;
  // QUIC-LB (draft-ietf-quic-load-balancers): the config rotation bits (0..6) and this server's
  // octets of the Server ID (each worker appends its number). No config ID: the CIDs say 0b111,
  // "no configuration", and campd still steers them to their workers itself.
  std::optional<uint8_t> lb_config_id;
  std::vector<uint8_t> lb_server_id{0x00};
};

// Where `tools/camp build` puts the development certificate campd uses when --cert is not given.
inline constexpr const char* kDevCertDir = "/var/lib/camp/dev-cert";
// The largest max_path_id: campd's connection-ID table holds CIDs for 8 path IDs per connection.
inline constexpr uint32_t kMaxOfferedPathId = 7;
// The longest QUIC-LB server ID campd takes: with the worker octet and 7 random nonce octets the
// CID stays within QUIC v1's 20 octets.
inline constexpr size_t kMaxLbServerIdLength = 11;

enum class ParseResult { ok, help, error };

// argv here is campd's part (after `--`), argv[0] being the program name.
ParseResult parse_options(int argc, char** argv, Options* out, std::string* err);
// Loads and validates an INI file into *out (called by parse_options for --config).
bool load_config(const std::string& path, Options* out, std::string* err);
// Parses "ADDR" for an IPv4 or IPv6 address into the port's LocalAddrs.
bool add_address(PortOptions& p, const std::string& text, std::string* err);

std::string usage(const char* prog);

}  // namespace camp::campd
