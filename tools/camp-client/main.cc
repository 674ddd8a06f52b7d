// camp-client: fetches URLs from an hq-interop server (HTTP/0.9 over QUIC v1) with camp's own QUIC
// stack behind the kernel socket driver, the way QUIC Interop Runner clients do. With --datagrams
// it also sends DATAGRAMs for the server to echo. Exit status 0 only when every URL was fetched
// whole (and, with --datagrams, DATAGRAM was negotiated and at least one came back intact).
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/socket/address.h"
#include "drivers/socket/driver.h"
#include "tools/hq/client.h"
#include "tools/hq/client_options.h"
#include "tools/hq/datagram_probe.h"
#include "tools/qlog_file.h"

namespace {

using namespace camp;

std::atomic<bool> g_quit{false};

void on_signal(int) { g_quit.store(true); }

// hq-interop on the one connection, and with --datagrams the DATAGRAM probe; remembers a
// NEW_TOKEN for a later run.
class App final : public quic::QuicApp, public quic::ConnectionObserver {
 public:
  App(hq::Client& hq, const hq::ClientOptions& opt, uint16_t max_udp_payload)
      : hq_(hq), opt_(opt), max_udp_payload_(max_udp_payload) {}
  void on_new_connection(quic::Connection& c) override {
    c.set_observer(this);
    conn_ = &c;
  }
  void on_connection_progress(quic::Connection& c, quic::TimeNs now) override {
    if (!c.handshake_complete()) return;
    if (!announced_) {
      announced_ = true;
      std::printf("handshake complete, resumed: %s, retry: %s, alpn: %s\n",
                  c.tls()->resumed() ? "yes" : "no", c.retried() ? "yes" : "no",
                  c.tls()->alpn().c_str());
      std::fflush(stdout);
    }
    if (opt_.key_update && !key_updated_ && c.initiate_key_update()) {
      key_updated_ = true;
      std::printf("key update initiated\n");
      std::fflush(stdout);
    }
    if (migrate_to && !migrated_ && c.established() &&
        c.stats().bytes_received >= hq::kMigrateAfterBytes) {
      migrated_ = true;
      if (c.migrate(*migrate_to, now)) {
        std::printf("migrating to local port %u (after %llu bytes)\n", migrate_to->local_port,
                    static_cast<unsigned long long>(c.stats().bytes_received));
      } else {
        std::printf("migration refused by the connection (no spare connection ID, or the "
                    "server disabled migration)\n");
      }
      std::fflush(stdout);
    }
    open_paths(c, now);
    hq_.on_progress(c.streams());
    run_datagrams(c, now);
    maybe_close(c);
  }
  void on_connection_closed(quic::Connection& c) override {
    conn_ = nullptr;
    closed = true;
    stats = c.stats();
    paths.resize(quic::kMaxCidPaths);
    paths.resize(std::min(c.paths(paths), paths.size()));
    multipath = c.multipath();
    info = c.close_info();
    key_generation = c.key_generation();
    if (session.empty()) session = c.session_data();
    hq_.on_connection_closed();
  }
  void on_datagram_acked(uint64_t id) override {
    if (probe) probe->on_acked(id);
  }
  void on_datagram_lost(uint64_t id) override {
    if (probe) probe->on_lost(id);
  }

  // From the endpoint's timer: the waiting for echoes ends on time even when no packet comes.
  void tick(quic::TimeNs now) {
    if (!conn_ || !conn_->handshake_complete() || conn_->closed()) return;
    run_datagrams(*conn_, now);
    maybe_close(*conn_);
  }
  // While the probe runs the timer fires at least this often (it is a test tool, not a server).
  uint64_t next_tick(uint64_t now) const {
    return datagrams_running() && conn_ ? now + 10'000'000 : kNever;
  }
  bool datagrams_ok() const {
    return opt_.datagrams == 0 || (datagram_error.empty() && probe && probe->echoed() > 0 &&
                                   probe->bad() == 0);
  }

