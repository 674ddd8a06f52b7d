#include "dataplane/quic/conn/connection.h"

#include <algorithm>
#include <cstring>

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
  void on_packet_acked(PnSpace space, const SentPacket& pkt) override {
    ++c_.stats_.packets_acked;
    c_.log_for(space, p_).settle(pkt.tag, [&](const SentFrame& f) { c_.on_frame_acked(space, f); });
    c_.ack_for(space, p_).on_ack_packet_acked(pkt.packet_number);
    if (space == PnSpace::kApplicationData && pkt.packet_number >= c_.app_keys_.phase_first_tx_pn) {
      c_.app_keys_.phase_tx_acked = true;
    }
  }
  void on_packet_lost(PnSpace space, const SentPacket& pkt) override {
    ++c_.stats_.packets_lost;
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
  created_at_ = now;
  if (cfg_.max_datagram_size < kMinInitialDatagram) cfg_.max_datagram_size = kMinInitialDatagram;
  PathRecoveryConfig rc;
  rc.algorithm = cfg.cc;
  rc.max_datagram_size = cfg_.max_datagram_size;
  rc.app_ring_capacity = cfg.app_ring_packets;
  rc.seed = cfg.seed;
  rc.pacer_burst_bytes = 10 * cfg_.max_datagram_size;
  const size_t hs_ring = rc.handshake_ring_capacity;
  for (int s = 0; s < kNumPnSpaces; ++s) {
    const bool app = s == static_cast<int>(PnSpace::kApplicationData);
    // The application space's packets are tracked per path; its Space keeps CRYPTO and keys.
    const bool hs = s == static_cast<int>(PnSpace::kHandshake);
    spaces_[s] = std::make_unique<Space>(app ? 1 : hs_ring, app ? 1 : hs_ring * 8, !app,
                                         hs ? kCryptoBuffer : kSmallCryptoBuffer);
  }
  auto path = std::make_unique<Path>(rc, cfg.app_ring_packets * cfg.sent_frames_per_packet);
  path->tuple = tuple;
  path->app_ack.set_max_ack_delay(cfg_.local_tp.max_ack_delay * kMillisecond);
  paths_.push_back(std::move(path));
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
      if (shared_.tokens) new_token_pending_ = true;
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
  ConnectionId cid;
  while (cids_->local_cids_wanted(0) > 0 && pending_new_cids_.size() < kMaxActiveCids) {
    if (!new_local_cid(cid)) return;
    StatelessResetToken token{};
    if (shared_.reset_key) shared_.reset_key->token(cid.view(), token);
    std::optional<uint64_t> seq = cids_->add_local_cid(0, cid, token);
    if (!seq) return;
    if (!registry_.add_cid(*this, cid.view())) return;
    pending_new_cids_.push_back(*seq);
  }
}

// ---- Receiving -----------------------------------------------------------------------------------

void Connection::on_datagram(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now) {
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return;
  ++stats_.packets_received;
  stats_.bytes_received += len;
  rx_datagram_len_ = len;
  Path& path = *paths_[0];
  if (same_four_tuple(tuple, path.tuple)) {
    path.bytes_received += len;
    if (role_ == Role::kServer && !path.validated) path.recovery.set_amplification_blocked(false, now);
  }
  size_t off = 0;
  ConnectionId first_dcid;
  bool first = true;
  while (off < len && state_ != ConnState::kClosed) {
    const size_t used = on_packet(data + off, len - off, tuple, now, path, first, first_dcid);
    if (used == 0) break;
    off += used;
    first = false;
  }
  if (state_ == ConnState::kClosing) close_send_pending_ = true;  // answer with the close again
}

