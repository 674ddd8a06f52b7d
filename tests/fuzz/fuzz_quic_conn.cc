// libFuzzer target for a live QUIC connection: fuzzed frames reach Connection's frame processing
// and its protocol-violation handling, which random datagrams never reach because they do not
// decrypt.
//
// Per input, a client and a server QuicEndpoint complete a real TLS 1.3 handshake in memory on a
// virtual clock (datagrams handed from one endpoint to the other, 1 ms apart). Fresh endpoints per
// input make each input independent of the ones before it, so a crash reproduces from its file
// alone (only GnuTLS's randomness differs between runs); the handshake costs about a millisecond,
// and the target runs 150-250 inputs/s with ASan on one core (each input twice). The harness then takes both sides' 1-RTT write secrets from their TlsSession and
// plays the role of either peer: each chunk of the input is a 1-RTT packet payload (raw frames,
// possibly malformed) that it protects with the real keys (short header, 4-byte packet number
// 1000 above anything the impersonated sender used) and delivers as a datagram.
//
// Input: a sequence of up to 64 chunks
//   [flags: 1 byte][length: 2 bytes, big endian][payload: length bytes (cut at the input's end)]
// flags:
//   bit 0    0: to the server, as the client (client keys, DCID = the server's CID);
//            1: to the client, as the server (server keys, DCID = the client's CID)
//   bit 1    a key update first (RFC 9001 6): the next key phase's keys, Key Phase bit flipped
//   bit 2    corrupt one byte after protection (bit 0 of byte length % packet size): exercises
//            decrypt failures, CID routing misses and the stateless reset checks
//   bit 3    more follows in this burst: the next chunk to the same side goes in the same
//            on_datagrams() call (not delivered yet)
//   bit 4    while time advances after this burst, forward the endpoints' own datagrams to each
//            other; otherwise they are dropped (an endpoint acknowledging our injected packet
//            numbers would make its peer close with "ACK of a packet never sent")
//   bits 5-6 virtual time to advance after the burst: 0, 1 ms, 40 ms, 1.5 s
//   bit 7    sent from another source port (the receiver sees a migration / NAT rebinding)
// Afterwards everything runs for 60 s of virtual time with no traffic between the sides.
//
// Invariants (__builtin_trap() on violation, besides ASan/UBSan/LSan):
//  - each endpoint holds at most one connection and the server accepts at most one;
//  - a connection that closes on its own (not by peer, not idle, not application, not reset)
//    does so with a valid transport error code: 0x00-0x10 or CRYPTO_ERROR 0x100-0x1ff;
//  - an endpoint never asks to run again at the same instant without end (no spinning);
//  - with no traffic for 60 s both connections are gone (the 30 s idle timeout holds).
//
// The seeds in corpus/quic_conn/ are defined at the end of this file and written by the target
// itself: FUZZ_QUIC_CONN_WRITE_SEEDS=tests/fuzz/corpus/quic_conn build-fz/tests/fuzz/fuzz_quic_conn
// FUZZ_QUIC_CONN_VERBOSE=1 prints what each input does (closes, drops) for triage.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/crypto/key_schedule.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "dataplane/quic/tls/tls_context.h"
#include "dataplane/quic/wire/packet_header.h"
#include "tests/quic_tls/test_pki.h"

using namespace camp;
using namespace camp::quic;

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_quic_conn: invariant violated: %s\n", what);
  __builtin_trap();
}

bool g_verbose = false;

constexpr size_t kMaxChunks = 64;
constexpr size_t kMaxBurst = 16;
constexpr size_t kMaxPayload = 1400;
constexpr uint64_t kPnGap = 1000;  // injected packet numbers start this far above the sender's
constexpr DurationNs kNetDelay = kMillisecond;
constexpr TimeNs kAdvance[4] = {0, kMillisecond, 40 * kMillisecond, 1500 * kMillisecond};
constexpr uint16_t kTxSlots = 64;
constexpr uint16_t kSlotCap = 1500;
constexpr int kMaxSpins = 20000;  // endpoint calls at one virtual instant

bool valid_transport_code(uint64_t c) { return c <= 0x10 || (c >= 0x100 && c <= 0x1ff); }

