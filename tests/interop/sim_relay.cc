// sim_relay: a UDP relay that puts the network simulator's link models (drivers/sim/link.h) between
// two real processes, on the wall clock. Clients send to --listen; each client address gets its
// own upstream socket connected to --to, so the server sees one 4-tuple per client. Each direction
// (up: client -> server, down: server -> client) has its own LinkModel, seeded from --seed, and
// the same decisions per packet as the simulator: loss (Bernoulli and Gilbert-Elliott), delay and
// jitter (FIFO unless --jitter-reorders), reordering (held back by --reorder-ms), duplication,
// and an optional rate limit (serialisation behind the previous packet).
//
// Memory is fixed at start: a pool of --pool packets (default 4096) and a heap of their departure
// times; a packet that finds the pool empty is dropped and counted (dropped_queue_full). Counters
// are printed, and written as JSON to --stats FILE, on SIGTERM / SIGINT or after --duration.
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drivers/sim/link.h"

namespace {

using camp::sim::LinkConfig;
using camp::sim::LinkCounters;
using camp::sim::LinkModel;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "sim_relay: %s\n", why);
  std::fprintf(stderr,
      "usage: sim_relay --listen [ADDR:]PORT --to [ADDR:]PORT [link options] [--seed N]\n"
      "                 [--stats FILE] [--duration SEC] [--pool N]\n"
      "link options (both directions; ADDR defaults to 127.0.0.1):\n"
      "  --delay-ms MS        one-way propagation delay\n"
      "  --jitter-ms MS       uniform jitter bound (+-MS, total delay stays >= 0)\n"
      "  --jitter-reorders    let jitter reorder packets (default: FIFO)\n"
      "  --loss P             Bernoulli loss probability\n"
      "  --burst-p P --burst-r R   Gilbert-Elliott burst loss (good->bad P, bad->good R)\n"
      "  --reorder P          probability a packet is held back by --reorder-ms\n"
      "  --reorder-ms MS      hold-back of a reordered packet\n"
      "  --duplicate P        probability a second copy is delivered\n"
      "  --rate-mbps R        serialisation rate (0: unlimited)\n");
  std::exit(2);
}

double parse_double(const char* opt, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || errno != 0 || *end != '\0' || !std::isfinite(d) || d < 0) {
    usage((std::string(opt) + ": '" + v + "' is not a non-negative number").c_str());
  }
  return d;
}

uint64_t ms_to_ns(const char* opt, const std::string& v) {
  const double ms = parse_double(opt, v);
  if (ms > 3600e3) usage((std::string(opt) + ": at most one hour").c_str());
  return static_cast<uint64_t>(std::llround(ms * 1e6));
}

// "[ADDR:]PORT" or "[V6]:PORT"; ADDR defaults to 127.0.0.1.
sockaddr_storage parse_addr(const char* opt, const std::string& v, socklen_t* len) {
  std::string host = "127.0.0.1", port = v;
  if (!v.empty() && v[0] == '[') {
    const size_t e = v.find("]:");
    if (e == std::string::npos) usage((std::string(opt) + ": expected [V6]:PORT").c_str());
    host = v.substr(1, e - 1);
    port = v.substr(e + 2);
  } else if (const size_t c = v.rfind(':'); c != std::string::npos) {
    host = v.substr(0, c);
    port = v.substr(c + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    usage((std::string(opt) + ": '" + v + "' is not ADDR:PORT").c_str());
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return ss;
}

std::string format_addr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  std::string s = "[";  // appended piecewise: GCC 12 warns falsely on "[" + std::string(...)
  s += host;
  s += "]:";
  s += std::to_string(port);
  return s;
}

bool same_addr(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
  const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
  return x->sin6_port == y->sin6_port &&
         std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

int udp_socket(int family) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "sim_relay: socket: %s\n", std::strerror(errno));
    std::exit(1);
  }
  int sz = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  return fd;
}

constexpr size_t kMaxPacket = 2048;  // QUIC stays far below; larger datagrams are counted, dropped
constexpr size_t kMaxFlows = 64;

enum Dir : uint8_t { kUp = 0, kDown = 1 };

struct Flow {
  sockaddr_storage client{};
  socklen_t client_len = 0;
  int up_fd = -1;  // connected to the server
  uint64_t last_active = 0;
  uint32_t generation = 0;  // bumped when the slot is given to another client
};

struct Packet {
  uint16_t len = 0;
  uint8_t dir = kUp;
  uint16_t flow = 0;
  uint32_t generation = 0;  // of its flow when it entered: stale packets are not delivered
  uint8_t data[kMaxPacket];
};

