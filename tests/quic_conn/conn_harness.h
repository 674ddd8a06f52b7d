// Test harness for QUIC connections over the simulator: a server app that answers "N" requests
// with N bytes, a client app that checks them, and a Harness joining a client and a server
// QuicEndpoint through the virtual-time simulator. Each endpoint sits behind a ProxyEndpoint so a
// test can edit or drop received datagrams (or their addresses), poll an endpoint, or replace the server by a fresh one.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/sim/simulator.h"
#include "tests/quic_tls/test_pki.h"

namespace camp::quic::test_conn {

using sim::Address;
using sim::LinkConfig;
using sim::Simulator;

inline uint8_t pattern(uint64_t i) { return static_cast<uint8_t>((i * 131) ^ (i >> 9)); }

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

// Client: asks for `want` bytes on one stream and checks every byte. `hook` runs first on every
// progress call (tests drive datagrams, closes and violations from it).
class ClientApp final : public QuicApp, public ConnectionObserver {
 public:
  explicit ClientApp(uint64_t want) : want_(want) {}
  void on_new_connection(Connection& c) override { c.set_observer(this); }
  void on_connection_progress(Connection& c, TimeNs now) override {
    if (hook) hook(c, now);
    std::vector<uint8_t> d;
    while (c.receive_datagram(d)) echoed.push_back(d);
    if (!c.handshake_complete() || !auto_request || c.closed()) return;
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
  }
  void on_connection_closed(Connection& c) override {
    closed = true;
    close = c.close_info();
    session = c.session_data();
  }
  void on_datagram_acked(uint64_t) override { ++dg_acked; }
  void on_datagram_lost(uint64_t) override { ++dg_lost; }
  void on_new_token(std::span<const uint8_t> t) override {
    token.assign(t.begin(), t.end());
    ++tokens;
  }

  // Sends a new request for `want` bytes on a new stream of c, from outside an endpoint call (the
  // client proxy must poll for it to go out).
  void request(Connection& c, uint64_t want) {
    reset(want);
    stream_ = c.streams().open_stream(true);
    ASSERT_TRUE(stream_);
    const std::string req = std::to_string(want_);
    c.streams().write(*stream_, {reinterpret_cast<const uint8_t*>(req.data()), req.size()}, true);
  }
  // Ready for another connection on the same endpoint.
  void reset(uint64_t want) {
    want_ = want;
    stream_.reset();
    received = corrupt = 0;
    fin = closed = false;
    done_at = 0;
    close = {};
  }

  uint64_t want_;
  bool auto_request = true;
  std::function<void(Connection&, TimeNs)> hook;
  std::optional<uint64_t> stream_;
  uint64_t received = 0;
  uint64_t corrupt = 0;
  bool fin = false;
  TimeNs done_at = 0;
  bool closed = false;
  CloseInfo close;
  std::vector<uint8_t> session;
  std::vector<std::vector<uint8_t>> echoed;
  int dg_acked = 0;
  int dg_lost = 0;
  std::vector<uint8_t> token;  // the last NEW_TOKEN received
  int tokens = 0;
};

// Sits between the simulator and a real endpoint: `rx_hook` may edit a received datagram or drop
// it (false); `poll_ns` makes the node run at least that often (so work a test queues from outside
// an endpoint call goes out; set it before the node's next timer is far away); `inner` may be
// swapped or null (then everything is dropped).
class ProxyEndpoint final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                    WorkerStats& stats) override {
    if (!inner) return;
    RxDatagram kept[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; ++i) {
      RxDatagram d = rx[i];
      if (rx_hook && !rx_hook(const_cast<uint8_t*>(d.data), d.len)) continue;
      if (drop_from && drop_from(d)) continue;
      if (tuple_hook) tuple_hook(d.tuple);
      kept[k++] = d;
    }
    inner->on_datagrams(kept, k, now, tx, stats);
    if (poll_ns) tx.request_timer(now + poll_ns);
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    uint64_t t = inner ? inner->on_timer(now, tx, stats) : kNever;
    if (poll_ns) t = std::min<uint64_t>(t, now + poll_ns);
    return t;
  }
  Endpoint* inner = nullptr;
  std::function<bool(uint8_t* data, uint16_t& len)> rx_hook;
  std::function<void(Tuple& tuple)> tuple_hook;  // e.g. a NAT rewriting the source
  std::function<bool(const RxDatagram& d)> drop_from;  // true: dropped (it sees the 4-tuple)
  uint64_t poll_ns = 0;
};