void check_close(const CloseInfo& ci) {
  if (!ci.closed || ci.by_peer || ci.application || ci.idle_timeout || ci.stateless_reset) return;
  if (!valid_transport_code(ci.error_code)) {
    std::fprintf(stderr, "close code 0x%llx: %s\n", static_cast<unsigned long long>(ci.error_code),
                 ci.reason.c_str());
    violated("connection closed with an invalid transport error code");
  }
}

// Small limits: every stream's buffers are sized from these at creation, so an input opening
// many streams stays cheap. `multipath`: both sides offer path IDs 0..3, so the multipath
// frames (PATH_ACK, PATH_ABANDON, PATH_STATUS_*, MAX_PATH_ID, ...) are processed, not refused.
TransportParameters fuzz_tp(bool multipath) {
  TransportParameters tp;
  tp.max_idle_timeout = 30000;
  tp.initial_max_data = 64 << 10;
  tp.initial_max_stream_data_bidi_local = 16 << 10;
  tp.initial_max_stream_data_bidi_remote = 16 << 10;
  tp.initial_max_stream_data_uni = 16 << 10;
  tp.initial_max_streams_bidi = 8;
  tp.initial_max_streams_uni = 8;
  tp.active_connection_id_limit = 4;
  tp.max_datagram_frame_size = 1200;
  if (multipath) tp.initial_max_path_id = 3;
  return tp;
}

// The process-wide TLS contexts (making the certificate costs far more than a handshake). The
// client checks nothing: the handshake is not what this target tests.
struct Tls {
  Tls() {
    test::TlsPair pair = test::make_tls_pair("camp-fuzz", "server.test", false);
    if (!pair.server || !pair.client) {
      std::fprintf(stderr, "fuzz_quic_conn: TLS set-up: %s\n", pair.error.c_str());
      std::abort();
    }
    server = std::move(pair.server);
    client = std::move(pair.client);
  }
  std::unique_ptr<TlsContext> server, client;
};

const Tls& tls() {
  static Tls t;
  return t;
}

// Consumes what arrives on streams and DATAGRAMs, answers each finished peer bidirectional
// stream with "ok" and FIN, echoes DATAGRAMs, and checks every close.
class App final : public QuicApp {
 public:
  void on_connection_progress(Connection& c, TimeNs) override {
    StreamManager& sm = c.streams();
    while (auto id = sm.accept_stream()) {
      if (streams_.size() < 64) streams_.push_back(*id);
    }
    uint8_t buf[2048];
    for (size_t i = 0; i < streams_.size();) {
      const uint64_t id = streams_[i];
      bool done = false;
      for (int reads = 0; reads < 64; ++reads) {
        const StreamIo io = sm.read(id, buf);
        if (io.error != StreamAppError::kNone) {
          done = true;
          break;
        }
        if (io.fin) {
          if ((id & 2) == 0) {  // bidirectional (accept_stream gives only the peer's streams)
            static const uint8_t ok[2] = {'o', 'k'};
            sm.write(id, ok, true);
          }
          done = true;
          break;
        }
        if (io.bytes == 0) break;
      }
      if (done) {
        streams_[i] = streams_.back();
        streams_.pop_back();
      } else {
        ++i;
      }
    }
    std::vector<uint8_t> d;
    while (c.receive_datagram(d)) c.send_datagram(d, nullptr);
  }
  void on_connection_closed(Connection& c) override {
    const CloseInfo& ci = c.close_info();
    if (g_verbose) {
      std::fprintf(stderr, "  %s closed: code 0x%llx%s%s%s%s \"%s\" (rx %llu decrypted %llu)\n",
                   c.role() == Role::kServer ? "server" : "client",
                   static_cast<unsigned long long>(ci.error_code), ci.by_peer ? " by peer" : "",
                   ci.application ? " application" : "", ci.idle_timeout ? " idle" : "",
                   ci.stateless_reset ? " reset" : "", ci.reason.c_str(),
                   static_cast<unsigned long long>(c.stats().packets_received),
                   static_cast<unsigned long long>(c.stats().packets_decrypted));
    }
    check_close(ci);
    ++closed;
  }
  int closed = 0;

 private:
  std::vector<uint64_t> streams_;
};

