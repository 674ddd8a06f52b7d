// Multipath QUIC (draft-ietf-quic-multipath-21) end to end on DPDK virtual devices (EAL with
// --no-huge --no-pci, a net_ring port: no root needed). The server is what campd runs: campd's own
// QuicService (tools/campd/quic_service.cc: hq-interop over QUIC, one endpoint per worker, a shared
// Stateless Reset key, CIDs naming their worker) behind two DPDK workers, one per queue pair of the
// port, with steering rings between them. The client is camp's QUIC client endpoint with the
// hq-interop client and two local addresses: the handshake runs on path 0, and once it is
// confirmed the client opens path 1 from its second address. Path 0's frames reach one worker's
// queue and path 1's the other's, so the connection's owner gets path 1 only through steering.
// Each path is a rate-limited link with delay and a drop-tail queue in virtual time, stepped by
// the test in one thread, so the run is deterministic in its shape and independent of CPU speed.
// Checked: the 10 MB file arrives whole (SHA-256), each path carried at least 30% of the server's
// STREAM bytes, the other worker steered path 1's datagrams to the owner (counted on both sides),
// nothing was dropped by the workers or left in a ring, and no Stateless Reset was sent.
#include <gnutls/crypto.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "drivers/dpdk/port.h"
#include "drivers/dpdk/steer.h"
#include "drivers/dpdk/worker.h"
#include "drivers/net/l2l3.h"
#include "tests/hq/temp_dir.h"
#include "tests/quic_tls/test_pki.h"
#include "tools/campd/options.h"
#include "tools/campd/quic_service.h"
#include "tools/hq/client.h"

namespace camp::dpdk {
namespace {

constexpr uint8_t kServerIp[4] = {198, 18, 0, 1};
constexpr uint8_t kClientIp[2][4] = {{198, 18, 0, 2}, {198, 18, 0, 3}};
constexpr uint8_t kClientMac[6] = {0x02, 0, 0, 0, 0, 0x22};
constexpr uint16_t kServerPort = 4433;
constexpr uint16_t kClientPort = 50000;  // both addresses: the 4-tuples differ by address
constexpr size_t kFileBytes = 10 * 1024 * 1024;
constexpr uint64_t kMs = 1'000'000;

// One direction of one path: a link of `rate_bps` with a one-way delay and a drop-tail queue of
// `queue_bytes`, in virtual time. Losses make congestion control fill each path's window, which
// is what makes the minRTT scheduler spill onto the second path.
class Pipe {
 public:
  struct Datagram {
    uint64_t at = 0;  // when it leaves the far end of the link
    Tuple tuple;      // as the sender addressed it
    std::vector<uint8_t> payload;
  };
  Pipe(uint64_t rate_bps, uint64_t delay_ns, uint64_t queue_bytes)
      : rate_bps_(rate_bps), delay_ns_(delay_ns), queue_bytes_(queue_bytes) {}

  void send(uint64_t now, const Tuple& t, const uint8_t* p, size_t n) {
    const uint64_t start = std::max(now, busy_until_);
    const uint64_t backlog = (start - now) * rate_bps_ / 8'000'000'000ull;
    if (backlog + n > queue_bytes_) {
      ++dropped;
      return;
    }
    busy_until_ = start + n * 8'000'000'000ull / rate_bps_;
    q_.push_back({busy_until_ + delay_ns_, t, std::vector<uint8_t>(p, p + n)});
    ++sent;
  }
  bool due(uint64_t now) const { return !q_.empty() && q_.front().at <= now; }
  uint64_t next() const { return q_.empty() ? kNever : q_.front().at; }
  Datagram pop() {
    Datagram d = std::move(q_.front());
    q_.pop_front();
    return d;
  }
  bool empty() const { return q_.empty(); }

  uint64_t sent = 0, dropped = 0;

