#include "dataplane/quic/conn/quic_endpoint.h"

#include <algorithm>
#include <cstring>

#include "dataplane/quic/qlog/qlog_writer.h"
#include "dataplane/quic/wire/packet_header.h"

namespace camp::quic {

namespace {

constexpr size_t kMinInitialDatagram = 1200;  // RFC 9000 14.1
constexpr size_t kMinClientDcid = 8;          // RFC 9000 7.2
constexpr size_t kMinStatelessReset = 21;     // RFC 9000 10.3
// Stale entries the deadline heap may hold beyond two per live connection before it is rebuilt.
constexpr size_t kHeapSlack = 64;

uint32_t handle_of(const Connection& c) { return static_cast<uint32_t>(c.id()); }

// CIDs one connection may hold in the table: ours for every path ID it may open (the active limit
// and as many awaiting retirement), plus the client's Initial DCID (multipath-21 3.2.1).
size_t cids_per_connection(const QuicEndpointConfig& cfg) {
  const uint64_t paths =
      std::min<uint64_t>(cfg.conn.local_tp.initial_max_path_id.value_or(0), kMaxCidPaths - 1) + 1;
  return static_cast<size_t>(paths) * 2 * kMaxActiveCids + 2;
}

// Keys the tables' hashes (CidTable), so that their probe chains cannot be predicted.
uint64_t table_seed(const QuicEndpointConfig& cfg) {
  return cfg.seed ? cfg.seed : 0x9e3779b97f4a7c15ULL;
}

}  // namespace

QuicEndpoint::QuicEndpoint(const QuicEndpointConfig& cfg, const TlsContext& tls, QuicApp* app)
    : cfg_(cfg), tls_(tls), app_(app), codec_(cfg.cid), tokens_(imb_),
      table_(std::max<size_t>(1, cfg.max_connections) * cids_per_connection(cfg),
             table_seed(cfg)),
      // Two CIDs in use per path (one more while a migration retires the old).
      reset_index_(std::max<size_t>(1, cfg.max_connections) * cids_per_connection(cfg) /
                       kMaxActiveCids,
                   table_seed(cfg) ^ 0x5bd1e9955bd1e995ULL) {
  if (!imb_.ok()) {
    error_ = "intel-ipsec-mb manager could not be created";
    return;
  }
  if (!codec_.valid()) {
    error_ = std::string("connection ID layout: ") + to_string(codec_.error());
    return;
  }
  std::array<uint8_t, StatelessResetKey::kKeyLength> reset_key{};
  std::array<uint8_t, kTokenKeyLen> token_key{};
  if (cfg.seed) {
    auto r = std::make_unique<SeededRandom>(cfg.seed);
    r->fill(reset_key.data(), reset_key.size());
    r->fill(token_key.data(), token_key.size());
    random_ = std::move(r);
  } else {
    random_ = std::make_unique<GnutlsRandom>();
    if (!StatelessResetKey::generate(reset_key) ||
        !random_->fill(token_key.data(), token_key.size())) {
      error_ = "no randomness for the stateless reset and token keys";
      return;
    }
  }
  if (cfg.reset_key) reset_key = *cfg.reset_key;
  reset_key_ = std::make_unique<StatelessResetKey>(reset_key);
  if (tokens_.init(token_key, cfg.worker, 0) != CryptoStatus::ok ||
      retry_.init(imb_) != CryptoStatus::ok) {
    error_ = "token or Retry key set-up failed";
    return;
  }
  slots_.resize(cfg.max_connections);
  free_.reserve(cfg.max_connections);
  live_.reserve(cfg.max_connections);
  touched_.reserve(cfg.max_connections);
  woken_.reserve(cfg.max_connections);
  due_.reserve(cfg.max_connections);
  heap_.reserve(2 * cfg.max_connections + kHeapSlack);
  for (size_t i = cfg.max_connections; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
}

QuicEndpoint::~QuicEndpoint() = default;

std::optional<uint32_t> QuicEndpoint::new_slot() {
  if (free_.empty()) return std::nullopt;
  const uint32_t h = free_.back();
  free_.pop_back();
  ConnectionShared shared;
  shared.imb = &imb_;
  shared.tls = &tls_;
  shared.cid_codec = &codec_;
  shared.worker = cfg_.worker;
  shared.random = random_.get();
  shared.reset_key = reset_key_.get();
  shared.tokens = cfg_.role == Role::kServer ? &tokens_ : nullptr;
  shared.retry = &retry_;
  // The connection ID's low 32 bits name the slot; the high ones make it unique over time.
  const uint64_t id = (next_conn_id_++ << 32) | h;
  slots_[h].conn = std::make_unique<Connection>(id, shared, *this);
  slots_[h].cids.clear();
  slots_[h].reset_tokens.clear();
  slots_[h].reset_gen = UINT64_MAX;
  slots_[h].reset_missing = 0;
  slots_[h].deadline = kNever;
  slots_[h].live_pos = static_cast<uint32_t>(live_.size());
  live_.push_back(h);
  return h;
}

Connection* QuicEndpoint::find(uint64_t conn_id) {
  const uint32_t h = static_cast<uint32_t>(conn_id);
  if (h >= slots_.size() || !slots_[h].conn || slots_[h].conn->id() != conn_id) return nullptr;
  return slots_[h].conn.get();
}

bool QuicEndpoint::add_cid(Connection& c, ByteView cid) {
  Slot& s = slots_[handle_of(c)];
  if (s.cids.size() >= cids_per_connection(cfg_)) return false;
  if (table_.insert(cid, handle_of(c)) != CidTableError::kOk) return false;
  s.cids.emplace_back(cid);
  return true;
}

void QuicEndpoint::remove_cid(Connection& c, ByteView cid) {
  Slot& s = slots_[handle_of(c)];
  auto it = std::find(s.cids.begin(), s.cids.end(), ConnectionId(cid));
  if (it == s.cids.end()) return;
  table_.erase(cid);
  s.cids.erase(it);
}

Connection* QuicEndpoint::connect(const Tuple& tuple, TimeNs now, const ConnectionConfig& cfg) {
  last_error_.clear();
  std::optional<uint32_t> h = new_slot();
  if (!h) {
    last_error_ = "no free connection slot";
    return nullptr;
  }
  Connection& c = *slots_[*h].conn;
  if (cfg_.qlog_factory) c.set_qlog(cfg_.qlog_factory(Role::kClient, ByteView()));
  if (!c.connect(cfg, tuple, now)) {
    last_error_ = c.close_info().reason.empty() ? "handshake could not start" : c.close_info().reason;
    reap(*h);
    return nullptr;
  }
  if (app_) app_->on_new_connection(c);
  settle(*h, now);  // its first Initial is due now
  return &c;
}

TxSlot* QuicEndpoint::reply_slot(TxBatch& tx, const RxDatagram& d) {
  TxSlot* s = tx.acquire();
  if (!s) return nullptr;
  s->tuple = d.tuple;
  return s;
}

void QuicEndpoint::touch(uint32_t h) {
  Slot& s = slots_[h];
  if (s.touched) return;
  s.touched = true;
  touched_.push_back(h);
}

void QuicEndpoint::on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                                WorkerStats& stats) {
  for (size_t i = 0; i < n; ++i) on_datagram(rx[i], now, tx, stats);
  // Only the connections this burst reached: with many connections per worker, serving every
  // one after every burst cost a send attempt each. The others are served at their own
  // deadlines (on_timer), which heap_ keeps.
  for (const uint32_t h : touched_) {
    if (slots_[h].conn) service(h, now, tx, stats);
  }
  for (const uint32_t h : touched_) {
    slots_[h].touched = false;
    if (slots_[h].conn) settle(h, now);
  }
  touched_.clear();
  tx.request_timer(next_wake(now));
}

uint64_t QuicEndpoint::on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) {
  // Only the connections whose deadline has come (their timers, or something to send now) and
  // those whose application acted since (Slot::woken) run; the others cost nothing.
  due_.clear();
  while (!heap_.empty() && heap_.front().t <= now) {
    const Wake w = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    heap_.pop_back();
    Slot& s = slots_[w.h];
    if (!s.conn || w.gen != s.gen || w.t != s.deadline || s.due) continue;  // stale
    s.deadline = kNever;  // filed afresh by settle()
    s.due = true;
    due_.push_back(w.h);
  }
  for (const uint32_t h : woken_) {
    Slot& s = slots_[h];
    s.in_woken_list = false;
    if (s.conn && s.woken && !s.due) {
      s.due = true;
      due_.push_back(h);
    }
  }
  woken_.clear();
  for (const uint32_t h : due_) {
    if (!slots_[h].conn) continue;
    Connection& c = *slots_[h].conn;
    const bool due = c.next_timeout(now) <= now;
    if (due) c.on_timeout(now);
    if (due || c.app_wakeup_pending()) service(h, now, tx, stats);
  }
  for (const uint32_t h : due_) {
    slots_[h].due = false;
    if (slots_[h].conn) settle(h, now);
  }
  return next_wake(now);
}