struct Departure {
  uint64_t at;
  uint64_t seq;  // ties leave in arrival order
  uint32_t slot;
  bool operator>(const Departure& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

struct Direction {
  explicit Direction(const LinkConfig& c, uint64_t seed, uint64_t stream) : model(c, seed, stream) {}
  LinkModel model;
  LinkCounters counters;
  uint64_t wire_free = 0;     // rate limit: when the previous packet is fully serialised
  uint64_t last_arrival = 0;  // FIFO floor for jittered packets
  uint64_t dropped_too_big = 0;
  uint64_t send_errors = 0;
};

class Relay {
 public:
  Relay(const LinkConfig& cfg, uint64_t seed, size_t pool, const sockaddr_storage& listen,
        socklen_t listen_len, const sockaddr_storage& to, socklen_t to_len)
      : dirs_{Direction(cfg, seed, kUp), Direction(cfg, seed, kDown)},
        packets_(pool),
        to_(to),
        to_len_(to_len) {
    free_.reserve(pool);
    for (size_t i = pool; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
    heap_.reserve(pool);
    flows_.reserve(kMaxFlows);
    listen_fd_ = udp_socket(listen.ss_family);
    if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&listen), listen_len) != 0) {
      std::fprintf(stderr, "sim_relay: bind %s: %s\n", format_addr(listen).c_str(),
                   std::strerror(errno));
      std::exit(1);
    }
    sockaddr_storage bound{};
    socklen_t bl = sizeof bound;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bl);
    listen_name_ = format_addr(bound);
  }
  ~Relay() {
    ::close(listen_fd_);
    for (Flow& f : flows_) ::close(f.up_fd);
  }

  const std::string& listen_name() const { return listen_name_; }

  void run(uint64_t deadline) {
    std::vector<pollfd> pfd;
    pfd.reserve(kMaxFlows + 1);
    while (!g_stop) {
      const uint64_t now = now_ns();
      if (now >= deadline) break;
      uint64_t wake = deadline;
      if (!heap_.empty()) wake = std::min(wake, heap_.front().at);
      // poll() counts milliseconds: round up so a departure is never early, at most 1 ms late.
      const int timeout = wake <= now ? 0 : static_cast<int>(std::min<uint64_t>(
                                                (wake - now + 999'999) / 1'000'000, 100));
      pfd.clear();
      pfd.push_back({listen_fd_, POLLIN, 0});
      for (const Flow& f : flows_) pfd.push_back({f.up_fd, POLLIN, 0});
      if (poll(pfd.data(), pfd.size(), timeout) < 0 && errno != EINTR) {
        std::fprintf(stderr, "sim_relay: poll: %s\n", std::strerror(errno));
        break;
      }
      if (pfd[0].revents & POLLIN) receive_from_clients();
      for (size_t i = 1; i < pfd.size(); ++i) {
        if (pfd[i].revents & POLLIN) receive_from_server(static_cast<uint16_t>(i - 1));
      }
      deliver_due(now_ns());
    }
  }

  std::string stats_json() const {
    std::string s = "{\"listen\": \"" + listen_name_ + "\", \"flows\": " +
                    std::to_string(flows_.size()) + ", \"pool_free\": " +
                    std::to_string(free_.size()) + ", \"pool_peak_used\": " +
                    std::to_string(peak_used_);
    const char* names[2] = {"up", "down"};
    uint64_t total[4] = {};
    for (int d = 0; d < 2; ++d) {
      const Direction& x = dirs_[d];
      const LinkCounters& c = x.counters;
      s += ", \"" + std::string(names[d]) + "\": {";
      s += "\"received\": " + std::to_string(c.sent);
      s += ", \"received_bytes\": " + std::to_string(c.sent_bytes);
      s += ", \"forwarded\": " + std::to_string(c.delivered);
      s += ", \"forwarded_bytes\": " + std::to_string(c.delivered_bytes);
      s += ", \"dropped_loss\": " + std::to_string(c.dropped_loss);
      s += ", \"dropped_burst_loss\": " + std::to_string(c.dropped_burst_loss);
      s += ", \"dropped_pool_full\": " + std::to_string(c.dropped_queue_full);
      s += ", \"dropped_too_big\": " + std::to_string(x.dropped_too_big);
      s += ", \"reordered\": " + std::to_string(c.reordered);
      s += ", \"duplicated\": " + std::to_string(c.duplicated);
      s += ", \"send_errors\": " + std::to_string(x.send_errors) + "}";
      total[0] += c.delivered;
      total[1] += c.dropped_loss + c.dropped_burst_loss;
      total[2] += c.reordered;
      total[3] += c.dropped_queue_full + x.dropped_too_big;
    }
    s += ", \"forwarded\": " + std::to_string(total[0]) + ", \"dropped_loss\": " +
         std::to_string(total[1]) + ", \"reordered\": " + std::to_string(total[2]) +
         ", \"dropped_other\": " + std::to_string(total[3]) + "}";
    return s;
  }

 private:
  // The flow of a client address, opening its upstream socket on first sight. When the table is
  // full the longest idle flow is replaced (its client would start a new one anyway).
  int flow_of(const sockaddr_storage& from, socklen_t len, uint64_t now) {
    for (size_t i = 0; i < flows_.size(); ++i) {
      if (same_addr(flows_[i].client, from)) {
        flows_[i].last_active = now;
        return static_cast<int>(i);
      }
    }
    size_t i = flows_.size();
    if (i == kMaxFlows) {
      i = 0;
      for (size_t k = 1; k < flows_.size(); ++k) {
        if (flows_[k].last_active < flows_[i].last_active) i = k;
      }
      ::close(flows_[i].up_fd);
    } else {
      flows_.emplace_back();
    }
    Flow& f = flows_[i];
    ++f.generation;
    f.client = from;
    f.client_len = len;
    f.last_active = now;
    f.up_fd = udp_socket(to_.ss_family);
    if (connect(f.up_fd, reinterpret_cast<const sockaddr*>(&to_), to_len_) != 0) {
      std::fprintf(stderr, "sim_relay: connect %s: %s\n", format_addr(to_).c_str(),
                   std::strerror(errno));
      std::exit(1);
    }
    return static_cast<int>(i);
  }

  void receive_from_clients() {
    for (int burst = 0; burst < 256; ++burst) {
      uint8_t* buf = scratch_;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      const ssize_t n = recvfrom(listen_fd_, buf, sizeof scratch_, MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) return;
      const uint64_t now = now_ns();
      const int flow = flow_of(from, fl, now);
      offer(kUp, static_cast<uint16_t>(flow), buf, static_cast<size_t>(n), now);
    }
  }

  void receive_from_server(uint16_t flow) {
    for (int burst = 0; burst < 256; ++burst) {
      const ssize_t n = recv(flows_[flow].up_fd, scratch_, sizeof scratch_, MSG_TRUNC);
      if (n < 0) return;
      offer(kDown, flow, scratch_, static_cast<size_t>(n), now_ns());
    }
  }

  // One datagram enters a direction's link: the simulator's per-packet decisions, in its order.
  void offer(Dir d, uint16_t flow, const uint8_t* data, size_t len, uint64_t now) {
    Direction& x = dirs_[d];
    LinkModel& m = x.model;
    ++x.counters.sent;
    x.counters.sent_bytes += len;
    if (len > kMaxPacket) {
      ++x.dropped_too_big;
      return;
    }
    // Serialisation behind the packet before it (no RNG draw: the decision stream is unchanged).
    uint64_t t = now;
    if (m.config().rate_bps != 0) {
      x.wire_free = std::max(x.wire_free, now) + m.serialisation_ns(static_cast<uint32_t>(len));
      t = x.wire_free;
    }
    switch (m.loss_fate()) {
      case LinkModel::Fate::loss: ++x.counters.dropped_loss; return;
      case LinkModel::Fate::burst_loss: ++x.counters.dropped_burst_loss; return;
      case LinkModel::Fate::pass: break;
    }
    uint64_t arrival = t + m.sample_delay();
    if (m.sample_reorder()) {
      // Held back past its successors, without raising the FIFO floor, so they overtake it.
      arrival += m.config().reorder_delay_ns;
      ++x.counters.reordered;
    } else if (!m.config().jitter_reorders) {
      arrival = std::max(arrival, x.last_arrival);
      x.last_arrival = arrival;
    }
    const bool dup = m.sample_duplicate();
    if (!schedule(d, flow, data, len, arrival)) return;
    if (dup && schedule(d, flow, data, len, arrival)) ++x.counters.duplicated;
  }

  bool schedule(Dir d, uint16_t flow, const uint8_t* data, size_t len, uint64_t at) {
    if (free_.empty()) {
      ++dirs_[d].counters.dropped_queue_full;
      return false;
    }
    const uint32_t slot = free_.back();
    free_.pop_back();
    peak_used_ = std::max<uint64_t>(peak_used_, packets_.size() - free_.size());
    Packet& p = packets_[slot];
    p.len = static_cast<uint16_t>(len);
    p.dir = d;
    p.flow = flow;
    p.generation = flows_[flow].generation;
    std::memcpy(p.data, data, len);
    heap_.push_back({at, seq_++, slot});
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    return true;
  }

  void deliver_due(uint64_t now) {
    while (!heap_.empty() && heap_.front().at <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
      const uint32_t slot = heap_.back().slot;
      heap_.pop_back();
      const Packet& p = packets_[slot];
      Direction& x = dirs_[p.dir];
      ssize_t n;
      if (flows_[p.flow].generation != p.generation) {
        n = -1;  // its flow was given to another client meanwhile
      } else if (p.dir == kUp) {
        n = send(flows_[p.flow].up_fd, p.data, p.len, 0);
      } else {
        const Flow& f = flows_[p.flow];
        n = sendto(listen_fd_, p.data, p.len, 0, reinterpret_cast<const sockaddr*>(&f.client),
                   f.client_len);
      }
      if (n == static_cast<ssize_t>(p.len)) {
        ++x.counters.delivered;
        x.counters.delivered_bytes += p.len;
      } else {
        ++x.send_errors;  // e.g. the server's port is closed (ECONNREFUSED): it is loss too
      }
      free_.push_back(slot);
    }
  }

  Direction dirs_[2];
  std::vector<Packet> packets_;
  std::vector<uint32_t> free_;
  std::vector<Departure> heap_;  // min-heap on (at, seq)
  std::vector<Flow> flows_;
  uint64_t seq_ = 0;
  uint64_t peak_used_ = 0;
  int listen_fd_ = -1;
  std::string listen_name_;
  sockaddr_storage to_;
  socklen_t to_len_;
  uint8_t scratch_[65536];
};

}  // namespace

int main(int argc, char** argv) {
  LinkConfig cfg;
  std::string listen, to, stats_file;
  uint64_t seed = 1;
  double duration_s = 3600;
  size_t pool = 4096;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + ": missing value").c_str());
      return argv[++i];
    };
    if (a == "-h" || a == "--help") usage(nullptr);
    else if (a == "--listen") listen = value();
    else if (a == "--to") to = value();
    else if (a == "--delay-ms") cfg.delay_ns = ms_to_ns("--delay-ms", value());
    else if (a == "--jitter-ms") cfg.jitter_ns = ms_to_ns("--jitter-ms", value());
    else if (a == "--jitter-reorders") cfg.jitter_reorders = true;
    else if (a == "--loss") cfg.loss = parse_double("--loss", value());
    else if (a == "--burst-p") cfg.burst_loss.p = parse_double("--burst-p", value());
    else if (a == "--burst-r") cfg.burst_loss.r = parse_double("--burst-r", value());
    else if (a == "--reorder") cfg.reorder = parse_double("--reorder", value());
    else if (a == "--reorder-ms") cfg.reorder_delay_ns = ms_to_ns("--reorder-ms", value());
    else if (a == "--duplicate") cfg.duplicate = parse_double("--duplicate", value());
    else if (a == "--rate-mbps") {
      cfg.rate_bps = static_cast<uint64_t>(parse_double("--rate-mbps", value()) * 1e6);
      cfg.overhead_bytes = 28;  // IPv4 + UDP headers count on the wire
    } else if (a == "--seed") {
      seed = static_cast<uint64_t>(parse_double("--seed", value()));
    } else if (a == "--stats") {
      stats_file = value();
    } else if (a == "--duration") {
      duration_s = parse_double("--duration", value());
    } else if (a == "--pool") {
      const double p = parse_double("--pool", value());
      if (p < 1 || p > 1 << 20) usage("--pool: 1 to 1048576 packets");
      pool = static_cast<size_t>(p);
    } else {
      usage(("unknown option '" + a + "'").c_str());
    }
  }
  if (listen.empty() || to.empty()) usage("--listen and --to are required");
  if (const auto e = camp::sim::validate(cfg); e != camp::sim::ConfigError::ok) {
    usage(("link configuration: " + std::string(camp::sim::config_error_name(e))).c_str());
  }
  socklen_t ll = 0, tl = 0;
  const sockaddr_storage la = parse_addr("--listen", listen, &ll);
  const sockaddr_storage ta = parse_addr("--to", to, &tl);

  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll returns EINTR and the loop ends
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  auto relay = std::make_unique<Relay>(cfg, seed, pool, la, ll, ta, tl);
  std::printf("sim_relay: listening on %s, forwarding to %s (delay %.3f ms, jitter %.3f ms, "
              "loss %g, reorder %g after %.3f ms, seed %llu)\n",
              relay->listen_name().c_str(), format_addr(ta).c_str(), cfg.delay_ns / 1e6,
              cfg.jitter_ns / 1e6, cfg.loss, cfg.reorder, cfg.reorder_delay_ns / 1e6,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  relay->run(now_ns() + static_cast<uint64_t>(duration_s * 1e9));
  const std::string json = relay->stats_json();
  std::printf("sim_relay: %s\n", json.c_str());
  std::fflush(stdout);
  if (!stats_file.empty()) {
    // Written whole under a temporary name and renamed: a reader never sees half a file.
    const std::string tmp = stats_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%s\n", json.c_str()) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), stats_file.c_str()) != 0) {
      std::fprintf(stderr, "sim_relay: cannot write %s\n", stats_file.c_str());
      return 1;
    }
  }
  return 0;
}
