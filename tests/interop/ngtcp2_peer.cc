// ngtcp2_peer: an independent QUIC peer (libngtcp2 0.12 + GnuTLS) speaking hq-interop, used to
// test camp's QUIC stack for interoperability. Plain UDP sockets and a poll loop; one process
// serves many sequential connections (server) or fetches a list of URLs on one connection (client).
// DATAGRAM (RFC 9221): the server offers it and echoes every DATAGRAM it receives; the client with
// --datagrams COUNT sends COUNT of them and counts what is acknowledged, lost and echoed.
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char kAlpn[] = "hq-interop";
// Only the AEADs ngtcp2's GnuTLS backend handles; compat mode is meaningless over QUIC.
constexpr const char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "%DISABLE_TLS13_COMPAT_MODE";

bool g_verbose = false;
// max_datagram_frame_size both roles offer (the client only with --datagrams).
constexpr uint64_t kDatagramFrameSize = 1200;

void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "ngtcp2_peer: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
  std::exit(1);
}

void logf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stdout, fmt, ap);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  va_end(ap);
}

ngtcp2_tstamp now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * NGTCP2_SECONDS + uint64_t(ts.tv_nsec);
}

void fill_random(uint8_t* p, size_t n) {
  if (gnutls_rnd(GNUTLS_RND_RANDOM, p, n) != 0) die("gnutls_rnd failed");
}

