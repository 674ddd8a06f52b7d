// One QUIC v1 connection (RFC 9000, 9001, 9002, 9221), client or server, I/O free: it takes
// received datagrams and the time, and writes the datagrams it wants to send into buffers it is
// lent. It joins the parts built beside it: the TLS handshake (quic/tls), packet protection
// (quic/crypto), frames and headers (quic/wire), streams and flow control (quic/stream), ACK
// generation (quic/ack), loss recovery and congestion control (quic/recovery), connection IDs
// (quic/cid) and address validation tokens (quic/token).
//
// Everything per path (packet number space of application data, recovery, RTT, congestion
// control, pacer, ACK state, 4-tuple, validation) lives in Path, so multipath adds paths.
// Memory is fixed when the connection is created, except stream buffers, which the stream layer
// allocates per stream within the limits this side advertised.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/endpoint.h"
#include "dataplane/quic/ack/ack_tracker.h"
#include "dataplane/quic/cid/cid_codec.h"
#include "dataplane/quic/cid/cid_manager.h"
#include "dataplane/quic/cid/random_source.h"
#include "dataplane/quic/cid/stateless_reset.h"
#include "dataplane/quic/conn/conn_stats.h"
#include "dataplane/quic/conn/datagram_ring.h"
#include "dataplane/quic/conn/scheduler.h"
#include "dataplane/quic/conn/sent_log.h"
#include "dataplane/quic/crypto/header_protection.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "dataplane/quic/crypto/retry.h"
#include "dataplane/quic/recovery/path_recovery.h"
#include "dataplane/quic/stream/recv_stream.h"
#include "dataplane/quic/stream/send_stream.h"
#include "dataplane/quic/stream/stream_manager.h"
#include "dataplane/quic/tls/tls_session.h"
#include "dataplane/quic/token/token_codec.h"
#include "dataplane/quic/wire/packet_header.h"

namespace camp::quic {

class QlogWriter;

// What every connection of an endpoint shares: the worker's crypto manager, TLS configuration,
// connection ID layout, randomness, reset and token keys. Owned by the endpoint.
struct ConnectionShared {
  ImbManager* imb = nullptr;
  const TlsContext* tls = nullptr;
  const CidCodec* cid_codec = nullptr;  // server: QUIC-LB CIDs; client: may be null (random CIDs)
  uint16_t worker = 0;
  RandomSource* random = nullptr;
  const StatelessResetKey* reset_key = nullptr;
  TokenCodec* tokens = nullptr;  // server only
  const RetryIntegrity* retry = nullptr;
};

// What happens to a path that stopped delivering (draft-ietf-quic-multipath-21 3.3, 3.4).
enum class FailoverAction : uint8_t { kAbandon, kBackup };

struct ConnectionConfig {
  // Limits we advertise. original/initial/retry CIDs and the reset token are filled in here.
  TransportParameters local_tp;
  DurationNs handshake_timeout = 10 * kSecond;
  CcAlgorithm cc = CcAlgorithm::kCubic;
  size_t app_ring_packets = 2048;   // application packets tracked in flight per path
  size_t sent_frames_per_packet = 4;  // frame log entries reserved per tracked packet (average)
  uint16_t max_datagram_size = 1200;  // largest UDP payload we send (>= 1200)
  StreamManagerConfig streams;
  size_t max_received_datagrams = 64;  // DATAGRAM frames queued for the application
  size_t max_queued_datagrams = 64;    // DATAGRAM frames the application may queue to send
  bool mix_objects = false;  // let one packet carry data of several streams / datagrams
  // Key update every this many packets sent in one key phase (0: only on request). Testing aid
  // and a guard far below the AEAD confidentiality limit (RFC 9001 6.6).
  uint64_t key_update_interval = 0;
  // AEAD usage limits (RFC 9001 6.6, Appendix B), counted over every path of the connection
  // (draft-ietf-quic-multipath-21 7). 0: the negotiated suite's (AES-GCM: 2^23 packets sealed
  // with one key, 2^52 forgeries; ChaCha20-Poly1305: no practical sealing limit, 2^36
  // forgeries). A key update starts at 3/4 of the confidentiality limit; reaching the limit, or
  // exceeding the integrity limit, closes with AEAD_LIMIT_REACHED. Lower values are for tests.
  uint64_t aead_confidentiality_limit = 0;
  uint64_t aead_integrity_limit = 0;
  uint64_t seed = 1;  // BBR probing randomisation
  std::string server_name;  // client: SNI
  std::vector<uint8_t> resumption_data;  // client: a stored session to resume
  std::vector<uint8_t> token;  // client: a NEW_TOKEN token to send in Initial packets
  // Multipath (draft-ietf-quic-multipath-21): on when local_tp.initial_max_path_id is set and the
  // peer sends it too.
  SchedulerKind scheduler = SchedulerKind::kMinRtt;
  // A path with data in flight and no acknowledgement for max(3 x its smoothed RTT, this) is
  // failing: its data goes again on the other paths (5.6, 5.7).
  DurationNs failover_floor = 100 * kMillisecond;
  FailoverAction failover_action = FailoverAction::kAbandon;  // after a further 3 PTO of silence
  // Testing aid: every use of the scheduler's cached path views, pacer answers, timers and
  // pending-control flag is checked against a fresh computation (send_cache_mismatches()). Costs
  // a recomputation. The environment variable CAMP_CHECK_SEND_CACHE=1 turns it on for every
  // connection, and makes a mismatch abort (to run whole suites with the check).
  bool check_send_cache = false;
  // A packet that can carry nothing but application data (Connection::data_only_ready) is built
  // without the general path's questions. false: every packet takes the general path (for
  // measurements and tests; the packets are the same).
  bool data_fast_path = true;
  // STREAM data is sealed straight from the stream's send ring into the packet, with no copy into
  // the packet first (Connection::seal). false: copied, then sealed in place (the same bytes).
  bool seal_from_send_buffer = true;
};

enum class ConnState : uint8_t {
  kHandshake,  // keys being agreed
  kConfirmed,  // handshake confirmed (RFC 9001 4.1.2)
  kClosing,    // we sent CONNECTION_CLOSE; answering with it, 3 PTO (RFC 9000 10.2.1)
  kDraining,   // the peer closed; silent, 3 PTO (10.2.2)
  kClosed,     // gone: the endpoint frees it
};
const char* to_string(ConnState s);

// How a connection ended, for the application, qlog and campctl.
struct CloseInfo {
  bool closed = false;
  bool by_peer = false;
  bool application = false;
  bool idle_timeout = false;
  bool stateless_reset = false;
  uint64_t error_code = 0;
  std::string reason;
};

// Per-datagram outcome for the application (RFC 9221 5.2: DATAGRAM frames are acknowledged, never
// retransmitted); the token-redundancy sender resends what was lost.
class ConnectionObserver {
 public:
  virtual void on_datagram_acked(uint64_t datagram_id) {}
  virtual void on_datagram_lost(uint64_t datagram_id) {}
  virtual void on_stream_data_acked(uint64_t stream_id, uint64_t offset, uint64_t length) {}
  virtual void on_stream_data_lost(uint64_t stream_id, uint64_t offset, uint64_t length) {}
  // A NEW_TOKEN from the server: store it for the next connection to this server (client).
  virtual void on_new_token(std::span<const uint8_t> token) {}

