#include "dataplane/quic/conn/connection.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "dataplane/codec/varint.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "dataplane/quic/qlog/qlog_writer.h"
#include "dataplane/quic/wire/frame_parser.h"
#include "dataplane/quic/wire/frame_writer.h"

namespace camp::quic {

namespace {

// CRYPTO buffering per level, each way (RFC 9000 7.5 asks for at least 4096 bytes). Handshake
// carries the certificate chain; Initial (ClientHello, ServerHello) and 1-RTT (session tickets)
// carry little, and every connection would otherwise hold the larger ring while it lives.
constexpr size_t kCryptoBuffer = 64 * 1024;
constexpr size_t kSmallCryptoBuffer = 16 * 1024;
constexpr size_t kMaxFramesPerPacket = 64;   // frame log entries one packet may take
constexpr size_t kMinPacketRoom = 32;        // below this a packet is not worth building
constexpr uint16_t kMinInitialDatagram = 1200;  // RFC 9000 14.1
// STREAM data sealed from its send ring (Connection::seal): worth it from this size, and the frame
// bytes before it in the packet that may be borrowed from the ring at most.
constexpr size_t kMinRingData = 64;
constexpr size_t kMaxRingLead = 64;

// Packet number length from the distance to the largest acknowledged (RFC 9000 A.2).
size_t pn_length(uint64_t pn, bool has_acked, uint64_t largest_acked) {
  const uint64_t unacked = has_acked ? pn - largest_acked : pn + 1;
  if (unacked < (1u << 7)) return 1;
  if (unacked < (1u << 15)) return 2;
  if (unacked < (1u << 23)) return 3;
  return 4;
}

bool frame_is_ack_eliciting(const Frame& f) {
  return !std::holds_alternative<PaddingFrame>(f) && !std::holds_alternative<AckFrame>(f) &&
         !std::holds_alternative<ConnectionCloseFrame>(f);
}

// RFC 9000 9.1: the probing frames; a packet of nothing else does not move the connection.
bool frame_is_probing(const Frame& f) {
  return std::holds_alternative<PaddingFrame>(f) || std::holds_alternative<PathChallengeFrame>(f) ||
         std::holds_alternative<PathResponseFrame>(f) ||
         std::holds_alternative<NewConnectionIdFrame>(f);
}

// The frames of a bulk transfer: what they change of the paths, RxTouch follows path by path
// (an ACK touches the path it acknowledges); any other frame touches every path.
bool frame_touches_paths_singly(const Frame& f) {
  return std::holds_alternative<AckFrame>(f) || std::holds_alternative<StreamFrame>(f) ||
         std::holds_alternative<PaddingFrame>(f) || std::holds_alternative<PingFrame>(f) ||
         std::holds_alternative<MaxDataFrame>(f) || std::holds_alternative<MaxStreamDataFrame>(f) ||
         std::holds_alternative<DatagramFrame>(f);
}

bool same_four_tuple(const Tuple& a, const Tuple& b) {
  return a.remote_port == b.remote_port && a.local_port == b.local_port && a.remote == b.remote &&
         (a.local.family == 0 || b.local.family == 0 || a.local == b.local);
}

}  // namespace

const char* to_string(ConnState s) {
  switch (s) {
    case ConnState::kHandshake: return "handshake";
    case ConnState::kConfirmed: return "confirmed";
    case ConnState::kClosing: return "closing";
    case ConnState::kDraining: return "draining";
    case ConnState::kClosed: return "closed";
  }
  return "unknown";
}

// Routes PathRecovery's per-packet outcomes back to the frames the packets carried.
class Connection::RecoveryEvents final : public RecoveryObserver {
 public:
  RecoveryEvents(Connection& c, Path& p, TimeNs now) : c_(c), p_(p), now_(now) {}
  ~RecoveryEvents() { c_.flush_stream_acks(); }
  void on_packet_acked(PnSpace space, const SentPacket& pkt) override {
    ++c_.stats_.packets_acked;
    c_.log_for(space, p_).settle(pkt.tag, [&](const SentFrame& f) { c_.on_frame_acked(space, f); });
    if (pkt.carried_acks & SentPacket::kOwnAck) {
      c_.ack_for(space, p_).on_our_ack_acknowledged(pkt.ack_largest);
      c_.rx_touch(p_);
    }
    if (space != PnSpace::kApplicationData) return;
    // PATH_ACKs of other paths' spaces (of paths that could not send); a path whose ACKs never
    // went elsewhere has no record of this packet.
    for (size_t i = 0; (pkt.carried_acks & SentPacket::kOtherAcks) && i < c_.paths_.size(); ++i) {
      Path& q = *c_.paths_[i];
      if (&q != &p_ && q.acks_carried &&
          q.app_ack.on_ack_packet_acked(pkt.packet_number, p_.path_id)) {
        c_.rx_touch(q);
      }
    }
    if (pkt.packet_number >= p_.phase_first_tx_pn && !c_.app_keys_.phase_tx_acked) {
      c_.rx_touch_all();
      c_.app_keys_.phase_tx_acked = true;
      c_.app_keys_.phase_acked_at = now_;
    }
  }
  void on_packet_lost(PnSpace space, const SentPacket& pkt) override {
    c_.flush_stream_acks();  // acknowledged data first, as the events came
    ++c_.stats_.packets_lost;
    if (space == PnSpace::kApplicationData) ++p_.packets_lost;
    if (c_.qlog_) {
      c_.qlog_->packet_lost(now_, c_.packet_type_of(space), pkt.packet_number,
                            QlogLossTrigger::kTimeThreshold);
    }
    c_.log_for(space, p_).settle(pkt.tag, [&](const SentFrame& f) { c_.on_frame_lost(space, f); });
  }