 private:
  uint64_t rate_bps_, delay_ns_, queue_bytes_;
  uint64_t busy_until_ = 0;
  std::deque<Datagram> q_;
};

// The client application: hq-interop on the one connection; path 1 opens from the second
// address once the handshake is confirmed and multipath was negotiated (as camp-client does).
class ClientApp final : public quic::QuicApp {
 public:
  ClientApp(hq::Client& hq, const Tuple& second) : hq_(hq), second_(second) {}
  void on_new_connection(quic::Connection& c) override { conn = &c; }
  void on_connection_progress(quic::Connection& c, quic::TimeNs now) override {
    if (!c.handshake_complete()) return;
    if (!path_tried && c.established()) {
      path_tried = true;
      multipath = c.multipath();
      if (multipath) open_result = c.open_path(second_, now, &path1_id);
    }
    hq_.on_progress(c.streams());
    if (hq_.done() && !closing) {
      closing = true;
      c.close(0, "done");
    }
  }
  void on_connection_closed(quic::Connection& c) override {
    conn = nullptr;
    closed = true;
    info = c.close_info();
    paths.resize(quic::kMaxCidPaths);
    paths.resize(std::min(c.paths(paths), paths.size()));
    hq_.on_connection_closed();
  }

  quic::Connection* conn = nullptr;
  bool path_tried = false, multipath = false, closing = false, closed = false;
  quic::Connection::OpenPathResult open_result = quic::Connection::OpenPathResult::kNotConfirmed;
  uint32_t path1_id = 0;
  quic::CloseInfo info;
  std::vector<quic::Connection::PathInfo> paths;  // at close