void QuicEndpoint::on_app_action(Connection& c) {
  Slot& s = slots_[handle_of(c)];
  if (!s.woken) {
    s.woken = true;
    ++n_woken_;
  }
  if (!s.in_woken_list) {
    s.in_woken_list = true;
    woken_.push_back(handle_of(c));
  }
}

void QuicEndpoint::settle(uint32_t h, TimeNs now) {
  Slot& s = slots_[h];
  if (s.woken) {  // what its application did is seen now
    s.woken = false;
    --n_woken_;
  }
  if (s.conn->closed()) {
    reap(h);
  } else {
    schedule(h, now);
  }
}

void QuicEndpoint::schedule(uint32_t h, TimeNs now) {
  Slot& s = slots_[h];
  const TimeNs t = s.conn->next_timeout(now);
  if (t == s.deadline) return;
  s.deadline = t;
  if (t == kNever) return;
  if (heap_.size() >= 2 * live_.size() + kHeapSlack) {
    // Mostly stale entries (deadlines that moved): keep one per live connection.
    heap_.clear();
    for (const uint32_t l : live_) {
      if (slots_[l].deadline != kNever) heap_.push_back({slots_[l].deadline, l, slots_[l].gen});
    }
    std::make_heap(heap_.begin(), heap_.end(), std::greater<>());
    return;  // h's entry is among them
  }
  heap_.push_back({t, h, s.gen});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
}