// One direction's 1-RTT keys as the harness uses them: generation 0 from the TLS secret, later
// generations by the key update KDF (RFC 9001 6.1), the header protection key unchanged.
class Sealer {
 public:
  bool init(ImbManager& imb, const DirectionKeys& k) {
    if (!k.installed) return false;
    secret_ = k.secret;
    keys_ = k.keys;
    gen_ = 0;
    return aead_.init(imb, keys_) == CryptoStatus::ok && hp_.init(imb, keys_) == CryptoStatus::ok;
  }
  // Moves to generation `g` (never back).
  bool advance_to(ImbManager& imb, uint64_t g) {
    if (g <= gen_) return true;
    while (gen_ < g) {
      Secret next_secret;
      PacketKeys next;
      if (update_packet_keys(keys_, secret_, next_secret, next) != CryptoStatus::ok) return false;
      secret_ = next_secret;
      keys_ = next;
      ++gen_;
    }
    return aead_.init(imb, keys_) == CryptoStatus::ok;
  }
  uint64_t gen() const { return gen_; }
  const PacketAead& aead() const { return aead_; }
  const HeaderProtection& hp() const { return hp_; }

 private:
  Secret secret_;
  PacketKeys keys_;
  uint64_t gen_ = 0;
  PacketAead aead_;
  HeaderProtection hp_;
};

enum Side : int { kClient = 0, kServer = 1 };

class Pair {
 public:
  explicit Pair(bool multipath) : bufs_(kTxSlots), multipath_(multipath) {
    const uint8_t srv[4] = {198, 18, 0, 1}, cli[4] = {198, 18, 0, 2};
    cli_tuple_.local = IpAddr::v4(cli);
    cli_tuple_.local_port = 50000;
    cli_tuple_.remote = IpAddr::v4(srv);
    cli_tuple_.remote_port = 443;

    QuicEndpointConfig scfg;
    scfg.role = Role::kServer;
    scfg.max_connections = 2;
    scfg.seed = 11;
    scfg.conn.local_tp = fuzz_tp(multipath);
    scfg.conn.app_ring_packets = 256;
    scfg.conn.streams.send_buffer_size = 16 << 10;
    QuicEndpointConfig ccfg = scfg;
    ccfg.role = Role::kClient;
    ccfg.seed = 12;
    ccfg.cid.server_id[0] = 9;
    ep_[kServer] = std::make_unique<QuicEndpoint>(scfg, *tls().server, &app_[kServer]);
    ep_[kClient] = std::make_unique<QuicEndpoint>(ccfg, *tls().client, &app_[kClient]);
    if (!ep_[kServer]->ok() || !ep_[kClient]->ok()) violated("endpoint set-up");
  }

  // Connects and runs until both sides confirmed the handshake and the first ACKs, NEW_TOKEN,
  // NEW_CONNECTION_IDs and session tickets went across. Then takes the 1-RTT keys.
  void handshake() {
    ConnectionConfig cc;
    cc.local_tp = fuzz_tp(multipath_);
    cc.app_ring_packets = 256;
    cc.streams.send_buffer_size = 16 << 10;
    cc.server_name = "server.test";
    Connection* c = ep_[kClient]->connect(cli_tuple_, now_, cc);
    if (!c) violated("client connect failed");
    conn_id_[kClient] = c->id();
    wake_[kClient] = now_;
    for (int i = 0; i < 100 && !(conn(kClient) && conn(kClient)->established() && conn(kServer) &&
                                 conn(kServer)->established());
         ++i) {
      run(now_ + kNetDelay, true);
    }
    Connection* cl = conn(kClient);
    Connection* sv = conn(kServer);
    if (!cl || !sv || !cl->established() || !sv->established()) violated("no handshake");
    if (cl->multipath() != multipath_ || sv->multipath() != multipath_)
      violated("multipath not negotiated as offered");
    run(now_ + 20 * kMillisecond, true);
    cl = conn(kClient);
    sv = conn(kServer);
    if (!cl || !sv) violated("connection lost after the handshake");
    ImbManager& imb = ep_[kClient]->imb();
    if (!sealer_[kClient].init(imb, cl->tls()->keys(EncryptionLevel::application).write) ||
        !sealer_[kServer].init(imb, sv->tls()->keys(EncryptionLevel::application).write)) {
      violated("1-RTT keys");
    }
    dcid_[kClient] = cl->peer_cid();  // what the client sends to: routes to the server
    dcid_[kServer] = sv->peer_cid();
    next_pn_[kClient] = cl->stats().packets_sent + kPnGap;
    next_pn_[kServer] = sv->stats().packets_sent + kPnGap;
    if (g_verbose) {
      std::fprintf(stderr, "handshake done at %.3f ms\n", now_ / 1e6);
      describe(kServer);
      describe(kClient);
    }
  }