  // --path beyond the first (multipath): a path opens from each once the handshake is confirmed.
  void open_paths(quic::Connection& c, quic::TimeNs now) {
    if (extra_paths.empty() || paths_opened_ || !c.established()) return;
    paths_opened_ = true;
    if (!c.multipath()) {
      std::printf("multipath not negotiated (the server did not offer it): one path only\n");
    }
    for (const Tuple& t : extra_paths) {
      if (!c.multipath()) break;
      uint32_t id = 0;
      const auto r = c.open_path(t, now, &id);
      if (r == quic::Connection::OpenPathResult::kOk) {
        std::printf("path %u opening from local port %u\n", id, t.local_port);
      } else {
        std::printf("path from local port %u refused (%d: no path ID or connection ID left)\n",
                    t.local_port, static_cast<int>(r));
      }
    }
    std::fflush(stdout);
  }

  bool closed = false;
  std::vector<Tuple> extra_paths;  // --path 2..n
  std::vector<quic::Connection::PathInfo> paths;  // at close
  bool multipath = false;
  quic::CloseInfo info;
  std::optional<Tuple> migrate_to;  // --migrate: the second --path address
  quic::ConnStats stats{};  // as the connection closed
  uint64_t key_generation = 0;
  std::vector<uint8_t> session;
  std::unique_ptr<hq::DatagramProbe> probe;
  std::string datagram_error;  // why the probe could not run

 private:
  // Echoes still missing once every datagram is acknowledged or lost are given this long.
  static constexpr uint64_t kEchoGraceNs = 1'000'000'000;
  static constexpr uint64_t kStallNs = 200'000'000;
  static constexpr uint64_t kStuckNs = 3'000'000'000;

  bool datagrams_running() const { return opt_.datagrams > 0 && !datagrams_done_; }

  void run_datagrams(quic::Connection& c, quic::TimeNs now) {
    if (!datagrams_running()) return;
    if (!probe && !start_probe(c)) {
      datagrams_done_ = true;
      return;
    }
    bool changed = false;
    while (c.receive_datagram(rx_)) {
      probe->on_echo(rx_);
      changed = true;
    }
    if (probe->acked() + probe->lost() != outcomes_) {
      outcomes_ = probe->acked() + probe->lost();
      changed = true;
    }
    if (changed || last_change_ == 0) last_change_ = now;
    // An echo lost on its way back must not stall the window: once everything sent is
    // acknowledged or lost and nothing happened for a while, the missing echoes are written off.
    if (!probe->may_send() && !probe->all_sent() && probe->pending() == 0 &&
        now - last_change_ >= kStallNs && probe->write_off_unechoed() > 0) {
      last_change_ = now;
    }
    // Within the probe's window, and as the connection's send queue (max_queued_datagrams) takes.
    while (probe->may_send()) {
      probe->payload(probe->next_seq(), tx_);
      uint64_t id = 0;
      if (!c.send_datagram(tx_, &id)) {
        if (c.datagrams_queued() == 0) {
          datagram_error = "a " + std::to_string(tx_.size()) + "-byte DATAGRAM was refused";
          datagrams_done_ = true;
          return;
        }
        break;  // queue full: more after the next acknowledgements
      }
      probe->on_sent(id);
      last_change_ = now;
    }
    if (!probe->all_sent()) return;
    // Done when every datagram is acknowledged or lost, and echoed or given up on. An echo may
    // overtake the acknowledgement of its datagram, so all echoes alone are not enough; but a
    // tally stuck for long is reported as pending rather than waited on for ever.
    const uint64_t quiet = now - last_change_;
    if ((probe->pending() == 0 && (probe->echoed() == probe->sent() || quiet >= kEchoGraceNs)) ||
        quiet >= kStuckNs) {
      datagrams_done_ = true;
    }
  }