 private:
  Connection& c_;
  Path& p_;
  TimeNs now_;
};

Connection::Space::Space(size_t ring, size_t frames, bool immediate_ack, size_t crypto_buffer)
    : crypto_tx(crypto_buffer, kMaxStreamOffset),
      crypto_rx(crypto_buffer),
      ack(AckTrackerConfig{.immediate = immediate_ack}),
      log(ring, frames, 16) {}

Connection::Path::Path(const PathRecoveryConfig& rc, size_t frames)
    : recovery(rc), app_ack(AckTrackerConfig{}), app_log(rc.app_ring_capacity, frames) {}

Connection::Connection(uint64_t id, const ConnectionShared& shared, CidRegistry& registry)
    : id_(id), shared_(shared), registry_(registry) {}

Connection::~Connection() = default;

PacketType Connection::packet_type_of(PnSpace s) {
  switch (s) {
    case PnSpace::kInitial: return PacketType::kInitial;
    case PnSpace::kHandshake: return PacketType::kHandshake;
    default: return PacketType::kOneRtt;
  }
}

PnSpace Connection::space_of(PacketType t) {
  switch (t) {
    case PacketType::kInitial: return PnSpace::kInitial;
    case PacketType::kHandshake: return PnSpace::kHandshake;
    default: return PnSpace::kApplicationData;
  }
}

EncryptionLevel Connection::level_of(PnSpace s) {
  switch (s) {
    case PnSpace::kInitial: return EncryptionLevel::initial;
    case PnSpace::kHandshake: return EncryptionLevel::handshake;
    default: return EncryptionLevel::application;
  }
}

AckTracker& Connection::ack_for(PnSpace s, Path& p) {
  return s == PnSpace::kApplicationData ? p.app_ack : space(s).ack;
}
const AckTracker& Connection::ack_for(PnSpace s, const Path& p) const {
  return s == PnSpace::kApplicationData ? p.app_ack : space(s).ack;
}
SentLog& Connection::log_for(PnSpace s, Path& p) {
  return s == PnSpace::kApplicationData ? p.app_log : space(s).log;
}

// ---- Set-up ------------------------------------------------------------------------------------

bool Connection::init_common(const ConnectionConfig& cfg, const Tuple& tuple, TimeNs now) {
  cfg_ = cfg;
  if (const char* e = std::getenv("CAMP_CHECK_SEND_CACHE"); e && *e && *e != '0') {
    cfg_.check_send_cache = cache_abort_ = true;
  }
  created_at_ = now;
  if (cfg_.max_datagram_size < kMinInitialDatagram) cfg_.max_datagram_size = kMinInitialDatagram;
  PathRecoveryConfig rc;
  rc.algorithm = cfg.cc;
  rc.max_datagram_size = cfg_.max_datagram_size;
  rc.app_ring_capacity = cfg.app_ring_packets;
  rc.seed = cfg.seed;
  rc.pacer_burst_bytes = 10 * cfg_.max_datagram_size;
  path_rc_ = rc;
  // Path IDs we allow: bounded by the CID slots (kMaxCidPaths) and the closed-ID bitmap.
  if (cfg_.local_tp.initial_max_path_id) {
    cfg_.local_tp.initial_max_path_id =
        std::min<uint64_t>(*cfg_.local_tp.initial_max_path_id, kMaxCidPaths - 1);
  }
  set_scheduler(cfg_.scheduler);
  const size_t hs_ring = rc.handshake_ring_capacity;
  for (int s = 0; s < kNumPnSpaces; ++s) {
    const bool app = s == static_cast<int>(PnSpace::kApplicationData);
    // The application space's packets are tracked per path; its Space keeps CRYPTO and keys.
    const bool hs = s == static_cast<int>(PnSpace::kHandshake);
    spaces_[s] = std::make_unique<Space>(app ? 1 : hs_ring, app ? 1 : hs_ring * 8, !app,
                                         hs ? kCryptoBuffer : kSmallCryptoBuffer);
  }
  make_path(0, tuple, now);
  handshake_peer_ = tuple;
  CidManagerConfig cc;
  cc.local_active_cid_limit = std::min<uint64_t>(cfg_.local_tp.active_connection_id_limit,
                                                 kMaxActiveCids);
  cids_ = std::make_unique<CidManager>(cc);
  const DurationNs idle = cfg_.local_tp.max_idle_timeout * kMillisecond;
  idle_timeout_ = idle ? idle : cfg_.handshake_timeout;
  idle_deadline_ = now + std::max(idle_timeout_, cfg_.handshake_timeout);
  rx_datagrams_.init(cfg_.max_received_datagrams,
                     std::min<uint64_t>(cfg_.local_tp.max_datagram_frame_size.value_or(0), 65535));
  tx_datagrams_.init(cfg_.max_queued_datagrams, cfg_.max_datagram_size);
  return true;
}

bool Connection::install_initial_keys(ByteView dcid) {
  PacketKeys client, server;
  if (derive_initial_keys({dcid.data, dcid.size}, client, server) != CryptoStatus::ok) return false;
  Space& sp = space(PnSpace::kInitial);
  const PacketKeys& rx = role_ == Role::kClient ? server : client;
  const PacketKeys& tx = role_ == Role::kClient ? client : server;
  ImbManager& m = *shared_.imb;
  sp.rx.ready = sp.rx.aead.init(m, rx) == CryptoStatus::ok && sp.rx.hp.init(m, rx) == CryptoStatus::ok;
  sp.tx.ready = sp.tx.aead.init(m, tx) == CryptoStatus::ok && sp.tx.hp.init(m, tx) == CryptoStatus::ok;
  return sp.rx.ready && sp.tx.ready;
}

bool Connection::new_local_cid(ConnectionId& out) {
  if (shared_.cid_codec) return shared_.cid_codec->generate(shared_.worker, *shared_.random, out);
  out.length = 8;
  return shared_.random->fill(out.bytes.data(), out.length);
}

bool Connection::register_local_cid(uint64_t path_id, const ConnectionId& cid) {
  StatelessResetToken token{};
  if (shared_.reset_key) shared_.reset_key->token(cid.view(), token);
  if (!cids_->add_local_cid(path_id, cid, token)) return false;
  return registry_.add_cid(*this, cid.view());
}

// ---- Paths (draft-ietf-quic-multipath-21 3) ----------------------------------------------------

Connection::Path* Connection::find_path(uint32_t path_id) {
  for (auto& p : paths_) {
    if (p->path_id == path_id) return p.get();
  }
  return nullptr;
}

const Connection::Path* Connection::find_path(uint32_t path_id) const {
  return const_cast<Connection*>(this)->find_path(path_id);
}

Connection::Path& Connection::make_path(uint32_t path_id, const Tuple& tuple, TimeNs now) {
  PathRecoveryConfig rc = path_rc_;
  rc.seed += path_id;
  auto path = std::make_unique<Path>(rc, cfg_.app_ring_packets * cfg_.sent_frames_per_packet);
  path->path_id = path_id;
  path->tuple = tuple;
  path->app_ack.set_max_ack_delay(cfg_.local_tp.max_ack_delay * kMillisecond);
  if (path_id != 0) {
    // A path opened after the handshake has only the application space.
    PathRecovery& r = path->recovery;
    r.set_has_handshake_keys(true);
    r.set_handshake_confirmed(true);
    r.set_peer_completed_address_validation(true);
    r.discard_space(PnSpace::kInitial, now);
    r.discard_space(PnSpace::kHandshake, now);
    if (peer_tp_applied_) r.set_max_ack_delay(peer_tp_.max_ack_delay * kMillisecond);
  }
  for (EarlyStatus& e : early_status_) {
    if (e.used && e.f.path_id == path_id) {
      path->peer_status_known = true;
      path->peer_status_seq = e.f.sequence_number;
      path->peer_backup = !e.f.available;
      e = {};
    }
  }
  auto at = std::find_if(paths_.begin(), paths_.end(),
                         [&](const auto& p) { return p->path_id > path_id; });
  // One more path for the scheduler and the timers.
  pick_memo_.path = nullptr;
  return **paths_.insert(at, std::move(path));
}

std::optional<uint32_t> Connection::local_path_of(ByteView dcid) const {
  for (const auto& p : paths_) {
    if (p->rx_dcid.view() == dcid) return p->path_id;
  }
  uint64_t path_id = 0, sequence = 0;
  if (cids_->find_local_by_cid(dcid, &path_id, &sequence)) return static_cast<uint32_t>(path_id);
  return std::nullopt;
}

bool Connection::known_server_address(const Tuple& t) const {
  for (const auto& p : paths_) {
    if (p->tuple.remote == t.remote && p->tuple.remote_port == t.remote_port) return true;
  }
  return false;
}

size_t Connection::live_paths() const {
  size_t n = 0;
  for (const auto& p : paths_) n += path_open(*p) ? 1 : 0;
  return n;
}

Connection::OpenPathResult Connection::open_path(const Tuple& tuple, TimeNs now, uint32_t* id_out) {
  note_app_action();
  const TouchAll touch{*this};
  last_now_ = std::max(last_now_, now);
  if (role_ != Role::kClient || state_ != ConnState::kConfirmed) return OpenPathResult::kNotConfirmed;
  if (!multipath_) return OpenPathResult::kNotNegotiated;
  // 2.2: no new path to the handshake address of a server that disabled migration (to another
  // of its addresses, yes).
  if (peer_tp_.disable_active_migration && tuple.remote == handshake_peer_.remote &&
      tuple.remote_port == handshake_peer_.remote_port) {
    return OpenPathResult::kMigrationDisabled;
  }
  for (const auto& p : paths_) {
    if (path_open(*p) && same_four_tuple(p->tuple, tuple)) return OpenPathResult::kSameTuple;
  }
  // 3.2.1: path IDs are consumed in order; the smallest one unused that both limits allow.
  const uint64_t top = std::min(local_max_path_id_, peer_max_path_id_);
  uint64_t id = 1;
  while (id <= top && (find_path(static_cast<uint32_t>(id)) || path_id_closed(id))) ++id;
  if (id > top || paths_.size() >= kMaxCidPaths) {
    if (peer_max_path_id_ <= local_max_path_id_) paths_blocked_pending_ = true;
    return OpenPathResult::kNoPathId;
  }
  const PeerCid* fresh = cids_->pick_fresh_peer_cid(id);
  if (!fresh) {
    // 3.2.2 MAY: tell the server we wait for a CID of this path ID.
    const PathCidsBlockedFrame f{id, cids_->peer_next_sequence(id)};
    bool queued = false;
    for (size_t i = 0; i < n_cids_blocked_; ++i) queued |= cids_blocked_[i] == f;
    if (!queued && n_cids_blocked_ < cids_blocked_.size()) cids_blocked_[n_cids_blocked_++] = f;
    return OpenPathResult::kNoCid;
  }
  Path& p = make_path(static_cast<uint32_t>(id), tuple, now);
  p.peer_cid = fresh->cid;
  p.peer_cid_seq = fresh->sequence;
  p.validated = false;  // 3.1: the client validates the new path before using it for data
  ++stats_.paths_opened;
  start_path_validation(p, now);
  issue_cids();
  if (id_out) *id_out = static_cast<uint32_t>(id);
  return OpenPathResult::kOk;
}

bool Connection::set_path_status(uint32_t path_id, bool available) {
  note_app_action();
  const TouchAll touch{*this};
  Path* p = find_path(path_id);
  if (!multipath_ || !p || !path_open(*p)) return false;
  p->local_backup = !available;
  ++p->local_status_seq;  // 4.3: a fresh sequence number for each change
  p->status_pending = true;
  return true;
}

void Connection::set_scheduler(SchedulerKind k) {
  note_app_action();
  const TouchAll touch{*this};
  if (!scheduler_ || scheduler_->kind() != k) scheduler_ = make_scheduler(k);
  // The copy buffer is made once, when a redundant scheduler is first chosen (not per packet).
  if (scheduler_->redundant() && !replay_) replay_ = std::make_unique<Replay>();
}

bool Connection::abandon_path(uint32_t path_id, uint64_t error_code, TimeNs now) {
  note_app_action();
  const TouchAll touch{*this};
  last_now_ = std::max(last_now_, now);
  Path* p = find_path(path_id);
  if (!multipath_ || !p || !path_open(*p) || live_paths() < 2 || state_ != ConnState::kConfirmed) {
    return false;
  }
  start_abandon(*p, error_code, now);
  return true;
}

void Connection::queue_abandon(uint32_t path_id, uint64_t error) {
  for (size_t i = 0; i < n_abandons_; ++i) {
    if (abandons_[i].path_id == path_id) return;
  }
  if (n_abandons_ < abandons_.size()) abandons_[n_abandons_++] = {path_id, error};
}

void Connection::start_abandon(Path& p, uint64_t error, TimeNs now) {
  // The 3 PTO the state is kept count this path's PTO too, taken before it stops being open.
  const DurationNs keep = 3 * max_pto();
  // 3.4: after PATH_ABANDON the peer's CIDs of the path are retired and nothing more is sent on
  // it; the frame itself goes on another path.
  p.abandon_sent = true;
  unpin_path(p.path_id);
  p.abandon_error = error;
  queue_abandon(p.path_id, error);
  cids_->retire_peer_path(p.path_id);
  p.peer_cid = ConnectionId();
  p.has_probe_cid = false;
  p.probe_cid_release_at = kNever;
  p.challenge_pending = false;
  p.validation_deadline = p.challenge_resend_at = kNever;
  p.probes_pending = 0;
  p.ping_pending = false;
  requeue_in_flight(p);
  // A min_rtt measured through ACKs that came on this path starts afresh (5.4).
  for (auto& q : paths_) q->recovery.on_ack_path_closed(p.path_id);
  // State stays 3 PTO so late packets are acknowledged and no stateless reset answers them.
  p.discard_at = now + keep;
  for (size_t i = n_responses_; i-- > 0;) {
    if (responses_[i].path_id == p.path_id) drop_path_response(i);
  }
  ++stats_.paths_abandoned;
  if (live_paths() == 0) {
    close_transport(TransportError::NO_VIABLE_PATH, 0, "no open path left", now);
  }
}

void Connection::requeue_in_flight(Path& p) {
  // What the path still carries goes again elsewhere; its own recovery no longer matters (an
  // acknowledgement that comes anyway is one of data already settled, so nothing happens twice).
  p.app_log.settle_all([&](const SentFrame& f) { on_frame_lost(PnSpace::kApplicationData, f); });
}

void Connection::drop_path(size_t index) {
  Path& p = *paths_[index];
  // 3.4.3: what it had in flight was counted lost at abandon; its CIDs (both ways) go now.
  cids_->abandon_path(p.path_id, [&](const LocalCid& c) { registry_.remove_cid(*this, c.cid.view()); });
  pick_memo_.path = nullptr;  // it may point at this path
  if (burst_.path == &p) burst_.path = nullptr;
  paths_.erase(paths_.begin() + static_cast<std::ptrdiff_t>(index));
  // The ID is gone for good (3.4): let the peer open another in its place.
  if (multipath_) {
    ++local_max_path_id_;
    cids_->set_local_max_path_id(local_max_path_id_);
    max_path_id_pending_ = true;
  }
  if (urgent_next_ >= paths_.size()) urgent_next_ = 0;
}

size_t Connection::paths(std::span<PathInfo> out) const {
  size_t i = 0;
  for (const auto& p : paths_) {
    if (i < out.size()) {
      PathInfo& o = out[i];
      o.path_id = p->path_id;
      o.tuple = p->tuple;
      o.validated = p->validated;
      o.abandoned = !path_open(*p);
      o.local_backup = p->local_backup;
      o.peer_backup = p->peer_backup;
      o.failing = p->failing;
      o.recovery = &p->recovery;
      o.packets_sent = p->packets_sent;
      o.bytes_sent = p->total_bytes_sent;
      o.packets_received = p->packets_received;
      o.bytes_received = p->total_bytes_received;
      o.stream_bytes_sent = p->stream_bytes_sent;
      o.packets_lost = p->packets_lost;
      o.last_ack_time = p->last_ack_time;
      o.ack_floor = p->app_ack.floor();
    }
    ++i;
  }
  return i;
}

const PathRecovery* Connection::recovery_of(uint32_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? &p->recovery : nullptr;
}

Connection::Path* Connection::carrier_path() {
  // Lowest path ID that may carry data and answers; else any that can send at all.
  Path* any = nullptr;
  for (auto& p : paths_) {
    if (!path_sendable(*p)) continue;
    if (path_data_ok(*p) && !p->failing) return p.get();
    if (!any) any = p.get();
  }
  return any;
}

const Connection::Path* Connection::carrier_path() const {
  return const_cast<Connection*>(this)->carrier_path();
}

// Per-path work that goes out whatever the window: probes, path validation, a due ACK.
bool Connection::path_urgent(const Path& p, TimeNs now) const {
  if (p.probes_pending > 0 || p.ping_pending || path_frames_pending(p)) return true;
  return p.app_ack.ack_pending() && p.app_ack.should_send_ack(now);
}

// ACKs owed for paths that cannot send themselves (abandoned, or no CID): the carrier takes them.
bool Connection::other_path_acks_due(const Path& carrier) const {
  for (const auto& q : paths_) {
    if (q.get() != &carrier && !path_sendable(*q) && q->app_ack.ack_pending()) return true;
  }
  return false;
}

bool Connection::data_work_pending() const {
  return app_data_pending() || control_pending_cached() || streams_->has_pending_control() ||
         space(PnSpace::kApplicationData).crypto_tx.has_pending();
}

uint32_t Connection::pin_of(const Path& p) const { return multipath_ ? p.path_id : kAnyPath; }

bool Connection::app_data_for(const Path& p) const {
  const uint32_t pid = pin_of(p);
  if (pid == kAnyPath) return app_data_pending();
  return tx_datagrams_.first_for(pid) < tx_datagrams_.size() ||
         streams_->has_pending_stream_data_for(pid);
}

bool Connection::only_pinned_work() const {
  // Unpinned stream data, the common case, answers first.
  return multipath_ && !streams_->has_unpinned_stream_data() && !tx_datagrams_.has_unpinned() &&
         app_data_pending() && !control_pending_cached() &&
         !streams_->has_pending_control() &&
         !space(PnSpace::kApplicationData).crypto_tx.has_pending();
}

size_t Connection::offer_only_pinned_paths(PathView* views, uint8_t* index, size_t k) const {
  // Data pinned to a path goes on that path only: with nothing else to send, the scheduler is
  // offered just the paths such data waits for (a pin to a backup path then is the only entry,
  // so the backup rule does not hold it back).
  if (!only_pinned_work()) return k;
  size_t n = 0;
  for (size_t i = 0; i < k; ++i) {
    if (!app_data_for(*paths_[index[i]])) continue;
    views[n] = views[i];
    index[n++] = index[i];
  }
  return n;
}

void Connection::unpin_path(uint32_t path_id) {
  // A pin is where data should go, never a reason to lose it: once its path closes, any path.
  streams_->unpin_path(path_id);
  tx_datagrams_.unpin_path(path_id);
}

namespace {

bool same_view(const PathView& a, const PathView& b) {
  return a.path_id == b.path_id && a.smoothed_rtt == b.smoothed_rtt && a.min_rtt == b.min_rtt &&
         a.cwnd == b.cwnd && a.bytes_in_flight == b.bytes_in_flight &&
         a.delivery_rate == b.delivery_rate && a.packets_lost == b.packets_lost &&
         a.last_ack_age == b.last_ack_age && a.available == b.available &&
         a.backup == b.backup && a.can_send == b.can_send;
}

DurationNs ack_age(TimeNs last_ack_time, TimeNs now) {
  return last_ack_time == kNever || last_ack_time > now ? 0 : now - last_ack_time;
}

}  // namespace

void Connection::touch_all_paths() {
  for (const auto& p : paths_) touch_path(*p);
  pick_memo_.path = nullptr;
  ++state_gen_;
}

Connection::RxTouch::RxTouch(Connection& conn) : c(conn), state(conn.state_) {
  ++c.input_gen_;
  c.rx_touch_all_ = !c.multipath_ || c.paths_.size() < 2 || state != ConnState::kConfirmed;
}

Connection::RxTouch::~RxTouch() {
  if (c.rx_touch_all_ || c.state_ != state) {
    for (const auto& p : c.paths_) p->sched.rx_touched = false;
    c.touch_all_paths();
    return;
  }
  for (const auto& p : c.paths_) {
    if (!p->sched.rx_touched) continue;
    p->sched.rx_touched = false;
    c.touch_path(*p);
  }
  ++c.state_gen_;  // control_pending() reads the streams, which the frames may have changed
}

void Connection::check_cache(bool same) const {
  ++cache_checks_;
  if (same) return;
  ++cache_mismatches_;
  if (cache_abort_) {
    std::fprintf(stderr, "camp: connection %llu: a cached scheduler input is stale\n",
                 static_cast<unsigned long long>(id_));
    std::abort();
  }
}

void Connection::refresh_sched(const Path& p) const {
  SchedCache& c = p.sched;
  c.stale = false;
  c.sent_only = false;
  c.sendable = path_sendable(p);
  const bool blocked = amplification_blocked(p);
  c.unblocked = c.sendable && !blocked;
  c.carrier_ok = path_data_ok(p) && !p.failing;
  const bool ack_pending = p.app_ack.ack_pending();
  c.acks_owed = !c.sendable && ack_pending;
  const TimeNs ack_at = ack_pending ? p.app_ack.ack_deadline() : kNever;
  const bool path_frames = path_frames_pending(p);
  const bool frames = p.probes_pending > 0 || p.ping_pending || path_frames;
  c.urgent_at = frames ? 0 : ack_at;
  c.acks_owed_at = c.acks_owed ? ack_at : kNever;
  // As fresh_next_timeout() reads the path.
  c.timer_at = p.discard_at;
  c.wake_now = false;
  if (path_open(p)) {
    c.timer_at = std::min({c.timer_at, p.recovery.loss_detection_timer(), p.validation_deadline,
                           p.challenge_resend_at, p.probe_cid_release_at, failover_deadline(p)});
    if (c.unblocked) {
      const bool app_tx = app_tx_ready();
      if (app_tx) c.timer_at = std::min(c.timer_at, ack_at);
      const bool app_ready = app_tx && (role_ == Role::kServer || tls_->handshake_complete());
      c.wake_now = (app_tx && (p.probes_pending || p.ping_pending)) || (app_ready && path_frames);
    }
  }
  c.candidate = path_data_ok(p) && !blocked;
  c.window_ok = p.recovery.can_send(cfg_.max_datagram_size);
  fill_view(p, c.view);
}

// A path's entry for the scheduler, but for last_ack_age and can_send (0 and false here).
void Connection::fill_view(const Path& p, PathView& v) const {
  const RttEstimator& rtt = p.recovery.rtt();
  v.path_id = p.path_id;
  v.smoothed_rtt = rtt.smoothed();
  v.min_rtt = rtt.min();
  v.cwnd = p.recovery.cc().cwnd();
  v.bytes_in_flight = p.recovery.bytes_in_flight();
  v.delivery_rate = p.recovery.sampler().sample().delivery_rate;
  v.packets_lost = p.packets_lost;
  v.last_ack_age = 0;
  v.available = !p.local_backup && !p.peer_backup && !p.failing;
  v.backup = !v.available;
  v.can_send = false;
}

size_t Connection::data_candidates(PathView* out, uint8_t* index, TimeNs now) const {
  size_t n = 0;
  for (size_t i = 0; i < paths_.size() && n < kMaxCidPaths; ++i) {
    const Path& p = *paths_[i];
    if (p.sched.stale) refresh_sched(p);
    const SchedCache& c = p.sched;
    if (!c.candidate) continue;
    PathView& v = out[n];
    v = c.view;
    v.last_ack_age = ack_age(p.last_ack_time, now);
    v.can_send = c.window_ok && (p.pacing_wake == kNever || p.pacing_wake <= now);
    index[n++] = static_cast<uint8_t>(i);
  }
  if (cfg_.check_send_cache) {
    // Every path's cache against its state now, then the entries against a fresh build.
    for (const auto& pp : paths_) {
      const SchedCache kept = pp->sched;
      refresh_sched(*pp);
      const SchedCache& f = pp->sched;
      check_cache(kept.sendable == f.sendable && kept.unblocked == f.unblocked &&
                  kept.carrier_ok == f.carrier_ok && kept.acks_owed == f.acks_owed &&
                  kept.urgent_at == f.urgent_at && kept.acks_owed_at == f.acks_owed_at &&
                  kept.timer_at == f.timer_at && kept.wake_now == f.wake_now &&
                  kept.candidate == f.candidate &&
                  kept.window_ok == f.window_ok && same_view(kept.view, f.view));
      pp->sched = kept;
    }
    PathView fresh[kMaxCidPaths];
    uint8_t fresh_index[kMaxCidPaths];
    const size_t m = fresh_data_candidates(fresh, fresh_index, now);
    bool same = m == n;
    for (size_t i = 0; same && i < n; ++i) {
      same = fresh_index[i] == index[i] && same_view(fresh[i], out[i]);
    }
    check_cache(same);
  }
  return n;
}

size_t Connection::fresh_data_candidates(PathView* out, uint8_t* index, TimeNs now) const {
  size_t n = 0;
  for (size_t i = 0; i < paths_.size() && n < kMaxCidPaths; ++i) {
    const Path& p = *paths_[i];
    if (!path_data_ok(p) || amplification_blocked(p)) continue;
    PathView& v = out[n];
    fill_view(p, v);
    v.last_ack_age = ack_age(p.last_ack_time, now);
    v.can_send = p.recovery.can_send(cfg_.max_datagram_size) &&
                 (p.pacing_wake == kNever || p.pacing_wake <= now);
    index[n++] = static_cast<uint8_t>(i);
  }
  return n;
}

TimeNs Connection::pace(Path& p, TimeNs now) {
  SchedCache& c = p.sched;
  if (c.pace_now != now) {  // touch_path() resets pace_now
    c.pace_t = p.recovery.next_send_time(now, cfg_.max_datagram_size);
    c.pace_now = now;
  } else if (cfg_.check_send_cache) {
    check_cache(p.recovery.next_send_time(now, cfg_.max_datagram_size) == c.pace_t);
  }
  return c.pace_t;
}

Connection::Path* Connection::pick_send_path(TimeNs now) {
  build_data_ok_ = true;
  if (paths_.size() == 1) return path_sendable(*paths_[0]) ? paths_[0].get() : nullptr;
  Path* p = nullptr;
  if (!reuse_pick(now, p)) return full_pick(now);
  ++picks_reused_;
  if (cfg_.check_send_cache) {
    // The full decision must agree (it changes nothing here that the reuse did not: the pacer
    // answers are kept for this `now`, and minRTT keeps no state).
    const PickMemo kept = pick_memo_;
    const Path* fresh = full_pick(now);
    check_cache(fresh == p && build_data_ok_);
    build_data_ok_ = true;
    pick_memo_ = kept;
  }
  return p;
}

bool Connection::reuse_pick(TimeNs now, Path*& out) {
  const PickMemo& m = pick_memo_;
  if (!m.path || m.now != now) return false;
  Path& p = *const_cast<Path*>(m.path);
  // With only pinned data waiting the full pick is limited to its paths: reuse only a pick made
  // under the same rule, for a path such data still waits for.
  const bool pinned_only = only_pinned_work();
  if (pinned_only != m.pinned_only || (pinned_only && !app_data_for(p))) return false;
  // Touched only by its own sends, its flags, RTT and status hold and it is no more urgent than
  // it was (touch_sent), so only window and pacer are read afresh; a server's path not yet
  // validated also has its 3x budget to look at, so it is rebuilt.
  const bool sent_only =
      p.sched.stale && p.sched.sent_only && (role_ == Role::kClient || p.validated);
  if (p.sched.stale && !sent_only) refresh_sched(p);
  const SchedCache& c = p.sched;
  // Its flags decide the carrier and the ACKs it owes others; its view what minRTT compares.
  if (!c.candidate || c.urgent_at <= now || c.sendable != m.sendable ||
      c.unblocked != m.unblocked || c.carrier_ok != m.carrier_ok || c.acks_owed != m.acks_owed ||
      c.view.available != m.available || c.view.backup != m.backup ||
      c.view.smoothed_rtt != m.smoothed_rtt || c.view.min_rtt != m.min_rtt) {
    return false;
  }
  // Its window and pacer, as the full pick would read them (setting its pacer wake alike).
  const bool window_ok = sent_only ? p.recovery.can_send(cfg_.max_datagram_size) : c.window_ok;
  bool can_send = window_ok && (p.pacing_wake == kNever || p.pacing_wake <= now);
  if (can_send) can_send = !paced_out(p, now);
  if (!can_send) {
    // The full pick would look at the others, which are as they were when this one was picked:
    // if none of them could send then, no entry can now and it picks nothing (Scheduler: an
    // entry that cannot send is never picked). Pinned data narrows the entries by what is
    // queued, so it always asks afresh.
    if (m.others_can_send || pinned_only) return false;
    out = nullptr;
    return true;
  }
  // No path has per-path work due, so with nothing to send the full pick finds nothing either.
  out = data_work_pending() ? &p : nullptr;
  return true;
}

Connection::Path* Connection::full_pick(TimeNs now) {
  pick_memo_.path = nullptr;
  PathView* views = scratch_views_;
  uint8_t index[kMaxCidPaths];
  // Refreshes every path's SchedCache, which the rest reads instead of the paths' state.
  size_t k = data_candidates(views, index, now);
  // The pacer has the last word on who may send data now.
  for (size_t i = 0; i < k; ++i) {
    if (!views[i].can_send) continue;
    if (paced_out(*paths_[index[i]], now)) views[i].can_send = false;
  }
  k = offer_only_pinned_paths(views, index, k);
  // 1. Per-path work, round robin so that no path starves another. The carrier (carrier_path())
  // also takes the ACKs of paths that cannot send.
  const size_t n = paths_.size();
  const Path* carrier = nullptr;
  const Path* any = nullptr;
  bool acks_owed = false;
  for (const auto& pp : paths_) {
    const SchedCache& c = pp->sched;
    acks_owed |= c.acks_owed;
    if (!carrier && c.carrier_ok) carrier = pp.get();
    if (!any && c.sendable) any = pp.get();
  }
  if (!carrier) carrier = any;
  if (cfg_.check_send_cache) check_cache(carrier == carrier_path());
  for (size_t j = 0, i = urgent_next_ < n ? urgent_next_ : 0; j < n; ++j, i = i + 1 < n ? i + 1 : 0) {
    Path& p = *paths_[i];
    const SchedCache& c = p.sched;
    if (!c.unblocked) continue;
    // acks_owed counts the carrier's own too, but the carrier is sendable, so never owes.
    if (c.urgent_at <= now || (&p == carrier && acks_owed)) {
      if (cfg_.check_send_cache) {
        check_cache(path_urgent(p, now) || (&p == carrier && other_path_acks_due(p)));
      }
      urgent_next_ = i + 1 < n ? i + 1 : 0;
      // It carries data too when it is a path the scheduler could pick now.
      build_data_ok_ = false;
      for (size_t c = 0; c < k; ++c) {
        if (index[c] == i) build_data_ok_ = may_carry_data({views, k}, c);
      }
      return &p;
    }
    if (cfg_.check_send_cache) {
      check_cache(!path_urgent(p, now) && !(&p == carrier && other_path_acks_due(p)));
    }
  }
  // 2. Data and control frames: where the scheduler says.
  if (!data_work_pending()) return nullptr;
  std::optional<size_t> pick = scheduler_->pick_path({views, k});
  if (!pick) return nullptr;
  Path* chosen = paths_[index[*pick]].get();
  if (scheduler_->keeps_pick()) {
    const SchedCache& c = chosen->sched;
    bool others_can_send = false;
    for (size_t i = 0; i < k; ++i) others_can_send |= i != *pick && views[i].can_send;
    pick_memo_ = {chosen,          now,
                  c.sendable,      c.unblocked,
                  c.carrier_ok,    c.acks_owed,
                  c.view.available, c.view.backup,
                  c.view.smoothed_rtt, c.view.min_rtt,
                  only_pinned_work(), others_can_send};
  }
  return chosen;
}

bool Connection::start_tls(TimeNs now) {
  tls_ = std::make_unique<TlsSession>(*shared_.tls);
  tls_->set_keys_callback([this](EncryptionLevel level, bool is_write, const DirectionKeys& k) {
    on_tls_keys(level, is_write, k);
  });
  TlsSessionOptions opts;
  opts.transport_parameters = cfg_.local_tp;
  opts.server_name = cfg_.server_name;
  opts.resumption_data = cfg_.resumption_data;
  const TransportError e = tls_->start(opts);
  if (e != TransportError::NO_ERROR) {
    close_info_.closed = true;
    close_info_.error_code = static_cast<uint64_t>(e);
    close_info_.reason = tls_->error_detail();
    state_ = ConnState::kClosed;
    return false;
  }
  streams_ = std::make_unique<StreamManager>(
      role_ == Role::kClient ? Perspective::kClient : Perspective::kServer, cfg_.local_tp,
      cfg_.streams);
  drive_tls(now);
  return state_ != ConnState::kClosed;
}

bool Connection::connect(const ConnectionConfig& cfg, const Tuple& tuple, TimeNs now) {
  const TouchAll touch{*this};
  role_ = Role::kClient;
  last_now_ = now;
  init_common(cfg, tuple, now);
  initial_dcid_.length = 8;  // RFC 9000 7.2: at least 8 unpredictable bytes
  if (!shared_.random->fill(initial_dcid_.bytes.data(), initial_dcid_.length)) return false;
  odcid_ = initial_dcid_;
  if (!new_local_cid(local_scid_) || !register_local_cid(0, local_scid_)) return false;
  paths_[0]->peer_cid = initial_dcid_;
  paths_[0]->validated = true;  // only servers are held to the 3x limit (RFC 9000 8.1)
  token_ = cfg.token;
  cfg_.local_tp.initial_source_connection_id = local_scid_;
  cfg_.local_tp.original_destination_connection_id.reset();
  cfg_.local_tp.stateless_reset_token.reset();
  cfg_.local_tp.retry_source_connection_id.reset();
  cfg_.local_tp.preferred_address.reset();
  if (!install_initial_keys(initial_dcid_.view())) return false;
  start_qlog(now);
  return start_tls(now);
}

bool Connection::accept(const ConnectionConfig& cfg, const AcceptInfo& info, const Tuple& tuple,
                        TimeNs now) {
  const TouchAll touch{*this};
  role_ = Role::kServer;
  last_now_ = now;
  init_common(cfg, tuple, now);
  paths_[0]->validated = info.address_validated;
  odcid_ = info.odcid_from_retry ? *info.odcid_from_retry : info.client_dcid;
  initial_dcid_ = info.client_dcid;
  if (!new_local_cid(local_scid_) || !register_local_cid(0, local_scid_)) return false;
  // The client keeps sending to its chosen DCID until it sees our SCID.
  if (!registry_.add_cid(*this, info.client_dcid.view())) return false;
  client_dcid_registered_ = true;
  paths_[0]->peer_cid = info.client_scid;
  cids_->set_initial_peer_cid(info.client_scid, nullptr);
  peer_scid_known_ = true;
  TransportParameters& tp = cfg_.local_tp;
  tp.original_destination_connection_id = odcid_;
  tp.initial_source_connection_id = local_scid_;
  if (info.retry_scid) tp.retry_source_connection_id = *info.retry_scid;
  StatelessResetToken token{};
  if (shared_.reset_key && shared_.reset_key->token(local_scid_.view(), token)) {
    tp.stateless_reset_token = token;
  }
  if (!install_initial_keys(info.client_dcid.view())) return false;
  start_qlog(now);
  return start_tls(now);
}

void Connection::start_qlog(TimeNs now) {
  if (!qlog_) return;
  qlog_->connection_started(now, paths_[0]->tuple, local_scid_.view(), paths_[0]->peer_cid.view());
  qlog_->parameters_set(now, QlogOwner::kLocal, cfg_.local_tp);
}

void Connection::set_qlog(std::unique_ptr<QlogWriter> q) { qlog_ = std::move(q); }

// ---- TLS -----------------------------------------------------------------------------------------

void Connection::on_tls_keys(EncryptionLevel level, bool is_write, const DirectionKeys& k) {
  ImbManager& m = *shared_.imb;
  auto init = [&](DirectionCrypto& d, const PacketKeys& pk) {
    d.ready = d.aead.init(m, pk) == CryptoStatus::ok && d.hp.init(m, pk) == CryptoStatus::ok;
  };
  switch (level) {
    case EncryptionLevel::handshake: {
      Space& sp = space(PnSpace::kHandshake);
      init(is_write ? sp.tx : sp.rx, k.keys);
      paths_[0]->recovery.set_has_handshake_keys(true);
      break;
    }
    case EncryptionLevel::application: {
      Space& sp = space(PnSpace::kApplicationData);
      if (is_write) {
        app_keys_.tx_secret = k.secret;
        app_keys_.tx_keys = k.keys;
        init(sp.tx, k.keys);
      } else {
        app_keys_.rx_secret = k.secret;
        app_keys_.rx_keys = k.keys;
        init(sp.rx, k.keys);
        prepare_next_rx_keys();
      }
      break;
    }
    default:
      break;  // 0-RTT is not used: a client's early data is sent again at 1-RTT
  }
}

void Connection::prepare_next_rx_keys() {
  Secret next_secret;
  PacketKeys next;
  if (update_packet_keys(app_keys_.rx_keys, app_keys_.rx_secret, next_secret, next) !=
      CryptoStatus::ok) {
    return;
  }
  app_keys_.rx_next_secret = next_secret;
  app_keys_.rx_next_keys = next;
  app_keys_.rx_next.ready = app_keys_.rx_next.aead.init(*shared_.imb, next) == CryptoStatus::ok;
}

void Connection::drive_tls(TimeNs now) {
  for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData}) {
    Space& sp = space(s);
    const EncryptionLevel level = level_of(s);
    std::span<const uint8_t> out = tls_->pending_crypto(level);
    while (!out.empty() && !sp.discarded) {
      const size_t n = sp.crypto_tx.write(out, false);
      if (n == 0) break;
      tls_->consume_crypto(level, n);
      out = tls_->pending_crypto(level);
    }
  }
  if (tls_->failed()) {
    close_transport(tls_->error(), frame_type::CRYPTO, tls_->error_detail(), now);
    return;
  }
  if (!peer_tp_applied_ && tls_->peer_transport_parameters()) {
    if (!apply_peer_transport_parameters(now)) return;
  }
  if (tls_->handshake_complete() && !handshake_complete_seen_) {
    handshake_complete_seen_ = true;
    app_wakeup_ = true;
    if (role_ == Role::kServer) {
      handshake_done_pending_ = true;
      note_validated_address(paths_[0]->tuple.remote);
      confirm_handshake(now);
    }
    issue_cids();
  }
}