  // Protects `payload` as a 1-RTT packet from `from` and queues it for the other side.
  void inject(Side from, uint8_t flags, const uint8_t* payload, size_t len) {
    Sealer& s = sealer_[from];
    ImbManager& imb = ep_[from]->imb();
    // Follow the sender's own key updates, so a peer that moved on still reads our packets.
    uint64_t gen = s.gen();
    if (Connection* c = conn(from)) gen = std::max(gen, c->key_generation());
    if (flags & 0x02) ++gen;
    if (!s.advance_to(imb, gen)) violated("key update KDF");
    uint64_t pn = next_pn_[from];
    if (Connection* c = conn(from)) pn = std::max(pn, c->stats().packets_sent + kPnGap);
    next_pn_[from] = pn + 1;

    std::vector<uint8_t> pkt(kMaxConnectionIdLen + 8 + len + kAeadTagLen);
    const size_t hdr =
        write_short_header(pkt.data(), pkt.size(), dcid_[from].view(), pn, 4, false, gen & 1);
    if (hdr == 0) violated("short header");
    std::memcpy(pkt.data() + hdr, payload, len);
    pkt.resize(hdr + len + kAeadTagLen);
    if (protect_packet(imb, s.aead(), s.hp(), pkt, hdr - 4, pn) != CryptoStatus::ok) {
      violated("protect_packet");
    }
    if (flags & 0x04) pkt[len % pkt.size()] ^= 0x01;

    InFlight d{std::move(pkt), {}, now_};
    d.tuple = receiver_view(from);
    if (flags & 0x80) {
      (from == kClient ? d.tuple.remote_port : d.tuple.local_port) = 50001;
    }
    burst_.push_back(std::move(d));
    burst_to_ = from == kClient ? kServer : kClient;
  }

  Side burst_to() const { return burst_to_; }
  size_t burst_size() const { return burst_.size(); }

  // Delivers the queued burst in one on_datagrams() call, then lets `advance` pass.
  void flush(TimeNs advance, bool forward) {
    if (!burst_.empty()) {
      std::vector<RxDatagram> rx(burst_.size());
      for (size_t i = 0; i < burst_.size(); ++i) {
        rx[i].data = burst_[i].data.data();
        rx[i].len = static_cast<uint16_t>(burst_[i].data.size());
        rx[i].tuple = burst_[i].tuple;
      }
      const int to = burst_to_;
      TxBatch b = fresh_batch();
      ep_[to]->on_datagrams(rx.data(), rx.size(), now_, b, stats_);
      collect(b, to, forward);
      wake_[to] = std::min(wake_[to], b.requested_timer());
      burst_.clear();
      check();
      if (g_verbose) describe(to);
    }
    run(now_ + advance, forward);
  }

  // Quiet period: nothing crosses; both connections must end by their idle timeout.
  void finish() {
    run(now_ + 60 * kSecond, false);
    if (ep_[kServer]->connection_count() != 0 || ep_[kClient]->connection_count() != 0) {
      violated("a connection outlived its idle timeout");
    }
  }

 private:
  struct InFlight {
    std::vector<uint8_t> data;
    Tuple tuple;  // as the receiver sees it
    TimeNs arrive;
  };

  Connection* conn(int side) {
    if (side == kServer && conn_id_[kServer] == 0) {
      ep_[kServer]->for_each_connection([&](Connection& c) { conn_id_[kServer] = c.id(); });
    }
    return conn_id_[side] ? ep_[side]->find(conn_id_[side]) : nullptr;
  }

