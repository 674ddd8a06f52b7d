// camp-client's command line:
//   camp-client [--ca FILE | --insecure] [--out DIR] [--path LOCAL_ADDR]... [--scheduler NAME]
//               [--qlog DIR]
//               [--timeout SEC] [--session FILE] [--key-update] [--datagram N]
//               [--datagrams COUNT] [-v] URL...
// Every URL must name the same HOST:PORT: they are all fetched on one connection. Errors name the
// option (or URL) at fault.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/quic/conn/scheduler.h"
#include "tools/hq/url.h"

namespace camp::hq {

// A --path value: a local address to open a path from (multipath); port 0 = any.
struct LocalAddr {
  std::string addr;  // canonical text, IPv6 without brackets
  bool ipv6 = false;
  uint16_t port = 0;
};

struct ClientOptions {
  std::string ca_file;     // --ca: trust anchors (PEM)
  bool insecure = false;   // --insecure: do not verify the server's certificate
  std::string out_dir;     // --out: where bodies go (empty: discarded)
  std::vector<LocalAddr> paths;
  // --scheduler: how data is spread over the paths (the server picks its own for what it sends).
  quic::SchedulerKind scheduler = quic::SchedulerKind::kMinRtt;
  // Multipath (draft-ietf-quic-multipath-21) is offered with two or more --path and no --migrate.
  bool multipath() const { return paths.size() > 1 && !migrate; }
  std::string qlog_dir;    // --qlog
  double timeout_s = 30;   // --timeout
  std::string session_file;  // --session: TLS ticket to resume with, and to store
  bool key_update = false;   // --key-update: start a key update once the handshake is confirmed
  bool migrate = false;      // --migrate: move to the second --path address mid-transfer
  uint64_t datagram = 0;     // --datagram N: offer DATAGRAM frames up to N bytes (0 = off)
  // --datagrams COUNT: after the handshake send COUNT DATAGRAMs for the server to echo (0 = none).
  // Implies --datagram kDefaultDatagramFrame when --datagram is not given.
  uint64_t datagrams = 0;
  int verbose = 0;           // -v (repeatable)
  std::vector<Url> urls;
};

enum class ClientParse { kOk, kHelp, kError };

// argv[0] is the program name. kError leaves the reason in *err.
ClientParse parse_client_options(int argc, const char* const* argv, ClientOptions* out,
                                 std::string* err);

// Bounds for numeric options (checked by the parser).
inline constexpr double kMaxTimeoutS = 24 * 3600;
inline constexpr uint64_t kMaxDatagram = 65535;
inline constexpr uint64_t kDefaultDatagramFrame = 1200;
inline constexpr uint64_t kMaxDatagrams = 1'000'000;
inline constexpr size_t kMaxPaths = 16;
inline constexpr uint64_t kMigrateAfterBytes = 1 << 20;  // --migrate: bytes received first

std::string client_usage(const char* prog);

}  // namespace camp::hq
