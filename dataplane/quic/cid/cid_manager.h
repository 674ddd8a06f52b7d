// Per-connection connection ID state (RFC 9000 5.1, 19.15, 19.16; draft-ietf-quic-multipath-21
// PATH_NEW_CONNECTION_ID / PATH_RETIRE_CONNECTION_ID). Two sides:
//  - local: the CIDs we issued, numbered per path ID, at most the peer's
//    active_connection_id_limit active per path (those below our Retire Prior To do not count);
//  - peer: the CIDs the peer issued to us, bounded by our own active_connection_id_limit per path,
//    with the RETIRE_CONNECTION_ID frames we still owe.
// Without multipath everything lives on path ID 0. All storage is fixed-size: what a peer can make
// us hold is bounded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "dataplane/quic/cid/stateless_reset.h"
#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frames.h"
#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

inline constexpr size_t kMaxCidPaths = 8;     // path IDs with CIDs at once
inline constexpr size_t kMaxActiveCids = 8;   // per path, either direction
// Tokens of the peer's CIDs in use, at most (CidManager::peer_reset_tokens).
inline constexpr size_t kMaxPeerResetTokens = kMaxCidPaths * kMaxActiveCids;
inline constexpr size_t kMaxPendingRetires = 2 * kMaxActiveCids;  // per path (RFC 9000 5.1.2)

struct CidManagerConfig {
  // Our active_connection_id_limit transport parameter: 2..kMaxActiveCids.
  uint64_t local_active_cid_limit = 2;
  // We send zero-length DCIDs, so the peer may not send NEW_CONNECTION_ID (RFC 9000 19.15).
  bool peer_cid_zero_length = false;
};

struct LocalCid {
  uint64_t sequence = 0;
  ConnectionId cid;
  StatelessResetToken token{};
};

struct PeerCid {
  uint64_t sequence = 0;
  ConnectionId cid;
  StatelessResetToken token{};
  bool has_token = false;  // a client's handshake CID from the server carries none (seq 0)
  bool in_use = false;     // some path sends to it
};

struct NewCidOutcome {
  TransportError error = TransportError::NO_ERROR;
  uint64_t path_id = 0;  // the frame's path ID (0 for NEW_CONNECTION_ID)
  // The path ID was abandoned: the frame was silently ignored (multipath-21 4).
  bool ignored = false;
  // A CID some path was sending to was retired by Retire Prior To: that path must switch.
  bool in_use_cid_retired = false;
};

struct RetireOutcome {
  TransportError error = TransportError::NO_ERROR;
  bool retired = false;  // false for a repeat of an already retired sequence number
  ConnectionId cid;      // the retired CID: remove it from the CidTable
};

class CidManager {
 public:
  explicit CidManager(const CidManagerConfig& config);

  bool valid() const { return valid_; }

  // Transport parameters and MAX_PATH_ID. Without multipath both maxima stay 0.
  void set_peer_active_cid_limit(uint64_t limit) { peer_limit_ = limit; }
  void set_local_max_path_id(uint64_t id) { local_max_path_id_ = id; }  // bounds the peer's CIDs
  void set_peer_max_path_id(uint64_t id) { peer_max_path_id_ = id; }    // bounds ours