  // The addresses a datagram from `from` carries, as its receiver sees them.
  Tuple receiver_view(int from) const {
    Tuple t;
    t.local = from == kClient ? cli_tuple_.remote : cli_tuple_.local;
    t.local_port = from == kClient ? cli_tuple_.remote_port : cli_tuple_.local_port;
    t.remote = from == kClient ? cli_tuple_.local : cli_tuple_.remote;
    t.remote_port = from == kClient ? cli_tuple_.local_port : cli_tuple_.remote_port;
    return t;
  }

  void describe(int side) {
    for (size_t i = 0; i < kDropReasonCount; ++i) {
      if (stats_.drops[i] == 0) continue;
      const std::string_view name = drop_reason_name(static_cast<DropReason>(i));
      std::fprintf(stderr, "  drops %.*s: %llu\n", static_cast<int>(name.size()), name.data(),
                   static_cast<unsigned long long>(stats_.drops[i]));
    }
    Connection* c = conn(side);
    if (!c) {
      std::fprintf(stderr, "  %s: no connection\n", side == kServer ? "server" : "client");
      return;
    }
    const ConnStats& st = c->stats();
    std::fprintf(stderr, "  %s: %s, rx %llu decrypted %llu drop decrypt %llu dup %llu\n",
                 side == kServer ? "server" : "client", to_string(c->state()),
                 static_cast<unsigned long long>(st.packets_received),
                 static_cast<unsigned long long>(st.packets_decrypted),
                 static_cast<unsigned long long>(st.drop_decrypt),
                 static_cast<unsigned long long>(st.drop_duplicate));
  }

  void check() {
    for (QuicEndpoint* e : {ep_[kClient].get(), ep_[kServer].get()}) {
      if (e->connection_count() > 1) violated("more than one connection on an endpoint");
      e->for_each_connection([](Connection& c) { check_close(c.close_info()); });
    }
    if (ep_[kServer]->counters().accepted > 1) violated("server accepted a second connection");
  }

  TxBatch fresh_batch() {
    for (uint16_t i = 0; i < kTxSlots; ++i) {
      slots_[i] = TxSlot{};
      slots_[i].data = bufs_[i].data();
      slots_[i].cap = kSlotCap;
    }
    return TxBatch(slots_, kTxSlots);
  }

  // What side `from` sent goes to the other side's inbox, or nowhere.
  void collect(TxBatch& b, int from, bool forward) {
    if (!forward) return;
    std::deque<InFlight>& inbox = inbox_[1 - from];
    for (uint16_t i = 0; i < b.used(); ++i) {
      const TxSlot& t = slots_[i];
      if (inbox.size() >= 1024) break;  // bounded: a flood is loss
      InFlight d{{t.data, t.data + t.len}, {}, now_ + kNetDelay};
      d.tuple.local = t.tuple.remote;
      d.tuple.local_port = t.tuple.remote_port;
      d.tuple.remote = t.tuple.local;
      d.tuple.remote_port = t.tuple.local_port;
      inbox.push_back(std::move(d));
    }
  }

  void step(int s, bool forward) {
    std::deque<InFlight>& inbox = inbox_[s];
    while (!inbox.empty() && inbox.front().arrive <= now_) {
      RxDatagram rx[32];
      size_t n = 0;
      while (n < 32 && n < inbox.size() && inbox[n].arrive <= now_) {
        rx[n].data = inbox[n].data.data();
        rx[n].len = static_cast<uint16_t>(inbox[n].data.size());
        rx[n].tuple = inbox[n].tuple;
        ++n;
      }
      TxBatch b = fresh_batch();
      ep_[s]->on_datagrams(rx, n, now_, b, stats_);
      collect(b, s, forward);
      inbox.erase(inbox.begin(), inbox.begin() + static_cast<long>(n));
    }
    for (int calls = 0;; ++calls) {
      TxBatch b = fresh_batch();
      wake_[s] = ep_[s]->on_timer(now_, b, stats_);
      collect(b, s, forward);
      if (b.used() < kTxSlots || calls > 64) break;
    }
    check();
  }