int32_t QuicEndpoint::steer(const RxDatagram& d) const {
  // Only the invariant header fields are read (RFC 8999 5): the first octet's form bit and, for
  // a long header, the DCID length octet after the version, so any version routes alike.
  constexpr size_t kLongDcidLenOffset = 5;  // first octet + 4-octet version
  if (d.len == 0 || d.data == nullptr) return -1;
  DecodedCid r;
  if ((d.data[0] & 0x80) == 0) {
    r = codec_.route_short_header(ByteView(d.data, d.len));
  } else {
    if (d.len <= kLongDcidLenOffset) return -1;
    const size_t dcid_len = d.data[kLongDcidLenOffset];
    if (dcid_len != codec_.cid_length() || d.len < kLongDcidLenOffset + 1 + dcid_len) return -1;
    r = codec_.route(ByteView(d.data + kLongDcidLenOffset + 1, dcid_len));
  }
  if (r.status != CidStatus::kOk || r.worker == cfg_.worker) return -1;
  return r.worker;
}

void QuicEndpoint::on_datagram(const RxDatagram& d, TimeNs now, TxBatch& tx, WorkerStats& stats) {
  // Drivers hand over writable buffers: packets are decrypted in place.
  uint8_t* data = const_cast<uint8_t*>(d.data);
  PacketHeader h;
  const HeaderStatus hs = parse_packet_header(data, d.len, codec_.cid_length(), h);
  if (hs == HeaderStatus::kUnsupportedVersion) {
    stats.drop(DropReason::quic_version);
    if (cfg_.role == Role::kServer && d.len >= kMinInitialDatagram) send_version_negotiation(h, d, tx);
    return;
  }
  if (hs != HeaderStatus::kOk) {
    stats.drop(DropReason::quic_header);
    return;
  }
  std::optional<ConnectionHandle> found = table_.find(h.dcid);
  if (found && slots_[*found].conn) {
    Connection& c = *slots_[*found].conn;
    // The connection counts its own drops; the worker's totals take the difference.
    const ConnStats& cs = c.stats();
    const uint64_t undecryptable = cs.drop_decrypt + cs.drop_no_keys;
    const uint64_t duplicate = cs.drop_duplicate;
    c.on_datagram(data, d.len, d.tuple, now);
    sync_reset_tokens(*found);
    touch(*found);
    if (cs.drop_decrypt + cs.drop_no_keys > undecryptable) {
      stats.drop(DropReason::quic_undecryptable, cs.drop_decrypt + cs.drop_no_keys - undecryptable);
    }
    if (cs.drop_duplicate > duplicate) stats.drop(DropReason::quic_duplicate, cs.drop_duplicate - duplicate);
    return;
  }
  if (h.type == PacketType::kOneRtt) {
    if (stateless_reset_for_us(d, now)) return;
    stats.drop(DropReason::quic_unknown_connection);
    send_stateless_reset(h.dcid, d, tx);
    return;
  }
  if (cfg_.role != Role::kServer || h.type != PacketType::kInitial) {
    stats.drop(DropReason::quic_not_initial);
    return;
  }
  accept_initial(h, d, now, tx, stats);
}

