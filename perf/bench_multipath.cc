// Multipath QUIC (draft-ietf-quic-multipath-21) over the virtual-time simulator: what a second path
// costs the server per packet, and how much of two paths' capacity one connection uses.
// Human-readable lines go to stderr; the three JSON results are the last stdout lines.
//
// multipath_cost. One server and one client QuicEndpoint, both offering multipath, over fast links
// (10 Gbit/s, 1 ms one way, queues longer than the per-path in-flight ring, so nothing is lost),
// the client asking for one large stream. "1 path": the client never opens another path;
// "2 paths": right after the handshake it opens a second, equal one from a second address and
// the min-RTT scheduler spreads the data over both. The server endpoint sits behind TimedEndpoint,
// which reads the TSC around its on_datagrams / on_timer calls only (crypto, recovery, ACK
// processing, scheduling, the application's stream writes) and counts the datagrams committed in
// the TxBatch. Timing starts once the transfer is under way (and, with two paths, once the server
// has validated the second), so the handshake is left out. mpps = datagrams the server sent /
// server CPU seconds / 1e6; each configuration runs --reps times (alternating, so drift on a
// shared machine hits both alike) and the best run counts. A call that took over 200 us was
// preempted by another process (a normal one is a few us): it is left out, with its datagrams.
// --split times receiving (with no tx slot) and sending (from on_timer) apart, for profiling.
// The same again with 8 clients at once ("connections":8), each on its own links of a 1/8 of the
// rate (as much in flight in all) and asking for 1/8 of the bytes: a core serving several
// connections, where no connection's state stays in the caches between its packets, as against
// one connection whose state always does.
//
// multipath_aggregation. The scenarios of conn_multipath_test's AggregatesTwoEqualPaths (2 x 20
// Mbit/s, 10 ms one way, 100-packet queues) and AggregatesTwoUnequalPaths (30 Mbit/s 10 ms + 10
// Mbit/s 50 ms): a 12 MB transfer with 16 MB / 4 MB client windows; the result is the goodput from
// the second path's validation (as the client sees it) to the end, over the 40 Mbit/s sum.
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/tls/tls_context.h"
#include "drivers/sim/simulator.h"
#include "perf/server_core.h"
#include "tests/quic_tls/test_pki.h"

namespace {

using namespace camp;
using namespace camp::quic;
using sim::Address;
using sim::LinkConfig;

constexpr uint64_t kMaxPathId = 3;
// The second cost measurement: a core serving several connections at once, so that no
// connection's state stays in the caches from one of its packets to the next.
constexpr size_t kManyConnections = 8;
constexpr unsigned kPatternPeriod = 251;  // prime: a stream offset's byte is offset % 251

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_multipath: %s\n", msg.c_str());
  std::exit(1);
}

double tsc_hz() {
  // constant_tsc: the TSC ticks at a fixed rate, so one short calibration holds for the run.
  const auto w0 = std::chrono::steady_clock::now();
  const uint64_t t0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t t1 = __rdtsc();
  const auto w1 = std::chrono::steady_clock::now();
  return static_cast<double>(t1 - t0) / std::chrono::duration<double>(w1 - w0).count();
}

// Stream bytes come from this table, so writing them costs the server a copy and nothing more.
struct Pattern {
  static constexpr size_t kChunk = 64 << 10;
  uint8_t bytes[kChunk + kPatternPeriod];
  Pattern() {
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<uint8_t>(i % kPatternPeriod);
  }
};
const Pattern& pattern() {
  static const Pattern p;
  return p;
}

// Server: each bidirectional stream of each connection carries a request "N" (decimal, then
// FIN), answered with N pattern bytes and FIN. Its time is counted (in TSC ticks) while `timing` is set.
class ServerApp final : public QuicApp {
 public:
  void on_connection_progress(Connection& c, TimeNs) override {
    const uint64_t t0 = timing ? __rdtsc() : 0;
    StreamManager& sm = c.streams();
    std::vector<Req>& reqs = reqs_of(c.id());
    while (auto id = sm.accept_stream()) reqs.push_back({*id});
    for (Req& r : reqs) {
      while (!r.fin) {
        uint8_t buf[64];
        const StreamIo io = sm.read(r.id, buf);
        r.text.append(reinterpret_cast<const char*>(buf), io.bytes);
        if (io.fin) {
          r.fin = true;
          r.want = std::strtoull(r.text.c_str(), nullptr, 10);
        }
        if (io.bytes == 0) break;
      }
      while (r.fin && !r.done) {
        const uint64_t n = std::min<uint64_t>(Pattern::kChunk, r.want - r.sent);
        const uint8_t* src = pattern().bytes + r.sent % kPatternPeriod;
        const StreamIo io = sm.write(r.id, {src, n}, r.sent + n == r.want);
        r.sent += io.bytes;
        if (r.sent == r.want && io.bytes == n) r.done = true;
        if (io.bytes < n || io.error != StreamAppError::kNone) break;
      }
    }
    if (timing) app_ticks += __rdtsc() - t0;
  }
  bool timing = false;
  uint64_t app_ticks = 0;