 protected:
  ~ConnectionObserver() = default;
};

// Key material for one direction at one encryption level (or one key phase).
struct DirectionCrypto {
  PacketAead aead;
  HeaderProtection hp;
  bool ready = false;
};

class Connection {
 public:
  // Called when we issue or retire a connection ID, so the endpoint can route it.
  class CidRegistry {
   public:
    virtual bool add_cid(Connection& c, ByteView cid) = 0;
    virtual void remove_cid(Connection& c, ByteView cid) = 0;
    // The application acted on c through its API (streams, DATAGRAM, paths, close...): its
    // next deadline may have moved, perhaps outside any endpoint call, so the endpoint serves
    // it at its next call rather than at the deadline it knew.
    virtual void on_app_action(Connection& c) {}

   protected:
    ~CidRegistry() = default;
  };

  Connection(uint64_t id, const ConnectionShared& shared, CidRegistry& registry);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Client: starts the handshake to `tuple.remote`. The first Initial goes out on send().
  bool connect(const ConnectionConfig& cfg, const Tuple& tuple, TimeNs now);

  // Server: accepts a client's first Initial (its header already parsed from the datagram).
  // `validated` holds the ODCID and Retry SCID when the Initial carried a valid Retry token;
  // `address_validated` when it carried one (Retry or NEW_TOKEN) that proves the address.
  struct AcceptInfo {
    ConnectionId client_dcid;  // DCID of this Initial: keys, and routing until the handshake ends
    ConnectionId client_scid;
    std::optional<ConnectionId> odcid_from_retry;
    std::optional<ConnectionId> retry_scid;
    bool address_validated = false;
  };
  bool accept(const ConnectionConfig& cfg, const AcceptInfo& info, const Tuple& tuple,
              TimeNs now);

  // One received UDP datagram (maybe several coalesced packets). Decrypts in place.
  void on_datagram(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now);

  // Writes the next datagram to send into buf[0..cap) and its addresses into *tuple. 0 when
  // nothing may be sent now (see next_timeout()).
  size_t send(uint8_t* buf, size_t cap, Tuple* tuple, TimeNs now);

  // The earliest time this connection needs on_timeout() or can send again; kNever if none.
  TimeNs next_timeout(TimeNs now) const;
  void on_timeout(TimeNs now);

  // ---- Application -----------------------------------------------------------------------------
  StreamManager& streams() {
    note_app_action();
    return *streams_;
  }
  const StreamManager& streams() const { return *streams_; }
  void set_observer(ConnectionObserver* o) { observer_ = o; }
  // Queues a DATAGRAM frame (RFC 9221). False when DATAGRAM was not negotiated, the data exceeds
  // the peer's max_datagram_frame_size or what fits a packet, or the queue is full.
  bool send_datagram(std::span<const uint8_t> data, uint64_t* id_out);
  // The same with what the application says about it (stream/send_meta.h): a deadline and
  // synchronisation index the scheduler sees, and a path to pin it to (multipath). A pin to a
  // path that is not open means any path.
  bool send_datagram(std::span<const uint8_t> data, uint64_t* id_out, const SendMeta& meta);
  // A stream's SendMeta. Its data pinned to a path goes on that path only while it is open;
  // when the path is abandoned, on any. False for a stream this side does not send on.
  bool set_stream_meta(uint64_t stream_id, const SendMeta& meta);
  // What schedulers see of the data waiting (PacketFiller::queued_data): DATAGRAMs, then up to
  // 16 streams in round-robin order, each with its SendMeta; returns how many were written.
  size_t queued_data(std::span<QueuedData> out) const;
  // Takes the oldest received DATAGRAM payload; false when none. Copies at most out.size().
  bool receive_datagram(std::vector<uint8_t>& out);
  size_t datagrams_received_pending() const { return rx_datagrams_.size(); }
  size_t datagrams_queued() const { return tx_datagrams_.size(); }
  // Closes with an application error (CONNECTION_CLOSE 0x1d), or a transport one.
  void close(uint64_t app_error, std::string_view reason);
  void close_transport(TransportError e, uint64_t frame_type, std::string_view reason,
                       TimeNs now);
  // Starts a key update (RFC 9001 6): false when one may not start yet.
  bool initiate_key_update();
  // RFC 9001 6.6 for the negotiated suite, or the configured overrides.
  uint64_t confidentiality_limit() const;
  uint64_t integrity_limit() const;
  // A datagram whose DCID routes to no connection: true (and the connection is closed) when it
  // ends with this connection's peer's stateless reset token (RFC 9000 10.3.1).
  bool on_unroutable_datagram(const uint8_t* data, size_t len, TimeNs now);
  // The peer's stateless reset tokens that on_unroutable_datagram() accepts, and a generation
  // that changes whenever they may have: the endpoint indexes them so that a datagram no CID
  // routes is checked by the one connection whose token it ends with, not by all of them.
  size_t peer_reset_tokens(std::span<StatelessResetToken> out) const {
    return cids_ ? cids_->peer_reset_tokens(out) : 0;
  }
  uint64_t peer_reset_tokens_gen() const { return cids_ ? cids_->peer_reset_tokens_gen() : 0; }
  // Drops the connection at once, silently (a server's first Initial that did not decrypt).
  void abandon(TimeNs now);