bool Connection::apply_peer_transport_parameters(TimeNs now) {
  peer_tp_ = *tls_->peer_transport_parameters();
  peer_tp_applied_ = true;
  auto fail = [&](const char* why) {
    close_transport(TransportError::TRANSPORT_PARAMETER_ERROR, 0, why, now);
    return false;
  };
  // RFC 9000 7.3: the connection IDs both sides saw must be the ones authenticated here.
  if (!peer_tp_.initial_source_connection_id ||
      !(*peer_tp_.initial_source_connection_id == paths_[0]->peer_cid)) {
    return fail("initial_source_connection_id mismatch");
  }
  if (role_ == Role::kClient) {
    if (!peer_tp_.original_destination_connection_id ||
        !(*peer_tp_.original_destination_connection_id == initial_dcid_)) {
      return fail("original_destination_connection_id mismatch");
    }
    if (retried_ != peer_tp_.retry_source_connection_id.has_value() ||
        (retried_ && !(*peer_tp_.retry_source_connection_id == retry_scid_))) {
      return fail("retry_source_connection_id mismatch");
    }
    if (peer_tp_.stateless_reset_token) {
      cids_->set_initial_peer_reset_token(*peer_tp_.stateless_reset_token);
    }
  }
  if (peer_tp_.initial_max_path_id) {
    // draft-ietf-quic-multipath-21 2.1: multipath needs connection IDs both ways.
    if (paths_[0]->peer_cid.length == 0) {
      close_transport(TransportError::PROTOCOL_VIOLATION, 0,
                      "initial_max_path_id with a zero-length connection ID", now);
      return false;
    }
    if (cfg_.local_tp.initial_max_path_id) {
      multipath_ = true;
      local_max_path_id_ = *cfg_.local_tp.initial_max_path_id;
      peer_max_path_id_ = *peer_tp_.initial_max_path_id;
      cids_->set_local_max_path_id(local_max_path_id_);
      cids_->set_peer_max_path_id(peer_max_path_id_);
    }
  }
  streams_->on_peer_transport_parameters(peer_tp_);
  cids_->set_peer_active_cid_limit(peer_tp_.active_connection_id_limit);
  const DurationNs mad = peer_tp_.max_ack_delay * kMillisecond;
  for (auto& p : paths_) p->recovery.set_max_ack_delay(mad);
  const DurationNs local = cfg_.local_tp.max_idle_timeout * kMillisecond;
  const DurationNs peer = peer_tp_.max_idle_timeout * kMillisecond;
  if (local && peer) {
    idle_timeout_ = std::min(local, peer);
  } else if (local || peer) {
    idle_timeout_ = local ? local : peer;
  }
  if (qlog_) {
    qlog_->parameters_set(now, QlogOwner::kRemote, peer_tp_);
    qlog_->set_peer_ack_delay_exponent(peer_tp_.ack_delay_exponent);
  }
  return true;
}

void Connection::confirm_handshake(TimeNs now) {
  if (state_ != ConnState::kHandshake) return;
  state_ = ConnState::kConfirmed;
  for (auto& p : paths_) p->recovery.set_handshake_confirmed(true);
  discard_space(PnSpace::kHandshake, now);
  discard_space(PnSpace::kInitial, now);
  if (client_dcid_registered_) {
    registry_.remove_cid(*this, initial_dcid_.view());
    client_dcid_registered_ = false;
  }
  app_wakeup_ = true;
}

void Connection::discard_space(PnSpace s, TimeNs now) {
  touch_all_paths();
  Space& sp = space(s);
  if (sp.discarded) return;
  sp.discarded = true;
  sp.rx.ready = false;
  sp.tx.ready = false;
  // Probes owed in a space that is gone can never be sent (they would keep the timer at now).
  ping_pending_[static_cast<int>(s)] = false;
  probes_pending_[static_cast<int>(s)] = 0;
  sp.ack.discard();
  paths_[0]->recovery.discard_space(s, now);
  sp.log.settle_all([](const SentFrame&) {});
  // Nothing more is sent or read at this level: its CRYPTO buffers go back now, not at close.
  sp.crypto_tx.reset(0);
  sp.crypto_rx.discard();
}

void Connection::issue_cids() {
  // Path 0 and open paths get the peer's active_connection_id_limit; each unused path ID one CID,
  // so the client can open it (draft-ietf-quic-multipath-21 3.2.1), IDs in order, up to the
  // smaller of both limits: a path ID above ours the peer may not use, and frames about it are
  // violations here.
  const uint64_t top = multipath_ ? std::min(peer_max_path_id_, local_max_path_id_) : 0;
  ConnectionId cid;
  // At most kMaxCidPaths path IDs hold CIDs at once: a peer's huge MAX_PATH_ID costs no more.
  size_t ids = 0;
  for (uint64_t id = 0; id <= top && ids < kMaxCidPaths; ++id) {
    if (path_id_closed(id)) continue;
    ++ids;
    const Path* p = find_path(static_cast<uint32_t>(id));
    if (p && !path_open(*p)) continue;
    size_t want = cids_->local_cids_wanted(id);
    if (!p && id != 0) want = cids_->local_count(id) == 0 ? std::min<size_t>(want, 1) : 0;
    for (; want > 0 && pending_new_cids_.size() < 4 * kMaxActiveCids; --want) {
      if (!new_local_cid(cid)) return;
      StatelessResetToken token{};
      if (shared_.reset_key) shared_.reset_key->token(cid.view(), token);
      std::optional<uint64_t> seq = cids_->add_local_cid(id, cid, token);
      if (!seq) return;
      if (!registry_.add_cid(*this, cid.view())) return;
      pending_new_cids_.push_back({static_cast<uint32_t>(id), *seq});
    }
  }
}

// ---- Receiving -----------------------------------------------------------------------------------

void Connection::on_datagram(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now) {
  const RxTouch touch{*this};
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return;
  ++stats_.packets_received;
  stats_.bytes_received += len;
  rx_datagram_len_ = len;
  // Which path: the path ID of the CID a short header carries (long headers are the handshake's,
  // on path 0). A CID of a path ID not open yet makes a new path once its packet decrypts (3.1).
  uint32_t path_id = 0;
  Path* path = paths_[0].get();
  if (multipath_ && (data[0] & 0x80) == 0 && len > local_scid_.length) {
    if (std::optional<uint32_t> id = local_path_of(ByteView(data + 1, local_scid_.length))) {
      path_id = *id;
      path = find_path(path_id);
    }
  }
  if (path) rx_touch(*path);
  if (path && same_four_tuple(tuple, path->tuple)) {
    path->bytes_received += len;
    if (role_ == Role::kServer && !path->validated) {
      path->recovery.set_amplification_blocked(false, now);
    }
  }
  size_t off = 0;
  ConnectionId first_dcid;
  bool first = true;
  while (off < len && state_ != ConnState::kClosed) {
    const size_t used =
        on_packet(data + off, len - off, tuple, now, path, path_id, first, first_dcid);
    if (used == 0) break;
    off += used;
    first = false;
  }
  if (state_ == ConnState::kClosing) close_send_pending_ = true;  // answer with the close again
}

size_t Connection::on_packet(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now,
                             Path* path_in, uint32_t path_id, bool first,
                             ConnectionId& first_dcid) {
  PacketHeader h;
  const HeaderStatus hs = parse_packet_header(data, len, local_scid_.length, h);
  if (hs != HeaderStatus::kOk) {
    ++stats_.drop_header;
    if (qlog_) qlog_->packet_dropped(now, len, "header_parse_error");
    return 0;
  }
  // RFC 9000 12.2: every packet of a datagram goes to the same connection ID.
  if (first) {
    first_dcid = ConnectionId(h.dcid);
  } else if (!(ConnectionId(h.dcid) == first_dcid)) {
    ++stats_.drop_wrong_cid;
    return h.packet_length;
  }
  if (h.type == PacketType::kVersionNegotiation) {
    if (role_ == Role::kClient && !peer_scid_known_) {
      for (size_t i = 0; i < h.supported_version_count(); ++i) {
        if (h.supported_version(i) == kQuicVersion1) return len;  // 6.2: ignore
      }
      close_info_.reason = "version negotiation: no common version";
      close_info_.by_peer = true;
      finish(now);
    }
    return len;
  }
  if (h.type == PacketType::kRetry) {
    on_retry(h, data, now);
    return len;
  }
  if (h.type == PacketType::kZeroRtt) {
    ++stats_.drop_no_keys;  // no 0-RTT: the client resends that data at 1-RTT
    return h.packet_length;
  }
  const PnSpace s = space_of(h.type);
  Space& sp = space(s);
  if (s != PnSpace::kApplicationData) {
    rx_touch_all();
    path_in = paths_[0].get();
    path_id = path_in->path_id;
  }
  OpenedPacket op;
  uint8_t* pkt = data;
  const size_t pkt_len = h.packet_length;
  if (h.type == PacketType::kOneRtt) {
    if (!sp.rx.ready) {
      ++stats_.drop_no_keys;
      if (check_stateless_reset(data, pkt_len)) on_stateless_reset(now);
      return pkt_len;
    }
    uint64_t fresh_phase = UINT64_MAX;  // a path not open yet has seen no key phase
    uint64_t& phase = path_in ? path_in->phase_first_rx_pn : fresh_phase;
    const int64_t largest = path_in ? path_in->app_ack.largest_received() : -1;
    if (!decrypt_short(pkt, pkt_len, h.pn_offset, largest, phase, path_id, op, now)) {
      ++stats_.drop_decrypt;
      if (check_stateless_reset(data, pkt_len)) {
        on_stateless_reset(now);
        return pkt_len;
      }
      if (qlog_) qlog_->packet_dropped(now, h, pkt_len, "decryption_failure");
      // RFC 9001 6.6: forgeries are counted over the connection's life, every key and (multipath
      // 7) every path; past the suite's integrity limit the keys are no longer trusted.
      if (++auth_failures_ > integrity_limit()) {
        close_transport(TransportError::AEAD_LIMIT_REACHED, 0, "AEAD integrity limit", now);
        return 0;
      }
      return pkt_len;
    }
    if ((pkt[0] & 0x18) != 0) {  // reserved bits (17.3.1), checked after removing protection
      close_transport(TransportError::PROTOCOL_VIOLATION, 0, "reserved bits set", now);
      return 0;
    }
    if (!path_in) {
      // draft-ietf-quic-multipath-21 3.1: a packet of an unused path ID that decrypts opens the
      // path on the server, which validates the client there before sending it data.
      if (role_ != Role::kServer || state_ != ConnState::kConfirmed ||
          path_id > local_max_path_id_ || path_id_closed(path_id) ||
          paths_.size() >= kMaxCidPaths) {
        ++stats_.drop_unknown_path;
        return pkt_len;
      }
      rx_touch_all();
      Path& np = make_path(path_id, tuple, now);
      np.phase_first_rx_pn = fresh_phase;
      np.validated = false;
      np.bytes_received = rx_datagram_len_;
      np.rx_dcid = ConnectionId(h.dcid);
      take_fresh_peer_cid(np);  // none yet: taken when one comes (PATH_NEW_CONNECTION_ID)
      ++stats_.paths_opened;
      start_path_validation(np, now);
      issue_cids();
      path_in = &np;
    }
  } else {
    if (h.version != kQuicVersion1) return 0;
    if (sp.discarded || !sp.rx.ready) {
      ++stats_.drop_no_keys;
      return pkt_len;
    }
    if (unprotect_packet(*shared_.imb, sp.rx.aead, sp.rx.hp, {pkt, pkt_len}, h.pn_offset,
                         sp.ack.largest_received(), op) != CryptoStatus::ok) {
      ++stats_.drop_decrypt;
      if (qlog_) qlog_->packet_dropped(now, h, pkt_len, "decryption_failure");
      return pkt_len;
    }
    if ((pkt[0] & 0x0c) != 0) {  // reserved bits (17.2)
      close_transport(TransportError::PROTOCOL_VIOLATION, 0, "reserved bits set", now);
      return 0;
    }
    if (role_ == Role::kClient && !peer_scid_known_) {
      // The server's first packet fixes its connection ID (RFC 9000 7.2).
      path_in->peer_cid = ConnectionId(h.scid);
      cids_->set_initial_peer_cid(path_in->peer_cid, nullptr);
      peer_scid_known_ = true;
    }
  }
  Path& path = *path_in;
  rx_touch(path);
  AckTracker& ack = ack_for(s, path);
  if (ack.is_duplicate(op.packet_number)) {
    ++stats_.drop_duplicate;
    return pkt_len;
  }
  const bool from_elsewhere = !same_four_tuple(tuple, path.tuple);
  if (from_elsewhere && role_ == Role::kClient && !known_server_address(tuple)) {
    // RFC 9000 9: a client discards packets from a server address none of its paths has.
    ++stats_.drop_unknown_server_address;
    return pkt_len;
  }
  if (from_elsewhere && s == PnSpace::kApplicationData && state_ != ConnState::kConfirmed) {
    // RFC 9000 9: no migration before the handshake is confirmed; such packets are dropped.
    ++stats_.drop_early_migration;
    return pkt_len;
  }
  const bool largest = static_cast<int64_t>(op.packet_number) > ack.largest_received();
  if (qlog_) {
    qlog_->packet_received(now, h.type, op.packet_number, h.dcid, h.scid, pkt_len,
                           ByteView(pkt + op.header_len, op.payload_len));
  }
  ++stats_.packets_decrypted;
  ++path.packets_received;
  path.total_bytes_received += pkt_len;
  RxFrames rx;
  process_frames(s, h.type, pkt + op.header_len, op.payload_len, path, h.dcid, tuple, now, rx);
  if (state_ == ConnState::kClosed) return 0;
  ack.on_packet_received(op.packet_number, rx.ack_eliciting, now, 0);
  if (s == PnSpace::kApplicationData) {
    // RFC 9000 9.3: only the highest-numbered non-probing packet moves the path; a probe from
    // elsewhere gets its PATH_RESPONSE there and changes nothing else.
    if (from_elsewhere && largest && rx.non_probing && role_ == Role::kServer && path_open(path)) {
      rx_touch_all();
      on_peer_address_change(path, tuple, h.dcid, now);
    } else if (!from_elsewhere && largest && !(path.rx_dcid.view() == h.dcid)) {
      path.rx_dcid = ConnectionId(h.dcid);
    }
  }
  idle_deadline_ = now + effective_idle_timeout();
  idle_restart_on_send_ = true;
  if (s == PnSpace::kHandshake) {
    // A Handshake packet proves the client's address (RFC 9000 8.1); the server drops its
    // Initial keys on the first one (RFC 9001 4.9.1).
    if (role_ == Role::kServer) {
      path.validated = true;
      path.recovery.set_peer_completed_address_validation(true);
      discard_space(PnSpace::kInitial, now);
    }
  }
  return pkt_len;
}

bool Connection::decrypt_short(uint8_t* pkt, size_t len, size_t pn_offset, int64_t largest,
                               uint64_t& phase_first_rx_pn, uint32_t path_id, OpenedPacket& out,
                               TimeNs now) {
  ImbManager& m = *shared_.imb;
  Space& sp = space(PnSpace::kApplicationData);
  UnprotectedPacketNumber upn;
  std::span<uint8_t> packet(pkt, len);
  uint8_t saved[1 + kMaxPacketNumberLen];
  if (len < pn_offset + kMaxPacketNumberLen) return false;
  std::memcpy(saved, pkt, 1);
  std::memcpy(saved + 1, pkt + pn_offset, kMaxPacketNumberLen);
  auto restore = [&] {
    pkt[0] = saved[0];
    std::memcpy(pkt + pn_offset, saved + 1, kMaxPacketNumberLen);
  };
  if (sp.rx.hp.remove(m, packet, pn_offset, upn) != CryptoStatus::ok) return false;
  const uint64_t pn = decode_packet_number(largest, upn.truncated, upn.length * 8u);
  const size_t header_len = pn_offset + upn.length;
  if (len < header_len + kAeadTagLen) {
    restore();
    return false;
  }
  const bool phase = (pkt[0] & 0x04) != 0;
  const bool current_phase = (rx_gen_ & 1) != 0;
  out.packet_number = pn;
  out.header_len = header_len;
  out.payload_len = len - header_len - kAeadTagLen;
  // The nonce mixes in the path ID (draft-ietf-quic-multipath-21 2.4; 0 is plain RFC 9001).
  if (phase == current_phase) {
    if (open_payload(m, sp.rx.aead, packet, header_len, pn, path_id) == CryptoStatus::ok) {
      phase_first_rx_pn = std::min(phase_first_rx_pn, pn);
      return true;
    }
    restore();
    return false;
  }
  // The other phase: an older packet under the previous keys, or the peer's key update. Each
  // path has its own packet numbers, so "older" is judged per path: one that has not seen the
  // current phase yet (MAX) still gets the previous keys.
  if (app_keys_.have_prev && pn < phase_first_rx_pn) {
    if (open_payload(m, app_keys_.rx_prev.aead, packet, header_len, pn, path_id) ==
        CryptoStatus::ok) {
      return true;
    }
    restore();
    return false;
  }
  if (!app_keys_.rx_next.ready ||
      open_payload(m, app_keys_.rx_next.aead, packet, header_len, pn, path_id) !=
          CryptoStatus::ok) {
    restore();
    return false;
  }
  roll_rx_keys(phase_first_rx_pn, pn, now);
  return true;
}