 private:
  struct Req {
    uint64_t id;
    std::string text;
    bool fin = false;
    uint64_t want = 0, sent = 0;
    bool done = false;
  };
  // Each connection's requests (a few connections: a short list is the quickest lookup).
  std::vector<Req>& reqs_of(uint64_t conn_id) {
    for (auto& [id, v] : reqs_) {
      if (id == conn_id) return v;
    }
    return reqs_.emplace_back(conn_id, std::vector<Req>{}).second;
  }
  std::vector<std::pair<uint64_t, std::vector<Req>>> reqs_;
};

// Client: asks for `want` bytes on one stream and checks every byte; `hook` runs first on every
// progress call (it opens the second path).
class ClientApp final : public QuicApp {
 public:
  explicit ClientApp(uint64_t want) : want_(want) {}
  void on_connection_progress(Connection& c, TimeNs now) override {
    if (hook) hook(c, now);
    if (!c.handshake_complete() || c.closed()) return;
    StreamManager& sm = c.streams();
    if (!stream_) {
      stream_ = sm.open_stream(true);
      if (!stream_) return;
      const std::string req = std::to_string(want_);
      sm.write(*stream_, {reinterpret_cast<const uint8_t*>(req.data()), req.size()}, true);
    }
    while (!fin) {
      const StreamIo io = sm.read(*stream_, buf_);
      for (size_t i = 0; i < io.bytes; ++i) {
        if (buf_[i] != static_cast<uint8_t>((received + i) % kPatternPeriod)) ++corrupt;
      }
      received += io.bytes;
      if (io.fin) {
        fin = true;
        done_at = now;
      }
      if (io.bytes == 0) break;
    }
  }
  std::function<void(Connection&, TimeNs)> hook;
  uint64_t received = 0, corrupt = 0;
  bool fin = false;
  TimeNs done_at = 0;

 private:
  uint64_t want_;
  std::optional<uint64_t> stream_;
  uint8_t buf_[64 << 10];
};

// The idle connections' application: it never asks for anything.
class IdleApp final : public QuicApp {
 public:
  void on_connection_progress(Connection&, TimeNs) override {}
};

// The server's timed calls go through these, so a profiler can collect them alone:
// valgrind --tool=callgrind --toggle-collect='*timed_server_*' bench_multipath --only 2
[[gnu::noinline]] void timed_server_rx(Endpoint& e, const RxDatagram* rx, size_t n, uint64_t now,
                                       TxBatch& tx, WorkerStats& stats) {
  e.on_datagrams(rx, n, now, tx, stats);
}
[[gnu::noinline]] uint64_t timed_server_timer(Endpoint& e, uint64_t now, TxBatch& tx,
                                              WorkerStats& stats) {
  return e.on_timer(now, tx, stats);
}

// Forwards to the real endpoint. While `timing` is set it adds the TSC ticks spent inside each
// call and what the call did (datagrams in, datagrams committed); `poll_ns` makes the node run at
// least that often (the client: work it queues from its hook goes out without waiting).
class TimedEndpoint final : public Endpoint {
 public:
  explicit TimedEndpoint(Endpoint& inner) : inner_(inner) {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                    WorkerStats& stats) override {
    if (core == nullptr || n > Staging::kSlots) {
      rx_call(rx, n, now, tx, stats);
    } else {
      TxBatch& local = stage_tx(tx);
      core->run([&] { rx_call(stage_rx(rx, n), n, now, local, stats); });
      unstage_tx(local, tx);
    }
    if (poll_ns) tx.request_timer(now + poll_ns);
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    uint64_t next = 0;
    if (core == nullptr) {
      next = timer_call(now, tx, stats);
    } else {
      TxBatch& local = stage_tx(tx);
      core->run([&] { next = timer_call(now, local, stats); });
      unstage_tx(local, tx);
    }
    return poll_ns ? std::min<uint64_t>(next, now + poll_ns) : next;
  }
  bool timing = false;
  bool split = false;  // time receiving and sending apart (see rx_call)
  uint64_t poll_ns = 0;
  bench::ServerCore* core = nullptr;  // where the server's calls run; null: the caller's thread
  // A call this long was preempted (the machine is shared): it and what it did are left out.
  uint64_t outlier_ticks = UINT64_MAX;
  uint64_t rx_ticks = 0, send_ticks = 0, timer_ticks = 0, rx_calls = 0, timer_calls = 0;
  uint64_t rx_datagrams = 0, tx_from_rx = 0, tx_from_timer = 0, outliers = 0;
  uint64_t outlier_total = 0;

