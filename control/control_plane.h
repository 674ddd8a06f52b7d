// campd's control plane: one slow thread beside the workers. It answers campctl over a unix
// socket, serves rte_telemetry's /camp/* commands and the interactive prompt, and talks to each
// worker only through that worker's WorkerChannel (commands in, telemetry out). Workers never wait
// on it; it waits (briefly, on its own side) for workers to answer snapshot requests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "control/ctl_socket.h"
#include "dataplane/worker_channel.h"

namespace camp::control {

struct PortCounters {
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0, imissed = 0, ierrors = 0,
           oerrors = 0, rx_nombuf = 0;
  bool link_up = false;
  uint32_t link_speed_mbps = 0;
};

struct PortInfo {
  uint16_t port_id = 0;
  std::string name;
  std::string driver;
  std::string mac;
  std::vector<std::string> addresses;
  uint16_t rx_queues = 0, tx_queues = 0;
  bool rss = false, ip_cksum_offload = false, l4_cksum_offload = false;
};

struct WorkerInfo {
  uint32_t id = 0;
  unsigned lcore = 0;
  std::vector<std::pair<uint16_t, uint16_t>> queues;  // (port, queue)
};

struct EngineInfo {
  std::string version, endpoint /* "reflector" */, eal_args;
  uint16_t udp_port = 0;
  std::vector<PortInfo> ports;
  std::vector<WorkerInfo> workers;
  std::function<bool(uint16_t port_id, PortCounters&)> port_counters;  // may be empty (tests)
  std::function<void()> request_quit;                                  // may be empty
};

struct Response {
  bool ok = false;
  std::string text;  // the body, or the error message when !ok
};

// What the control side knows of every worker at one moment.
struct Sample {
  std::vector<WorkerTelemetry> workers;  // index = worker number (channel index)
  std::vector<uint8_t> stale;            // 1: this worker did not answer; numbers are older
  std::vector<double> age_s;  // for stale ones: seconds since their last report (-1: none)
};

// One connection of one worker. The id campctl shows is "WORKER:ID" (conn_id_text): connection
// ids are unique only within their worker.
struct ConnEntry {
  uint32_t worker = 0;
  ConnSummary s;
};

// The answer to a connection listing.
struct ConnListing {
  std::vector<ConnEntry> conns;  // by worker, then in each worker's order
  std::vector<uint8_t> asked;      // per worker: the request was queued to it
  std::vector<uint8_t> answered;   // and it answered within kAnswerWait
  std::vector<uint64_t> matched;   // connections that matched there (more than listed: cut)
};

class ControlPlane {
 public:
  // How long the control side waits for workers to answer a snapshot or confirm a setting.
  static constexpr std::chrono::milliseconds kAnswerWait{500};

  ControlPlane(EngineInfo info, std::vector<WorkerChannel*> channels);
  ~ControlPlane();  // stops
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Binds the unix socket (mode 0660; replaces a stale socket file, fails if another campd
  // answers on it), registers the rte_telemetry commands when asked, and spawns the control thread.
  bool start(const std::string& socket_path, bool register_telemetry, std::string* err);
  // Joins the thread, removes the socket file; idempotent.
  void stop();
  // The one dispatcher: the unix socket, the prompt and telemetry all use it; thread-safe.
  Response execute(std::string_view command_line);

  // Asks every worker for a snapshot and waits up to kAnswerWait; workers that do not answer
  // are given by their latest periodic telemetry and marked stale. Thread-safe.
  Sample sample();
  // Asks the workers (every one, or only `worker`) for summaries of their live connections (only
  // the one whose id is `only`, when not 0) and waits up to kAnswerWait. At most
  // ConnSnapshot::kCapacity per worker. Thread-safe.
  ConnListing connections(std::optional<uint32_t> worker = std::nullopt, uint64_t only = 0);
  // Drains every worker's telemetry queue, keeping the latest report of each. Thread-safe; the
  // control thread calls it on every turn so the queues never fill.
  void drain();

  const EngineInfo& info() const { return info_; }
  size_t worker_count() const { return channels_.size(); }
  double uptime_s() const;

 private:
  enum class Broadcast { snapshot, set, reset };
  struct Outcome {
    std::vector<uint8_t> queued;    // the worker's command queue took the command
    std::vector<uint8_t> answered;  // and the worker answered within kAnswerWait
  };
  // Sends one command to every worker (or only to `only`) and waits for the answers. Caller
  // holds exchange_mu_.
  Outcome broadcast(WorkerCommand cmd, std::optional<uint32_t> only = std::nullopt);
  void drain_locked();
  void run();
  void serve_one(int fd);

  Response help_response();
  Response settle(const Outcome& o, const std::string& what);
  Response cmd_status();
  Response cmd_ports();
  Response cmd_workers();
  Response cmd_stats(bool json);
  Response cmd_conns(bool json);
  Response cmd_conn(std::string_view id, bool json);
  std::optional<ConnListing> one_connection(std::string_view id, Response* err);
  Response cmd_paths(std::optional<std::string_view> id, bool json);
  Response cmd_path(std::string_view id, std::string_view path_id, std::string_view action);
  Response cmd_set(std::string_view key, std::string_view value);
  Response cmd_reset();
  Response cmd_stop();

  EngineInfo info_;
  std::vector<WorkerChannel*> channels_;
  const std::chrono::steady_clock::time_point started_;

  std::mutex exchange_mu_;  // one request/answer exchange with the workers at a time
  std::mutex queue_mu_;     // every access to the channels from this side, and what follows
  uint64_t next_seq_ = 0;
  uint64_t pending_seq_ = 0;
  std::vector<WorkerTelemetry> latest_;
  std::vector<uint8_t> have_latest_;
  std::vector<std::chrono::steady_clock::time_point> latest_at_;
  std::vector<WorkerTelemetry> answer_;
  std::vector<uint8_t> answered_;

  std::mutex life_mu_;  // start/stop
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int listen_fd_ = -1;
  std::string socket_path_;
  ino_t socket_inode_ = 0;
  bool telemetry_ = false;
};

// Totals, per-worker counters, drops by reason and port counters, as text or as JSON (the
// format campctl stats --json prints). Used for campctl stats and campd's final counters.
std::string format_stats(const std::vector<WorkerTelemetry>& per_worker, const EngineInfo& info,
                         bool json);

// campd -i: a "camp> " prompt on stdin/stdout (rte_cmdline) with the same commands plus help and
// quit. quit calls info.request_quit and returns; so does end of input (Ctrl-D), and the prompt
// also returns once `quit` becomes true.
void run_interactive(ControlPlane& cp, const std::atomic<bool>& quit);
// The same on any pair of file descriptors (no terminal set-up): for tests and other front ends.
void run_interactive(ControlPlane& cp, const std::atomic<bool>& quit, int in_fd, int out_fd);

}  // namespace camp::control