  // ---- State -----------------------------------------------------------------------------------
  uint64_t id() const { return id_; }
  Role role() const { return role_; }
  ConnState state() const { return state_; }
  bool handshake_complete() const { return tls_ && tls_->handshake_complete(); }
  bool established() const { return state_ == ConnState::kConfirmed; }
  bool closed() const { return state_ == ConnState::kClosed; }
  const CloseInfo& close_info() const { return close_info_; }
  const TlsSession* tls() const { return tls_.get(); }
  const Tuple& tuple() const { return paths_[0]->tuple; }
  const ConnectionId& original_dcid() const { return odcid_; }
  const ConnStats& stats() const { return stats_; }
  // Our handshake Source Connection ID, and the one we send to now on the first path.
  const ConnectionId& local_cid() const { return local_scid_; }
  const ConnectionId& peer_cid() const { return paths_[0]->peer_cid; }
  // When connect() / accept() started it; kNever until then.
  TimeNs created_at() const { return created_at_; }
  uint64_t key_generation() const { return tx_gen_; }
  bool retried() const { return retried_; }
  const PathRecovery& recovery(size_t path = 0) const { return paths_[path]->recovery; }
  size_t path_count() const { return paths_.size(); }
  bool peer_address_validated() const { return paths_[0]->validated; }
  // Whether the path's validation (RFC 9000 8.2) is under way.
  bool path_validation_pending() const { return paths_[0]->validation_deadline != kNever; }

  // Client: moves the connection to a new local address (RFC 9000 9.2), e.g. from Wi-Fi to
  // cellular: a fresh peer connection ID (9.5), a PATH_CHALLENGE on the new path, data keeps
  // flowing. False (nothing changed) before the handshake is confirmed, when the server sent
  // disable_active_migration, or when the server gave us no unused connection ID.
  bool migrate(const Tuple& tuple, TimeNs now);

  // ---- Multipath (draft-ietf-quic-multipath-21) ------------------------------------------------
  bool multipath() const { return multipath_; }
  enum class OpenPathResult : uint8_t {
    kOk,
    kNotNegotiated,      // one side did not send initial_max_path_id
    kNotConfirmed,       // before the handshake is confirmed, or not a client
    kMigrationDisabled,  // disable_active_migration: not to the server's handshake address (2.2)
    kNoPathId,           // every path ID the limits allow is in use: PATHS_BLOCKED sent
    kNoCid,              // the server gave no CID for the next path ID: PATH_CIDS_BLOCKED sent
    kSameTuple,          // a path already uses this 4-tuple
  };
  // Client: opens a new path from `tuple.local` (3.1): a new path ID, validated with
  // PATH_CHALLENGE before it carries data. *id gets the path ID.
  OpenPathResult open_path(const Tuple& tuple, TimeNs now, uint32_t* id = nullptr);
  // Sends PATH_STATUS_AVAILABLE / PATH_STATUS_BACKUP for our side of a path (3.3).
  bool set_path_status(uint32_t path_id, bool available);
  // Closes one path with PATH_ABANDON (3.4); false for an unknown path or the last one open.
  bool abandon_path(uint32_t path_id, uint64_t error_code, TimeNs now);
  void set_scheduler(SchedulerKind k);
  SchedulerKind scheduler() const { return scheduler_->kind(); }
  // What becomes of a failing path from now on (campctl set failover_action).
  void set_failover_action(FailoverAction a) { cfg_.failover_action = a; }
  FailoverAction failover_action() const { return cfg_.failover_action; }
  // One entry per path still held (open, validating, or abandoned and kept for 3 PTO).
  struct PathInfo {
    uint32_t path_id = 0;
    Tuple tuple;
    bool validated = false;
    bool abandoned = false;
    bool local_backup = false;
    bool peer_backup = false;
    bool failing = false;  // no acknowledgement within the failover bound
    const PathRecovery* recovery = nullptr;
    uint64_t packets_sent = 0, bytes_sent = 0, packets_received = 0, bytes_received = 0;
    uint64_t stream_bytes_sent = 0, packets_lost = 0;
    TimeNs last_ack_time = kNever;
    // Packets of the path's space at or below this are no longer acknowledged: an ACK of them
    // was itself acknowledged (RFC 9000 13.2.4).
    uint64_t ack_floor = 0;
  };
  // Fills up to out.size() entries, in path ID order; returns how many paths there are.
  size_t paths(std::span<PathInfo> out) const;
  const PathRecovery* recovery_of(uint32_t path_id) const;
  // Whether the application should be told to make progress (something arrived or was freed).
  bool app_wakeup_pending() const { return app_wakeup_; }
  bool take_app_wakeup() {
    bool w = app_wakeup_;
    app_wakeup_ = false;
    return w;
  }
  void set_qlog(std::unique_ptr<QlogWriter> q);  // before connect() / accept()
  QlogWriter* qlog() { return qlog_.get(); }
  // With ConnectionConfig::check_send_cache: how many cached scheduler inputs were checked against
  // a fresh computation, and how many differed (a missed invalidation; always 0 when correct).
  uint64_t send_cache_checks() const { return cache_checks_; }
  uint64_t send_cache_mismatches() const { return cache_mismatches_; }
  // Packets sent on the scheduler's previous pick without asking it again (a burst): with
  // several paths, always counted.
  uint64_t send_picks_reused() const { return picks_reused_; }
  // Client: the session to store for resumption (empty until a ticket arrived).
  std::vector<uint8_t> session_data() const { return tls_ ? tls_->session_data() : std::vector<uint8_t>{}; }