void Connection::roll_rx_keys(uint64_t& phase_first_rx_pn, uint64_t first_pn, TimeNs now) {
  rx_touch_all();
  Space& sp = space(PnSpace::kApplicationData);
  app_keys_.rx_prev.aead = sp.rx.aead;
  app_keys_.rx_prev.ready = true;
  app_keys_.have_prev = true;
  app_keys_.prev_discard_at = now + 3 * max_pto();  // RFC 9001 6.5; multipath 2.5
  sp.rx.aead = app_keys_.rx_next.aead;
  app_keys_.rx_secret = app_keys_.rx_next_secret;
  app_keys_.rx_keys = app_keys_.rx_next_keys;
  for (auto& p : paths_) p->phase_first_rx_pn = UINT64_MAX;
  phase_first_rx_pn = first_pn;
  ++rx_gen_;
  prepare_next_rx_keys();
  if (tx_gen_ < rx_gen_) {
    update_tx_keys();  // the peer started this update: follow it (RFC 9001 6.2)
    if (qlog_) qlog_->key_updated(now, role_ == Role::kClient ? QlogKeyType::kClient1RttSecret
                                                              : QlogKeyType::kServer1RttSecret,
                                  tx_gen_, QlogKeyTrigger::kRemoteUpdate);
  }
}

bool Connection::update_tx_keys() {
  Secret next_secret;
  PacketKeys next;
  if (update_packet_keys(app_keys_.tx_keys, app_keys_.tx_secret, next_secret, next) !=
      CryptoStatus::ok) {
    return false;
  }
  Space& sp = space(PnSpace::kApplicationData);
  if (sp.tx.aead.init(*shared_.imb, next) != CryptoStatus::ok) return false;
  app_keys_.tx_secret = next_secret;
  app_keys_.tx_keys = next;
  ++tx_gen_;
  ++stats_.key_updates;
  for (auto& p : paths_) p->phase_first_tx_pn = p->next_pn;
  app_keys_.phase_tx_acked = false;
  app_keys_.phase_packets = 0;
  return true;
}

bool Connection::initiate_key_update() {
  // RFC 9001 6.1: only once confirmed, and not before a packet of the current phase was
  // acknowledged and the peer has answered the previous update.
  if (state_ != ConnState::kConfirmed || !app_keys_.phase_tx_acked || tx_gen_ != rx_gen_) {
    return false;
  }
  // draft-ietf-quic-multipath-21 2.5: 3x the largest PTO after the previous update was acked.
  if (multipath_ && last_now_ < app_keys_.phase_acked_at + 3 * max_pto()) return false;
  if (!update_tx_keys()) return false;
  if (qlog_) qlog_->key_updated(0, role_ == Role::kClient ? QlogKeyType::kClient1RttSecret
                                                          : QlogKeyType::kServer1RttSecret,
                                tx_gen_, QlogKeyTrigger::kLocalUpdate);
  return true;
}

uint64_t Connection::confidentiality_limit() const {
  if (conf_limit_) return conf_limit_;  // asked twice per packet sent: kept once the suite is known
  if (cfg_.aead_confidentiality_limit) return conf_limit_ = cfg_.aead_confidentiality_limit;
  const std::optional<Suite> suite = tls_ ? tls_->suite() : std::nullopt;
  const uint64_t limit =
      suite == Suite::chacha20_poly1305_sha256 ? uint64_t{1} << 62 : uint64_t{1} << 23;  // AES-GCM
  if (suite) conf_limit_ = limit;
  return limit;
}

uint64_t Connection::integrity_limit() const {
  if (cfg_.aead_integrity_limit) return cfg_.aead_integrity_limit;
  const std::optional<Suite> suite = tls_ ? tls_->suite() : std::nullopt;
  if (suite == Suite::chacha20_poly1305_sha256) return uint64_t{1} << 36;
  return uint64_t{1} << 52;  // AES-GCM
}

bool Connection::check_stateless_reset(const uint8_t* data, size_t len) const {
  // RFC 9000 10.3.1: the last 16 bytes of a datagram that does not decrypt.
  if (len < 21 || (data[0] & 0x80) != 0) return false;
  return cids_->is_stateless_reset(data + len - kStatelessResetTokenLength);
}

bool Connection::on_unroutable_datagram(const uint8_t* data, size_t len, TimeNs now) {
  const TouchAll touch{*this};
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return false;
  if (!check_stateless_reset(data, len)) return false;
  on_stateless_reset(now);
  return true;
}

void Connection::abandon(TimeNs now) {
  const TouchAll touch{*this};
  close_info_.closed = true;
  if (close_info_.reason.empty()) close_info_.reason = "abandoned";
  finish(now);
}

void Connection::on_stateless_reset(TimeNs now) {
  close_info_.closed = true;
  close_info_.by_peer = true;
  close_info_.stateless_reset = true;
  close_info_.reason = "stateless reset";
  if (qlog_) qlog_->connection_closed(now, QlogOwner::kRemote, "stateless_reset");
  finish(now);
}

void Connection::on_retry(const PacketHeader& h, const uint8_t* data, TimeNs now) {
  // RFC 9000 17.2.5.2: one Retry, before any other packet from the server, for our DCID, with a
  // token and a valid integrity tag; anything else is dropped.
  if (role_ != Role::kClient || retried_ || peer_scid_known_ || h.token.size == 0 ||
      ConnectionId(h.scid) == initial_dcid_ || shared_.retry == nullptr) {
    return;
  }
  if (shared_.retry->verify(*shared_.imb, {initial_dcid_.bytes.data(), initial_dcid_.length},
                            {data, h.packet_length}) != CryptoStatus::ok) {
    ++stats_.drop_decrypt;
    return;
  }
  retried_ = true;
  retry_scid_ = ConnectionId(h.scid);
  token_.assign(h.token.data, h.token.data + h.token.size);
  Path& path = *paths_[0];
  path.peer_cid = retry_scid_;
  install_initial_keys(retry_scid_.view());
  // Everything sent in Initial packets goes again under the new keys (RFC 9002 6.3).
  Space& sp = space(PnSpace::kInitial);
  path.recovery.restart_space(PnSpace::kInitial, now);
  sp.log.settle_all([&](const SentFrame& f) {
    if (f.kind == SentFrameKind::kCrypto) sp.crypto_tx.on_lost(f.b, f.len, false);
  });
}