  // Runs both endpoints until nothing is due before `until`; now_ ends at `until`.
  void run(TimeNs until, bool forward) {
    if (!forward) {
      inbox_[0].clear();
      inbox_[1].clear();
    }
    for (int spins = 0;;) {
      bool any = false;
      for (int s = 0; s < 2; ++s) {
        if (wake_[s] <= now_ || (!inbox_[s].empty() && inbox_[s].front().arrive <= now_)) {
          step(s, forward);
          any = true;
        }
      }
      if (any) {
        if (++spins > kMaxSpins) {
          for (int s = 0; s < 2; ++s) {
            if (wake_[s] > now_) continue;
            std::fprintf(stderr, "%s wants to run at every call:\n", s ? "server" : "client");
            describe(s);
          }
          violated("an endpoint spins at one instant");
        }
        continue;
      }
      spins = 0;
      TimeNs next = kNever;
      for (int s = 0; s < 2; ++s) {
        next = std::min(next, wake_[s]);
        if (!inbox_[s].empty()) next = std::min(next, inbox_[s].front().arrive);
      }
      if (next >= until) break;
      now_ = next;
    }
    now_ = std::max(now_, until);
  }

  App app_[2];
  std::unique_ptr<QuicEndpoint> ep_[2];
  Tuple cli_tuple_;
  TimeNs now_ = 1 * kSecond;
  TimeNs wake_[2] = {kNever, kNever};
  uint64_t conn_id_[2] = {0, 0};
  std::deque<InFlight> inbox_[2];
  std::vector<InFlight> burst_;
  Side burst_to_ = kServer;
  Sealer sealer_[2];
  ConnectionId dcid_[2];
  uint64_t next_pn_[2] = {0, 0};
  std::vector<std::array<uint8_t, kSlotCap>> bufs_;
  bool multipath_ = false;
  TxSlot slots_[kTxSlots];
  WorkerStats stats_;
};

}  // namespace