  // ---- Our CIDs ----
  // How many more CIDs we may issue on `path_id` under the peer's limit.
  size_t local_cids_wanted(uint64_t path_id) const;
  // Records a CID we issue (the handshake SCID is sequence 0 on path 0). Returns its sequence
  // number, or nothing if the path ID is above the peer's maximum or the peer's limit is reached.
  std::optional<uint64_t> add_local_cid(uint64_t path_id, const ConnectionId& cid,
                                        const StatelessResetToken& token);
  // Asks the peer to retire our CIDs below `retire_prior_to` (carried in later NEW_CONNECTION_ID
  // frames). They stay routable until the peer retires them. False if above the next sequence.
  bool set_local_retire_prior_to(uint64_t path_id, uint64_t retire_prior_to);
  uint64_t local_retire_prior_to(uint64_t path_id) const;
  // The frame announcing our CID `sequence` on `path_id` (views into this manager).
  std::optional<NewConnectionIdFrame> new_connection_id_frame(uint64_t path_id, uint64_t sequence,
                                                              bool multipath) const;
  // RETIRE_CONNECTION_ID / PATH_RETIRE_CONNECTION_ID from the peer. `packet_dcid_sequence` is the
  // sequence number of the CID the carrying packet was sent to (the frame may not retire it).
  RetireOutcome on_retire_connection_id(const RetireConnectionIdFrame& frame,
                                        uint64_t packet_dcid_sequence);
  const LocalCid* find_local(uint64_t path_id, uint64_t sequence) const;
  size_t local_count(uint64_t path_id) const;
  // The sequence number our next CID on `path_id` would get (0 before any): a PATH_CIDS_BLOCKED
  // whose Next Sequence Number is above it is a PROTOCOL_VIOLATION (multipath-21 4.7).
  uint64_t local_next_sequence(uint64_t path_id) const;
  // Which of our CIDs `cid` is (the path ID of a received packet's DCID, multipath-21 3.1).
  bool find_local_by_cid(ByteView cid, uint64_t* path_id, uint64_t* sequence) const;

  // ---- Peer's CIDs ----
  // The peer's handshake SCID (sequence 0, path 0), in use from the start; a server's token comes
  // from its stateless_reset_token transport parameter.
  void set_initial_peer_cid(const ConnectionId& cid, const StatelessResetToken* token);
  // The server's stateless_reset_token transport parameter arrives after its handshake SCID.
  void set_initial_peer_reset_token(const StatelessResetToken& token);
  NewCidOutcome on_new_connection_id(const NewConnectionIdFrame& frame);
  // An unused peer CID on `path_id` for a new path or a migration (lowest sequence first), now
  // marked in use; nullptr when none is left (send PATH_CIDS_BLOCKED / wait).
  const PeerCid* pick_fresh_peer_cid(uint64_t path_id);
  // We stop using peer CID `sequence`: forget it and owe the peer a RETIRE_CONNECTION_ID.
  TransportError retire_peer_cid(uint64_t path_id, uint64_t sequence);
  // Stateless reset detection: compares in constant time with the tokens of CIDs in use only
  // (RFC 9000 10.3.1).
  bool is_stateless_reset(const uint8_t* token) const;
  // The tokens is_stateless_reset() compares with (at most kMaxPeerResetTokens), for an index
  // that finds the connection a Stateless Reset belongs to; the generation changes whenever that
  // set may have changed.
  size_t peer_reset_tokens(std::span<StatelessResetToken> out) const;
  uint64_t peer_reset_tokens_gen() const { return peer_gen_; }
  size_t peer_count(uint64_t path_id) const;
  // The sequence number we expect the peer's next CID on `path_id` to carry (PATH_CIDS_BLOCKED).
  uint64_t peer_next_sequence(uint64_t path_id) const;
  const PeerCid* find_peer(uint64_t path_id, uint64_t sequence) const;

  // RETIRE_CONNECTION_ID frames owed: take one to send, then report it acked or lost.
  std::optional<RetireConnectionIdFrame> next_retire_to_send(bool multipath);
  void on_retire_acked(uint64_t path_id, uint64_t sequence);
  void on_retire_lost(uint64_t path_id, uint64_t sequence);
  size_t pending_retires() const;  // owed, sent or not
  bool has_retire_to_send() const;  // one not yet sent (or lost): a count kept, no scan
  size_t count_unsent_retires() const;  // the same by a scan of every path (tests)