 private:
  bool kept(uint64_t ticks) {
    if (ticks <= outlier_ticks) return true;
    ++outliers;
    outlier_total += ticks;
    return false;
  }

  // With a core of its own the server reads and writes buffers of its own, as a worker does its
  // mbufs: received datagrams are copied in on its core before the (timed) call, and what it sent
  // is copied out on the simulator's core after it, neither timed. Every call goes there, timed or
  // not, so the server's state lives on its core from the start.
  struct Staging {
    static constexpr size_t kSlots = 64, kBuf = 2048;
    uint8_t rx_bytes[kSlots][kBuf], tx_bytes[kSlots][kBuf];
    RxDatagram rx[kSlots];
    TxSlot tx[kSlots];
    std::optional<TxBatch> batch;
  };
  TxBatch& stage_tx(TxBatch& real) {
    const uint16_t n = std::min<uint16_t>(real.available() - real.used(), Staging::kSlots);
    const TxSlot& model = real.slots()[real.used()];  // every lent slot alike (the simulator's)
    for (uint16_t i = 0; i < n; ++i) {
      TxSlot& s = stage_->tx[i];
      s.data = stage_->tx_bytes[i];
      s.cap = std::min<uint16_t>(model.cap, Staging::kBuf);
      s.len = 0;
      s.rx_buf = kNoRxBuf;
      s.tuple = model.tuple;
    }
    return stage_->batch.emplace(stage_->tx, n);
  }
  const RxDatagram* stage_rx(const RxDatagram* rx, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      RxDatagram& d = stage_->rx[i];
      d = rx[i];
      d.len = std::min<uint16_t>(d.len, Staging::kBuf);
      std::memcpy(stage_->rx_bytes[i], rx[i].data, d.len);
      d.data = stage_->rx_bytes[i];
      d.room = Staging::kBuf;
      d.buf_id = kNoRxBuf;
    }
    return stage_->rx;
  }
  static void unstage_tx(TxBatch& local, TxBatch& real) {
    for (uint16_t i = 0; i < local.used(); ++i) {
      const TxSlot& from = local.slots()[i];
      TxSlot* to = real.acquire();
      if (to == nullptr || to->cap < from.len) die("staging: the simulator's slot is too small");
      std::memcpy(to->data, from.data, from.len);
      to->len = from.len;
      to->tuple = from.tuple;
      real.commit();
    }
    real.request_timer(local.requested_timer());
  }

  void rx_call(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx, WorkerStats& stats) {
    if (!timing) {
      inner_.on_datagrams(rx, n, now, tx, stats);
    } else if (split) {
      // Receive with no tx slot (ACK processing, the application), then send from on_timer:
      // QuicEndpoint services every connection there, so the same datagrams go out.
      TxBatch none(tx.slots(), 0);
      const uint16_t before = tx.used();
      const uint64_t t0 = __rdtsc();
      timed_server_rx(inner_, rx, n, now, none, stats);
      const uint64_t t1 = __rdtsc();
      const uint64_t next = timed_server_timer(inner_, now, tx, stats);
      const uint64_t t2 = __rdtsc();
      if (kept(t2 - t0)) {
        rx_ticks += t1 - t0;
        send_ticks += t2 - t1;
        ++rx_calls;
        rx_datagrams += n;
        tx_from_rx += tx.used() - before;
      }
      tx.request_timer(std::min(next, none.requested_timer()));
    } else {
      const uint16_t before = tx.used();
      const uint64_t t0 = __rdtsc();
      timed_server_rx(inner_, rx, n, now, tx, stats);
      const uint64_t t = __rdtsc() - t0;
      if (kept(t)) {
        rx_ticks += t;
        ++rx_calls;
        rx_datagrams += n;
        tx_from_rx += tx.used() - before;
      }
    }
  }

  uint64_t timer_call(uint64_t now, TxBatch& tx, WorkerStats& stats) {
    if (!timing) return inner_.on_timer(now, tx, stats);
    const uint16_t before = tx.used();
    const uint64_t t0 = __rdtsc();
    const uint64_t next = timed_server_timer(inner_, now, tx, stats);
    const uint64_t t = __rdtsc() - t0;
    if (kept(t)) {
      timer_ticks += t;
      ++timer_calls;
      tx_from_timer += tx.used() - before;
    }
    return next;
  }

  Endpoint& inner_;
  std::unique_ptr<Staging> stage_ = std::make_unique<Staging>();
};

