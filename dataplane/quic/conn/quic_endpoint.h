// The QUIC endpoint of one worker: it implements the driver seam (camp::Endpoint), owns the
// worker's connections and routes each datagram to its connection by Destination Connection ID
// (a fixed-size CidTable). As a server it accepts new connections from client Initials, answers
// other versions with Version Negotiation, may demand address validation with Retry, and answers
// packets for unknown connections with a Stateless Reset. As a client it opens connections on
// request. Drops are counted by reason in WorkerStats.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/endpoint.h"
#include "dataplane/quic/cid/cid_codec.h"
#include "dataplane/quic/cid/cid_table.h"
#include "dataplane/quic/cid/random_source.h"
#include "dataplane/quic/cid/stateless_reset.h"
#include "dataplane/quic/conn/connection.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/retry.h"
#include "dataplane/quic/token/token_codec.h"

namespace camp::quic {

// The application on top of an endpoint's connections. Calls come from the worker thread, after
// the endpoint processed received packets or timers and before it sends.
class QuicApp {
 public:
  virtual ~QuicApp() = default;
  virtual void on_new_connection(Connection& c) {}
  // Something changed: data arrived, buffer space was freed, the handshake finished...
  virtual void on_connection_progress(Connection& c, TimeNs now) = 0;
  // The connection is gone; c is valid only during the call.
  virtual void on_connection_closed(Connection& c) {}
};

struct QuicEndpointConfig {
  Role role = Role::kServer;
  size_t max_connections = 1024;
  ConnectionConfig conn;  // the template every connection starts from
  // QUIC-LB layout of our connection IDs (worker field = worker): 1 + (1 + 1) + 7 octets by
  // default, so 7 random nonce octets keep collisions among live CIDs negligible (the draft's
  // "Configuration Failover" asks for at least 7 after the first octet without a configuration).
  CidConfig cid = [] {
    CidConfig c;
    c.nonce_len = 7;
    return c;
  }();
  uint16_t worker = 0;
  bool retry = false;     // server: validate every new client address with Retry first
  // Seeds for tests; 0: keys and randomness from GnuTLS's generator.
  uint64_t seed = 0;
  // The Stateless Reset key (RFC 9000 10.3.2), when the caller shares one among several endpoints
  // (every worker of a server, so that a token is the same whichever worker derives it); unset:
  // each endpoint draws its own (or derives it from seed).
  std::optional<std::array<uint8_t, StatelessResetKey::kKeyLength>> reset_key;
  // Per-connection qlog; returns nullptr for none. Called when a connection starts.
  std::function<std::unique_ptr<QlogWriter>(Role role, ByteView odcid)> qlog_factory;
};

class QuicEndpoint final : public Endpoint, public Connection::CidRegistry {
 public:
  QuicEndpoint(const QuicEndpointConfig& cfg, const TlsContext& tls, QuicApp* app);
  ~QuicEndpoint() override;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Client: opens a connection to tuple.remote (tuple.local: our address, or unset). The
  // overrides (SNI, resumption data, token) replace the template's. nullptr when no slot is free
  // or the handshake cannot start (close_info of the failure is then lost; see last_error()).
  Connection* connect(const Tuple& tuple, TimeNs now, const ConnectionConfig& cfg);

  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                    WorkerStats& stats) override;
  // Runs the timers of the connections whose time has come and lets them (and those whose
  // application acted since, on_app_action) send. Data an application queues outside its
  // callbacks goes out on the next call.
  uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) override;
  // Per-core steering: the worker named in the datagram's Destination Connection ID (QUIC-LB
  // plaintext layout, cfg.cid) when that is another worker of this server, else -1. Client-chosen
  // DCIDs (first Initials, 0-RTT) and foreign or malformed CIDs stay where they arrived.
  int32_t steer(const RxDatagram& d) const override;
  // campctl conns / conn: summaries of the live connections (conn_snapshot.cc).
  size_t snapshot_connections(ConnSummary* out, size_t cap, uint64_t now_ns,
                              uint64_t only) override;
  // campctl set scheduler / failover_action: the template and every live connection.
  void apply_setting(WorkerKey key, uint64_t value) override;
  // campctl path: PATH_STATUS_AVAILABLE / _BACKUP or PATH_ABANDON (APPLICATION_ABANDON_PATH).
  PathCommandStatus path_command(uint64_t conn, uint32_t path_id, PathAction action,
                                 uint64_t now_ns) override;

  size_t connection_count() const { return live_.size(); }
  template <class F>
  void for_each_connection(F&& f) {
    for (uint32_t h : live_) f(*slots_[h].conn);
  }
  Connection* find(uint64_t conn_id);
  const std::string& last_error() const { return last_error_; }
  ImbManager& imb() { return imb_; }

  struct Counters {
    uint64_t accepted = 0;
    uint64_t closed = 0;
    uint64_t retries_sent = 0;
    uint64_t version_negotiations_sent = 0;
    uint64_t stateless_resets_sent = 0;
    uint64_t key_updates = 0;  // of closed connections
    // Connections given a chance to send (and their application to act): after a burst those
    // the burst reached, on a timer those due or whose application acted.
    uint64_t serviced = 0;
  };
  const Counters& counters() const { return counters_; }
  // The connection a Stateless Reset ending with `token` is checked by (null: none), and how many
  // peer tokens are indexed: for tests and diagnostics.
  const Connection* reset_token_owner(const StatelessResetToken& token) const;
  size_t reset_tokens_indexed() const { return reset_index_.size(); }
  // How many of our CIDs route to connections here (client Initial DCIDs included).
  size_t cids_registered() const { return table_.size(); }

  // Connection::CidRegistry: connections announce the CIDs that route to them, and their
  // application's actions (served at the next call).
  bool add_cid(Connection& c, ByteView cid) override;
  void remove_cid(Connection& c, ByteView cid) override;
  void on_app_action(Connection& c) override;

  // Entries in the deadline heap, stale ones included (for tests: it stays bounded).
  size_t wake_entries() const { return heap_.size(); }

 private:
  struct Slot {
    std::unique_ptr<Connection> conn;
    std::vector<ConnectionId> cids;  // registered in table_, removed at close
    bool touched = false;            // in touched_
    // The peer's stateless reset tokens this slot holds in reset_index_, as of the connection's
    // peer_reset_tokens_gen() reset_gen.
    std::vector<StatelessResetToken> reset_tokens;
    uint64_t reset_gen = UINT64_MAX;
    size_t reset_missing = 0;  // its tokens not in reset_index_ (counted in reset_index_missing_)
    // The deadline last put in heap_ for this connection (kNever: none), and the slot's
    // generation, which moves when the slot is freed: older heap entries are stale.
    TimeNs deadline = kNever;
    uint32_t gen = 0;
    uint32_t live_pos = 0;      // index in live_
    bool woken = false;         // its application acted since it was last settled
    bool in_woken_list = false;  // in woken_
    bool due = false;           // in due_ (this on_timer call)
  };
  // One deadline in heap_: connection h (of generation gen) wants to run at t.
  struct Wake {
    TimeNs t;
    uint32_t h;
    uint32_t gen;
    bool operator>(const Wake& o) const { return t > o.t; }
  };
  // A datagram of this burst reached connection h: it is serviced after the burst.
  void touch(uint32_t h);
  // Brings reset_index_ up to date with connection h's peer tokens (when they changed), or
  // drops them all (gone: the connection is being freed).
  void sync_reset_tokens(uint32_t h, bool gone = false);
  // The live connection whose peer's stateless reset token a datagram that routes nowhere ends
  // with, checked by that connection (RFC 9000 10.3.1): true when it was one.
  bool stateless_reset_for_us(const RxDatagram& d, TimeNs now);

  void on_datagram(const RxDatagram& d, TimeNs now, TxBatch& tx, WorkerStats& stats);
  void accept_initial(const PacketHeader& h, const RxDatagram& d, TimeNs now, TxBatch& tx,
                      WorkerStats& stats);
  void send_version_negotiation(const PacketHeader& h, const RxDatagram& d, TxBatch& tx);
  void send_retry(const PacketHeader& h, const RxDatagram& d, TimeNs now, TxBatch& tx);
  void send_stateless_reset(ByteView dcid, const RxDatagram& d, TxBatch& tx);
  std::optional<uint32_t> new_slot();
  void service(uint32_t h, TimeNs now, TxBatch& tx, WorkerStats& stats);
  // After a call worked on connection h: frees it when it closed (telling the application),
  // otherwise files its next deadline.
  void settle(uint32_t h, TimeNs now);
  // Files connection h's next_timeout() in heap_ when it changed.
  void schedule(uint32_t h, TimeNs now);
  // Frees a closed connection, telling the application.
  void reap(uint32_t h);
  // Frees a connection the application never heard of (no callbacks).
  void reap_silently(uint32_t h);
  // What reap() and reap_silently() both drop: the connection, its CIDs and reset tokens.
  void release_slot(uint32_t h);
  // The earliest deadline filed (now while some application acted): stale heap entries go.
  TimeNs next_wake(TimeNs now);
  static TxSlot* reply_slot(TxBatch& tx, const RxDatagram& d);

  QuicEndpointConfig cfg_;
  const TlsContext& tls_;
  QuicApp* app_;
  std::string error_;
  std::string last_error_;
  ImbManager imb_;
  CidCodec codec_;
  std::unique_ptr<RandomSource> random_;
  std::unique_ptr<StatelessResetKey> reset_key_;
  TokenCodec tokens_;
  RetryIntegrity retry_;
  CidTable table_;
  // Peer stateless reset token -> connection: a datagram no CID routes costs one lookup, not a
  // check by every connection. While some token found no room (a full index, or one two peers
  // both sent) reset_index_missing_ is above 0, and then every connection checks, as before.
  CidTable reset_index_;
  uint64_t reset_index_missing_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> live_;
  std::vector<uint32_t> touched_;  // connections the current burst reached, each once
  // Every live connection's next deadline, a min-heap with lazy deletion: a call costs the
  // connections it worked on, not every live one. Rebuilt when stale entries outnumber live ones.
  std::vector<Wake> heap_;
  std::vector<uint32_t> woken_;  // connections whose application acted (Slot::woken)
  size_t n_woken_ = 0;
  std::vector<uint32_t> due_;  // on_timer's connections to run
  uint64_t next_conn_id_ = 1;
  Counters counters_;
};

}  // namespace camp::quic