  bool start_probe(quic::Connection& c) {
    const auto& ptp = c.tls()->peer_transport_parameters();
    const uint64_t peer = ptp && ptp->max_datagram_frame_size ? *ptp->max_datagram_frame_size : 0;
    if (peer == 0) {
      datagram_error = "the server did not offer DATAGRAM (no max_datagram_frame_size)";
      return false;
    }
    // A payload must fit the peer's frame limit and ours (its echo comes back), with the frame's
    // type and length (3 bytes below 16 KiB), and one short-header packet: flags, a DCID of up
    // to 20 bytes, a 4-byte packet number and the AEAD tag (what Connection::send_datagram checks).
    const uint64_t frame = std::min({peer, opt_.datagram, uint64_t{max_udp_payload_} - 41});
    if (frame < hq::DatagramProbe::kHeaderBytes + 1 + 3) {
      datagram_error = "DATAGRAM frames of at most " + std::to_string(frame) +
                       " bytes cannot carry the probe";
      return false;
    }
    probe = std::make_unique<hq::DatagramProbe>(opt_.datagrams, static_cast<size_t>(frame - 3));
    rx_.reserve(static_cast<size_t>(opt_.datagram));
    return true;
  }

  void maybe_close(quic::Connection& c) {
    if (closing_ || !hq_.done() || datagrams_running()) return;
    closing_ = true;
    session = c.session_data();
    c.close(0, "done");
  }

  hq::Client& hq_;
  const hq::ClientOptions& opt_;
  uint16_t max_udp_payload_;
  quic::Connection* conn_ = nullptr;  // valid until on_connection_closed
  bool key_updated_ = false;
  bool migrated_ = false;
  bool paths_opened_ = false;
  bool announced_ = false;
  bool closing_ = false;
  bool datagrams_done_ = false;
  uint64_t outcomes_ = 0;      // acked + lost at the last look
  uint64_t last_change_ = 0;   // last datagram sent, echoed, acknowledged or lost
  std::vector<uint8_t> rx_, tx_;
};

// The driver's endpoint: the QUIC endpoint, with the application's own timer folded in.
class TickingEndpoint final : public Endpoint {
 public:
  TickingEndpoint(quic::QuicEndpoint& ep, App& app) : ep_(ep), app_(app) {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                    WorkerStats& stats) override {
    ep_.on_datagrams(rx, n, now_ns, tx, stats);
  }
  uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) override {
    app_.tick(now_ns);  // before the endpoint sends, so what it queued goes out now
    return std::min(ep_.on_timer(now_ns, tx, stats), app_.next_tick(now_ns));
  }

 private:
  quic::QuicEndpoint& ep_;
  App& app_;
};