  // ---- Closing a path (multipath-21 3.4) ----
  // We sent (or are sending) PATH_ABANDON for `path_id`: every CID the peer issued for it is
  // retired at once, implicitly. The draft asks for no PATH_RETIRE_CONNECTION_ID here (both ends
  // treat the CIDs as retired on PATH_ABANDON), so none is queued and those still owed on the path
  // are dropped. Our CIDs on the path stay (the peer may still send on them for 3 PTO, and
  // forgetting them would make us answer with Stateless Resets, 3.4.2), but no new CID is issued
  // or accepted for it and the path ID is never opened again. Returns the peer CIDs dropped.
  size_t retire_peer_path(uint64_t path_id);
  // The end of an abandoned path's retention: drops our CIDs of `path_id` (and anything left of
  // the peer's), calling `f(const LocalCid&)` for each of ours so the caller can remove it from
  // its CidTable, and records the path ID as closed for good. Returns how many of ours there were.
  template <class F>
  size_t forget_local_path(uint64_t path_id, F&& f) {
    size_t n = 0;
    if (Path* p = find_path(path_id)) {
      n = p->local_count;
      for (size_t i = 0; i < n; ++i) f(p->local[i]);
      *p = Path{};
      ++peer_gen_;
    }
    mark_closed(path_id);
    return n;
  }
  // retire_peer_path and forget_local_path at once.
  template <class F>
  void abandon_path(uint64_t path_id, F&& f) {
    forget_local_path(path_id, static_cast<F&&>(f));
  }
  // PATH_ABANDON was sent or processed for `path_id` (state may still be retained): a path ID
  // is never reused, and frames naming it are ignored (multipath-21 3.4, 4).
  bool path_closed(uint64_t path_id) const;

 private:
  struct PendingRetire {
    uint64_t sequence = 0;
    bool sent = false;
  };
  struct Path {
    bool open = false;
    uint64_t id = 0;
    // PATH_ABANDON sent: the peer's CIDs are retired, only ours are kept (retire_peer_path).
    bool abandoned = false;
    // Ours.
    std::array<LocalCid, 2 * kMaxActiveCids> local{};  // room for CIDs awaiting retirement
    size_t local_count = 0;
    uint64_t local_next_sequence = 0;
    uint64_t local_rpt = 0;
    // Peer's.
    std::array<PeerCid, kMaxActiveCids> peer{};
    size_t peer_count = 0;
    uint64_t peer_rpt = 0;  // largest Retire Prior To received
    // Sequence numbers already received: all below seen_floor, and seen_floor + i for bit i.
    uint64_t seen_floor = 0;
    uint64_t seen_bits = 0;
    std::array<PendingRetire, kMaxPendingRetires> retires{};
    size_t retire_count = 0;
  };

  Path* find_path(uint64_t path_id);
  const Path* find_path(uint64_t path_id) const;
  Path* open_path(uint64_t path_id);
  bool seen(const Path& p, uint64_t seq) const;
  void mark_seen(Path& p, uint64_t seq);
  void advance_seen_floor(Path& p, uint64_t floor);
  bool queue_retire(Path& p, uint64_t seq);
  void remove_peer(Path& p, size_t index);
  void mark_closed(uint64_t path_id);
  bool closed_record(uint64_t path_id) const;

  CidManagerConfig config_;
  bool valid_;
  uint64_t peer_limit_ = 2;  // RFC 9000 18.2 default
  uint64_t local_max_path_id_ = 0;
  // One above the largest path ID any of our CIDs was issued for (path IDs are issued in order):
  // a path ID at or above it never had one of ours.
  uint64_t issued_path_ids_ = 0;
  uint64_t peer_max_path_id_ = 0;
  uint64_t peer_gen_ = 0;  // bumped by every change to the peer CIDs in use or their tokens
  std::array<Path, kMaxCidPaths> paths_{};
  size_t unsent_retires_ = 0;  // retires[] entries of open paths with sent false
  // Path IDs closed for good (multipath-21 3.4: MUST NOT be reused): every ID below closed_floor_
  // that has no Path, and closed_floor_ + i for bit i of closed_bits_. The floor moves up past a
  // run of closed IDs; a close 64 or more above it pushes the floor along and so also closes the
  // never-used IDs it passes (refusing an unused path ID is always allowed). Open Paths below the
  // floor stay usable until they are forgotten.
  uint64_t closed_floor_ = 0;
  uint64_t closed_bits_ = 0;
};

}  // namespace camp::quic
