// camp-client: fetches URLs from an hq-interop server (HTTP/0.9 over QUIC v1) with camp's own QUIC
// stack behind the kernel socket driver, the way QUIC Interop Runner clients do. Exit status 0
// only when every URL was fetched whole.
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/socket/address.h"
#include "drivers/socket/driver.h"
#include "tools/hq/client.h"
#include "tools/hq/client_options.h"
#include "tools/qlog_file.h"

namespace {

using namespace camp;

std::atomic<bool> g_quit{false};

void on_signal(int) { g_quit.store(true); }

// hq-interop on the one connection; remembers a NEW_TOKEN for a later run.
class App final : public quic::QuicApp, public quic::ConnectionObserver {
 public:
  App(hq::Client& hq, bool key_update) : hq_(hq), key_update_(key_update) {}
  void on_new_connection(quic::Connection& c) override { c.set_observer(this); }
  void on_connection_progress(quic::Connection& c, quic::TimeNs) override {
    if (!c.handshake_complete()) return;
    if (!announced_) {
      announced_ = true;
      std::printf("handshake complete, resumed: %s, retry: %s, alpn: %s\n",
                  c.tls()->resumed() ? "yes" : "no", c.retried() ? "yes" : "no",
                  c.tls()->alpn().c_str());
      std::fflush(stdout);
    }
    if (key_update_ && !key_updated_ && c.initiate_key_update()) {
      key_updated_ = true;
      std::printf("key update initiated\n");
      std::fflush(stdout);
    }
    hq_.on_progress(c.streams());
    if (hq_.done() && !closing_) {
      closing_ = true;
      session = c.session_data();
      c.close(0, "done");
    }
  }
  void on_connection_closed(quic::Connection& c) override {
    closed = true;
    info = c.close_info();
    key_generation = c.key_generation();
    if (session.empty()) session = c.session_data();
    hq_.on_connection_closed();
  }

  bool closed = false;
  quic::CloseInfo info;
  uint64_t key_generation = 0;
  std::vector<uint8_t> session;

 private:
  hq::Client& hq_;
  bool key_update_;
  bool key_updated_ = false;
  bool announced_ = false;
  bool closing_ = false;
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
  App app(hq, opt.key_update);

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

  sockdrv::Driver drv(ep);
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
  if (opt.paths.size() > 1) {
    std::fprintf(stderr, "camp-client: note: multipath is not enabled yet; using %s only\n",
                 locals.front().c_str());
  }

  quic::ConnectionConfig cc;
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

  Tuple t;
  const sockdrv::SockAddr& bound = drv.local_sockaddr(0);
  if (!bound.is_wildcard()) t.local = bound.ip();
  t.local_port = bound.port();
  t.remote = server.ip();
  t.remote_port = server.port();
  t.iface = 0;
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
  std::printf("(key updates: %llu)\n", static_cast<unsigned long long>(app.key_generation));
  return hq.all_ok() ? 0 : 1;
}