void rand_cb(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { fill_random(dest, len); }

// Secret for stateless reset tokens and retry tokens; per process is enough for a test peer.
uint8_t g_static_secret[32];

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Addr resolve(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    die("cannot resolve %s:%s: %s", host.c_str(), port.c_str(), gai_strerror(rc));
  Addr a;
  std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  freeaddrinfo(res);
  return a;
}

// Splits "host:port" or "[v6]:port".
void split_hostport(const std::string& s, std::string& host, std::string& port) {
  if (!s.empty() && s[0] == '[') {
    auto e = s.find(']');
    if (e == std::string::npos || e + 1 >= s.size() || s[e + 1] != ':') die("bad address %s", s.c_str());
    host = s.substr(1, e - 1);
    port = s.substr(e + 2);
  } else {
    auto c = s.rfind(':');
    if (c == std::string::npos) die("bad address %s (need HOST:PORT)", s.c_str());
    host = s.substr(0, c);
    port = s.substr(c + 1);
  }
}

void send_pkt(int fd, const Addr& to, const uint8_t* p, size_t n) {
  for (;;) {
    ssize_t r = sendto(fd, p, n, 0, reinterpret_cast<const sockaddr*>(&to.ss), to.len);
    if (r >= 0) return;
    if (errno == EINTR) continue;
    // A full socket buffer is loss to QUIC: recovery resends it.
    if (errno == EAGAIN || errno == ENOBUFS) return;
    std::fprintf(stderr, "sendto: %s\n", std::strerror(errno));
    return;
  }
}

ngtcp2_conn* get_conn_cb(ngtcp2_crypto_conn_ref* ref);

// One outgoing stream body: the bytes must stay alive until acknowledged (ngtcp2 does not copy).
struct Stream {
  int64_t id = -1;
  std::string request;       // server: bytes received so far
  std::vector<uint8_t> out;  // bytes to send
  size_t sent = 0;
  bool fin_queued = false;   // FIN goes with the last bytes
  bool fin_sent = false;
  // client side
  std::string path;
  FILE* file = nullptr;
  uint64_t received = 0;
  bool complete = false;
};

// State shared by client and server connections.
struct Conn {
  ngtcp2_conn* conn = nullptr;
  gnutls_session_t tls = nullptr;
  ngtcp2_crypto_conn_ref ref{};
  Addr local, remote;
  int fd = -1;
  std::map<int64_t, std::unique_ptr<Stream>> streams;
  std::vector<std::string> my_cids;  // server: every CID registered for routing
  int key_updates = 0;
  bool handshake_done = false;
  bool handshake_confirmed = false;
  bool retried = false;
  bool failed = false;
  ngtcp2_connection_close_error last_error{};

  // DATAGRAM, server: received payloads waiting to go back (bounded; a full queue drops).
  static constexpr size_t kMaxEchoQueue = 256;
  std::deque<std::vector<uint8_t>> echo_queue;
  uint64_t dgram_received = 0, dgram_echoed = 0, dgram_echo_dropped = 0;
  // DATAGRAM, client: the probe. Datagram i carries i (8 bytes, big endian) and a pattern made
  // from i; its ngtcp2 datagram ID is i.
  bool probing = false;
  uint64_t dgram_count = 0, dgram_next = 0;
  uint64_t dgram_acked = 0, dgram_lost = 0, dgram_got = 0, dgram_dup = 0, dgram_bad = 0;
  // An echo server's queues are bounded: at most kDgramWindow datagrams are unresolved (sent,
  // neither echoed nor lost, nor written off as an echo lost on the way back).
  static constexpr uint64_t kDgramWindow = 32;
  uint64_t dgram_unresolved = 0;
  std::vector<uint8_t> dgram_state;  // per datagram: 1 acked, 2 lost, 4 echoed, 8 written off
  std::string dgram_error;           // why the probe stopped early
  ngtcp2_tstamp dgram_last_change = 0;

  Conn() {
    ref.get_conn = get_conn_cb;
    ref.user_data = this;
    ngtcp2_connection_close_error_default(&last_error);
  }
  ~Conn() {
    for (auto& [id, s] : streams)
      if (s->file) std::fclose(s->file);
    if (conn) ngtcp2_conn_del(conn);
    if (tls) gnutls_deinit(tls);
  }

  ngtcp2_path path() {
    ngtcp2_path p;
    p.local.addr = reinterpret_cast<ngtcp2_sockaddr*>(&local.ss);
    p.local.addrlen = local.len;
    p.remote.addr = reinterpret_cast<ngtcp2_sockaddr*>(&remote.ss);
    p.remote.addrlen = remote.len;
    p.user_data = nullptr;
    return p;
  }

  // Writes every packet ngtcp2 is willing to send now. Returns false on a fatal error.
  bool flush() {
    uint8_t buf[1500];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_tstamp ts = now_ns();
    if (!flush_datagrams(buf, sizeof buf, ps, pi, ts)) return false;
    std::vector<int64_t> blocked;
    auto is_blocked = [&](int64_t id) {
      for (auto b : blocked)
        if (b == id) return true;
      return false;
    };
    for (;;) {
      Stream* st = nullptr;
      for (auto& [id, s] : streams) {
        if (!s->fin_sent && (s->fin_queued || s->sent < s->out.size()) && !is_blocked(id)) {
          st = s.get();
          break;
        }
      }
      ngtcp2_vec v{};
      size_t vcnt = 0;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      int64_t sid = -1;
      if (st) {
        sid = st->id;
        v.base = st->out.data() + st->sent;
        v.len = st->out.size() - st->sent;
        vcnt = v.len ? 1 : 0;
        if (st->fin_queued) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      }
      ngtcp2_ssize datalen = -1;
      ngtcp2_ssize n =
          ngtcp2_conn_writev_stream(conn, &ps.path, &pi, buf, sizeof buf, &datalen, flags, sid,
                                    vcnt ? &v : nullptr, vcnt, ts);
      if (n < 0) {
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR) {
          blocked.push_back(sid);
          continue;
        }
        if (n == NGTCP2_ERR_WRITE_MORE) {
          advance(st, datalen);
          continue;
        }
        std::fprintf(stderr, "writev_stream: %s\n", ngtcp2_strerror(int(n)));
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error, int(n), nullptr, 0);
        return false;
      }
      if (st && datalen >= 0) advance(st, datalen);
      if (n == 0) break;
      send_pkt(fd, remote, buf, size_t(n));
    }
    ngtcp2_conn_update_pkt_tx_time(conn, ts);
    return true;
  }

  // Probe datagram `i`: its size (100-1000 bytes, within `max`) and bytes.
  static size_t dgram_size(uint64_t i, size_t max) {
    return std::min<size_t>(100 + (i * 613) % 901, max);
  }
  static uint8_t dgram_byte(uint64_t i, size_t pos) {
    return uint8_t((i * 29 + pos * 13 + 0xa5) & 0xff);
  }
  // Sets datagram i's state bits, keeping dgram_unresolved in step.
  void dgram_set(uint64_t i, uint8_t next) {
    auto resolved = [](uint8_t s) { return (s & (2 | 4 | 8)) != 0; };
    uint8_t& s = dgram_state[i];
    if (resolved(s) && !resolved(next)) ++dgram_unresolved;
    if (!resolved(s) && resolved(next)) --dgram_unresolved;
    s = next;
  }
  // Acknowledged datagrams whose echo never came leave the window (a late echo still counts).
  bool dgram_write_off() {
    bool any = false;
    for (uint64_t i = 0; i < dgram_next; ++i) {
      const uint8_t s = dgram_state[i];
      if ((s & 1) && !(s & (2 | 4 | 8))) {
        dgram_set(i, uint8_t(s | 8));
        any = true;
      }
    }
    return any;
  }

  // An echo of a probe datagram: counted when it is one we sent, whole and unchanged.
  void on_echo(const uint8_t* p, size_t n, size_t max) {
    dgram_last_change = now_ns();
    uint64_t i = 0;
    if (n >= 9)
      for (size_t k = 0; k < 8; ++k) i = (i << 8) | p[k];
    bool ok = n >= 9 && i < dgram_next && n == dgram_size(i, max);
    for (size_t k = 8; ok && k < n; ++k) ok = p[k] == dgram_byte(i, k);
    if (!ok) {
      ++dgram_bad;
    } else if (dgram_state[i] & 4) {
      ++dgram_dup;
    } else {
      dgram_set(i, uint8_t(dgram_state[i] | 4));
      ++dgram_got;
    }
  }

  size_t dgram_max_payload() {
    const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(conn);
    uint64_t m = rp ? rp->max_datagram_frame_size : 0;
    // Frame type and length take up to 3 bytes below 16 KiB; our own limit bounds the echo.
    m = std::min<uint64_t>(m, kDatagramFrameSize);
    return m > 3 ? size_t(m - 3) : 0;
  }

  // Server echoes, then (client, after the handshake) probe datagrams, while ngtcp2 takes them.
  bool flush_datagrams(uint8_t* buf, size_t cap, ngtcp2_path_storage& ps, ngtcp2_pkt_info& pi,
                       ngtcp2_tstamp ts) {
    std::vector<uint8_t> probe;
    for (int guard = 0; guard < 4096; ++guard) {
      const bool echo = !echo_queue.empty();
      uint64_t id = 0;
      ngtcp2_vec v{};
      if (echo) {
        v.base = echo_queue.front().data();
        v.len = echo_queue.front().size();
        id = UINT64_MAX;  // echoes are not tracked: IDs below that are the probe's
      } else if (handshake_done && dgram_next < dgram_count && dgram_unresolved < kDgramWindow) {
        const size_t max = dgram_max_payload();
        if (max < 9) {
          dgram_error = "the server did not offer DATAGRAM (or too small a max_datagram_frame_size)";
          dgram_count = dgram_next;
          break;
        }
        id = dgram_next;
        probe.resize(dgram_size(id, max));
        for (size_t k = 0; k < 8; ++k) probe[k] = uint8_t(id >> (56 - 8 * k));
        for (size_t k = 8; k < probe.size(); ++k) probe[k] = dgram_byte(id, k);
        v.base = probe.data();
        v.len = probe.size();
      } else {
        break;
      }
      int accepted = 0;
      ngtcp2_ssize n = ngtcp2_conn_writev_datagram(conn, &ps.path, &pi, buf, cap, &accepted,
                                                   NGTCP2_WRITE_DATAGRAM_FLAG_NONE, id, &v, 1, ts);
      if (n == NGTCP2_ERR_INVALID_STATE || n == NGTCP2_ERR_INVALID_ARGUMENT) {
        // Not negotiated, or larger than the peer takes: this one can never go.
        if (echo) {
          ++dgram_echo_dropped;
          echo_queue.pop_front();
          continue;
        }
        dgram_error = std::string("writev_datagram: ") + ngtcp2_strerror(int(n));
        dgram_count = dgram_next;
        break;
      }
      if (n < 0) {
        std::fprintf(stderr, "writev_datagram: %s\n", ngtcp2_strerror(int(n)));
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error, int(n), nullptr, 0);
        return false;
      }
      if (accepted) {
        if (echo) {
          ++dgram_echoed;
          echo_queue.pop_front();
        } else {
          ++dgram_next;
          ++dgram_unresolved;
          dgram_last_change = ts;
        }
      }
      if (n == 0) break;  // congestion window or amplification limit: later
      send_pkt(fd, remote, buf, size_t(n));
    }
    return true;
  }

  void advance(Stream* st, ngtcp2_ssize datalen) {
    if (!st || datalen < 0) return;
    st->sent += size_t(datalen);
    if (st->fin_queued && st->sent == st->out.size()) st->fin_sent = true;
  }

  // Sends CONNECTION_CLOSE carrying last_error (best effort).
  void close() {
    if (ngtcp2_conn_is_in_closing_period(conn) || ngtcp2_conn_is_in_draining_period(conn)) return;
    uint8_t buf[1500];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn, &ps.path, &pi, buf, sizeof buf,
                                                        &last_error, now_ns());
    if (n > 0) send_pkt(fd, remote, buf, size_t(n));
  }
};