size_t Connection::on_packet(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now, Path& path,
                             bool first, ConnectionId& first_dcid) {
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
  AckTracker& ack = ack_for(s, path);
  OpenedPacket op;
  uint8_t* pkt = data;
  const size_t pkt_len = h.packet_length;
  if (h.type == PacketType::kOneRtt) {
    if (!sp.rx.ready) {
      ++stats_.drop_no_keys;
      if (check_stateless_reset(data, pkt_len)) on_stateless_reset(now);
      return pkt_len;
    }
    if (!decrypt_short(pkt, pkt_len, h.pn_offset, ack.largest_received(), op, now)) {
      ++stats_.drop_decrypt;
      if (check_stateless_reset(data, pkt_len)) on_stateless_reset(now);
      if (qlog_) qlog_->packet_dropped(now, h, pkt_len, "decryption_failure");
      return pkt_len;
    }
    if ((pkt[0] & 0x18) != 0) {  // reserved bits (17.3.1), checked after removing protection
      close_transport(TransportError::PROTOCOL_VIOLATION, 0, "reserved bits set", now);
      return 0;
    }
  } else {
    if (h.version != kQuicVersion1) return 0;
    if (sp.discarded || !sp.rx.ready) {
      ++stats_.drop_no_keys;
      return pkt_len;
    }
    if (unprotect_packet(*shared_.imb, sp.rx.aead, sp.rx.hp, {pkt, pkt_len}, h.pn_offset,
                         ack.largest_received(), op) != CryptoStatus::ok) {
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
      path.peer_cid = ConnectionId(h.scid);
      cids_->set_initial_peer_cid(path.peer_cid, nullptr);
      peer_scid_known_ = true;
    }
  }
  if (ack.is_duplicate(op.packet_number)) {
    ++stats_.drop_duplicate;
    return pkt_len;
  }
  const bool from_elsewhere = !same_four_tuple(tuple, path.tuple);
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
  RxFrames rx;
  process_frames(s, h.type, pkt + op.header_len, op.payload_len, path, h.dcid, tuple, now, rx);
  if (state_ == ConnState::kClosed) return 0;
  ack.on_packet_received(op.packet_number, rx.ack_eliciting, now, 0);
  if (s == PnSpace::kApplicationData) {
    // RFC 9000 9.3: only the highest-numbered non-probing packet moves the path; a probe from
    // elsewhere gets its PATH_RESPONSE there and changes nothing else.
    if (from_elsewhere && largest && rx.non_probing && role_ == Role::kServer) {
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
                               OpenedPacket& out, TimeNs now) {
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
  if (phase == current_phase) {
    if (open_payload(m, sp.rx.aead, packet, header_len, pn) == CryptoStatus::ok) return true;
    restore();
    return false;
  }
  // The other phase: an older packet under the previous keys, or the peer's key update.
  if (app_keys_.have_prev && pn < app_keys_.phase_first_rx_pn) {
    if (open_payload(m, app_keys_.rx_prev.aead, packet, header_len, pn) == CryptoStatus::ok) {
      return true;
    }
    restore();
    return false;
  }
  if (!app_keys_.rx_next.ready ||
      open_payload(m, app_keys_.rx_next.aead, packet, header_len, pn) != CryptoStatus::ok) {
    restore();
    return false;
  }
  roll_rx_keys(pn, now);
  return true;
}

void Connection::roll_rx_keys(uint64_t first_pn, TimeNs now) {
  Space& sp = space(PnSpace::kApplicationData);
  app_keys_.rx_prev.aead = sp.rx.aead;
  app_keys_.rx_prev.ready = true;
  app_keys_.have_prev = true;
  app_keys_.prev_discard_at = now + 3 * pto(*paths_[0]);  // RFC 9001 6.5
  sp.rx.aead = app_keys_.rx_next.aead;
  app_keys_.rx_secret = app_keys_.rx_next_secret;
  app_keys_.rx_keys = app_keys_.rx_next_keys;
  app_keys_.phase_first_rx_pn = first_pn;
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
  app_keys_.phase_first_tx_pn = paths_[0]->next_pn;
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
  if (!update_tx_keys()) return false;
  if (qlog_) qlog_->key_updated(0, role_ == Role::kClient ? QlogKeyType::kClient1RttSecret
                                                          : QlogKeyType::kServer1RttSecret,
                                tx_gen_, QlogKeyTrigger::kLocalUpdate);
  return true;
}

bool Connection::check_stateless_reset(const uint8_t* data, size_t len) const {
  // RFC 9000 10.3.1: the last 16 bytes of a datagram that does not decrypt.
  if (len < 21 || (data[0] & 0x80) != 0) return false;
  return cids_->is_stateless_reset(data + len - kStatelessResetTokenLength);
}

bool Connection::on_unroutable_datagram(const uint8_t* data, size_t len, TimeNs now) {
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return false;
  if (!check_stateless_reset(data, len)) return false;
  on_stateless_reset(now);
  return true;
}

void Connection::abandon(TimeNs now) {
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
  FrameReader rd(payload, len, type, opts);
  Frame fr;
  while (rd.next(fr)) {
    if (frame_is_ack_eliciting(fr)) out.ack_eliciting = true;
    if (!frame_is_probing(fr)) out.non_probing = true;
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
      const NewCidOutcome o = cids_->on_new_connection_id(*f);
      err = o.error;
      if (err == TransportError::NO_ERROR && o.in_use_cid_retired) switch_peer_cid(path);
    } else if (auto* f = std::get_if<RetireConnectionIdFrame>(&fr)) {
      uint64_t seq = UINT64_MAX;
      for (uint64_t i = 0, n = cids_->local_count(0) + 16; i < n; ++i) {
        const LocalCid* c = cids_->find_local(0, i);
        if (c && c->cid.view() == dcid) seq = i;
      }
      const RetireOutcome o = cids_->on_retire_connection_id(*f, seq);
      err = o.error;
      if (err == TransportError::NO_ERROR && o.retired) {
        registry_.remove_cid(*this, o.cid.view());
        issue_cids();
      }
    } else if (auto* f = std::get_if<PathChallengeFrame>(&fr)) {
      queue_path_response(from, f->data);
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

bool Connection::switch_peer_cid(Path& path) {
  const PeerCid* fresh = cids_->pick_fresh_peer_cid(0);
  if (!fresh) return false;
  cids_->retire_peer_cid(0, path.peer_cid_seq);
  path.peer_cid = fresh->cid;
  path.peer_cid_seq = fresh->sequence;
  return true;
}

// ---- Path validation and migration (RFC 9000 8.2, 9) ------------------------------------------

bool Connection::migrate(const Tuple& tuple, TimeNs now) {
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
    path.rx_dcid = ConnectionId(dcid);
    return;
  }
  if (path.validated && !path.fallback) path.fallback = path.tuple;
  path.port_only_change = tuple.remote == path.tuple.remote;
  path.tuple = tuple;
  path.validated = false;
  path.bytes_received = rx_datagram_len_;
  path.bytes_sent = 0;
  // 9.5: a peer that changed its connection ID on the new path gets one of ours it has not seen
  // either; one that kept its CID (NAT rebinding) may keep seeing ours.
  if (!(ConnectionId(dcid) == path.rx_dcid)) switch_peer_cid(path);
  path.rx_dcid = ConnectionId(dcid);
  start_path_validation(path, now);
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
}

void Connection::on_path_validation_timeout(Path& path, TimeNs now) {
  ++stats_.path_validation_failures;
  path.validation_deadline = path.challenge_resend_at = kNever;
  path.challenge_pending = false;
  path.challenges.fill(0);
  if (path.fallback) {
    // 9.3.2: back to the last validated 4-tuple.
    path.tuple = *path.fallback;
    path.fallback.reset();
    path.validated = true;
    return;
  }
  // No valid path left (8.2.4): the connection ends silently.
  close_info_.closed = true;
  close_info_.reason = "path validation failed";
  finish(now);
}

void Connection::queue_path_response(const Tuple& tuple, uint64_t data) {
  // 8.2.2: answer each challenge on the path it came on. A peer may challenge faster than we
  // answer: the oldest of a bounded set gives way.
  if (n_responses_ == responses_.size()) drop_path_response(0);
  responses_[n_responses_++] = {tuple, data, 3 * rx_datagram_len_};
  ++stats_.path_challenges_answered;
}

void Connection::drop_path_response(size_t i) {
  std::copy(responses_.begin() + i + 1, responses_.begin() + n_responses_, responses_.begin() + i);
  --n_responses_;
}

bool Connection::path_frames_pending(const Path& path) const {
  return path.challenge_pending || path_response_due(path.tuple);
}

bool Connection::path_response_due(const Tuple& tuple) const {
  for (size_t i = 0; i < n_responses_; ++i) {
    if (same_four_tuple(responses_[i].tuple, tuple)) return true;
  }
  return false;
}

size_t Connection::build_probe_response(uint8_t* buf, size_t limit, Path& path, Tuple* tuple,
                                        TimeNs now) {
  size_t i = 0;
  while (i < n_responses_ && same_four_tuple(responses_[i].tuple, path.tuple)) ++i;
  if (i == n_responses_ || !space(PnSpace::kApplicationData).tx.ready) return 0;
  // 8.2.2: padded to 1200 bytes, within 3x of what arrived from an address never validated.
  const Tuple to = responses_[i].tuple;
  limit = std::min(limit, responses_[i].budget);
  probe_tx_ = &to;
  bool eliciting = false;
  const size_t n = limit < kMinPacketRoom + kAeadTagLen ? 0
      : build_packet(PnSpace::kApplicationData, buf, limit, path, now,
                     std::min<size_t>(limit, kMinInitialDatagram), false, eliciting);
  probe_tx_ = nullptr;
  if (n == 0) {
    drop_path_response(i);  // no room to send or track it: the peer challenges again
    return 0;
  }
  *tuple = to;
  return n;
}

void Connection::on_ack_frame(PnSpace s, const AckFrame& f, Path& path, TimeNs now) {
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
      path.recovery.on_ack_received(s, {ranges, n}, delay, now, ev, f.has_ecn ? &f.ecn : nullptr);
  if (out.error == RecoveryError::kAckOfUnsentPacket) {
    close_transport(TransportError::PROTOCOL_VIOLATION, frame_type::ACK,
                    "ACK of a packet never sent", now);
    return;
  }
  Space& sp = space(s);
  if (!sp.has_largest_acked || f.largest_acknowledged > sp.largest_acked) {
    sp.largest_acked = f.largest_acknowledged;
    sp.has_largest_acked = true;
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

void Connection::on_frame_acked(PnSpace s, const SentFrame& f) {
  switch (f.kind) {
    case SentFrameKind::kStream:
      streams_->on_stream_frame_acked(f.a, f.b, f.len, f.fin);
      if (observer_) observer_->on_stream_data_acked(f.a, f.b, f.len);
      app_wakeup_ = true;
      break;
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

void Connection::on_frame_lost(PnSpace s, const SentFrame& f) {
  switch (f.kind) {
    case SentFrameKind::kStream:
      streams_->on_stream_frame_lost(f.a, f.b, f.len, f.fin);
      if (observer_) observer_->on_stream_data_lost(f.a, f.b, f.len);
      break;
    case SentFrameKind::kCrypto:
      if (!space(s).discarded) space(s).crypto_tx.on_lost(f.b, f.len, false);
      break;
    case SentFrameKind::kNewConnectionId:
      if (cids_->find_local(f.a, f.b) && pending_new_cids_.size() < 2 * kMaxActiveCids) {
        pending_new_cids_.push_back(f.b);
      }
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

DurationNs Connection::effective_idle_timeout() const {
  return std::max(idle_timeout_, 3 * pto(*paths_[0]));  // RFC 9000 10.1
}

bool Connection::amplification_blocked(const Path& p) const {
  if (role_ != Role::kServer || p.validated) return false;
  return 3 * p.bytes_received < p.bytes_sent + kMinInitialDatagram;
}

bool Connection::app_tx_ready() const { return space(PnSpace::kApplicationData).tx.ready; }

bool Connection::app_data_pending() const {
  return !tx_datagrams_.empty() || streams_->has_pending_stream_data();
}

bool Connection::control_pending(const Path& path) const {
  return handshake_done_pending_ || new_token_pending_ || !pending_new_cids_.empty() ||
         path.challenge_pending || path_response_due(path.tuple) || cids_->has_retire_to_send();
}

bool Connection::space_wants_send(PnSpace s, const Path& path, TimeNs now, bool cwnd_ok) const {
  const Space& sp = space(s);
  if (sp.discarded || !sp.tx.ready) return false;
  if (ack_for(s, path).ack_pending() && ack_for(s, path).should_send_ack(now)) return true;
  if (ping_pending_[static_cast<int>(s)] || probes_pending_[static_cast<int>(s)] > 0) return true;
  // Path validation is not held back by the congestion window: a full window of packets lost on a
  // dead path must not keep the new one from being proven (RFC 9000 8.2, 9.3).
  if (s == PnSpace::kApplicationData && path_frames_pending(path)) return true;
  if (!cwnd_ok) return false;
  if (sp.crypto_tx.has_pending()) return true;
  if (s == PnSpace::kApplicationData) {
    if (role_ == Role::kClient && !tls_->handshake_complete()) return false;
    if (control_pending(path)) return true;
    if (app_data_pending()) return true;
    if (streams_->has_pending_control()) return true;
  }
  return false;
}

size_t Connection::send(uint8_t* buf, size_t cap, Tuple* tuple, TimeNs now) {
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed || state_ == ConnState::kDraining) return 0;
  Path& path = *paths_[0];
  *tuple = path.tuple;
  size_t limit = std::min<size_t>(cap, cfg_.max_datagram_size);
  if (peer_tp_applied_) limit = std::min<size_t>(limit, peer_tp_.max_udp_payload_size);
  if (state_ != ConnState::kClosing) {
    if (const size_t n = build_probe_response(buf, limit, path, tuple, now)) {
      ++stats_.packets_sent;
      stats_.bytes_sent += n;
      return n;
    }
  }
  if (role_ == Role::kServer && !path.validated) {
    // RFC 9000 8.1, 9.3: at most three times what the peer sent until its address is proven.
    if (amplification_blocked(path)) {
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
  } else {
    n = build_datagram(buf, limit, path, now);
  }
  if (n) {
    ++stats_.packets_sent;
    stats_.bytes_sent += n;
    path.bytes_sent += n;
  }
  return n;
}

// The packet header of space s through the Packet Number. Long headers get a 2-byte Length
// field, filled in by seal() once the payload is known.
size_t Connection::write_header(PnSpace s, uint8_t* buf, size_t cap, const Path& path, uint64_t pn,
                                size_t pnl) const {
  if (s == PnSpace::kApplicationData) {
    return write_short_header(buf, cap, path.peer_cid.view(), pn, pnl, false, (tx_gen_ & 1) != 0);
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
                        uint64_t pn) {
  const size_t total = hdr + payload_len + kAeadTagLen;
  if (s != PnSpace::kApplicationData) {
    const size_t length = pnl + payload_len + kAeadTagLen;
    buf[hdr - pnl - 2] = static_cast<uint8_t>(0x40 | (length >> 8));
    buf[hdr - pnl - 1] = static_cast<uint8_t>(length & 0xff);
  }
  const DirectionCrypto& tx = space(s).tx;
  if (protect_packet(*shared_.imb, tx.aead, tx.hp, {buf, total}, hdr - pnl, pn) != CryptoStatus::ok) {
    return 0;
  }
  return total;
}

size_t Connection::build_datagram(uint8_t* buf, size_t limit, Path& path, TimeNs now) {
  const uint32_t mds = cfg_.max_datagram_size;
  const bool cwnd_ok = path.recovery.can_send(mds);
  PnSpace order[3] = {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData};
  bool want[3];
  int last = -1;
  for (int i = 0; i < 3; ++i) {
    want[i] = space_wants_send(order[i], path, now, cwnd_ok);
    if (want[i]) last = i;
  }
  if (last < 0) return 0;
  // Application data also waits for the pacer (acks, probes, control frames and handshake data
  // do not: next_timeout() asks to send those at once, so holding them here would spin).
  if (want[2] && last == 2 && !want[0] && !want[1] && app_data_pending() && cwnd_ok &&
      !ack_for(PnSpace::kApplicationData, path).should_send_ack(now) &&
      probes_pending_[2] == 0 && !control_pending(path) && !streams_->has_pending_control() &&
      !space(PnSpace::kApplicationData).crypto_tx.has_pending()) {
    const TimeNs t = path.recovery.next_send_time(now, mds);
    if (t > now) {
      pacing_wake_ = t;
      return 0;
    }
  }
  pacing_wake_ = kNever;
  size_t off = 0;
  bool has_initial = false;
  for (int i = 0; i <= last; ++i) {
    if (!want[i]) continue;
    if (order[i] == PnSpace::kInitial) has_initial = true;
    // RFC 9000 14.1: a datagram with an Initial packet is padded to 1200 bytes, in its last packet;
    // 8.2.1-2: so is one with PATH_CHALLENGE or PATH_RESPONSE.
    const bool path_probe = order[i] == PnSpace::kApplicationData &&
                            (path.challenge_pending || path_response_due(path.tuple));
    const size_t pad_to = ((has_initial || path_probe) && i == last)
                              ? std::min<size_t>(limit, kMinInitialDatagram) : 0;
    bool eliciting = false;
    const size_t n = build_packet(order[i], buf + off, limit - off, path, now,
                                  pad_to > off ? pad_to - off : 0, cwnd_ok, eliciting);
    off += n;
    if (n && order[i] == PnSpace::kHandshake && role_ == Role::kClient) {
      // The client drops its Initial keys once it sends a Handshake packet (RFC 9001 4.9.1).
      discard_space(PnSpace::kInitial, now);
    }
    if (n && eliciting && idle_restart_on_send_) {
      idle_deadline_ = now + effective_idle_timeout();
      idle_restart_on_send_ = false;
    }
  }
  if (off == 0) return 0;
  if (role_ == Role::kClient && has_initial && off < kMinInitialDatagram) {
    // The Initial was not the last packet built after all (a later one came out empty): pad the
    // datagram with zero bytes, which the server ignores as padding after the packets (14.1).
    const size_t target = std::min<size_t>(limit, kMinInitialDatagram);
    std::memset(buf + off, 0, target - off);
    off = target;
  }
  return off;
}

size_t Connection::build_packet(PnSpace s, uint8_t* buf, size_t cap, Path& path, TimeNs now,
                                size_t pad_to, bool cwnd_ok, bool& eliciting) {
  Space& sp = space(s);
  const int si = static_cast<int>(s);
  const bool app = s == PnSpace::kApplicationData;
  AckTracker& ack = ack_for(s, path);
  SentLog& log = log_for(s, path);
  uint64_t& next_pn = app ? path.next_pn : sp.next_pn;
  if (cap < kMinPacketRoom + kAeadTagLen) return 0;
  const bool probe = probes_pending_[si] > 0 && !probe_tx_;
  if (!path.recovery.ring(s).has_room() || !log.begin(kMaxFramesPerPacket)) {
    // Nothing more can be tracked: only an ACK may go. Path validation frames wait for the next
    // challenge (our PTO timer, or the peer's) rather than ask again and again to be sent.
    if (app && !cwnd_ok && path_frames_pending(path) && !probe_tx_) {
      path.challenge_pending = false;
      for (size_t i = n_responses_; i-- > 0;) {
        if (same_four_tuple(responses_[i].tuple, path.tuple)) drop_path_response(i);
      }
    }
    if (!ack.ack_pending() || probe_tx_) return 0;
    cwnd_ok = false;
  }
  const uint64_t pn = next_pn;
  const size_t pnl = pn_length(pn, sp.has_largest_acked, sp.largest_acked);
  const size_t hdr = write_header(s, buf, cap, path, pn, pnl);
  if (hdr == 0 || hdr + kAeadTagLen + 8 > cap) {
    log.discard_open();
    return 0;
  }
  uint8_t* const payload = buf + hdr;
  uint8_t* p = payload;
  uint8_t* const end = buf + cap - kAeadTagLen;
  bool wrote_ack = false;
  // 1. ACK, whenever one is pending: it rides along for free.
  if (ack.ack_pending()) {
    const size_t n = ack.write_ack(p, end - p, now, cfg_.local_tp.ack_delay_exponent);
    if (n) {
      p += n;
      wrote_ack = true;
    }
  }
  const bool full = cwnd_ok || probe || ping_pending_[si];
  const bool path_only = app && (probe_tx_ || (!full && path_frames_pending(path)));
  if (full || path_only) {
    // 2. CRYPTO.
    while (!path_only && sp.crypto_tx.has_pending() && end - p > 16 && log.open_count() < kMaxFramesPerPacket) {
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
    }
    if (app) fill_app_frames(path, p, end, log, eliciting, now, path_only);
    if ((ping_pending_[si] || probe) && !eliciting && end - p >= 1) {
      *p++ = static_cast<uint8_t>(frame_type::PING);
      log.add({SentFrameKind::kPing});
      eliciting = true;
    }
  }
  if (p == payload) {
    log.discard_open();
    return 0;
  }
  ping_pending_[si] = false;
  if (probe) --probes_pending_[si];
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
  const size_t total = seal(s, buf, hdr, pnl, payload_len, pn);
  if (total == 0) {
    log.discard_open();
    return 0;
  }
  ++next_pn;
  if (wrote_ack) ack.on_ack_sent(now, pn);
  const bool in_flight = eliciting || padded;
  // Every packet goes to recovery, ACK-only ones too: it must know the largest packet number
  // sent, or an ACK of one would look like an ACK of a packet never sent.
  SentPacket rec;
  rec.packet_number = pn;
  rec.time_sent = now;
  rec.sent_bytes = static_cast<uint32_t>(total);
  rec.ack_eliciting = eliciting;
  rec.in_flight = in_flight;
  if (in_flight) {
    rec.tag = log.commit();
  } else {
    log.discard_open();
    rec.tag = UINT64_MAX;  // carries nothing with an outcome
  }
  if (path.recovery.on_packet_sent(s, rec) != RecoveryError::kOk && in_flight) {
    log.settle(rec.tag, [&](const SentFrame& f) { on_frame_lost(s, f); });
  }
  if (app) {
    ++app_keys_.phase_packets;
    if (cfg_.key_update_interval && app_keys_.phase_packets >= cfg_.key_update_interval) {
      initiate_key_update();
    }
    if (!app_data_pending()) path.recovery.on_app_limited();
  }
  return total;
}

// PacketFiller over the packet being built.
class Connection::Filler final : public PacketFiller {
 public:
  Filler(Connection& c, uint8_t*& p, uint8_t* end, SentLog& log, bool& eliciting)
      : c_(c), p_(p), end_(end), log_(log), eliciting_(eliciting) {}
  size_t room() const override { return static_cast<size_t>(end_ - p_); }
  bool has_datagram() const override { return !c_.tx_datagrams_.empty(); }
  bool has_stream_data() const override { return c_.streams_->has_pending_stream_data(); }
  bool add_datagram() override {
    if (c_.tx_datagrams_.empty() || log_.open_count() >= kMaxFramesPerPacket) return false;
    const DatagramRing::Entry& d = c_.tx_datagrams_.front();
    if (datagram_data_fits(true, room()) < d.data.size()) return false;
    const size_t n = write_frame(p_, room(), DatagramFrame{true, ByteView(d.data.data(), d.data.size())});
    if (n == 0) return false;
    p_ += n;
    log_.add({SentFrameKind::kDatagram, false, false, static_cast<uint32_t>(d.data.size()), d.id, 0, 0});
    ++c_.stats_.datagrams_sent;
    c_.tx_datagrams_.pop();
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
                            : c_.streams_->next_stream_frame(max_len, f);
    if (!got) return false;
    f.has_length = true;
    f.has_offset = f.offset != 0;
    const size_t n = write_frame(p_, room(), f);
    if (n == 0) {
      c_.streams_->on_stream_frame_lost(f.stream_id, f.offset, f.data.size, f.fin);
      return false;
    }
    p_ += n;
    log_.add({SentFrameKind::kStream, f.fin, false, static_cast<uint32_t>(f.data.size),
              f.stream_id, f.offset, 0});
    c_.stats_.stream_bytes_sent += f.data.size;
    eliciting_ = true;
    return true;
  }

 private:
  Connection& c_;
  uint8_t*& p_;
  uint8_t* end_;
  SentLog& log_;
  bool& eliciting_;
};

// The application-level frames of one packet: control first, then what the scheduler picks.
void Connection::fill_app_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
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
    if (!same_four_tuple(responses_[i].tuple, dest)) {
      ++i;
    } else if (put(PathResponseFrame{responses_[i].data}, {}, false)) {
      drop_path_response(i);
    } else {
      break;
    }
  }
  if (probe_tx_) return;  // a probe response datagram carries nothing else
  if (path.challenge_pending && put(PathChallengeFrame{path.challenges.back()}, {}, false)) {
    path.challenge_pending = false;
    ++path.challenges_sent;
    path.challenge_resend_at = now + pto(path);
  }
  if (path_only) return;
  if (handshake_done_pending_ && put(HandshakeDoneFrame{}, {SentFrameKind::kHandshakeDone}, true)) {
    handshake_done_pending_ = false;
  }
  if (new_token_pending_ && shared_.tokens) {
    uint8_t tok[kMaxTokenLen];
    const size_t n = shared_.tokens->make_new_token(tok, sizeof tok, path.tuple.remote, now);
    if (n == 0 || put(NewTokenFrame{ByteView(tok, n)}, {SentFrameKind::kNewToken}, true)) {
      new_token_pending_ = false;
    }
  }
  while (!pending_new_cids_.empty() && log.open_count() < kMaxFramesPerPacket) {
    const uint64_t seq = pending_new_cids_.front();
    std::optional<NewConnectionIdFrame> f = cids_->new_connection_id_frame(0, seq, false);
    if (f) {
      if (!put(*f, {SentFrameKind::kNewConnectionId, false, false, 0, 0, seq, 0}, true)) break;
    }
    pending_new_cids_.pop_front();
  }
  while (log.open_count() < kMaxFramesPerPacket) {
    std::optional<RetireConnectionIdFrame> f = cids_->next_retire_to_send(false);
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
  // Application data: the scheduler decides.
  Filler filler(*this, p, end, log, eliciting);
  scheduler_.fill(filler, cfg_.mix_objects);
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
    const size_t total = seal(s, b, hdr, pnl, n, pn);
    if (total == 0) break;
    ++next_pn;
    off += total;
  }
  return off;
}

// ---- Timers --------------------------------------------------------------------------------------

TimeNs Connection::next_timeout(TimeNs now) const {
  if (state_ == ConnState::kClosed) return kNever;
  const Path& path = *paths_[0];
  if (state_ == ConnState::kClosing || state_ == ConnState::kDraining) {
    // A close the 3x limit holds back waits for the peer's next datagram, not for a spin.
    return close_send_pending_ && !amplification_blocked(path) ? now : close_deadline_;
  }
  TimeNs t = std::min(idle_deadline_, path.recovery.loss_detection_timer());
  // At the anti-amplification limit nothing can go out until the client sends more: waking for
  // ACKs, probes or data would spin (RFC 9002 6.2.2.1 stops the PTO timer too).
  t = std::min({t, path.validation_deadline, path.challenge_resend_at});
  if (amplification_blocked(path)) return t;
  for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData}) {
    const Space& sp = space(s);
    if (sp.discarded || !sp.tx.ready) continue;
    const AckTracker& a = ack_for(s, path);
    if (a.ack_pending()) t = std::min(t, a.ack_deadline());
  }
  if (app_keys_.have_prev) t = std::min(t, app_keys_.prev_discard_at);
  const bool cwnd_ok = path.recovery.can_send(cfg_.max_datagram_size);
  for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake, PnSpace::kApplicationData}) {
    const int si = static_cast<int>(s);
    const Space& sp = space(s);
    if ((probes_pending_[si] || ping_pending_[si]) && !sp.discarded && sp.tx.ready) return now;
  }
  if (app_tx_ready() && (role_ == Role::kServer || tls_->handshake_complete()) &&
      (path_frames_pending(path) || n_responses_ > 0)) {
    return now;  // path validation goes out past the window (and responses to other 4-tuples)
  }
  if (cwnd_ok) {
    for (PnSpace s : {PnSpace::kInitial, PnSpace::kHandshake}) {
      const Space& sp = space(s);
      if (!sp.discarded && sp.tx.ready && sp.crypto_tx.has_pending()) return now;
    }
    if (app_tx_ready() && (role_ == Role::kServer || tls_->handshake_complete())) {
      if (space(PnSpace::kApplicationData).crypto_tx.has_pending() || control_pending(path) ||
          streams_->has_pending_control()) {
        return now;
      }
      if (app_data_pending()) return pacing_wake_ != kNever && pacing_wake_ > now ? std::min(t, pacing_wake_) : now;
    }
  }
  return t;
}

void Connection::on_timeout(TimeNs now) {
  last_now_ = std::max(last_now_, now);
  if (state_ == ConnState::kClosed) return;
  if (state_ == ConnState::kClosing || state_ == ConnState::kDraining) {
    if (now >= close_deadline_) finish(now);
    return;
  }
  if (now >= idle_deadline_) {
    close_info_.closed = true;
    close_info_.idle_timeout = true;
    close_info_.reason = "idle timeout";
    if (qlog_) qlog_->connection_closed(now, QlogOwner::kLocal, "idle_timeout");
    finish(now);  // RFC 9000 10.1: silently
    return;
  }
  Path& path = *paths_[0];
  if (path.recovery.loss_detection_timer() <= now) {
    RecoveryEvents ev(*this, path, now);
    const TimeoutOutcome out = path.recovery.on_loss_detection_timeout(now, ev);
    if (out.action == TimeoutAction::kSendProbe) {
      ++stats_.pto_count;
      const int si = static_cast<int>(out.space);
      probes_pending_[si] = std::max<uint32_t>(probes_pending_[si], out.probe_packets);
      Space& sp = space(out.space);
      if (out.space != PnSpace::kApplicationData) {
        // A probe carries data where it can: the unacknowledged CRYPTO data (RFC 9002 6.2.4).
        sp.crypto_tx.on_lost(sp.crypto_tx.acked_offset(),
                             sp.crypto_tx.sent_offset() - sp.crypto_tx.acked_offset(), false);
      }
      if (role_ == Role::kClient && out.space == PnSpace::kInitial && !tls_->handshake_complete() &&
          space(PnSpace::kHandshake).tx.ready && !space(PnSpace::kHandshake).discarded) {
        probes_pending_[static_cast<int>(PnSpace::kHandshake)] = out.probe_packets;
      }
    }
  }
  if (app_keys_.have_prev && now >= app_keys_.prev_discard_at) {
    app_keys_.have_prev = false;  // RFC 9001 6.5: old keys go after 3 PTO
    app_keys_.prev_discard_at = kNever;
  }
  if (now >= path.validation_deadline) {
    on_path_validation_timeout(path, now);
  } else if (now >= path.challenge_resend_at) {
    start_path_validation(path, now);  // 8.2.1: a new challenge each PTO until the deadline
  }
}

// ---- Application ---------------------------------------------------------------------------------

bool Connection::send_datagram(std::span<const uint8_t> data, uint64_t* id_out) {
  if (!peer_tp_applied_ || !peer_tp_.max_datagram_frame_size) return false;
  // The frame (type + length + data) must respect the peer's limit and fit one packet.
  const uint64_t frame = 1 + varint::size(data.size()) + data.size();
  if (frame > *peer_tp_.max_datagram_frame_size) return false;
  if (frame + 1 + kMaxCidLength + 4 + kAeadTagLen > cfg_.max_datagram_size) return false;
  const uint64_t id = next_datagram_id_;
  if (!tx_datagrams_.push(data, id)) return false;
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
  enter_closing(true, app_error, 0, reason, last_now_);
}

void Connection::close_transport(TransportError e, uint64_t frame_type, std::string_view reason,
                                 TimeNs now) {
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
  close_deadline_ = now + 3 * pto(*paths_[0]);
  app_wakeup_ = true;
}

void Connection::enter_draining(TimeNs now) {
  state_ = ConnState::kDraining;
  close_send_pending_ = false;
  close_deadline_ = now + 3 * pto(*paths_[0]);
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
