// Client and server QuicEndpoints joined by the simulator: the real connection code over links
// with delay, rate, loss and reordering, in virtual time.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/sim/simulator.h"
#include "tests/quic_tls/test_pki.h"

namespace camp::quic {
namespace {

using sim::Address;
using sim::LinkConfig;
using sim::Simulator;

uint8_t pattern(uint64_t i) { return static_cast<uint8_t>((i * 131) ^ (i >> 9)); }

// Server: every bidirectional stream carries a request "N" (decimal, then FIN); the answer is N
// bytes of pattern() and FIN. DATAGRAMs are echoed.
class ServerApp final : public QuicApp {
 public:
  struct Req {
    std::string text;
    bool fin = false;
    uint64_t want = 0;
    uint64_t sent = 0;
    bool done = false;
  };
  void on_connection_progress(Connection& c, TimeNs) override {
    StreamManager& sm = c.streams();
    while (auto id = sm.accept_stream()) reqs[c.id()][*id];
    for (auto& [id, r] : reqs[c.id()]) {
      uint8_t buf[256];
      while (!r.fin) {
        StreamIo io = sm.read(id, buf);
        r.text.append(reinterpret_cast<char*>(buf), io.bytes);
        if (io.fin) {
          r.fin = true;
          r.want = std::stoull(r.text);
        }
        if (io.bytes == 0) break;
      }
      while (r.fin && !r.done) {
        uint8_t chunk[4096];
        const uint64_t n = std::min<uint64_t>(sizeof chunk, r.want - r.sent);
        for (uint64_t i = 0; i < n; ++i) chunk[i] = pattern(r.sent + i);
        StreamIo io = sm.write(id, {chunk, n}, r.sent + n == r.want);
        r.sent += io.bytes;
        if (r.sent == r.want && io.bytes == n) r.done = true;
        if (io.bytes < n || io.error != StreamAppError::kNone) break;
      }
    }
    std::vector<uint8_t> d;
    while (c.receive_datagram(d)) {
      ++datagrams;
      c.send_datagram(d, nullptr);
    }
  }
  void on_connection_closed(Connection& c) override {
    reqs.erase(c.id());
    ++closed;
    last_close = c.close_info();
  }
  std::map<uint64_t, std::map<uint64_t, Req>> reqs;
  int closed = 0;
  int datagrams = 0;
  CloseInfo last_close;
};

// Client: asks for `want` bytes on one stream and checks every byte.
class ClientApp final : public QuicApp, public ConnectionObserver {
 public:
  explicit ClientApp(uint64_t want) : want_(want) {}
  void on_new_connection(Connection& c) override { c.set_observer(this); }
  void on_connection_progress(Connection& c, TimeNs now) override {
    if (!c.handshake_complete()) return;
    StreamManager& sm = c.streams();
    if (!stream_) {
      stream_ = sm.open_stream(true);
      if (!stream_) return;
      const std::string req = std::to_string(want_);
      sm.write(*stream_, {reinterpret_cast<const uint8_t*>(req.data()), req.size()}, true);
    }
    uint8_t buf[8192];
    while (!fin) {
      StreamIo io = sm.read(*stream_, buf);
      for (size_t i = 0; i < io.bytes; ++i) {
        if (buf[i] != pattern(received + i)) ++corrupt;
      }
      received += io.bytes;
      if (io.fin) {
        fin = true;
        done_at = now;
      }
      if (io.bytes == 0) break;
    }
    std::vector<uint8_t> d;
    while (c.receive_datagram(d)) echoed.push_back(d);
  }
  void on_connection_closed(Connection& c) override {
    closed = true;
    close = c.close_info();
  }
  void on_datagram_acked(uint64_t) override { ++dg_acked; }
  void on_datagram_lost(uint64_t) override { ++dg_lost; }
  void on_new_token(std::span<const uint8_t> t) override { token.assign(t.begin(), t.end()); }