 private:
  // A packet number space's non-path state: CRYPTO streams, keys, and (Initial, Handshake) the
  // ACK state and sent-packet log; application data keeps those per path.
  struct Space {
    Space(size_t ring, size_t frames, bool immediate_ack, size_t crypto_buffer);
    SendStream crypto_tx;
    RecvStream crypto_rx;
    AckTracker ack;
    SentLog log;
    uint64_t next_pn = 0;
    uint64_t largest_acked = 0;
    bool has_largest_acked = false;
    DirectionCrypto rx;
    DirectionCrypto tx;
    bool discarded = false;
  };

  // What pick_send_path() and next_timeout() read of a path, kept between packets (with several
  // paths they ran every path's view for every packet). Rebuilt only after touch_path(), which
  // everything that changes the path's state calls (a send on it, touch_sent(); a received
  // datagram the paths it changed, RxTouch; timers and API calls all paths). Time-dependent parts
  // (ACK age, pacer) stay fresh.
  struct SchedCache {
    bool stale = true;
    bool rx_touched = false;  // touched by the datagram being received (RxTouch)
    bool sent_only = false;   // stale only through touch_sent()
    bool sendable = false;    // path_sendable()
    bool unblocked = false;   // path_sendable() and not amplification_blocked(): may send now
    bool carrier_ok = false;  // path_data_ok() and not failing: carrier_path() prefers it
    bool acks_owed = false;   // !path_sendable() with an ACK pending: the carrier takes it
    bool candidate = false;   // path_data_ok() and not amplification_blocked(): offered for data
    bool window_ok = false;   // recovery.can_send(max_datagram_size): window and ring room
    TimeNs urgent_at = kNever;  // path_urgent() from then on (0: now)
    TimeNs acks_owed_at = kNever;  // with acks_owed: when they are due
    // next_timeout()'s part of the path: its timers, and whether it has work to send at once.
    TimeNs timer_at = kNever;
    bool wake_now = false;
    PathView view;            // but last_ack_age and can_send, filled in per use
    TimeNs pace_now = kNever;  // the pacer's answer pace_t for this `now`, while not stale
    TimeNs pace_t = 0;
  };

  struct Path {
    Path(const PathRecoveryConfig& rc, size_t frames);
    uint32_t path_id = 0;
    mutable SchedCache sched;
    bool acks_carried = false;  // an ACK of this path's space went out on another path
    // Application space state kept per path ID (draft-ietf-quic-multipath-21 2.3, 2.4).
    uint64_t largest_acked = 0;
    bool has_largest_acked = false;
    bool ping_pending = false;
    uint32_t probes_pending = 0;
    TimeNs pacing_wake = kNever;
    uint64_t phase_first_tx_pn = 0;         // first packet sent here in the current key phase
    uint64_t phase_first_rx_pn = UINT64_MAX;  // lowest received here in it; MAX: none yet
    // Path status (3.3): ours and the peer's, each with its sequence number.
    bool local_backup = false;
    uint64_t local_status_seq = 0;
    bool status_pending = false;
    bool peer_backup = false;
    bool peer_status_known = false;
    uint64_t peer_status_seq = 0;
    // Close (3.4): after PATH_ABANDON went out nothing more is sent here; the state stays until
    // discard_at so late packets are still acknowledged (on other paths).
    bool abandon_sent = false;
    bool abandon_received = false;
    uint64_t abandon_error = 0;
    TimeNs discard_at = kNever;
    // Failover (5.6, 5.7).
    TimeNs last_ack_time = kNever;
    TimeNs busy_since = kNever;  // last time it went from nothing in flight to something
    bool failing = false;
    bool failover_acted = false;  // the abandon / backup policy ran for this failure
    TimeNs failing_since = kNever;
    uint64_t packets_sent = 0, packets_received = 0, total_bytes_sent = 0, total_bytes_received = 0;
    uint64_t stream_bytes_sent = 0, packets_lost = 0;
    Tuple tuple;
    PathRecovery recovery;
    AckTracker app_ack;
    SentLog app_log;
    uint64_t next_pn = 0;
    uint64_t peer_cid_seq = 0;
    ConnectionId peer_cid;  // DCID of packets we send on this path
    ConnectionId rx_dcid;   // DCID the peer last used here: a new one means it migrated (9.5)
    // Path validation (RFC 9000 8.2) and migration (9).
    bool validated = false;       // the peer is proven reachable at tuple.remote
    uint64_t bytes_received = 0;  // on this 4-tuple: the 3x limit until validated (8.1, 9.3)
    uint64_t bytes_sent = 0;
    bool challenge_pending = false;             // a PATH_CHALLENGE to send
    std::array<uint64_t, 3> challenges{};       // outstanding challenge data, newest last
    uint8_t challenges_sent = 0;
    TimeNs challenge_resend_at = kNever;
    TimeNs validation_deadline = kNever;
    bool port_only_change = false;  // NAT rebinding: congestion state kept (9.4)
    std::optional<Tuple> fallback;  // the last validated 4-tuple, if validation fails (9.3.2)
    // 9.5: the peer CID probes to another 4-tuple (PATH_RESPONSE, 9.3.3's PATH_CHALLENGE) go
    // with, so that no CID goes to two addresses; the path takes it if it moves there, else it
    // is retired 3 PTO after the last probe (the peer then gives a fresh one in its place).
    bool has_probe_cid = false;
    TimeNs probe_cid_release_at = kNever;
    ConnectionId probe_cid;
    uint64_t probe_cid_seq = 0;
    Tuple probe_tuple;
    // 9.3.3: the 4-tuple the peer seemed to leave, challenged while the new one is validated.
    Tuple previous_tuple;
    uint64_t previous_challenge = 0;  // its data; 0 once answered
  };