void QuicEndpoint::accept_initial(const PacketHeader& h, const RxDatagram& d, TimeNs now,
                                  TxBatch& tx, WorkerStats& stats) {
  if (d.len < kMinInitialDatagram) {
    stats.drop(DropReason::quic_initial_too_small);
    return;
  }
  // A client picks at least 8 bytes for its first DCID (RFC 9000 7.2); after a Retry it uses ours.
  if (h.dcid.size < kMinClientDcid && !(h.token.size && codec_.route(h.dcid).status == CidStatus::kOk)) {
    stats.drop(DropReason::quic_short_dcid);
    return;
  }
  Connection::AcceptInfo info;
  info.client_dcid = ConnectionId(h.dcid);
  info.client_scid = ConnectionId(h.scid);
  if (h.token.size) {
    ValidatedToken vt;
    const TokenCheck check =
        tokens_.validate(h.token, d.tuple.remote, d.tuple.remote_port, now, &vt);
    const TokenAction action = token_action(check, vt.kind);
    if (action == TokenAction::kCloseInvalidToken ||
        (check == TokenCheck::kValidRetry && !(vt.retry_scid == info.client_dcid))) {
      // RFC 9000 8.1.2 allows dropping it: the client's handshake then times out.
      stats.drop(DropReason::quic_bad_token);
      return;
    }
    if (action == TokenAction::kValidated) {
      info.address_validated = true;
      if (check == TokenCheck::kValidRetry) {
        info.odcid_from_retry = vt.odcid;
        info.retry_scid = vt.retry_scid;
      }
    }
  }
  if (cfg_.retry && !info.address_validated) {
    send_retry(h, d, now, tx);
    return;
  }
  std::optional<uint32_t> slot = new_slot();
  if (!slot) {
    stats.drop(DropReason::quic_no_connection_slot);
    return;
  }
  Connection& c = *slots_[*slot].conn;
  if (cfg_.qlog_factory) c.set_qlog(cfg_.qlog_factory(Role::kServer, info.odcid_from_retry
                                                                      ? info.odcid_from_retry->view()
                                                                      : h.dcid));
  if (!c.accept(cfg_.conn, info, d.tuple, now)) {
    reap(*slot);
    return;
  }
  c.on_datagram(const_cast<uint8_t*>(d.data), d.len, d.tuple, now);
  if (c.stats().packets_decrypted == 0) {
    // Nothing in it decrypted: forged or corrupted. Keep no state for it (RFC 9000 21.2: an
    // Initial costs an attacker nothing), and count it like any undecryptable packet.
    stats.drop(DropReason::quic_undecryptable);
    c.abandon(now);
    reap_silently(*slot);
    return;
  }
  ++counters_.accepted;
  touch(*slot);
  if (app_) app_->on_new_connection(c);
}