ngtcp2_conn* get_conn_cb(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<Conn*>(ref->user_data)->conn;
}

int update_key_cb(ngtcp2_conn* conn, uint8_t* rx_secret, uint8_t* tx_secret,
                  ngtcp2_crypto_aead_ctx* rx_aead_ctx, uint8_t* rx_iv,
                  ngtcp2_crypto_aead_ctx* tx_aead_ctx, uint8_t* tx_iv,
                  const uint8_t* current_rx_secret, const uint8_t* current_tx_secret,
                  size_t secretlen, void* user_data) {
  static_cast<Conn*>(user_data)->key_updates++;
  return ngtcp2_crypto_update_key_cb(conn, rx_secret, tx_secret, rx_aead_ctx, rx_iv, tx_aead_ctx,
                                     tx_iv, current_rx_secret, current_tx_secret, secretlen,
                                     user_data);
}

int handshake_completed_cb(ngtcp2_conn*, void* user_data) {
  static_cast<Conn*>(user_data)->handshake_done = true;
  return 0;
}

int handshake_confirmed_cb(ngtcp2_conn*, void* user_data) {
  static_cast<Conn*>(user_data)->handshake_confirmed = true;
  return 0;
}

int recv_datagram_cb(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  ++c->dgram_received;
  if (c->probing) {
    c->on_echo(data, len, c->dgram_max_payload());
  } else if (c->echo_queue.size() < Conn::kMaxEchoQueue) {
    c->echo_queue.emplace_back(data, data + len);
  } else {
    ++c->dgram_echo_dropped;
  }
  return 0;
}

int ack_datagram_cb(ngtcp2_conn*, uint64_t id, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (id >= c->dgram_state.size()) return 0;  // an echo (server)
  const uint8_t s = c->dgram_state[id];
  if (s & 1) return 0;
  uint8_t next = uint8_t(s | 1);
  if (s & 2) {  // declared lost, acknowledged after all: its echo may still come
    next = uint8_t(next & ~2u);
    --c->dgram_lost;
  }
  c->dgram_set(id, next);
  ++c->dgram_acked;
  c->dgram_last_change = now_ns();
  return 0;
}

int lost_datagram_cb(ngtcp2_conn*, uint64_t id, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (id >= c->dgram_state.size()) return 0;
  const uint8_t s = c->dgram_state[id];
  if (s & 3) return 0;
  c->dgram_set(id, uint8_t(s | 2));
  ++c->dgram_lost;
  c->dgram_last_change = now_ns();
  return 0;
}

int acked_cb(ngtcp2_conn*, int64_t, uint64_t, uint64_t, void*, void*) {
  // Whole bodies stay in memory until the stream closes, so nothing to release early.
  return 0;
}

void base_callbacks(ngtcp2_callbacks& cb) {
  std::memset(&cb, 0, sizeof cb);
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = rand_cb;
  cb.handshake_completed = handshake_completed_cb;
  cb.handshake_confirmed = handshake_confirmed_cb;
  cb.acked_stream_data_offset = acked_cb;
  cb.recv_datagram = recv_datagram_cb;
  cb.ack_datagram = ack_datagram_cb;
  cb.lost_datagram = lost_datagram_cb;
}