void Connection::process_frames(PnSpace s, PacketType type, const uint8_t* payload, size_t len,
                                Path& path, ByteView dcid, const Tuple& from, TimeNs now,
                                RxFrames& out) {
  FrameParseOptions opts;
  opts.local_role = role_;
  opts.max_datagram_frame_size = cfg_.local_tp.max_datagram_frame_size.value_or(0);
  opts.multipath = multipath_;
  opts.multipath_offered = cfg_.local_tp.initial_max_path_id.has_value();
  FrameReader rd(payload, len, type, opts);
  Frame fr;
  while (rd.next(fr)) {
    if (frame_is_ack_eliciting(fr)) out.ack_eliciting = true;
    if (!frame_is_probing(fr)) out.non_probing = true;
    if (!frame_touches_paths_singly(fr)) rx_touch_all();
    TransportError err = TransportError::NO_ERROR;
    const uint64_t ftype = frame_type_of(fr);
    if (auto* f = std::get_if<AckFrame>(&fr)) {
      on_ack_frame(s, *f, path, now);
    } else if (auto* f = std::get_if<CryptoFrame>(&fr)) {
      on_crypto_frame(s, *f, now);
    } else if (auto* f = std::get_if<StreamFrame>(&fr)) {
      err = streams_->on_stream_frame(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<ResetStreamFrame>(&fr)) {
      err = streams_->on_reset_stream(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<StopSendingFrame>(&fr)) {
      err = streams_->on_stop_sending(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<MaxDataFrame>(&fr)) {
      err = streams_->on_max_data(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<MaxStreamDataFrame>(&fr)) {
      err = streams_->on_max_stream_data(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<MaxStreamsFrame>(&fr)) {
      err = streams_->on_max_streams(*f);
      app_wakeup_ = true;
    } else if (auto* f = std::get_if<DataBlockedFrame>(&fr)) {
      err = streams_->on_data_blocked(*f);
    } else if (auto* f = std::get_if<StreamDataBlockedFrame>(&fr)) {
      err = streams_->on_stream_data_blocked(*f);
    } else if (auto* f = std::get_if<StreamsBlockedFrame>(&fr)) {
      err = streams_->on_streams_blocked(*f);
    } else if (auto* f = std::get_if<NewTokenFrame>(&fr)) {
      if (observer_) observer_->on_new_token({f->token.data, f->token.size});
    } else if (auto* f = std::get_if<NewConnectionIdFrame>(&fr)) {
      // Frames of a path ID already closed are ignored (draft-ietf-quic-multipath-21 4).
      if (path_id_closed(f->path_id) && f->path_id <= local_max_path_id_) continue;
      const NewCidOutcome o = cids_->on_new_connection_id(*f);
      err = o.error;
      Path* target = find_path(static_cast<uint32_t>(f->path_id));
      if (err == TransportError::NO_ERROR && o.in_use_cid_retired && target) {
        // Retire Prior To reached a CID in use: the path's own, or the one of its probes.
        if (target->has_probe_cid && target->probe_cid_seq < f->retire_prior_to) {
          target->has_probe_cid = false;
          target->probe_cid_release_at = kNever;
        }
        if (target->peer_cid_seq < f->retire_prior_to) switch_peer_cid(*target);
      } else if (err == TransportError::NO_ERROR && target && path_open(*target) &&
                 target->peer_cid.length == 0) {
        // A path opened by the peer's packet before any CID of its path ID had come (3.1): it
        // could send nothing until now.
        take_fresh_peer_cid(*target);
      }
    } else if (auto* f = std::get_if<RetireConnectionIdFrame>(&fr)) {
      if (path_id_closed(f->path_id) && f->path_id <= local_max_path_id_) continue;
      uint64_t seq = UINT64_MAX, dcid_path = 0;
      if (!cids_->find_local_by_cid(dcid, &dcid_path, &seq) || dcid_path != f->path_id) {
        seq = UINT64_MAX;  // the carrying packet's CID is of another path: it cannot be this one
      }
      const RetireOutcome o = cids_->on_retire_connection_id(*f, seq);
      err = o.error;
      if (err == TransportError::NO_ERROR && o.retired) {
        registry_.remove_cid(*this, o.cid.view());
        issue_cids();
      }
    } else if (auto* f = std::get_if<PathAbandonFrame>(&fr)) {
      err = on_path_abandon(*f, now);
    } else if (auto* f = std::get_if<PathStatusFrame>(&fr)) {
      err = on_path_status(*f);
    } else if (auto* f = std::get_if<MaxPathIdFrame>(&fr)) {
      err = on_max_path_id(*f);
    } else if (auto* f = std::get_if<PathsBlockedFrame>(&fr)) {
      // 4.7: informational; a value above what we allowed is a violation.
      if (f->maximum_path_id > local_max_path_id_) err = TransportError::PROTOCOL_VIOLATION;
    } else if (auto* f = std::get_if<PathCidsBlockedFrame>(&fr)) {
      err = on_path_cids_blocked(*f);
    } else if (auto* f = std::get_if<PathChallengeFrame>(&fr)) {
      queue_path_response(path.path_id, from, f->data);
    } else if (auto* f = std::get_if<PathResponseFrame>(&fr)) {
      on_path_response(path, f->data, now);
    } else if (auto* f = std::get_if<ConnectionCloseFrame>(&fr)) {
      on_close_frame(*f, now);
      return;
    } else if (std::holds_alternative<HandshakeDoneFrame>(fr)) {
      confirm_handshake(now);
    } else if (auto* f = std::get_if<DatagramFrame>(&fr)) {
      ++stats_.datagrams_received;
      if (!rx_datagrams_.push({f->data.data, f->data.size})) ++stats_.datagrams_dropped;
      app_wakeup_ = true;
    }
    // PADDING and PING need nothing beyond the acknowledgement.
    if (err != TransportError::NO_ERROR) {
      close_transport(err, ftype, "frame rejected", now);
      return;
    }
    if (state_ == ConnState::kClosed) return;
  }
  if (rd.failed()) {
    close_transport(rd.error(), rd.error_frame_type(), "frame encoding", now);
  }
}

bool Connection::take_fresh_peer_cid(Path& path) {
  const PeerCid* fresh = cids_->pick_fresh_peer_cid(path.path_id);
  if (!fresh) return false;
  path.peer_cid = fresh->cid;
  path.peer_cid_seq = fresh->sequence;
  return true;
}

// 9.5: no peer CID goes to two addresses. A probe to another 4-tuple takes an unused CID of the
// path's (kept while the probes go to that 4-tuple); when none is left, the path's own (a
// deviation the README states).
void Connection::probe_cid_for(Path& path, const Tuple& to) {
  if (path.has_probe_cid && same_four_tuple(path.probe_tuple, to)) return;
  release_probe_cid(path);
  if (const PeerCid* fresh = cids_->pick_fresh_peer_cid(path.path_id)) {
    path.has_probe_cid = true;
    path.probe_cid = fresh->cid;
    path.probe_cid_seq = fresh->sequence;
    path.probe_tuple = to;
  }
}

void Connection::release_probe_cid(Path& path) {
  if (path.has_probe_cid) cids_->retire_peer_cid(path.path_id, path.probe_cid_seq);
  path.has_probe_cid = false;
  path.probe_cid_release_at = kNever;
}

// The path moves to `to`: it sends with the CID its probes used there, if any, else (must_change:
// the CID in use went to the old address and the peer changed its own) an unused one.
void Connection::peer_cid_for_move(Path& path, const Tuple& to, bool must_change) {
  if (path.has_probe_cid && same_four_tuple(path.probe_tuple, to)) {
    const uint64_t old = path.peer_cid_seq;
    path.peer_cid = path.probe_cid;
    path.peer_cid_seq = path.probe_cid_seq;
    path.has_probe_cid = false;
    path.probe_cid_release_at = kNever;
    cids_->retire_peer_cid(path.path_id, old);
    return;
  }
  if (must_change) switch_peer_cid(path);
}

bool Connection::switch_peer_cid(Path& path) {
  // draft-ietf-quic-multipath-21 3.2.2: only to another CID of the same path ID. The old one is
  // retired after the new one is copied out (retiring moves the path's CID entries).
  const uint64_t old = path.peer_cid_seq;
  if (!take_fresh_peer_cid(path)) return false;
  cids_->retire_peer_cid(path.path_id, old);
  return true;
}

// ---- Path validation and migration (RFC 9000 8.2, 9) ------------------------------------------

bool Connection::migrate(const Tuple& tuple, TimeNs now) {
  note_app_action();
  const TouchAll touch{*this};
  last_now_ = std::max(last_now_, now);
  if (role_ != Role::kClient || state_ != ConnState::kConfirmed ||
      (peer_tp_applied_ && peer_tp_.disable_active_migration)) {
    return false;
  }
  Path& path = *paths_[0];
  if (same_four_tuple(tuple, path.tuple)) return false;
  // 9.5: a new local address takes a connection ID the peer has not seen on the old path.
  if (!switch_peer_cid(path)) return false;
  if (path.validated && !path.fallback) path.fallback = path.tuple;
  path.port_only_change = tuple.local == path.tuple.local;
  path.tuple.local = tuple.local;
  path.tuple.local_port = tuple.local_port;
  path.tuple.iface = tuple.iface;
  path.bytes_received = path.bytes_sent = 0;
  ++stats_.migrations;
  start_path_validation(path, now);
  return true;
}

void Connection::on_peer_address_change(Path& path, const Tuple& tuple, ByteView dcid, TimeNs now) {
  // 9.3: the peer moved (or a NAT rebound it). Send to the new address at once, but only up to
  // three times what came from it until a PATH_CHALLENGE proves it (9.3.1 against spoofing).
  ++stats_.migrations;
  if (path.fallback && same_four_tuple(tuple, *path.fallback)) {
    // Back to the last validated 4-tuple (the peer gave up on its new path, 9.3.2): proven.
    path.tuple = tuple;
    path.fallback.reset();
    path.validated = true;
    path.validation_deadline = path.challenge_resend_at = kNever;
    path.challenge_pending = false;
    peer_cid_for_move(path, tuple, !(ConnectionId(dcid) == path.rx_dcid));
    path.rx_dcid = ConnectionId(dcid);
    return;
  }
  const bool was_validated = path.validated;
  const Tuple previous = path.tuple;
  if (path.validated && !path.fallback) path.fallback = path.tuple;
  path.port_only_change = tuple.remote == path.tuple.remote;
  path.tuple = tuple;
  path.validated = false;
  path.bytes_received = rx_datagram_len_;
  path.bytes_sent = 0;
  // 9.5: a peer that changed its connection ID on the new path gets one of ours it has not seen
  // either; one that kept its CID (NAT rebinding) may keep seeing ours.
  peer_cid_for_move(path, tuple, !(ConnectionId(dcid) == path.rx_dcid));
  path.rx_dcid = ConnectionId(dcid);
  start_path_validation(path, now);
  // 9.3.3: the path left is challenged too. Were the move an off-path attacker's copies, the
  // peer's answer there (with a non-probing packet) brings the connection back.
  path.previous_challenge = 0;
  if (was_validated) {
    path.previous_tuple = previous;
    while (path.previous_challenge == 0) {
      shared_.random->fill(reinterpret_cast<uint8_t*>(&path.previous_challenge),
                           sizeof path.previous_challenge);
    }
    queue_previous_path_challenge(path);
  }
}

void Connection::start_path_validation(Path& path, TimeNs now) {
  uint64_t data = 0;
  shared_.random->fill(reinterpret_cast<uint8_t*>(&data), sizeof data);
  std::rotate(path.challenges.begin(), path.challenges.begin() + 1, path.challenges.end());
  path.challenges.back() = data;
  path.challenge_pending = true;
  path.challenge_resend_at = kNever;
  if (path.validation_deadline == kNever) {
    // 8.2.4: three times the larger of the current PTO and that of a new path (kInitialRtt).
    const DurationNs fresh = 3 * kInitialRtt;  // PTO of an unmeasured path, without backoff
    path.validation_deadline = now + 3 * std::max(pto(path), fresh);
    path.challenges_sent = 0;
  }
}

void Connection::on_path_response(Path& path, uint64_t data, TimeNs now) {
  // 8.2.3: any outstanding challenge's data completes validation; other responses are ignored.
  if (path.validation_deadline == kNever || data == 0 ||
      std::find(path.challenges.begin(), path.challenges.end(), data) == path.challenges.end()) {
    if (data != 0 && data == path.previous_challenge) {
      path.previous_challenge = 0;
      ++stats_.previous_path_validations;
    } else {
      ++stats_.path_responses_unmatched;
    }
    return;
  }
  path.validated = true;
  path.recovery.set_amplification_blocked(false, now);
  path.validation_deadline = path.challenge_resend_at = kNever;
  path.challenge_pending = false;
  path.challenges.fill(0);
  if (path.fallback && !path.port_only_change) {
    // 9.4: a new path starts from the initial congestion window and RTT.
    path.recovery.reset_congestion_state(now);
  }
  path.fallback.reset();
  ++stats_.path_validations;
  app_wakeup_ = true;
  if (role_ == Role::kServer) note_validated_address(path.tuple.remote);
}

// RFC 9000 9.3: a token after each newly validated client address; multipath 3.1.3: one that
// validates the earlier ones too, whichever token the client keeps.
void Connection::note_validated_address(const IpAddr& a) {
  if (!shared_.tokens) return;
  size_t i = 0;
  while (i < n_token_addrs_ && !(token_addrs_[i] == a)) ++i;
  const bool known = i < n_token_addrs_;  // the tokens already sent cover it
  if (!known) {
    if (n_token_addrs_ < token_addrs_.size()) ++n_token_addrs_;
    i = n_token_addrs_ - 1;  // when the list is full the oldest address makes room
  }
  for (; i > 0; --i) token_addrs_[i] = token_addrs_[i - 1];
  token_addrs_[0] = a;
  if (!known) new_token_pending_ = true;
}

void Connection::on_path_validation_timeout(Path& path, TimeNs now) {
  ++stats_.path_validation_failures;
  path.validation_deadline = path.challenge_resend_at = kNever;
  path.challenge_pending = false;
  path.challenges.fill(0);
  if (path.fallback) {
    // 9.3.2: back to the last validated 4-tuple; 9.5: with a connection ID not yet sent to (or
    // from) another address, when the peer has given us one.
    peer_cid_for_move(path, *path.fallback, true);
    path.tuple = *path.fallback;
    path.fallback.reset();
    path.validated = true;
    return;
  }
  if (multipath_ && live_paths() > 1) {
    // draft-ietf-quic-multipath-21 3.1: a path that failed validation is closed explicitly.
    start_abandon(path, path_abandon_error::kPathUnstableOrPoor, now);
    return;
  }
  // No valid path left (8.2.4): the connection ends silently.
  close_info_.closed = true;
  close_info_.reason = "path validation failed";
  finish(now);
}

void Connection::queue_path_response(uint32_t path_id, const Tuple& tuple, uint64_t data) {
  touch_all_paths();
  // 8.2.2: answer each challenge on the path it came on (and, multipath 3.1, with a CID of the
  // same path ID). A peer may challenge faster than we answer: the oldest gives way.
  if (n_responses_ == responses_.size()) drop_path_response(0);
  responses_[n_responses_++] = {path_id, tuple, data, 3 * rx_datagram_len_};
  ++stats_.path_challenges_answered;
}

// Sent with the new 4-tuple's challenges, the same data each time, so a late answer still counts.
// The 4-tuple was validated: no amplification limit there.
void Connection::queue_previous_path_challenge(const Path& path) {
  for (size_t i = 0; i < n_responses_; ++i) {
    if (responses_[i].challenge && responses_[i].path_id == path.path_id) return;  // not sent yet
  }
  touch_all_paths();
  if (n_responses_ == responses_.size()) drop_path_response(0);
  responses_[n_responses_++] = {path.path_id, path.previous_tuple, path.previous_challenge,
                                SIZE_MAX, true};
}

void Connection::drop_path_response(size_t i) {
  touch_all_paths();
  std::copy(responses_.begin() + i + 1, responses_.begin() + n_responses_, responses_.begin() + i);
  --n_responses_;
}

bool Connection::path_frames_pending(const Path& path) const {
  return path.challenge_pending || (n_responses_ != 0 && path_response_due(path));
}

bool Connection::path_response_due(const Path& path) const {
  for (size_t i = 0; i < n_responses_; ++i) {
    if (responses_[i].path_id == path.path_id && same_four_tuple(responses_[i].tuple, path.tuple)) {
      return true;
    }
  }
  return false;
}

// A PATH_RESPONSE owed to a 4-tuple other than its path's current one (a probe, RFC 9000 9.1).
size_t Connection::build_probe_response(uint8_t* buf, size_t limit, Path*& out_path, Tuple* tuple,
                                        TimeNs now) {
  size_t i = 0;
  Path* found = nullptr;
  for (; i < n_responses_; ++i) {
    Path* p = find_path(responses_[i].path_id);
    if (!p || !path_sendable(*p)) {
      drop_path_response(i--);
      continue;
    }
    if (!same_four_tuple(responses_[i].tuple, p->tuple)) {
      found = p;
      break;
    }
  }
  if (!found || !space(PnSpace::kApplicationData).tx.ready) return 0;
  Path& path = *found;
  out_path = found;
  // 8.2.2: padded to 1200 bytes, within 3x of what arrived from an address never validated.
  const Tuple to = responses_[i].tuple;
  limit = std::min(limit, responses_[i].budget);
  probe_cid_for(path, to);
  probe_dcid_ = path.has_probe_cid ? &path.probe_cid : nullptr;
  probe_tx_ = &to;
  bool eliciting = false;
  const size_t n = limit < kMinPacketRoom + kAeadTagLen ? 0
      : build_packet_as<false>(PnSpace::kApplicationData, buf, limit, path, now,
                     std::min<size_t>(limit, kMinInitialDatagram), false, eliciting);
  probe_tx_ = nullptr;
  probe_dcid_ = nullptr;
  if (n && path.has_probe_cid) {
    path.probe_cid_release_at = now + 3 * pto(path);
    touch_path(path);
  }
  if (n == 0) {
    drop_path_response(i);  // no room to send or track it: the peer challenges again
    return 0;
  }
  *tuple = to;
  return n;
}

void Connection::on_ack_frame(PnSpace s, const AckFrame& f, Path& arrival, TimeNs now) {
  // draft-ietf-quic-multipath-21 2.3, 4.1: ACK is path 0's, PATH_ACK names its path; one of a
  // path already abandoned is ignored, one above the IDs we allowed is a violation.
  Path* target = &arrival;
  if (s == PnSpace::kApplicationData && multipath_) {
    if (f.is_path_ack && f.path_id > local_max_path_id_) {
      close_transport(TransportError::PROTOCOL_VIOLATION, frame_type_of(Frame(f)),
                      "PATH_ACK for a path ID above the maximum", now);
      return;
    }
    target = find_path(static_cast<uint32_t>(f.is_path_ack ? f.path_id : 0));
    if (!target || !path_open(*target)) return;
  }
  Path& path = *target;
  rx_touch(path);
  AckRange ranges[64];
  size_t n = 0;
  AckRangeIterator it = f.ranges();
  AckRange r;
  while (n < 64 && it.next(r)) ranges[n++] = r;
  const uint64_t exponent = peer_tp_applied_ ? peer_tp_.ack_delay_exponent : 3;
  const uint64_t delay_us = f.ack_delay > (UINT64_MAX >> 24) ? UINT64_MAX / 1000
                                                            : (f.ack_delay << exponent);
  const DurationNs delay = s == PnSpace::kApplicationData
                               ? std::min<uint64_t>(delay_us, UINT64_MAX / 1000) * 1000
                               : 0;
  RecoveryEvents ev(*this, path, now);
  const AckOutcome out =
      // Under multipath min_rtt follows the path PATH_ACKs come on (5.4).
      path.recovery.on_ack_received(s, {ranges, n}, delay, now, ev, f.has_ecn ? &f.ecn : nullptr,
                                    multipath_ && s == PnSpace::kApplicationData
                                        ? arrival.path_id
                                        : RttEstimator::kAnyAckPath);
  if (out.error == RecoveryError::kAckOfUnsentPacket) {
    close_transport(TransportError::PROTOCOL_VIOLATION, frame_type_of(Frame(f)),
                    "ACK of a packet never sent", now);
    return;
  }
  const bool app = s == PnSpace::kApplicationData;
  uint64_t& largest = app ? path.largest_acked : space(s).largest_acked;
  bool& has_largest = app ? path.has_largest_acked : space(s).has_largest_acked;
  if (!has_largest || f.largest_acknowledged > largest) {
    largest = f.largest_acknowledged;
    has_largest = true;
  }
  if (out.newly_acked && app) {
    path.last_ack_time = now;
    path.failing = false;  // it delivers again
    path.failover_acted = false;
    path.failing_since = kNever;
  }
  if (s == PnSpace::kApplicationData && role_ == Role::kClient && out.newly_acked &&
      tls_->handshake_complete()) {
    confirm_handshake(now);  // an acknowledged 1-RTT packet confirms too (RFC 9001 4.1.2)
  }
  if (qlog_ && out.rtt_updated) {
    QlogRecoveryMetrics m;
    m.min_rtt = path.recovery.rtt().min();
    m.smoothed_rtt = path.recovery.rtt().smoothed();
    m.latest_rtt = path.recovery.rtt().latest();
    m.rtt_variance = path.recovery.rtt().rttvar();
    m.congestion_window = path.recovery.cc().cwnd();
    m.bytes_in_flight = path.recovery.bytes_in_flight();
    qlog_->metrics_updated(now, m);
  }
  app_wakeup_ = true;
}

TransportError Connection::on_path_abandon(const PathAbandonFrame& f, TimeNs now) {
  if (f.path_id > local_max_path_id_) return TransportError::PROTOCOL_VIOLATION;
  Path* p = find_path(static_cast<uint32_t>(f.path_id));
  if (!p) {
    // A path ID never opened (or long gone): closed for good, and answered once (3.4).
    if (!path_id_closed(f.path_id)) {
      cids_->abandon_path(f.path_id,
                          [&](const LocalCid& c) { registry_.remove_cid(*this, c.cid.view()); });
      queue_abandon(static_cast<uint32_t>(f.path_id), f.error_code);
    }
    return TransportError::NO_ERROR;
  }
  if (p->abandon_received) return TransportError::NO_ERROR;
  p->abandon_received = true;
  unpin_path(p->path_id);
  if (!p->abandon_sent && path_open(*p) && live_paths() == 1) {
    // 3.4: the only open path: rather than abandon it and have no path left to say anything
    // on, close the connection there (CONNECTION_CLOSE goes on it, as the draft recommends).
    close_transport(TransportError::NO_VIABLE_PATH, 0, "peer abandoned the last open path", now);
    return TransportError::NO_ERROR;
  }
  if (!p->abandon_sent) {
    start_abandon(*p, f.error_code, now);  // 3.4: answer with our own PATH_ABANDON
  } else {
    // 3.4: state SHOULD stay 3 PTO after receipt. The abandoned path's own PTO counts (its
    // packets are the ones in flight), and the wait begun when ours went is not cut short.
    const TimeNs until = now + 3 * std::max(max_pto(), pto(*p));
    p->discard_at = p->discard_at == kNever ? until : std::max(p->discard_at, until);
  }
  return TransportError::NO_ERROR;
}

TransportError Connection::on_path_status(const PathStatusFrame& f) {
  if (f.path_id > local_max_path_id_) return TransportError::PROTOCOL_VIOLATION;
  Path* p = find_path(static_cast<uint32_t>(f.path_id));
  if (!p) {
    // 3.3: the peer may state its preference before the path is open; kept (the newest per
    // path ID, a bounded table) until it opens.
    if (path_id_closed(f.path_id)) return TransportError::NO_ERROR;
    EarlyStatus* slot = nullptr;
    for (EarlyStatus& e : early_status_) {
      if (e.used && e.f.path_id == f.path_id) slot = &e;
    }
    for (EarlyStatus& e : early_status_) {
      if (!slot && !e.used) slot = &e;
    }
    if (slot && (!slot->used || f.sequence_number > slot->f.sequence_number)) *slot = {true, f};
    return TransportError::NO_ERROR;
  }
  if (!path_open(*p)) return TransportError::NO_ERROR;
  // 4.3: one sequence space per path for both frames; an older one arriving late is ignored.
  if (p->peer_status_known && f.sequence_number <= p->peer_status_seq) {
    ++stats_.path_status_stale;
    return TransportError::NO_ERROR;
  }
  p->peer_status_known = true;
  p->peer_status_seq = f.sequence_number;
  p->peer_backup = !f.available;
  return TransportError::NO_ERROR;
}

TransportError Connection::on_max_path_id(const MaxPathIdFrame& f) {
  // 4.6: never below the transport parameter; one that does not raise the limit is ignored.
  if (f.maximum_path_id < peer_tp_.initial_max_path_id.value_or(0)) {
    return TransportError::PROTOCOL_VIOLATION;
  }
  if (f.maximum_path_id <= peer_max_path_id_) return TransportError::NO_ERROR;
  peer_max_path_id_ = f.maximum_path_id;
  cids_->set_peer_max_path_id(peer_max_path_id_);
  paths_blocked_pending_ = false;
  issue_cids();
  app_wakeup_ = true;
  return TransportError::NO_ERROR;
}

TransportError Connection::on_path_cids_blocked(const PathCidsBlockedFrame& f) {
  // 4.7: the path ID within what we allowed, the sequence not beyond what we issued; one for a
  // path already closed is ignored (4).
  if (f.path_id <= local_max_path_id_ && path_id_closed(f.path_id)) return TransportError::NO_ERROR;
  if (f.path_id > local_max_path_id_ ||
      f.next_sequence_number > cids_->local_next_sequence(f.path_id)) {
    return TransportError::PROTOCOL_VIOLATION;
  }
  issue_cids();
  return TransportError::NO_ERROR;
}

void Connection::on_crypto_frame(PnSpace s, const CryptoFrame& f, TimeNs now) {
  Space& sp = space(s);
  RecvStream::FcDelta fc;
  if (sp.crypto_rx.on_stream_frame(f.offset, f.data, false, fc) != TransportError::NO_ERROR) {
    close_transport(TransportError::CRYPTO_BUFFER_EXCEEDED, frame_type::CRYPTO,
                    "CRYPTO data beyond the buffer", now);
    return;
  }
  uint8_t buf[4096];
  bool fin = false;
  size_t n;
  while ((n = sp.crypto_rx.read({buf, sizeof buf}, fin)) > 0) {
    tls_->provide_crypto(level_of(s), {buf, n});
    if (tls_->failed()) break;
  }
  sp.crypto_rx.advance_max_stream_data();
  drive_tls(now);
}

void Connection::on_close_frame(const ConnectionCloseFrame& f, TimeNs now) {
  close_info_.closed = true;
  close_info_.by_peer = true;
  close_info_.application = f.application;
  close_info_.error_code = f.error_code;
  close_info_.reason.assign(reinterpret_cast<const char*>(f.reason_phrase.data),
                            f.reason_phrase.size);
  if (qlog_) qlog_->connection_closed(now, QlogOwner::kRemote, f);
  enter_draining(now);
}

// ---- Acknowledged and lost frames ----------------------------------------------------------------

namespace {
// Sent frames whose acknowledgement or loss changes no path's scheduler inputs.
bool frame_kind_pathless(SentFrameKind k) {
  switch (k) {
    case SentFrameKind::kStream: case SentFrameKind::kDatagram:
    case SentFrameKind::kAck: case SentFrameKind::kPing:
    case SentFrameKind::kMaxData: case SentFrameKind::kMaxStreamData:
    case SentFrameKind::kMaxStreams: case SentFrameKind::kDataBlocked:
    case SentFrameKind::kStreamDataBlocked: case SentFrameKind::kStreamsBlocked:
    case SentFrameKind::kResetStream: case SentFrameKind::kStopSending:
      return true;
    default:
      return false;
  }
}
}  // namespace

void Connection::on_frame_acked(PnSpace s, const SentFrame& f) {
  if (!frame_kind_pathless(f.kind)) rx_touch_all();
  if (f.kind != SentFrameKind::kStream) flush_stream_acks();  // events in the order they came
  switch (f.kind) {
    case SentFrameKind::kStream: {
      // Merged with the run before when it continues it (a stream's packets acknowledged in
      // order): one StreamManager call per run, made at the latest when the ACK is done.
      StreamAckRun& r = stream_ack_run_;
      if (r.open && r.id == f.a && !r.fin && r.offset + r.len == f.b) {
        r.len += f.len;
        r.fin = f.fin;
      } else {
        flush_stream_acks();
        r = {f.a, f.b, f.len, f.fin, true};
      }
      if (observer_) observer_->on_stream_data_acked(f.a, f.b, f.len);
      app_wakeup_ = true;
      return;
    }
    case SentFrameKind::kCrypto:
      space(s).crypto_tx.on_acked(f.b, f.len, false);
      break;
    case SentFrameKind::kRetireConnectionId:
      cids_->on_retire_acked(f.a, f.b);
      break;
    case SentFrameKind::kDatagram:
      if (observer_) observer_->on_datagram_acked(f.a);
      break;
    case SentFrameKind::kMaxData: case SentFrameKind::kMaxStreamData:
    case SentFrameKind::kMaxStreams: case SentFrameKind::kDataBlocked:
    case SentFrameKind::kStreamDataBlocked: case SentFrameKind::kStreamsBlocked:
    case SentFrameKind::kResetStream: case SentFrameKind::kStopSending:
      streams_->on_control_frame_acked(control_frame_of(f));
      app_wakeup_ = true;
      break;
    default:
      break;
  }
}

void Connection::flush_stream_acks() {
  StreamAckRun& r = stream_ack_run_;
  if (!r.open) return;
  r.open = false;
  streams_->on_stream_frame_acked(r.id, r.offset, r.len, r.fin);
}

void Connection::on_frame_lost(PnSpace s, const SentFrame& f) {
  if (!frame_kind_pathless(f.kind)) rx_touch_all();
  switch (f.kind) {
    case SentFrameKind::kStream:
      streams_->on_stream_frame_lost(f.a, f.b, f.len, f.fin);
      if (observer_) observer_->on_stream_data_lost(f.a, f.b, f.len);
      break;
    case SentFrameKind::kCrypto:
      if (!space(s).discarded) space(s).crypto_tx.on_lost(f.b, f.len, false);
      break;
    case SentFrameKind::kNewConnectionId:
      if (cids_->find_local(f.a, f.b) && pending_new_cids_.size() < 4 * kMaxActiveCids) {
        pending_new_cids_.push_back({static_cast<uint32_t>(f.a), f.b});
      }
      break;
    // Multipath frames are repeated while still current (draft-ietf-quic-multipath-21 4).
    case SentFrameKind::kPathAbandon:
      // 4.2: repeated while the path's state is kept, or, for a path ID closed without ever
      // being opened here (the answer to the peer's PATH_ABANDON of it), until it arrives.
      if (const Path* p = find_path(static_cast<uint32_t>(f.a)); p ? p->discard_at != kNever
                                                                   : path_id_closed(f.a)) {
        queue_abandon(static_cast<uint32_t>(f.a), f.c);
      }
      break;
    case SentFrameKind::kPathStatus:
      if (Path* p = find_path(static_cast<uint32_t>(f.a)); p && p->local_status_seq == f.b &&
                                                             path_open(*p)) {
        p->status_pending = true;
      }
      break;
    case SentFrameKind::kMaxPathId:
      if (f.a == local_max_path_id_) max_path_id_pending_ = true;
      break;
    case SentFrameKind::kRetireConnectionId:
      cids_->on_retire_lost(f.a, f.b);
      break;
    case SentFrameKind::kHandshakeDone:
      handshake_done_pending_ = true;
      break;
    case SentFrameKind::kNewToken:
      new_token_pending_ = true;
      break;
    case SentFrameKind::kDatagram:
      if (observer_) observer_->on_datagram_lost(f.a);
      break;
    case SentFrameKind::kMaxData: case SentFrameKind::kMaxStreamData:
    case SentFrameKind::kMaxStreams: case SentFrameKind::kDataBlocked:
    case SentFrameKind::kStreamDataBlocked: case SentFrameKind::kStreamsBlocked:
    case SentFrameKind::kResetStream: case SentFrameKind::kStopSending:
      streams_->on_control_frame_lost(control_frame_of(f));
      break;
    default:
      break;
  }
}

Frame Connection::control_frame_of(const SentFrame& f) {
  switch (f.kind) {
    case SentFrameKind::kMaxData: return MaxDataFrame{f.a};
    case SentFrameKind::kMaxStreamData: return MaxStreamDataFrame{f.a, f.b};
    case SentFrameKind::kMaxStreams: return MaxStreamsFrame{f.bidi, f.a};
    case SentFrameKind::kDataBlocked: return DataBlockedFrame{f.a};
    case SentFrameKind::kStreamDataBlocked: return StreamDataBlockedFrame{f.a, f.b};
    case SentFrameKind::kStreamsBlocked: return StreamsBlockedFrame{f.bidi, f.a};
    case SentFrameKind::kResetStream: return ResetStreamFrame{f.a, f.c, f.b};
    case SentFrameKind::kStopSending: return StopSendingFrame{f.a, f.c};
    default: return PingFrame{};
  }
}

bool Connection::record_control_frame(const Frame& fr, SentFrame& out) {
  if (auto* f = std::get_if<MaxDataFrame>(&fr)) {
    out = {SentFrameKind::kMaxData, false, false, 0, f->maximum_data, 0, 0};
  } else if (auto* f = std::get_if<MaxStreamDataFrame>(&fr)) {
    out = {SentFrameKind::kMaxStreamData, false, false, 0, f->stream_id, f->maximum_stream_data, 0};
  } else if (auto* f = std::get_if<MaxStreamsFrame>(&fr)) {
    out = {SentFrameKind::kMaxStreams, false, f->bidirectional, 0, f->maximum_streams, 0, 0};
  } else if (auto* f = std::get_if<DataBlockedFrame>(&fr)) {
    out = {SentFrameKind::kDataBlocked, false, false, 0, f->maximum_data, 0, 0};
  } else if (auto* f = std::get_if<StreamDataBlockedFrame>(&fr)) {
    out = {SentFrameKind::kStreamDataBlocked, false, false, 0, f->stream_id,
           f->maximum_stream_data, 0};
  } else if (auto* f = std::get_if<StreamsBlockedFrame>(&fr)) {
    out = {SentFrameKind::kStreamsBlocked, false, f->bidirectional, 0, f->maximum_streams, 0, 0};
  } else if (auto* f = std::get_if<ResetStreamFrame>(&fr)) {
    out = {SentFrameKind::kResetStream, false, false, 0, f->stream_id, f->final_size,
           f->application_error_code};
  } else if (auto* f = std::get_if<StopSendingFrame>(&fr)) {
    out = {SentFrameKind::kStopSending, false, false, 0, f->stream_id, 0,
           f->application_error_code};
  } else {
    return false;
  }
  return true;
}

// ---- Sending -------------------------------------------------------------------------------------

DurationNs Connection::pto(const Path& p) const {
  const RttEstimator& r = p.recovery.rtt();
  return r.smoothed() + std::max<DurationNs>(4 * r.rttvar(), kGranularity) +
         (peer_tp_applied_ ? peer_tp_.max_ack_delay * kMillisecond : 0);
}

DurationNs Connection::max_pto() const {
  DurationNs m = 0;
  for (const auto& p : paths_) {
    if (path_open(*p)) m = std::max(m, pto(*p));
  }
  return m ? m : pto(*paths_[0]);
}

DurationNs Connection::effective_idle_timeout() const {
  return std::max(idle_timeout_, 3 * max_pto());  // RFC 9000 10.1; multipath 5.9
}

bool Connection::amplification_blocked(const Path& p) const {
  if (role_ != Role::kServer || p.validated) return false;
  return 3 * p.bytes_received < p.bytes_sent + kMinInitialDatagram;
}

bool Connection::app_tx_ready() const { return space(PnSpace::kApplicationData).tx.ready; }

bool Connection::app_data_pending() const {
  return !tx_datagrams_.empty() || streams_->has_pending_stream_data();
}

bool Connection::control_pending() const {
  if (handshake_done_pending_ || new_token_pending_ || !pending_new_cids_.empty() ||
      cids_->has_retire_to_send()) {
    return true;
  }
  if (!multipath_) return false;
  if (max_path_id_pending_ || paths_blocked_pending_ || n_cids_blocked_ || n_abandons_) return true;
  for (const auto& p : paths_) {
    if (p->status_pending) return true;
  }
  return false;
}

bool Connection::control_pending_cached() const {
  if (control_gen_ != state_gen_) {
    control_memo_ = control_pending();
    control_gen_ = state_gen_;
  } else if (cfg_.check_send_cache) {
    check_cache(control_pending() == control_memo_);
  }
  return control_memo_;
}

bool Connection::space_wants_send(PnSpace s, const Path& path, TimeNs now, bool cwnd_ok) const {
  const Space& sp = space(s);
  if (sp.discarded || !sp.tx.ready) return false;
  const bool app = s == PnSpace::kApplicationData;
  if (ack_for(s, path).ack_pending() && ack_for(s, path).should_send_ack(now)) return true;
  if (app && other_path_acks_due(path)) return true;
  const int si = static_cast<int>(s);
  if (app ? (path.ping_pending || path.probes_pending > 0)
          : (ping_pending_[si] || probes_pending_[si] > 0)) {
    return true;
  }
  // Path validation is not held back by the congestion window: a full window of packets lost on a
  // dead path must not keep the new one from being proven (RFC 9000 8.2, 9.3).
  if (app && path_frames_pending(path)) return true;
  if (!cwnd_ok) return false;
  if (sp.crypto_tx.has_pending()) return true;
  if (app) {
    if (role_ == Role::kClient && !tls_->handshake_complete()) return false;
    if (!build_data_ok_) return false;
    if (replaying_ || control_pending_cached() || app_data_pending() ||
        streams_->has_pending_control()) {
      return true;
    }
  }
  return false;
}

// What the connection's own data-only sends can change of data_only_ready() and of send()'s
// checks before it; the rest changes only with input (input_gen_).
bool Connection::data_burst_holds() const {
  return app_data_pending() && !streams_->has_pending_control() &&
         app_keys_.phase_packets < confidentiality_limit() && !(replay_ && replay_->len);
}

// One datagram of a data burst on its path.
size_t Connection::send_in_burst(uint8_t* buf, size_t cap, Tuple* tuple, TimeNs now) {
  Path& path = *burst_.path;
  const size_t n = build_data_datagram(buf, std::min(cap, burst_.limit), path, now);
  if (n) {
    *tuple = path.tuple;
    count_sent(path, n, true);
  }
  return n;
}

size_t Connection::send(uint8_t* buf, size_t cap, Tuple* tuple, TimeNs now) {
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return 0;
  const bool in_burst = burst_.path && burst_.input_gen == input_gen_ && data_burst_holds();
  // In a burst what send() checks before the pick found nothing when it began and cannot have
  // changed since; with several paths the scheduler still picks (it may move to another path,
  // which the general build then serves).
  Path* picked = nullptr;
  if (in_burst && !cfg_.check_send_cache) {
    if (paths_.size() == 1) return send_in_burst(buf, cap, tuple, now);
    picked = pick_send_path(now);
    if (!picked) return 0;
    if (picked == burst_.path && build_data_ok_) return send_in_burst(buf, cap, tuple, now);
  }
  const DataBurst burst = burst_;
  burst_.path = nullptr;
  built_data_only_ = false;
  size_t base_limit = cfg_.max_datagram_size;
  if (peer_tp_applied_) base_limit = std::min<size_t>(base_limit, peer_tp_.max_udp_payload_size);
  size_t limit = std::min(cap, base_limit);
  if (state_ != ConnState::kClosing && !picked) {
    Path* rp = nullptr;
    if (const size_t n = build_probe_response(buf, limit, rp, tuple, now)) {
      count_sent(*rp, n, false);  // to another 4-tuple: not the path's 3x budget
      if (in_burst) check_cache(false);  // a burst would have sent data instead
      return n;
    }
  }
  if (state_ != ConnState::kClosing && !picked &&
      app_keys_.phase_packets >= confidentiality_limit()) {
    // RFC 9001 6.6: no key update came in time (the peer has not answered the last one, or
    // multipath 2.5 spacing): the key may seal nothing more but the close.
    close_transport(TransportError::AEAD_LIMIT_REACHED, 0, "AEAD confidentiality limit", now);
  }
  if (state_ != ConnState::kClosing && !picked && replay_ && replay_->len) {
    if (const size_t n = send_replay(buf, limit, tuple, now)) {
      if (in_burst) check_cache(false);
      return n;
    }
  }
  // CONNECTION_CLOSE may go on any open path (multipath 2.6).
  Path* chosen = picked                            ? picked
                 : state_ == ConnState::kClosing ? carrier_path()
                                                 : pick_send_path(now);
  if (!chosen) {
    // With one path the burst would have built on it (with several, the pick may find none).
    if (in_burst && paths_.size() == 1) check_cache(false);
    return 0;
  }
  Path& path = *chosen;
  *tuple = path.tuple;
  if (role_ == Role::kServer && !path.validated) {
    // RFC 9000 8.1, 9.3: at most three times what the peer sent until its address is proven.
    if (amplification_blocked(path)) {
      touch_path(path);
      path.recovery.set_amplification_blocked(true, now);
      return 0;
    }
    limit = std::min<size_t>(limit, 3 * path.bytes_received - path.bytes_sent);
  }
  size_t n = 0;
  if (state_ == ConnState::kClosing) {
    if (!close_send_pending_) return 0;
    close_send_pending_ = false;
    n = build_close_datagram(buf, limit, path);
    // RFC 9000 10.2: the closing period runs from the close that went out. An application's
    // close() on a connection idle for a while dated it from the connection's last activity.
    if (n) close_deadline_ = std::max(close_deadline_, now + 3 * max_pto());
  } else {
    n = build_datagram(buf, limit, path, now);
  }
  if (n) count_sent(path, n, true);
  // check_send_cache: where the burst would have gone straight to the data-only build (on its
  // path, when the scheduler picked that one for data), the general path took it too.
  if (in_burst && (paths_.size() == 1 || (&path == burst.path && build_data_ok_))) {
    check_cache(built_data_only_ && &path == burst.path && limit == std::min(cap, burst.limit));
  }
  if (n && built_data_only_ && state_ == ConnState::kConfirmed &&
      (role_ == Role::kClient || path.validated)) {
    burst_ = {&path, input_gen_, base_limit};
  }
  return n;
}

// A datagram of n bytes went out on p (on_tuple: to its current 4-tuple, within the 3x budget).
void Connection::count_sent(Path& p, size_t n, bool on_tuple) {
  touch_sent(p);
  ++stats_.packets_sent;
  stats_.bytes_sent += n;
  ++p.packets_sent;
  p.total_bytes_sent += n;
  if (on_tuple) p.bytes_sent += n;
}

// The redundant scheduler's copies of the last data packet, one per other path that can take it
// now (a path whose window is full skips this copy rather than delay everything else).
size_t Connection::send_replay(uint8_t* buf, size_t limit, Tuple* tuple, TimeNs now) {
  Replay& r = *replay_;
  while (r.n_targets > 0) {
    Path* q = find_path(r.targets[--r.n_targets]);
    if (!q || !path_data_ok(*q) || amplification_blocked(*q) ||
        !q->recovery.can_send(cfg_.max_datagram_size)) {
      continue;
    }
    replaying_ = true;
    build_data_ok_ = true;
    const size_t n = build_datagram(buf, limit, *q, now);
    replaying_ = false;
    if (n == 0) continue;
    *tuple = q->tuple;
    ++stats_.redundant_packets;
    count_sent(*q, n, true);
    return n;
  }
  r.len = 0;
  return 0;
}

// The packet header of space s through the Packet Number. Long headers get a 2-byte Length
// field, filled in by seal() once the payload is known.
size_t Connection::write_header(PnSpace s, uint8_t* buf, size_t cap, const Path& path, uint64_t pn,
                                size_t pnl) const {
  if (s == PnSpace::kApplicationData) {
    const ConnectionId& dcid = probe_tx_ && probe_dcid_ ? *probe_dcid_ : path.peer_cid;
    return write_short_header(buf, cap, dcid.view(), pn, pnl, false, (tx_gen_ & 1) != 0);
  }
  LongHeaderFields h;
  h.type = packet_type_of(s);
  h.dcid = path.peer_cid.view();
  h.scid = local_scid_.view();
  if (s == PnSpace::kInitial && role_ == Role::kClient) h.token = ByteView(token_.data(), token_.size());
  h.packet_number = pn;
  h.pn_length = pnl;
  h.payload_length = 0;
  h.length_field_size = 2;
  return write_long_header(buf, cap, h);
}

// Completes a packet built after write_header(): the Length field (long headers), the AEAD and
// header protection. Returns the packet's size, or 0 when protection failed.
size_t Connection::seal(PnSpace s, uint8_t* buf, size_t hdr, size_t pnl, size_t payload_len,
                        uint64_t pn, uint32_t path_id) {
  const size_t total = hdr + payload_len + kAeadTagLen;
  if (s != PnSpace::kApplicationData) {
    const size_t length = pnl + payload_len + kAeadTagLen;
    buf[hdr - pnl - 2] = static_cast<uint8_t>(0x40 | (length >> 8));
    buf[hdr - pnl - 1] = static_cast<uint8_t>(length & 0xff);
  }
  // STREAM data left in its send ring: when it ends the payload and the frame bytes before it fit
  // in the ring just before it, those bytes are written there for the seal and put back after, so
  // the AEAD reads the whole plaintext from the ring and writes the packet in one pass. Otherwise
  // the data is copied into its place first.
  const uint8_t* from = nullptr;
  uint8_t* lead = nullptr;
  uint8_t kept[kMaxRingLead];
  size_t k = 0;
  if (ring_data_.len) {
    const RingData d = std::exchange(ring_data_, RingData{});
    uint8_t* const payload = buf + hdr;
    k = static_cast<size_t>(d.dst - payload);
    if (d.dst + d.len == payload + payload_len && k <= d.ring.lead && k <= kMaxRingLead) {
      lead = d.ring.at - k;
      std::memcpy(kept, lead, k);
      std::memcpy(lead, payload, k);
      from = lead;
    } else {
      std::memcpy(d.dst, d.ring.at, d.len);
    }
  }
  const DirectionCrypto& tx = space(s).tx;
  const bool ok = protect_packet(*shared_.imb, tx.aead, tx.hp, {buf, total}, hdr - pnl, pn,
                                 path_id, from) == CryptoStatus::ok;
  if (lead) {
    std::memcpy(lead, kept, k);
    if (ok) ++stats_.sealed_from_send_buffer;
  }
  return ok ? total : 0;
}

// Nothing but application data can go in the next packet on this path: no other packet number
// space, no ACK of its own or of another path to carry, no probe, PING, path validation, CRYPTO
// or control frame. build_datagram() then asks none of the questions about those (with
// check_send_cache it asks them all and checks that every answer is "nothing").
bool Connection::data_only_ready(const Path& path) const {
  const Space& app = space(PnSpace::kApplicationData);
  return cfg_.data_fast_path && space(PnSpace::kInitial).discarded &&
         space(PnSpace::kHandshake).discarded && app.tx.ready && build_data_ok_ && !replaying_ &&
         !probe_tx_ && !path.ping_pending && path.probes_pending == 0 &&
         !ack_for(PnSpace::kApplicationData, path).ack_pending() && !path_frames_pending(path) &&
         app_data_pending() && !app.crypto_tx.has_pending() && !streams_->has_pending_control() &&
         !control_pending_cached() && !(multipath_ && other_path_acks_due(path));
}

// build_datagram() for data_only_ready(): one 1-RTT packet, when the window and the pacer allow.
size_t Connection::build_data_datagram(uint8_t* buf, size_t limit, Path& path, TimeNs now) {
  if (!path.recovery.can_send(cfg_.max_datagram_size) || paced_out(path, now)) return 0;
  bool eliciting = false;
  const size_t n =
      build_packet_as<true>(PnSpace::kApplicationData, buf, limit, path, now, 0, true, eliciting);
  if (n) ++stats_.data_only_packets;
  note_sent_eliciting(n != 0 && eliciting, now);
  return n;
}

// Whether the pacer holds application data on p back now; its answer arms p's pacing wake.
bool Connection::paced_out(Path& p, TimeNs now) {
  const TimeNs t = pace(p, now);
  set_pacing_wake(p, t > now ? t : kNever);
  return t > now;
}

// The idle timer restarts with the first ack-eliciting packet sent after a packet came in
// (RFC 9000 10.1).
void Connection::note_sent_eliciting(bool eliciting, TimeNs now) {
  if (eliciting && idle_restart_on_send_) {
    idle_deadline_ = now + effective_idle_timeout();
    idle_restart_on_send_ = false;
  }
}

size_t Connection::build_datagram(uint8_t* buf, size_t limit, Path& path, TimeNs now) {
  const bool data_only = data_only_ready(path);
  built_data_only_ = data_only;
  if (data_only && !cfg_.check_send_cache) return build_data_datagram(buf, limit, path, now);
  const uint32_t mds = cfg_.max_datagram_size;
  const bool cwnd_ok = path.recovery.can_send(mds);
  PnSpace order[3] = {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData};
  bool want[3];
  int last = -1;
  for (int i = 0; i < 3; ++i) {
    want[i] = space_wants_send(order[i], path, now, cwnd_ok);
    if (want[i]) last = i;
  }
  // Application data also waits for the pacer (acks, probes, control frames and handshake data
  // do not: next_timeout() asks to send those at once, so holding them here would spin).
  const bool paced = want[2] && last == 2 && !want[0] && !want[1] && app_data_pending() &&
                     cwnd_ok && !replaying_ &&
                     !ack_for(PnSpace::kApplicationData, path).should_send_ack(now) &&
                     path.probes_pending == 0 && !path_frames_pending(path) &&
                     !control_pending_cached() && !streams_->has_pending_control() &&
                     !space(PnSpace::kApplicationData).crypto_tx.has_pending();
  // What build_data_datagram() takes for granted: no other space, and the pacer's say whenever
  // there is anything to send (with a full window there is not).
  if (data_only) check_cache(!want[0] && !want[1] && (cwnd_ok ? paced : last < 0));
  if (last < 0) return 0;
  if (paced && paced_out(path, now)) return 0;
  set_pacing_wake(path, kNever);
  size_t off = 0;
  bool has_initial = false;
  for (int i = 0; i <= last; ++i) {
    if (!want[i]) continue;
    if (order[i] == PnSpace::kInitial) has_initial = true;
    // RFC 9000 14.1: a datagram with an Initial packet is padded to 1200 bytes, in its last packet;
    // 8.2.1-2: so is one with PATH_CHALLENGE or PATH_RESPONSE.
    const bool path_probe = order[i] == PnSpace::kApplicationData && path_frames_pending(path);
    const size_t pad_to = ((has_initial || path_probe) && i == last)
                              ? std::min<size_t>(limit, kMinInitialDatagram) : 0;
    bool eliciting = false;
    extra_frames_ = false;
    const size_t n = build_packet_as<false>(order[i], buf + off, limit - off, path, now,
                                            pad_to > off ? pad_to - off : 0, cwnd_ok, eliciting);
    // The general build wrote nothing that build_data_datagram() leaves out.
    if (data_only) check_cache(!extra_frames_);
    off += n;
    if (n && order[i] == PnSpace::kHandshake && role_ == Role::kClient) {
      // The client drops its Initial keys once it sends a Handshake packet (RFC 9001 4.9.1).
      discard_space(PnSpace::kInitial, now);
    }
    note_sent_eliciting(n != 0 && eliciting, now);
  }
  if (off == 0) return 0;
  if (data_only) ++stats_.data_only_packets;
  if (role_ == Role::kClient && has_initial && off < kMinInitialDatagram) {
    // The Initial was not the last packet built after all (a later one came out empty): pad the
    // datagram with zero bytes, which the server ignores as padding after the packets (14.1).
    const size_t target = std::min<size_t>(limit, kMinInitialDatagram);
    std::memset(buf + off, 0, target - off);
    off = target;
  }
  return off;
}

// kDataOnly (data_only_ready()): the parts that would add nothing are left out.
template <bool kDataOnly>
size_t Connection::build_packet_as(PnSpace s, uint8_t* buf, size_t cap, Path& path, TimeNs now,
                                   size_t pad_to, bool cwnd_ok, bool& eliciting) {
  // What follows changes the path (recovery, ACK state) and the pending control frames (not a
  // data-only packet's: the control_pending() memo holds across it).
  touch_sent(path);
  if constexpr (!kDataOnly) ++state_gen_;
  ring_data_ = {};
  Space& sp = space(s);
  const int si = static_cast<int>(s);
  const bool app = s == PnSpace::kApplicationData;
  AckTracker& ack = ack_for(s, path);
  SentLog& log = log_for(s, path);
  uint64_t& next_pn = app ? path.next_pn : sp.next_pn;
  bool& ping_pending = app ? path.ping_pending : ping_pending_[si];
  uint32_t& probes_pending = app ? path.probes_pending : probes_pending_[si];
  if (cap < kMinPacketRoom + kAeadTagLen) return 0;
  const bool probe = probes_pending > 0 && !probe_tx_;
  if (!path.recovery.ring(s).has_room() || !log.begin(kMaxFramesPerPacket)) {
    // Nothing more can be tracked: only an ACK may go. Path validation frames wait for the next
    // challenge (our PTO timer, or the peer's) rather than ask again and again to be sent.
    if (app && !cwnd_ok && path_frames_pending(path) && !probe_tx_) {
      path.challenge_pending = false;
      for (size_t i = n_responses_; i-- > 0;) {
        if (responses_[i].path_id == path.path_id && same_four_tuple(responses_[i].tuple, path.tuple)) {
          drop_path_response(i);
        }
      }
    }
    if (!ack.ack_pending() || probe_tx_) return 0;
    cwnd_ok = false;
  }
  const uint64_t pn = next_pn;
  const size_t pnl = app ? pn_length(pn, path.has_largest_acked, path.largest_acked)
                         : pn_length(pn, sp.has_largest_acked, sp.largest_acked);
  const size_t hdr = write_header(s, buf, cap, path, pn, pnl);
  if (hdr == 0 || hdr + kAeadTagLen + 8 > cap) {
    log.discard_open();
    return 0;
  }
  uint8_t* const payload = buf + hdr;
  uint8_t* p = payload;
  uint8_t* const end = buf + cap - kAeadTagLen;
  bool wrote_ack = false;
  // 1. ACK, whenever one is pending: it rides along for free. Under multipath every 1-RTT one is
  // a PATH_ACK (2.3), this path's own first (its RTT samples stay its own, 5.4), then those of
  // paths that cannot send themselves (abandoned: prompt acks for late packets, 3.4.3). Not in a
  // probe to another 4-tuple: an ACK is non-probing and would move the peer there (9.1, 9.3).
  const bool path_acks = app && multipath_;
  const uint64_t own_id = path.path_id;
  if (!kDataOnly && ack.ack_pending() && !probe_tx_) {
    const size_t n = ack.write_ack(p, end - p, now, cfg_.local_tp.ack_delay_exponent,
                                   path_acks ? &own_id : nullptr);
    if (n) {
      p += n;
      wrote_ack = true;
      extra_frames_ = true;
    }
  }
  Path* carried[kMaxCidPaths];
  size_t n_carried = 0;
  if (!kDataOnly && path_acks && !probe_tx_) {
    for (auto& q : paths_) {
      if (q.get() == &path || path_sendable(*q) || !q->app_ack.ack_pending()) continue;
      const uint64_t qid = q->path_id;
      const size_t n = q->app_ack.write_ack(p, end - p, now, cfg_.local_tp.ack_delay_exponent, &qid);
      if (n == 0 || n_carried == kMaxCidPaths) break;
      p += n;
      carried[n_carried++] = q.get();
      q->acks_carried = true;
      touch_path(*q);
      extra_frames_ = true;
    }
  }
  const bool full = cwnd_ok || probe || ping_pending;
  const bool path_only = app && (probe_tx_ || (!full && path_frames_pending(path)));
  if (full || path_only) {
    // 2. CRYPTO.
    while (!kDataOnly && !path_only && sp.crypto_tx.has_pending() && end - p > 16 &&
           log.open_count() < kMaxFramesPerPacket) {
      StreamChunk c;
      uint64_t new_bytes = 0;
      SendStream::Blocked blocked;
      const size_t room = static_cast<size_t>(end - p);
      const size_t max_len = crypto_data_fits(sp.crypto_tx.sent_offset(), room);
      if (max_len == 0) break;
      if (!sp.crypto_tx.next_chunk(std::min(max_len, room - 12), UINT64_MAX, c, new_bytes, blocked)) break;
      const size_t n = write_frame(p, end - p, CryptoFrame{c.offset, c.data});
      if (n == 0) {
        sp.crypto_tx.on_lost(c.offset, c.data.size, false);
        break;
      }
      p += n;
      log.add({SentFrameKind::kCrypto, false, false, static_cast<uint32_t>(c.data.size), 0,
               c.offset, 0});
      eliciting = true;
      extra_frames_ = true;
    }
    if (app) fill_app_frames<kDataOnly>(path, p, end, log, eliciting, now, path_only);
    if (!kDataOnly && (ping_pending || probe) && !eliciting && end - p >= 1) {
      *p++ = static_cast<uint8_t>(frame_type::PING);
      log.add({SentFrameKind::kPing});
      eliciting = true;
    }
  }
  if (p == payload) {
    log.discard_open();
    return 0;
  }
  if (ping_pending || probe) extra_frames_ = true;
  ping_pending = false;
  if (probe) --probes_pending;
  // Padding: to the requested size, and enough for the header protection sample (RFC 9001 5.4.2).
  size_t payload_len = static_cast<size_t>(p - payload);
  size_t min_payload = pnl + payload_len < 4 ? 4 - pnl : 0;
  if (pad_to > hdr + kAeadTagLen) min_payload = std::max(min_payload, pad_to - hdr - kAeadTagLen);
  const bool padded = payload_len < min_payload;
  if (padded) {
    const size_t extra = std::min<size_t>(min_payload - payload_len, static_cast<size_t>(end - p));
    std::memset(p, 0, extra);
    p += extra;
    payload_len += extra;
  }
  if (qlog_) {
    qlog_->packet_sent(now, packet_type_of(s), pn, path.peer_cid.view(),
                       app ? ByteView() : local_scid_.view(), hdr + payload_len + kAeadTagLen,
                       ByteView(payload, payload_len));
  }
  const size_t total = seal(s, buf, hdr, pnl, payload_len, pn, app ? path.path_id : 0);
  if (total == 0) {
    log.discard_open();
    return 0;
  }
  ++next_pn;
  // The own space's ACK is remembered by the packet (SentPacket::ack_largest), other paths'
  // PATH_ACKs by their trackers.
  const std::optional<uint64_t> ack_largest =
      wrote_ack ? ack.on_ack_sent(now, pn, path.path_id, false) : std::nullopt;
  for (size_t i = 0; i < n_carried; ++i) carried[i]->app_ack.on_ack_sent(now, pn, path.path_id);
  const bool in_flight = eliciting || padded;
  // Every packet goes to recovery, ACK-only ones too: it must know the largest packet number
  // sent, or an ACK of one would look like an ACK of a packet never sent.
  if (app && eliciting && path.recovery.ack_eliciting_in_flight(s) == 0) path.busy_since = now;
  const uint64_t tag = in_flight ? log.commit() : UINT64_MAX;  // none: carries no outcome
  if (!in_flight) log.discard_open();
  // The record is written in its ring slot (PathRecovery::begin_packet_sent).
  RecoveryError err = RecoveryError::kOk;
  if (SentPacket* rec = path.recovery.begin_packet_sent(s, pn, err)) {
    // Every field set one by one: zeroing the record first became a `rep stos`, slow to start
    // and not forwarded to the loads that follow. (A new SentPacket field must be set here too.)
    static_assert(sizeof(SentPacket) == 88, "set the new SentPacket field below");
    rec->packet_number = pn;
    rec->time_sent = now;
    rec->sent_bytes = static_cast<uint32_t>(total);
    rec->ack_eliciting = eliciting;
    rec->in_flight = in_flight;
    rec->carried_acks = static_cast<uint8_t>((ack_largest ? SentPacket::kOwnAck : 0) |
                                             (n_carried > 0 ? SentPacket::kOtherAcks : 0));
    rec->ack_largest = ack_largest.value_or(0);
    rec->tag = tag;
    rec->prior_path = false;
    rec->delivered = rec->tx_in_flight = rec->lost = 0;  // the sampler's (in flight only)
    rec->delivered_time = rec->first_send_time = 0;
    rec->is_app_limited = false;
    path.recovery.end_packet_sent(s, *rec);
  } else if (in_flight) {
    log.settle(tag, [&](const SentFrame& f) { on_frame_lost(s, f); });
  }
  if (app) {
    ++app_keys_.phase_packets;
    // The packets sealed with one key are counted over every path (multipath 7): a fresh key
    // well before the confidentiality limit, or at the configured interval.
    const uint64_t conf = confidentiality_limit();
    if ((cfg_.key_update_interval && app_keys_.phase_packets >= cfg_.key_update_interval) ||
        app_keys_.phase_packets >= conf - conf / 4) {
      initiate_key_update();
    }
    if (!app_data_pending()) path.recovery.on_app_limited();
  }
  return total;
}

// PacketFiller over the packet being built.
class Connection::Filler final : public PacketFiller {
 public:
  Filler(Connection& c, Path& path, uint8_t*& p, uint8_t* end, SentLog& log, bool& eliciting)
      : c_(c), path_(path), p_(p), end_(end), log_(log), eliciting_(eliciting),
        pin_(c.pin_of(path)), ring_ok_(c.cfg_.seal_from_send_buffer && !c.qlog_ && !c.capture_) {}
  size_t room() const override { return static_cast<size_t>(end_ - p_); }
  bool has_datagram() const override { return datagram_index() < c_.tx_datagrams_.size(); }
  bool has_stream_data() const override {
    return pin_ == kAnyPath ? c_.streams_->has_pending_stream_data()
                            : c_.streams_->has_pending_stream_data_for(pin_);
  }
  size_t queued_data(std::span<QueuedData> out) const override { return c_.queued_data(out); }
  bool add_datagram() override {
    const size_t k = datagram_index();
    if (k >= c_.tx_datagrams_.size() || log_.open_count() >= kMaxFramesPerPacket) return false;
    const DatagramRing::Entry& d = c_.tx_datagrams_.at(k);
    if (datagram_data_fits(true, room()) < d.data.size()) return false;
    const size_t n = write_frame(p_, room(), DatagramFrame{true, ByteView(d.data.data(), d.data.size())});
    if (n == 0) return false;
    p_ += n;
    record({SentFrameKind::kDatagram, false, false, static_cast<uint32_t>(d.data.size()), d.id, 0, 0});
    ++c_.stats_.datagrams_sent;
    c_.tx_datagrams_.erase(k);
    eliciting_ = true;
    return true;
  }
  bool add_stream_data(std::optional<uint64_t> stream) override {
    if (log_.open_count() >= kMaxFramesPerPacket) return false;
    // Room for the frame's own fields at their largest: type, ID, offset, 2-byte length.
    constexpr size_t kOverhead = 1 + 8 + 8 + 2;
    if (room() <= kOverhead) return false;
    StreamFrame f;
    const size_t max_len = room() - kOverhead;
    const bool got = stream ? c_.streams_->next_stream_frame_on(*stream, max_len, f)
                            : c_.streams_->next_stream_frame(max_len, f, pin_);
    if (!got) return false;
    f.has_length = true;
    f.has_offset = f.offset != 0;
    // The data may stay in its send ring for seal() to read (one such frame per packet).
    const RingLead ring = c_.streams_->last_frame_ring();
    size_t n = 0;
    if (ring_ok_ && ring.at && f.data.size >= kMinRingData && c_.ring_data_.len == 0) {
      const size_t head = write_stream_frame_head(p_, room(), f);
      if (head) {
        n = head + f.data.size;
        c_.ring_data_ = {p_ + head, f.data.size, ring};
      }
    } else {
      n = write_frame(p_, room(), f);
    }
    if (n == 0) {
      c_.streams_->on_stream_frame_lost(f.stream_id, f.offset, f.data.size, f.fin);
      return false;
    }
    p_ += n;
    record({SentFrameKind::kStream, f.fin, false, static_cast<uint32_t>(f.data.size),
              f.stream_id, f.offset, 0});
    c_.stats_.stream_bytes_sent += f.data.size;
    if (c_.streams_->last_frame_retransmission())
      c_.stats_.stream_bytes_retransmitted += f.data.size;
    path_.stream_bytes_sent += f.data.size;
    eliciting_ = true;
    return true;
  }

 private:
  // Logs the frame, and keeps a copy when the redundant scheduler will repeat this packet.
  void record(const SentFrame& f) {
    log_.add(f);
    if (Replay* r = c_.replay_.get(); r && c_.capture_ && r->n_frames < r->frames.size()) {
      r->frames[r->n_frames++] = f;
    }
  }
  // The oldest queued DATAGRAM this packet's path may carry (size() when none).
  size_t datagram_index() const {
    const DatagramRing& r = c_.tx_datagrams_;
    if (pin_ == kAnyPath) return r.empty() ? r.size() : 0;
    return r.first_for(pin_);
  }
  Connection& c_;
  Path& path_;
  uint8_t*& p_;
  uint8_t* end_;
  SentLog& log_;
  bool& eliciting_;
  const uint32_t pin_;  // the path ID pins are matched against; kAnyPath without multipath
  // STREAM data may be left in its ring for seal(); not when the plaintext is read before the
  // seal (qlog logs it, the redundant scheduler keeps a copy).
  const bool ring_ok_;
};

// The application-level frames of one packet: control first, then what the scheduler picks.
// kDataOnly (data_only_ready()): no control frame is due, so just the scheduler's.
template <bool kDataOnly>
void Connection::fill_app_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
                                 bool& eliciting, TimeNs now, bool path_only) {
  if constexpr (!kDataOnly) {
    uint8_t* const before = p;
    fill_control_frames(path, p, end, log, eliciting, now, path_only);
    if (p != before) extra_frames_ = true;
    if (probe_tx_ || path_only) return;
  }
  fill_data_frames(path, p, end, log, eliciting);
}

// Path validation, then connection-level control frames (path_only: just path validation).
void Connection::fill_control_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
                                     bool& eliciting, TimeNs now, bool path_only) {
  auto room = [&] { return static_cast<size_t>(end - p); };
  auto put = [&](const Frame& f, const SentFrame& rec, bool record) {
    const size_t n = write_frame(p, room(), f);
    if (n == 0) return false;
    p += n;
    if (record) log.add(rec);
    eliciting = true;
    return true;
  };
  // Path validation (RFC 9000 8.2): responses owed on this 4-tuple, our own challenge. Neither is
  // retransmitted as such: a lost challenge is replaced by a new one, and the peer challenges again.
  const Tuple& dest = probe_tx_ ? *probe_tx_ : path.tuple;
  for (size_t i = 0; i < n_responses_;) {
    if (responses_[i].path_id != path.path_id || !same_four_tuple(responses_[i].tuple, dest)) {
      ++i;
    } else if (responses_[i].challenge ? put(PathChallengeFrame{responses_[i].data}, {}, false)
                                       : put(PathResponseFrame{responses_[i].data}, {}, false)) {
      if (responses_[i].challenge) ++stats_.path_challenges_sent;
      drop_path_response(i);
    } else {
      break;
    }
  }
  if (probe_tx_) return;  // a probe response datagram carries nothing else
  if (path.challenge_pending && put(PathChallengeFrame{path.challenges.back()}, {}, false)) {
    path.challenge_pending = false;
    if (path.challenges_sent < 255) ++path.challenges_sent;
    ++stats_.path_challenges_sent;
    // 8.2.1: no more often than Initial probes would go, so the interval doubles; a response
    // to any of the last three challenges still counts, however slow the new path is.
    path.challenge_resend_at = now + (pto(path) << std::min<int>(path.challenges_sent - 1, 8));
  }
  if (path_only) return;
  if (handshake_done_pending_ && put(HandshakeDoneFrame{}, {SentFrameKind::kHandshakeDone}, true)) {
    handshake_done_pending_ = false;
  }
  if (new_token_pending_ && shared_.tokens) {
    uint8_t tok[kMaxTokenLen];
    const size_t n = shared_.tokens->make_new_token(
        tok, sizeof tok, std::span<const IpAddr>(token_addrs_.data(), n_token_addrs_), now);
    if (n == 0 || put(NewTokenFrame{ByteView(tok, n)}, {SentFrameKind::kNewToken}, true)) {
      new_token_pending_ = false;
    }
  }
  // Under multipath CIDs of every path ID, path 0's too, go in PATH_NEW_CONNECTION_ID (3.2).
  while (!pending_new_cids_.empty() && log.open_count() < kMaxFramesPerPacket) {
    const PendingCid c = pending_new_cids_.front();
    std::optional<NewConnectionIdFrame> f =
        cids_->new_connection_id_frame(c.path_id, c.sequence, multipath_);
    if (f) {
      if (!put(*f, {SentFrameKind::kNewConnectionId, false, false, 0, c.path_id, c.sequence, 0},
               true)) {
        break;
      }
    }
    pending_new_cids_.pop_front();
  }
  while (log.open_count() < kMaxFramesPerPacket) {
    std::optional<RetireConnectionIdFrame> f = cids_->next_retire_to_send(multipath_);
    if (!f) break;
    if (!put(*f, {SentFrameKind::kRetireConnectionId, false, false, 0, f->path_id,
                  f->sequence_number, 0}, true)) {
      cids_->on_retire_lost(f->path_id, f->sequence_number);
      break;
    }
  }
  Frame cf;
  while (log.open_count() < kMaxFramesPerPacket && room() > 8 && streams_->next_control_frame(cf)) {
    SentFrame rec;
    record_control_frame(cf, rec);
    if (!put(cf, rec, true)) {
      streams_->on_control_frame_lost(cf);  // queued again for the next packet
      break;
    }
  }
  if (multipath_) fill_multipath_frames(path, p, end, log, eliciting);
}

// Application data: the scheduler decides (not on a path it would not pick, e.g. a backup one).
void Connection::fill_data_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
                                  bool& eliciting) {
  auto room = [&] { return static_cast<size_t>(end - p); };
  if (!build_data_ok_) return;
  if (replaying_) {
    // The redundant scheduler's copy of a packet sent on another path: the same data frames.
    const Replay& r = *replay_;
    if (room() < r.len || log.open_count() + r.n_frames > kMaxFramesPerPacket) return;
    std::memcpy(p, r.bytes.data(), r.len);
    p += r.len;
    for (size_t i = 0; i < r.n_frames; ++i) log.add(r.frames[i]);
    eliciting = true;
    return;
  }
  uint8_t* const data_start = p;
  capture_ = replay_ && scheduler_->redundant() && paths_.size() > 1;
  if (capture_) replay_->n_frames = 0;
  Filler filler(*this, path, p, end, log, eliciting);
  scheduler_->fill(filler, cfg_.mix_objects);
  if (capture_ && p > data_start && static_cast<size_t>(p - data_start) <= replay_->bytes.size()) {
    // Every other path that may carry data gets the same frames next (redundant scheduler).
    Replay& r = *replay_;
    r.len = static_cast<size_t>(p - data_start);
    std::memcpy(r.bytes.data(), data_start, r.len);
    r.n_targets = 0;
    for (const auto& q : paths_) {
      if (q.get() != &path && path_data_ok(*q)) r.targets[r.n_targets++] = q->path_id;
    }
  }
  capture_ = false;
}

// PATH_ABANDON, PATH_STATUS_*, MAX_PATH_ID, PATHS_BLOCKED, PATH_CIDS_BLOCKED: connection-level,
// so any open path carries them (draft-ietf-quic-multipath-21 4).
void Connection::fill_multipath_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
                                       bool& eliciting) {
  auto put = [&](const Frame& f, const SentFrame& rec) {
    if (log.open_count() >= kMaxFramesPerPacket) return false;
    const size_t n = write_frame(p, static_cast<size_t>(end - p), f);
    if (n == 0) return false;
    p += n;
    log.add(rec);
    eliciting = true;
    return true;
  };
  while (n_abandons_ > 0) {
    const PathAbandonFrame& f = abandons_[0];
    if (f.path_id == path.path_id) break;  // never on the path it closes
    if (!put(f, {SentFrameKind::kPathAbandon, false, false, 0, f.path_id, 0, f.error_code})) break;
    std::copy(abandons_.begin() + 1, abandons_.begin() + n_abandons_, abandons_.begin());
    --n_abandons_;
  }
  for (auto& q : paths_) {
    if (!q->status_pending) continue;
    const PathStatusFrame f{!q->local_backup, q->path_id, q->local_status_seq};
    if (!put(f, {SentFrameKind::kPathStatus, false, f.available, 0, f.path_id,
                 f.sequence_number, 0})) {
      break;
    }
    q->status_pending = false;
  }
  if (max_path_id_pending_ &&
      put(MaxPathIdFrame{local_max_path_id_}, {SentFrameKind::kMaxPathId, false, false, 0,
                                                local_max_path_id_, 0, 0})) {
    max_path_id_pending_ = false;
  }
  if (paths_blocked_pending_ &&
      put(PathsBlockedFrame{peer_max_path_id_}, {SentFrameKind::kPathsBlocked, false, false, 0,
                                                  peer_max_path_id_, 0, 0})) {
    paths_blocked_pending_ = false;
  }
  while (n_cids_blocked_ > 0) {
    const PathCidsBlockedFrame f = cids_blocked_[n_cids_blocked_ - 1];
    if (!put(f, {SentFrameKind::kPathCidsBlocked, false, false, 0, f.path_id,
                 f.next_sequence_number, 0})) {
      break;
    }
    --n_cids_blocked_;
  }
}

size_t Connection::build_close_datagram(uint8_t* buf, size_t limit, Path& path) {
  // RFC 9000 10.2.3: during the handshake the close goes at every level the peer may read, and an
  // application close becomes APPLICATION_ERROR without a reason before 1-RTT.
  size_t off = 0;
  for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData}) {
    Space& sp = space(s);
    if (sp.discarded || !sp.tx.ready) continue;
    const bool app = s == PnSpace::kApplicationData;
    if (app && state_ == ConnState::kClosing && role_ == Role::kClient && !tls_->handshake_complete()) continue;
    ConnectionCloseFrame f;
    if (close_app_ && !app) {
      f.application = false;
      f.error_code = static_cast<uint64_t>(TransportError::APPLICATION_ERROR);
    } else {
      f.application = close_app_;
      f.error_code = close_code_;
      f.frame_type = close_frame_type_;
      f.reason_phrase = ByteView(reinterpret_cast<const uint8_t*>(close_reason_.data()),
                                 std::min<size_t>(close_reason_.size(), 256));
    }
    uint64_t& next_pn = app ? path.next_pn : sp.next_pn;
    const uint64_t pn = next_pn;
    const size_t pnl = 4;
    uint8_t* b = buf + off;
    const size_t cap = limit - off;
    if (cap < kMinPacketRoom + kAeadTagLen) break;
    const size_t hdr = write_header(s, b, cap, path, pn, pnl);
    if (hdr == 0) break;
    size_t n = write_frame(b + hdr, cap - hdr - kAeadTagLen, f);
    if (n == 0) break;
    if (s == PnSpace::kInitial && role_ == Role::kClient) {
      const size_t want = std::min<size_t>(cap, kMinInitialDatagram) - hdr - kAeadTagLen;
      if (n < want) {
        std::memset(b + hdr + n, 0, want - n);
        n = want;
      }
    }
    const size_t total = seal(s, b, hdr, pnl, n, pn, app ? path.path_id : 0);
    if (total == 0) break;
    ++next_pn;
    off += total;
  }
  return off;
}