namespace {

// ---- Seeds ---------------------------------------------------------------------------------

struct Chunk {
  uint8_t flags;
  std::vector<uint8_t> payload;
};

std::vector<uint8_t> encode(const std::vector<Chunk>& chunks) {
  std::vector<uint8_t> out;
  for (const Chunk& c : chunks) {
    out.push_back(c.flags);
    out.push_back(static_cast<uint8_t>(c.payload.size() >> 8));
    out.push_back(static_cast<uint8_t>(c.payload.size()));
    out.insert(out.end(), c.payload.begin(), c.payload.end());
  }
  return out;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint8_t> fill(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

// Frames by hand (RFC 9000 19), so the seeds do not depend on the writer under test.
const std::vector<uint8_t> kPing = {0x01};
const std::vector<uint8_t> kStream0Fin = {0x0b, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};  // OFF=0 LEN FIN
const std::vector<uint8_t> kStream0 = {0x0a, 0x00, 0x03, 'a', 'b', 'c'};

void write_seeds(const char* dir) {
  const std::vector<std::pair<const char*, std::vector<Chunk>>> seeds = {
      {"ping", {{0x00, kPing}}},
      {"stream_fin", {{0x00, kStream0Fin}, {0x20, kPing}}},
      {"max_data", {{0x00, {0x10, 0x80, 0x10, 0x00, 0x00}}}},
      // ACK of packet 16383, which the server never sent: PROTOCOL_VIOLATION.
      {"ack_unsent", {{0x00, {0x02, 0x7f, 0xff, 0x00, 0x00, 0x00}}}},
      // The client issued sequence numbers 0-3 (active_connection_id_limit 4): each new one
      // retires the oldest, so the server must send RETIRE_CONNECTION_ID and move on.
      {"new_connection_id",
       {{0x00, cat({{0x18, 0x04, 0x01, 0x08}, fill(8, 0xc4), fill(16, 0x44)})},
        {0x20, cat({{0x18, 0x05, 0x02, 0x08}, fill(8, 0xc5), fill(16, 0x55)})}}},
      // Sequence 1: allowed (0, the CID these packets carry, would be PROTOCOL_VIOLATION).
      {"retire_connection_id", {{0x00, {0x19, 0x01}}, {0x20, kPing}}},
      {"path_challenge",
       {{0x00, cat({{0x1a}, fill(8, 0xab)})}, {0x80, cat({{0x1a}, fill(8, 0xcd), kPing})}}},
      {"connection_close", {{0x00, {0x1c, 0x0a, 0x02, 0x04, 'o', 'o', 'p', 's'}}}},
      {"unknown_frame", {{0x00, {0x3f, 0x00}}}},
      {"handshake_done_from_client", {{0x00, {0x1e}}}},
      {"datagram", {{0x00, {0x31, 0x04, 'd', 'g', 'r', 'm'}}}},
      {"reset_stop",
       {{0x00, kStream0}, {0x00, {0x04, 0x00, 0x07, 0x03}}, {0x00, {0x05, 0x04, 0x01}}}},
      {"key_update", {{0x02 | 0x20, kPing}, {0x02 | 0x20, kStream0Fin}, {0x00, kPing}}},
      {"burst_corrupt", {{0x08, kPing}, {0x0c, kPing}, {0x00, kStream0Fin}}},
      {"to_client",
       {{0x01, cat({{0x1e}, {0x0b, 0x01, 0x02, 'h', 'i'}})}, {0x21, {0x10, 0x44, 0x00}}}},
      {"forward_time", {{0x10 | 0x40, kStream0Fin}, {0x10 | 0x60, kPing}, {0x60, kPing}}},
      // Multipath frames (draft-ietf-quic-multipath-21 4), processed when the input's second run
      // has multipath negotiated: PATH_STATUS_BACKUP for path 0 (sequence 1), MAX_PATH_ID 5,
      // PATHS_BLOCKED 3, PATH_ACK of path 0's packet 0, PATH_NEW_CONNECTION_ID for path 1.
      {"multipath_frames",
       {{0x00, {0x7e, 0x76, 0x00, 0x01}},
        {0x20, {0x7e, 0x7a, 0x05, 0x7e, 0x7b, 0x03}},
        {0x00, {0x3e, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x20, cat({{0x7e, 0x78, 0x01, 0x04, 0x00, 0x08}, fill(8, 0xd1), fill(16, 0x11)})}}},
      // PATH_ABANDON of the only path: the connection closes (NO_VIABLE_PATH) or ignores it.
      {"path_abandon_only_path", {{0x00, {0x7e, 0x75, 0x00, 0x00}}, {0x60, kPing}}},
  };
  for (const auto& [name, chunks] : seeds) {
    const std::string path = std::string(dir) + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    const std::vector<uint8_t> bytes = encode(chunks);
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f)) {
      std::fprintf(stderr, "fuzz_quic_conn: cannot write %s\n", path.c_str());
      std::exit(1);
    }
  }
  std::fprintf(stderr, "fuzz_quic_conn: %zu seeds written to %s\n", seeds.size(), dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_QUIC_CONN_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  g_verbose = std::getenv("FUZZ_QUIC_CONN_VERBOSE") != nullptr;
  // Every answer the connections keep between packets (scheduler entries, picks, timeouts) is
  // compared with a full computation, and a difference aborts: inputs hunt for a missed
  // invalidation too.
  setenv("CAMP_CHECK_SEND_CACHE", "1", 0);
  tls();
  return 0;
}

// One input, on a fresh pair of endpoints.
void run_input(const uint8_t* data, size_t size, bool multipath) {
  Pair pair(multipath);
  pair.handshake();
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  for (size_t chunk = 0; chunk < kMaxChunks && end - p >= 3; ++chunk) {
    const uint8_t flags = p[0];
    size_t len = (size_t{p[1]} << 8) | p[2];
    p += 3;
    len = std::min({len, static_cast<size_t>(end - p), kMaxPayload});
    const Side from = (flags & 1) ? kServer : kClient;
    const Side to = from == kClient ? kServer : kClient;
    if (g_verbose) {
      std::fprintf(stderr, "chunk %zu: flags 0x%02x, %zu bytes to the %s\n", chunk, flags, len,
                   to == kServer ? "server" : "client");
    }
    if (pair.burst_size() && pair.burst_to() != to) pair.flush(0, false);
    pair.inject(from, flags, p, len);
    p += len;
    const bool more = (flags & 0x08) && pair.burst_size() < kMaxBurst && end - p >= 3;
    if (!more) pair.flush(kAdvance[(flags >> 5) & 3], flags & 0x10);
  }
  pair.flush(0, false);
  pair.finish();
}

// Every input runs twice: single-path, and with multipath negotiated (path 0's nonce is the
// single-path one, so the same packets decrypt and reach the multipath frame handlers).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_input(data, size, false);
  run_input(data, size, true);
  return 0;
}