void ngtcp2_log(void*, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

void base_settings(ngtcp2_settings& s, ngtcp2_transport_params& p) {
  ngtcp2_settings_default(&s);
  s.initial_ts = now_ns();
  if (g_verbose) s.log_printf = ngtcp2_log;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = 1 << 20;
  p.initial_max_stream_data_bidi_remote = 1 << 20;
  p.initial_max_stream_data_uni = 1 << 20;
  p.initial_max_data = 4 << 20;
  p.initial_max_streams_bidi = 100;
  p.initial_max_streams_uni = 3;
  p.max_idle_timeout = 10 * NGTCP2_SECONDS;
}

// Keeps flow control open once the application has consumed data.
void consumed(ngtcp2_conn* conn, int64_t sid, size_t n) {
  ngtcp2_conn_extend_max_stream_offset(conn, sid, n);
  ngtcp2_conn_extend_max_offset(conn, n);
}

int open_udp(const Addr& bind_to, const Addr* connect_to) {
  int fd = socket(bind_to.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket: %s", std::strerror(errno));
  int sz = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  if (!connect_to) {
    if (bind(fd, reinterpret_cast<const sockaddr*>(&bind_to.ss), bind_to.len) != 0)
      die("bind: %s", std::strerror(errno));
  } else if (connect(fd, reinterpret_cast<const sockaddr*>(&connect_to->ss), connect_to->len) != 0) {
    die("connect: %s", std::strerror(errno));
  }
  return fd;
}

// ---------------------------------------------------------------------------------------------
// Server

struct ServerOpts {
  std::string listen, www, cert, key;
  bool retry = false;
  double timeout_s = 30;
};

struct Server {
  ServerOpts o;
  int fd = -1;
  Addr local;
  gnutls_certificate_credentials_t cred = nullptr;
  gnutls_datum_t ticket_key{};
  std::map<std::string, Conn*> by_cid;
  std::vector<std::unique_ptr<Conn>> conns;

  ~Server() {
    conns.clear();
    if (cred) gnutls_certificate_free_credentials(cred);
    if (ticket_key.data) gnutls_free(ticket_key.data);
    if (fd >= 0) ::close(fd);
  }

  static std::string key_of(const uint8_t* p, size_t n) { return std::string(reinterpret_cast<const char*>(p), n); }

  void remove(Conn* c) {
    for (auto& k : c->my_cids) by_cid.erase(k);
    logf("server: connection closed (key updates seen: %d, datagrams received: %llu, echoed: "
         "%llu, dropped: %llu)",
         c->key_updates, (unsigned long long)c->dgram_received,
         (unsigned long long)c->dgram_echoed, (unsigned long long)c->dgram_echo_dropped);
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if (it->get() == c) {
        conns.erase(it);
        break;
      }
  }

  static int new_cid_cb(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen, void* ud);
  static int recv_stream_cb(ngtcp2_conn* conn, uint32_t flags, int64_t sid, uint64_t off,
                            const uint8_t* data, size_t len, void* ud, void*);
  static int stream_close_cb(ngtcp2_conn*, uint32_t, int64_t sid, uint64_t, void* ud, void*) {
    static_cast<Conn*>(ud)->streams.erase(sid);
    return 0;
  }

  void respond(Conn* c, Stream* s) {
    // hq-interop: "GET /path\r\n".
    const std::string& r = s->request;
    auto end = r.find("\r\n");
    if (end == std::string::npos) end = r.find('\n');
    std::string line = r.substr(0, end);
    std::string path;
    if (line.rfind("GET ", 0) == 0) path = line.substr(4);
    while (!path.empty() && path.back() == ' ') path.pop_back();
    if (path.empty() || path[0] != '/' || path.find("..") != std::string::npos) {
      logf("server: bad request on stream %lld", (long long)s->id);
      ngtcp2_conn_shutdown_stream(c->conn, s->id, 1);
      return;
    }
    std::ifstream f(o.www + path, std::ios::binary);
    if (!f) {
      logf("server: %s not found", path.c_str());
      ngtcp2_conn_shutdown_stream(c->conn, s->id, 1);
      return;
    }
    s->out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    s->fin_queued = true;
    logf("server: GET %s -> %zu bytes", path.c_str(), s->out.size());
  }

  gnutls_session_t make_tls(Conn* c) {
    gnutls_session_t s;
    if (gnutls_init(&s, GNUTLS_SERVER) != 0) die("gnutls_init");
    if (gnutls_priority_set_direct(s, kPriority, nullptr) != 0) die("priority");
    if (ngtcp2_crypto_gnutls_configure_server_session(s) != 0) die("configure_server_session");
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_session_ticket_enable_server(s, &ticket_key);
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)),
                        unsigned(sizeof kAlpn - 1)};
    gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    gnutls_session_set_ptr(s, &c->ref);
    return s;
  }

  void accept_new(const uint8_t* pkt, size_t n, const Addr& from) {
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, n) != 0) return;  // not an Initial we can take: drop
    ngtcp2_cid odcid;
    bool have_odcid = false;
    if (o.retry) {
      if (hd.token.len == 0) {
        send_retry(hd, from);
        return;
      }
      if (hd.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY ||
          ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, g_static_secret,
                                           sizeof g_static_secret, hd.version,
                                           reinterpret_cast<const ngtcp2_sockaddr*>(&from.ss),
                                           from.len, &hd.dcid, 10 * NGTCP2_SECONDS,
                                           now_ns()) != 0) {
        logf("server: invalid retry token, dropping");
        return;
      }
      have_odcid = true;
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->local = local;
    c->remote = from;
    ngtcp2_callbacks cb;
    base_callbacks(cb);
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    cb.get_new_connection_id = new_cid_cb;
    cb.recv_stream_data = recv_stream_cb;
    cb.stream_close = stream_close_cb;
    ngtcp2_settings st;
    ngtcp2_transport_params p;
    base_settings(st, p);
    p.max_datagram_frame_size = kDatagramFrameSize;  // and every DATAGRAM is echoed
    st.token = hd.token;
    if (have_odcid) {
      p.original_dcid = odcid;
      p.retry_scid = hd.dcid;
      p.retry_scid_present = 1;
    } else {
      p.original_dcid = hd.dcid;
    }
    p.stateless_reset_token_present = 1;
    ngtcp2_cid scid;
    scid.datalen = 16;
    fill_random(scid.data, scid.datalen);
    ngtcp2_crypto_generate_stateless_reset_token(p.stateless_reset_token, g_static_secret,
                                                 sizeof g_static_secret, &scid);
    ngtcp2_path path = c->path();
    // user_data is the Conn; callbacks reach the server through g_server.
    if (int rc = ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &path, hd.version, &cb, &st,
                                        &p, nullptr, c.get());
        rc != 0) {
      logf("server: conn_server_new: %s", ngtcp2_strerror(rc));
      return;
    }
    c->tls = make_tls(c.get());
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    Conn* raw = c.get();
    raw->my_cids.push_back(key_of(scid.data, scid.datalen));
    by_cid[raw->my_cids.back()] = raw;
    // The client's original DCID routes its retransmitted Initials too.
    raw->my_cids.push_back(key_of(hd.dcid.data, hd.dcid.datalen));
    by_cid[raw->my_cids.back()] = raw;
    conns.push_back(std::move(c));
    logf("server: new connection%s", have_odcid ? " (after retry)" : "");
    feed(raw, pkt, n);
  }

  void send_retry(const ngtcp2_pkt_hd& hd, const Addr& from) {
    ngtcp2_cid scid;
    scid.datalen = 16;
    fill_random(scid.data, scid.datalen);
    uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
    ngtcp2_ssize tl = ngtcp2_crypto_generate_retry_token(
        token, g_static_secret, sizeof g_static_secret, hd.version,
        reinterpret_cast<const ngtcp2_sockaddr*>(&from.ss), from.len, &scid, &hd.dcid, now_ns());
    if (tl < 0) return;
    uint8_t buf[1500];
    ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof buf, hd.version, &hd.scid, &scid,
                                               &hd.dcid, token, size_t(tl));
    if (n < 0) return;
    logf("server: sent retry");
    send_pkt(fd, from, buf, size_t(n));
  }

  void feed(Conn* c, const uint8_t* pkt, size_t n) {
    ngtcp2_path path = c->path();
    ngtcp2_pkt_info pi{};
    int rc = ngtcp2_conn_read_pkt(c->conn, &path, &pi, pkt, n, now_ns());
    if (rc == NGTCP2_ERR_DRAINING || rc == NGTCP2_ERR_DROP_CONN) {
      remove(c);
      return;
    }
    if (rc != 0) {
      logf("server: read_pkt: %s", ngtcp2_strerror(rc));
      if (rc == NGTCP2_ERR_CRYPTO)
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &c->last_error, ngtcp2_conn_get_tls_alert(c->conn), nullptr, 0);
      else
        ngtcp2_connection_close_error_set_transport_error_liberr(&c->last_error, rc, nullptr, 0);
      c->close();
      remove(c);
      return;
    }
    if (!c->flush()) {
      c->close();
      remove(c);
    }
  }

  int run() {
    std::string host, port;
    split_hostport(o.listen, host, port);
    local = resolve(host, port);
    fd = open_udp(local, nullptr);
    gnutls_certificate_allocate_credentials(&cred);
    if (int rc = gnutls_certificate_set_x509_key_file(cred, o.cert.c_str(), o.key.c_str(),
                                                      GNUTLS_X509_FMT_PEM);
        rc != 0)
      die("loading %s/%s: %s", o.cert.c_str(), o.key.c_str(), gnutls_strerror(rc));
    gnutls_session_ticket_key_generate(&ticket_key);
    logf("server: listening on %s%s", o.listen.c_str(), o.retry ? " (retry)" : "");
    ngtcp2_tstamp deadline = now_ns() + ngtcp2_tstamp(o.timeout_s * NGTCP2_SECONDS);
    std::vector<uint8_t> buf(65536);
    for (;;) {
      ngtcp2_tstamp now = now_ns();
      if (now >= deadline) {
        logf("server: timeout reached, exiting");
        return 0;
      }
      ngtcp2_tstamp next = deadline;
      for (auto& c : conns) next = std::min(next, ngtcp2_conn_get_expiry(c->conn));
      int wait_ms = next <= now ? 0 : int(std::min<ngtcp2_tstamp>((next - now) / 1000000 + 1, 1000));
      pollfd pfd{fd, POLLIN, 0};
      poll(&pfd, 1, wait_ms);
      for (int i = 0; i < 256; ++i) {
        Addr from;
        from.len = sizeof from.ss;
        ssize_t r = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from.ss),
                             &from.len);
        if (r < 0) break;
        ngtcp2_version_cid vc;
        if (ngtcp2_pkt_decode_version_cid(&vc, buf.data(), size_t(r), 16) != 0) continue;
        auto it = by_cid.find(key_of(vc.dcid, vc.dcidlen));
        if (it == by_cid.end())
          accept_new(buf.data(), size_t(r), from);
        else
          feed(it->second, buf.data(), size_t(r));
      }
      now = now_ns();
      std::vector<Conn*> expired;
      for (auto& c : conns)
        if (ngtcp2_conn_get_expiry(c->conn) <= now) expired.push_back(c.get());
      for (Conn* c : expired) {
        int rc = ngtcp2_conn_handle_expiry(c->conn, now);
        if (rc != 0) {  // idle timeout or handshake timeout
          remove(c);
          continue;
        }
        if (!c->flush()) remove(c);
      }
    }
  }
};

