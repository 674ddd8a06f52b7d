#include "tools/campd/quic_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "tools/hq/server.h"
#include "tools/qlog_file.h"

namespace camp::campd {

namespace {

// The QUIC application of one worker: hq-interop over each connection's streams.
class HqApp final : public quic::QuicApp {
 public:
  explicit HqApp(const std::string& root) : server(root) {}
  void on_connection_progress(quic::Connection& c, quic::TimeNs) override {
    if (c.handshake_complete()) server.on_progress(c);  // streams, then the DATAGRAM echo
  }
  void on_connection_closed(quic::Connection& c) override { server.on_connection_closed(c.id()); }
  hq::Server server;
};

quic::TransportParameters server_transport_parameters(const Options& opt) {
  quic::TransportParameters tp;
  tp.max_idle_timeout = 30000;
  tp.initial_max_data = 16 << 20;
  tp.initial_max_stream_data_bidi_local = 2 << 20;
  tp.initial_max_stream_data_bidi_remote = 2 << 20;
  tp.initial_max_stream_data_uni = 2 << 20;
  tp.initial_max_streams_bidi = 128;
  tp.initial_max_streams_uni = 16;
  tp.active_connection_id_limit = 4;
  tp.max_datagram_frame_size = 1200;
  // Multipath (draft-ietf-quic-multipath-21) for clients that offer it too: path IDs 0..N.
  tp.initial_max_path_id = opt.max_path_id;
  return tp;
}

}  // namespace

struct QuicService::Impl {
  Options opt;
  std::unique_ptr<quic::TlsContext> tls;
  // One Stateless Reset key for every worker: a token is then the same whichever worker derives it.
  std::array<uint8_t, quic::StatelessResetKey::kKeyLength> reset_key{};
  std::vector<std::unique_ptr<HqApp>> apps;
  std::vector<std::unique_ptr<quic::QuicEndpoint>> endpoints;
};

QuicService::~QuicService() = default;

std::unique_ptr<QuicService> QuicService::create(const Options& opt, std::string* err) {
  struct stat st;
  if (stat(opt.www.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *err = "--www: '" + opt.www + "' is not a directory";
    return nullptr;
  }
  if (!opt.qlog_dir.empty() && (stat(opt.qlog_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    *err = "--qlog: '" + opt.qlog_dir + "' is not a directory";
    return nullptr;
  }
  quic::TlsServerConfig sc;
  sc.cert_file = opt.cert_file.empty() ? std::string(kDevCertDir) + "/server.pem" : opt.cert_file;
  sc.key_file = opt.key_file.empty() ? std::string(kDevCertDir) + "/server.key" : opt.key_file;
  sc.alpn = {"hq-interop"};
  std::string why;
  auto tls = quic::TlsContext::server(sc, &why);
  if (!tls) {
    *err = (opt.cert_file.empty() ? "no --cert given and the development certificate (" +
                                        sc.cert_file + ") is unusable (run tools/camp build): "
                                  : "--cert/--key: ") + why;
    return nullptr;
  }
  std::unique_ptr<QuicService> s(new QuicService);
  s->impl_ = std::make_unique<Impl>();
  s->impl_->opt = opt;
  s->impl_->tls = std::move(tls);
  if (!quic::StatelessResetKey::generate(s->impl_->reset_key)) {
    *err = "no randomness for the stateless reset key";
    return nullptr;
  }
  return s;
}

Endpoint* QuicService::make_worker_endpoint(uint16_t w, uint16_t workers, std::string* err) {
  Impl& m = *impl_;
  quic::QuicEndpointConfig cfg;
  cfg.role = quic::Role::kServer;
  cfg.conn.local_tp = server_transport_parameters(m.opt);
  // The scheduler and failover action configured ([workers], --scheduler, --failover-action);
  // campctl set changes them later through Endpoint::apply_setting.
  cfg.conn.scheduler = quic::kSchedulerKinds[m.opt.worker.get(WorkerKey::scheduler)];
  cfg.conn.failover_action =
      static_cast<quic::FailoverAction>(m.opt.worker.get(WorkerKey::failover_action));
  cfg.cid.worker_count = workers;
  // QUIC-LB: without a configuration the default (0b111) stands.
  if (m.opt.lb_config_id) cfg.cid.config_id = *m.opt.lb_config_id;
  std::copy(m.opt.lb_server_id.begin(), m.opt.lb_server_id.end(), cfg.cid.server_id.begin());
  cfg.cid.server_id_len = static_cast<uint8_t>(m.opt.lb_server_id.size());
  cfg.worker = w;
  cfg.retry = m.opt.retry;
  cfg.reset_key = m.reset_key;
  if (!m.opt.qlog_dir.empty()) {
    const std::string dir = m.opt.qlog_dir;
    cfg.qlog_factory = [dir](quic::Role role, quic::ByteView odcid) {
      static std::atomic<uint64_t> seq{0};
      std::string name = dir + "/";
      for (size_t i = 0; i < odcid.size; ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", odcid.data[i]);
        name += b;
      }
      name += "_" + std::to_string(seq++) + (role == quic::Role::kServer ? "_server" : "_client") +
              ".sqlog";
      return open_qlog_file(name, role, "campd", odcid);
    };
  }
  m.apps.push_back(std::make_unique<HqApp>(m.opt.www));
  if (!m.apps.back()->server.ok()) {
    *err = "--www: " + m.apps.back()->server.error();
    return nullptr;
  }
  auto ep = std::make_unique<quic::QuicEndpoint>(cfg, *m.tls, m.apps.back().get());
  if (!ep->ok()) {
    *err = "QUIC endpoint: " + ep->error();
    return nullptr;
  }
  m.endpoints.push_back(std::move(ep));
  return m.endpoints.back().get();
}

std::string QuicService::summary() const {
  uint64_t accepted = 0, retries = 0, served = 0, failed = 0, bytes = 0, key_updates = 0;
  for (const auto& e : impl_->endpoints) {
    accepted += e->counters().accepted;
    key_updates += e->counters().key_updates;
    retries += e->counters().retries_sent;
  }
  for (const auto& a : impl_->apps) {
    served += a->server.stats().served;
    failed += a->server.stats().failed;
    bytes += a->server.stats().bytes_sent;
  }
 return "quic: " + std::to_string(accepted) + " connections, " + std::to_string(retries) +
         " retries, " + std::to_string(key_updates) + " key updates, hq-interop: " + std::to_string(served) + " requests served, " +
         std::to_string(failed) + " refused, " + std::to_string(bytes) + " bytes";
}

}  // namespace camp::campd