void QuicEndpoint::send_version_negotiation(const PacketHeader& h, const RxDatagram& d,
                                            TxBatch& tx) {
  TxSlot* s = reply_slot(tx, d);
  if (!s) return;
  // v1 and a greased version (RFC 9000 6.3) of the reserved 0x?a?a?a?a form, never the one the
  // client tried: a client discards a Version Negotiation listing its own version (6.2).
  uint8_t rnd[5] = {};
  random_->fill(rnd, sizeof rnd);
  uint32_t grease = ((uint32_t{rnd[1]} << 24) | (uint32_t{rnd[2]} << 16) | (uint32_t{rnd[3]} << 8) |
                     rnd[4]) & 0xf0f0f0f0u;
  grease |= 0x0a0a0a0au;
  if (grease == h.version) grease ^= 0x10000000u;
  const uint32_t versions[] = {kQuicVersion1, grease};
  const uint8_t unused = rnd[0];
  s->len = static_cast<uint16_t>(
      write_version_negotiation(s->data, s->cap, h.scid, h.dcid, versions, 2, 0x40 | unused));
  if (s->len) {
    tx.commit();
    ++counters_.version_negotiations_sent;
  }
}

void QuicEndpoint::send_retry(const PacketHeader& h, const RxDatagram& d, TimeNs now,
                              TxBatch& tx) {
  ConnectionId scid;
  if (!codec_.generate(cfg_.worker, *random_, scid)) return;
  uint8_t token[kMaxTokenLen];
  const size_t tlen = tokens_.make_retry_token(token, sizeof token, d.tuple.remote,
                                               d.tuple.remote_port, h.dcid, scid.view(), now);
  if (tlen == 0) return;
  TxSlot* s = reply_slot(tx, d);
  if (!s) return;
  uint8_t zero_tag[kRetryIntegrityTagLength] = {};
  size_t n = write_retry(s->data, s->cap, kQuicVersion1, h.scid, scid.view(), ByteView(token, tlen),
                         ByteView(zero_tag, sizeof zero_tag));
  if (n < kRetryIntegrityTagLength) return;
  std::array<uint8_t, kAeadTagLen> tag{};
  if (retry_.compute_tag(imb_, {h.dcid.data, h.dcid.size}, {s->data, n - kRetryIntegrityTagLength},
                         tag) != CryptoStatus::ok) {
    return;
  }
  std::memcpy(s->data + n - kRetryIntegrityTagLength, tag.data(), tag.size());
  s->len = static_cast<uint16_t>(n);
  tx.commit();
  ++counters_.retries_sent;
}

void QuicEndpoint::send_stateless_reset(ByteView dcid, const RxDatagram& d, TxBatch& tx) {
  // RFC 9000 10.3: smaller than what triggered it (so two endpoints cannot loop), at least 21
  // bytes, looking like a short-header packet.
  if (d.len <= kMinStatelessReset) return;
  const size_t len = std::min<size_t>(d.len - 1, 43);
  StatelessResetToken token;
  if (!reset_key_->token(dcid, token)) return;
  TxSlot* s = reply_slot(tx, d);
  if (!s || s->cap < len) return;
  random_->fill(s->data, len - token.size());
  s->data[0] = static_cast<uint8_t>(0x40 | (s->data[0] & 0x3f));
  std::memcpy(s->data + len - token.size(), token.data(), token.size());
  s->len = static_cast<uint16_t>(len);
  tx.commit();
  ++counters_.stateless_resets_sent;
}

void QuicEndpoint::service(uint32_t h, TimeNs now, TxBatch& tx, WorkerStats& stats) {
  Connection& c = *slots_[h].conn;
  ++counters_.serviced;
  if (app_ && c.take_app_wakeup() && !c.closed()) app_->on_connection_progress(c, now);
  while (!c.closed()) {
    TxSlot* s = tx.acquire();
    if (!s) break;
    const size_t n = c.send(s->data, s->cap, &s->tuple, now);
    if (n == 0) break;
    s->len = static_cast<uint16_t>(n);
    tx.commit();
  }
  // Timers, the application and control commands may have changed the peer's CIDs in use.
  sync_reset_tokens(h);
}