  uint64_t want_;
  std::optional<uint64_t> stream_;
  uint64_t received = 0;
  uint64_t corrupt = 0;
  bool fin = false;
  TimeNs done_at = 0;
  bool closed = false;
  CloseInfo close;
  std::vector<std::vector<uint8_t>> echoed;
  int dg_acked = 0;
  int dg_lost = 0;
  std::vector<uint8_t> token;
};

struct Pki {
  Pki() {
    ca = test::make_ca("camp test CA");
    leaf = test::make_server_cert(ca, "server.test");
  }
  test::KeyPair ca, leaf;
};
const Pki& pki() {
  static Pki p;
  return p;
}

TransportParameters default_tp() {
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
  return tp;
}

struct Harness {
  explicit Harness(uint64_t want, LinkConfig link = {}, bool retry = false, uint64_t seed = 7)
      : sim(sim::SimConfig{.seed = seed}), client_app(want) {
    std::string err;
    TlsServerConfig sc;
    sc.cert_pem = pki().leaf.cert_pem;
    sc.key_pem = pki().leaf.key_pem;
    sc.alpn = {"camp-test"};
    server_tls = TlsContext::server(sc, &err);
    TlsClientConfig cc;
    cc.ca_pem = pki().ca.cert_pem;
    cc.alpn = {"camp-test"};
    client_tls = TlsContext::client(cc, &err);
    EXPECT_TRUE(server_tls && client_tls) << err;

    QuicEndpointConfig scfg;
    scfg.role = Role::kServer;
    scfg.conn.local_tp = default_tp();
    scfg.retry = retry;
    scfg.seed = seed;
    scfg.max_connections = 8;
    server = std::make_unique<QuicEndpoint>(scfg, *server_tls, &server_app);
    QuicEndpointConfig ccfg = scfg;
    ccfg.role = Role::kClient;
    ccfg.retry = false;
    ccfg.seed = seed + 1;
    ccfg.cid.server_id[0] = 9;
    client = std::make_unique<QuicEndpoint>(ccfg, *client_tls, &client_app);
    EXPECT_TRUE(server->ok()) << server->error();
    EXPECT_TRUE(client->ok()) << client->error();

    if (link.delay_ns == 0) link.delay_ns = 10 * kMillisecond;
    if (link.rate_bps == 0) link.rate_bps = 100'000'000;
    if (link.queue_packets == 0) link.queue_packets = 1000;
    sn = sim.add_node(*server);
    cn = sim.add_node(*client);
    sim.add_address(sn, srv_addr);
    sim.add_address(cn, cli_addr);
    path = sim.add_path(cli_addr, srv_addr, link, link);
  }

  Connection* connect(ConnectionConfig cfg = {}) {
    if (cfg.local_tp.initial_max_data == 0) cfg.local_tp = default_tp();
    cfg.server_name = "server.test";
    Tuple t;
    t.local = cli_addr.ip;
    t.local_port = cli_addr.port;
    t.remote = srv_addr.ip;
    t.remote_port = srv_addr.port;
    return client->connect(t, sim.now(), cfg);
  }

  Address srv_addr = Address::v4(198, 18, 0, 1, 443);
  Address cli_addr = Address::v4(198, 18, 0, 2, 50000);
  Simulator sim;
  std::unique_ptr<TlsContext> server_tls, client_tls;
  ServerApp server_app;
  ClientApp client_app;
  std::unique_ptr<QuicEndpoint> server, client;
  sim::NodeId sn = 0, cn = 0;
  sim::Path path;
};

TEST(QuicConn, HandshakeAndSmallTransfer) {
  Harness h(1000);
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr) << h.client->last_error();
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  EXPECT_EQ(h.client_app.received, 1000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  EXPECT_TRUE(c->established());
  EXPECT_EQ(c->tls()->alpn(), "camp-test");
  EXPECT_EQ(h.server->connection_count(), 1u);
}

TEST(QuicConn, TenMegabytesOverLossyReorderingLink) {
  LinkConfig link;
  link.loss = 0.02;
  link.reorder = 0.02;
  link.reorder_delay_ns = 5 * kMillisecond;
  Harness h(10 << 20, link);
  ASSERT_NE(h.connect(), nullptr);
  const bool ok = h.sim.run_until([&] { return h.client_app.fin; }, 60 * kSecond);
  EXPECT_TRUE(ok) << "received " << h.client_app.received << " at " << h.sim.now()
                  << " closed " << h.client_app.closed << " reason " << h.client_app.close.reason
                  << " code " << h.client_app.close.error_code << " server closes "
                  << h.server_app.closed << " " << h.server_app.last_close.reason;
  EXPECT_EQ(h.client_app.received, uint64_t{10} << 20);
  EXPECT_EQ(h.client_app.corrupt, 0u);
}

}  // namespace
}  // namespace camp::quic
