// QUIC datapath cost on one core. A server Connection sends one large bidirectional stream in
// 1200-byte datagrams as fast as it can into DPDK's net_null port (egress); a client Connection
// takes the same datagrams (decrypt, parse, reassembly, ACKs: ingress). The same run measures the
// raw AES-128-GCM seal rate of the library the connections use (intel-ipsec-mb through
// PacketAead) on 1200-byte buffers, and the heap held per idle server connection of a
// QuicEndpoint. Human-readable lines go to stderr; the last three stdout lines are the JSON
// results.
//
// Clock. The connections run on a virtual clock, so pacing and the congestion window never hold
// the CPU back. Each datagram the server sends advances virtual time by its serialisation time on
// a 400 Gbit/s wire (kWireNs); when send() returns nothing and the connection's next wake-up is a
// pacing wake-up (within kMaxPacingJump), virtual time jumps there and the burst goes on. Each
// burst reaches the client and its ACKs reach the server kOneWayNs later, so the server sees an
// RTT of a few microseconds and a window that grows without loss: cwnd and pacing rate soon
// exceed what the core can fill. CPU time is measured with the TSC around the real calls only.
//
// What is timed. Egress: the worker's timer check (next_timeout / on_timeout), send() of each
// datagram written straight into an mbuf after room for Ethernet/IPv4/UDP headers, build_udp(),
// rte_eth_tx_burst() of the burst of up to 32 (net_null frees them), and on_datagram() of the
// client's ACK packets. Ingress: the client's on_datagram() of each data datagram and its send()
// of the ACK / flow control packets that follow the burst. The application's stream write (server)
// and read (client) are timed apart and reported on stderr only; the copy of each datagram for the
// client happens outside both timed regions. Checksums: as with a NIC's offload (the flags are set
// and net_null ignores them); --sw-cksum computes them in software instead.
#include <malloc.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/tls/tls_context.h"
#include "drivers/dpdk/port.h"
#include "drivers/net/l2l3.h"
#include "tests/quic_tls/test_pki.h"

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif
#ifdef BENCH_ASAN
// ASan's allocator keeps its own books (mallinfo2 knows nothing of it); from its public interface.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace {

using namespace camp;
using namespace camp::quic;

constexpr unsigned kBurst = 32;
constexpr uint16_t kPayload = 1200;                       // max_datagram_size and crypto buffer
constexpr uint16_t kHeadroom = net::udp_headroom(4);      // Ethernet + IPv4 + UDP
constexpr uint16_t kSlotCap = 1472;
constexpr DurationNs kWireNs = kPayload * 8 / 400;        // 1200 bytes at 400 Gbit/s: 24 ns
constexpr DurationNs kOneWayNs = 1000;
constexpr DurationNs kMaxPacingJump = 100'000;
constexpr size_t kAad = 13;  // a 1-RTT short header: 1 + 10-byte CID + 2-byte packet number

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_quic: %s\n", msg.c_str());
  std::exit(1);
}

double seconds_of(uint64_t cycles) { return static_cast<double>(cycles) / rte_get_tsc_hz(); }

TransportParameters bench_tp() {
  TransportParameters tp;
  tp.max_idle_timeout = 30000;
  tp.initial_max_data = 16 << 20;
  tp.initial_max_stream_data_bidi_local = 4 << 20;
  tp.initial_max_stream_data_bidi_remote = 4 << 20;
  tp.initial_max_stream_data_uni = 4 << 20;
  tp.initial_max_streams_bidi = 100;
  tp.initial_max_streams_uni = 100;
  tp.active_connection_id_limit = 4;
  return tp;
}