// ---- Timers --------------------------------------------------------------------------------------

TimeNs Connection::next_timeout(TimeNs now) const {
  // One path, or no open one: nothing to cache; several: what the paths' SchedCache says. The
  // endpoint asks once after each call that worked on the connection (its deadline heap).
  if (paths_.size() == 1 ||
      (state_ != ConnState::kHandshake && state_ != ConnState::kConfirmed)) {
    return fresh_next_timeout(now);
  }
  const TimeNs t = cached_next_timeout(now);
  if (cfg_.check_send_cache) check_cache(t == fresh_next_timeout(now));
  return t;
}

bool Connection::handshake_spaces_due(bool cwnd_ok, TimeNs& t) const {
  for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake}) {
    const Space& sp = space(s);
    if (sp.discarded || !sp.tx.ready) continue;
    const int si = static_cast<int>(s);
    if (sp.ack.ack_pending()) t = std::min(t, sp.ack.ack_deadline());
    if (probes_pending_[si] || ping_pending_[si]) return true;
    if (cwnd_ok && sp.crypto_tx.has_pending()) return true;
  }
  return false;
}

TimeNs Connection::cached_next_timeout(TimeNs now) const {
  TimeNs t = idle_deadline_;
  if (app_keys_.have_prev) t = std::min(t, app_keys_.prev_discard_at);
  const bool app_ready = app_tx_ready() && (role_ == Role::kServer || tls_->handshake_complete());
  for (const auto& pp : paths_) {
    if (pp->sched.stale) refresh_sched(*pp);
    if (pp->sched.wake_now) return now;
    t = std::min(t, pp->sched.timer_at);
  }
  // The handshake spaces live on the first path only.
  if (const Path& p0 = *paths_[0];
      !amplification_blocked(p0) && handshake_spaces_due(p0.sched.window_ok, t)) {
    return now;
  }
  if (!app_ready) return t;
  if (replay_ && replay_->len) return now;  // redundant copies go (or are dropped) at once
  // ACKs of paths that cannot send ride on the carrier (carrier_path()).
  const Path* carrier = nullptr;
  const Path* any = nullptr;
  for (const auto& pp : paths_) {
    if (!carrier && pp->sched.carrier_ok) carrier = pp.get();
    if (!any && pp->sched.sendable) any = pp.get();
  }
  if (!carrier) carrier = any;
  if (carrier && carrier->sched.unblocked) {
    for (const auto& q : paths_) t = std::min(t, q->sched.acks_owed_at);
  }
  // PATH_RESPONSEs owed to other 4-tuples (probes) go out at once.
  for (size_t i = 0; i < n_responses_; ++i) {
    const Path* p = find_path(responses_[i].path_id);
    if (p && path_sendable(*p) && !same_four_tuple(responses_[i].tuple, p->tuple)) return now;
  }
  const bool control = space(PnSpace::kApplicationData).crypto_tx.has_pending() ||
                       control_pending_cached() || streams_->has_pending_control();
  if (!control && !app_data_pending()) return t;
  // Exactly the paths pick_send_path() would offer the scheduler, pacer included.
  PathView* views = scratch_views_;
  uint8_t index[kMaxCidPaths];
  const size_t k = offer_only_pinned_paths(views, index, data_candidates(views, index, now));
  if (scheduler_->would_pick({views, k})) return now;
  // Otherwise the earliest a paced path may send again (a full window waits for an ACK).
  for (size_t c = 0; c < k; ++c) {
    const Path& p = *paths_[index[c]];
    if (p.sched.window_ok && p.pacing_wake != kNever && p.pacing_wake > now) {
      t = std::min(t, p.pacing_wake);
    }
  }
  return t;
}