struct Tls {
  Tls() {
    test::TlsPair pair = test::make_tls_pair("camp-bench");
    if (!pair.server || !pair.client) die("TLS contexts: " + pair.error);
    server = std::move(pair.server);
    client = std::move(pair.client);
  }
  std::unique_ptr<TlsContext> server, client;
};

TransportParameters base_tp() {
  TransportParameters tp;
  tp.max_idle_timeout = 30000;
  tp.initial_max_data = 4 << 20;
  tp.initial_max_stream_data_bidi_local = 1 << 20;
  tp.initial_max_stream_data_bidi_remote = 1 << 20;
  tp.initial_max_stream_data_uni = 1 << 20;
  tp.initial_max_streams_bidi = 100;
  tp.initial_max_streams_uni = 100;
  tp.active_connection_id_limit = 4;
  tp.max_datagram_frame_size = 1200;
  tp.initial_max_path_id = kMaxPathId;
  return tp;
}

LinkConfig link_of(uint64_t delay_ns, uint64_t rate_bps, uint32_t queue_packets) {
  LinkConfig l;
  l.delay_ns = delay_ns;
  l.rate_bps = rate_bps;
  l.queue_packets = queue_packets;
  return l;
}

Tuple tuple_from(const Address& local, const Address& remote) {
  Tuple t;
  t.local = local.ip;
  t.local_port = local.port;
  t.remote = remote.ip;
  t.remote_port = remote.port;
  return t;
}

struct Scenario {
  LinkConfig first, second;
  bool open_second = true;
  uint64_t bytes = 0;
  uint64_t client_max_data = 16 << 20, client_stream_data = 4 << 20;
  size_t server_send_buffer = 1 << 20;
  sim::SimConfig sim{.seed = 7};
  uint64_t client_poll_ns = 2 * kMillisecond;
  bool split = false;  // time the server's receiving and sending apart
  uint64_t outlier_ticks = UINT64_MAX;  // server calls longer than this are left out
  uint64_t timing_after_bytes = 0;  // start timing the server once the client has this many
  TimeNs limit = 30 * kSecond;      // virtual time
  size_t connections = 1;           // clients, each with one connection (and its own links)
  size_t idle = 0;  // connections the server holds besides, handshake done, never a request
  bench::ServerCore* core = nullptr;  // the server's own core; null: on the simulator's thread
};

struct Outcome {
  bool ok = false;
  std::string error;
  uint64_t received = 0, corrupt = 0;
  TimeNs validated_at = 0, done_at = 0, timing_from = 0;
  uint64_t bytes_at_validation = 0, bytes_at_timing = 0;
  // Server, over the timed interval.
  uint64_t ticks_rx = 0, ticks_send = 0, ticks_timer = 0, ticks_app = 0;
  uint64_t rx_calls = 0, timer_calls = 0, outliers = 0, outlier_ticks = 0;
  uint64_t rx_datagrams = 0, tx_datagrams = 0, tx_from_rx = 0;
  ConnStats server_stats;
  uint64_t picks_reused = 0;  // the server's, over the whole run
  std::vector<Connection::PathInfo> server_paths;
  double wall_s = 0;
};

std::vector<Connection::PathInfo> paths_of(const Connection& c) {
  std::vector<Connection::PathInfo> v(kMaxCidPaths);
  v.resize(std::min<size_t>(c.paths(v), v.size()));
  return v;
}

bool path_validated(const Connection& c, uint32_t id) {
  for (const auto& p : paths_of(c)) {
    if (p.path_id == id) return p.validated;
  }
  return false;
}

// One server and `connections` clients, each with one connection on its own links; each client
// opens its second path (if asked) once the handshake is confirmed, as conn_multipath_test's
// TwoPaths does. Every client asks for bytes / connections.
struct Client {
  Client(uint64_t want, const QuicEndpointConfig& cfg, const Tls& tls)
      : app(want), endpoint(cfg, *tls.client, &app), node(endpoint) {}
  ClientApp app;
  QuicEndpoint endpoint;
  TimedEndpoint node;
  Address addr, addr2;
  Connection* conn = nullptr;
  bool opened = false;
  uint32_t path_id = 0;
  Connection::OpenPathResult open_result = Connection::OpenPathResult::kNotConfirmed;
};