void QuicEndpoint::sync_reset_tokens(uint32_t h, bool gone) {
  Slot& s = slots_[h];
  const uint64_t gen = gone ? UINT64_MAX : s.conn->peer_reset_tokens_gen();
  if (gen == s.reset_gen) return;
  s.reset_gen = gen;
  for (const StatelessResetToken& t : s.reset_tokens) {
    const ByteView key(t.data(), t.size());
    if (reset_index_.find(key) == h) reset_index_.erase(key);
  }
  s.reset_tokens.clear();
  reset_index_missing_ -= s.reset_missing;
  s.reset_missing = 0;
  if (gone) return;
  StatelessResetToken tokens[kMaxPeerResetTokens];
  const size_t n = s.conn->peer_reset_tokens(tokens);
  for (size_t i = 0; i < n; ++i) {
    const ByteView key(tokens[i].data(), tokens[i].size());
    if (reset_index_.insert(key, h) == CidTableError::kOk) {
      s.reset_tokens.push_back(tokens[i]);
    } else if (reset_index_.find(key) != h) {
      ++s.reset_missing;  // no room, or another connection's peer sent the same token
    }
  }
  reset_index_missing_ += s.reset_missing;
}

const Connection* QuicEndpoint::reset_token_owner(const StatelessResetToken& token) const {
  const std::optional<ConnectionHandle> h = reset_index_.find(ByteView(token.data(), token.size()));
  return h ? slots_[*h].conn.get() : nullptr;
}

bool QuicEndpoint::stateless_reset_for_us(const RxDatagram& d, TimeNs now) {
  // A peer's Stateless Reset carries an unpredictable DCID: it reaches no connection by routing
  // (RFC 9000 10.3.1). Its last 16 bytes find the connection whose token they may be; that
  // connection compares in constant time with the tokens of the CIDs it uses.
  if (d.len < kMinStatelessReset) return false;
  const ByteView tail(d.data + d.len - kStatelessResetTokenLength, kStatelessResetTokenLength);
  if (const std::optional<ConnectionHandle> h = reset_index_.find(tail);
      h && slots_[*h].conn && slots_[*h].conn->on_unroutable_datagram(d.data, d.len, now)) {
    touch(*h);  // now draining: settled (and its application told) after the burst
    return true;
  }
  if (reset_index_missing_ == 0) return false;
  for (uint32_t l : live_) {
    if (slots_[l].conn->on_unroutable_datagram(d.data, d.len, now)) {
      touch(l);
      return true;
    }
  }
  return false;
}

void QuicEndpoint::release_slot(uint32_t h) {
  Slot& s = slots_[h];
  sync_reset_tokens(h, true);
  for (const ConnectionId& cid : s.cids) table_.erase(cid.view());
  s.cids.clear();
  s.conn.reset();
  ++s.gen;  // its heap entries are stale now
  s.deadline = kNever;
  if (s.woken) {
    s.woken = false;
    --n_woken_;
  }
  const uint32_t last = live_.back();
  live_[s.live_pos] = last;
  slots_[last].live_pos = s.live_pos;
  live_.pop_back();
  free_.push_back(h);
}

void QuicEndpoint::reap_silently(uint32_t h) { release_slot(h); }

void QuicEndpoint::reap(uint32_t h) {
  Connection& c = *slots_[h].conn;
  if (app_) app_->on_connection_closed(c);
  counters_.key_updates += c.stats().key_updates;
  release_slot(h);
  ++counters_.closed;
}

TimeNs QuicEndpoint::next_wake(TimeNs now) {
  if (n_woken_ > 0) return now;
  while (!heap_.empty()) {
    const Wake& w = heap_.front();
    const Slot& s = slots_[w.h];
    if (s.conn && w.gen == s.gen && w.t == s.deadline) return w.t;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    heap_.pop_back();
  }
  return kNever;
}

}  // namespace camp::quic