  // A PATH_CHALLENGE to answer on the 4-tuple it arrived on (RFC 9000 8.2.2), or (challenge) one
  // of ours to the 4-tuple the peer just left (9.3.3): both go to a 4-tuple of their own.
  struct PathResponse {
    uint32_t path_id = 0;
    Tuple tuple;
    uint64_t data = 0;
    size_t budget = 0;  // bytes we may send there: 3x the challenge's datagram (8.1, 9.3)
    bool challenge = false;
  };

  // Key phases of 1-RTT (RFC 9001 6). The current keys sit in the application Space.
  struct AppKeys {
    Secret rx_secret, tx_secret, rx_next_secret;
    PacketKeys rx_keys, tx_keys, rx_next_keys;
    DirectionCrypto rx_prev, rx_next;
    bool have_prev = false;
    TimeNs prev_discard_at = kNever;
    bool phase_tx_acked = false;     // a packet of the current phase was acknowledged
    TimeNs phase_acked_at = 0;       // when that first happened (multipath spacing, 2.5)
    uint64_t phase_packets = 0;      // sent in the current phase
  };

  class RecoveryEvents;
  class Filler;
  friend class RecoveryEvents;
  friend class Filler;

  bool init_common(const ConnectionConfig& cfg, const Tuple& tuple, TimeNs now);
  bool start_tls(TimeNs now);
  void start_qlog(TimeNs now);
  bool install_initial_keys(ByteView dcid);
  bool new_local_cid(ConnectionId& out);
  bool register_local_cid(uint64_t path_id, const ConnectionId& cid);
  void on_tls_keys(EncryptionLevel level, bool is_write, const DirectionKeys& keys);
  void prepare_next_rx_keys();
  void drive_tls(TimeNs now);
  bool apply_peer_transport_parameters(TimeNs now);
  void discard_space(PnSpace s, TimeNs now);
  void confirm_handshake(TimeNs now);
  void issue_cids();

  // Receiving.
  size_t on_packet(uint8_t* data, size_t len, const Tuple& tuple, TimeNs now, Path* path,
                   uint32_t path_id, bool first, ConnectionId& first_dcid);
  void on_retry(const PacketHeader& h, const uint8_t* data, TimeNs now);
  bool decrypt_short(uint8_t* pkt, size_t len, size_t pn_offset, int64_t largest,
                     uint64_t& phase_first_rx_pn, uint32_t path_id, OpenedPacket& out, TimeNs now);
  void roll_rx_keys(uint64_t& phase_first_rx_pn, uint64_t first_pn, TimeNs now);
  bool update_tx_keys();
  // What the frames of one received packet were (RFC 9000 9.1: probing or not).
  struct RxFrames {
    bool ack_eliciting = false;
    bool non_probing = false;
  };
  void process_frames(PnSpace space, PacketType type, const uint8_t* payload, size_t len,
                      Path& path, ByteView dcid, const Tuple& from, TimeNs now, RxFrames& out);
  void on_ack_frame(PnSpace space, const AckFrame& f, Path& path, TimeNs now);
  // Multipath frames (draft-ietf-quic-multipath-21 4); each returns the error to close with.
  TransportError on_path_abandon(const PathAbandonFrame& f, TimeNs now);
  TransportError on_path_status(const PathStatusFrame& f);
  TransportError on_max_path_id(const MaxPathIdFrame& f);
  TransportError on_path_cids_blocked(const PathCidsBlockedFrame& f);
  void on_crypto_frame(PnSpace space, const CryptoFrame& f, TimeNs now);
  void on_close_frame(const ConnectionCloseFrame& f, TimeNs now);
  bool check_stateless_reset(const uint8_t* data, size_t len) const;
  void on_stateless_reset(TimeNs now);
  // An unused CID of the peer's for path's ID becomes the path's; false when there is none.
  bool take_fresh_peer_cid(Path& path);
  // The same, retiring the path's current one (false, nothing changed, when there is none).
  bool switch_peer_cid(Path& path);
  void peer_cid_for_move(Path& path, const Tuple& to, bool must_change);
  void probe_cid_for(Path& path, const Tuple& to);
  void release_probe_cid(Path& path);
  // Migration and path validation (RFC 9000 8.2, 9).
  void on_peer_address_change(Path& path, const Tuple& tuple, ByteView dcid, TimeNs now);
  void start_path_validation(Path& path, TimeNs now);
  void on_path_response(Path& path, uint64_t data, TimeNs now);
  void on_path_validation_timeout(Path& path, TimeNs now);
  void queue_path_response(uint32_t path_id, const Tuple& tuple, uint64_t data);
  void queue_previous_path_challenge(const Path& path);
  void drop_path_response(size_t i);
  bool path_response_due(const Path& path) const;
  bool path_frames_pending(const Path& path) const;