Outcome run_scenario(const Tls& tls, const Scenario& s) {
  const auto wall0 = std::chrono::steady_clock::now();
  Outcome out;
  sim::Simulator sim(s.sim);
  ServerApp server_app;
  const size_t k = std::max<size_t>(1, s.connections);

  QuicEndpointConfig scfg;
  scfg.role = Role::kServer;
  scfg.conn.local_tp = base_tp();
  scfg.conn.streams.send_buffer_size = s.server_send_buffer;
  scfg.seed = s.sim.seed;
  scfg.max_connections = static_cast<uint32_t>(std::max<size_t>(8, k + 1 + s.idle));
  QuicEndpoint server(scfg, *tls.server, &server_app);
  if (!server.ok()) die("endpoint: " + server.error());
  TimedEndpoint server_node(server);
  server_node.split = s.split;
  server_node.outlier_ticks = s.outlier_ticks;
  server_node.core = s.core;
  const Address srv = Address::v4(198, 18, 0, 1, 443);
  const sim::NodeId sn = sim.add_node(server_node);
  if (!sim.add_address(sn, srv)) die("simulator topology");

  std::vector<std::unique_ptr<Client>> clients;
  for (size_t i = 0; i < k; ++i) {
    QuicEndpointConfig ccfg = scfg;
    ccfg.role = Role::kClient;
    ccfg.seed = s.sim.seed + 1 + i;
    ccfg.cid.server_id[0] = 9;
    auto cl = std::make_unique<Client>(s.bytes / k, ccfg, tls);
    if (!cl->endpoint.ok()) die("endpoint: " + cl->endpoint.error());
    Client& c = *cl;
    c.node.poll_ns = s.client_poll_ns;
    const auto n = static_cast<uint8_t>(i);
    c.addr = i == 0 ? Address::v4(198, 18, 0, 2, 50000) : Address::v4(198, 18, 1, n, 50000);
    c.addr2 = i == 0 ? Address::v4(198, 18, 0, 3, 40000) : Address::v4(198, 18, 2, n, 40000);
    const sim::NodeId cn = sim.add_node(c.node);
    if (!sim.add_address(cn, c.addr) || !sim.add_address(cn, c.addr2) ||
        !sim.add_path(c.addr, srv, s.first, s.first).valid() ||
        !sim.add_path(c.addr2, srv, s.second, s.second).valid()) {
      die("simulator topology");
    }
    c.app.hook = [&s, &c, srv](Connection& conn, TimeNs now) {
      if (!s.open_second || c.opened || !conn.established()) return;
      c.opened = true;
      c.open_result = conn.open_path(tuple_from(c.addr2, srv), now, &c.path_id);
    };
    ConnectionConfig cc;
    cc.local_tp = base_tp();
    cc.local_tp.initial_max_data = s.client_max_data;
    cc.local_tp.initial_max_stream_data_bidi_local = s.client_stream_data;
    cc.server_name = "server.test";
    c.conn = c.endpoint.connect(tuple_from(c.addr, srv), sim.now(), cc);
    if (c.conn == nullptr) die("connect: " + c.endpoint.last_error());
    clients.push_back(std::move(cl));
  }
  // The idle connections (--idle) come from one more client endpoint, on a link of their own.
  IdleApp idle_app;
  std::unique_ptr<QuicEndpoint> idle_ep;
  std::unique_ptr<TimedEndpoint> idle_node;  // never timed: a pass-through
  const Address idle_addr = Address::v4(198, 18, 3, 1, 30000);
  if (s.idle) {
    QuicEndpointConfig icfg = scfg;
    icfg.role = Role::kClient;
    icfg.seed = s.sim.seed + 1000;
    icfg.cid.server_id[0] = 9;
    icfg.max_connections = static_cast<uint32_t>(s.idle);
    idle_ep = std::make_unique<QuicEndpoint>(icfg, *tls.client, &idle_app);
    if (!idle_ep->ok()) die("endpoint: " + idle_ep->error());
    idle_node = std::make_unique<TimedEndpoint>(*idle_ep);
    const sim::NodeId in = sim.add_node(*idle_node);
    const LinkConfig l = link_of(1 * kMillisecond, 1'000'000'000, 8192);
    if (!sim.add_address(in, idle_addr) || !sim.add_path(idle_addr, srv, l, l).valid()) {
      die("simulator topology");
    }
    ConnectionConfig cc;
    cc.local_tp = base_tp();
    cc.server_name = "server.test";
    for (size_t i = 0; i < s.idle; ++i) {
      if (idle_ep->connect(tuple_from(idle_addr, srv), sim.now(), cc) == nullptr) {
        die("connect: " + idle_ep->last_error());
      }
    }
  }
  auto received = [&] {
    uint64_t r = 0;
    for (const auto& c : clients) r += c->app.received;
    return r;
  };
  auto server_conns = [&] {  // the timed ones
    std::vector<Connection*> v;
    server.for_each_connection([&](Connection& x) {
      if (!(x.tuple().remote == idle_addr.ip)) v.push_back(&x);
    });
    return v;
  };

  if (s.open_second) {
    const bool v = sim.run_until([&] {
      for (const auto& c : clients) {
        if (!c->opened || !path_validated(*c->conn, c->path_id)) return false;
      }
      out.validated_at = sim.now();
      out.bytes_at_validation = received();
      return true;
    }, 5 * kSecond);
    if (!v || clients[0]->open_result != Connection::OpenPathResult::kOk) {
      out.error = "second path not validated (open_path result " +
                  std::to_string(static_cast<int>(clients[0]->open_result)) + ")";
      return out;
    }
  }
  // The timed interval: the transfers under way and, with two paths, both in use at the server.
  if (!sim.run_until([&] {
        if (received() < s.timing_after_bytes) return false;
        const std::vector<Connection*> sc = server_conns();
        if (sc.size() != k || server.connection_count() != k + s.idle) return false;
        bool idle_ready = true;
        server.for_each_connection([&](Connection& x) { idle_ready &= x.established(); });
        if (!idle_ready) return false;
        for (Connection* c : sc) {
          if (s.open_second && !path_validated(*c, 1)) return false;
        }
        return true;
      }, s.limit)) {
    out.error = "transfer did not start";
    return out;
  }
  out.timing_from = sim.now();
  out.bytes_at_timing = received();
  server_node.timing = server_app.timing = true;
  if (!sim.run_until([&] {
        for (const auto& c : clients) {
          if (!c->app.fin) return false;
        }
        return true;
      }, s.limit)) {
    out.error = "transfer did not finish: " + std::to_string(received()) + " bytes";
    return out;
  }
  server_node.timing = server_app.timing = false;

  out.received = received();
  for (const auto& c : clients) {
    out.corrupt += c->app.corrupt;
    out.done_at = std::max(out.done_at, c->app.done_at);
  }
  out.ticks_rx = server_node.rx_ticks;
  out.ticks_send = server_node.send_ticks;
  out.ticks_timer = server_node.timer_ticks;
  out.ticks_app = server_app.app_ticks;
  out.rx_calls = server_node.rx_calls;
  out.timer_calls = server_node.timer_calls;
  out.rx_datagrams = server_node.rx_datagrams;
  out.tx_from_rx = server_node.tx_from_rx;
  out.outliers = server_node.outliers;
  out.outlier_ticks = server_node.outlier_total;
  out.tx_datagrams = server_node.tx_from_rx + server_node.tx_from_timer;
  const std::vector<Connection*> sc = server_conns();
  for (Connection* c : sc) {
    out.picks_reused += c->send_picks_reused();
  }
  if (!sc.empty()) {  // the first connection's, as an example
    out.server_stats = sc[0]->stats();
    out.server_paths = paths_of(*sc[0]);
  }
  out.ok = out.received == s.bytes / k * k && out.corrupt == 0;
  if (!out.ok) out.error = "bad transfer: " + std::to_string(out.corrupt) + " corrupt bytes";
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return out;
}

double arg_double(const char* s, const char* what) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0)) die(std::string("bad ") + what + ": " + s);
  return v;
}