Server* g_server = nullptr;

int Server::new_cid_cb(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  cid->datalen = cidlen;
  fill_random(cid->data, cidlen);
  ngtcp2_crypto_generate_stateless_reset_token(token, g_static_secret, sizeof g_static_secret, cid);
  c->my_cids.push_back(key_of(cid->data, cid->datalen));
  g_server->by_cid[c->my_cids.back()] = c;
  return 0;
}

int Server::recv_stream_cb(ngtcp2_conn* conn, uint32_t flags, int64_t sid, uint64_t,
                           const uint8_t* data, size_t len, void* ud, void*) {
  auto* c = static_cast<Conn*>(ud);
  auto& sp = c->streams[sid];
  if (!sp) {
    sp = std::make_unique<Stream>();
    sp->id = sid;
  }
  if (sp->request.size() < 4096) sp->request.append(reinterpret_cast<const char*>(data), len);
  consumed(conn, sid, len);
  if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) && !sp->fin_queued) g_server->respond(c, sp.get());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Client

struct ClientOpts {
  std::string ca, out, session;
  bool insecure = false, key_update = false;
  double timeout_s = 30;
  uint64_t datagrams = 0;  // --datagrams COUNT
  std::vector<std::string> urls;
};

struct Client {
  ClientOpts o;
  Conn c;
  std::string host, port;
  size_t next_url = 0;
  bool key_update_done = false;
  gnutls_certificate_credentials_t cred = nullptr;