 private:
  hq::Client& hq_;
  Tuple second_;
};

std::array<uint8_t, 32> sha256(const std::vector<uint8_t>& v) {
  std::array<uint8_t, 32> h{};
  EXPECT_EQ(gnutls_hash_fast(GNUTLS_DIG_SHA256, v.data(), v.size(), h.data()), 0);
  return h;
}

class MultipathE2eTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  // EAL starts once per process (a second rte_eal_init fails), so --gtest_repeat reuses it; it is
  // cleaned up at exit.
  static void SetUpTestSuite() {
    if (eal_tried_) return;
    eal_tried_ = true;
    const std::string prefix = "camp-mp-e2e-" + std::to_string(getpid());
    std::vector<std::string> args = {"multipath_e2e_test", "--no-huge", "--no-pci", "-m", "512",
                                     "--file-prefix", prefix, "-l", "0",
                                     "--log-level", "error", "--no-telemetry"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    eal_ok_ = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
    if (!eal_ok_) return;
    // Rx pools hold what waits in the rx rings, in the steering ring and backlog, and what the
    // workers are handling; tx pools what waits in the tx rings until the test takes it.
    const uint32_t n_rx = 4096 + steer_pool_extra(2);
    for (int q = 0; q < 2; ++q) {
      const std::string n = std::to_string(q);
      rx_pools_[q] = rte_pktmbuf_pool_create(("mp_rx" + n).c_str(), n_rx, 0, 0,
                                             RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      tx_pools_[q] = rte_pktmbuf_pool_create(("mp_tx" + n).c_str(), 4095, 0, 0,
                                             RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      rx_rings_[q] = rte_ring_create(("mp_rxr" + n).c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_rings_[q] = rte_ring_create(("mp_txr" + n).c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
      ASSERT_TRUE(rx_pools_[q] && tx_pools_[q] && rx_rings_[q] && tx_rings_[q]);
    }
    const int pid = rte_eth_from_rings("mp_ring", rx_rings_, 2, tx_rings_, 2, SOCKET_ID_ANY);
    ASSERT_GE(pid, 0);
    PortConfig pc;
    pc.port_id = static_cast<uint16_t>(pid);
    pc.queues = 2;
    pc.local.add_ipv4(kServerIp);
    pc.local.udp_port = kServerPort;
    std::string err;
    port_ok_ = open_port(pc, {rx_pools_[0], rx_pools_[1]}, &port_, &err);
    ASSERT_TRUE(port_ok_) << err;
    ASSERT_EQ(port_.queues, 2);
    std::atexit([] {
      close_port(port_.port_id);
      rte_eal_cleanup();
    });
  }

  // Frames the server's tx queue q sent, as UDP datagrams addressed to the client.
  static void take_sent(int q, std::vector<RxDatagram>* out, std::vector<std::vector<uint8_t>>*
                        bufs) {
    net::LocalAddrs client;
    std::memcpy(client.mac, kClientMac, 6);
    client.add_ipv4(kClientIp[0]);
    client.add_ipv4(kClientIp[1]);
    client.udp_port = kClientPort;
    rte_mbuf* m[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(tx_rings_[q], reinterpret_cast<void**>(m), 64,
                                       nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) {
        RxDatagram d;
        const net::Verdict v = net::classify(rte_pktmbuf_mtod(m[i], uint8_t*), m[i]->data_len,
                                             m[i]->data_len, client, {}, &d);
        EXPECT_EQ(v.action, net::Action::udp) << "the server sent a frame that is not UDP to us";
        if (v.action == net::Action::udp) {
          bufs->emplace_back(d.data, d.data + d.len);
          out->push_back(d);
        }
      }
      rte_pktmbuf_free_bulk(m, n);
    }
  }
  static void discard(rte_ring* r) {
    rte_mbuf* m[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(r, reinterpret_cast<void**>(m), 64, nullptr)) > 0)
      rte_pktmbuf_free_bulk(m, n);
  }

  static inline bool eal_tried_ = false, eal_ok_ = false, port_ok_ = false;
  static inline rte_mempool* rx_pools_[2] = {};
  static inline rte_mempool* tx_pools_[2] = {};
  static inline rte_ring* rx_rings_[2] = {};
  static inline rte_ring* tx_rings_[2] = {};
  static inline Port port_;
};

// Path p's client frames arrive on queue p ^ owner: the Initial (path 0) reaches worker `owner`,
// which therefore owns the connection, and path 1 reaches the other worker.
TEST_P(MultipathE2eTest, TwoPathsFetchOverHqInteropWithSteering) {
  ASSERT_TRUE(eal_ok_) << "EAL did not start (--no-huge, no root needed)";
  ASSERT_TRUE(port_ok_ && port_.queues == 2) << "the net_ring port did not open";
  const uint16_t owner = GetParam(), other = owner ^ 1;
  const auto wall_start = std::chrono::steady_clock::now();

  // campd's configuration: a www root with the file, a certificate, two workers.
  hq::test::TempDir dir;
  ASSERT_EQ(::mkdir((dir / "www").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir / "out").c_str(), 0755), 0);
  const std::vector<uint8_t> file = hq::test::random_bytes(kFileBytes, 2024 + owner);
  hq::test::write_file(dir / "www/big.bin", file);
  const quic::test::KeyPair ca = quic::test::make_ca("multipath e2e CA");
  const quic::test::KeyPair leaf = quic::test::make_server_cert(ca, "server.test");
  hq::test::write_file(dir / "server.pem", {leaf.cert_pem.begin(), leaf.cert_pem.end()});
  hq::test::write_file(dir / "server.key", {leaf.key_pem.begin(), leaf.key_pem.end()});
  campd::Options opt;
  opt.www = dir / "www";
  opt.cert_file = dir / "server.pem";
  opt.key_file = dir / "server.key";
  std::string err;
  std::unique_ptr<campd::QuicService> service = campd::QuicService::create(opt, &err);
  ASSERT_TRUE(service) << err;

  std::unique_ptr<Worker> wk[2];
  Worker* workers[2];
  WorkerChannel chan[2];
  std::atomic<bool> quit{false};
  quic::QuicEndpoint* server_ep[2];
  for (uint16_t w = 0; w < 2; ++w) {
    wk[w] = std::make_unique<Worker>();
    Worker& k = *wk[w];
    k.id = w;
    k.tx_pool = tx_pools_[w];
    k.endpoint = service->make_worker_endpoint(w, 2, &err);
    ASSERT_NE(k.endpoint, nullptr) << err;
    server_ep[w] = dynamic_cast<quic::QuicEndpoint*>(k.endpoint);
    ASSERT_NE(server_ep[w], nullptr);
    k.channel = &chan[w];
    k.quit = &quit;
    WorkerQueue& q = k.queues[k.n_queues++];
    q.port = port_.port_id;
    q.queue = w;
    q.local = &port_.local;
    q.mtu = port_.mtu;
    workers[w] = &k;
  }
  ASSERT_EQ(steer_unsupported(workers, 2), "");
  SteerRings rings;
  const int sockets[2] = {SOCKET_ID_ANY, SOCKET_ID_ANY};
  static unsigned run = 0;  // ring names stay unique if a failed run left its rings behind
  const std::string ring_prefix = "mpe" + std::to_string(run++);
  ASSERT_TRUE(rings.create(2, sockets, &err, ring_prefix.c_str())) << err;
  rings.attach(workers, 2);
  const unsigned rx_avail[2] = {rte_mempool_avail_count(rx_pools_[0]),
                                rte_mempool_avail_count(rx_pools_[1])};

  // The client, configured as camp-client is with two --path addresses.
  quic::TlsClientConfig tc;
  tc.ca_pem = ca.cert_pem;
  tc.alpn = {"hq-interop"};
  std::unique_ptr<quic::TlsContext> client_tls = quic::TlsContext::client(tc, &err);
  ASSERT_TRUE(client_tls) << err;
  hq::Client hq(dir / "out");
  ASSERT_TRUE(hq.ok()) << hq.error();
  hq.add_request("/big.bin");
  Tuple path_tuple[2];
  for (int p = 0; p < 2; ++p) {
    path_tuple[p].local = IpAddr::v4(kClientIp[p]);
    path_tuple[p].local_port = kClientPort;
    path_tuple[p].remote = IpAddr::v4(kServerIp);
    path_tuple[p].remote_port = kServerPort;
    path_tuple[p].iface = static_cast<uint16_t>(p);
    std::memcpy(path_tuple[p].next_hop_mac, port_.local.mac, 6);
  }
  ClientApp app(hq, path_tuple[1]);
  quic::QuicEndpointConfig ccfg;
  ccfg.role = quic::Role::kClient;
  ccfg.max_connections = 1;
  quic::QuicEndpoint client(ccfg, *client_tls, &app);
  ASSERT_TRUE(client.ok()) << client.error();
  quic::ConnectionConfig cc;
  cc.local_tp.max_idle_timeout = 30000;
  cc.local_tp.initial_max_data = 64 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_remote = 1 << 20;
  cc.local_tp.initial_max_stream_data_uni = 1 << 20;
  cc.local_tp.initial_max_streams_bidi = 16;
  cc.local_tp.initial_max_streams_uni = 16;
  cc.local_tp.active_connection_id_limit = 4;
  cc.local_tp.initial_max_path_id = 1;  // two local addresses: path IDs 0 and 1
  cc.server_name = "server.test";

  // Each path: 40 Mbit/s each way, 5 ms one way, a queue of about one bandwidth-delay product.
  std::vector<Pipe> up, down;  // client -> server, server -> client, by path
  for (int p = 0; p < 2; ++p) {
    up.emplace_back(40'000'000, 5 * kMs, 50'000);
    down.emplace_back(40'000'000, 5 * kMs, 50'000);
  }
  auto path_of = [](const IpAddr& client_addr) {
    return client_addr == IpAddr::v4(kClientIp[1]) ? 1 : 0;
  };

  // The client's tx slots: fixed buffers, handed out again for every call.
  constexpr uint16_t kSlots = 64;
  static uint8_t slot_buf[kSlots][2048];
  TxSlot slots[kSlots];
  WorkerStats client_stats;
  uint64_t client_next = kNever;
  uint64_t now = 1'000'000'000;  // virtual time
  auto client_call = [&](auto&& call) {  // one call into the client; its datagrams go on the links
    for (;;) {
      for (uint16_t i = 0; i < kSlots; ++i) {
        slots[i] = TxSlot{};
        slots[i].data = slot_buf[i];
        slots[i].cap = sizeof slot_buf[i];
      }
      TxBatch tx(slots, kSlots);
      const bool again = call(tx);
      client_next = std::min(client_next, tx.requested_timer());
      for (uint16_t i = 0; i < tx.used(); ++i) {
        EXPECT_EQ(slots[i].tuple.remote, IpAddr::v4(kServerIp));
        up[path_of(slots[i].tuple.local)].send(now, slots[i].tuple, slots[i].data, slots[i].len);
      }
      if (!again || tx.used() < kSlots) return;  // a full batch: there may be more to send
    }
  };

  quic::Connection* conn = client.connect(path_tuple[0], now, cc);
  ASSERT_NE(conn, nullptr) << client.last_error();
  client_next = now;

  // What the server's connection says about its paths, kept while it lives.
  std::vector<quic::Connection::PathInfo> server_paths(quic::kMaxCidPaths);
  size_t n_server_paths = 0;
  int server_owner = -1;

  const uint64_t virtual_end = now + 60'000 * kMs;
  const auto wall_limit = std::chrono::seconds(25);
  uint64_t turns = 0;
  bool stalled = false;
  std::vector<RxDatagram> rx;
  std::vector<std::vector<uint8_t>> rx_bufs;
  while (!(app.closed && server_ep[0]->connection_count() == 0 &&
           server_ep[1]->connection_count() == 0)) {
    if (now > virtual_end || std::chrono::steady_clock::now() - wall_start > wall_limit) {
      stalled = true;
      break;
    }
    ++turns;
    bool busy = false;
    // Client frames that reach the port: path p on queue p ^ owner, as RSS would spread them.
    for (int p = 0; p < 2; ++p) {
      const int q = p ^ owner;
      while (up[p].due(now) && rte_ring_free_count(rx_rings_[q]) > 0) {
        Pipe::Datagram d = up[p].pop();
        d.tuple.iface = port_.port_id;
        std::memcpy(d.tuple.next_hop_mac, port_.local.mac, 6);
        rte_mbuf* m = rte_pktmbuf_alloc(rx_pools_[q]);
        ASSERT_NE(m, nullptr);
        uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
        std::memcpy(f + net::udp_headroom(4), d.payload.data(), d.payload.size());
        m->data_len = m->pkt_len = net::build_udp(f, static_cast<uint16_t>(d.payload.size()),
                                                  d.tuple, kClientMac, false, false);
        ASSERT_EQ(rte_ring_enqueue(rx_rings_[q], m), 0);
        busy = true;
      }
    }
    // Both workers take a turn: rx, steering rings, timers.
    for (int w = 0; w < 2; ++w) busy |= poll_once(*wk[w], now) != 0;
    // What the server sent goes onto the path its destination address names.
    rx.clear();
    rx_bufs.clear();
    for (int q = 0; q < 2; ++q) take_sent(q, &rx, &rx_bufs);
    for (size_t i = 0; i < rx.size(); ++i)
      down[path_of(rx[i].tuple.local)].send(now, rx[i].tuple, rx_bufs[i].data(), rx[i].len);
    busy |= !rx.empty();
    // Datagrams that reached the client.
    for (int p = 0; p < 2; ++p) {
      std::vector<Pipe::Datagram> got;
      while (down[p].due(now)) got.push_back(down[p].pop());
      for (size_t i = 0; i < got.size(); i += kSlots) {
        RxDatagram in[kSlots];
        const size_t n = std::min<size_t>(kSlots, got.size() - i);
        for (size_t j = 0; j < n; ++j) {
          in[j].data = got[i + j].payload.data();
          in[j].len = static_cast<uint16_t>(got[i + j].payload.size());
          in[j].room = in[j].len;
          in[j].tuple = got[i + j].tuple;
          in[j].tuple.iface = static_cast<uint16_t>(p);
        }
        client_call([&](TxBatch& tx) {
          client.on_datagrams(in, n, now, tx, client_stats);
          return false;
        });
        busy = true;
      }
    }
    if (now >= client_next) {
      client_next = kNever;
      client_call([&](TxBatch& tx) {
        client_next = std::min(client_next, client.on_timer(now, tx, client_stats));
        return true;
      });
    }
    // The server's view of its connection, while it has one.
    for (int w = 0; w < 2; ++w)
      server_ep[w]->for_each_connection([&](quic::Connection& c) {
        server_owner = w;
        n_server_paths = std::min(c.paths(server_paths), server_paths.size());
      });
    if (busy) continue;  // the same instant until nothing moves
    uint64_t next = std::min({client_next, wk[0]->next_timer, wk[1]->next_timer});
    for (int p = 0; p < 2; ++p) next = std::min({next, up[p].next(), down[p].next()});
    if (next == kNever) {
      stalled = !(app.closed && server_ep[0]->connection_count() == 0 &&
                  server_ep[1]->connection_count() == 0);
      break;
    }
    now = std::max(next, now + 1);  // a timer that asks for "now" again still moves time on
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  rings.drain(workers, 2);
  rings.release();
  for (int q = 0; q < 2; ++q) {
    discard(rx_rings_[q]);
    discard(tx_rings_[q]);
  }
  const WorkerStats& so = wk[owner]->stats;
  const WorkerStats& sx = wk[other]->stats;

  uint64_t stream_total = 0;
  for (size_t i = 0; i < n_server_paths; ++i) stream_total += server_paths[i].stream_bytes_sent;
  std::printf("owner worker %u, virtual %.3f s, wall %.2f s, %llu turns\n", owner,
              (now - 1'000'000'000) / 1e9, wall_s, static_cast<unsigned long long>(turns));
  for (size_t i = 0; i < n_server_paths; ++i) {
    const auto& p = server_paths[i];
    std::printf("server path %u: %s, %llu packets, %llu stream bytes (%.1f%%), lost %llu\n",
                p.path_id, p.validated ? "validated" : "not validated",
                static_cast<unsigned long long>(p.packets_sent),
                static_cast<unsigned long long>(p.stream_bytes_sent),
                stream_total ? 100.0 * p.stream_bytes_sent / stream_total : 0.0,
                static_cast<unsigned long long>(p.packets_lost));
  }
  for (int p = 0; p < 2; ++p)
    std::printf("link %d: up %llu sent %llu dropped, down %llu sent %llu dropped\n", p,
                static_cast<unsigned long long>(up[p].sent),
                static_cast<unsigned long long>(up[p].dropped),
                static_cast<unsigned long long>(down[p].sent),
                static_cast<unsigned long long>(down[p].dropped));
  for (int w = 0; w < 2; ++w) {
    const WorkerStats& s = wk[w]->stats;
    std::printf("worker %d: rx %llu, udp_rx %llu, udp_tx %llu, steered_out %llu, steered_in "
                "%llu, steer_held %llu, dropped %llu\n", w,
                static_cast<unsigned long long>(s.rx_packets),
                static_cast<unsigned long long>(s.udp_rx),
                static_cast<unsigned long long>(s.udp_tx),
                static_cast<unsigned long long>(s.steered_out),
                static_cast<unsigned long long>(s.steered_in),
                static_cast<unsigned long long>(s.steer_held),
                static_cast<unsigned long long>(s.dropped()));
  }
  std::printf("%s\n", service->summary().c_str());

  EXPECT_FALSE(stalled) << "the transfer did not finish (virtual " << (now - 1'000'000'000) / 1e9
                        << " s, wall " << wall_s << " s)";
  // The file, whole.
  ASSERT_EQ(hq.results().size(), 1u);
  const hq::RequestResult& r = hq.results()[0];
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.bytes, kFileBytes);
  std::vector<uint8_t> got;
  ASSERT_TRUE(hq::test::read_file(dir / "out/big.bin", &got));
  EXPECT_EQ(got.size(), file.size());
  EXPECT_TRUE(sha256(got) == sha256(file)) << "the fetched file differs from the served one";
  EXPECT_EQ(r.fnv1a, hq::fnv1a64(0xcbf29ce484222325ull, file.data(), file.size()));
  // Closed cleanly by the client, after multipath was negotiated and path 1 opened.
  EXPECT_TRUE(app.closed);
  EXPECT_FALSE(app.info.by_peer);
  EXPECT_EQ(app.info.error_code, 0u) << app.info.reason;
  EXPECT_TRUE(app.multipath);
  EXPECT_EQ(app.open_result, quic::Connection::OpenPathResult::kOk);
  EXPECT_EQ(app.path1_id, 1u);
  ASSERT_EQ(app.paths.size(), 2u);
  for (const auto& p : app.paths) {
    EXPECT_TRUE(p.validated) << "client path " << p.path_id;
    EXPECT_FALSE(p.abandoned) << "client path " << p.path_id;
    EXPECT_GT(p.packets_received, 100u) << "client path " << p.path_id;
  }
  // The connection lived on the worker that got the Initial, and both paths carried its data.
  EXPECT_EQ(server_owner, owner);
  ASSERT_EQ(n_server_paths, 2u);
  EXPECT_GE(stream_total, kFileBytes);
  for (size_t i = 0; i < n_server_paths; ++i) {
    EXPECT_TRUE(server_paths[i].validated) << "server path " << server_paths[i].path_id;
    EXPECT_GE(server_paths[i].stream_bytes_sent * 10, stream_total * 3)
        << "server path " << server_paths[i].path_id << " carried under 30% of the STREAM bytes";
  }
  // Path 1 reached the other worker and was handed to the owner through the ring: every such
  // datagram arrived (steered_out == steered_in), none was held for long or dropped.
  EXPECT_GT(sx.steered_out, 100u);
  EXPECT_EQ(so.steered_in, sx.steered_out);
  EXPECT_EQ(so.steered_out, 0u);
  EXPECT_EQ(sx.steered_in, 0u);
  EXPECT_EQ(so.steer_drained + sx.steer_drained, 0u);
  EXPECT_EQ(wk[0]->held_total + wk[1]->held_total, 0u);
  // The other worker handled nothing itself: the connection is not its own.
  EXPECT_EQ(sx.udp_rx, 0u);
  EXPECT_EQ(sx.udp_tx, 0u);
  EXPECT_EQ(so.udp_rx, so.rx_packets + so.steered_in);
  for (int w = 0; w < 2; ++w) {
    const WorkerStats& s = wk[w]->stats;
    for (size_t i = 0; i < kDropReasonCount; ++i)
      EXPECT_EQ(s.drops[i], 0u) << "worker " << w << " dropped for "
                                << drop_reason_name(static_cast<DropReason>(i));
    EXPECT_EQ(server_ep[w]->counters().stateless_resets_sent, 0u) << "worker " << w;
  }
  EXPECT_EQ(server_ep[owner]->counters().accepted, 1u);
  EXPECT_EQ(server_ep[other]->counters().accepted, 0u);
  EXPECT_NE(service->summary().find("1 requests served"), std::string::npos)
      << service->summary();
  // Every rx mbuf went back to its pool (the owner freed the other worker's).
  EXPECT_EQ(rte_mempool_avail_count(rx_pools_[0]), rx_avail[0]);
  EXPECT_EQ(rte_mempool_avail_count(rx_pools_[1]), rx_avail[1]);
  EXPECT_LT(wall_s, 25.0);
}

INSTANTIATE_TEST_SUITE_P(Owner, MultipathE2eTest, ::testing::Values(uint16_t{0}, uint16_t{1}),
                         [](const ::testing::TestParamInfo<uint16_t>& i) {
                           return "worker" + std::to_string(i.param) + "_owns";
                         });

}  // namespace
}  // namespace camp::dpdk