// The cost scenario: fast, lossless links; windows far above what is in flight.
// `connections` clients share the bytes and the capacity: each link runs at rate_bps /
// connections, so as much is in flight in all as with one connection.
Scenario cost_scenario(bool two_paths, uint64_t rate_bps, uint64_t bytes, bool split, double hz,
                       size_t connections = 1) {
  const LinkConfig fast = link_of(1 * kMillisecond, rate_bps / connections, 8192);
  Scenario s;
  s.connections = connections;
  s.first = s.second = fast;
  s.open_second = two_paths;
  s.bytes = bytes;
  s.client_max_data = uint64_t{1} << 30;
  s.client_stream_data = uint64_t{256} << 20;
  s.server_send_buffer = 16 << 20;
  s.sim.pool_packets = 1 << 15;
  s.sim.max_events = 1 << 18;
  s.client_poll_ns = 1 * kMillisecond;
  s.split = split;
  // A call sends at most a burst of 32 datagrams (tens of microseconds); one of 200 us was
  // preempted by another process.
  s.outlier_ticks = static_cast<uint64_t>(200e-6 * hz);
  s.timing_after_bytes = 8 << 20;
  s.limit = 120 * kSecond;
  return s;
}

// One timed transfer; returns the server's Mpps and prints where its time went.
double cost_run(const Tls& tls, const char* label, const Scenario& s, double hz) {
  const Outcome o = run_scenario(tls, s);
  if (!o.ok) die(std::string(label) + ": " + o.error);
  const double ticks = static_cast<double>(o.ticks_rx + o.ticks_send + o.ticks_timer);
  const double tx = static_cast<double>(o.tx_datagrams);
  const double mpps = tx / (ticks / hz) / 1e6;
  const double vsecs = static_cast<double>(o.done_at - o.timing_from) / 1e9;
  auto per = [&](uint64_t t) { return static_cast<double>(t) * 1e9 / hz / tx; };
  std::fprintf(stderr, "  %-16s %.3f Mpps, %.0f ns/datagram: ", label, mpps, per(ticks));
  if (s.split) {
    std::fprintf(stderr, "receive %.0f (app writes %.0f), send %.0f, on_timer %.0f",
                 per(o.ticks_rx - o.ticks_app), per(o.ticks_app), per(o.ticks_send),
                 per(o.ticks_timer));
  } else {
    std::fprintf(stderr, "on_datagrams %.0f, on_timer %.0f (app writes %.0f)", per(o.ticks_rx),
                 per(o.ticks_timer), per(o.ticks_app));
  }
  std::fprintf(stderr,
               " | %llu out (%.1f%% from on_datagrams), %.3f in per out, %llu+%llu calls "
               "(%llu preempted, left out: %.1f ms) | "
               "%.2f Gbit/s virtual, lost %llu, data-only packets %.0f%%, wall %.2f s\n",
               static_cast<unsigned long long>(o.tx_datagrams),
               100.0 * static_cast<double>(o.tx_from_rx) / tx,
               static_cast<double>(o.rx_datagrams) / tx,
               static_cast<unsigned long long>(o.rx_calls),
               static_cast<unsigned long long>(o.timer_calls),
               static_cast<unsigned long long>(o.outliers),
               static_cast<double>(o.outlier_ticks) * 1e3 / hz,
               static_cast<double>(o.received - o.bytes_at_timing) * 8 / vsecs / 1e9,
               static_cast<unsigned long long>(o.server_stats.packets_lost),
               100.0 * static_cast<double>(o.server_stats.data_only_packets) /
                   static_cast<double>(std::max<uint64_t>(1, o.server_stats.packets_sent)),
               o.wall_s);
  if (o.server_paths.size() > 1) {
    std::fprintf(stderr, "%17s scheduler picks reused %llu\n", "",
                 static_cast<unsigned long long>(o.picks_reused));
    std::fprintf(stderr, "%17s", "");
    for (const auto& p : o.server_paths) {
      std::fprintf(stderr, " [path %u: %llu packets, %.1f MB stream]", p.path_id,
                   static_cast<unsigned long long>(p.packets_sent),
                   static_cast<double>(p.stream_bytes_sent) / 1e6);
    }
    std::fprintf(stderr, "\n");
  }
  return mpps;
}