// Heap in use: chunks in the malloc arenas plus those mmapped on their own (large buffers).
uint64_t heap_in_use() {
#ifdef BENCH_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// ---- Two endpoints joined in memory, on the virtual clock -------------------------------------

// Delivers every datagram kNetDelayNs after it was sent, in order. Optionally adds up the heap
// growth across the server endpoint's calls only (the copies made here and all client work fall
// outside those calls).
class Net {
 public:
  static constexpr DurationNs kNetDelayNs = 50'000;
  static constexpr uint16_t kBatch = 64;

  Net(QuicEndpoint& client, QuicEndpoint& server, bool measure_server)
      : sides_{{&client, false}, {&server, measure_server}}, bufs_(kBatch) {}

  // Runs both endpoints until nothing is due before `until`; now ends at `until`.
  void run(TimeNs& now, TimeNs until) {
    for (int spins = 0;;) {
      bool any = false;
      for (int i = 0; i < 2; ++i) {
        Side& s = sides_[i];
        if (s.wake <= now || (!s.inbox.empty() && s.inbox.front().arrive <= now)) {
          step(s, sides_[1 - i], now);
          any = true;
        }
      }
      if (any) {
        if (++spins > 100000) die("endpoints spin at one instant");
        continue;
      }
      spins = 0;
      TimeNs next = kNever;
      for (Side& s : sides_) {
        next = std::min(next, s.wake);
        if (!s.inbox.empty()) next = std::min(next, s.inbox.front().arrive);
      }
      if (next >= until) break;
      now = next;
    }
    now = until;
  }
  int64_t server_heap() const { return sides_[1].heap; }

 private:
  struct InFlight {
    std::vector<uint8_t> data;
    Tuple tuple;  // as the receiver sees it
    TimeNs arrive;
  };
  struct Side {
    QuicEndpoint* ep;
    bool measure;
    std::deque<InFlight> inbox;
    TimeNs wake = 0;
    int64_t heap = 0;
  };

  TxBatch fresh_batch() {
    for (uint16_t i = 0; i < kBatch; ++i) {
      slots_[i] = TxSlot{};
      slots_[i].data = bufs_[i].data();
      slots_[i].cap = kSlotCap;
    }
    return TxBatch(slots_, kBatch);
  }

  template <class F>
  void call(Side& s, F&& f) {
    const uint64_t before = s.measure ? heap_in_use() : 0;
    f();
    if (s.measure) s.heap += static_cast<int64_t>(heap_in_use() - before);
  }

  void collect(TxBatch& b, Side& peer, TimeNs now) {
    for (uint16_t i = 0; i < b.used(); ++i) {
      const TxSlot& t = slots_[i];
      InFlight d{{t.data, t.data + t.len}, {}, now + kNetDelayNs};
      d.tuple.local = t.tuple.remote;
      d.tuple.local_port = t.tuple.remote_port;
      d.tuple.remote = t.tuple.local;
      d.tuple.remote_port = t.tuple.local_port;
      peer.inbox.push_back(std::move(d));
    }
  }

  void step(Side& s, Side& peer, TimeNs now) {
    while (!s.inbox.empty() && s.inbox.front().arrive <= now) {
      RxDatagram rx[kBurst];
      size_t n = 0;
      while (n < kBurst && n < s.inbox.size() && s.inbox[n].arrive <= now) {
        rx[n].data = s.inbox[n].data.data();
        rx[n].len = static_cast<uint16_t>(s.inbox[n].data.size());
        rx[n].tuple = s.inbox[n].tuple;
        ++n;
      }
      TxBatch b = fresh_batch();
      call(s, [&] { s.ep->on_datagrams(rx, n, now, b, stats_); });
      collect(b, peer, now);
      s.inbox.erase(s.inbox.begin(), s.inbox.begin() + static_cast<long>(n));
    }
    for (;;) {
      TxBatch b = fresh_batch();
      call(s, [&] { s.wake = s.ep->on_timer(now, b, stats_); });
      collect(b, peer, now);
      if (b.used() < kBatch) break;
    }
  }

  Side sides_[2];
  std::vector<std::array<uint8_t, kSlotCap>> bufs_;
  TxSlot slots_[kBatch];
  WorkerStats stats_;
};

struct Setup {
  std::unique_ptr<TlsContext> server_tls, client_tls;
  QuicEndpointConfig scfg, ccfg;
  Tuple tuple;  // the client's: local = client, remote = server
};

Setup make_setup() {
  Setup s;
  test::TlsPair tls = test::make_tls_pair("camp-bench", "bench.camp", false);
  if (!tls.server || !tls.client) die("TLS set-up: " + tls.error);
  s.server_tls = std::move(tls.server);
  s.client_tls = std::move(tls.client);
  s.scfg.role = Role::kServer;
  s.scfg.conn.local_tp = bench_tp();
  s.scfg.conn.max_datagram_size = kPayload;
  s.ccfg = s.scfg;
  s.ccfg.role = Role::kClient;
  s.ccfg.cid.server_id[0] = 9;
  s.ccfg.conn.server_name = "bench.camp";
  const uint8_t srv[4] = {198, 18, 0, 1}, cli[4] = {198, 18, 0, 2};
  s.tuple.local = IpAddr::v4(cli);
  s.tuple.local_port = 50000;
  s.tuple.remote = IpAddr::v4(srv);
  s.tuple.remote_port = 443;
  return s;
}

// ---- The raw AES-128-GCM rate -------------------------------------------------------------

// Seals of 1200-byte buffers through PacketAead, in slices interleaved with the datapath's
// rounds, so both see the same share of a shared machine's noise (measured in two phases the
// ratio followed whatever else ran during each).
class CryptoRate {
 public:
  CryptoRate() : aad_(kAad, 0x41), buf_(kPayload, 0x5a) {
    std::array<uint8_t, 16> key{};
    std::array<uint8_t, kAeadIvLen> iv{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
    if (!mgr_.ok() || aead_.init(mgr_, Suite::aes_128_gcm_sha256, key, iv) != CryptoStatus::ok) {
      die("ipsec-mb AES-128-GCM set-up failed");
    }
  }
  // n seals, timed.
  void slice(int n) {
    uint64_t bad = 0;
    const uint64_t t0 = rte_rdtsc();
    for (int i = 0; i < n; ++i) {
      // In place: each round encrypts the last round's ciphertext, as costly as fresh plaintext.
      bad += aead_.seal(mgr_, ops_++, aad_, buf_, tag_) != CryptoStatus::ok;
    }
    cycles_ += rte_rdtsc() - t0;
    if (bad) die("AES-128-GCM seal failed");
  }
  double mops() const { return ops_ / seconds_of(cycles_) / 1e6; }
  const char* arch() const { return mgr_.arch_name(); }

 private:
  ImbManager mgr_;
  PacketAead aead_;
  std::vector<uint8_t> aad_, buf_;
  std::array<uint8_t, kAeadTagLen> tag_{};
  uint64_t ops_ = 0, cycles_ = 0;
};

// ---- One connection's stream, server egress and client ingress ---------------------------

struct Port {
  uint16_t id = 0;
  rte_mempool* pool = nullptr;
  uint8_t mac[6] = {};
  bool sw_cksum = false;
};

struct DataResult {
  uint64_t egress_pkts = 0, egress_bytes = 0, egress_cycles = 0;
  uint64_t ingress_pkts = 0, ingress_bytes = 0, ingress_cycles = 0;
  uint64_t tx_cycles = 0, ack_cycles = 0;  // parts of egress_cycles: tx burst, ACK processing
  uint64_t acks = 0, write_cycles = 0, read_cycles = 0, read_bytes = 0;
  uint64_t bursts = 0, pacing_jumps = 0, stalls = 0, tx_refused = 0;
};

class DataPath {
 public:
  DataPath(Connection& srv, Connection& cli, const Port& port, TimeNs now)
      : srv_(srv), cli_(cli), port_(port), now_(now), chunk_(64 << 10) {
    for (size_t i = 0; i < chunk_.size(); ++i) chunk_[i] = static_cast<uint8_t>(i * 131 + 7);
    const std::optional<uint64_t> id = srv.streams().open_stream(true);
    if (!id) die("server could not open a stream");
    sid_ = *id;
    app_write();
  }

  // Rounds for `seconds`; with a CryptoRate, a slice of it after every 64 rounds.
  void run(double seconds, DataResult& r, CryptoRate* crypto = nullptr) {
    const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(seconds * rte_get_tsc_hz());
    while (rte_rdtsc() < end) {
      for (int i = 0; i < 64; ++i) round(r);
      if (srv_.closed() || cli_.closed()) {
        die("connection closed: " + srv_.close_info().reason + " / " + cli_.close_info().reason);
      }
      if (crypto) crypto->slice(256);
    }
  }

 private:
  void app_write() {
    while (srv_.streams().write(sid_, chunk_, false).bytes == chunk_.size()) {
    }
  }

  void round(DataResult& r) {
    // Egress: the worker's timer check, then up to a burst of datagrams into mbufs.
    const uint16_t hr = kHeadroom;
    uint64_t t0 = rte_rdtsc();
    if (srv_.next_timeout(now_) <= now_) srv_.on_timeout(now_);
    rte_mbuf* m[kBurst];
    if (rte_pktmbuf_alloc_bulk(port_.pool, m, kBurst) != 0) die("mbuf pool empty");
    unsigned n = 0, jumps = 0;
    uint64_t bytes = 0;
    while (n < kBurst) {
      uint8_t* frame = rte_pktmbuf_mtod(m[n], uint8_t*);
      Tuple t;
      const size_t len = srv_.send(frame + hr, m[n]->buf_len - m[n]->data_off - hr, &t, now_);
      if (len == 0) {
        const TimeNs w = srv_.next_timeout(now_);
        if (w > now_ && w - now_ <= kMaxPacingJump && jumps++ < kBurst) {
          now_ = w;  // a pacing wake-up: the virtual wire is free by then
          ++r.pacing_jumps;
          continue;
        }
        break;
      }
      const bool off = !port_.sw_cksum;
      m[n]->data_len = m[n]->pkt_len = net::build_udp(frame, static_cast<uint16_t>(len), t,
                                                      port_.mac, off, off);
      if (off) {
        m[n]->l2_len = RTE_ETHER_HDR_LEN;
        m[n]->l3_len = hr - RTE_ETHER_HDR_LEN - 8;
        m[n]->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
      }
      lens_[n] = static_cast<uint16_t>(len);
      bytes += len;
      ++n;
      now_ += kWireNs;
    }
    if (n < kBurst) rte_pktmbuf_free_bulk(m + n, kBurst - n);
    uint64_t t1 = rte_rdtsc();
    for (unsigned i = 0; i < n; ++i) {  // the client's copy, not timed
      std::memcpy(rx_[i].data(), rte_pktmbuf_mtod_offset(m[i], uint8_t*, hr), lens_[i]);
    }
    uint64_t t2 = rte_rdtsc();
    const uint16_t sent = rte_eth_tx_burst(port_.id, 0, m, static_cast<uint16_t>(n));
    if (sent < n) {
      r.tx_refused += n - sent;
      rte_pktmbuf_free_bulk(m + sent, n - sent);
    }
    uint64_t t3 = rte_rdtsc();
    r.egress_cycles += (t1 - t0) + (t3 - t2);
    r.tx_cycles += t3 - t2;
    r.egress_pkts += n;
    r.egress_bytes += bytes;
    ++r.bursts;

    // Ingress: the client takes the burst, the application reads, the client answers.
    now_ += kOneWayNs;
    const Tuple ct = cli_.tuple();
    t0 = rte_rdtsc();
    for (unsigned i = 0; i < n; ++i) cli_.on_datagram(rx_[i].data(), lens_[i], ct, now_);
    t1 = rte_rdtsc();
    if (!cstream_) cstream_ = cli_.streams().accept_stream();
    if (cstream_) {
      for (;;) {
        const StreamIo io = cli_.streams().read(*cstream_, sink_);
        r.read_bytes += io.bytes;
        if (io.bytes == 0) break;
      }
    }
    t2 = rte_rdtsc();
    unsigned a = 0;
    Tuple at;
    while (a < acks_.size() &&
           (ack_lens_[a] = static_cast<uint16_t>(cli_.send(acks_[a].data(), kSlotCap, &at, now_))))
      ++a;
    t3 = rte_rdtsc();
    r.ingress_cycles += (t1 - t0) + (t3 - t2);
    r.read_cycles += t2 - t1;
    r.ingress_pkts += n;
    r.ingress_bytes += bytes;
    r.acks += a;

    // Egress again: the server takes the ACKs. Then its application refills the stream.
    now_ += kOneWayNs;
    const Tuple st = srv_.tuple();
    t0 = rte_rdtsc();
    for (unsigned i = 0; i < a; ++i) srv_.on_datagram(acks_[i].data(), ack_lens_[i], st, now_);
    t1 = rte_rdtsc();
    app_write();
    t2 = rte_rdtsc();
    r.egress_cycles += t1 - t0;
    r.ack_cycles += t1 - t0;
    r.write_cycles += t2 - t1;

    if (n == 0 && a == 0) {
      // Neither side had anything to do now (a delayed ACK, a timer): jump to the next wake-up.
      const TimeNs w = std::min(srv_.next_timeout(now_), cli_.next_timeout(now_));
      if (w == kNever) die("the transfer stalled with no timer armed");
      now_ = std::max(w, now_ + 1000);
      if (cli_.next_timeout(now_) <= now_) cli_.on_timeout(now_);
      ++r.stalls;
    }
  }

  Connection& srv_;
  Connection& cli_;
  Port port_;
  TimeNs now_;
  std::vector<uint8_t> chunk_;
  uint64_t sid_ = 0;
  std::optional<uint64_t> cstream_;
  std::array<std::array<uint8_t, kSlotCap>, kBurst> rx_{};
  std::array<uint16_t, kBurst> lens_{};
  std::array<std::array<uint8_t, kSlotCap>, 8> acks_{};
  std::array<uint16_t, 8> ack_lens_{};
  std::array<uint8_t, 64 << 10> sink_{};
};

DataResult datapath(Setup& s, const Port& port, double seconds, CryptoRate& crypto) {
  QuicEndpoint server(s.scfg, *s.server_tls, nullptr);
  QuicEndpoint client(s.ccfg, *s.client_tls, nullptr);
  if (!server.ok() || !client.ok()) die("endpoint: " + server.error() + client.error());
  TimeNs now = kSecond;
  Connection* cli = client.connect(s.tuple, now, s.ccfg.conn);
  if (!cli) die("connect: " + client.last_error());
  Net net(client, server, false);
  net.run(now, now + 100 * kMillisecond);
  Connection* srv = nullptr;
  server.for_each_connection([&](Connection& c) { srv = &c; });
  if (!srv || !srv->established() || !cli->established()) die("handshake did not complete");
  const std::optional<Suite> suite = cli->tls()->suite();
  if (!suite || *suite != Suite::aes_128_gcm_sha256) die("the handshake did not pick AES-128-GCM");

  auto dp = std::make_unique<DataPath>(*srv, *cli, port, now);
  DataResult warm, r;
  dp->run(std::min(0.3, seconds / 4), warm);  // slow start and caches, not counted
  dp->run(2 * seconds, r, &crypto);  // egress, ingress and crypto slices interleave
  const auto mpps = [](uint64_t p, uint64_t c) { return p / seconds_of(c) / 1e6; };
  std::fprintf(stderr,
               "egress:  %.3f Mpps %.2f Gbit/s (%llu datagrams, %.1f per burst, %.0f ns each; "
               "app stream write %.0f ns per datagram, not counted)\n",
               mpps(r.egress_pkts, r.egress_cycles),
               r.egress_bytes * 8 / seconds_of(r.egress_cycles) / 1e9,
               static_cast<unsigned long long>(r.egress_pkts),
               static_cast<double>(r.egress_pkts) / r.bursts,
               seconds_of(r.egress_cycles) * 1e9 / r.egress_pkts,
               seconds_of(r.write_cycles) * 1e9 / r.egress_pkts);
  const auto ns_per = [&](uint64_t c) { return seconds_of(c) * 1e9 / r.egress_pkts; };
  std::fprintf(stderr,
               "         egress per datagram: send() + headers %.0f ns, ACK processing %.0f ns, "
               "tx burst %.0f ns\n",
               ns_per(r.egress_cycles - r.ack_cycles - r.tx_cycles), ns_per(r.ack_cycles),
               ns_per(r.tx_cycles));
  std::fprintf(stderr,
               "ingress: %.3f Mpps %.2f Gbit/s (%.0f ns per datagram, %.2f ACK packets per burst; "
               "app stream read %.0f ns per datagram, not counted)\n",
               mpps(r.ingress_pkts, r.ingress_cycles),
               r.ingress_bytes * 8 / seconds_of(r.ingress_cycles) / 1e9,
               seconds_of(r.ingress_cycles) * 1e9 / r.ingress_pkts,
               static_cast<double>(r.acks) / r.bursts,
               seconds_of(r.read_cycles) * 1e9 / r.ingress_pkts);
  std::fprintf(stderr,
               "         cwnd %llu B, srtt %llu ns, pacing jumps %llu, stalls %llu, "
               "tx refused %llu, "
               "stream bytes read %llu\n",
               static_cast<unsigned long long>(srv->recovery().cc().cwnd()),
               static_cast<unsigned long long>(srv->recovery().rtt().smoothed()),
               static_cast<unsigned long long>(r.pacing_jumps),
               static_cast<unsigned long long>(r.stalls),
               static_cast<unsigned long long>(r.tx_refused),
               static_cast<unsigned long long>(r.read_bytes));
  if (r.read_bytes == 0 || r.egress_pkts == 0) die("no data moved");
  return r;
}

// ---- Heap per idle server connection ---------------------------------------------------------

// The server endpoint exists before the first measurement (its slot array and CID table are sized
// by max_connections up front and reported apart). All client connections are opened first; then
// the endpoints handshake in memory and settle for 2 s of virtual time (handshake keys dropped,
// HANDSHAKE_DONE / NEW_TOKEN / NEW_CONNECTION_ID acknowledged): idle. The heap growth is summed
// over the server endpoint's calls only (mallinfo2 around each on_datagrams / on_timer; ASan's
// allocator counter in sanitizer builds), so neither the client nor this harness counts.
double conn_memory(Setup& s, size_t conns) {
  QuicEndpointConfig scfg = s.scfg, ccfg = s.ccfg;
  scfg.max_connections = ccfg.max_connections = conns;
  const uint64_t h0 = heap_in_use();
  QuicEndpoint server(scfg, *s.server_tls, nullptr);
  const uint64_t fixed = heap_in_use() - h0;
  QuicEndpoint client(ccfg, *s.client_tls, nullptr);
  if (!server.ok() || !client.ok()) die("endpoint: " + server.error() + client.error());
  TimeNs now = kSecond;
  for (size_t i = 0; i < conns; ++i) {
    Tuple t = s.tuple;
    t.local_port = static_cast<uint16_t>(10000 + i);
    if (!client.connect(t, now, ccfg.conn)) die("connect: " + client.last_error());
  }
  Net net(client, server, true);
  net.run(now, now + 2 * kSecond);
  size_t idle = 0;
  server.for_each_connection([&](Connection& c) { idle += c.established(); });
  if (idle != conns) {
    die("only " + std::to_string(idle) + " of " + std::to_string(conns) + " connections idle");
  }
  const double per = static_cast<double>(net.server_heap()) / conns;
  std::fprintf(stderr,
               "memory:  %zu idle server connections: %.0f bytes each (%s); endpoint fixed "
               "%.0f bytes per slot of max_connections\n",
               conns, per, "heap in use", static_cast<double>(fixed) / conns);
  return per;
}

double arg_double(const char* v, const char* what) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(d > 0)) die(std::string("bad ") + what + ": " + v);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  size_t conns = 1000;
  bool sw_cksum = false;
  if (const char* e = std::getenv("CAMP_BENCH_SECONDS")) {
    seconds = arg_double(e, "CAMP_BENCH_SECONDS");
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = arg_double(argv[++i], "--seconds");
    } else if (a == "--conns" && i + 1 < argc) {
      conns = static_cast<size_t>(arg_double(argv[++i], "--conns"));
    } else if (a == "--sw-cksum") {
      sw_cksum = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S (env CAMP_BENCH_SECONDS): the datapath runs 2 S, "
                   "crypto slices between its rounds] [--conns N: idle connections for the "
                   "memory figure] [--sw-cksum]\n", argv[0]);
      return 2;
    }
  }

  // DPDK in-process: no hugepages, no PCI, one lcore, net_null as the port (it frees what it
  // sends).
  // The lcore is the first CPU this process may run on (CPU 0 may be outside its cpuset).
  cpu_set_t cpus;
  int cpu = 0;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
    while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &cpus)) ++cpu;
  }
  const std::string prefix = "camp-bench-quic-" + std::to_string(getpid());
  std::vector<std::string> eal = {"bench_quic", "--no-huge", "--no-pci", "-m", "512",
                                  "--vdev", "net_null0", "--file-prefix", prefix,
                                  "-l", std::to_string(cpu),
                                  "--log-level", "error", "--no-telemetry"};
  std::vector<char*> eal_argv;
  for (std::string& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) die("EAL init failed");
  Port port;
  port.sw_cksum = sw_cksum;
  rte_mempool* rx_pool = rte_pktmbuf_pool_create("bq_rx", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                 SOCKET_ID_ANY);
  port.pool = rte_pktmbuf_pool_create("bq_tx", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      SOCKET_ID_ANY);
  if (!rx_pool || !port.pool) die("mbuf pools");
  dpdk::PortConfig pc;
  pc.port_id = 0;
  dpdk::Port p;
  std::string err;
  if (!dpdk::open_port(pc, {rx_pool}, &p, &err)) die(err);
  port.id = p.port_id;
  std::memcpy(port.mac, p.local.mac, 6);
  std::fprintf(stderr,
               "port %u: %s (%s) on CPU %d, %u-byte datagrams, bursts of %u, checksums %s, "
               "datapath %.2f s\n", port.id, p.name.c_str(), p.driver.c_str(), cpu, kPayload,
               kBurst, sw_cksum ? "in software" : "offloaded", 2 * seconds);

  CryptoRate crypto_rate;
  Setup setup = make_setup();
  const DataResult r = datapath(setup, port, seconds, crypto_rate);
  const double crypto = crypto_rate.mops();
  std::fprintf(stderr,
               "crypto:  AES-128-GCM seal (%s), %u-byte buffers, %zu-byte AAD: %.3f Mops/s "
               "(in slices between the datapath's rounds)\n",
               crypto_rate.arch(), kPayload, kAad, crypto);
  const double per_conn = conn_memory(setup, conns);

  // gbps: UDP payload bits (the QUIC datagrams, 1200 bytes each), not counting Ethernet/IP/UDP.
  const double e_mpps = r.egress_pkts / seconds_of(r.egress_cycles) / 1e6;
  const double i_mpps = r.ingress_pkts / seconds_of(r.ingress_cycles) / 1e6;
  const double e_gbps = r.egress_bytes * 8 / seconds_of(r.egress_cycles) / 1e9;
  const double i_gbps = r.ingress_bytes * 8 / seconds_of(r.ingress_cycles) / 1e9;
  std::printf("{\"bench\":\"quic_egress\",\"mpps\":%.4f,\"gbps\":%.3f,\"crypto_mops\":%.4f,"
              "\"ratio\":%.3f}\n", e_mpps, e_gbps, crypto, e_mpps / crypto);
  std::printf("{\"bench\":\"quic_ingress\",\"mpps\":%.4f,\"gbps\":%.3f,\"crypto_mops\":%.4f,"
              "\"ratio\":%.3f}\n", i_mpps, i_gbps, crypto, i_mpps / crypto);
  std::printf("{\"bench\":\"quic_conn_memory\",\"bytes_per_idle_conn\":%.0f}\n", per_conn);
  std::fflush(stdout);
  dpdk::close_port(port.id);
  rte_eal_cleanup();
  return 0;
}
