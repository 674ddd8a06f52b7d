#include "dataplane/quic/cid/cid_manager.h"


#include <algorithm>
#include <bit>

namespace camp::quic {

CidManager::CidManager(const CidManagerConfig& config)
    : config_(config),
      valid_(config.local_active_cid_limit >= 2 &&
             config.local_active_cid_limit <= kMaxActiveCids) {}

CidManager::Path* CidManager::find_path(uint64_t path_id) {
  for (auto& p : paths_) {
    if (p.open && p.id == path_id) return &p;
  }
  return nullptr;
}

const CidManager::Path* CidManager::find_path(uint64_t path_id) const {
  return const_cast<CidManager*>(this)->find_path(path_id);
}

CidManager::Path* CidManager::open_path(uint64_t path_id) {
  if (Path* p = find_path(path_id)) return p;
  if (closed_record(path_id)) return nullptr;  // never reopened (multipath-21 3.4)
  for (auto& p : paths_) {
    if (!p.open) {
      p = Path{};
      p.open = true;
      p.id = path_id;
      ++peer_gen_;
      return &p;
    }
  }
  return nullptr;
}

// ---- Our CIDs ----

size_t CidManager::local_cids_wanted(uint64_t path_id) const {
  if (path_id > peer_max_path_id_ || path_closed(path_id)) return 0;
  const Path* p = find_path(path_id);
  const size_t limit = static_cast<size_t>(std::min<uint64_t>(peer_limit_, kMaxActiveCids));
  if (!p) return limit;
  size_t active = 0;
  for (size_t i = 0; i < p->local_count; ++i) active += p->local[i].sequence >= p->local_rpt;
  const size_t room = p->local.size() - p->local_count;
  return std::min(active >= limit ? 0 : limit - active, room);
}

std::optional<uint64_t> CidManager::add_local_cid(uint64_t path_id, const ConnectionId& cid,
                                                  const StatelessResetToken& token) {
  if (local_cids_wanted(path_id) == 0) return std::nullopt;
  Path* p = open_path(path_id);
  if (!p) return std::nullopt;
  issued_path_ids_ = std::max(issued_path_ids_, path_id + 1);
  LocalCid& l = p->local[p->local_count++];
  l.sequence = p->local_next_sequence++;
  l.cid = cid;
  l.token = token;
  return l.sequence;
}

bool CidManager::set_local_retire_prior_to(uint64_t path_id, uint64_t retire_prior_to) {
  Path* p = find_path(path_id);
  if (!p || retire_prior_to > p->local_next_sequence || retire_prior_to < p->local_rpt) {
    return false;
  }
  p->local_rpt = retire_prior_to;
  return true;
}

uint64_t CidManager::local_retire_prior_to(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? p->local_rpt : 0;
}

const LocalCid* CidManager::find_local(uint64_t path_id, uint64_t sequence) const {
  const Path* p = find_path(path_id);
  if (!p) return nullptr;
  for (size_t i = 0; i < p->local_count; ++i) {
    if (p->local[i].sequence == sequence) return &p->local[i];
  }
  return nullptr;
}

size_t CidManager::local_count(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? p->local_count : 0;
}

uint64_t CidManager::local_next_sequence(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? p->local_next_sequence : 0;
}

bool CidManager::find_local_by_cid(ByteView cid, uint64_t* path_id, uint64_t* sequence) const {
  for (const Path& p : paths_) {
    if (!p.open) continue;
    for (size_t i = 0; i < p.local_count; ++i) {
      if (p.local[i].cid.view() == cid) {
        *path_id = p.id;
        *sequence = p.local[i].sequence;
        return true;
      }
    }
  }
  return false;
}

uint64_t CidManager::peer_next_sequence(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  if (!p) return 0;
  // One past the highest sequence number seen: the floor, then the bits above it.
  return p->seen_floor + static_cast<uint64_t>(std::bit_width(p->seen_bits));
}

std::optional<NewConnectionIdFrame> CidManager::new_connection_id_frame(uint64_t path_id,
                                                                        uint64_t sequence,
                                                                        bool multipath) const {
  const LocalCid* l = find_local(path_id, sequence);
  if (!l || (!multipath && path_id != 0)) return std::nullopt;
  NewConnectionIdFrame f;
  f.has_path_id = multipath;
  f.path_id = path_id;
  f.sequence_number = sequence;
  f.retire_prior_to = std::min(local_retire_prior_to(path_id), sequence);
  f.connection_id = l->cid.view();
  f.stateless_reset_token = ByteView(l->token.data(), l->token.size());
  return f;
}

RetireOutcome CidManager::on_retire_connection_id(const RetireConnectionIdFrame& frame,
                                                  uint64_t packet_dcid_sequence) {
  RetireOutcome out;
  const uint64_t path_id = frame.has_path_id ? frame.path_id : 0;
  if (path_id > local_max_path_id_) {
    out.error = TransportError::PROTOCOL_VIOLATION;
    return out;
  }
  Path* p = find_path(path_id);
  if (!p && path_id >= issued_path_ids_) {
    // No CID of ours was ever issued for the path ID, so every sequence number is one we never
    // sent (RFC 9000 19.16 per path, multipath-21 4.5).
    out.error = TransportError::PROTOCOL_VIOLATION;
    return out;
  }
  // No state for the path: already forgotten; a late frame is harmless. On an abandoned path the
  // peer has retired our CIDs implicitly; they stay until forget_local_path.
  if (!p || p->abandoned) return out;
  // RFC 9000 19.16: a sequence number we never sent, or the CID the packet itself arrived on.
  if (frame.sequence_number >= p->local_next_sequence ||
      frame.sequence_number == packet_dcid_sequence) {
    out.error = TransportError::PROTOCOL_VIOLATION;
    return out;
  }
  for (size_t i = 0; i < p->local_count; ++i) {
    if (p->local[i].sequence != frame.sequence_number) continue;
    out.retired = true;
    out.cid = p->local[i].cid;
    p->local[i] = p->local[--p->local_count];
    return out;
  }
  return out;  // already retired: a repeat
}

// ---- Peer's CIDs ----

bool CidManager::seen(const Path& p, uint64_t seq) const {
  if (seq < p.seen_floor) return true;
  const uint64_t d = seq - p.seen_floor;
  return d < 64 && (p.seen_bits >> d & 1);
}

void CidManager::advance_seen_floor(Path& p, uint64_t floor) {
  if (floor <= p.seen_floor) return;
  const uint64_t shift = floor - p.seen_floor;
  p.seen_bits = shift >= 64 ? 0 : p.seen_bits >> shift;
  p.seen_floor = floor;
}

void CidManager::mark_seen(Path& p, uint64_t seq) {
  if (seq < p.seen_floor) return;
  if (seq - p.seen_floor >= 64) advance_seen_floor(p, seq - 63);
  p.seen_bits |= uint64_t{1} << (seq - p.seen_floor);
}

bool CidManager::queue_retire(Path& p, uint64_t seq) {
  for (size_t i = 0; i < p.retire_count; ++i) {
    if (p.retires[i].sequence == seq) return true;
  }
  if (p.retire_count == p.retires.size()) return false;
  p.retires[p.retire_count++] = PendingRetire{seq, false};
  ++unsent_retires_;
  return true;
}

void CidManager::remove_peer(Path& p, size_t index) {
  p.peer[index] = p.peer[--p.peer_count];
  ++peer_gen_;
}

void CidManager::set_initial_peer_cid(const ConnectionId& cid, const StatelessResetToken* token) {
  Path* p = open_path(0);
  if (!p || p->abandoned || p->peer_count != 0) return;
  PeerCid& e = p->peer[p->peer_count++];
  e.sequence = 0;
  e.cid = cid;
  e.has_token = token != nullptr;
  if (token) e.token = *token;
  e.in_use = true;
  ++peer_gen_;
  mark_seen(*p, 0);
}

void CidManager::set_initial_peer_reset_token(const StatelessResetToken& token) {
  Path* p = find_path(0);
  if (!p) return;
  for (size_t i = 0; i < p->peer_count; ++i) {
    if (p->peer[i].sequence == 0) {
      p->peer[i].token = token;
      p->peer[i].has_token = true;
      ++peer_gen_;
    }
  }
}

NewCidOutcome CidManager::on_new_connection_id(const NewConnectionIdFrame& f) {
  NewCidOutcome out;
  const uint64_t path_id = f.has_path_id ? f.path_id : 0;
  const uint64_t seq = f.sequence_number;
  out.path_id = path_id;
  if (f.connection_id.size < 1 || f.connection_id.size > kMaxCidLength ||
      f.stateless_reset_token.size != kStatelessResetTokenLength || f.retire_prior_to > seq) {
    out.error = TransportError::FRAME_ENCODING_ERROR;
    return out;
  }
  if (config_.peer_cid_zero_length || path_id > local_max_path_id_) {
    out.error = TransportError::PROTOCOL_VIOLATION;
    return out;
  }
  // multipath-21 4: a path ID we cannot process any more is silently ignored.
  if (path_closed(path_id)) {
    out.ignored = true;
    return out;
  }
  // CIDs are unique within the connection across path IDs (multipath 5.x); a sequence number
  // names one CID and one token.
  bool duplicate = false;
  for (const Path& q : paths_) {
    if (!q.open) continue;
    for (size_t i = 0; i < q.peer_count; ++i) {
      const PeerCid& e = q.peer[i];
      const bool same_slot = q.id == path_id && e.sequence == seq;
      const bool same_cid = e.cid.view() == f.connection_id;
      if (same_cid != same_slot ||
          (same_slot && e.has_token &&
           !reset_tokens_equal(e.token.data(), f.stateless_reset_token.data))) {
        out.error = TransportError::PROTOCOL_VIOLATION;
        return out;
      }
      duplicate |= same_slot;
    }
  }
  Path* p = open_path(path_id);
  if (!p) {
    out.error = TransportError::CONNECTION_ID_LIMIT_ERROR;
    return out;
  }
  const uint64_t new_rpt = std::max(p->peer_rpt, f.retire_prior_to);
  bool add = false, retire_new = false;
  if (!duplicate && !seen(*p, seq)) {
    // Below a Retire Prior To (or below what we still remember): retire it at once (19.15).
    if (seq < new_rpt || seq < p->seen_floor) {
      retire_new = true;
    } else {
      add = true;
    }
  } else if (!duplicate && seq < p->seen_floor) {
    retire_new = true;  // we cannot tell whether we retired it already; retiring twice is harmless
  }
  size_t kept = 0;
  for (size_t i = 0; i < p->peer_count; ++i) kept += p->peer[i].sequence >= new_rpt;
  if (kept + add > config_.local_active_cid_limit) {
    out.error = TransportError::CONNECTION_ID_LIMIT_ERROR;
    return out;
  }
  for (size_t i = 0; i < p->peer_count;) {
    if (p->peer[i].sequence >= new_rpt) {
      ++i;
      continue;
    }
    if (!queue_retire(*p, p->peer[i].sequence)) {
      out.error = TransportError::CONNECTION_ID_LIMIT_ERROR;
      return out;
    }
    out.in_use_cid_retired |= p->peer[i].in_use;
    remove_peer(*p, i);
  }
  if (retire_new && !queue_retire(*p, seq)) {
    out.error = TransportError::CONNECTION_ID_LIMIT_ERROR;
    return out;
  }
  if (add) {
    PeerCid& e = p->peer[p->peer_count++];
    e = PeerCid{};
    e.sequence = seq;
    e.cid = ConnectionId(f.connection_id);
    std::copy_n(f.stateless_reset_token.data, kStatelessResetTokenLength, e.token.begin());
    e.has_token = true;
  }
  mark_seen(*p, seq);
  p->peer_rpt = new_rpt;
  advance_seen_floor(*p, new_rpt);
  return out;
}

const PeerCid* CidManager::pick_fresh_peer_cid(uint64_t path_id) {
  Path* p = find_path(path_id);
  if (!p) return nullptr;
  PeerCid* best = nullptr;
  for (size_t i = 0; i < p->peer_count; ++i) {
    PeerCid& e = p->peer[i];
    if (!e.in_use && (!best || e.sequence < best->sequence)) best = &e;
  }
  if (best) {
    best->in_use = true;
    ++peer_gen_;
  }
  return best;
}

TransportError CidManager::retire_peer_cid(uint64_t path_id, uint64_t sequence) {
  Path* p = find_path(path_id);
  if (!p) return TransportError::INTERNAL_ERROR;
  for (size_t i = 0; i < p->peer_count; ++i) {
    if (p->peer[i].sequence != sequence) continue;
    // RFC 9000 5.1.2: too many retirements in flight may be treated as this error.
    if (!queue_retire(*p, sequence)) return TransportError::CONNECTION_ID_LIMIT_ERROR;
    remove_peer(*p, i);
    return TransportError::NO_ERROR;
  }
  return TransportError::INTERNAL_ERROR;
}

size_t CidManager::retire_peer_path(uint64_t path_id) {
  Path* p = find_path(path_id);
  if (!p) {
    // Nothing of ours to retain: closed at once.
    mark_closed(path_id);
    return 0;
  }
  const size_t n = p->peer_count;
  p->peer_count = 0;
  ++peer_gen_;
  for (size_t i = 0; i < p->retire_count; ++i) unsent_retires_ -= p->retires[i].sent ? 0 : 1;
  p->retire_count = 0;
  p->abandoned = true;
  return n;
}

bool CidManager::path_closed(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? p->abandoned : closed_record(path_id);
}

bool CidManager::closed_record(uint64_t path_id) const {
  if (path_id < closed_floor_) return true;
  const uint64_t d = path_id - closed_floor_;
  return d < 64 && (closed_bits_ >> d & 1);
}

void CidManager::mark_closed(uint64_t path_id) {
  if (path_id < closed_floor_) return;
  if (path_id - closed_floor_ >= 64) {
    const uint64_t floor = path_id - 63;
    const uint64_t shift = floor - closed_floor_;
    closed_bits_ = shift >= 64 ? 0 : closed_bits_ >> shift;
    closed_floor_ = floor;
  }
  closed_bits_ |= uint64_t{1} << (path_id - closed_floor_);
  // Slide past the closed run at the bottom so the window covers IDs still open.
  while (closed_bits_ & 1) {
    closed_bits_ >>= 1;
    ++closed_floor_;
  }
}

bool CidManager::is_stateless_reset(const uint8_t* token) const {
  bool match = false;
  for (const Path& p : paths_) {
    if (!p.open) continue;
    for (size_t i = 0; i < p.peer_count; ++i) {
      const PeerCid& e = p.peer[i];
      // No early exit: the time taken does not depend on which token matched.
      match |= e.in_use && e.has_token && reset_tokens_equal(e.token.data(), token);
    }
  }
  return match;
}

size_t CidManager::peer_reset_tokens(std::span<StatelessResetToken> out) const {
  // Exactly the entries is_stateless_reset() reads.
  size_t n = 0;
  for (const Path& p : paths_) {
    if (!p.open) continue;
    for (size_t i = 0; i < p.peer_count && n < out.size(); ++i) {
      const PeerCid& e = p.peer[i];
      if (e.in_use && e.has_token) out[n++] = e.token;
    }
  }
  return n;
}

size_t CidManager::peer_count(uint64_t path_id) const {
  const Path* p = find_path(path_id);
  return p ? p->peer_count : 0;
}

const PeerCid* CidManager::find_peer(uint64_t path_id, uint64_t sequence) const {
  const Path* p = find_path(path_id);
  if (!p) return nullptr;
  for (size_t i = 0; i < p->peer_count; ++i) {
    if (p->peer[i].sequence == sequence) return &p->peer[i];
  }
  return nullptr;
}

std::optional<RetireConnectionIdFrame> CidManager::next_retire_to_send(bool multipath) {
  if (unsent_retires_ == 0) return std::nullopt;
  for (Path& p : paths_) {
    if (!p.open) continue;
    for (size_t i = 0; i < p.retire_count; ++i) {
      if (p.retires[i].sent) continue;
      p.retires[i].sent = true;
      --unsent_retires_;
      RetireConnectionIdFrame f;
      f.has_path_id = multipath;
      f.path_id = p.id;
      f.sequence_number = p.retires[i].sequence;
      return f;
    }
  }
  return std::nullopt;
}

void CidManager::on_retire_acked(uint64_t path_id, uint64_t sequence) {
  Path* p = find_path(path_id);
  if (!p) return;
  for (size_t i = 0; i < p->retire_count; ++i) {
    if (p->retires[i].sequence == sequence) {
      unsent_retires_ -= p->retires[i].sent ? 0 : 1;
      p->retires[i] = p->retires[--p->retire_count];
      return;
    }
  }
}

void CidManager::on_retire_lost(uint64_t path_id, uint64_t sequence) {
  Path* p = find_path(path_id);
  if (!p) return;
  for (size_t i = 0; i < p->retire_count; ++i) {
    if (p->retires[i].sequence == sequence && p->retires[i].sent) {
      p->retires[i].sent = false;
      ++unsent_retires_;
    }
  }
}

bool CidManager::has_retire_to_send() const { return unsent_retires_ > 0; }

size_t CidManager::count_unsent_retires() const {
  size_t n = 0;
  for (const Path& p : paths_) {
    if (!p.open) continue;
    for (size_t i = 0; i < p.retire_count; ++i) n += p.retires[i].sent ? 0 : 1;
  }
  return n;
}

size_t CidManager::pending_retires() const {
  size_t n = 0;
  for (const Path& p : paths_) n += p.open ? p.retire_count : 0;
  return n;
}

}  // namespace camp::quic
