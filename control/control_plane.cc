#include "control/control_plane.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "control/commands.h"
#include "control/conn_format.h"
#include "control/stats_format.h"
#include "control/telemetry_commands.h"

namespace camp::control {

using Clock = std::chrono::steady_clock;

namespace {

// How long the control thread sleeps in poll() between turns: short enough to notice stop and to
// keep the telemetry queues (64 entries, at most one push per 10 ms per worker) from filling.
constexpr int kTurnMs = 20;
// Bounds on one campctl connection, so a stuck client cannot hold the control thread.
constexpr int kRequestTimeoutMs = 1000;
constexpr int kReplyTimeoutMs = 2000;

std::string duration_text(double s) {
  const uint64_t t = static_cast<uint64_t>(s);
  char buf[64];
  if (t >= 86400)
    std::snprintf(buf, sizeof buf, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m", t / 86400,
                  t / 3600 % 24, t / 60 % 60);
  else if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", t / 3600,
                  t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
  return buf;
}

std::string queues_text(const EngineInfo& info, size_t w) {
  std::string out;
  for (const auto& wi : info.workers) {
    if (wi.id != w) continue;
    for (const auto& [port, queue] : wi.queues) {
      if (!out.empty()) out += ' ';
      out += std::to_string(port) + ':' + std::to_string(queue);
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace

ControlPlane::ControlPlane(EngineInfo info, std::vector<WorkerChannel*> channels)
    : info_(std::move(info)),
      channels_(std::move(channels)),
      started_(Clock::now()),
      latest_(channels_.size()),
      have_latest_(channels_.size(), 0),
      latest_at_(channels_.size()),
      answer_(channels_.size()),
      answered_(channels_.size(), 0) {
  for (size_t w = 0; w < channels_.size(); ++w) latest_[w].worker = static_cast<uint32_t>(w);
}

ControlPlane::~ControlPlane() { stop(); }

double ControlPlane::uptime_s() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

bool ControlPlane::start(const std::string& socket_path, bool register_telemetry,
                         std::string* err) {
  std::lock_guard<std::mutex> lk(life_mu_);
  if (thread_.joinable()) {
    *err = "the control plane is already running";
    return false;
  }
  int fd = -1;
  ino_t inode = 0;
  if (!listen_unix(socket_path, &fd, &inode, err)) return false;
  if (register_telemetry && !telemetry_attach(this, err)) {
    close(fd);
    remove_socket_file(socket_path, inode);
    return false;
  }
  telemetry_ = register_telemetry;
  listen_fd_ = fd;
  socket_path_ = socket_path;
  socket_inode_ = inode;
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
  return true;
}

void ControlPlane::stop() {
  std::lock_guard<std::mutex> lk(life_mu_);
  if (telemetry_) {
    telemetry_detach(this);  // waits for a /camp/* call in progress
    telemetry_ = false;
  }
  if (thread_.joinable()) {
    stopping_.store(true);
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    remove_socket_file(socket_path_, socket_inode_);
  }
}

void ControlPlane::run() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd p{listen_fd_, POLLIN, 0};
    const int r = poll(&p, 1, kTurnMs);
    if (r > 0 && (p.revents & POLLIN)) {
      // One request per connection; take every connection that is waiting.
      for (;;) {
        const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        serve_one(c);
        close(c);
        drain();
      }
    }
    drain();
  }
}

void ControlPlane::serve_one(int fd) {
  std::string line, err;
  if (!read_request(fd, kRequestTimeoutMs, &line, &err)) {
    write_reply(fd, false, err, kReplyTimeoutMs);
    return;
  }
  const Response r = execute(line);
  write_reply(fd, r.ok, r.text, kReplyTimeoutMs);
}

void ControlPlane::drain() {
  std::lock_guard<std::mutex> lk(queue_mu_);
  drain_locked();
}

void ControlPlane::drain_locked() {
  const auto now = Clock::now();
  for (size_t w = 0; w < channels_.size(); ++w) {
    WorkerTelemetry t;
    while (channels_[w]->telemetry.pop(t)) {
      t.worker = static_cast<uint32_t>(w);
      latest_[w] = t;
      have_latest_[w] = 1;
      latest_at_[w] = now;
      if (pending_seq_ != 0 && t.seq == pending_seq_) {
        answer_[w] = t;
        answered_[w] = 1;
      }
    }
  }
}

ControlPlane::Outcome ControlPlane::broadcast(WorkerCommand cmd, std::optional<uint32_t> only) {
  const size_t n = channels_.size();
  Outcome o{std::vector<uint8_t>(n, 0), std::vector<uint8_t>(n, 0)};
  size_t waiting = 0;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    drain_locked();  // older answers must not be taken for this one
    cmd.seq = ++next_seq_;
    pending_seq_ = cmd.seq;
    for (size_t w = 0; w < n; ++w) {
      answered_[w] = 0;
      if (only && *only != w) continue;
      o.queued[w] = channels_[w]->commands.push(cmd);
      waiting += o.queued[w];
    }
  }
  const auto deadline = Clock::now() + kAnswerWait;
  for (;;) {
    size_t got = 0;
    {
      std::lock_guard<std::mutex> lk(queue_mu_);
      drain_locked();
      for (size_t w = 0; w < n; ++w) got += answered_[w];
      if (got == waiting || Clock::now() >= deadline) {
        o.answered = answered_;
        pending_seq_ = 0;
        break;
      }
    }
    // Workers answer between bursts, typically within microseconds; poll the queues gently.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return o;
}

Sample ControlPlane::sample() {
  std::lock_guard<std::mutex> ex(exchange_mu_);
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::snapshot;
  const Outcome o = broadcast(cmd);
  Sample s;
  const size_t n = channels_.size();
  s.workers.resize(n);
  s.stale.assign(n, 0);
  s.age_s.assign(n, 0);
  std::lock_guard<std::mutex> lk(queue_mu_);
  const auto now = Clock::now();
  for (size_t w = 0; w < n; ++w) {
    if (o.answered[w]) {
      s.workers[w] = answer_[w];
      continue;
    }
    s.workers[w] = latest_[w];
    s.stale[w] = 1;
    s.age_s[w] = have_latest_[w] ? std::chrono::duration<double>(now - latest_at_[w]).count() : -1;
  }
  return s;
}

ConnListing ControlPlane::connections(std::optional<uint32_t> worker, uint64_t only) {
  std::lock_guard<std::mutex> ex(exchange_mu_);
  const size_t n = channels_.size();
  ConnListing l;
  l.asked.assign(n, 0);
  l.answered.assign(n, 0);
  l.matched.assign(n, 0);
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::conns;
  cmd.value = only;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    drain_locked();
    cmd.seq = ++next_seq_;
    for (size_t w = 0; w < n; ++w)
      if (!worker || *worker == w) l.asked[w] = channels_[w]->commands.push(cmd);
  }
  // Each worker publishes its snapshot's seq once the records are written; exchange_mu_ keeps the
  // next conns command from being queued before we are done reading them.
  const auto deadline = Clock::now() + kAnswerWait;
  for (;;) {
    size_t waiting = 0;
    for (size_t w = 0; w < n; ++w) {
      if (!l.asked[w] || l.answered[w]) continue;
      const ConnSnapshot& cs = channels_[w]->conns;
      if (cs.seq.load(std::memory_order_acquire) != cmd.seq) {
        ++waiting;
        continue;
      }
      l.answered[w] = 1;
      l.matched[w] = cs.matched;
      const uint32_t count = std::min<uint32_t>(cs.count, ConnSnapshot::kCapacity);
      for (uint32_t i = 0; i < count; ++i)
        l.conns.push_back(ConnEntry{static_cast<uint32_t>(w), cs.records[i]});
    }
    if (waiting == 0 || Clock::now() >= deadline) break;
    {
      // The answer also comes as a telemetry report; keep those queues from filling meanwhile.
      std::lock_guard<std::mutex> lk(queue_mu_);
      drain_locked();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // Workers in order, as the text and JSON list them.
  std::stable_sort(l.conns.begin(), l.conns.end(),
                   [](const ConnEntry& a, const ConnEntry& b) { return a.worker < b.worker; });
  return l;
}

Response ControlPlane::execute(std::string_view command_line) {
  std::vector<std::string_view> args = split_words(command_line);
  if (args.empty()) return {false, "empty command (try: help)"};
  const std::string_view cmd = args[0];
  const size_t extra = args.size() - 1;
  auto no_args = [&](Response (ControlPlane::*f)()) -> Response {
    if (extra) return {false, std::string(cmd) + " takes no arguments"};
    return (this->*f)();
  };
  if (cmd == "help") return no_args(&ControlPlane::help_response);
  if (cmd == "status") return no_args(&ControlPlane::cmd_status);
  if (cmd == "ports") return no_args(&ControlPlane::cmd_ports);
  if (cmd == "workers") return no_args(&ControlPlane::cmd_workers);
  if (cmd == "stop") return no_args(&ControlPlane::cmd_stop);
  if (cmd == "stats") {
    if (extra == 0) return cmd_stats(false);
    if (extra == 1 && args[1] == "--json") return cmd_stats(true);
    if (extra == 1 && args[1] == "reset") return cmd_reset();
    return {false, "usage: stats [--json] | stats reset"};
  }
  if (cmd == "conns") {
    if (extra == 0) return cmd_conns(false);
    if (extra == 1 && args[1] == "--json") return cmd_conns(true);
    return {false, "usage: conns [--json]"};
  }
  if (cmd == "conn") {
    if (extra == 1 && args[1] != "--json") return cmd_conn(args[1], false);
    if (extra == 2 && args[2] == "--json" && args[1] != "--json") return cmd_conn(args[1], true);
    if (extra == 2 && args[1] == "--json" && args[2] != "--json") return cmd_conn(args[2], true);
    return {false, "usage: conn WORKER:ID [--json] (campctl conns lists the ids)"};
  }
  if (cmd == "paths") {
    if (extra == 0) return cmd_paths(std::nullopt, false);
    if (extra == 1 && args[1] == "--json") return cmd_paths(std::nullopt, true);
    if (extra == 1) return cmd_paths(args[1], false);
    if (extra == 2 && args[2] == "--json" && args[1] != "--json") return cmd_paths(args[1], true);
    if (extra == 2 && args[1] == "--json" && args[2] != "--json") return cmd_paths(args[2], true);
    return {false, "usage: paths [WORKER:ID] [--json]"};
  }
  if (cmd == "path") {
    if (extra != 3)
      return {false, "usage: path WORKER:ID PATH_ID available|backup|abandon"};
    return cmd_path(args[1], args[2], args[3]);
  }
  if (cmd == "set") {
    if (extra != 2) return {false, "usage: set KEY VALUE (keys: " + known_keys() + ")"};
    return cmd_set(args[1], args[2]);
  }
  return {false, "unknown command '" + std::string(cmd) + "' (known: " + known_commands() + ")"};
}

Response ControlPlane::help_response() { return {true, help_text()}; }

Response ControlPlane::cmd_status() {
  const Sample s = sample();
  const WorkerStats t = total_of(s.workers);
  char buf[256];
  std::string out = "campd " + info_.version + ", pid " + std::to_string(getpid()) + ", up " +
                    duration_text(uptime_s()) + '\n';
  out += "endpoint:  " + (info_.endpoint.empty() ? std::string("none") : info_.endpoint) +
         " on UDP port " + std::to_string(info_.udp_port) + '\n';
  out += "ports:     " + std::to_string(info_.ports.size()) + '\n';
  out += "workers:   " + std::to_string(channels_.size()) + '\n';
  out += "EAL args:  " + (info_.eal_args.empty() ? std::string("(none)") : info_.eal_args) + '\n';
  out += "log level: " + std::string(log_level_name(current_log_level())) + '\n';
  std::snprintf(buf, sizeof buf,
                "totals:    rx %" PRIu64 " packets, tx %" PRIu64 " packets, dropped %" PRIu64 "\n",
                t.rx_packets, t.tx_packets, t.dropped());
  out += buf;
  out += stale_note(s.stale, s.age_s);
  return {true, out};
}

Response ControlPlane::cmd_ports() {
  std::string out;
  char buf[512];
  if (info_.ports.empty()) out = "no ports\n";
  for (const PortInfo& p : info_.ports) {
    PortCounters c;
    const bool have = port_counters(info_, p.port_id, &c);
    out += "port " + std::to_string(p.port_id) + ' ' + p.name + " (" + p.driver + "), mac " +
           p.mac + ", link " +
           (have ? (c.link_up ? "up " + std::to_string(c.link_speed_mbps) + " Mb/s" : "down")
                 : "unknown") +
           '\n';
    out += "  addresses: ";
    for (size_t i = 0; i < p.addresses.size(); ++i) out += (i ? " " : "") + p.addresses[i];
    if (p.addresses.empty()) out += "none";
    out += '\n';
    std::snprintf(buf, sizeof buf,
                  "  queues: rx %u, tx %u; rss %s; offloads: ipv4 checksum %s, l4 checksum %s\n",
                  p.rx_queues, p.tx_queues, p.rss ? "on" : "off", p.ip_cksum_offload ? "on" : "off",
                  p.l4_cksum_offload ? "on" : "off");
    out += buf;
    if (have) {
      std::snprintf(
          buf, sizeof buf,
          "  counters: ipackets %" PRIu64 " opackets %" PRIu64 " ibytes %" PRIu64 " obytes %" PRIu64
          " imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64 " rx_nombuf %" PRIu64 "\n",
          c.ipackets, c.opackets, c.ibytes, c.obytes, c.imissed, c.ierrors, c.oerrors, c.rx_nombuf);
      out += buf;
    } else {
      out += "  counters: not available\n";
    }
  }
  return {true, out};
}

Response ControlPlane::cmd_workers() {
  const Sample s = sample();
  std::string out;
  char buf[512];
  if (s.workers.empty()) out = "no workers\n";
  for (size_t w = 0; w < s.workers.size(); ++w) {
    const WorkerStats& st = s.workers[w].stats;
    std::snprintf(buf, sizeof buf,
                  "worker %zu lcore %ld queues %s%s\n"
                  "  rx %" PRIu64 " packets, tx %" PRIu64 " packets, dropped %" PRIu64
                  ", polls %" PRIu64 ", idle polls %" PRIu64 ", sleeps %" PRIu64
                  ", commands %" PRIu64 "\n",
                  w, lcore_of(info_, w), queues_text(info_, w).c_str(),
                  s.stale[w] ? " [stale]" : "", st.rx_packets, st.tx_packets, st.dropped(),
                  st.polls, st.idle_polls, st.sleeps, st.commands);
    out += buf;
    out += "  settings: " + settings_text(s.workers[w].settings) + '\n';
  }
  out += stale_note(s.stale, s.age_s);
  return {true, out};
}

Response ControlPlane::cmd_stats(bool json) {
  const Sample s = sample();
  if (json) return {true, stats_json(s.workers, s.stale, info_) + '\n'};
  return {true, stats_text(s.workers, s.stale, s.age_s, info_)};
}

Response ControlPlane::cmd_conns(bool json) {
  const ConnListing l = connections();
  return {true, json ? conns_json(l) + '\n' : conns_text(l)};
}

// One connection by its WORKER:ID: found, or an error saying why not.
std::optional<ConnListing> ControlPlane::one_connection(std::string_view id, Response* err) {
  uint32_t worker = 0;
  uint64_t conn = 0;
  std::string why;
  if (!parse_conn_id(id, &worker, &conn, &why)) return *err = {false, why}, std::nullopt;
  if (worker >= channels_.size())
    return *err = {false, "no connection " + std::string(id) + ": there is no worker " +
                              std::to_string(worker) + " (campd has " +
                              std::to_string(channels_.size()) + ")"},
           std::nullopt;
  ConnListing l = connections(worker, conn);
  if (!l.asked[worker])
    return *err = {false, "the command queue of worker " + std::to_string(worker) +
                              " is full (is it running?)"},
           std::nullopt;
  if (!l.answered[worker])
    return *err = {false, "worker " + std::to_string(worker) + " did not answer in time"},
           std::nullopt;
  if (l.conns.empty())
    return *err = {false, "no connection " + std::string(id) +
                              " (campctl conns lists the live ones)"},
           std::nullopt;
  return l;
}

Response ControlPlane::cmd_conn(std::string_view id, bool json) {
  Response err;
  const auto l = one_connection(id, &err);
  if (!l) return err;
  return {true, json ? conn_json(l->conns.front()) + '\n' : conn_text(l->conns.front())};
}

Response ControlPlane::cmd_paths(std::optional<std::string_view> id, bool json) {
  Response err;
  std::optional<ConnListing> l;
  if (id) {
    l = one_connection(*id, &err);
    if (!l) return err;
  } else {
    l = connections();
  }
  return {true, json ? paths_json(*l) + '\n' : paths_text(*l)};
}

Response ControlPlane::cmd_path(std::string_view id, std::string_view path_id,
                                std::string_view action) {
  uint32_t worker = 0;
  uint64_t conn = 0;
  std::string why;
  if (!parse_conn_id(id, &worker, &conn, &why)) return {false, why};
  if (worker >= channels_.size())
    return {false, "no connection " + std::string(id) + ": there is no worker " +
                       std::to_string(worker) + " (campd has " +
                       std::to_string(channels_.size()) + ")"};
  uint32_t pid = 0;
  const char* end = path_id.data() + path_id.size();
  const auto [p, ec] = std::from_chars(path_id.data(), end, pid, 10);
  if (path_id.empty() || ec != std::errc() || p != end)
    return {false, "bad path ID '" + printable(path_id) +
                       "' (want a number as campctl paths lists it)"};
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::path;
  if (action == "available") cmd.action = PathAction::available;
  else if (action == "backup") cmd.action = PathAction::backup;
  else if (action == "abandon") cmd.action = PathAction::abandon;
  else
    return {false, "unknown path action '" + printable(action) +
                       "' (known: available, backup, abandon)"};
  cmd.value = conn;
  cmd.path_id = pid;
  std::lock_guard<std::mutex> ex(exchange_mu_);
  const Outcome o = broadcast(cmd, worker);
  const std::string what = "path " + std::to_string(pid) + " of " + std::string(id);
  if (!o.queued[worker])
    return {false, what + ": the command queue of worker " + std::to_string(worker) +
                       " is full (is it running?)"};
  if (!o.answered[worker])
    return {false, what + ": worker " + std::to_string(worker) +
                       " did not answer in time (the command is queued and may still apply)"};
  PathCommandStatus status;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    status = answer_[worker].status;
  }
  if (status != PathCommandStatus::ok)
    return {false, what + ": " + std::string(action) + " refused: " + to_string(status)};
  if (cmd.action == PathAction::abandon) return {true, what + ": abandoned (PATH_ABANDON sent)\n"};
  return {true, what + ": " + std::string(action) + " (PATH_STATUS_" +
                    (cmd.action == PathAction::available ? "AVAILABLE" : "BACKUP") + " sent)\n"};
}

Response ControlPlane::cmd_set(std::string_view key, std::string_view value) {
  if (key == kLogLevelKey) {
    uint32_t level = 0;
    std::string err;
    if (!parse_log_level(value, &level, &err)) return {false, err};
    set_log_level(level);
    return {true, "log_level = " + std::string(log_level_name(level)) + '\n'};
  }
  const auto k = worker_key_by_name(key);
  if (!k) return {false, "unknown key '" + std::string(key) + "' (known: " + known_keys() + ")"};
  uint64_t v = 0;
  std::string err;
  if (!parse_worker_value(worker_key_info(*k), key, value, &v, &err)) return {false, err};

  std::lock_guard<std::mutex> ex(exchange_mu_);
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::set;
  cmd.key = *k;
  cmd.value = v;
  const Outcome o = broadcast(cmd);
  return settle(o, std::string(key) + " = " + worker_value_text(worker_key_info(*k), v));
}

Response ControlPlane::cmd_reset() {
  std::lock_guard<std::mutex> ex(exchange_mu_);
  WorkerCommand cmd;
  cmd.op = WorkerCommand::Op::reset_stats;
  const Outcome o = broadcast(cmd);
  return settle(o, "counters reset");
}

// Words for the outcome of a broadcast: who applied it, who will, and who could not take it.
Response ControlPlane::settle(const Outcome& o, const std::string& what) {
  std::string late, refused;
  size_t applied = 0;
  for (size_t w = 0; w < o.queued.size(); ++w) {
    if (!o.queued[w])
      refused += (refused.empty() ? "" : ", ") + std::to_string(w);
    else if (!o.answered[w])
      late += (late.empty() ? "" : ", ") + std::to_string(w);
    else
      ++applied;
  }
  if (!refused.empty())
    return {false, what + ": the command queue of worker(s) " + refused +
                       " is full (are they running?); applied on " + std::to_string(applied) +
                       " of " + std::to_string(o.queued.size()) + " worker(s)"};
  std::string out = what + " on " + std::to_string(applied) + " of " +
                    std::to_string(o.queued.size()) + " worker(s)\n";
  if (!late.empty())
    out += "note: worker(s) " + late +
           " did not confirm in time; queued, applied at their next poll\n";
  return {true, out};
}

Response ControlPlane::cmd_stop() {
  if (!info_.request_quit) return {false, "this engine cannot be stopped from the control plane"};
  info_.request_quit();
  return {true, "campd is stopping\n"};
}

}  // namespace camp::control