inline TransportParameters default_tp() {
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

inline LinkConfig link_of(uint64_t delay_ns, uint64_t rate_bps, uint32_t queue_packets) {
  LinkConfig l;
  l.delay_ns = delay_ns;
  l.rate_bps = rate_bps;
  l.queue_packets = queue_packets;
  return l;
}

// An endpoint of a client with a connection or two (tests with a client endpoint per address).
inline QuicEndpointConfig small_client_config(uint64_t seed) {
  QuicEndpointConfig c;
  c.role = Role::kClient;
  c.conn.local_tp = default_tp();
  c.max_connections = 2;
  c.seed = seed;
  return c;
}

struct HarnessOptions {
  LinkConfig link;
  bool retry = false;
  uint64_t seed = 7;
  std::function<void(QuicEndpointConfig&)> server_cfg;  // edits the server's configuration
  uint32_t pool_packets = 8192;
};

struct Harness {
  explicit Harness(uint64_t want, LinkConfig link = {}, bool retry = false, uint64_t seed = 7)
      : Harness(want, HarnessOptions{.link = link, .retry = retry, .seed = seed}) {}

  Harness(uint64_t want, const HarnessOptions& o)
      : sim(sim::SimConfig{.seed = o.seed, .pool_packets = o.pool_packets}), client_app(want) {
    test::TlsPair tls = test::make_tls_pair("camp-test");
    server_tls = std::move(tls.server);
    client_tls = std::move(tls.client);
    EXPECT_TRUE(server_tls && client_tls) << tls.error;

    scfg.role = Role::kServer;
    scfg.conn.local_tp = default_tp();
    scfg.retry = o.retry;
    scfg.seed = o.seed;
    scfg.max_connections = 8;
    QuicEndpointConfig ccfg = scfg;
    if (o.server_cfg) o.server_cfg(scfg);
    make_server();
    ccfg.role = Role::kClient;
    ccfg.retry = false;
    ccfg.seed = o.seed + 1;
    ccfg.cid.server_id[0] = 9;
    client = std::make_unique<QuicEndpoint>(ccfg, *client_tls, &client_app);
    EXPECT_TRUE(client->ok()) << client->error();
    client_proxy.inner = client.get();

    LinkConfig link = o.link;
    if (link.delay_ns == 0) link.delay_ns = 10 * kMillisecond;
    if (link.rate_bps == 0) link.rate_bps = 100'000'000;
    if (link.queue_packets == 0) link.queue_packets = 1000;
    sn = sim.add_node(server_proxy);
    cn = sim.add_node(client_proxy);
    sim.add_address(sn, srv_addr);
    sim.add_address(cn, cli_addr);
    path = sim.add_path(cli_addr, srv_addr, link, link);
    // A connection that keeps asking to run without anything to do spins at one virtual
    // instant: turn that hang into a test failure.
    sim.set_trace([this](const sim::TraceRecord& r) {
      same_time_ = r.time == last_time_ ? same_time_ + 1 : 0;
      last_time_ = r.time;
      if (same_time_ > 200000) throw std::runtime_error("simulator spins at one instant");
    });
  }

  // (Re)creates the server endpoint from scfg: a fresh one knows no connection.
  void make_server() {
    server_proxy.inner = nullptr;
    server.reset();
    server = std::make_unique<QuicEndpoint>(scfg, *server_tls, &server_app);
    EXPECT_TRUE(server->ok()) << server->error();
    server_proxy.inner = server.get();
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

  Connection* server_conn() {
    Connection* out = nullptr;
    server->for_each_connection([&](Connection& c) { out = &c; });
    return out;
  }

  uint64_t drops(DropReason r) const { return sim.stats(sn).drops[static_cast<size_t>(r)]; }

  Address srv_addr = Address::v4(198, 18, 0, 1, 443);
  Address cli_addr = Address::v4(198, 18, 0, 2, 50000);
  Simulator sim;
  std::unique_ptr<TlsContext> server_tls, client_tls;
  ServerApp server_app;
  ClientApp client_app;
  QuicEndpointConfig scfg;
  ProxyEndpoint server_proxy, client_proxy;
  std::unique_ptr<QuicEndpoint> server, client;
  sim::NodeId sn = 0, cn = 0;
  sim::Path path;
  uint64_t last_time_ = 0, same_time_ = 0;
};

inline Tuple tuple_from(const Address& local, const Address& remote) {
  Tuple t;
  t.local = local.ip;
  t.local_port = local.port;
  t.remote = remote.ip;
  t.remote_port = remote.port;
  return t;
}

// Gives the client node a second address with a path of its own to the server.
inline sim::Path add_client_address(Harness& h, const Address& a, uint64_t delay_ns,
                                    uint64_t rate_bps, uint32_t queue_packets) {
  LinkConfig link;
  link.delay_ns = delay_ns;
  link.rate_bps = rate_bps;
  link.queue_packets = queue_packets;
  EXPECT_TRUE(h.sim.add_address(h.cn, a));
  const sim::Path p = h.sim.add_path(a, h.srv_addr, link, link);
  EXPECT_TRUE(p.valid());
  return p;
}

}  // namespace camp::quic::test_conn
