// campctl: asks a running campd over its unix control socket. Exit status: 0 done, 1 campd
// unreachable or it answered an error, 2 usage error.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "control/ctl_socket.h"

#if __has_include("tools/campctl/mmf_cmd.h")
#include "tools/campctl/mmf_cmd.h"
#define CAMPCTL_HAS_MMF 1
#endif

namespace {

// campd answers within ~0.5 s (it waits that long at most for slow workers); allow for a busy host.
constexpr int kReplyTimeoutMs = 5000;

void usage(FILE* f) {
  std::fprintf(f,
               "usage: campctl [--socket PATH] COMMAND [ARGS...]\n"
               "\n"
               "Talks to a running campd over its control socket (default %s;\n"
               "the %s environment variable overrides it, --socket overrides both).\n"
               "\n"
               "commands (answered by campd):\n"
               "  status             version, pid, uptime, endpoint, UDP port, ports, workers,\n"
               "                     EAL arguments, total rx/tx/dropped\n"
               "  ports              every port: driver, MAC, addresses, queues, offloads, link\n"
               "                     and its counters\n"
               "  workers            every worker: lcore, queues, counters, current settings\n"
               "  stats [--json]     totals, per-worker counters, drops by reason, port counters\n"
               "  stats reset        zero every worker's counters\n"
               "  conns [--json]     every live connection, one line each: id, worker, role,\n"
               "                     state, remote address, smoothed RTT, cwnd, bytes and\n"
               "                     packets sent and received, packets lost, open streams,\n"
               "                     key generation, age\n"
               "  conn ID [--json]   every figure of one connection: all its counters, RTT\n"
               "                     (smoothed, min, latest, variation), cwnd, bytes in flight,\n"
               "                     pacing rate, congestion controller and state, PTO backoff,\n"
               "                     addresses, connection IDs, how it closed. ID is WORKER:N\n"
               "                     as conns lists it (connection numbers are per worker)\n"
               "  paths [ID] [--json]  every path of every multipath connection (or of\n"
               "                     connection ID): path ID, state, 4-tuple, our and the\n"
               "                     peer's status, smoothed RTT, cwnd, pacing rate, bytes and\n"
               "                     packets sent and received, packets lost, last ACK\n"
               "  path ID PATH_ID available|backup|abandon\n"
               "                     set our status of one path (PATH_STATUS_AVAILABLE /\n"
               "                     _BACKUP) or close it (PATH_ABANDON)\n"
               "  set KEY VALUE      change a setting on every worker, or log_level\n"
               "                     (campctl help lists the keys and their ranges), e.g.\n"
               "                     set scheduler minrtt|rr|redundant\n"
               "  stop               stop campd\n"
               "  help               campd's list of commands and keys\n"
#ifdef CAMPCTL_HAS_MMF
               "  mmf ...            MMF tools (campctl mmf --help); run here, not by campd\n"
#endif
               "\n"
               "options:\n"
               "  -s, --socket PATH  campd's control socket\n"
               "  -h, --help         this text\n"
               "\n"
               "exit status: 0 done; 1 campd could not be reached or answered an error;\n"
               "2 usage error.\n",
               camp::control::kDefaultSocketPath, camp::control::kSocketEnv);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = camp::control::kDefaultSocketPath;
  if (const char* env = std::getenv(camp::control::kSocketEnv); env && *env) socket_path = env;

  // campctl's own options come before the command; everything after belongs to the command.
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "-s" || a == "--socket") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "campctl: %s needs a path\n", argv[i]);
        return 2;
      }
      socket_path = argv[++i];
      continue;
    }
    if (a.starts_with("--socket=")) {
      socket_path = std::string(a.substr(9));
      continue;
    }
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "campctl: unknown option '%s' (try campctl --help)\n", argv[i]);
      return 2;
    }
    break;
  }
  if (i >= argc) {
    std::fprintf(stderr, "campctl: no command given (try campctl --help)\n");
    return 2;
  }
  if (socket_path.empty()) {
    std::fprintf(stderr, "campctl: the socket path is empty\n");
    return 2;
  }

  const std::string_view cmd = argv[i];
  if (cmd == "mmf") {
#ifdef CAMPCTL_HAS_MMF
    return camp::run_mmf_command(argc - i, argv + i);
#else
    std::fprintf(stderr, "campctl: this campctl was built without the mmf command\n");
    return 2;
#endif
  }
  if (cmd == "conn" && (argc - i < 2 || argc - i > 3)) {
    std::fprintf(stderr, "campctl: usage: campctl conn WORKER:ID [--json] (campctl conns lists "
                         "the ids)\n");
    return 2;
  }
  if (cmd == "path" && argc - i != 4) {
    std::fprintf(stderr, "campctl: usage: campctl path WORKER:ID PATH_ID available|backup|abandon "
                         "(campctl paths lists them)\n");
    return 2;
  }
  if (cmd == "set" && argc - i != 3) {
    std::fprintf(stderr, "campctl: usage: campctl set KEY VALUE (campctl help lists the keys)\n");
    return 2;
  }

  // The request is the words joined by single spaces, so a word may not hold spaces itself.
  std::string line;
  for (int j = i; j < argc; ++j) {
    const std::string_view w = argv[j];
    if (w.empty() || w.find_first_of(" \t\r\n") != std::string_view::npos) {
      std::fprintf(stderr, "campctl: argument '%s' is empty or holds whitespace\n", argv[j]);
      return 2;
    }
    if (!line.empty()) line += ' ';
    line += w;
  }
  if (line.size() > camp::control::kMaxRequestBytes) {
    std::fprintf(stderr, "campctl: the command is too long\n");
    return 2;
  }

  camp::control::CtlReply reply;
  std::string err;
  switch (camp::control::ctl_request(socket_path, line, kReplyTimeoutMs, &reply, &err)) {
    case camp::control::CtlStatus::unreachable:
      std::fprintf(stderr, "campctl: cannot reach campd at %s: %s (is campd running?)\n",
                   socket_path.c_str(), err.c_str());
      return 1;
    case camp::control::CtlStatus::failed:
      std::fprintf(stderr, "campctl: campd at %s did not answer properly: %s\n",
                   socket_path.c_str(), err.c_str());
      return 1;
    case camp::control::CtlStatus::ok:
      break;
  }
  const bool nl = !reply.body.empty() && reply.body.back() != '\n';
  if (!reply.ok) {
    std::fprintf(stderr, "campctl: %s%s", reply.body.c_str(), nl || reply.body.empty() ? "\n" : "");
    return 1;
  }
  std::fwrite(reply.body.data(), 1, reply.body.size(), stdout);
  if (nl) std::fputc('\n', stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