  ~Client() {
    // The session goes before the credentials it points at.
    if (c.conn) ngtcp2_conn_del(c.conn);
    c.conn = nullptr;
    if (c.tls) gnutls_deinit(c.tls);
    c.tls = nullptr;
    if (cred) gnutls_certificate_free_credentials(cred);
  }

  static int recv_stream_cb(ngtcp2_conn* conn, uint32_t flags, int64_t sid, uint64_t,
                            const uint8_t* data, size_t len, void* ud, void*) {
    auto* c = static_cast<Conn*>(ud);
    auto it = c->streams.find(sid);
    if (it == c->streams.end()) return 0;
    Stream* s = it->second.get();
    if (s->file && len && std::fwrite(data, 1, len, s->file) != len) return NGTCP2_ERR_CALLBACK_FAILURE;
    s->received += len;
    consumed(conn, sid, len);
    if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) s->complete = true;
    return 0;
  }
  static int stream_close_cb(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t err, void* ud,
                             void*) {
    auto* c = static_cast<Conn*>(ud);
    auto it = c->streams.find(sid);
    if (it == c->streams.end()) return 0;
    Stream* s = it->second.get();
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) && err != 0) s->complete = false;
    if (s->file) {
      std::fclose(s->file);
      s->file = nullptr;
    }
    logf("client: %s: %llu bytes, %s", s->path.c_str(), (unsigned long long)s->received,
         s->complete ? "complete" : "INCOMPLETE");
    if (!s->complete) c->failed = true;
    return 0;
  }
  static int recv_retry_cb(ngtcp2_conn* conn, const ngtcp2_pkt_hd* hd, void* ud) {
    static_cast<Conn*>(ud)->retried = true;
    logf("client: received retry");
    return ngtcp2_crypto_recv_retry_cb(conn, hd, ud);
  }
  static int new_cid_cb(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen, void*) {
    cid->datalen = cidlen;
    fill_random(cid->data, cidlen);
    fill_random(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    return 0;
  }
  // Opens streams for queued URLs while the peer allows.
  void open_streams() {
    while (next_url < o.urls.size() && ngtcp2_conn_get_streams_bidi_left(c.conn) > 0) {
      const std::string& url = o.urls[next_url];
      auto rest = url.substr(std::strlen("https://"));
      auto slash = rest.find('/');
      std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
      int64_t sid;
      if (ngtcp2_conn_open_bidi_stream(c.conn, &sid, nullptr) != 0) return;
      auto s = std::make_unique<Stream>();
      s->id = sid;
      s->path = path;
      std::string req = "GET " + path + "\r\n";
      s->out.assign(req.begin(), req.end());
      s->fin_queued = true;
      if (!o.out.empty()) {
        std::string base = path.substr(path.rfind('/') + 1);
        if (base.empty()) base = "index.html";
        std::string fn = o.out + "/" + base;
        s->file = std::fopen(fn.c_str(), "wb");
        if (!s->file) die("cannot write %s", fn.c_str());
      }
      c.streams[sid] = std::move(s);
      ++next_url;
    }
  }

  // Echoes still missing once every probe datagram is acknowledged or lost get this long.
  static constexpr ngtcp2_tstamp kEchoGrace = NGTCP2_SECONDS;

  bool datagrams_done(ngtcp2_tstamp now) {
    if (!c.probing) return true;
    // A full window with everything acknowledged or lost and quiet for 200 ms: echoes were lost.
    if (c.dgram_next < c.dgram_count && c.dgram_unresolved >= Conn::kDgramWindow &&
        c.dgram_acked + c.dgram_lost == c.dgram_next &&
        now - c.dgram_last_change >= 200 * NGTCP2_MILLISECONDS && c.dgram_write_off()) {
      c.dgram_last_change = now;
    }
    if (c.dgram_next < c.dgram_count) return false;
    // Every datagram acknowledged or lost (an echo may overtake its datagram's ACK), and echoed
    // or given up on; a tally stuck for 3 s is reported as pending instead.
    const ngtcp2_tstamp quiet = now - c.dgram_last_change;
    return (c.dgram_acked + c.dgram_lost == c.dgram_next &&
            (c.dgram_got == c.dgram_next || quiet >= kEchoGrace)) ||
           quiet >= 3 * NGTCP2_SECONDS;
  }

  // Prints the probe's tally; false when the probe failed (no DATAGRAM, nothing echoed, or an
  // echo that is not what was sent).
  bool report_datagrams() {
    if (!c.probing) return true;
    std::string line = "client: datagrams: sent " + std::to_string(c.dgram_next) + ", acked " +
                       std::to_string(c.dgram_acked) + ", lost " + std::to_string(c.dgram_lost) +
                       ", echoed " + std::to_string(c.dgram_got);
    const uint64_t pending = c.dgram_next - c.dgram_acked - c.dgram_lost;
    if (pending) line += ", pending " + std::to_string(pending);
    if (c.dgram_dup) line += ", duplicates " + std::to_string(c.dgram_dup);
    if (c.dgram_bad) line += ", bad " + std::to_string(c.dgram_bad);
    logf("%s", line.c_str());
    if (!c.dgram_error.empty()) logf("client: datagrams: %s", c.dgram_error.c_str());
    return c.dgram_error.empty() && c.dgram_got > 0 && c.dgram_bad == 0;
  }

  bool all_done() {
    if (next_url < o.urls.size()) return false;
    for (auto& [id, s] : c.streams)
      if (s->file || !s->complete) return false;
    return true;
  }

  size_t done_count() {
    size_t n = 0;
    for (auto& [id, s] : c.streams)
      if (s->complete && !s->file) ++n;
    return n;
  }

  void save_ticket() {
    if (o.session.empty()) return;
    gnutls_datum_t d{};
    if (gnutls_session_get_data2(c.tls, &d) != 0) return;
    FILE* f = std::fopen(o.session.c_str(), "wb");
    if (f) {
      std::fwrite(d.data, 1, d.size, f);
      std::fclose(f);
    }
    gnutls_free(d.data);
  }

  void setup_tls() {
    if (gnutls_init(&c.tls, GNUTLS_CLIENT) != 0) die("gnutls_init");
    if (gnutls_priority_set_direct(c.tls, kPriority, nullptr) != 0) die("priority");
    if (ngtcp2_crypto_gnutls_configure_client_session(c.tls) != 0) die("configure_client_session");
    gnutls_certificate_allocate_credentials(&cred);
    if (!o.ca.empty()) {
      if (gnutls_certificate_set_x509_trust_file(cred, o.ca.c_str(), GNUTLS_X509_FMT_PEM) <= 0)
        die("cannot load CA %s", o.ca.c_str());
    } else if (!o.insecure) {
      gnutls_certificate_set_x509_system_trust(cred);
    }
    gnutls_credentials_set(c.tls, GNUTLS_CRD_CERTIFICATE, cred);
    if (!o.insecure) gnutls_session_set_verify_cert(c.tls, host.c_str(), 0);
    gnutls_server_name_set(c.tls, GNUTLS_NAME_DNS, host.c_str(), host.size());
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)),
                        unsigned(sizeof kAlpn - 1)};
    gnutls_alpn_set_protocols(c.tls, &alpn, 1, 0);
    gnutls_session_set_ptr(c.tls, &c.ref);
    if (!o.session.empty()) {
      std::ifstream f(o.session, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (!data.empty()) {
        gnutls_datum_t d{reinterpret_cast<unsigned char*>(data.data()), unsigned(data.size())};
        if (gnutls_session_set_data(c.tls, d.data, d.size) != 0)
          logf("client: stored session unusable, full handshake");
      }
    }
  }

  int run() {
    for (auto& u : o.urls) {
      if (u.rfind("https://", 0) != 0) die("URL must start with https://: %s", u.c_str());
      auto rest = u.substr(8);
      std::string hp = rest.substr(0, rest.find('/'));
      std::string h, p;
      split_hostport(hp, h, p);
      if (host.empty()) {
        host = h;
        port = p;
      } else if (h != host || p != port) {
        die("all URLs must name the same HOST:PORT");
      }
    }
    c.remote = resolve(host, port);
    Addr any;
    any.ss.ss_family = c.remote.ss.ss_family;
    c.fd = open_udp(any, &c.remote);
    c.local.len = sizeof c.local.ss;
    getsockname(c.fd, reinterpret_cast<sockaddr*>(&c.local.ss), &c.local.len);
    setup_tls();

    ngtcp2_callbacks cb;
    base_callbacks(cb);
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = recv_retry_cb;
    cb.get_new_connection_id = new_cid_cb;
    cb.recv_stream_data = recv_stream_cb;
    cb.stream_close = stream_close_cb;
    ngtcp2_settings st;
    ngtcp2_transport_params p;
    base_settings(st, p);
    p.initial_max_stream_data_bidi_local = 8 << 20;
    p.initial_max_data = 16 << 20;
    if (o.datagrams) {
      p.max_datagram_frame_size = kDatagramFrameSize;
      c.probing = true;
      c.dgram_count = o.datagrams;
      c.dgram_state.assign(size_t(o.datagrams), 0);
    }
    ngtcp2_cid dcid, scid;
    dcid.datalen = 18;
    fill_random(dcid.data, dcid.datalen);
    scid.datalen = 16;
    fill_random(scid.data, scid.datalen);
    ngtcp2_path path = c.path();
    if (int rc = ngtcp2_conn_client_new(&c.conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                        &st, &p, nullptr, &c);
        rc != 0)
      die("conn_client_new: %s", ngtcp2_strerror(rc));
    ngtcp2_conn_set_tls_native_handle(c.conn, c.tls);

    ngtcp2_tstamp deadline = now_ns() + ngtcp2_tstamp(o.timeout_s * NGTCP2_SECONDS);
    std::vector<uint8_t> buf(65536);
    bool reported = false;
    if (!c.flush()) die("initial flush failed");
    for (;;) {
      ngtcp2_tstamp now = now_ns();
      if (now >= deadline) {
        logf("client: timeout after %.1f s (%zu of %zu URLs complete)", o.timeout_s, done_count(),
             o.urls.size());
        report_datagrams();
        c.close();
        return 1;
      }
      ngtcp2_tstamp next = std::min(deadline, ngtcp2_conn_get_expiry(c.conn));
      // While the probe waits for echoes the loop looks at the clock every 50 ms.
      const ngtcp2_tstamp cap_ms = c.probing && !datagrams_done(now) ? 50 : 1000;
      int wait_ms = next <= now ? 0 : int(std::min<ngtcp2_tstamp>((next - now) / 1000000 + 1, cap_ms));
      pollfd pfd{c.fd, POLLIN, 0};
      poll(&pfd, 1, wait_ms);
      for (int i = 0; i < 256; ++i) {
        ssize_t r = recv(c.fd, buf.data(), buf.size(), 0);
        if (r < 0) break;
        ngtcp2_pkt_info pi{};
        ngtcp2_path pth = c.path();
        int rc = ngtcp2_conn_read_pkt(c.conn, &pth, &pi, buf.data(), size_t(r), now_ns());
        if (rc == NGTCP2_ERR_DRAINING) {
          logf("client: peer closed the connection");
          const bool dgram_ok = report_datagrams();
          return all_done() && !c.failed && dgram_ok ? 0 : 1;
        }
        if (rc != 0) {
          logf("client: read_pkt: %s", ngtcp2_strerror(rc));
          if (rc == NGTCP2_ERR_CRYPTO)
            ngtcp2_connection_close_error_set_transport_error_tls_alert(
                &c.last_error, ngtcp2_conn_get_tls_alert(c.conn), nullptr, 0);
          else
            ngtcp2_connection_close_error_set_transport_error_liberr(&c.last_error, rc, nullptr, 0);
          c.close();
          return 1;
        }
      }
      now = now_ns();
      if (ngtcp2_conn_get_expiry(c.conn) <= now) {
        int rc = ngtcp2_conn_handle_expiry(c.conn, now);
        if (rc != 0) {
          logf("client: %s", ngtcp2_strerror(rc));
          return 1;
        }
      }
      if (c.handshake_done && !reported) {
        reported = true;
        logf("client: handshake complete, resumed: %s, retry: %s",
             gnutls_session_is_resumed(c.tls) ? "yes" : "no", c.retried ? "yes" : "no");
      }
      if (c.handshake_done) open_streams();
      if (o.key_update && c.handshake_confirmed && !key_update_done) {
        int rc = ngtcp2_conn_initiate_key_update(c.conn, now_ns());
        if (rc == 0) {
          key_update_done = true;
          logf("client: key update initiated");
        }
      }
      if (c.failed) {
        report_datagrams();
        c.close();
        return 1;
      }
      if (c.handshake_done && all_done() && datagrams_done(now_ns())) {
        // Tickets arrive after the handshake; by the time all bodies are in, one has come.
        save_ticket();
        logf("client: all %zu URLs fetched (key updates: %d)", o.urls.size(), c.key_updates);
        const bool dgram_ok = report_datagrams();
        c.close();
        if (!dgram_ok) return 1;
        if (o.key_update && !key_update_done) {
          logf("client: key update was requested but never initiated");
          return 1;
        }
        return 0;
      }
      if (!c.flush()) {
        c.close();
        return 1;
      }
    }
  }
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  ngtcp2_peer server --listen ADDR:PORT --www DIR --cert FILE --key FILE "
               "[--retry] [--timeout SEC] [-v]\n"
               "  ngtcp2_peer client [--ca FILE | --insecure] [--out DIR] [--key-update] "
               "[--session FILE] [--datagrams COUNT] [--timeout SEC] [-v] URL...\n"
               "TLS secrets go to $SSLKEYLOGFILE when set (GnuTLS does this itself).\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  if (gnutls_global_init() != 0) die("gnutls_global_init");
  fill_random(g_static_secret, sizeof g_static_secret);
  std::string mode = argv[1];
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage();
    return argv[++i];
  };
  if (mode == "server") {
    Server s;
    g_server = &s;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--listen") s.o.listen = need(i);
      else if (a == "--www") s.o.www = need(i);
      else if (a == "--cert") s.o.cert = need(i);
      else if (a == "--key") s.o.key = need(i);
      else if (a == "--retry") s.o.retry = true;
      else if (a == "--timeout") s.o.timeout_s = std::atof(need(i).c_str());
      else if (a == "-v") g_verbose = true;
      else usage();
    }
    if (s.o.listen.empty() || s.o.www.empty() || s.o.cert.empty() || s.o.key.empty()) usage();
    return s.run();
  }
  if (mode == "client") {
    auto cl = std::make_unique<Client>();
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--ca") cl->o.ca = need(i);
      else if (a == "--insecure") cl->o.insecure = true;
      else if (a == "--out") cl->o.out = need(i);
      else if (a == "--key-update") cl->o.key_update = true;
      else if (a == "--session") cl->o.session = need(i);
      else if (a == "--datagrams") {
        char* end = nullptr;
        const std::string v = need(i);
        cl->o.datagrams = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || v[0] == '-' || cl->o.datagrams > 1000000) usage();
      }
      else if (a == "--timeout") cl->o.timeout_s = std::atof(need(i).c_str());
      else if (a == "-v") g_verbose = true;
      else if (a.rfind("--", 0) == 0) usage();
      else cl->o.urls.push_back(a);
    }
    if (cl->o.urls.empty()) usage();
    return cl->run();
  }
  usage();
}