  // Paths (draft-ietf-quic-multipath-21 3).
  Path* find_path(uint32_t path_id);
  const Path* find_path(uint32_t path_id) const;
  Path& make_path(uint32_t path_id, const Tuple& tuple, TimeNs now);
  std::optional<uint32_t> local_path_of(ByteView dcid) const;  // the path ID of one of our CIDs
  bool path_id_closed(uint64_t id) const { return cids_->path_closed(id); }
  bool path_open(const Path& p) const { return !p.abandon_sent; }
  bool path_id_open(uint32_t path_id) const {
    const Path* p = find_path(path_id);
    return p && path_open(*p);
  }
  void queue_abandon(uint32_t path_id, uint64_t error);
  // Packets may go out on it: open, with a peer CID.
  bool path_sendable(const Path& p) const { return path_open(p) && p.peer_cid.length > 0; }
  // It may carry application data: sendable and validated (3.1), or the handshake path.
  bool path_data_ok(const Path& p) const {
    return path_sendable(p) && (p.path_id == 0 || p.validated);
  }
  size_t live_paths() const;
  // Client: whether a datagram from t's remote address and port comes from a server address
  // one of our paths has (RFC 9000 9: packets from any other are discarded).
  bool known_server_address(const Tuple& t) const;
  Path* pick_send_path(TimeNs now);
  // pick_send_path() in full: views, pacer, per-path work, the scheduler.
  Path* full_pick(TimeNs now);
  // True when PickMemo still holds: `out` is then its path, or null when nothing can be sent.
  bool reuse_pick(TimeNs now, Path*& out);
  void set_pacing_wake(Path& p, TimeNs t) { p.pacing_wake = t; }
  // The path that carries what belongs to no path (control frames, ACKs of abandoned paths).
  Path* carrier_path();
  const Path* carrier_path() const;
  bool path_urgent(const Path& p, TimeNs now) const;
  bool other_path_acks_due(const Path& carrier) const;
  // Entries for the scheduler: the paths that may carry data now (cwnd, pacer set can_send).
  // From the paths' SchedCache; fresh_data_candidates() builds them from scratch.
  size_t data_candidates(PathView* out, uint8_t* index, TimeNs now) const;
  size_t fresh_data_candidates(PathView* out, uint8_t* index, TimeNs now) const;
  void fill_view(const Path& p, PathView& v) const;
  // next_timeout() from the paths' state (one path, and the check), and from their SchedCache.
  TimeNs fresh_next_timeout(TimeNs now) const;
  TimeNs cached_next_timeout(TimeNs now) const;
  void refresh_sched(const Path& p) const;
  // Something the path's SchedCache reads changed (see SchedCache).
  void touch_path(const Path& p) const {
    p.sched.sent_only = false;
    mark_stale(p);
  }
  // A packet built and sent on p, and nothing else, since its SchedCache was built: p's window,
  // pacer, timers and owed ACKs and frames moved; its flags, RTT and status did not, and what
  // makes it urgent only went (reuse_pick relies on it rather than rebuild the cache).
  void touch_sent(const Path& p) const {
    if (!p.sched.stale) p.sched.sent_only = true;
    mark_stale(p);
  }
  void mark_stale(const Path& p) const {
    p.sched.stale = true;
    p.sched.pace_now = kNever;
    // The memo rests on every other path staying as it was.
    if (&p != pick_memo_.path) pick_memo_.path = nullptr;
  }
  // Every path, and the pending-control memo: after a datagram, a timer, an API call.
  void touch_all_paths();
  // Touches every path when the public call that may have changed them returns, however it does.
  // Every event from outside (a timer, an application or control call) also ends a data burst.
  struct TouchAll {
    explicit TouchAll(Connection& conn, bool arm = true) : c(conn), armed(arm) { ++c.input_gen_; }
    Connection& c;
    bool armed = true;
    ~TouchAll() {
      if (armed) c.touch_all_paths();
    }
  };
  // A received datagram touches only what it changed: the path it came on, the paths its ACKs
  // acknowledge (and whose ACKs the acknowledged packets carried). Anything rarer than ACK,
  // STREAM, DATAGRAM, flow credit, PADDING and PING, any packet but a 1-RTT one, and any change
  // of connection state touch every path (rx_touch_all()). Before the handshake is confirmed,
  // and with one path, every datagram touches all.
  void rx_touch(const Path& p) const { p.sched.rx_touched = true; }
  void rx_touch_all() { rx_touch_all_ = true; }
  struct RxTouch {
    Connection& c;
    ConnState state;
    explicit RxTouch(Connection& conn);
    ~RxTouch();
  };
  bool rx_touch_all_ = false;
  // recovery.next_send_time(now), remembered per path for this `now` while the path is unchanged
  // (pick_send_path asks it for every path, build_datagram again for the one it builds on).
  TimeNs pace(Path& p, TimeNs now);
  void check_cache(bool same) const;
  bool data_work_pending() const;
  // Data pinning (SendMeta::path_id): the path ID a packet on p matches pins against (kAnyPath
  // without multipath), whether application data may go on p, whether everything waiting is
  // pinned data (then only its paths are offered to the scheduler), and unpinning a closed path.
  uint32_t pin_of(const Path& p) const;
  bool app_data_for(const Path& p) const;
  bool only_pinned_work() const;
  size_t offer_only_pinned_paths(PathView* views, uint8_t* index, size_t k) const;
  void unpin_path(uint32_t path_id);
  void requeue_in_flight(Path& p);
  void start_abandon(Path& p, uint64_t error, TimeNs now);
  void drop_path(size_t index);
  void check_failover(Path& p, TimeNs now);
  TimeNs failover_deadline(const Path& p) const { return failover_deadline(p, live_paths()); }
  TimeNs failover_deadline(const Path& p, size_t live) const;  // live: live_paths()