// conn_multipath_test's aggregation scenarios: goodput from validation to the end over the sum.
double aggregation(const Tls& tls, const LinkConfig& first, const LinkConfig& second,
                   const char* name) {
  Scenario s;
  s.first = first;
  s.second = second;
  s.bytes = 12 << 20;
  const Outcome o = run_scenario(tls, s);
  if (!o.ok) die(std::string("aggregation ") + name + ": " + o.error);
  const double bytes = static_cast<double>(o.received - o.bytes_at_validation);
  const double secs = static_cast<double>(o.done_at - o.validated_at) / 1e9;
  const double eff = bytes * 8 / secs / 40e6;
  double share1 = 0;
  if (o.server_paths.size() == 2) {
    share1 = static_cast<double>(o.server_paths[1].stream_bytes_sent) /
             static_cast<double>(o.server_paths[0].stream_bytes_sent +
                                 o.server_paths[1].stream_bytes_sent);
  }
  std::fprintf(stderr,
               "aggregation %s: %.3f of 40 Mbit/s (%.1f MB in %.3f s after validation at %.3f s; "
               "second path's share of stream bytes %.2f; lost %llu)\n",
               name, eff, bytes / 1e6, secs, static_cast<double>(o.validated_at) / 1e9, share1,
               static_cast<unsigned long long>(o.server_stats.packets_lost));
  return eff;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;  // about the wall time of each cost phase (the transfer size scales with it)
  int reps = 3;
  bool split = false, control = false;
  int only = 0;  // 1 or 2: that cost configuration alone, no JSON (for a profiler)
  size_t connections = 1;  // with --only
  bool own_core = false;
  size_t idle = 0;  // with --only
  if (const char* e = std::getenv("CAMP_BENCH_SECONDS")) {
    seconds = arg_double(e, "CAMP_BENCH_SECONDS");
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = arg_double(argv[++i], "--seconds");
    } else if (a == "--split") {
      split = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = static_cast<int>(arg_double(argv[++i], "--only"));
      if (only != 1 && only != 2) die("--only takes 1 or 2");
    } else if (a == "--control") {
      control = true;
    } else if (a == "--reps" && i + 1 < argc) {
      reps = static_cast<int>(arg_double(argv[++i], "--reps"));
    } else if (a == "--connections" && i + 1 < argc) {
      connections = static_cast<size_t>(arg_double(argv[++i], "--connections"));
    } else if (a == "--own-core") {
      own_core = true;
    } else if (a == "--idle" && i + 1 < argc) {
      idle = static_cast<size_t>(arg_double(argv[++i], "--idle"));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S (env CAMP_BENCH_SECONDS)] [--reps N] [--split: time "
                   "receive and send apart] [--control: also 2 paths of 5 Gbit/s] [--only 1|2: "
                   "one cost configuration alone, for a profiler, no call left out] [--connections K: with "
                   "--only, K connections] [--own-core: the server's calls on a core of their own] [--idle N: with --only, N idle connections at the server besides]\n",
                   argv[0]);
      return 2;
    }
  }
  // 100 MB per second of wall time: server, client and simulator together move about that much.
  const uint64_t bytes = std::max<uint64_t>(uint64_t{32} << 20,
                                            static_cast<uint64_t>(seconds * 100e6));
  const Tls tls;
  const double hz = tsc_hz();
  // --own-core: the server on a core of its own, as on a real server (perf/server_core.h).
  const std::vector<int> cpus = bench::ServerCore::allowed_cpus();
  if (own_core && cpus.size() < 2) die("--own-core needs two CPUs");
  std::optional<bench::ServerCore> own;
  if (own_core) own.emplace(cpus[0], cpus[1]);
  bench::ServerCore* const core = own ? &*own : nullptr;
  const char* const where = core ? "own" : "shared";
  std::fprintf(stderr,
               "multipath cost: %.0f MB per transfer, 10 Gbit/s 1 ms links, best of %d; TSC %.3f "
               "GHz; server on %s\n",
               static_cast<double>(bytes) / 1e6, reps, hz / 1e9,
               core ? ("CPU " + std::to_string(cpus[0]) + ", simulator on CPU " +
                       std::to_string(cpus[1])).c_str()
                    : "the simulator's thread");
  if (only) {
    for (int r = 0; r < reps; ++r) {
      // Under a profiler every call looks preempted: all are kept, so "out" counts every
      // datagram the profiled calls sent.
      Scenario s = cost_scenario(only == 2, 10e9, bytes, split, hz, connections);
      s.outlier_ticks = UINT64_MAX;
      s.core = core;
      s.idle = idle;
      cost_run(tls, only == 1 ? "1 path" : "2 paths", s, hz);
    }
    return 0;
  }
  double best1 = 0, best2 = 0, many1 = 0, many2 = 0;
  for (int r = 0; r < reps; ++r) {
    Scenario one = cost_scenario(false, 10e9, bytes, split, hz);
    Scenario two = cost_scenario(true, 10e9, bytes, split, hz);
    one.core = two.core = core;
    best1 = std::max(best1, cost_run(tls, "1 path", one, hz));
    best2 = std::max(best2, cost_run(tls, "2 paths", two, hz));
    // Same total capacity as one path, so as much in flight: what multipath itself costs.
    if (control) cost_run(tls, "2 x 5 Gbit/s", cost_scenario(true, 5e9, bytes, split, hz), hz);
  }
  for (int r = 0; r < reps; ++r) {
    Scenario one = cost_scenario(false, 10e9, bytes, split, hz, kManyConnections);
    Scenario two = cost_scenario(true, 10e9, bytes, split, hz, kManyConnections);
    one.core = two.core = core;
    many1 = std::max(many1, cost_run(tls, "1 path x 8", one, hz));
    many2 = std::max(many2, cost_run(tls, "2 paths x 8", two, hz));
  }
  const double equal = aggregation(tls, link_of(10 * kMillisecond, 20'000'000, 100),
                                   link_of(10 * kMillisecond, 20'000'000, 100), "equal");
  const double unequal = aggregation(tls, link_of(10 * kMillisecond, 30'000'000, 100),
                                     link_of(50 * kMillisecond, 10'000'000, 100), "unequal");
  std::printf("{\"bench\":\"multipath_cost\",\"connections\":1,\"server_core\":\"%s\","
              "\"mpps_1path\":%.4f,\"mpps_2path\":%.4f,\"cost_increase\":%.4f}\n",
              where, best1, best2, best1 / best2 - 1);
  std::printf("{\"bench\":\"multipath_cost\",\"connections\":%zu,\"server_core\":\"%s\","
              "\"mpps_1path\":%.4f,\"mpps_2path\":%.4f,\"cost_increase\":%.4f}\n",
              kManyConnections, where, many1, many2, many1 / many2 - 1);
  std::printf("{\"bench\":\"multipath_aggregation\",\"equal\":%.4f,\"unequal\":%.4f}\n", equal,
              unequal);
  return 0;
}