TimeNs Connection::fresh_next_timeout(TimeNs now) const {
  if (state_ == ConnState::kClosed) return kNever;
  if (state_ == ConnState::kClosing || state_ == ConnState::kDraining) {
    // A close the 3x limit holds back waits for the peer's next datagram, not for a spin.
    return close_owed() ? now : close_deadline_;
  }
  TimeNs t = idle_deadline_;
  if (app_keys_.have_prev) t = std::min(t, app_keys_.prev_discard_at);
  const bool app_tx = app_tx_ready();
  const bool app_ready = app_tx && (role_ == Role::kServer || tls_->handshake_complete());
  const size_t live = multipath_ ? live_paths() : 0;
  for (const auto& pp : paths_) {
    const Path& p = *pp;
    t = std::min(t, p.discard_at);
    if (!path_open(p)) continue;
    t = std::min({t, p.recovery.loss_detection_timer(), p.validation_deadline,
                  p.challenge_resend_at, p.probe_cid_release_at, failover_deadline(p, live)});
    // At the anti-amplification limit nothing can go out on the path until the client sends
    // more: waking for ACKs, probes or data would spin (RFC 9002 6.2.2.1 stops the PTO timer too).
    if (!path_sendable(p) || amplification_blocked(p)) continue;
    if (app_tx && p.app_ack.ack_pending()) t = std::min(t, p.app_ack.ack_deadline());
    if (app_tx && (p.probes_pending || p.ping_pending)) return now;
    if (app_ready && path_frames_pending(p)) return now;  // validation goes out past the window
  }
  // The handshake spaces live on the first path only.
  const Path& p0 = *paths_[0];
  if (!amplification_blocked(p0) &&
      handshake_spaces_due(p0.recovery.can_send(cfg_.max_datagram_size), t)) {
    return now;
  }
  if (!app_ready) return t;
  if (replay_ && replay_->len) return now;  // redundant copies go (or are dropped) at once
  // ACKs of paths that cannot send ride on the carrier.
  if (const Path* carrier = carrier_path(); carrier && !amplification_blocked(*carrier)) {
    for (const auto& q : paths_) {
      if (!path_sendable(*q) && q->app_ack.ack_pending()) t = std::min(t, q->app_ack.ack_deadline());
    }
  }
  // PATH_RESPONSEs owed to other 4-tuples (probes) go out at once.
  for (size_t i = 0; i < n_responses_; ++i) {
    const Path* p = find_path(responses_[i].path_id);
    if (p && path_sendable(*p) && !same_four_tuple(responses_[i].tuple, p->tuple)) return now;
  }
  const bool control = space(PnSpace::kApplicationData).crypto_tx.has_pending() ||
                       control_pending() || streams_->has_pending_control();
  const bool data = app_data_pending();
  if (!control && !data) return t;
  if (paths_.size() == 1) {
    if (!path_sendable(p0) || amplification_blocked(p0) ||
        !p0.recovery.can_send(cfg_.max_datagram_size)) {
      return t;
    }
    if (control) return now;
    return p0.pacing_wake != kNever && p0.pacing_wake > now ? std::min(t, p0.pacing_wake) : now;
  }
  // Several paths: exactly the ones pick_send_path() would offer the scheduler, pacer included.
  PathView views[kMaxCidPaths];
  uint8_t index[kMaxCidPaths];
  const size_t k =
      offer_only_pinned_paths(views, index, fresh_data_candidates(views, index, now));
  if (scheduler_->would_pick({views, k})) return now;
  // Otherwise the earliest a paced path may send again (a full window waits for an ACK).
  for (size_t c = 0; c < k; ++c) {
    const Path& p = *paths_[index[c]];
    if (p.recovery.can_send(cfg_.max_datagram_size) && p.pacing_wake != kNever &&
        p.pacing_wake > now) {
      t = std::min(t, p.pacing_wake);
    }
  }
  return t;
}