  // Sending.
  size_t build_datagram(uint8_t* buf, size_t limit, Path& path, TimeNs now);
  size_t send_replay(uint8_t* buf, size_t limit, Tuple* tuple, TimeNs now);
  void count_sent(Path& p, size_t n, bool on_tuple);
  // A datagram answering a PATH_CHALLENGE that came from another 4-tuple (a probe, 9.1).
  size_t build_probe_response(uint8_t* buf, size_t limit, Path*& path, Tuple* tuple, TimeNs now);
  bool data_only_ready(const Path& path) const;
  size_t build_data_datagram(uint8_t* buf, size_t limit, Path& path, TimeNs now);
  void note_sent_eliciting(bool eliciting, TimeNs now);
  bool paced_out(Path& p, TimeNs now);
  template <bool kDataOnly>
  size_t build_packet_as(PnSpace space, uint8_t* buf, size_t cap, Path& path, TimeNs now,
                         size_t pad_to, bool cwnd_ok, bool& eliciting);
  // path_only: just the path validation frames (a probe response, or past the window).
  template <bool kDataOnly>
  void fill_app_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log, bool& eliciting,
                       TimeNs now, bool path_only);
  void fill_control_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log, bool& eliciting,
                           TimeNs now, bool path_only);
  void fill_data_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log, bool& eliciting);
  void fill_multipath_frames(Path& path, uint8_t*& p, uint8_t* end, SentLog& log,
                             bool& eliciting);
  size_t build_close_datagram(uint8_t* buf, size_t limit, Path& path);
  size_t write_header(PnSpace s, uint8_t* buf, size_t cap, const Path& path, uint64_t pn,
                      size_t pnl) const;
  size_t seal(PnSpace s, uint8_t* buf, size_t hdr, size_t pnl, size_t payload_len, uint64_t pn,
              uint32_t path_id);
  bool space_wants_send(PnSpace space, const Path& path, TimeNs now, bool cwnd_ok) const;
  bool app_data_pending() const;
  bool control_pending() const;  // connection-level control frames (any path may carry them)
  // control_pending(), remembered until the next packet is built or anything else changes.
  bool control_pending_cached() const;
  bool app_tx_ready() const;
  bool amplification_blocked(const Path& p) const;  // server: the 3x limit leaves no room
  void on_frame_acked(PnSpace space, const SentFrame& f);
  // STREAM frames acknowledged by one ACK, merged while each continues the one before: one
  // StreamManager call per run instead of one per packet (flushed before any other event).
  struct StreamAckRun {
    uint64_t id = 0, offset = 0, len = 0;
    bool fin = false;
    bool open = false;
  };
  StreamAckRun stream_ack_run_;
  void flush_stream_acks();
  void on_frame_lost(PnSpace space, const SentFrame& f);
  static Frame control_frame_of(const SentFrame& f);
  static bool record_control_frame(const Frame& f, SentFrame& out);
  DurationNs pto(const Path& p) const;
  DurationNs max_pto() const;  // the largest among the paths (2.5, 2.6)
  DurationNs effective_idle_timeout() const;

  // Closing.
  void enter_closing(bool application, uint64_t code, uint64_t frame_type, std::string_view reason,
                     TimeNs now);
  void enter_draining(TimeNs now);
  // Closing: our CONNECTION_CLOSE still to go, and a path that may carry it now (not held back
  // by the 3x limit).
  bool close_owed() const;
  void finish(TimeNs now);

  Space& space(PnSpace s) { return *spaces_[static_cast<int>(s)]; }
  const Space& space(PnSpace s) const { return *spaces_[static_cast<int>(s)]; }
  AckTracker& ack_for(PnSpace s, Path& p);
  const AckTracker& ack_for(PnSpace s, const Path& p) const;
  SentLog& log_for(PnSpace s, Path& p);
  static PnSpace space_of(PacketType t);
  static PacketType packet_type_of(PnSpace s);
  static EncryptionLevel level_of(PnSpace s);

  uint64_t id_;
  ConnectionShared shared_;
  CidRegistry& registry_;
  void note_app_action() {
    ++input_gen_;
    registry_.on_app_action(*this);
  }
  // A data burst: after a data-only datagram on a path, the next send() goes straight to
  // build_data_datagram() on that path (with several paths, when the scheduler picks it again)
  // while nothing but the connection's own sends changed the connection (no received datagram,
  // timer or application call since: input_gen_ counts those) and data_burst_holds() checks
  // what its own sends can change.
  uint64_t input_gen_ = 0;
  struct DataBurst {
    Path* path = nullptr;  // null: no burst
    uint64_t input_gen = 0;
    size_t limit = 0;  // send()'s datagram limit but for the caller's buffer
  };
  DataBurst burst_;
  bool built_data_only_ = false;  // the last build_datagram() saw data_only_ready()
  // The packet being built has a STREAM frame whose data is still in its send ring: dst..dst+len
  // is kept for it in the packet, `ring` is where the data is. seal() reads the data from the ring
  // (or copies it when it cannot).
  struct RingData {
    uint8_t* dst = nullptr;
    size_t len = 0;
    RingLead ring;
  };
  RingData ring_data_;
  bool data_burst_holds() const;
  size_t send_in_burst(uint8_t* buf, size_t cap, Tuple* tuple, TimeNs now);
  ConnectionConfig cfg_;
  Role role_ = Role::kUnknown;
  ConnState state_ = ConnState::kHandshake;
  CloseInfo close_info_;
  ConnStats stats_;
  TimeNs last_now_ = 0;
  TimeNs created_at_ = kNever;

  std::unique_ptr<TlsSession> tls_;
  std::array<std::unique_ptr<Space>, kNumPnSpaces> spaces_;
  AppKeys app_keys_;
  // Key phase generations of our write and read keys (the Key Phase bit is the low bit).
  uint64_t tx_gen_ = 0;
  uint64_t auth_failures_ = 0;  // 1-RTT packets that failed authentication, all keys and paths
  uint64_t rx_gen_ = 0;
  std::vector<std::unique_ptr<Path>> paths_;  // by path ID, ascending; never empty once started
  PathRecoveryConfig path_rc_;
  bool build_data_ok_ = true;  // the packet being built may carry application data
  // The redundant scheduler's copy of the last data packet's frames, for the other paths.
  struct Replay {
    std::array<uint8_t, 1500> bytes{};
    size_t len = 0;
    std::array<SentFrame, 64> frames{};
    size_t n_frames = 0;
    std::array<uint32_t, kMaxCidPaths> targets{};
    size_t n_targets = 0;
  };
  std::unique_ptr<Replay> replay_;
  bool capture_ = false;    // the Filler keeps copies of what it logs
  bool replaying_ = false;  // the packet being built is such a copy
  std::unique_ptr<StreamManager> streams_;
  std::unique_ptr<CidManager> cids_;
  std::unique_ptr<QlogWriter> qlog_;
  ConnectionObserver* observer_ = nullptr;
  std::unique_ptr<Scheduler> scheduler_;

  Tuple handshake_peer_;       // the 4-tuple the connection began on (its remote: 2.2 of draft-21)
  const ConnectionId* probe_dcid_ = nullptr;  // while a probe is built: its DCID (9.5)
  ConnectionId odcid_;         // the client's first DCID (server: from the Initial or Retry token)
  ConnectionId local_scid_;    // our handshake SCID (sequence 0)
  ConnectionId initial_dcid_;  // DCID the Initial keys come from (client: before any Retry)
  ConnectionId retry_scid_;
  std::vector<uint8_t> token_;  // client: Retry or NEW_TOKEN token for Initial packets
  bool retried_ = false;
  bool peer_scid_known_ = false;
  bool client_dcid_registered_ = false;
  bool handshake_complete_seen_ = false;
  bool peer_tp_applied_ = false;
  TransportParameters peer_tp_;
  std::array<PathResponse, 4> responses_{};  // PATH_RESPONSEs owed, oldest first (bounded)
  size_t n_responses_ = 0;
  const Tuple* probe_tx_ = nullptr;  // destination while building a probe response datagram
  // Set by the general packet build when it writes what data_only_ready() rules out (an ACK,
  // CRYPTO, PING, control or path frames): check_send_cache checks it stays clear.
  bool extra_frames_ = false;
  mutable uint64_t conf_limit_ = 0;  // confidentiality_limit() once known (0: not yet)
  size_t rx_datagram_len_ = 0;       // the datagram being processed
  bool handshake_done_pending_ = false;  // server: HANDSHAKE_DONE to (re)send
  bool new_token_pending_ = false;
  // Server: the client addresses validated on this connection, latest first; each NEW_TOKEN
  // covers all of them (multipath 3.1.3), and a newly validated one asks for a new token.
  std::array<IpAddr, kMaxTokenAddresses> token_addrs_{};
  size_t n_token_addrs_ = 0;
  void note_validated_address(const IpAddr& a);
  struct PendingCid {
    uint32_t path_id = 0;
    uint64_t sequence = 0;
  };
  std::deque<PendingCid> pending_new_cids_;  // to announce (bounded)
  // Initial and Handshake probes; application data keeps its own per path.
  bool ping_pending_[kNumPnSpaces] = {};
  uint32_t probes_pending_[kNumPnSpaces] = {};
  // Multipath.
  bool multipath_ = false;
  uint64_t local_max_path_id_ = 0;  // what we allow the peer (initial_max_path_id, MAX_PATH_ID)
  uint64_t peer_max_path_id_ = 0;   // what the peer allows us
  bool max_path_id_pending_ = false;
  bool paths_blocked_pending_ = false;
  std::array<PathCidsBlockedFrame, 4> cids_blocked_{};  // PATH_CIDS_BLOCKED to send
  size_t n_cids_blocked_ = 0;
  std::array<PathAbandonFrame, kMaxCidPaths> abandons_{};  // PATH_ABANDON to send (or resend)
  // PATH_STATUS_* for path IDs not open yet (3.3, 4.3): the newest per path ID, bounded.
  struct EarlyStatus {
    bool used = false;
    PathStatusFrame f;
  };
  std::array<EarlyStatus, 4> early_status_{};
  size_t n_abandons_ = 0;
  size_t urgent_next_ = 0;  // round robin over paths for per-path work
  // Bumped by every packet built and by touch_all_paths(): the control_pending() memo is valid
  // while control_gen_ equals it.
  uint64_t state_gen_ = 0;
  mutable uint64_t control_gen_ = UINT64_MAX;
  mutable bool control_memo_ = false;
  // A data pick of a keeps_pick() scheduler (Scheduler::keeps_pick), reused by the following
  // packets of the same burst: same `now`, no other path touched since (touch_path() forgets it,
  // and so do touch_all_paths(), a new or dropped path, a new scheduler), and the picked path,
  // touched only by its own sends since (touch_sent), still offered with the flags and RTT it had,
  // not urgent, with window and pacing room. Then every view the scheduler saw is as it was but
  // that path's bytes in flight, and full_pick() would choose the same. Once that path's window
  // or pacer says no, and no other entry could send when it was picked, full_pick() would find
  // nothing.
  struct PickMemo {
    const Path* path = nullptr;  // null: nothing to reuse
    TimeNs now = 0;
    bool sendable = false, unblocked = false, carrier_ok = false, acks_owed = false;
    bool available = false, backup = false;
    DurationNs smoothed_rtt = 0;
    DurationNs min_rtt = 0;
    bool pinned_only = false;  // only_pinned_work() when picked
    bool others_can_send = false;  // another entry could send too when picked
  };
  mutable PickMemo pick_memo_;
  // The scheduler's entries, built for each pick (a member: an array of them on the stack was
  // default-initialised on every call).
  mutable PathView scratch_views_[kMaxCidPaths];
  // next_timeout()'s part for the Initial and Handshake spaces (on the first path): lowers t to
  // an ACK deadline; true when something is to be sent at once (cwnd_ok: the window allows
  // CRYPTO data).
  bool handshake_spaces_due(bool cwnd_ok, TimeNs& t) const;
  mutable uint64_t picks_reused_ = 0;
  mutable uint64_t cache_checks_ = 0;
  mutable uint64_t cache_mismatches_ = 0;
  bool cache_abort_ = false;  // CAMP_CHECK_SEND_CACHE set: a mismatch aborts
  bool app_wakeup_ = false;

  DatagramRing tx_datagrams_;
  DatagramRing rx_datagrams_;
  uint64_t next_datagram_id_ = 0;

  // Closing.
  bool close_app_ = false;
  uint64_t close_code_ = 0;
  uint64_t close_frame_type_ = 0;
  std::string close_reason_;
  bool close_send_pending_ = false;
  TimeNs close_deadline_ = kNever;
  TimeNs idle_deadline_ = kNever;
  DurationNs idle_timeout_ = 0;
  bool idle_restart_on_send_ = true;
};

}  // namespace camp::quic