bool resolve(const hq::Url& url, sockdrv::SockAddr* out, std::string* err) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  const int rv = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rv != 0 || !res) {
    *err = "cannot resolve '" + url.host + "': " + gai_strerror(rv);
    return false;
  }
  std::memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
  out->len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  hq::ClientOptions opt;
  std::string err;
  switch (hq::parse_client_options(argc, argv, &opt, &err)) {
    case hq::ClientParse::kHelp:
      std::printf("%s", hq::client_usage(argv[0]).c_str());
      return 0;
    case hq::ClientParse::kError:
      std::fprintf(stderr, "camp-client: %s\n", err.c_str());
      return 2;
    case hq::ClientParse::kOk:
      break;
  }
  const hq::Url& first = opt.urls.front();
  sockdrv::SockAddr server;
  if (!resolve(first, &server, &err)) {
    std::fprintf(stderr, "camp-client: %s\n", err.c_str());
    return 2;
  }

  quic::TlsClientConfig tc;
  tc.ca_file = opt.ca_file;
  tc.insecure_skip_verify = opt.insecure;
  tc.alpn = {"hq-interop"};
  auto tls = quic::TlsContext::client(tc, &err);
  if (!tls) {
    std::fprintf(stderr, "camp-client: %s\n", err.c_str());
    return 2;
  }

  hq::Client hq(opt.out_dir);
  if (!hq.ok()) {
    std::fprintf(stderr, "camp-client: %s\n", hq.error().c_str());
    return 2;
  }
  for (const hq::Url& u : opt.urls) hq.add_request(u.path);
  quic::ConnectionConfig cc;
  App app(hq, opt, cc.max_datagram_size);

  quic::QuicEndpointConfig cfg;
  cfg.role = quic::Role::kClient;
  cfg.max_connections = 1;
  if (!opt.qlog_dir.empty()) {
    const std::string dir = opt.qlog_dir;
    cfg.qlog_factory = [dir](quic::Role role, quic::ByteView odcid) {
      return open_qlog_file(dir + "/client.sqlog", role, "camp-client", odcid);
    };
  }
  quic::QuicEndpoint ep(cfg, *tls, &app);
  if (!ep.ok()) {
    std::fprintf(stderr, "camp-client: %s\n", ep.error().c_str());
    return 2;
  }

  TickingEndpoint ticking(ep, app);
  sockdrv::Driver drv(ticking);
  std::vector<std::string> locals;
  for (const hq::LocalAddr& p : opt.paths) {
    locals.push_back(p.ipv6 ? "[" + p.addr + "]:" + std::to_string(p.port)
                            : p.addr + ":" + std::to_string(p.port));
  }
  if (locals.empty()) locals.push_back(server.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
  if (!drv.open(locals, &err)) {
    std::fprintf(stderr, "camp-client: %s\n", err.c_str());
    return 2;
  }

  cc.local_tp.max_idle_timeout = 30000;
  cc.local_tp.initial_max_data = 64 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_remote = 1 << 20;
  cc.local_tp.initial_max_stream_data_uni = 1 << 20;
  cc.local_tp.initial_max_streams_bidi = 16;
  cc.local_tp.initial_max_streams_uni = 16;
  cc.local_tp.active_connection_id_limit = 4;
  if (opt.datagram) cc.local_tp.max_datagram_frame_size = opt.datagram;
  cc.server_name = first.host;
  if (!opt.session_file.empty()) cc.resumption_data = read_file(opt.session_file);
  if (opt.multipath()) {
    // draft-ietf-quic-multipath-21 2.1: path IDs 0..N-1 for N local addresses.
    cc.local_tp.initial_max_path_id =
        std::min<uint64_t>(opt.paths.size() - 1, quic::kMaxCidPaths - 1);
    cc.scheduler = opt.scheduler;
  }

  Tuple t;
  const sockdrv::SockAddr& bound = drv.local_sockaddr(0);
  if (!bound.is_wildcard()) t.local = bound.ip();
  t.local_port = bound.port();
  t.remote = server.ip();
  t.remote_port = server.port();
  t.iface = 0;
  auto tuple_of_socket = [&](size_t i) {
    Tuple m = t;
    const sockdrv::SockAddr& a = drv.local_sockaddr(i);
    m.local = a.is_wildcard() ? IpAddr{} : a.ip();
    m.local_port = a.port();
    m.iface = static_cast<uint16_t>(i);
    return m;
  };
  if (opt.migrate) app.migrate_to = tuple_of_socket(1);
  if (opt.multipath()) {
    for (size_t i = 1; i < opt.paths.size(); ++i) app.extra_paths.push_back(tuple_of_socket(i));
  }
  const uint64_t start = sockdrv::monotonic_ns();
  quic::Connection* conn = ep.connect(t, start, cc);
  if (!conn) {
    std::fprintf(stderr, "camp-client: cannot start: %s\n", ep.last_error().c_str());
    return 1;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const uint64_t deadline = start + static_cast<uint64_t>(opt.timeout_s * 1e9);
  while (!g_quit.load() && !app.closed) {
    const uint64_t now = sockdrv::monotonic_ns();
    if (now >= deadline) {
      std::fprintf(stderr, "camp-client: timed out after %.1f s\n", opt.timeout_s);
      break;
    }
    if (drv.poll(now) == 0) drv.wait(std::min<uint64_t>(deadline - now, 50'000'000));
  }

  if (!opt.session_file.empty() && !app.session.empty()) {
    std::ofstream f(opt.session_file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(app.session.data()),
            static_cast<std::streamsize>(app.session.size()));
  }
  for (const hq::RequestResult& r : hq.results()) {
    std::printf("%s: %s, %llu bytes%s%s\n", r.path.c_str(), r.ok() ? "ok" : "FAILED",
                static_cast<unsigned long long>(r.bytes), r.error.empty() ? "" : ", ",
                r.error.c_str());
  }
  if (app.closed && app.info.by_peer && app.info.error_code != 0) {
    std::fprintf(stderr, "camp-client: closed by the server: error 0x%llx %s\n",
                 static_cast<unsigned long long>(app.info.error_code), app.info.reason.c_str());
  } else if (app.closed && !app.info.by_peer && app.info.error_code != 0) {
    std::fprintf(stderr, "camp-client: connection failed: error 0x%llx %s\n",
                 static_cast<unsigned long long>(app.info.error_code), app.info.reason.c_str());
  }
  if (opt.datagrams > 0) {
    if (app.probe) std::printf("%s\n", app.probe->summary().c_str());
    if (!app.datagram_error.empty()) {
      std::fprintf(stderr, "camp-client: datagrams: %s\n", app.datagram_error.c_str());
    } else if (!app.probe) {
      std::fprintf(stderr, "camp-client: datagrams: none sent (no handshake)\n");
    } else if (app.probe && app.probe->echoed() == 0) {
      std::fprintf(stderr, "camp-client: datagrams: none echoed\n");
    } else if (app.probe && app.probe->bad() > 0) {
      std::fprintf(stderr, "camp-client: datagrams: %llu echoes differ from what was sent\n",
                   static_cast<unsigned long long>(app.probe->bad()));
    }
  }
  std::printf("(key updates: %llu)\n", static_cast<unsigned long long>(app.key_generation));
  bool multipath_ok = true;
  if (opt.multipath()) {
    // One line per path: what each carried (draft-21 path IDs; 0 is the handshake's).
    size_t validated = 0;
    for (const quic::Connection::PathInfo& p : app.paths) {
      if (p.path_id != 0 && p.validated) ++validated;
      std::printf("path %u: local port %u, %s%s, sent %llu packets, received %llu packets "
                  "(%llu bytes), lost %llu\n",
                  p.path_id, p.tuple.local_port, p.validated ? "validated" : "not validated",
                  p.abandoned ? ", abandoned" : "", static_cast<unsigned long long>(p.packets_sent),
                  static_cast<unsigned long long>(p.packets_received),
                  static_cast<unsigned long long>(p.bytes_received),
                  static_cast<unsigned long long>(p.packets_lost));
    }
    multipath_ok = app.multipath && validated > 0;
    std::printf("multipath: %s\n", !app.multipath ? "not negotiated"
                                     : validated ? "more than one path validated"
                                                 : "no second path validated");
  }
  bool migration_ok = true;
  if (opt.migrate) {
    migration_ok = app.stats.path_validations > 0;
    std::printf("migration: %s (challenges sent %llu, responses unmatched %llu, validations "
                "failed %llu)\n",
                migration_ok ? "new path validated" : "no validated new path",
                static_cast<unsigned long long>(app.stats.path_challenges_sent),
                static_cast<unsigned long long>(app.stats.path_responses_unmatched),
                static_cast<unsigned long long>(app.stats.path_validation_failures));
  }
  return hq.all_ok() && app.datagrams_ok() && migration_ok && multipath_ok ? 0 : 1;
}