TimeNs Connection::failover_deadline(const Path& p, size_t live) const {
  // draft-ietf-quic-multipath-21 5.6/5.7: a path with data out and no acknowledgement for
  // max(3 x its smoothed RTT, the floor) since its last one (or since it got busy) is failing.
  // With one open path there is nowhere to fail over to (and a deadline nobody acts on would
  // keep the timer in the past).
  if (!multipath_ || live < 2) return kNever;
  if (p.failing) return p.failover_acted ? kNever : p.failing_since + 3 * pto(p);
  if (p.busy_since == kNever || p.recovery.ack_eliciting_in_flight(PnSpace::kApplicationData) == 0) {
    return kNever;
  }
  const TimeNs base =
      p.last_ack_time == kNever ? p.busy_since : std::max(p.last_ack_time, p.busy_since);
  return base + std::max<DurationNs>(3 * p.recovery.rtt().smoothed(), cfg_.failover_floor);
}

void Connection::check_failover(Path& p, TimeNs now) {
  if (p.failing) {
    // Still silent 3 PTO later: close it, or keep it as a backup (policy).
    if (!p.failover_acted && now >= failover_deadline(p)) {
      p.failover_acted = true;  // once; an acknowledgement clears it with `failing`
      if (cfg_.failover_action == FailoverAction::kAbandon) {
        start_abandon(p, path_abandon_error::kPathUnstableOrPoor, now);
      } else if (!p.local_backup) {
        set_path_status(p.path_id, false);  // 3.3: tell the peer to avoid it too
      }
    }
    return;
  }
  if (now < failover_deadline(p)) return;
  p.failing = true;
  p.failing_since = now;
  ++stats_.failovers;
  // What it carries goes again on the others at once, without waiting for its PTO.
  requeue_in_flight(p);
  app_wakeup_ = true;
}

void Connection::on_timeout(TimeNs now) {
  // Mostly a pacer wake with nothing due: the paths are touched only when something happened.
  TouchAll touch{*this, false};
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed) return;
  if (state_ == ConnState::kClosing || state_ == ConnState::kDraining) {
    touch.armed = true;
    // Not before our CONNECTION_CLOSE went out, when it can (see send()).
    if (now >= close_deadline_ && !close_owed()) finish(now);
    return;
  }
  if (now >= idle_deadline_) {
    touch.armed = true;
    close_info_.closed = true;
    close_info_.idle_timeout = true;
    close_info_.reason = "idle timeout";
    if (qlog_) qlog_->connection_closed(now, QlogOwner::kLocal, "idle_timeout");
    finish(now);  // RFC 9000 10.1: silently
    return;
  }
  for (size_t i = 0; i < paths_.size();) {
    if (state_ != ConnState::kConfirmed && state_ != ConnState::kHandshake) return;
    Path& path = *paths_[i];
    if (now >= path.discard_at) {
      touch.armed = true;
      // 3.4: an abandoned path's state goes 3 PTO after the exchange of PATH_ABANDON.
      if (paths_.size() > 1) {
        drop_path(i);
        continue;
      }
      path.discard_at = kNever;
    }
    if (path_open(path)) {
      if (path.recovery.loss_detection_timer() <= now) {
        touch.armed = true;
        RecoveryEvents ev(*this, path, now);
        const TimeoutOutcome out = path.recovery.on_loss_detection_timeout(now, ev);
        if (out.action == TimeoutAction::kSendProbe) {
          ++stats_.pto_count;
          const int si = static_cast<int>(out.space);
          uint32_t& probes = out.space == PnSpace::kApplicationData ? path.probes_pending
                                                                    : probes_pending_[si];
          probes = std::max<uint32_t>(probes, out.probe_packets);
          Space& sp = space(out.space);
          if (out.space != PnSpace::kApplicationData) {
            // A probe carries data where it can: the unacknowledged CRYPTO data (RFC 9002 6.2.4).
            sp.crypto_tx.on_lost(sp.crypto_tx.acked_offset(),
                                 sp.crypto_tx.sent_offset() - sp.crypto_tx.acked_offset(), false);
          }
          if (role_ == Role::kClient && out.space == PnSpace::kInitial &&
              !tls_->handshake_complete() && space(PnSpace::kHandshake).tx.ready &&
              !space(PnSpace::kHandshake).discarded) {
            probes_pending_[static_cast<int>(PnSpace::kHandshake)] = out.probe_packets;
          }
        }
      }
      if (now >= path.validation_deadline) {
        touch.armed = true;
        on_path_validation_timeout(path, now);
        if (state_ == ConnState::kClosed) return;
      } else if (now >= path.challenge_resend_at) {
        touch.armed = true;
        start_path_validation(path, now);  // 8.2.1: a new challenge each PTO until the deadline
        if (path.previous_challenge) queue_previous_path_challenge(path);
      }
      if (now >= path.probe_cid_release_at) {
        touch.armed = true;
        release_probe_cid(path);
      }
      if (path_open(path)) {
        // Whatever check_failover() does changes one of these two.
        const bool failing = path.failing, acted = path.failover_acted;
        check_failover(path, now);
        if (path.failing != failing || path.failover_acted != acted) touch.armed = true;
      }
    }
    ++i;
  }
  if (app_keys_.have_prev && now >= app_keys_.prev_discard_at) {
    touch.armed = true;
    app_keys_.have_prev = false;  // RFC 9001 6.5: old keys go after 3 PTO
    app_keys_.prev_discard_at = kNever;
  }
}

// ---- Application ---------------------------------------------------------------------------------

bool Connection::send_datagram(std::span<const uint8_t> data, uint64_t* id_out) {
  return send_datagram(data, id_out, SendMeta{});
}

size_t Connection::queued_data(std::span<QueuedData> out) const {
  size_t n = 0;
  for (size_t k = 0; k < tx_datagrams_.size() && n < out.size(); ++k) {
    const DatagramRing::Entry& e = tx_datagrams_.at(k);
    out[n++] = QueuedData{true, e.id, e.meta};
  }
  QueuedStream streams[16];
  const size_t m =
      streams_->queued_streams({streams, std::min(std::size(streams), out.size() - n)});
  for (size_t i = 0; i < m; ++i) out[n++] = QueuedData{false, streams[i].id, streams[i].meta};
  return n;
}

bool Connection::set_stream_meta(uint64_t stream_id, const SendMeta& meta) {
  note_app_action();
  const TouchAll touch{*this};
  if (!streams_ || !streams_->set_send_meta(stream_id, meta)) return false;
  // A pin to a path that is gone (or never opened) means any path.
  if (meta.path_id != kAnyPath && !path_id_open(meta.path_id)) streams_->unpin_path(meta.path_id);
  return true;
}

bool Connection::send_datagram(std::span<const uint8_t> data, uint64_t* id_out,
                               const SendMeta& meta) {
  note_app_action();
  const TouchAll touch{*this};
  if (!peer_tp_applied_ || !peer_tp_.max_datagram_frame_size) return false;
  // The frame (type + length + data) must respect the peer's limit and fit one packet.
  const uint64_t frame = 1 + varint::size(data.size()) + data.size();
  if (frame > *peer_tp_.max_datagram_frame_size) return false;
  if (frame + 1 + kMaxCidLength + 4 + kAeadTagLen > cfg_.max_datagram_size) return false;
  const uint64_t id = next_datagram_id_;
  SendMeta m = meta;
  if (m.path_id != kAnyPath && !path_id_open(m.path_id)) m.path_id = kAnyPath;
  if (!tx_datagrams_.push(data, id, m)) return false;
  ++next_datagram_id_;
  if (id_out) *id_out = id;
  return true;
}

bool Connection::receive_datagram(std::vector<uint8_t>& out) {
  if (rx_datagrams_.empty()) return false;
  const DatagramRing::Entry& e = rx_datagrams_.front();
  out.assign(e.data.begin(), e.data.end());
  rx_datagrams_.pop();
  return true;
}

void Connection::close(uint64_t app_error, std::string_view reason) {
  note_app_action();
  const TouchAll touch{*this};
  enter_closing(true, app_error, 0, reason, last_now_);
}

void Connection::close_transport(TransportError e, uint64_t frame_type, std::string_view reason,
                                 TimeNs now) {
  const TouchAll touch{*this};
  enter_closing(false, static_cast<uint64_t>(e), frame_type, reason, now);
}

void Connection::enter_closing(bool application, uint64_t code, uint64_t frame_type,
                               std::string_view reason, TimeNs now) {
  if (state_ == ConnState::kClosing || state_ == ConnState::kDraining ||
      state_ == ConnState::kClosed) {
    return;
  }
  close_app_ = application;
  close_code_ = code;
  close_frame_type_ = frame_type;
  close_reason_.assign(reason.substr(0, 256));
  close_info_.closed = true;
  close_info_.by_peer = false;
  close_info_.application = application;
  close_info_.error_code = code;
  close_info_.reason = close_reason_;
  if (qlog_) {
    ConnectionCloseFrame f;
    f.application = application;
    f.error_code = code;
    f.frame_type = frame_type;
    f.reason_phrase = ByteView(reinterpret_cast<const uint8_t*>(close_reason_.data()),
                               close_reason_.size());
    qlog_->connection_closed(now, QlogOwner::kLocal, f);
  }
  // Keys unknown yet (a client whose first packet was refused): nothing to send, just go.
  if (!space(PnSpace::kInitial).tx.ready && !space(PnSpace::kHandshake).tx.ready && !app_tx_ready()) {
    finish(now);
    return;
  }
  state_ = ConnState::kClosing;
  close_send_pending_ = true;
  close_deadline_ = now + 3 * max_pto();  // multipath 2.6: the largest PTO
  app_wakeup_ = true;
}

bool Connection::close_owed() const {
  const Path* cp = carrier_path();
  return close_send_pending_ && cp && !amplification_blocked(*cp);
}

void Connection::enter_draining(TimeNs now) {
  state_ = ConnState::kDraining;
  close_send_pending_ = false;
  close_deadline_ = now + 3 * max_pto();
  app_wakeup_ = true;
}

void Connection::finish(TimeNs now) {
  if (state_ == ConnState::kClosed) return;
  state_ = ConnState::kClosed;
  close_info_.closed = true;
  if (qlog_) qlog_->flush();
  app_wakeup_ = true;
}

}  // namespace camp::quic
